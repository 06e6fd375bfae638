//! The job transitions a worker makes: fetch, complete, fail, renew, requeue, recover, and
//! the worker registry. Each transition is one script call (one round trip).

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::Value;
use serde::{Deserialize, Serialize};

use super::scripts::SCRIPTS;
use super::Store;
use crate::error::{Error, Result};
use crate::job::{LeasedJob, MAX_ERRORS_KEPT};

/// What one fetch from one queue returned.
#[derive(Debug, Default)]
pub struct Fetched {
    pub jobs: Vec<LeasedJob>,
    /// When fewer jobs than asked came back: time until the next scheduled job is due.
    pub next_due: Option<Duration>,
    pub paused: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseStatus {
    Ok,
    /// An operator asked to cancel the job.
    Cancel,
    /// Another worker owns the job now (or it was recovered): stop and report nothing.
    Lost,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FailOutcome {
    Retry { due: DateTime<Utc> },
    Dead,
    Lost,
}

/// A live worker as recorded in Redis (refreshed by its heartbeat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub queues: Vec<String>,
    pub concurrency: usize,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// Ids of the jobs it is running.
    pub jobs: Vec<String>,
}

/// Recoveries after which a job that keeps killing its workers is declared dead.
pub const MAX_RECOVERIES: u32 = 3;

fn today() -> String {
    Utc::now().format("%Y-%m-%d").to_string()
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
    ) = redis::from_redis_value(v).map_err(|e| Error::Redis(format!("unexpected fetch reply: {e}")))?;
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
        let qk = self.keys().queue(queue);
        let fetch_id = ulid::Ulid::new().to_string();
        let mut calls = 0;
        let reply: Vec<Value> = self
            .run(|mut conn| {
                let (qk, fetch_id) = (&qk, &fetch_id);
                calls += 1;
                let retry = if calls > 1 { "1" } else { "0" };
                async move {
                    SCRIPTS
                        .fetch
                        .key(qk.queued())
                        .key(qk.scheduled())
                        .key(qk.active())
                        .key(qk.notify())
                        .key(qk.paused())
                        .key(qk.fetched(worker))
                        .arg(qk.prefix())
                        .arg(max)
                        .arg(worker)
                        .arg(lease.as_millis() as u64)
                        .arg(fetch_id)
                        .arg(retry)
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        let mut items = reply.into_iter();
        let wait: i64 = items
            .next()
            .map(redis::from_redis_value)
            .transpose()
            .map_err(|e| Error::Redis(format!("unexpected fetch reply: {e}")))?
            .unwrap_or(-1);
        let jobs = items.map(|v| parse_job(queue, v)).collect::<Result<Vec<_>>>()?;
        Ok(Fetched {
            next_due: (wait >= 0 && jobs.len() < max).then(|| Duration::from_millis(wait as u64)),
            paused: wait == -2,
            jobs,
        })
    }

    /// Marks a job completed, if `job.lease` still holds it. Returns false when the lease
    /// was lost (the job was recovered and belongs to someone else now).
    pub async fn complete(&self, job: &LeasedJob, result: &str, retention: Duration) -> Result<bool> {
        let qk = self.keys().queue(&job.queue);
        let reply: String = self
            .run(|mut conn| {
                let qk = &qk;
                async move {
                    SCRIPTS
                        .complete
                        .key(qk.job(&job.id))
                        .key(qk.active())
                        .key(qk.completed())
                        .key(qk.stats())
                        .arg(&job.id)
                        .arg(&job.lease)
                        .arg(result)
                        .arg(retention.as_millis() as u64)
                        .arg(qk.prefix())
                        .arg(today())
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(reply == "ok")
    }

    /// Records a failed attempt: schedules a retry after `backoff`, or moves the job to the
    /// dead set when it is out of attempts or `permanent` is set.
    pub async fn fail(
        &self,
        job: &LeasedJob,
        error: &str,
        backoff: Duration,
        permanent: bool,
    ) -> Result<FailOutcome> {
        let qk = self.keys().queue(&job.queue);
        let reply: (String, Option<i64>) = self
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
                        .key(qk.notify())
                        .arg(&job.id)
                        .arg(&job.lease)
                        .arg(error)
                        .arg(backoff.as_millis() as u64)
                        .arg(if permanent { "1" } else { "0" })
                        .arg(qk.prefix())
                        .arg(today())
                        .arg(MAX_ERRORS_KEPT)
                        .invoke_async(&mut conn)
                        .await?;
                    let mut it = v.into_iter();
                    let state: String = it
                        .next()
                        .map(redis::from_redis_value)
                        .transpose()?
                        .unwrap_or_default();
                    let due: Option<i64> = it.next().map(redis::from_redis_value).transpose()?;
                    Ok((state, due))
                }
            })
            .await?;
        Ok(match reply.0.as_str() {
            "scheduled" => FailOutcome::Retry {
                due: reply
                    .1
                    .and_then(crate::job::millis_to_time)
                    .unwrap_or_else(Utc::now),
            },
            "dead" => FailOutcome::Dead,
            _ => FailOutcome::Lost,
        })
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
                    inv.arg(qk.prefix()).arg(lease.as_millis() as u64);
                    for (id, token) in jobs {
                        inv.arg(id).arg(token);
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
                        .key(qk.notify())
                        .arg(&job.id)
                        .arg(&job.lease)
                        .arg(qk.prefix())
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(reply == "ok")
    }

    /// Returns jobs with expired leases to their queue (or the DLQ); returns how many.
    pub async fn recover(&self, queue: &str) -> Result<u64> {
        let qk = self.keys().queue(queue);
        self.run(|mut conn| {
            let qk = &qk;
            async move {
                SCRIPTS
                    .recover
                    .key(qk.active())
                    .key(qk.queued())
                    .key(qk.dead())
                    .key(qk.stats())
                    .key(qk.notify())
                    .arg(qk.prefix())
                    .arg(MAX_RECOVERIES)
                    .arg(today())
                    .arg(MAX_ERRORS_KEPT)
                    .invoke_async(&mut conn)
                    .await
            }
        })
        .await
    }

    /// Records that `info.id` is alive; the record expires after `ttl` without a heartbeat.
    pub async fn heartbeat_worker(&self, info: &WorkerInfo, ttl: Duration) -> Result<()> {
        let key = self.keys().worker(&info.id);
        let json = serde_json::to_string(info).map_err(|e| Error::Io(e.to_string()))?;
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(&key)
            .arg(json)
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .ignore()
            .cmd("ZADD")
            .arg(self.keys().workers())
            .arg(info.heartbeat_at.timestamp_millis())
            .arg(&info.id)
            .ignore()
            .cmd("SADD")
            .arg(self.keys().queues())
            .arg(&info.queues)
            .ignore();
        self.run(|mut conn| {
            let pipe = &pipe;
            async move { pipe.query_async::<()>(&mut conn).await }
        })
        .await
    }

    /// The dataset's epoch id, created if missing. Workers compare it across heartbeats to
    /// notice a Redis that restarted without persistence (every job in it is gone).
    pub async fn epoch(&self) -> Result<String> {
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(self.keys().epoch())
            .arg(ulid::Ulid::new().to_string())
            .arg("NX")
            .ignore()
            .cmd("GET")
            .arg(self.keys().epoch());
        self.run(|mut conn| {
            let pipe = &pipe;
            async move { pipe.query_async::<(String,)>(&mut conn).await.map(|r| r.0) }
        })
        .await
    }

    pub async fn unregister_worker(&self, id: &str) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL")
            .arg(self.keys().worker(id))
            .ignore()
            .cmd("ZREM")
            .arg(self.keys().workers())
            .arg(id)
            .ignore();
        self.run(|mut conn| {
            let pipe = &pipe;
            async move { pipe.query_async::<()>(&mut conn).await }
        })
        .await
    }

    /// Waits on the queues' wake-up lists (one blocking connection, strict order is kept by
    /// the caller, which always fetches from the first queue first). Returns early when woken,
    /// with `true`; `false` means the timeout passed without a wake-up.
    pub async fn wait_for_work(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        queues: &[String],
        timeout: Duration,
    ) -> redis::RedisResult<bool> {
        let keys: Vec<String> = queues.iter().map(|q| self.keys().queue(q).notify()).collect();
        let secs = timeout.as_secs_f64().max(0.001);
        let mut cmd = redis::cmd("BLPOP");
        cmd.arg(&keys).arg(format!("{secs:.3}"));
        // Guard against a silently dead connection: the response timeout is off for this one.
        match tokio::time::timeout(timeout + Duration::from_secs(5), cmd.query_async::<Value>(conn)).await {
            Ok(r) => r.map(|v| v != Value::Nil),
            Err(_) => Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "blocking wait did not return",
            ))),
        }
    }
}

impl Store {
    /// Which of `queues` have leased jobs at all (one ZCARD each, pipelined): an idle worker
    /// runs the recovery script only where there is something that could have expired.
    pub async fn queues_with_active(&self, queues: &[String]) -> Result<Vec<bool>> {
        let mut pipe = redis::pipe();
        for q in queues {
            pipe.cmd("ZCARD").arg(self.keys().queue(q).active());
        }
        let counts: Vec<u64> = self
            .run(|mut conn| {
                let pipe = &pipe;
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        Ok(counts.into_iter().map(|n| n > 0).collect())
    }
}
