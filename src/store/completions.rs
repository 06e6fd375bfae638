//! Group commit of completions. A worker at high concurrency finishes many jobs at once; each
//! completion used to be one script call, and the calls' fixed costs (the time, counters, set
//! updates, the live event message) made up most of Redis's work per job. Completions that
//! arrive while a call is on its way now wait for it and go together in the next one (one
//! call per queue, complete.lua), so a lone completion is sent at once, as before, and a busy
//! worker's completions share the fixed costs. Each job is still fenced by its own lease.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::oneshot;

use super::scripts::SCRIPTS;
use super::Store;
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
    reply: oneshot::Sender<Result<String>>,
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
        let (tx, mut rx) = oneshot::channel();
        self.completions.pending.lock().unwrap().push(Pending {
            queue: job.queue.clone(),
            id: job.id.clone(),
            lease: job.lease.clone(),
            result: result.to_string(),
            retention_ms: retention.as_millis() as u64,
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

    /// One call per queue (and retention) of `batch`, concurrently; every waiter gets its word.
    async fn send_completions(&self, batch: Vec<Pending>) {
        let mut groups: HashMap<(String, u64), Vec<Pending>> = HashMap::new();
        for p in batch {
            groups
                .entry((p.queue.clone(), p.retention_ms))
                .or_default()
                .push(p);
        }
        let calls = groups
            .into_iter()
            .map(|((queue, retention_ms), jobs)| async move {
                let replies = self.complete_call(&queue, retention_ms, &jobs).await;
                for (i, p) in jobs.into_iter().enumerate() {
                    let reply = match &replies {
                        Ok(words) => words
                            .get(i)
                            .cloned()
                            .ok_or_else(|| Error::Redis("complete: one reply per job expected".into())),
                        Err(e) => Err(e.clone()),
                    };
                    let _ = p.reply.send(reply);
                }
            });
        futures_util::future::join_all(calls).await;
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
