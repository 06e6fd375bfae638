//! A slot that finished a job asks for its next job in the call that records the completion
//! (`Store::complete_and_fetch`, fetch.lua): one script call per job instead of a completion
//! and a fetch, which is most of Redis's work per job at the default concurrency (issue 11).
//! The slot keeps its permit through the call, so the fetch loop does not fetch for it
//! meanwhile; when the call brings no job, the permit goes back and the fetch loop carries on
//! as before. Completions that come while a call is on its way still share the next one
//! (completions.rs), so a busy worker's slots ride together.
//!
//! A slot rides only where the fetch loop would have fetched next: the job's own queue, in
//! strict order (weighted shares stay the fetch loop's, weights.rs), while that queue is hot
//! and no queue before it is hot or due, and never once shutdown has begun.
//!
//! And only in a worker of few slots ([`RIDE_MAX_CONCURRENCY`]). A rider waits for its call,
//! and the calls go one at a time (completions.rs): with many slots, riders queue behind one
//! another's calls with their slots idle, where the fetch loop would fetch beside the
//! completions, and those calls are shared by many jobs already. Measured with `jobq bench`
//! (10,000 jobs, no-op handler, one round each, old and new in turn): at concurrency 4 riding
//! cut the script calls per job from 1.0 to 0.25 and Redis's CPU while processing from ~95 %
//! to ~68 % of a core at the same throughput; at concurrency 50 it took 12-12.5k jobs/s against
//! 17-20k without (0.023 against 0.074 calls per job).

use std::sync::Arc;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Running, Worker};
use crate::job::LeasedJob;
use crate::log::Level;

/// Workers with more slots than this do not ride (see above).
pub const RIDE_MAX_CONCURRENCY: usize = 8;

/// Where a slot rides: its queue's index and wake-up count when the slot asked.
#[derive(Clone, Copy)]
pub(super) struct Ride {
    queue: usize,
    wakes: u64,
}

impl Worker {
    /// Whether the slot that ran `job` should ask for its next job along with the completion.
    pub(super) fn may_ride(&self, job: &LeasedJob, drain: &CancellationToken) -> Option<Ride> {
        if self.config.concurrency > RIDE_MAX_CONCURRENCY || self.weighted.is_some() || drain.is_cancelled() {
            return None;
        }
        let queue = self.config.queues.iter().position(|q| *q == job.queue)?;
        let wakes = self.signals.lead(queue)?;
        Some(Ride { queue, wakes })
    }

    /// Records `job`'s completion and leases the slot's next job in the same call. Returns
    /// that job, admitted as running, if one came.
    pub(super) async fn complete_riding(
        &self,
        job: &LeasedJob,
        result: &str,
        ride: Ride,
        drain: &CancellationToken,
    ) -> Option<(LeasedJob, Arc<Running>)> {
        // The next job's lease runs from when the call runs on Redis, not before (fence.rs).
        let sent = Instant::now();
        let call = self.store.complete_and_fetch(
            job,
            result,
            self.config.retention,
            &self.info.id,
            self.config.lease,
        );
        let next = match call.await {
            Ok(next) => next,
            Err(e) => {
                // Anything the call leased comes back through lease recovery.
                self.log_job(
                    Level::Error,
                    job,
                    format_args!("job {}: could not record its outcome: {e}", job.id),
                );
                return None;
            }
        };
        self.completed(job, next.completed).await;
        let fetched = next.fetched;
        self.signals.fetched(
            ride.queue,
            ride.wakes,
            next.drained,
            fetched.next_due,
            fetched.held,
        );
        let job = fetched.jobs.into_iter().next()?;
        // Checked under the lock that shutdown's drain reads the running jobs with: a job
        // that comes once shutdown has begun is put back, uncharged, not started.
        let running = {
            let mut all = self.running.lock().unwrap();
            (!drain.is_cancelled()).then(|| {
                let running = Running::new(&job, sent);
                all.insert(job.id.clone(), running.clone());
                running
            })
        };
        if running.is_none() {
            if let Err(e) = self.store.requeue(&job).await {
                self.log_job(
                    Level::Warn,
                    &job,
                    format_args!(
                        "job {}: could not put it back at shutdown ({e}); lease recovery returns it",
                        job.id
                    ),
                );
            }
        }
        Some((job, running?))
    }
}
