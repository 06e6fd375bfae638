//! What an operator does to queues and jobs: list, cancel, retry, drain, purge, pause, stats,
//! workers. Every change is one script call on one queue's keys; bulk changes are bounded
//! batches, each one script call, so an interrupted bulk command leaves every job in one place.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use redis::{FromRedisValue, Script, Value};
use serde::{Deserialize, Serialize};

use super::scripts::SCRIPTS;
use super::{Store, WorkerInfo};
use crate::error::{Error, Result};
use crate::job::{self, Job, LeasedJob, State};

/// How long a job cancelled by an operator stays readable (a running job's worker uses its
/// own `--retention` instead). Same default as the worker's retention of completed jobs.
pub const CANCELLED_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Per-day counters older than this many days are dropped by the workers' maintenance.
pub const DAILY_STATS_DAYS: i64 = 35;

/// What one batch of a bulk command did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batch {
    /// Jobs moved (requeued or deleted).
    pub done: u64,
    /// Jobs looked at and left where they are (other type, or unique key taken).
    pub passed: u64,
    /// Ids read; fewer than asked means the set is exhausted.
    pub scanned: u64,
}

/// Counters of one day, as kept in the queue's `:stats` hash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStats {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub processed: u64,
    pub failed: u64,
    pub dead: u64,
}

/// One queue as `jobq stats --json` prints it. Field names are part of the interface (README).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    pub queue: String,
    pub paused: bool,
    pub queued: u64,
    pub scheduled: u64,
    pub active: u64,
    pub dead: u64,
    pub cancelled: u64,
    /// Completed jobs still kept (the worker's `--retention`).
    pub completed: u64,
    /// Lifetime counters: jobs completed, failed attempts, jobs that went dead.
    pub processed_total: u64,
    pub failed_total: u64,
    pub dead_total: u64,
    /// Jobs completed during the last 60 seconds.
    pub processed_last_minute: u64,
    /// How long the job that runs next has been waiting (latency); `null` when none is queued.
    pub oldest_queued_age_ms: Option<u64>,
    /// The last 7 days, oldest first, today last.
    pub days: Vec<DayStats>,
}

impl QueueStats {
    /// Adds `other` into `self` (for the totals row); ages take the maximum.
    pub fn add(&mut self, o: &QueueStats) {
        self.paused |= o.paused;
        for (a, b) in [
            (&mut self.queued, o.queued),
            (&mut self.scheduled, o.scheduled),
            (&mut self.active, o.active),
            (&mut self.dead, o.dead),
            (&mut self.cancelled, o.cancelled),
            (&mut self.completed, o.completed),
            (&mut self.processed_total, o.processed_total),
            (&mut self.failed_total, o.failed_total),
            (&mut self.dead_total, o.dead_total),
            (&mut self.processed_last_minute, o.processed_last_minute),
        ] {
            *a += b;
        }
        self.oldest_queued_age_ms = self.oldest_queued_age_ms.max(o.oldest_queued_age_ms);
        if self.days.is_empty() {
            self.days = o.days.clone();
        } else {
            for (a, b) in self.days.iter_mut().zip(&o.days) {
                a.processed += b.processed;
                a.failed += b.failed;
                a.dead += b.dead;
            }
        }
    }
}

/// The last `n` days (UTC), oldest first.
pub fn last_days(n: i64) -> Vec<String> {
    let today = Utc::now().date_naive();
    (0..n)
        .rev()
        .map(|i| (today - chrono::Duration::days(i)).format("%Y-%m-%d").to_string())
        .collect()
}

fn reply_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Redis(format!("unexpected reply to {what}: {e}"))
}

fn not_found(store: &Store, id: &str) -> Error {
    Error::NotFound(format!(
        "no job with id {id} in namespace `{}` (finished jobs expire after their retention)",
        store.keys().namespace()
    ))
}

impl Store {
    /// Runs `script` with `keys` and `args` through the retrying [`Store::run`].
    async fn eval<T: FromRedisValue>(&self, script: &Script, keys: &[String], args: &[String]) -> Result<T> {
        self.run(|mut conn| async move {
            let mut inv = script.prepare_invoke();
            for k in keys {
                inv.key(k);
            }
            for a in args {
                inv.arg(a);
            }
            inv.invoke_async(&mut conn).await
        })
        .await
    }

    /// Cancels a job: `Ok(true)` when it is cancelled now, `Ok(false)` when it is running
    /// and its worker was asked to stop it. A finished job is a `Conflict`.
    pub async fn cancel(&self, id: &str) -> Result<bool> {
        let queue = job::queue_of(id)?;
        let qk = self.keys().queue(queue);
        let keys = [qk.job(id), qk.scheduled(), qk.cancelled(), qk.stats()];
        let args = [
            id.to_string(),
            qk.prefix().to_string(),
            self.keys().control_channel(),
            CANCELLED_RETENTION.as_millis().to_string(),
        ];
        let reply: Vec<String> = self.eval(&SCRIPTS.cancel, &keys, &args).await?;
        match reply.first().map(String::as_str) {
            Some("cancelled") => Ok(true),
            Some("cancelling") => Ok(false),
            Some("missing") => Err(not_found(self, id)),
            _ => Err(Error::Conflict(format!(
                "job {id} is already {}; only scheduled, queued and active jobs can be cancelled",
                reply.get(1).map_or("finished", String::as_str)
            ))),
        }
    }

    /// The worker's side of a cancel: records the stopped job as `cancelled` (lease-fenced).
    pub async fn cancel_active(&self, job: &LeasedJob, retention: Duration) -> Result<bool> {
        let qk = self.keys().queue(&job.queue);
        let keys = [qk.job(&job.id), qk.active(), qk.cancelled()];
        let args = [
            job.id.clone(),
            job.lease.clone(),
            qk.prefix().to_string(),
            retention.as_millis().to_string(),
        ];
        let reply: String = self.eval(&SCRIPTS.cancel_active, &keys, &args).await?;
        Ok(reply == "ok")
    }

    /// Requeues one dead, cancelled or retry-waiting job now (see retry.lua for attempts).
    pub async fn retry(&self, id: &str) -> Result<()> {
        let queue = job::queue_of(id)?;
        let qk = self.keys().queue(queue);
        let keys = [qk.job(id), qk.queued(), qk.notify()];
        let args = [id.to_string(), qk.prefix().to_string()];
        let reply: Vec<String> = self.eval(&SCRIPTS.retry, &keys, &args).await?;
        match reply.first().map(String::as_str) {
            Some("queued") => Ok(()),
            Some("missing") => Err(not_found(self, id)),
            Some("duplicate") => Err(Error::Conflict(format!(
                "job {id} was not retried: another unfinished job holds its unique key"
            ))),
            _ => Err(Error::Conflict(format!(
                "job {id} is {}; only dead, cancelled and failed (waiting for retry) jobs can be retried",
                reply.get(1).map_or("in another state", String::as_str)
            ))),
        }
    }

    /// One batch of a bulk retry: `dead` jobs (attempts reset) or `failed` ones (scheduled
    /// retries, run now), from index `start` of the queue's set, at most `max` moved.
    pub async fn requeue_batch(
        &self,
        queue: &str,
        dead: bool,
        start: u64,
        count: u64,
        job_type: Option<&str>,
        max: u64,
    ) -> Result<Batch> {
        let qk = self.keys().queue(queue);
        let source = if dead { qk.dead() } else { qk.scheduled() };
        let keys = [source, qk.queued(), qk.notify()];
        let mode = if dead { "dead" } else { "failed" };
        let args = [
            qk.prefix().to_string(),
            start.to_string(),
            count.to_string(),
            job_type.unwrap_or("").to_string(),
            mode.to_string(),
            max.to_string(),
        ];
        let r: (u64, u64, u64) = self.eval(&SCRIPTS.requeue_batch, &keys, &args).await?;
        Ok(Batch {
            done: r.0,
            passed: r.1,
            scanned: r.2,
        })
    }

    /// One batch of a purge of `state` jobs (queued, scheduled, dead, cancelled, completed).
    pub async fn purge_batch(
        &self,
        queue: &str,
        state: State,
        start: u64,
        count: u64,
        job_type: Option<&str>,
    ) -> Result<Batch> {
        let qk = self.keys().queue(queue);
        let (source, kind) = match state {
            State::Queued => (qk.queued(), "list"),
            State::Scheduled => (qk.scheduled(), "zset"),
            State::Dead => (qk.dead(), "zset"),
            State::Cancelled => (qk.cancelled(), "zset"),
            State::Completed => (qk.completed(), "zset"),
            State::Active => return Err(Error::invalid("running jobs cannot be purged; cancel them")),
        };
        let keys = [source, qk.stats()];
        let args = [
            qk.prefix().to_string(),
            kind.to_string(),
            start.to_string(),
            count.to_string(),
            job_type.unwrap_or("").to_string(),
        ];
        let r: (u64, u64, u64) = self.eval(&SCRIPTS.purge_batch, &keys, &args).await?;
        Ok(Batch {
            done: r.0,
            passed: r.1,
            scanned: r.2,
        })
    }

    /// Pauses a queue: workers stop taking its jobs (running ones finish). `true` if it was not paused.
    pub async fn pause(&self, queue: &str) -> Result<bool> {
        let key = self.keys().queue(queue).paused();
        let set: Option<String> = self.query(redis::cmd("SET").arg(&key).arg(1).arg("NX")).await?;
        Ok(set.is_some())
    }

    /// Resumes a queue and wakes an idle worker. `true` if it was paused.
    pub async fn resume(&self, queue: &str) -> Result<bool> {
        let qk = self.keys().queue(queue);
        let was: i64 = self
            .eval(&SCRIPTS.resume, &[qk.paused(), qk.notify()], &[])
            .await?;
        Ok(was == 1)
    }

    /// `Ok` if `queue` is a valid name this namespace knows; otherwise a `NotFound` that lists them.
    pub async fn known_queue(&self, queue: &str) -> Result<()> {
        job::validate_name("queue", queue)?;
        let names = self.queue_names().await?;
        if names.iter().any(|n| n == queue) {
            return Ok(());
        }
        let known = if names.is_empty() {
            "none yet".to_string()
        } else {
            names.join(", ")
        };
        Err(Error::NotFound(format!(
            "no queue named `{queue}` in namespace `{}` (known queues: {known})",
            self.keys().namespace()
        )))
    }

    /// The numbers of one queue, read in one round trip.
    pub async fn queue_stats(&self, queue: &str) -> Result<QueueStats> {
        let qk = self.keys().queue(queue);
        let keys = [
            qk.queued(),
            qk.scheduled(),
            qk.active(),
            qk.dead(),
            qk.completed(),
            qk.cancelled(),
            qk.paused(),
            qk.stats(),
        ];
        let days = last_days(7);
        let mut args = vec![
            qk.prefix().to_string(),
            "processed".into(),
            "failed".into(),
            "dead".into(),
        ];
        for d in &days {
            args.extend(["processed", "failed", "dead"].map(|c| format!("{c}:{d}")));
        }
        let v: Vec<Value> = self.eval(&SCRIPTS.stats, &keys, &args).await?;
        stats_from_reply(queue, v, &days)
    }

    /// Drops per-day counters older than [`DAILY_STATS_DAYS`] (worker maintenance).
    pub async fn prune_stats(&self, queue: &str) -> Result<u64> {
        let cutoff = Utc::now().date_naive() - chrono::Duration::days(DAILY_STATS_DAYS);
        let stats = self.keys().queue(queue).stats();
        self.eval(&SCRIPTS.prune_stats, &[stats], &[cutoff.to_string()])
            .await
    }

    /// Live workers, newest heartbeat first. Entries whose record expired (the worker died)
    /// are removed from the registry here.
    pub async fn workers(&self) -> Result<Vec<WorkerInfo>> {
        let set = self.keys().workers();
        let ids: Vec<String> = self
            .query(redis::cmd("ZREVRANGE").arg(&set).arg(0).arg(-1))
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One GET per worker in a pipeline (not MGET): the records may live in different slots.
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("GET").arg(self.keys().worker(id));
        }
        let records: Vec<Option<String>> = self
            .run(|mut conn| {
                let pipe = &pipe;
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        let mut live = Vec::new();
        let mut gone = Vec::new();
        for (id, rec) in ids.iter().zip(records) {
            match rec.and_then(|r| serde_json::from_str::<WorkerInfo>(&r).ok()) {
                Some(info) => live.push(info),
                None => gone.push(id.clone()),
            }
        }
        if !gone.is_empty() {
            let _: i64 = self.query(redis::cmd("ZREM").arg(&set).arg(&gone)).await?;
        }
        Ok(live)
    }

    /// Up to `count` ids of `queue` in `state`, from position `start` in listing order: the
    /// queued list in run order (next first), scheduled and active by due time / lease,
    /// finished sets newest first. Reads by index: no full scan, nothing held but the page.
    pub async fn page_ids(&self, queue: &str, state: State, start: u64, count: u64) -> Result<Vec<String>> {
        let qk = self.keys().queue(queue);
        let (first, last) = (start as i64, (start + count) as i64 - 1);
        let mut cmd = redis::cmd(if state == State::Queued {
            "LRANGE"
        } else {
            "ZRANGE"
        });
        match state {
            // RPOP takes from the tail: the tail is the next job to run.
            State::Queued => cmd.arg(qk.queued()).arg(-last - 1).arg(-first - 1),
            State::Scheduled => cmd.arg(qk.scheduled()).arg(first).arg(last),
            State::Active => cmd.arg(qk.active()).arg(first).arg(last),
            State::Dead => cmd.arg(qk.dead()).arg(first).arg(last).arg("REV"),
            State::Completed => cmd.arg(qk.completed()).arg(first).arg(last).arg("REV"),
            State::Cancelled => cmd.arg(qk.cancelled()).arg(first).arg(last).arg("REV"),
        };
        let mut ids: Vec<String> = self.query(&cmd).await?;
        if state == State::Queued {
            ids.reverse();
        }
        Ok(ids)
    }

    /// State, type and attempt of many jobs of one queue (one pipelined round trip; no
    /// payloads, so counting a large set stays cheap). `None` for expired ones.
    pub async fn job_heads(&self, queue: &str, ids: &[String]) -> Result<Vec<Option<(State, String, u32)>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let qk = self.keys().queue(queue);
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HMGET")
                .arg(qk.job(id))
                .arg("state")
                .arg("type")
                .arg("attempt");
        }
        let rows: Vec<(Option<String>, Option<String>, Option<u32>)> = self
            .run(|mut conn| {
                let pipe = &pipe;
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(st, ty, at)| {
                let st = st?.parse::<State>().ok()?;
                Some((st, ty.unwrap_or_default(), at.unwrap_or(0)))
            })
            .collect())
    }

    /// Reads many jobs of one queue in one pipelined round trip; `None` for expired ones.
    pub async fn jobs(&self, queue: &str, ids: &[String]) -> Result<Vec<Option<Job>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let qk = self.keys().queue(queue);
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HGETALL").arg(qk.job(id));
        }
        let hashes: Vec<HashMap<String, String>> = self
            .run(|mut conn| {
                let pipe = &pipe;
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        hashes
            .iter()
            .map(|h| (!h.is_empty()).then(|| Job::from_hash(h)).transpose())
            .collect()
    }
}

fn stats_from_reply(queue: &str, v: Vec<Value>, days: &[String]) -> Result<QueueStats> {
    type Reply = (i64, i64, i64, u64, u64, u64, u64, u64, u64, i64, i64, Vec<u64>);
    let r: Reply = redis::from_redis_value(Value::Array(v)).map_err(|e| reply_err("stats", e))?;
    let c = &r.11;
    let at = |i: usize| c.get(i).copied().unwrap_or(0);
    let days = days
        .iter()
        .enumerate()
        .map(|(i, d)| DayStats {
            date: d.clone(),
            processed: at(3 + 3 * i),
            failed: at(4 + 3 * i),
            dead: at(5 + 3 * i),
        })
        .collect();
    Ok(QueueStats {
        queue: queue.to_string(),
        paused: r.0 == 1,
        queued: (r.1 - r.2).max(0) as u64,
        scheduled: r.3,
        active: r.4,
        dead: r.5,
        completed: r.6,
        cancelled: r.7,
        processed_total: at(0),
        failed_total: at(1),
        dead_total: at(2),
        processed_last_minute: r.8,
        oldest_queued_age_ms: (r.9 >= 0).then(|| (r.10 - r.9).max(0) as u64),
        days,
    })
}
