//! Jobs of a type this worker has no handler for (issue 9 item 9). Workers advertise the types
//! they run in their record (`types`, `*` for any). A worker that fetched a job it cannot run
//! puts it back untouched (the attempt is not charged) through `release.lua`:
//! - when another live worker of the job's queue runs the type, at the back of the queue at
//!   once, for that worker to take;
//! - when none does, into the scheduled set for a wait that doubles per release up to a
//!   minute: the job waits for a worker with the handler instead of burning its attempts (a
//!   deploy may be under way). That is said loudly: a warning per type per minute in the log,
//!   a `released` event on the job, and `jobq doctor` reports the queue (exit 8), so a fleet
//!   where nobody ever handles the type does not loop silently.
//!
//! After a release the slot rests (`cooldown`) before it fetches again: otherwise a worker
//! without the handler would spin through the queue, taking and returning the same jobs as
//! fast as Redis answers, while the workers that can run them wait their turn.
//!
//! The other workers' records are read only when such a job comes, at most once per
//! `FLEET_TTL`: a worker that handles everything it fetches pays nothing for this.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Worker;
use crate::job::LeasedJob;
use crate::log::Level;
use crate::store::{Released, WorkerInfo};

/// Wait when no live worker runs its type; doubles per release up to the ceiling.
const PARK_DELAY: Duration = Duration::from_secs(5);
const PARK_DELAY_MAX: Duration = Duration::from_secs(60);
/// A slot's rest after a release; doubles with each round of releases in a row (the worker
/// keeps meeting jobs it cannot run), up to the ceiling; running a job resets it.
const COOLDOWN: Duration = Duration::from_millis(100);
const COOLDOWN_MAX: Duration = Duration::from_secs(2);
/// How long a read of the other workers' records is trusted.
const FLEET_TTL: Duration = Duration::from_secs(5);
/// At most one "no live worker handles type" warning per type in this time.
const WARN_EVERY: Duration = Duration::from_secs(60);

#[derive(Default)]
pub(super) struct Fleet {
    seen: Mutex<Option<(Instant, Vec<WorkerInfo>)>>,
    warned: Mutex<HashMap<String, Instant>>,
    /// Releases since this worker last ran a job.
    streak: AtomicU32,
}

impl Worker {
    /// Puts back `job`, which this worker cannot run, without charging its attempt.
    pub(super) async fn release(&self, job: &LeasedJob) {
        self.fleet.streak.fetch_add(1, Ordering::Relaxed);
        let elsewhere = self.runs_elsewhere(job).await;
        let (base, max, reason) = if elsewhere {
            let reason = format!(
                "worker {} has no handler for type {}; left for a worker that has one",
                self.info.id, job.job_type
            );
            (Duration::ZERO, Duration::ZERO, reason)
        } else {
            let reason = format!(
                "no live worker of queue {} handles type {}; waiting for one (attempts are not charged)",
                job.queue, job.job_type
            );
            (PARK_DELAY, PARK_DELAY_MAX, reason)
        };
        match self.store.release(job, base, max, &reason).await {
            Ok(Released::Queued) => self.log_job(
                Level::Debug,
                job,
                format_args!(
                    "job {} ({}): released, no handler here; back in the queue for another worker",
                    job.id, job.job_type
                ),
            ),
            Ok(Released::Scheduled { due }) => {
                self.log_job(
                    Level::Debug,
                    job,
                    format_args!(
                        "job {} ({}): released, no handler here; due again at {}",
                        job.id,
                        job.job_type,
                        due.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    ),
                );
                if !elsewhere && self.first_warning(&job.job_type) {
                    self.log_job(Level::Warn, job, format_args!(
                        "no live worker of queue {} handles job type {}: its jobs wait, their attempts untouched; \
                         start a worker with --handler {}=COMMAND (jobq doctor lists such jobs)",
                        job.queue, job.job_type, job.job_type
                    ));
                }
            }
            Ok(Released::Lost) => {} // Cancelled or recovered meanwhile: not ours any more.
            Err(e) => self.log_job(
                Level::Error,
                job,
                format_args!(
                    "job {}: could not put it back ({e}); lease recovery returns it",
                    job.id
                ),
            ),
        }
    }

    /// How long the slot of a released job rests before it fetches again.
    pub(super) fn cooldown(&self) -> Duration {
        let rounds = self.fleet.streak.load(Ordering::Relaxed) / self.config.concurrency.max(1) as u32;
        COOLDOWN.saturating_mul(1 << rounds.min(16)).min(COOLDOWN_MAX)
    }

    /// A job this worker can run ends a streak of releases.
    pub(super) fn ran_a_job(&self) {
        if self.fleet.streak.load(Ordering::Relaxed) != 0 {
            self.fleet.streak.store(0, Ordering::Relaxed);
        }
    }

    /// Whether another live worker takes jobs of this type from this queue.
    async fn runs_elsewhere(&self, job: &LeasedJob) -> bool {
        let fresh = {
            let seen = self.fleet.seen.lock().unwrap();
            seen.as_ref()
                .filter(|(at, _)| at.elapsed() < FLEET_TTL)
                .map(|(_, workers)| workers.clone())
        };
        let workers = match fresh {
            Some(w) => w,
            None => match self.store.workers().await {
                Ok(w) => {
                    *self.fleet.seen.lock().unwrap() = Some((Instant::now(), w.clone()));
                    w
                }
                // Unknown: assume a capable worker exists, the cheaper mistake (short waits).
                Err(_) => return true,
            },
        };
        workers
            .iter()
            .any(|w| w.id != self.info.id && w.runs(&job.queue, &job.job_type))
    }

    fn first_warning(&self, job_type: &str) -> bool {
        let mut warned = self.fleet.warned.lock().unwrap();
        match warned.get(job_type) {
            Some(at) if at.elapsed() < WARN_EVERY => false,
            _ => {
                warned.insert(job_type.to_string(), Instant::now());
                true
            }
        }
    }
}
