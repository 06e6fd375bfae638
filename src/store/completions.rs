//! Group commit of completions. A worker at high concurrency finishes many jobs at once; each
//! completion used to be one script call, and the calls' fixed costs (the time, counters, set
//! updates, the live event message) made up most of Redis's work per job. Completions that
//! arrive while a call is on its way now wait for it and go together in the next one (one
//! call per queue, complete.lua), so a lone completion is sent at once, as before, and a busy
//! worker's completions share the fixed costs. Each job is still fenced by its own lease.
//!
//! A worker's slot that finished a job may also ask for its next job in the same call
//! ([`Store::complete_and_fetch`]): those completions ride on a fetch of their queue
//! (fetch.lua), which leases one job per rider. A job then costs one call instead of a
//! completion and a fetch.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::oneshot;

use super::scripts::SCRIPTS;
use super::{Fetched, Store};
use crate::error::{Error, Result};
use crate::job::LeasedJob;

/// Completions waiting for the next call.
#[derive(Default)]
pub(super) struct Completions {
    pending: Mutex<Vec<Pending>>,
    /// Held while a call is on its way: completions arriving meanwhile wait and go together.
    flight: tokio::sync::Mutex<()>,
}

struct Pending {
    queue: String,
    id: String,
    lease: String,
    result: String,
    retention_ms: u64,
    /// The worker and lease of the next job this completion asks for, if it does.
    along: Option<(String, u64)>,
    reply: oneshot::Sender<Result<Reply>>,
}

/// complete.lua's word for one job (`ok`, `release` or `lost`) and, for a completion that
/// asked for the next job, what the fetch it rode on gave it.
struct Reply {
    word: String,
    /// Its share of the fetch, and whether that fetch drained the queue.
    next: Option<(Fetched, bool)>,
}

/// What a completion that asked for its slot's next job got ([`Store::complete_and_fetch`]).
#[derive(Debug)]
pub struct Next {
    /// The completion was recorded (the lease still held the job).
    pub completed: bool,
    /// This slot's next job (at most one), with what the fetch learnt about the queue:
    /// `next_due` and `held` as [`Store::fetch`] gives them for the whole call.
    pub fetched: Fetched,
    /// The call's riders got fewer jobs than they asked for: the queue has no more for now.
    pub drained: bool,
}

/// Jobs per call at most: a call holds Redis for its whole length.
const MAX_BATCH: usize = 200;

impl Store {
    /// Completes `job` in the next completion call and returns complete.lua's word for it
    /// (`ok`, `release` or `lost`).
    pub(super) async fn complete_grouped(
        &self,
        job: &LeasedJob,
        result: &str,
        retention: Duration,
    ) -> Result<String> {
        Ok(self.group(job, result, retention, None).await?.word)
    }

    /// Completes `job` and leases this worker's next job of the same queue in the same call
    /// (fetch.lua), sharing it with other completions that came meanwhile, as
    /// [`Store::complete`] does. Jobs waiting for `job` (`enqueue --after`) are released before
    /// this returns.
    pub async fn complete_and_fetch(
        &self,
        job: &LeasedJob,
        result: &str,
        retention: Duration,
        worker: &str,
        lease: Duration,
    ) -> Result<Next> {
        let along = Some((worker.to_string(), lease.as_millis() as u64));
        let reply = self.group(job, result, retention, along).await?;
        if reply.word == "release" {
            self.release_dependents_soon(&job.queue).await;
        }
        let (fetched, drained) = reply
            .next
            .ok_or_else(|| Error::Redis("complete: a fetch reply was expected".into()))?;
        Ok(Next {
            completed: reply.word == "ok" || reply.word == "release",
            fetched,
            drained,
        })
    }

    async fn group(
        &self,
        job: &LeasedJob,
        result: &str,
        retention: Duration,
        along: Option<(String, u64)>,
    ) -> Result<Reply> {
        let (tx, mut rx) = oneshot::channel();
        self.completions.pending.lock().unwrap().push(Pending {
            queue: job.queue.clone(),
            id: job.id.clone(),
            lease: job.lease.clone(),
            result: result.to_string(),
            retention_ms: retention.as_millis() as u64,
            along,
            reply: tx,
        });
        loop {
            let flight = tokio::select! {
                biased;
                reply = &mut rx => return reply.unwrap_or_else(|_| Err(dropped())),
                flight = self.completions.flight.lock() => flight,
            };
            // The previous holder may have sent ours along with its own.
            if let Ok(reply) = rx.try_recv() {
                return reply;
            }
            let batch = {
                let mut pending = self.completions.pending.lock().unwrap();
                let n = pending.len().min(MAX_BATCH);
                pending.drain(..n).collect::<Vec<_>>()
            };
            self.send_completions(batch).await;
            drop(flight);
        }
    }

    /// One call per queue (and retention, and worker asking for next jobs) of `batch`,
    /// concurrently; every waiter gets its reply.
    async fn send_completions(&self, batch: Vec<Pending>) {
        type Group = (String, u64, Option<(String, u64)>);
        let mut groups: HashMap<Group, Vec<Pending>> = HashMap::new();
        for p in batch {
            groups
                .entry((p.queue.clone(), p.retention_ms, p.along.clone()))
                .or_default()
                .push(p);
        }
        let calls = groups
            .into_iter()
            .map(|((queue, retention_ms, along), jobs)| async move {
                let replies = match &along {
                    None => self
                        .complete_call(&queue, retention_ms, &jobs)
                        .await
                        .map(|words| words.into_iter().map(|word| Reply { word, next: None }).collect()),
                    Some((worker, lease_ms)) => {
                        self.ride_call(&queue, retention_ms, worker, *lease_ms, &jobs)
                            .await
                    }
                };
                let mut replies = replies.map(Vec::into_iter);
                for p in jobs {
                    let reply = match &mut replies {
                        Ok(each) => each
                            .next()
                            .ok_or_else(|| Error::Redis("complete: one reply per job expected".into())),
                        Err(e) => Err(e.clone()),
                    };
                    let _ = p.reply.send(reply);
                }
            });
        futures_util::future::join_all(calls).await;
    }

    /// The completions of `jobs`, each asking for a next job, on one fetch of `queue`.
    async fn ride_call(
        &self,
        queue: &str,
        retention_ms: u64,
        worker: &str,
        lease_ms: u64,
        jobs: &[Pending],
    ) -> Result<Vec<Reply>> {
        let riders: Vec<[&str; 3]> = jobs
            .iter()
            .map(|p| [p.id.as_str(), p.lease.as_str(), p.result.as_str()])
            .collect();
        let lease = Duration::from_millis(lease_ms);
        let (words, fetched) = self
            .fetch_call(queue, jobs.len(), worker, lease, Some((retention_ms, &riders)))
            .await?;
        let drained = fetched.jobs.len() < jobs.len();
        let mut next_jobs = fetched.jobs.into_iter();
        Ok(words
            .into_iter()
            .map(|word| Reply {
                word,
                next: Some((
                    Fetched {
                        jobs: next_jobs.next().into_iter().collect(),
                        next_due: fetched.next_due,
                        paused: fetched.paused,
                        held: fetched.held,
                    },
                    drained,
                )),
            })
            .collect())
    }

    async fn complete_call(&self, queue: &str, retention_ms: u64, jobs: &[Pending]) -> Result<Vec<String>> {
        let qk = self.keys().queue(queue);
        let day = super::workers::today();
        self.run(|mut conn| {
            let (qk, day) = (&qk, &day);
            async move {
                let mut call = SCRIPTS.complete.prepare_invoke();
                call.key(qk.active())
                    .key(qk.completed())
                    .key(qk.stats())
                    .key(qk.events())
                    .key(qk.limit_state())
                    .arg(retention_ms)
                    .arg(day)
                    .arg(qk.signal());
                for p in jobs {
                    call.arg(&p.id).arg(&p.lease).arg(&p.result);
                }
                call.invoke_async(&mut conn).await
            }
        })
        .await
    }
}

fn dropped() -> Error {
    Error::Io("the completion call was abandoned".into())
}
