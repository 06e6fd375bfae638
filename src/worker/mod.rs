//! The worker: fetch loop, lease heartbeat, handler execution and graceful shutdown.

mod backoff;
mod control;
mod exec;
mod fence;
mod fetch;
mod handler;
mod heartbeat;
mod hooks;
mod outbox;
mod persistent;
mod process;
mod program;
mod progress;
mod release;
mod report;
mod ride;
mod shutdown;
mod supervise;
mod weights;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

pub use backoff::Backoff;
pub use exec::{load_handlers_file, ExecHandler, EXIT_PERMANENT};
pub use handler::{BoxFuture, Control, Handler, Outcome, ANY_TYPE};
pub use hooks::{load_hooks_file, HookEvent, Hooks, TypeHooks};
pub use process::{HandlerSpec, MAX_RESULT_BYTES};
pub use shutdown::Shutdown;
pub use weights::parse_queues;

use crate::error::Result;
use crate::job::LeasedJob;
use crate::log::{Ctx, Level};
use crate::store::{Store, WorkerInfo};

/// Jobs a worker runs at the same time unless told otherwise: `WorkerConfig::default()` and
/// `jobq worker --concurrency` share it. Four keeps a worker busy while one job's outcome is
/// being recorded (a one-slot worker waits a round trip between jobs) without leasing more than
/// a handful of jobs to one process.
pub const DEFAULT_CONCURRENCY: usize = 4;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Queues in strict priority order: a job in an earlier queue always goes first...
    pub queues: Vec<String>,
    /// ...unless they have weights (one per queue; a list of another length is ignored, as
    /// [`parse_queues`] never makes one): then free slots are shared among the
    /// queues with work in proportion to their weights (weights.rs).
    pub weights: Option<Vec<u32>>,
    /// Jobs run at the same time; [`DEFAULT_CONCURRENCY`] by default.
    pub concurrency: usize,
    /// How long a job stays leased without a heartbeat; renewed every third of it.
    pub lease: Duration,
    /// On SIGINT/SIGTERM: how long running jobs may take to finish before being requeued.
    pub shutdown_timeout: Duration,
    /// Exit once the queues are empty (work a limit holds back is waited for) and nothing is running.
    pub burst: bool,
    pub backoff: Backoff,
    /// How long completed jobs stay readable.
    pub retention: Duration,
    /// Log each completed job at info level; otherwise only at debug (`--log-level debug`).
    /// Off by default: at high rates one stderr line per job costs more than the job (issue 9).
    pub log_completed: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            queues: vec!["high".into(), "normal".into(), "low".into()],
            weights: None,
            concurrency: DEFAULT_CONCURRENCY,
            lease: Duration::from_secs(15),
            shutdown_timeout: Duration::from_secs(30),
            burst: false,
            backoff: Backoff::default(),
            retention: Duration::from_secs(24 * 3600),
            log_completed: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum StopReason {
    LeaseLost,
    /// The lease could not be renewed in time; the worker stopped the handler itself.
    Fenced,
    Cancelled,
    Shutdown,
}

struct Running {
    job: LeasedJob,
    control: Control,
    reason: Mutex<Option<StopReason>>,
    /// The handler has returned and its outcome is being recorded. A renewal racing that
    /// record (both held back by an outage, the record landing first) finds the lease gone;
    /// that is no news, and the record's own reply says whether the lease really was lost.
    finished: AtomicBool,
    /// When the last renewal of the lease that succeeded (or the fetch) was sent: the lease
    /// cannot end before this plus a lease (see fence.rs).
    renewed: Mutex<tokio::time::Instant>,
}

impl Running {
    /// A job just fetched: its lease runs from `fetched`, when its fetch was sent.
    fn new(job: &LeasedJob, fetched: tokio::time::Instant) -> Arc<Running> {
        Arc::new(Running {
            job: job.clone(),
            control: Control::default(),
            reason: Mutex::new(None),
            finished: AtomicBool::new(false),
            renewed: Mutex::new(fetched),
        })
    }

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
    /// The Redis dataset's epoch as last seen (see `Store::heartbeat_worker`).
    epoch: Mutex<String>,
    /// What the other live workers run, read only when a job comes that this one cannot run.
    fleet: release::Fleet,
    /// Which queues may have work (see fetch.rs).
    signals: fetch::Signals,
    /// Outboxes of dependents' releases being applied (outbox.rs).
    outboxes: outbox::Outboxes,
    /// With weighted queues, their shares so far (weights.rs).
    weighted: Option<Mutex<weights::Weighted>>,
}

/// On shutdown, how long a fetch in progress may still take before it is given up.
pub(crate) const FETCH_GRACE: Duration = Duration::from_secs(2);

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
            types: handler.types(),
            started_at: now,
            heartbeat_at: now,
            jobs: Vec::new(),
        };
        Arc::new(Worker {
            store,
            handler,
            info,
            running: Mutex::new(HashMap::new()),
            finished: tokio::sync::Notify::new(),
            epoch: Mutex::new(String::new()),
            fleet: Default::default(),
            signals: fetch::Signals::new(config.queues.len()),
            outboxes: Default::default(),
            weighted: config
                .weights
                .as_deref()
                .filter(|w| w.len() == config.queues.len())
                .map(|w| Mutex::new(weights::Weighted::new(w))),
            config,
        })
    }

    pub fn id(&self) -> &str {
        &self.info.id
    }

    fn log(&self, level: Level, msg: impl std::fmt::Display) {
        crate::log::log(level, Ctx::default().worker(&self.info.id), msg);
    }

    fn log_job(&self, level: Level, job: &LeasedJob, msg: impl std::fmt::Display) {
        crate::log::log(level, Ctx::job(job).worker(&self.info.id), msg);
    }

    fn log_queue(&self, level: Level, queue: &str, msg: impl std::fmt::Display) {
        crate::log::log(level, Ctx::queue(queue).worker(&self.info.id), msg);
    }

    /// Runs until `shutdown` (or, with `burst`, until there is no work left).
    pub async fn run(self: &Arc<Self>, shutdown: Shutdown) -> Result<()> {
        // The record is written before anything names this worker or its queues (one script),
        // and "started" means registered.
        *self.epoch.lock().unwrap() = self.beat(true).await?;
        self.log(
            Level::Info,
            format_args!(
                "worker {} started: queues {}, concurrency {}, Redis {}",
                self.info.id,
                self.config.queues.join(","),
                self.config.concurrency,
                self.store.url()
            ),
        );
        if self.store.needs_migration().await.unwrap_or(false) {
            self.log(Level::Warn, "this namespace still has jobq 1 keys (queue list, worker registry): run `jobq migrate --apply` once every jobq 1 worker is stopped");
        }
        let heart = CancellationToken::new();
        let heartbeat = tokio::spawn(self.clone().heartbeat_loop(heart.clone()));
        let control = tokio::spawn(self.clone().listen(heart.clone()));
        // Recurring jobs tick as long as any worker runs (see schedule::scheduler).
        let scheduler = tokio::spawn(crate::schedule::scheduler::run(
            self.store.clone(),
            self.config.lease,
            heart.clone(),
        ));
        let result = self.fetch_loop(&shutdown).await;
        self.drain(&shutdown).await;
        if let Some(hooks) = self.handler.hooks() {
            hooks.wait(self.config.shutdown_timeout).await;
        }
        heart.cancel();
        // Both may be stuck retrying an unreachable Redis; nothing they do is needed any more.
        heartbeat.abort();
        control.abort();
        scheduler.abort();
        let unregister = self.store.unregister_worker(&self.info.id);
        if tokio::time::timeout(Duration::from_secs(2), unregister)
            .await
            .is_err()
        {
            self.log(
                Level::Warn,
                "could not remove the worker record (Redis unreachable); it expires by itself",
            );
        }
        self.log(Level::Info, format_args!("worker {} stopped", self.info.id));
        result
    }

    /// Records a fetched job as running. Called by the fetch loop before it spawns the job's
    /// task: a burst worker's "nothing left" check and shutdown's drain read this map, and a
    /// task the runtime has not polled yet must count (under load it may start much later).
    fn admit(&self, job: &LeasedJob, fetched: tokio::time::Instant) -> Arc<Running> {
        let running = Running::new(job, fetched);
        self.running
            .lock()
            .unwrap()
            .insert(job.id.clone(), running.clone());
        running
    }

    /// Runs `job` with its slot's `permit` and records the outcome, then, when the slot
    /// asked for its next job along with the completion (ride.rs), runs that one too, and so
    /// on. The slot is given back when a handler ends, or when a ride brings no next job.
    async fn execute(
        self: &Arc<Self>,
        job: LeasedJob,
        running: Arc<Running>,
        permit: OwnedSemaphorePermit,
        drain: CancellationToken,
    ) {
        let mut next = Some((job, running, permit));
        while let Some((job, running, permit)) = next {
            next = self.run_job(job, running, permit, &drain).await;
            self.finished.notify_waiters();
        }
    }

    /// One job of `execute`: returns the slot's next job when it rode on the completion.
    async fn run_job(
        self: &Arc<Self>,
        job: LeasedJob,
        running: Arc<Running>,
        permit: OwnedSemaphorePermit,
        drain: &CancellationToken,
    ) -> Option<(LeasedJob, Arc<Running>, OwnedSemaphorePermit)> {
        if !self.handler.handles(&job.job_type) {
            // Registered as running all the same: shutdown waits for the release to land.
            self.release(&job).await;
            self.running.lock().unwrap().remove(&job.id);
            // The slot rests (its permit is held until this returns): see release.rs.
            tokio::time::sleep(self.cooldown()).await;
            return None;
        }
        self.ran_a_job();
        self.log_job(
            Level::Debug,
            &job,
            format_args!(
                "job {} ({}) started attempt {}/{}",
                job.id, job.job_type, job.attempt, job.max_attempts
            ),
        );
        let flusher = progress::Flusher::start(&self.store, &job, &running.control.progress);
        let handling = self.handler.handle(job.clone(), running.control.clone());
        let outcome = tokio::select! {
            outcome = handling => outcome,
            never = fence::guard(&running, self.config.lease) => never,
        };
        running.finished.store(true, Ordering::SeqCst);
        let reason = *running.reason.lock().unwrap();
        let ride = match (&outcome, reason) {
            (Outcome::Completed(_), None) => self.may_ride(&job, drain),
            _ => None,
        };
        let permit = match ride {
            Some(_) => Some(permit),
            None => {
                drop(permit);
                None
            }
        };
        // The last progress value is stored before the outcome: watchers see it first.
        flusher.finish().await;
        let mut next = None;
        match (ride, outcome) {
            (Some(ride), Outcome::Completed(result)) => {
                next = self.complete_riding(&job, &result, ride, drain).await;
            }
            (_, outcome) => {
                if let Err(e) = self.report(&job, outcome, reason).await {
                    self.log_job(
                        Level::Error,
                        &job,
                        format_args!("job {}: could not record its outcome: {e}", job.id),
                    );
                }
            }
        }
        self.running.lock().unwrap().remove(&job.id);
        let (job, running) = next?;
        Some((job, running, permit.expect("a ride keeps its permit")))
    }
}
