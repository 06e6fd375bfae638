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
        if self.delay.is_some() && self.at.is_some() {
            return Err(Error::invalid("give either --delay or --at, not both"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// A new job was written, in state `queued` or `scheduled`.
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

/// Enqueue scripts sent per pipeline by [`Store::enqueue_many`]: large enough to amortise the
/// round trip, small enough that one pipeline does not hold Redis for long (~10 ms).
pub const ENQUEUE_PIPELINE: usize = 1000;
const PIPELINES_IN_FLIGHT: usize = 4;

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
    /// Writes a new job in one round trip (queue registration and the enqueue script pipelined).
    pub async fn enqueue(&self, new: &NewJob) -> Result<EnqueueOutcome> {
        new.validate()?;
        let mut replies = self.send_enqueue_pipeline(std::slice::from_ref(new)).await?;
        outcome(replies.remove(0))
    }

    /// Writes many jobs with pipelines of up to [`ENQUEUE_PIPELINE`] enqueue scripts (one
    /// round trip each, a few in flight), returning one outcome per job, in order. Every job
    /// is validated before anything is sent. On an error, any part of this call's jobs may
    /// have landed (callers that must report exactly what was written call it with bounded
    /// slices, as `jobq enqueue --batch` does). Transient errors are retried by `run`, which
    /// is safe: the client picks the ids, so a replayed script finds its job.
    pub async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<Vec<EnqueueOutcome>> {
        for new in jobs {
            new.validate()?;
        }
        // A few pipelines in flight keep Redis busy while the client builds the next one;
        // `buffered` keeps the replies in job order.
        let replies: Vec<Vec<(String, String)>> = stream::iter(jobs.chunks(ENQUEUE_PIPELINE))
            .map(|chunk| self.send_enqueue_pipeline(chunk))
            .buffered(PIPELINES_IN_FLIGHT)
            .try_collect()
            .await?;
        replies.into_iter().flatten().map(outcome).collect()
    }

    async fn send_enqueue_pipeline(&self, chunk: &[NewJob]) -> Result<Vec<(String, String)>> {
        let (pipe, new_queues) = self.enqueue_pipeline(chunk);
        let replies = self
            .run(|mut conn| {
                let pipe = &pipe;
                async move {
                    match pipe.query_async(&mut conn).await {
                        Err(e) if is_noscript(&e) => {
                            SCRIPTS.enqueue.prepare_invoke().load_async(&mut conn).await?;
                            pipe.query_async(&mut conn).await
                        }
                        other => other,
                    }
                }
            })
            .await?;
        self.registered_queues.lock().unwrap().extend(new_queues);
        Ok(replies)
    }

    /// SADD of the queue names this process has not registered yet (replies ignored), then
    /// one enqueue script per job. Returns the pipeline and those names. A long-lived caller
    /// thus pays the SADD once per queue; workers re-register their queues on every
    /// heartbeat, which covers a Redis that lost the set.
    fn enqueue_pipeline(&self, jobs: &[NewJob]) -> (redis::Pipeline, Vec<String>) {
        let mut pipe = redis::pipe();
        let known = self.registered_queues.lock().unwrap();
        let mut queues: Vec<String> = jobs
            .iter()
            .map(|j| j.queue.clone())
            .filter(|q| !known.contains(q))
            .collect();
        drop(known);
        queues.sort_unstable();
        queues.dedup();
        if !queues.is_empty() {
            pipe.cmd("SADD").arg(self.keys().queues()).arg(&queues).ignore();
        }
        for new in jobs {
            pipe.add_command(self.enqueue_cmd(new));
        }
        (pipe, queues)
    }

    fn enqueue_cmd(&self, new: &NewJob) -> redis::Cmd {
        let id = job::new_job_id(&new.queue);
        let qk = self.keys().queue(&new.queue);
        let job_key = qk.job(&id);
        let unique_key = new
            .unique_key
            .as_deref()
            .map(|k| qk.unique(k))
            .unwrap_or_else(|| job_key.clone());
        let timeout_ms = new.timeout.map_or(0, |t| t.as_millis() as u64);
        let delay_ms = new.delay.map_or(0, |d| d.as_millis() as u64);
        let at_ms = new.at.map_or(0, |t| t.timestamp_millis().max(1));
        let mut cmd = evalsha(
            &SCRIPTS.enqueue,
            &[&job_key, &qk.queued(), &qk.scheduled(), &qk.notify(), &unique_key],
        );
        cmd.arg(&id)
            .arg(&new.job_type)
            .arg(&new.queue)
            .arg(&new.payload)
            .arg(new.max_attempts)
            .arg(timeout_ms)
            .arg(delay_ms)
            .arg(at_ms)
            .arg(new.unique_key.as_deref().unwrap_or(""))
            .arg(qk.prefix());
        cmd
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
        Job::from_hash(&hash)
    }
}
