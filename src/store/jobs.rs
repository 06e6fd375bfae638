//! Creating and reading jobs.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt, TryStreamExt};

use super::scripts::{evalsha, is_noscript, SCRIPTS};
use super::Store;
use crate::error::{Error, Result};
use crate::job::{self, Job, State};

/// A job to enqueue; build it with [`NewJob::new`] and set the options you need.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job_type: String,
    pub queue: String,
    /// JSON text of the payload (already validated).
    pub payload: String,
    pub max_attempts: u32,
    pub timeout: Option<Duration>,
    pub delay: Option<Duration>,
    pub at: Option<DateTime<Utc>>,
    pub unique_key: Option<String>,
    /// A client-chosen id (`<queue>-<ULID>`); enqueueing the same id again finds that job
    /// instead of adding one (schedules use it for exactly one job per tick). `None`: a new id.
    pub id: Option<String>,
    /// The caller named no queue: the most specific `jobq route` for the type picks it, else
    /// `queue` stays (`normal` from [`NewJob::routed`]).
    pub route: bool,
    /// Not started within this long of the enqueue, it never starts: it ends cancelled with
    /// reason `expired` (an event says so). Measured on the Redis clock.
    pub expires: Option<Duration>,
    /// The same as a point in time (`--expires-at`); give one of the two.
    pub expires_at: Option<DateTime<Utc>>,
    /// Ids of jobs (any queue) that must complete before this one runs; it waits in state
    /// `waiting` until then, and is cancelled if one ends dead or cancelled.
    pub after: Vec<String>,
    /// With `after`: run once every parent has ended, however it ended.
    pub after_any_outcome: bool,
    /// Numbered priority within the queue, 1 (first) to 10 (last); `None` is 5. Jobs with 5
    /// wait in the queue's plain list, others in its ranked set (README "Numbered priorities").
    pub priority: Option<u8>,
}

pub use super::jobs_defaults::{MAX_ATTEMPTS as DEFAULT_MAX_ATTEMPTS, MAX_MAX_ATTEMPTS};

impl NewJob {
    pub fn new(job_type: &str, queue: &str, payload: &serde_json::Value) -> NewJob {
        NewJob {
            job_type: job_type.to_string(),
            queue: queue.to_string(),
            payload: payload.to_string(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            timeout: None,
            delay: None,
            at: None,
            unique_key: None,
            id: None,
            route: false,
            expires: None,
            expires_at: None,
            after: Vec::new(),
            after_any_outcome: false,
            priority: None,
        }
    }

    /// A job whose queue is picked by the routes (`jobq route`), else `normal`.
    pub fn routed(job_type: &str, payload: &serde_json::Value) -> NewJob {
        NewJob {
            route: true,
            ..NewJob::new(job_type, "normal", payload)
        }
    }

    /// Checks everything a user can get wrong, before anything touches Redis.
    pub fn validate(&self) -> Result<()> {
        job::validate_name("type", &self.job_type)?;
        job::validate_name("queue", &self.queue)?;
        if let Some(key) = &self.unique_key {
            job::validate_name("unique key", key)?;
        }
        if self.payload.len() > job::MAX_PAYLOAD_BYTES {
            return Err(Error::invalid(format!(
                "payload is {} bytes; the limit is {} bytes (store big data elsewhere and pass a reference)",
                self.payload.len(),
                job::MAX_PAYLOAD_BYTES
            )));
        }
        if self.max_attempts == 0 || self.max_attempts > MAX_MAX_ATTEMPTS {
            return Err(Error::invalid(format!(
                "--max-attempts must be between 1 and {MAX_MAX_ATTEMPTS}, not {}",
                self.max_attempts
            )));
        }
        if let Some(p) = self.priority {
            if !(1..=10).contains(&p) {
                return Err(Error::invalid(format!(
                    "a numbered priority must be from 1 (first) to 10 (last), not {p}"
                )));
            }
        }
        if self.delay.is_some() && self.at.is_some() {
            return Err(Error::invalid("give either --delay or --at, not both"));
        }
        if self.expires.is_some() && self.expires_at.is_some() {
            return Err(Error::invalid("give either --expires or --expires-at, not both"));
        }
        self.validate_expiry(Utc::now())?;
        super::deps::validate_parents(self)?;
        if let Some(id) = &self.id {
            if job::queue_of(id)? != self.queue {
                return Err(Error::invalid(format!(
                    "job id {id} does not belong to queue {}",
                    self.queue
                )));
            }
        }
        Ok(())
    }
}

impl NewJob {
    /// The expiry must lie ahead, within the longest span any flag takes, and after the
    /// job's run time (`--at`, `--delay`): a job that expires before it may run never runs.
    fn validate_expiry(&self, now: DateTime<Utc>) -> Result<()> {
        let expiry = match (self.expires, self.expires_at) {
            (Some(d), _) => now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX),
            (None, Some(at)) => {
                if at <= now {
                    return Err(Error::invalid(format!(
                        "--expires-at {} is not in the future",
                        at.to_rfc3339()
                    )));
                }
                crate::duration::check_at(at, now, false)
                    .map_err(|e| Error::invalid(e.replace("--at", "--expires-at")))?;
                at
            }
            (None, None) => return Ok(()),
        };
        let run_at = match (self.delay, self.at) {
            (Some(d), _) => Some(now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)),
            (None, at) => at,
        };
        if run_at.is_some_and(|r| r >= expiry) {
            return Err(Error::invalid(
                "the job would expire before it may run: its expiry must come after --at / --delay",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// A new job was written, in state `queued`, `scheduled` or `waiting`.
    Created { id: String, state: State },
    /// A job with the same unique key is still unfinished; nothing was written.
    Duplicate { id: String },
}

impl EnqueueOutcome {
    pub fn id(&self) -> &str {
        match self {
            EnqueueOutcome::Created { id, .. } | EnqueueOutcome::Duplicate { id } => id,
        }
    }
}

/// Jobs per enqueue script call of [`Store::enqueue_many`]: large enough to amortise the round
/// trip and the per-call work, small enough that one call does not hold Redis for long (a few
/// milliseconds).
pub const ENQUEUE_BATCH: usize = 500;
/// Calls in flight: Redis runs one while the client builds the next.
const BATCHES_IN_FLIGHT: usize = 4;

/// The script replies `duplicate` or the job's state; a retried call whose first attempt
/// landed (reply lost) reports that job's current state.
fn outcome(reply: (String, String)) -> Result<EnqueueOutcome> {
    if reply.0 == "duplicate" {
        return Ok(EnqueueOutcome::Duplicate { id: reply.1 });
    }
    let state = reply.0.parse::<State>().map_err(Error::Redis)?;
    Ok(EnqueueOutcome::Created { id: reply.1, state })
}

impl Store {
    /// Writes a new job: one enqueue script, then (the first time this process writes to
    /// the queue, unless the registry read found it registered) the queue's registration in
    /// the queues set. Registration comes after the job, never before: a failed enqueue
    /// leaves no phantom queue behind.
    pub async fn enqueue(&self, new: &NewJob) -> Result<EnqueueOutcome> {
        new.validate()?;
        let mut new = new.clone();
        self.registry_noting(Some(&new.queue)).await?.apply(&mut new)?;
        self.check_parents(std::slice::from_ref(&new)).await?;
        let mut replies = self.send_enqueue_batch(&[&new]).await?;
        self.register_queues(std::slice::from_ref(&new)).await?;
        let out = outcome(replies.remove(0))?;
        self.link_created(&new, &out).await?;
        Ok(out)
    }

    /// A job written as waiting (`after`) is linked to its parents once it exists (deps.rs).
    /// A replayed enqueue links again, which changes nothing.
    async fn link_created(&self, new: &NewJob, out: &EnqueueOutcome) -> Result<()> {
        match out {
            EnqueueOutcome::Created { id, .. } if !new.after.is_empty() => self.link_parents(new, id).await,
            _ => Ok(()),
        }
    }

    /// Writes many jobs with enqueue script calls of up to [`ENQUEUE_BATCH`] jobs (one round
    /// trip each, a few in flight), returning one outcome per job, in order. Every job is
    /// validated before anything is sent. A call only ever holds one queue's jobs (one cluster
    /// slot), so jobs of several queues go out as one call per queue. On an error,
    /// any part of this call's jobs may have landed (callers that must report exactly what
    /// was written call it with bounded slices, as `jobq enqueue --batch` does). Transient
    /// errors are retried by `run`, which is safe: the client picks the ids, so a replayed
    /// call finds its jobs.
    pub async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<Vec<EnqueueOutcome>> {
        for new in jobs {
            new.validate()?;
        }
        // Routes and schemas apply to every job before any is sent: one payload that does not
        // match its schema enqueues nothing.
        self.check_parents(jobs).await?;
        let registry = self.registry().await?;
        let mut jobs = std::borrow::Cow::Borrowed(jobs);
        if registry.affects(&jobs) {
            for (i, new) in jobs.to_mut().iter_mut().enumerate() {
                registry
                    .apply(new)
                    .map_err(|e| Error::invalid(format!("job {}: {e}", i + 1)))?;
            }
        }
        let mut by_queue: Vec<Vec<usize>> = Vec::new();
        let mut slot_of: HashMap<&str, usize> = HashMap::new();
        for (i, new) in jobs.iter().enumerate() {
            let n = *slot_of.entry(&new.queue).or_insert_with(|| {
                by_queue.push(Vec::new());
                by_queue.len() - 1
            });
            by_queue[n].push(i);
        }
        let chunks: Vec<&[usize]> = by_queue
            .iter()
            .flat_map(|idx| idx.chunks(ENQUEUE_BATCH))
            .collect();
        // A few calls in flight keep Redis busy while the client builds the next one.
        let replies: Vec<Vec<(String, String)>> = stream::iter(chunks.iter())
            .map(|idx| {
                let jobs = &jobs;
                let chunk: Vec<&NewJob> = idx.iter().map(|&i| &jobs[i]).collect();
                async move { self.send_enqueue_batch(&chunk).await }
            })
            .buffered(BATCHES_IN_FLIGHT)
            .try_collect()
            .await?;
        self.register_queues(&jobs).await?;
        let mut out: Vec<Option<(String, String)>> = vec![None; jobs.len()];
        for (idx, reply) in chunks.iter().zip(replies) {
            for (&i, r) in idx.iter().zip(reply) {
                out[i] = Some(r);
            }
        }
        let outcomes = out
            .into_iter()
            .map(|r| outcome(r.expect("one reply per job")))
            .collect::<Result<Vec<_>>>()?;
        for (new, out) in jobs.iter().zip(&outcomes) {
            self.link_created(new, out).await?;
        }
        Ok(outcomes)
    }

    /// Sends one queue's jobs as one enqueue script call (see enqueue.lua). A retry after a
    /// lost reply marks the call as a resend, so the script looks for jobs that landed.
    async fn send_enqueue_batch(&self, chunk: &[&NewJob]) -> Result<Vec<(String, String)>> {
        let queue = &chunk[0].queue;
        let qk = self.keys().queue(queue);
        let keys = [
            qk.queued(),
            qk.scheduled(),
            qk.events(),
            qk.expiring(),
            qk.waiting(),
            qk.ranked(),
            qk.ranked_on(),
        ];
        let signal = qk.signal();
        let args: Vec<String> = chunk.iter().flat_map(|new| enqueue_args(new)).collect();
        let sent = std::sync::atomic::AtomicBool::new(false);
        // One queue per call: its `--min-replicas` WAIT goes to that queue's master.
        let flat: Vec<String> = self
            .run_in(Some(&keys[0]), |mut conn| {
                let resend = if sent.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    "1"
                } else {
                    "0"
                };
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                let mut cmd = evalsha(&SCRIPTS.enqueue, &keys);
                cmd.arg(queue).arg(&signal).arg(resend).arg(&args);
                async move {
                    match cmd.query_async(&mut conn).await {
                        Err(e) if is_noscript(&e) => {
                            SCRIPTS.enqueue.prepare_invoke().load_async(&mut conn).await?;
                            cmd.query_async(&mut conn).await
                        }
                        other => other,
                    }
                }
            })
            .await?;
        Ok(flat
            .chunks_exact(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect())
    }

    /// SADD of the queue names of `jobs` this process has not registered yet, after their jobs
    /// were written. A long-lived caller pays it once per queue; workers register their queues
    /// too, and again after Redis lost its data.
    async fn register_queues(&self, jobs: &[NewJob]) -> Result<()> {
        let mut queues: Vec<String> = {
            let known = self.registered_queues.lock().unwrap();
            jobs.iter()
                .map(|j| j.queue.clone())
                .filter(|q| !known.contains(q))
                .collect()
        };
        queues.sort_unstable();
        queues.dedup();
        if queues.is_empty() {
            return Ok(());
        }
        let _: i64 = self
            .query(redis::cmd("SADD").arg(self.keys().queues()).arg(&queues))
            .await?;
        self.registered_queues.lock().unwrap().extend(queues);
        Ok(())
    }

    /// Reads one job. Unknown ids are `NotFound`; malformed ids are `Invalid`.
    pub async fn job(&self, id: &str) -> Result<Job> {
        let queue = job::queue_of(id)?;
        let key = self.keys().queue(queue).job(id);
        let hash: HashMap<String, String> = self.query(redis::cmd("HGETALL").arg(&key)).await?;
        if hash.is_empty() {
            return Err(Error::NotFound(format!(
                "no job with id {id} in namespace `{}` (finished jobs expire after their retention)",
                self.keys().namespace()
            )));
        }
        Job::from_hash(id, &hash)
    }
}

/// One job's values for enqueue.lua, in its order (FIELDS per job): id, type, payload, and its
/// options as one text, each value followed by a space (names, ids and numbers hold none).
fn enqueue_args(new: &NewJob) -> [String; 4] {
    let (id, own_id) = match &new.id {
        Some(id) => (id.clone(), "1"),
        None => (job::new_job_id(&new.queue), "0"),
    };
    let ms = |d: Option<std::time::Duration>| d.map_or(0, |d| d.as_millis() as u64);
    // Only a job with a number other than 5 goes to the ranked set (and pays for it).
    let priority = new
        .priority
        .filter(|&p| p != job::DEFAULT_PRIORITY)
        .map_or(String::new(), |p| p.to_string());
    let options = format!(
        "{} {} {} {} {} {} {} {} {} {} {} ",
        new.max_attempts,
        ms(new.timeout),
        ms(new.delay),
        new.at.map_or(0, |t| t.timestamp_millis().max(1)),
        new.unique_key.as_deref().unwrap_or_default(),
        priority,
        new.expires_at.map_or(0, |t| t.timestamp_millis().max(1)),
        new.after.join(","),
        if new.after_any_outcome { "1" } else { "0" },
        new.expires.map_or(0, |d| d.as_millis().max(1) as u64),
        own_id,
    );
    [id, new.job_type.clone(), new.payload.clone(), options]
}
