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

/// Where number 5 begins in a queue's ranked set: `5 * RANK` of common.lua (numbers are spaced
/// by RANK = 1e13, beyond any millisecond timestamp).
const RANKED_FIVE: u64 = 50_000_000_000_000;

/// How long a job cancelled by an operator stays readable (a running job's worker uses its
/// own `--retention` instead). Same default as the worker's retention of completed jobs.
pub const CANCELLED_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Per-day counters older than this many days are dropped by the workers' maintenance.
pub const DAILY_STATS_DAYS: i64 = 35;

/// Stats scripts in flight at once in [`Store::queues_stats`].
const STATS_IN_FLIGHT: usize = 64;

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

/// What `cancel` did to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// It was scheduled or queued and is cancelled now.
    Cancelled,
    /// It is running: its worker was asked to stop it.
    Cancelling,
    /// It was cancelled before (not an error: the operator's wish already holds).
    AlreadyCancelled,
}

/// Where a listing page stopped: the last job listed, with its score in the state's sorted
/// set (`None` for the queued list, which is ordered by position).
#[derive(Debug, Clone, PartialEq)]
pub struct PagePos {
    pub id: String,
    pub score: Option<String>,
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
    /// Jobs waiting for their parents (`enqueue --after`).
    #[serde(default)]
    pub waiting: u64,
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
    /// The queue's limit (`jobq limit`) and whether it holds the queue back now; absent
    /// without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<crate::schedule::limit::LimitStatus>,
}

impl QueueStats {
    /// Adds `other` into `self` (for the totals row); ages take the maximum.
    pub fn add(&mut self, o: &QueueStats) {
        self.paused |= o.paused;
        for (a, b) in [
            (&mut self.queued, o.queued),
            (&mut self.scheduled, o.scheduled),
            (&mut self.waiting, o.waiting),
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
    pub(super) async fn eval<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: &[String],
        args: &[String],
    ) -> Result<T> {
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

    /// Cancels a job. A completed or dead job is a `Conflict`; a cancelled one is left alone.
    pub async fn cancel(&self, id: &str) -> Result<CancelOutcome> {
        let queue = job::queue_of(id)?;
        let qk = self.keys().queue(queue);
        let keys = [
            qk.job(id),
            qk.scheduled(),
            qk.cancelled(),
            qk.stats(),
            qk.events(),
            qk.waiting(),
            qk.expiring(),
        ];
        let args = [
            id.to_string(),
            qk.signal(),
            CANCELLED_RETENTION.as_millis().to_string(),
        ];
        let reply: Vec<String> = self.eval(&SCRIPTS.cancel, &keys, &args).await?;
        if reply.get(1).is_some_and(|r| r == "release") {
            self.release_dependents_soon(queue).await;
        }
        match (
            reply.first().map(String::as_str),
            reply.get(1).map(String::as_str),
        ) {
            (Some("cancelled"), _) => Ok(CancelOutcome::Cancelled),
            (Some("cancelling"), _) => Ok(CancelOutcome::Cancelling),
            (Some("final"), Some("cancelled")) => Ok(CancelOutcome::AlreadyCancelled),
            (Some("missing"), _) => Err(not_found(self, id)),
            _ => Err(Error::Conflict(format!(
                "job {id} is already {}; only scheduled, queued and active jobs can be cancelled",
                reply.get(1).map_or("finished", String::as_str)
            ))),
        }
    }

    /// The worker's side of a cancel: records the stopped job as `cancelled` (lease-fenced).
    pub async fn cancel_active(&self, job: &LeasedJob, retention: Duration) -> Result<bool> {
        let qk = self.keys().queue(&job.queue);
        let keys = [
            qk.job(&job.id),
            qk.active(),
            qk.cancelled(),
            qk.events(),
            qk.limit_state(),
        ];
        let args = [
            job.id.clone(),
            job.lease.clone(),
            retention.as_millis().to_string(),
            qk.signal(),
        ];
        let reply: String = self.eval(&SCRIPTS.cancel_active, &keys, &args).await?;
        if reply == "release" {
            self.release_dependents_soon(&job.queue).await;
        }
        Ok(reply == "ok" || reply == "release")
    }

    /// Requeues one dead, cancelled or retry-waiting job now (see retry.lua for attempts).
    pub async fn retry(&self, id: &str) -> Result<()> {
        let queue = job::queue_of(id)?;
        let qk = self.keys().queue(queue);
        let keys = [
            qk.job(id),
            qk.queued(),
            qk.scheduled(),
            qk.dead(),
            qk.cancelled(),
            qk.events(),
            qk.ranked(),
            qk.ranked_on(),
        ];
        let args = [id.to_string(), qk.signal()];
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
        let keys = [source, qk.queued(), qk.events(), qk.ranked(), qk.ranked_on()];
        let mode = if dead { "dead" } else { "failed" };
        let args = [
            start.to_string(),
            count.to_string(),
            job_type.unwrap_or("").to_string(),
            mode.to_string(),
            max.to_string(),
            qk.signal(),
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
        let kind = match state {
            State::Queued => "list",
            State::Active => return Err(Error::invalid("running jobs cannot be purged; cancel them")),
            _ => "zset",
        };
        let source = qk.of_state(state);
        let mut keys = vec![source, qk.stats(), qk.expiring()];
        if state == State::Queued {
            keys.push(qk.ranked());
        }
        let args = [
            kind.to_string(),
            start.to_string(),
            count.to_string(),
            job_type.unwrap_or("").to_string(),
        ];
        let r: (u64, u64, u64, u64) = self.eval(&SCRIPTS.purge_batch, &keys, &args).await?;
        if r.3 == 1 {
            // Jobs that waited for a purged one: cancelled now (or run, after any outcome).
            self.release_dependents(queue).await?;
        }
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
        let was: i64 = self.eval(&SCRIPTS.resume, &[qk.paused()], &[qk.signal()]).await?;
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
            qk.ranked(),
            qk.waiting(),
        ];
        let days = last_days(7);
        let mut args = vec!["processed".into(), "failed".into(), "dead".into()];
        for d in &days {
            args.extend(["processed", "failed", "dead"].map(|c| format!("{c}:{d}")));
        }
        let v: Vec<Value> = self.eval(&SCRIPTS.stats, &keys, &args).await?;
        stats_from_reply(queue, v, &days)
    }

    /// The numbers of many queues, in order: their stats scripts go out together on the
    /// multiplexed connection (pipelined, a bounded number in flight), so reading 1,000
    /// queues costs a few round trips rather than 1,000 (`stats`, `serve`'s /metrics).
    pub async fn queues_stats(&self, queues: &[String]) -> Result<Vec<QueueStats>> {
        let mut all = Vec::with_capacity(queues.len());
        for chunk in queues.chunks(STATS_IN_FLIGHT) {
            let reads = chunk.iter().map(|q| self.queue_stats(q));
            all.extend(futures_util::future::try_join_all(reads).await?);
        }
        Ok(all)
    }

    /// Drops per-day counters older than [`DAILY_STATS_DAYS`] (worker maintenance).
    pub async fn prune_stats(&self, queue: &str) -> Result<u64> {
        let cutoff = Utc::now().date_naive() - chrono::Duration::days(DAILY_STATS_DAYS);
        let stats = self.keys().queue(queue).stats();
        self.eval(&SCRIPTS.prune_stats, &[stats], &[cutoff.to_string()])
            .await
    }

    /// Live workers, newest heartbeat first. Registry and records share the `{ns}` slot, so
    /// one MGET reads every record; entries whose record expired (the worker died) are
    /// removed from the registry here (heartbeats prune them too, by score).
    pub async fn workers(&self) -> Result<Vec<WorkerInfo>> {
        let set = self.keys().workers();
        let ids: Vec<String> = self
            .query(redis::cmd("ZREVRANGE").arg(&set).arg(0).arg(-1))
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.keys().worker(id)).collect();
        let records: Vec<Option<String>> = self.query(redis::cmd("MGET").arg(&keys)).await?;
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
        // The registry's order is by record expiry; list the freshest heartbeat first.
        live.sort_by_key(|w| std::cmp::Reverse(w.heartbeat_at));
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
        cmd.arg(qk.of_state(state));
        match state {
            // RPOP takes from the tail: the tail is the next job to run.
            State::Queued => cmd.arg(-last - 1).arg(-first - 1),
            State::Scheduled | State::Waiting | State::Active => cmd.arg(first).arg(last),
            State::Dead | State::Completed | State::Cancelled => cmd.arg(first).arg(last).arg("REV"),
        };
        let mut ids: Vec<String> = self.query(&cmd).await?;
        if state == State::Queued {
            ids.reverse();
            // Numbered jobs wait in the ranked set: they come after the list here (this order
            // serves counts and completion; `ls` pages in run order with page_after).
            let need = count.saturating_sub(ids.len() as u64);
            if need > 0 {
                let len: u64 = self.query(redis::cmd("LLEN").arg(qk.queued())).await?;
                let from = start.saturating_sub(len) as i64;
                let more: Vec<String> = self
                    .query(
                        redis::cmd("ZRANGE")
                            .arg(qk.ranked())
                            .arg(from)
                            .arg(from + need as i64 - 1),
                    )
                    .await?;
                ids.extend(more);
            }
        }
        Ok(ids)
    }

    /// Up to `count` jobs of `queue` in `state` that come after `after` in listing order (see
    /// [`Store::page_ids`] for the order), with their positions. Unlike an index, the position
    /// of a job does not move when other jobs are taken or added (page.lua).
    pub async fn page_after(
        &self,
        queue: &str,
        state: State,
        after: Option<&PagePos>,
        count: u64,
    ) -> Result<Vec<PagePos>> {
        let qk = self.keys().queue(queue);
        let kind = match state {
            // With the ranked set of numbered jobs (README "Numbered priorities").
            State::Queued => "queued",
            State::Scheduled | State::Waiting | State::Active => "asc",
            State::Dead | State::Completed | State::Cancelled => "desc",
        };
        let key = qk.of_state(state);
        let mut keys = vec![key];
        let mut args = vec![
            kind.to_string(),
            count.to_string(),
            after.map_or(String::new(), |p| p.id.clone()),
            after.and_then(|p| p.score.clone()).unwrap_or_default(),
        ];
        if state == State::Queued {
            keys.push(qk.ranked());
            args.push(RANKED_FIVE.to_string());
        }
        let flat: Vec<String> = self.eval(&SCRIPTS.page, &keys, &args).await?;
        Ok(flat
            .chunks(2)
            .map(|pair| PagePos {
                id: pair[0].clone(),
                score: pair.get(1).filter(|s| !s.is_empty()).cloned(),
            })
            .collect())
    }

    /// Removes a queue without jobs: its keys (one script on its hash tag, which checks that
    /// no job is left) and then its name. A `Conflict` names what is still in it.
    pub async fn remove_queue(&self, queue: &str) -> Result<()> {
        let qk = self.keys().queue(queue);
        let mut keys = vec![
            qk.queued(),
            qk.scheduled(),
            qk.active(),
            qk.dead(),
            qk.completed(),
            qk.cancelled(),
            qk.stats(),
            qk.ranked(),
            qk.waiting(),
            qk.outbox(),
            qk.paused(),
            qk.events(),
            qk.recovery(),
            qk.ranked_on(),
            qk.expiring(),
            qk.limit(),
            qk.limit_state(),
        ];
        // Per-day counters are pruned after DAILY_STATS_DAYS: older ones do not exist.
        keys.extend(
            last_days(DAILY_STATS_DAYS + 1)
                .iter()
                .map(|d| format!("{}{d}", qk.daily_stats_prefix())),
        );
        let reply: Vec<String> = self.eval(&SCRIPTS.queue_rm, &keys, &[]).await?;
        if reply.first().map(String::as_str) != Some("removed") {
            let part = |i: usize| reply.get(i).cloned().unwrap_or_default();
            return Err(Error::Conflict(format!(
                "queue {queue} still has {} {} jobs; nothing was removed",
                part(2),
                part(1)
            )));
        }
        // The name set is not under the queue's hash tag, so this is a second step. A worker
        // that serves the queue adds the name back with its next heartbeat (documented).
        let _: i64 = self
            .query(redis::cmd("SREM").arg(self.keys().queues()).arg(queue))
            .await?;
        // Its limit went with its keys; the index entry goes after it (limits.rs).
        let _: i64 = self
            .query(redis::cmd("SREM").arg(self.keys().limits()).arg(queue))
            .await?;
        Ok(())
    }

    /// When events after stream position `start` of `queue` were trimmed away (the stream is
    /// capped): the id of the oldest event still kept. `None` when the range is complete.
    pub async fn events_trimmed_after(&self, queue: &str, start: &str) -> Result<Option<String>> {
        let key = self.keys().queue(queue).events();
        let exists: i64 = self.query(redis::cmd("EXISTS").arg(&key)).await?;
        if exists == 0 {
            return Ok(None);
        }
        let info: Value = self.query(redis::cmd("XINFO").arg("STREAM").arg(&key)).await?;
        let fields = match info {
            Value::Array(v) => v,
            Value::Map(m) => m.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            _ => return Ok(None),
        };
        let field = |name: &str| {
            fields
                .chunks(2)
                .find(|kv| redis::from_redis_value::<String>(kv[0].clone()).is_ok_and(|k| k == name))
                .map(|kv| kv[1].clone())
        };
        let count = |name: &str| field(name).and_then(|v| redis::from_redis_value::<u64>(v).ok());
        // Entries ever added beyond those still there were trimmed from the old end (jobq
        // never deletes single events), so the oldest kept one marks where the gap ends.
        let (Some(added), Some(length)) = (count("entries-added"), count("length")) else {
            return Ok(None);
        };
        let first = field("first-entry")
            .and_then(|v| redis::from_redis_value::<(String, Value)>(v).ok())
            .map(|(id, _)| id);
        match first {
            Some(first) if added > length && super::stream_pos(&first) > super::stream_pos(start) => {
                Ok(Some(first))
            }
            _ => Ok(None),
        }
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
            .zip(ids)
            .map(|(h, id)| (!h.is_empty()).then(|| Job::from_hash(id, h)).transpose())
            .collect()
    }
}

fn stats_from_reply(queue: &str, v: Vec<Value>, days: &[String]) -> Result<QueueStats> {
    type Reply = (i64, i64, i64, u64, u64, u64, u64, u64, u64, i64, i64, Vec<u64>);
    let mut v = v;
    let waiting: u64 = match v.len() {
        13 => redis::from_redis_value(v.pop().expect("13 items")).map_err(|e| reply_err("stats", e))?,
        _ => 0,
    };
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
        waiting,
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
        limit: None,
    })
}
