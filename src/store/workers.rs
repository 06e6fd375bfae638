//! The job transitions a worker makes: fetch, complete, fail, renew, requeue, recover, and
//! the worker registry. Each transition is one script call (one round trip).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::Value;
use serde::{Deserialize, Serialize};

use super::ops::CANCELLED_RETENTION;
use super::scripts::SCRIPTS;
use super::Store;
use crate::error::{Error, Result};
use crate::job::{Job, LeasedJob, MAX_ERRORS_KEPT};

/// What one fetch from one queue returned.
#[derive(Debug, Default)]
pub struct Fetched {
    pub jobs: Vec<LeasedJob>,
    /// When fewer jobs than asked came back: time until the queue is worth fetching again
    /// (its next scheduled job is due, or its limit lets more start).
    pub next_due: Option<Duration>,
    pub paused: bool,
    /// The queue's limit (`jobq limit`) holds back work it has: it is not empty.
    pub held: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseStatus {
    Ok,
    /// An operator asked to cancel the job.
    Cancel,
    /// Another worker owns the job now (or it was recovered): stop and report nothing.
    Lost,
}

/// Where [`Store::release`] put a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Released {
    Queued,
    Scheduled {
        due: DateTime<Utc>,
    },
    /// The lease was gone (cancelled or recovered meanwhile).
    Lost,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FailOutcome {
    Retry { due: DateTime<Utc> },
    Dead,
    Lost,
}

/// What [`Store::fail`] recorded, and the job as it recorded it (when asked for).
#[derive(Debug)]
pub struct Failed {
    pub outcome: FailOutcome,
    pub recorded: Option<Job>,
}

/// A live worker as recorded in Redis (refreshed by its heartbeat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub queues: Vec<String>,
    pub concurrency: usize,
    /// Job types it has a handler for; `*` for any (`--exec`, library workers). Records of
    /// workers that did not say are taken as `*`.
    #[serde(default = "any_type")]
    pub types: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// Ids of the jobs it is running.
    pub jobs: Vec<String>,
}

fn any_type() -> Vec<String> {
    vec![crate::worker::ANY_TYPE.to_string()]
}

impl WorkerInfo {
    /// Whether this worker takes jobs of `job_type` from `queue`.
    pub fn runs(&self, queue: &str, job_type: &str) -> bool {
        self.queues.iter().any(|q| q == queue)
            && self
                .types
                .iter()
                .any(|t| t == job_type || t == crate::worker::ANY_TYPE)
    }
}

/// Recoveries after which a job that keeps killing its workers is declared dead.
pub const MAX_RECOVERIES: u32 = 3;

/// How often a queue's lease-recovery pass is due: the lease renewal rhythm, so a crashed
/// worker's jobs return within 4/3 of a lease of its last renewal once anyone fetches.
pub fn recovery_period(lease: Duration) -> Duration {
    lease / 3
}

pub(super) fn today() -> String {
    Utc::now().format("%Y-%m-%d").to_string()
}

fn unexpected(e: impl std::fmt::Display) -> Error {
    Error::Redis(format!("unexpected fetch reply: {e}"))
}

fn parse_job(queue: &str, v: Value) -> Result<LeasedJob> {
    let (id, job_type, payload, attempt, max_attempts, timeout_ms, lease): (
        String,
        String,
        String,
        u32,
        u32,
        u64,
        String,
    ) = redis::from_redis_value(v).map_err(unexpected)?;
    Ok(LeasedJob {
        id,
        job_type,
        queue: queue.to_string(),
        payload,
        attempt,
        max_attempts,
        timeout: (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms)),
        lease,
    })
}

impl Store {
    /// Takes up to `max` jobs from `queue` (promoting due scheduled jobs first) and leases
    /// them to `worker` for `lease`, measured on the Redis clock.
    pub async fn fetch(&self, queue: &str, max: usize, worker: &str, lease: Duration) -> Result<Fetched> {
        let (_, fetched) = self.fetch_call(queue, max, worker, lease, None).await?;
        Ok(fetched)
    }

    /// fetch.lua, with `riders` (completions: retention ms, then id, lease, result per job)
    /// recorded first in the same call (completions.rs). Returns their words and the fetch.
    pub(super) async fn fetch_call(
        &self,
        queue: &str,
        max: usize,
        worker: &str,
        lease: Duration,
        riders: Option<(u64, &[[&str; 3]])>,
    ) -> Result<(Vec<String>, Fetched)> {
        let qk = self.keys().queue(queue);
        let fetch_id = ulid::Ulid::new().to_string();
        // A call that carries completions keeps its own memo of what it leased: it may be on
        // its way while the worker's fetch loop fetches the same queue (both may be retried).
        let memo = match riders {
            Some(_) => qk.fetched(&format!("{worker}:along")),
            None => qk.fetched(worker),
        };
        let mut calls = 0;
        let day = today();
        let reply: Vec<Value> = self
            .run(|mut conn| {
                let (qk, fetch_id, day, memo) = (&qk, &fetch_id, &day, &memo);
                calls += 1;
                let retry = if calls > 1 { "1" } else { "0" };
                async move {
                    let mut call = SCRIPTS.fetch.prepare_invoke();
                    call.key(qk.queued())
                        .key(qk.scheduled())
                        .key(qk.active())
                        .key(qk.paused())
                        .key(memo)
                        .key(qk.recovery())
                        .key(qk.dead())
                        .key(qk.cancelled())
                        .key(qk.stats())
                        .key(qk.events())
                        .key(qk.limit())
                        .key(qk.limit_state())
                        .key(qk.ranked())
                        .key(qk.ranked_on())
                        .key(qk.expiring())
                        .key(qk.waiting())
                        .key(qk.completed())
                        .arg(max)
                        .arg(worker)
                        .arg(lease.as_millis() as u64)
                        .arg(fetch_id)
                        .arg(retry)
                        .arg(qk.signal())
                        .arg(recovery_period(lease).as_millis() as u64)
                        .arg(MAX_RECOVERIES)
                        .arg(day)
                        .arg(MAX_ERRORS_KEPT)
                        .arg(CANCELLED_RETENTION.as_millis() as u64);
                    if let Some((retention_ms, jobs)) = riders {
                        call.arg(retention_ms);
                        for job in jobs {
                            call.arg(&job[..]);
                        }
                    }
                    call.invoke_async(&mut conn).await
                }
            })
            .await?;
        let (words, reply) = match riders {
            None => (Vec::new(), reply),
            Some(_) => {
                let (words, reply): (Vec<String>, Vec<Value>) =
                    redis::from_redis_value(Value::Array(reply)).map_err(unexpected)?;
                (words, reply)
            }
        };
        let mut items = reply.into_iter();
        let first = items.next();
        // `{ wait }` instead of `wait`: the queue's limit holds back work it has.
        let held = matches!(first, Some(Value::Array(_)));
        let first = match first {
            Some(Value::Array(mut v)) if !v.is_empty() => Some(v.remove(0)),
            other => other,
        };
        let wait: i64 = first
            .map(redis::from_redis_value)
            .transpose()
            .map_err(unexpected)?
            .unwrap_or(-1);
        let jobs = items.map(|v| parse_job(queue, v)).collect::<Result<Vec<_>>>()?;
        let fetched = Fetched {
            next_due: (wait >= 0 && jobs.len() < max).then(|| Duration::from_millis(wait as u64)),
            paused: wait == -2,
            held,
            jobs,
        };
        Ok((words, fetched))
    }

    /// Marks a job completed, if `job.lease` still holds it. Returns false when the lease
    /// was lost (the job was recovered and belongs to someone else now). Jobs waiting for it
    /// (`enqueue --after`) are released before this returns.
    pub async fn complete(&self, job: &LeasedJob, result: &str, retention: Duration) -> Result<bool> {
        let reply = self.complete_grouped(job, result, retention).await?;
        if reply == "release" {
            self.release_dependents_soon(&job.queue).await;
        }
        Ok(reply == "ok" || reply == "release")
    }

    /// Applies the releases a transition just left in `queue`'s outbox. They are recorded
    /// already: if this fails (or the process dies first) the queue's next recovery pass
    /// announces them and a worker applies them (deps.lua), so the error is not the caller's.
    pub(super) async fn release_dependents_soon(&self, queue: &str) {
        if let Err(e) = self.release_dependents(queue).await {
            crate::log::log(
                crate::log::Level::Warn,
                crate::log::Ctx::queue(queue),
                format_args!(
                    "could not release the dependent jobs of queue {queue} yet ({e}); the queue's next recovery pass retries"
                ),
            );
        }
    }

    /// Records a failed attempt: schedules a retry after `backoff`, or moves the job to the
    /// dead set when it is out of attempts or `permanent` is set. With `recorded`, the reply
    /// also holds the job as this call left it, read in the same atomic step: a hook must see
    /// the attempt that failed, and a retry may start before any later read could be made.
    pub async fn fail(
        &self,
        job: &LeasedJob,
        error: &str,
        backoff: Duration,
        permanent: bool,
        recorded: bool,
    ) -> Result<Failed> {
        let qk = self.keys().queue(&job.queue);
        let (state, due, release, fields): (String, i64, bool, HashMap<String, String>) = self
            .run(|mut conn| {
                let qk = &qk;
                async move {
                    let v: Vec<Value> = SCRIPTS
                        .fail
                        .key(qk.job(&job.id))
                        .key(qk.active())
                        .key(qk.scheduled())
                        .key(qk.dead())
                        .key(qk.stats())
                        .key(qk.events())
                        .key(qk.limit_state())
                        .arg(&job.id)
                        .arg(&job.lease)
                        .arg(error)
                        .arg(backoff.as_millis() as u64)
                        .arg(if permanent { "1" } else { "0" })
                        .arg(today())
                        .arg(MAX_ERRORS_KEPT)
                        .arg(qk.signal())
                        .arg(crate::summary::error_summary(error))
                        .arg(if recorded { "1" } else { "0" })
                        .invoke_async(&mut conn)
                        .await?;
                    let mut it = v.into_iter();
                    let mut next = || it.next().unwrap_or(Value::Nil);
                    let state: Option<String> = redis::from_redis_value(next())?;
                    let due: Option<i64> = redis::from_redis_value(next())?;
                    let release: Option<i64> = redis::from_redis_value(next())?;
                    let fields: HashMap<String, String> = match next() {
                        Value::Nil => HashMap::new(),
                        v => redis::from_redis_value(v)?,
                    };
                    Ok((
                        state.unwrap_or_default(),
                        due.unwrap_or(0),
                        release == Some(1),
                        fields,
                    ))
                }
            })
            .await?;
        if release {
            self.release_dependents_soon(&job.queue).await;
        }
        let outcome = match state.as_str() {
            "scheduled" => FailOutcome::Retry {
                due: crate::job::millis_to_time(due).unwrap_or_else(Utc::now),
            },
            "dead" => FailOutcome::Dead,
            _ => FailOutcome::Lost,
        };
        let recorded = match (&outcome, fields.is_empty()) {
            (FailOutcome::Lost, _) | (_, true) => None,
            _ => Some(Job::from_hash(&job.id, &fields)?),
        };
        Ok(Failed { outcome, recorded })
    }

    /// Extends the leases of `jobs` (all of one queue) and reports, per job, whether the
    /// worker still holds it and whether an operator asked to cancel it.
    pub async fn renew(
        &self,
        queue: &str,
        jobs: &[(String, String)],
        lease: Duration,
    ) -> Result<Vec<LeaseStatus>> {
        let qk = self.keys().queue(queue);
        let reply: Vec<String> = self
            .run(|mut conn| {
                let qk = &qk;
                async move {
                    let mut inv = SCRIPTS.renew.key(qk.active());
                    inv.arg(lease.as_millis() as u64);
                    for (id, token) in jobs {
                        inv.key(qk.job(id)).arg(id).arg(token);
                    }
                    inv.invoke_async(&mut conn).await
                }
            })
            .await?;
        Ok(reply
            .iter()
            .map(|s| match s.as_str() {
                "ok" => LeaseStatus::Ok,
                "cancel" => LeaseStatus::Cancel,
                _ => LeaseStatus::Lost,
            })
            .collect())
    }

    /// Puts a running job back at the head of its queue, without charging the attempt.
    pub async fn requeue(&self, job: &LeasedJob) -> Result<bool> {
        let qk = self.keys().queue(&job.queue);
        let reply: String = self
            .run(|mut conn| {
                let qk = &qk;
                async move {
                    SCRIPTS
                        .requeue
                        .key(qk.job(&job.id))
                        .key(qk.active())
                        .key(qk.queued())
                        .key(qk.events())
                        .key(qk.ranked())
                        .key(qk.ranked_on())
                        .arg(&job.id)
                        .arg(&job.lease)
                        .arg(qk.signal())
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(reply == "ok")
    }

    /// Puts back a job this worker has no handler for, without charging the attempt: with a
    /// zero `base` to the back of its queue, otherwise to be due again after `base` doubled per
    /// earlier release of the job (at most `max`). `reason` is the event's text.
    pub async fn release(
        &self,
        job: &LeasedJob,
        base: Duration,
        max: Duration,
        reason: &str,
    ) -> Result<Released> {
        let qk = self.keys().queue(&job.queue);
        let (state, due): (String, i64) = self
            .run(|mut conn| {
                let qk = &qk;
                async move {
                    SCRIPTS
                        .release
                        .key(qk.job(&job.id))
                        .key(qk.active())
                        .key(qk.queued())
                        .key(qk.scheduled())
                        .key(qk.events())
                        .key(qk.limit_state())
                        .key(qk.ranked())
                        .key(qk.ranked_on())
                        .arg(&job.id)
                        .arg(&job.lease)
                        .arg(base.as_millis() as u64)
                        .arg(max.as_millis() as u64)
                        .arg(reason)
                        .arg(qk.signal())
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(match state.as_str() {
            "queued" => Released::Queued,
            "scheduled" => Released::Scheduled {
                due: crate::job::millis_to_time(due).unwrap_or_else(Utc::now),
            },
            _ => Released::Lost,
        })
    }

    /// Runs a lease-recovery pass of `queue` now: returns jobs with expired leases to their
    /// queue (or the DLQ), and how many. Workers need not call it: their fetches run the pass
    /// whenever it is due (see fetch.lua).
    pub async fn recover(&self, queue: &str, lease: Duration) -> Result<u64> {
        let qk = self.keys().queue(queue);
        let recovered: u64 = self
            .run(|mut conn| {
                let qk = &qk;
                async move {
                    SCRIPTS
                        .recover
                        .key(qk.active())
                        .key(qk.queued())
                        .key(qk.dead())
                        .key(qk.cancelled())
                        .key(qk.stats())
                        .key(qk.events())
                        .key(qk.recovery())
                        .key(qk.ranked())
                        .key(qk.ranked_on())
                        .key(qk.scheduled())
                        .key(qk.expiring())
                        .key(qk.waiting())
                        .arg(MAX_RECOVERIES)
                        .arg(today())
                        .arg(MAX_ERRORS_KEPT)
                        .arg(qk.signal())
                        .arg(recovery_period(lease).as_millis() as u64)
                        .arg(CANCELLED_RETENTION.as_millis() as u64)
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        // Jobs that ended in the pass (or an earlier, interrupted release) may have left
        // releases for their dependents.
        self.release_dependents(queue).await?;
        Ok(recovered)
    }

    /// Records that `info.id` is alive (the record expires after `ttl` without a heartbeat),
    /// prunes the registry entries of workers whose record expired, and returns the dataset's
    /// epoch id (created if missing). Workers compare it across heartbeats to notice a Redis
    /// that restarted without persistence (every job in it is gone). `register` adds the
    /// worker's queues to the queues set (first beat; a new epoch does it by itself).
    pub async fn heartbeat_worker(&self, info: &WorkerInfo, ttl: Duration, register: bool) -> Result<String> {
        let k = self.keys();
        let json = serde_json::to_string(info).map_err(|e| Error::Io(e.to_string()))?;
        let fresh = ulid::Ulid::new().to_string();
        let record = k.worker(&info.id);
        self.run(|mut conn| {
            let (json, fresh, record) = (&json, &fresh, &record);
            async move {
                let mut inv = SCRIPTS.heartbeat.key(record);
                inv.key(k.workers()).key(k.epoch()).key(k.queues());
                inv.arg(json)
                    .arg(ttl.as_millis() as u64)
                    .arg(&info.id)
                    .arg(fresh)
                    .arg(if register { "1" } else { "0" })
                    .arg(&info.queues);
                inv.invoke_async(&mut conn).await
            }
        })
        .await
    }

    /// Removes a worker's registry entry and record (one MULTI on the `{ns}` slot).
    pub async fn unregister_worker(&self, id: &str) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("ZREM")
            .arg(self.keys().workers())
            .arg(id)
            .ignore()
            .cmd("DEL")
            .arg(self.keys().worker(id))
            .ignore();
        self.run(|mut conn| {
            let pipe = &pipe;
            async move { pipe.query_async::<()>(&mut conn).await }
        })
        .await
    }
}
