//! The worker: fetch loop, lease heartbeat, handler execution and graceful shutdown.

mod backoff;
mod exec;
mod handler;
mod persistent;
mod progress;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use backoff::Backoff;
pub use exec::{load_handlers_file, ExecHandler, HandlerSpec, EXIT_PERMANENT, MAX_RESULT_BYTES};
pub use handler::{BoxFuture, Control, Handler, Outcome};

use crate::error::Result;
use crate::job::LeasedJob;
use crate::store::{FailOutcome, LeaseStatus, Store, WorkerInfo};

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Queues in strict priority order: a job in an earlier queue always goes first.
    pub queues: Vec<String>,
    pub concurrency: usize,
    /// How long a job stays leased without a heartbeat; renewed every third of it.
    pub lease: Duration,
    /// On SIGINT/SIGTERM: how long running jobs may take to finish before being requeued.
    pub shutdown_timeout: Duration,
    /// Exit once the queues are empty and nothing is running.
    pub burst: bool,
    pub backoff: Backoff,
    /// How long completed jobs stay readable.
    pub retention: Duration,
    /// Log each completed job on stderr (failures are always logged). Off for high-rate
    /// library workers and the bench, where one stderr line per job costs more than the job.
    pub log_completed: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            queues: vec!["high".into(), "normal".into(), "low".into()],
            concurrency: 1,
            lease: Duration::from_secs(15),
            shutdown_timeout: Duration::from_secs(30),
            burst: false,
            backoff: Backoff::default(),
            retention: Duration::from_secs(24 * 3600),
            log_completed: true,
        }
    }
}

/// Ctrl-C / SIGTERM as two tokens: the first request drains, the second forces.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    pub drain: CancellationToken,
    pub force: CancellationToken,
}

impl Shutdown {
    /// Listens for SIGINT and SIGTERM: the first signal drains, the second forces.
    pub fn on_signals() -> std::io::Result<Shutdown> {
        use tokio::signal::unix::{signal, SignalKind};
        let shutdown = Shutdown::default();
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let s = shutdown.clone();
        tokio::spawn(async move {
            for token in [&s.drain, &s.force] {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                token.cancel();
            }
        });
        Ok(shutdown)
    }
}

/// Quiet idle waits (a whole lease each, no wake-up) between two safety-net fetches.
const SAFETY_POLL: u32 = 4;

enum Waited {
    Woken,
    Quiet,
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum StopReason {
    LeaseLost,
    Cancelled,
    Shutdown,
}

struct Running {
    job: LeasedJob,
    control: Control,
    reason: Mutex<Option<StopReason>>,
}

impl Running {
    fn stop(&self, reason: StopReason) {
        self.reason.lock().unwrap().get_or_insert(reason);
        self.control.stop.cancel();
    }
}

pub struct Worker {
    store: Arc<Store>,
    config: WorkerConfig,
    handler: Arc<dyn Handler>,
    info: WorkerInfo,
    running: Mutex<HashMap<String, Arc<Running>>>,
    /// Signalled whenever a job finishes, so shutdown can wait for the last one.
    finished: tokio::sync::Notify,
    /// The Redis dataset's epoch as last seen (see `Store::epoch`).
    epoch: Mutex<String>,
}

/// On shutdown, how long a fetch in progress may still take before it is given up.
const FETCH_GRACE: Duration = Duration::from_secs(2);

/// After a forced shutdown, how long requeues may take before the worker leaves anyway.
const FORCED_EXIT_GRACE: Duration = Duration::from_secs(3);

/// How often a worker drops expired per-day counters.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

fn log(msg: impl std::fmt::Display) {
    eprintln!("{} {msg}", crate::log_time());
}

impl Worker {
    pub fn new(store: Arc<Store>, config: WorkerConfig, handler: Arc<dyn Handler>) -> Arc<Worker> {
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown".into());
        let pid = std::process::id();
        let now = Utc::now();
        let info = WorkerInfo {
            id: format!("{host}-{pid}-{:04x}", rand::random::<u16>()),
            host,
            pid,
            queues: config.queues.clone(),
            concurrency: config.concurrency,
            started_at: now,
            heartbeat_at: now,
            jobs: Vec::new(),
        };
        Arc::new(Worker {
            store,
            config,
            handler,
            info,
            running: Mutex::new(HashMap::new()),
            finished: tokio::sync::Notify::new(),
            epoch: Mutex::new(String::new()),
        })
    }

    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// Runs until `shutdown` (or, with `burst`, until there is no work left).
    pub async fn run(self: &Arc<Self>, shutdown: Shutdown) -> Result<()> {
        log(format_args!(
            "worker {} started: queues {}, concurrency {}, Redis {}",
            self.info.id,
            self.config.queues.join(","),
            self.config.concurrency,
            self.store.url()
        ));
        *self.epoch.lock().unwrap() = self.store.epoch().await?;
        self.beat().await?;
        let heart = CancellationToken::new();
        let heartbeat = tokio::spawn(self.clone().heartbeat_loop(heart.clone()));
        let control = tokio::spawn(self.clone().control_loop(heart.clone()));
        let result = self.fetch_loop(&shutdown).await;
        self.drain(&shutdown).await;
        heart.cancel();
        // Both may be stuck retrying an unreachable Redis; nothing they do is needed any more.
        heartbeat.abort();
        control.abort();
        let unregister = self.store.unregister_worker(&self.info.id);
        if tokio::time::timeout(Duration::from_secs(2), unregister)
            .await
            .is_err()
        {
            log("could not remove the worker record (Redis unreachable); it expires by itself");
        }
        log(format_args!("worker {} stopped", self.info.id));
        result
    }

    async fn fetch_loop(self: &Arc<Self>, shutdown: &Shutdown) -> Result<()> {
        let slots = Arc::new(Semaphore::new(self.config.concurrency));
        let mut blocking = self.store.blocking_connection().await?;
        // Idle workers wait up to a whole lease between fetches: wake-ups come from the scripts
        // (enqueue, retry, recovery) and `next_due` bounds the wait for scheduled jobs.
        let idle_wait = self.config.lease;
        let mut quiet = 0;
        loop {
            let first = tokio::select! {
                p = slots.clone().acquire_owned() => p.expect("semaphore never closes"),
                _ = shutdown.drain.cancelled() => return Ok(()),
            };
            let mut permits = vec![first];
            while let Ok(p) = slots.clone().try_acquire_owned() {
                permits.push(p);
            }
            let free = permits.len();
            let mut next_due: Option<Duration> = None;
            for queue in &self.config.queues {
                if permits.is_empty() {
                    break;
                }
                let fetch = self
                    .store
                    .fetch(queue, permits.len(), &self.info.id, self.config.lease);
                tokio::pin!(fetch);
                let fetched = tokio::select! {
                    f = &mut fetch => f?,
                    // A fetch that is merely in flight gets to land (its jobs are leased to us
                    // already and will be run or requeued); one stuck retrying an unreachable
                    // Redis is given up, or shutdown would hang until Redis returns.
                    _ = shutdown.drain.cancelled() => match tokio::time::timeout(FETCH_GRACE, &mut fetch).await {
                        Ok(f) => f?,
                        Err(_) => return Ok(()),
                    },
                };
                next_due = match (next_due, fetched.next_due) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                for job in fetched.jobs {
                    let permit = permits.pop().expect("fetched no more than asked");
                    let me = self.clone();
                    tokio::spawn(async move {
                        me.execute(job).await;
                        drop(permit);
                        me.finished.notify_waiters();
                    });
                }
            }
            if permits.len() < free {
                continue; // got work; there may be more
            }
            drop(permits);
            // Registered before the check, so a job ending right after it still wakes us.
            let job_ended = self.finished.notified();
            tokio::pin!(job_ended);
            if self.config.burst && self.running.lock().unwrap().is_empty() {
                return Ok(());
            }
            let wait = next_due.map_or(idle_wait, |d| d.min(idle_wait));
            loop {
                match self.wait(&mut blocking, wait, shutdown, job_ended.as_mut()).await {
                    Waited::Stop => return Ok(()),
                    // A timeout with nothing due: fetching would only find the queues empty
                    // again, so only every SAFETY_POLL-th quiet wait fetches (a safety net).
                    Waited::Quiet if next_due.is_none() && quiet + 1 < SAFETY_POLL => quiet += 1,
                    _ => break,
                }
            }
            quiet = 0;
        }
    }

    async fn wait(
        &self,
        blocking: &mut redis::aio::MultiplexedConnection,
        wait: Duration,
        shutdown: &Shutdown,
        job_ended: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
    ) -> Waited {
        tokio::select! {
            r = self.store.wait_for_work(blocking, &self.config.queues, wait) => match r {
                Ok(true) => Waited::Woken,
                Ok(false) => Waited::Quiet,
                Err(e) => {
                    log(format_args!("waiting for work failed ({e}); reconnecting"));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if let Ok(c) = self.store.blocking_connection().await {
                        *blocking = c;
                    }
                    Waited::Woken
                }
            },
            // A burst worker must notice when its last job ends to exit.
            _ = job_ended, if self.config.burst => Waited::Woken,
            _ = shutdown.drain.cancelled() => Waited::Stop,
        }
    }

    async fn execute(self: &Arc<Self>, job: LeasedJob) {
        let running = Arc::new(Running {
            job: job.clone(),
            control: Control::default(),
            reason: Mutex::new(None),
        });
        self.running
            .lock()
            .unwrap()
            .insert(job.id.clone(), running.clone());
        let flusher = progress::Flusher::start(&self.store, &job, &running.control.progress);
        let outcome = self.handler.handle(job.clone(), running.control.clone()).await;
        // The last progress value is stored before the outcome: watchers see it first.
        flusher.finish().await;
        let reason = *running.reason.lock().unwrap();
        if let Err(e) = self.report(&job, outcome, reason).await {
            log(format_args!("job {}: could not record its outcome: {e}", job.id));
        }
        self.running.lock().unwrap().remove(&job.id);
    }

    async fn report(&self, job: &LeasedJob, outcome: Outcome, reason: Option<StopReason>) -> Result<()> {
        match reason {
            Some(StopReason::LeaseLost) => {
                log(format_args!(
                    "job {}: lease lost to another worker; its outcome is discarded",
                    job.id
                ));
            }
            Some(StopReason::Shutdown) => {
                if self.store.requeue(job).await? {
                    log(format_args!("job {}: requeued (worker shutting down)", job.id));
                }
            }
            Some(StopReason::Cancelled) => {
                // Whatever the handler returned, the operator's cancel wins: the job is not retried.
                if self.store.cancel_active(job, self.config.retention).await? {
                    log(format_args!(
                        "job {} ({}) cancelled by an operator; handler stopped",
                        job.id, job.job_type
                    ));
                }
            }
            None => match outcome {
                Outcome::Completed(result) => {
                    if self.store.complete(job, &result, self.config.retention).await? {
                        if self.config.log_completed {
                            log(format_args!("job {} ({}) completed", job.id, job.job_type));
                        }
                    } else {
                        log(format_args!(
                            "job {}: lease lost before completion; result discarded",
                            job.id
                        ));
                    }
                }
                Outcome::Failed { error, permanent } => {
                    let backoff = self.config.backoff.delay(job.attempt);
                    match self.store.fail(job, &error, backoff, permanent).await? {
                        FailOutcome::Retry { due } => log(format_args!(
                            "job {} ({}) failed attempt {}/{}: {}; retry at {}",
                            job.id,
                            job.job_type,
                            job.attempt,
                            job.max_attempts,
                            first_line(&error),
                            due.with_timezone(&chrono::Local).format("%H:%M:%S")
                        )),
                        FailOutcome::Dead => log(format_args!(
                            "job {} ({}) is dead after attempt {}/{}: {}",
                            job.id,
                            job.job_type,
                            job.attempt,
                            job.max_attempts,
                            first_line(&error)
                        )),
                        FailOutcome::Lost => log(format_args!(
                            "job {}: lease lost before failure was recorded",
                            job.id
                        )),
                    }
                }
            },
        }
        Ok(())
    }

    /// After the fetch loop ends: give running jobs `shutdown_timeout` to finish, then stop
    /// and requeue the rest. A second signal skips the wait.
    async fn drain(&self, shutdown: &Shutdown) {
        let deadline = tokio::time::Instant::now() + self.config.shutdown_timeout;
        let mut announced = false;
        loop {
            let notified = self.finished.notified();
            let count = self.running.lock().unwrap().len();
            if count == 0 {
                return;
            }
            if !announced {
                log(format_args!(
                    "shutting down: waiting up to {} for {count} running job(s); press Ctrl-C again to requeue them now",
                    crate::duration::human(self.config.shutdown_timeout)
                ));
                announced = true;
            }
            tokio::select! {
                _ = notified => continue,
                _ = tokio::time::sleep_until(deadline) => break,
                _ = shutdown.force.cancelled() => break,
            }
        }
        let forced = shutdown.force.is_cancelled();
        let running: Vec<Arc<Running>> = self.running.lock().unwrap().values().cloned().collect();
        for r in &running {
            r.stop(StopReason::Shutdown);
            if forced {
                r.control.kill.cancel();
            }
        }
        // Each job task requeues its job once its handler has stopped. With Redis unreachable
        // that requeue cannot land: a (further) Ctrl-C then leaves after a short grace, and the
        // jobs come back through lease recovery instead.
        while !self.running.lock().unwrap().is_empty() {
            let notified = self.finished.notified();
            if self.running.lock().unwrap().is_empty() {
                break;
            }
            tokio::select! {
                _ = notified => {}
                _ = shutdown.force.cancelled() => {
                    let wait_more = async {
                        while !self.running.lock().unwrap().is_empty() {
                            self.finished.notified().await;
                        }
                    };
                    if tokio::time::timeout(FORCED_EXIT_GRACE, wait_more).await.is_err() {
                        log("leaving without recording every requeue (Redis unreachable); lease recovery returns those jobs");
                    }
                    return;
                }
            }
        }
    }

    /// Renews leases every lease/3. The worker record and the recovery of expired leases
    /// follow the same rhythm while jobs run, and every whole lease while idle, so an idle
    /// worker costs well under one Redis command per second (issue 5). A crashed worker's
    /// jobs thus return within 4/3 of a lease if any worker is busy, 2 leases if all are idle.
    async fn heartbeat_loop(self: Arc<Self>, stop: CancellationToken) {
        let interval = self.config.lease / 3;
        self.prune_stats().await;
        let mut last_prune = tokio::time::Instant::now();
        let mut idle_ticks = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.cancelled() => return,
            }
            if let Err(e) = self.renew_leases().await {
                log(format_args!("lease renewal failed: {e}"));
            }
            let idle = self.running.lock().unwrap().is_empty();
            idle_ticks = if idle { idle_ticks + 1 } else { 0 };
            if idle && idle_ticks % 3 != 0 {
                continue;
            }
            if let Err(e) = self.beat().await {
                log(format_args!("worker heartbeat failed: {e}"));
            }
            if let Err(e) = self.check_epoch().await {
                log(format_args!("epoch check failed: {e}"));
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = tokio::time::Instant::now();
                self.prune_stats().await;
            }
            self.recover().await;
        }
    }

    /// Returns expired leases of the worker's queues (only where any job is leased at all).
    async fn recover(&self) {
        let busy = match self.store.queues_with_active(&self.config.queues).await {
            Ok(b) => b,
            Err(e) => return log(format_args!("lease recovery check failed: {e}")),
        };
        for (queue, _) in self.config.queues.iter().zip(busy).filter(|(_, b)| *b) {
            match self.store.recover(queue).await {
                Ok(0) => {}
                Ok(n) => log(format_args!(
                    "recovered {n} job(s) of queue {queue} from workers that stopped renewing their lease"
                )),
                Err(e) => log(format_args!("lease recovery on queue {queue} failed: {e}")),
            }
        }
    }

    /// The fast path of `jobq cancel`: the cancel script publishes the job's id; when it is one
    /// of ours, renewing the leases at once reads the cancel flag (renew.lua is the authority,
    /// and the regular heartbeat is the fallback when the subscription is down).
    async fn control_loop(self: Arc<Self>, stop: CancellationToken) {
        use futures_util::StreamExt;
        loop {
            let mut messages = match self
                .store
                .subscribe_channel(&self.store.keys().control_channel())
                .await
            {
                Ok(pubsub) => pubsub.into_on_message(),
                Err(e) => {
                    log(format_args!(
                        "cannot subscribe to cancel requests ({e}); relying on the heartbeat"
                    ));
                    tokio::select! {
                        _ = tokio::time::sleep(self.config.lease) => continue,
                        _ = stop.cancelled() => return,
                    }
                }
            };
            loop {
                let msg = tokio::select! {
                    m = messages.next() => m,
                    _ = stop.cancelled() => return,
                };
                let Some(msg) = msg else {
                    // Connection lost: subscribe again after a pause (the heartbeat covers the gap).
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                };
                let id: String = msg.get_payload().unwrap_or_default();
                if self.running.lock().unwrap().contains_key(&id) {
                    if let Err(e) = self.renew_leases().await {
                        log(format_args!("lease renewal failed: {e}"));
                    }
                }
            }
        }
    }

    async fn renew_leases(&self) -> Result<()> {
        let running: Vec<Arc<Running>> = self.running.lock().unwrap().values().cloned().collect();
        let mut by_queue: HashMap<&str, Vec<&Arc<Running>>> = HashMap::new();
        for r in &running {
            by_queue.entry(r.job.queue.as_str()).or_default().push(r);
        }
        for (queue, jobs) in by_queue {
            let pairs: Vec<(String, String)> = jobs
                .iter()
                .map(|r| (r.job.id.clone(), r.job.lease.clone()))
                .collect();
            let statuses = self.store.renew(queue, &pairs, self.config.lease).await?;
            for (r, status) in jobs.iter().zip(statuses) {
                match status {
                    LeaseStatus::Ok => {}
                    LeaseStatus::Cancel => r.stop(StopReason::Cancelled),
                    LeaseStatus::Lost => {
                        log(format_args!(
                            "job {}: lease lost (another worker owns it now); stopping its handler",
                            r.job.id
                        ));
                        r.stop(StopReason::LeaseLost);
                    }
                }
            }
        }
        Ok(())
    }

    /// Says loudly when Redis came back empty (restarted without persistence), then goes on
    /// with new work: crashing or retrying in a loop would not bring the lost jobs back.
    async fn check_epoch(&self) -> Result<()> {
        let now = self.store.epoch().await?;
        let before = std::mem::replace(&mut *self.epoch.lock().unwrap(), now.clone());
        if before != now {
            log(format_args!(
                "Redis at {} LOST ITS DATA (dataset epoch {before} is gone, now {now}): jobs enqueued before \
                 are lost; enable persistence (appendonly yes) on that server. Carrying on with new work",
                self.store.url()
            ));
        }
        Ok(())
    }

    /// Keeps the per-day counters bounded (see `store::ops::DAILY_STATS_DAYS`).
    async fn prune_stats(&self) {
        for queue in &self.config.queues {
            if let Err(e) = self.store.prune_stats(queue).await {
                log(format_args!(
                    "pruning old daily counters of queue {queue} failed: {e}"
                ));
            }
        }
    }

    async fn beat(&self) -> Result<()> {
        let mut info = self.info.clone();
        info.heartbeat_at = Utc::now();
        info.jobs = self.running.lock().unwrap().keys().cloned().collect();
        // An idle worker beats once per lease: the record outlives two of them.
        self.store.heartbeat_worker(&info, self.config.lease * 2).await
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
