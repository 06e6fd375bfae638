//! The engine of `jobq bench`: throughput, latency and cost figures measured against a real
//! Redis through the library (in-process no-op handlers), plus the external-handler paths.
//!
//! Redis commands are counted from `INFO commandstats` deltas, so they include the commands
//! run inside the Lua scripts; the bench's own `INFO` calls are left out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Notify;

use jobq::error::{Error, Result};
use jobq::job::LeasedJob;
use jobq::store::NewJob;
use jobq::worker::{Control, ExecHandler, Handler, HandlerSpec, Outcome, Shutdown, Worker, WorkerConfig};
use jobq::Store;

use super::ceiling::{self, Ceilings};

/// The persistent no-op handler benchmarked against exec-per-job (also examples/handlers/).
pub const NOOP_PY: &str = include_str!("../../../examples/handlers/noop.py");

const QUEUE: &str = "bench";

#[derive(Debug, Clone, Serialize)]
pub struct BenchConfig {
    /// Jobs per throughput figure (single, bulk, processed).
    pub jobs: usize,
    pub concurrency: usize,
    pub repeat: usize,
    /// Open-loop arrival rate (jobs/s) for the latency figure, and how many arrivals.
    pub rate: u32,
    pub latency_jobs: usize,
    #[serde(serialize_with = "secs")]
    pub idle_window: Duration,
    /// Queue sizes for the "cost stays flat" table.
    pub backlogs: Vec<usize>,
    /// Jobs for each external-handler path (0 skips them).
    pub external_jobs: usize,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// One figure over all repetitions.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub name: &'static str,
    pub unit: &'static str,
    /// The target, for the table ("≥ 50000").
    pub target: &'static str,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub samples: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BacklogRow {
    pub backlog: usize,
    pub processed_per_s: Figure,
    pub peak_rss_mib: Figure,
    pub redis_used_mib: Figure,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub config: BenchConfig,
    /// This machine's ceilings, measured in the same run: the `*_of_*` figures divide by them.
    pub ceilings: Ceilings,
    /// 1-minute load average when the bench started and ended (a loaded machine skews figures).
    pub loadavg: [f64; 2],
    pub figures: Vec<Figure>,
    pub backlog: Vec<BacklogRow>,
}

/// Samples by figure name, in first-seen order.
#[derive(Default)]
struct Samples {
    order: Vec<(&'static str, &'static str, &'static str)>,
    values: HashMap<&'static str, Vec<f64>>,
}

impl Samples {
    fn add(&mut self, name: &'static str, unit: &'static str, target: &'static str, v: f64) {
        if !self.values.contains_key(name) {
            self.order.push((name, unit, target));
        }
        self.values.entry(name).or_default().push(v);
    }

    fn figures(&self) -> Vec<Figure> {
        self.order
            .iter()
            .map(|(n, u, t)| figure(n, u, t, self.values[n].clone()))
            .collect()
    }
}

fn figure(name: &'static str, unit: &'static str, target: &'static str, mut samples: Vec<f64>) -> Figure {
    samples.retain(|v| v.is_finite());
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    let median = match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    };
    Figure {
        name,
        unit,
        target,
        median,
        min: sorted.first().copied().unwrap_or(f64::NAN),
        max: sorted.last().copied().unwrap_or(f64::NAN),
        samples,
    }
}

/// Runs every figure `config.repeat` times; `note` receives progress lines for stderr.
pub async fn run(store: Arc<Store>, url: &str, config: BenchConfig, note: &dyn Fn(&str)) -> Result<Report> {
    let load_start = loadavg();
    note("ceilings");
    let ceilings = ceiling::measure(&store, url, config.jobs.max(10_000)).await?;
    clear(&store).await?;
    let mut samples = Samples::default();
    for round in 1..=config.repeat {
        note(&format!("round {round}/{}", config.repeat));
        one_round(&store, &config, &ceilings, &mut samples, note).await?;
    }
    let mut backlog = Vec::new();
    for &size in &config.backlogs {
        note(&format!("backlog {size}"));
        backlog.push(backlog_row(&store, &config, size).await?);
    }
    clear(&store).await?;
    Ok(Report {
        ceilings,
        loadavg: [load_start, loadavg()],
        figures: samples.figures(),
        backlog,
        config,
    })
}

/// Absolute figures move 2-4x between days on shared machines; the `*_of_*` rows divide by
/// ceilings measured in the same run (see ceiling.rs) and read the same anywhere. Targets are
/// the where it states one relative to a ceiling (issue 11: single enqueue >= 60 % of
/// one client's job-insert calls).
async fn one_round(
    store: &Arc<Store>,
    c: &BenchConfig,
    ceil: &Ceilings,
    s: &mut Samples,
    note: &dyn Fn(&str),
) -> Result<()> {
    clear(store).await?;
    let single = single_enqueue(store, c.jobs).await?;
    s.add("single_enqueue", "jobs/s", "", single);
    s.add(
        "single_enqueue_of_insert_ceiling",
        "ratio",
        ">= 0.6",
        single / ceil.insert_per_s,
    );
    clear(store).await?;
    let bulk = bulk_enqueue(store, c.jobs).await?;
    s.add("bulk_enqueue", "jobs/s", "", bulk);
    s.add(
        "bulk_enqueue_of_insert_ceiling",
        "ratio",
        "",
        bulk / ceil.insert_per_s,
    );
    clear(store).await?;
    let p = process(store, c.jobs, c.jobs, c.concurrency, Arc::new(noop)).await?;
    s.add("processed", "jobs/s", "", p.per_s);
    s.add(
        "processed_of_rpop_ceiling",
        "ratio",
        "",
        p.per_s / ceil.rpop_per_s,
    );
    s.add("commands_per_job", "commands", "", p.commands_per_job);
    s.add("scripts_per_job", "round trips", "", p.scripts_per_job);
    s.add("redis_script_us_per_job", "µs", "", p.script_us_per_job);
    s.add("redis_cpu_while_processing", "% of a core", "", p.redis_cpu_pct);
    s.add("worker_peak_rss", "MiB", "", p.peak_rss_mib);
    clear(store).await?;
    let (p50, p99) = latency(store, c).await?;
    s.add("latency_p50", "ms", "", p50);
    s.add("latency_p99", "ms", "", p99);
    // In one client's round trips (an RPOP's): what no queue on this machine can beat.
    let rtt_ms = 1000.0 / ceil.rpop_per_s;
    s.add("latency_p50_in_round_trips", "round trips", "", p50 / rtt_ms);
    s.add("latency_p99_in_round_trips", "round trips", "", p99 / rtt_ms);
    note("idle worker");
    s.add(
        "idle_worker_commands",
        "commands/s",
        "<= 1",
        idle(store, c).await?,
    );
    if c.external_jobs > 0 {
        external(store, c, s).await?;
    }
    Ok(())
}

async fn external(store: &Arc<Store>, c: &BenchConfig, s: &mut Samples) -> Result<()> {
    clear(store).await?;
    let exec = exec_handler("true", false)?;
    let p = process(store, c.external_jobs, c.external_jobs, c.concurrency, exec).await?;
    s.add("exec_per_job_processed", "jobs/s", "", p.per_s);
    if jobq::private_redis::find_on_path("python3").is_none() {
        return Ok(()); // The persistent-handler figure needs Python; the table shows it missing.
    }
    clear(store).await?;
    let dir = tempfile::tempdir().map_err(|e| Error::Io(e.to_string()))?;
    let script = dir.path().join("noop.py");
    std::fs::write(&script, NOOP_PY).map_err(|e| Error::Io(e.to_string()))?;
    let cmd = format!(
        "python3 {}",
        shlex::try_quote(&script.to_string_lossy()).unwrap_or_default()
    );
    let persistent = exec_handler(&cmd, true)?;
    // Start one Python per slot first: the figure is the steady state, not interpreter start-up.
    let warm = c.concurrency * 2;
    process(store, warm, warm, c.concurrency, persistent.clone()).await?;
    clear(store).await?;
    let p = process(store, c.external_jobs, c.external_jobs, c.concurrency, persistent).await?;
    s.add("persistent_python_processed", "jobs/s", "", p.per_s);
    Ok(())
}

fn exec_handler(command: &str, persistent: bool) -> Result<Arc<dyn Handler>> {
    let mut spec = HandlerSpec::parse(command)?;
    spec.persistent = persistent;
    Ok(Arc::new(ExecHandler {
        fallback: Some(spec),
        default_timeout: Some(Duration::from_secs(60)),
        kill_grace: Duration::from_secs(1),
        ..ExecHandler::default()
    }))
}

pub(super) async fn noop(_job: LeasedJob, _control: Control) -> Outcome {
    Outcome::Completed("null".into())
}

fn job(i: usize) -> NewJob {
    NewJob::new("noop", QUEUE, &serde_json::json!({ "i": i }))
}

async fn single_enqueue(store: &Store, n: usize) -> Result<f64> {
    let jobs: Vec<NewJob> = (0..n).map(job).collect();
    let start = Instant::now();
    for j in &jobs {
        store.enqueue(j).await?;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

async fn bulk_enqueue(store: &Store, n: usize) -> Result<f64> {
    let jobs: Vec<NewJob> = (0..n).map(job).collect();
    let start = Instant::now();
    store.enqueue_many(&jobs).await?;
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Enqueues `n` jobs in bounded chunks (a million `NewJob`s would skew the memory figures).
async fn fill(store: &Store, n: usize) -> Result<()> {
    let mut done = 0;
    while done < n {
        let k = (n - done).min(10_000);
        let jobs: Vec<NewJob> = (done..done + k).map(job).collect();
        store.enqueue_many(&jobs).await?;
        done += k;
    }
    Ok(())
}

struct Processed {
    per_s: f64,
    commands_per_job: f64,
    scripts_per_job: f64,
    /// Redis time in scripts per job (enqueue + process), from `INFO commandstats` usec.
    script_us_per_job: f64,
    redis_cpu_pct: f64,
    peak_rss_mib: f64,
}

fn worker_config(concurrency: usize) -> WorkerConfig {
    WorkerConfig {
        queues: vec![QUEUE.into()],
        concurrency,
        log_completed: false,
        ..WorkerConfig::default()
    }
}

/// Fills the queue with `backlog` jobs, then times one worker taking the first `take` of them.
async fn process(
    store: &Arc<Store>,
    backlog: usize,
    take: usize,
    concurrency: usize,
    inner: Arc<dyn Handler>,
) -> Result<Processed> {
    let before = commandstats(store).await?;
    let usec0 = script_usec(store).await?;
    fill(store, backlog).await?;
    let filled = commandstats(store).await?;
    let usec1 = script_usec(store).await?;
    let counter = Counter::new(take);
    let handler = Arc::new(Counting {
        inner,
        counter: counter.clone(),
    });
    reset_peak_rss();
    let cpu0 = redis_cpu(store).await?;
    let start = Instant::now();
    let (_worker, shutdown, task) = spawn_worker(store, worker_config(concurrency), handler);
    counter.wait().await;
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = redis_cpu(store).await? - cpu0;
    shutdown.drain.cancel();
    task.await.map_err(|e| Error::Io(e.to_string()))??;
    if let Some(error) = counter.failure.lock().unwrap().take() {
        return Err(Error::Io(format!("a benchmark job failed: {error}")));
    }
    let after = commandstats(store).await?;
    let usec2 = script_usec(store).await?;
    let processed = counter.done.load(Ordering::Relaxed) as f64;
    let enqueue = delta(&before, &filled);
    let work = delta(&filled, &after);
    let per_job = |f: &dyn Fn(&HashMap<String, u64>) -> u64| {
        f(&enqueue) as f64 / backlog as f64 + f(&work) as f64 / processed
    };
    Ok(Processed {
        per_s: take as f64 / elapsed,
        commands_per_job: per_job(&|m| m.values().sum()),
        scripts_per_job: per_job(&|m| m.get("evalsha").copied().unwrap_or(0)),
        script_us_per_job: (usec1 - usec0) / backlog as f64 + (usec2 - usec1) / processed,
        redis_cpu_pct: 100.0 * cpu / elapsed,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// Counts finished jobs and signals when `target` is reached.
struct Counter {
    done: AtomicU64,
    /// The first failure: a bench whose handler fails measures nothing worth printing.
    failure: Mutex<Option<String>>,
    target: u64,
    reached: Notify,
}

impl Counter {
    fn new(target: usize) -> Arc<Counter> {
        Arc::new(Counter {
            done: AtomicU64::new(0),
            failure: Mutex::new(None),
            target: target as u64,
            reached: Notify::new(),
        })
    }

    fn add_outcome(&self, outcome: &Outcome) {
        if let Outcome::Failed { error, .. } = outcome {
            self.failure.lock().unwrap().get_or_insert_with(|| error.clone());
        }
        self.add();
    }

    fn add(&self) {
        if self.done.fetch_add(1, Ordering::Relaxed) + 1 >= self.target {
            self.reached.notify_waiters();
        }
    }

    async fn wait(&self) {
        loop {
            let notified = self.reached.notified();
            if self.done.load(Ordering::Relaxed) >= self.target {
                return;
            }
            notified.await;
        }
    }
}

/// A handler that counts the jobs its inner handler finished.
struct Counting {
    inner: Arc<dyn Handler>,
    counter: Arc<Counter>,
}

impl Handler for Counting {
    fn handle(&self, job: LeasedJob, control: Control) -> jobq::worker::BoxFuture {
        let fut = self.inner.handle(job, control);
        let counter = self.counter.clone();
        Box::pin(async move {
            let out = fut.await;
            counter.add_outcome(&out);
            out
        })
    }
}

/// Enqueue→start latency (p50, p99 in ms) with an idle worker, jobs arriving at a fixed rate
/// whatever the worker does (open loop), so a polling worker cannot hide its poll interval.
async fn latency(store: &Arc<Store>, c: &BenchConfig) -> Result<(f64, f64)> {
    let epoch = Instant::now();
    let seen = Arc::new(Mutex::new(Vec::with_capacity(c.latency_jobs)));
    let counter = Counter::new(c.latency_jobs);
    let handler = {
        let (seen, counter) = (seen.clone(), counter.clone());
        move |job: LeasedJob, _control: Control| {
            let started = epoch.elapsed().as_nanos() as u64;
            let sent = serde_json::from_str::<serde_json::Value>(&job.payload)
                .ok()
                .and_then(|v| v["t"].as_u64())
                .unwrap_or(started);
            seen.lock().unwrap().push(started.saturating_sub(sent));
            counter.add();
            async { Outcome::Completed("null".into()) }
        }
    };
    let (worker, shutdown, task) = start_worker(store, worker_config(c.concurrency), Arc::new(handler)).await;
    let gap = Duration::from_secs_f64(1.0 / c.rate.max(1) as f64);
    let mut tick = tokio::time::interval(gap);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for _ in 0..c.latency_jobs {
        tick.tick().await;
        let store = store.clone();
        let t = epoch.elapsed().as_nanos() as u64;
        tokio::spawn(async move {
            let _ = store
                .enqueue(&NewJob::new("noop", QUEUE, &serde_json::json!({ "t": t })))
                .await;
        });
    }
    let limit = Duration::from_secs(30);
    let waited = tokio::time::timeout(limit, counter.wait()).await;
    shutdown.drain.cancel();
    task.await.map_err(|e| Error::Io(e.to_string()))??;
    drop(worker);
    if waited.is_err() {
        return Err(Error::Io(
            "latency bench: the worker did not start every job within 30s".into(),
        ));
    }
    let mut v = seen.lock().unwrap().clone();
    v.sort_unstable();
    let pct = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)] as f64 / 1e6;
    Ok((pct(0.50), pct(0.99)))
}

/// Enqueues `n` jobs made by `new`, runs a worker with `config` until it finished them all,
/// and returns the Redis commands per job of both (worker start and stop included).
pub(super) async fn process_queue(
    store: &Arc<Store>,
    config: WorkerConfig,
    n: usize,
    new: &dyn Fn(usize) -> NewJob,
) -> Result<f64> {
    let jobs: Vec<NewJob> = (0..n).map(new).collect();
    let before = commandstats(store).await?;
    store.enqueue_many(&jobs).await?;
    let counter = Counter::new(n);
    let handler = Arc::new(Counting {
        inner: Arc::new(noop),
        counter: counter.clone(),
    });
    let (_worker, shutdown, task) = spawn_worker(store, config, handler);
    counter.wait().await;
    shutdown.drain.cancel();
    task.await.map_err(|e| Error::Io(e.to_string()))??;
    let after = commandstats(store).await?;
    Ok(delta(&before, &after).values().sum::<u64>() as f64 / n as f64)
}

pub(super) type Running = (Arc<Worker>, Shutdown, tokio::task::JoinHandle<Result<()>>);

fn spawn_worker(store: &Arc<Store>, config: WorkerConfig, handler: Arc<dyn Handler>) -> Running {
    let worker = Worker::new(store.clone(), config, handler);
    let shutdown = Shutdown::default();
    let task = tokio::spawn({
        let (w, s) = (worker.clone(), shutdown.clone());
        async move { w.run(s).await }
    });
    (worker, shutdown, task)
}

/// Starts a worker and returns once it has registered (its start-up commands are done).
/// The polling adds EXISTS calls: only use it before a command-count window opens.
pub(super) async fn start_worker(
    store: &Arc<Store>,
    config: WorkerConfig,
    handler: Arc<dyn Handler>,
) -> Running {
    let (worker, shutdown, task) = spawn_worker(store, config, handler);
    let key = store.keys().worker(worker.id());
    for _ in 0..500 {
        if store
            .query::<bool>(redis::cmd("EXISTS").arg(&key))
            .await
            .unwrap_or(false)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (worker, shutdown, task)
}

/// Redis commands per second caused by one idle worker with the default queues and lease.
async fn idle(store: &Arc<Store>, c: &BenchConfig) -> Result<f64> {
    let config = WorkerConfig {
        concurrency: c.concurrency,
        log_completed: false,
        ..WorkerConfig::default()
    };
    let (_worker, shutdown, task) = start_worker(store, config, Arc::new(noop)).await;
    // Let the start-up settle into the steady idle rhythm before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = commandstats(store).await?;
    tokio::time::sleep(c.idle_window).await;
    let after = commandstats(store).await?;
    shutdown.drain.cancel();
    task.await.map_err(|e| Error::Io(e.to_string()))??;
    let calls: u64 = delta(&before, &after).values().sum();
    Ok(calls as f64 / c.idle_window.as_secs_f64())
}

async fn backlog_row(store: &Arc<Store>, c: &BenchConfig, size: usize) -> Result<BacklogRow> {
    let mut s = Samples::default();
    for _ in 0..c.repeat {
        clear(store).await?;
        let take = c.jobs.min(size);
        let p = process(store, size, take, c.concurrency, Arc::new(noop)).await?;
        s.add("processed", "jobs/s", "", p.per_s);
        s.add("peak_rss", "MiB", "", p.peak_rss_mib);
        s.add("redis_used", "MiB", "", redis_used_mib(store).await?);
    }
    let mut f = s.figures().into_iter();
    let mut next = || f.next().expect("three figures");
    Ok(BacklogRow {
        backlog: size,
        processed_per_s: next(),
        peak_rss_mib: next(),
        redis_used_mib: next(),
    })
}

/// Calls per command since the server started (or since CONFIG RESETSTAT).
pub(super) async fn commandstats(store: &Store) -> Result<HashMap<String, u64>> {
    let text: String = store.query(redis::cmd("INFO").arg("commandstats")).await?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest.strip_prefix("calls=")?.split(',').next()?.parse().ok()?;
            Some((name.to_string(), calls))
        })
        .collect())
}

/// Commands issued between two snapshots, without the bench's own bookkeeping commands.
pub(super) fn delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> HashMap<String, u64> {
    after
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "info" | "scan" | "unlink"))
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Microseconds Redis has spent in scripts (EVAL, EVALSHA, FCALL; with the commands they
/// ran): jobq's per-job work is all scripts.
async fn script_usec(store: &Store) -> Result<f64> {
    let text: String = store.query(redis::cmd("INFO").arg("commandstats")).await?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            if !matches!(name, "eval" | "evalsha" | "fcall" | "evalsha_ro" | "eval_ro") {
                return None;
            }
            rest.split(',')
                .find_map(|kv| kv.strip_prefix("usec="))?
                .parse::<f64>()
                .ok()
        })
        .sum())
}

async fn info_field(store: &Store, section: &str, field: &str) -> Result<f64> {
    let text: String = store.query(redis::cmd("INFO").arg(section)).await?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().parse().ok())
        .ok_or_else(|| Error::Redis(format!("INFO {section} has no {field}")))
}

/// Seconds of CPU the Redis server has used (user + system).
async fn redis_cpu(store: &Store) -> Result<f64> {
    Ok(info_field(store, "cpu", "used_cpu_user").await? + info_field(store, "cpu", "used_cpu_sys").await?)
}

async fn redis_used_mib(store: &Store) -> Result<f64> {
    Ok(info_field(store, "memory", "used_memory").await? / (1024.0 * 1024.0))
}

/// Deletes every key of the bench's namespace (it is private to this run).
pub(super) async fn clear(store: &Store) -> Result<()> {
    let ns = store.keys().namespace().to_string();
    for pattern in [format!("{{{ns}:*"), format!("{ns}:*")] {
        let mut cursor: u64 = 0;
        loop {
            let (next, keys) = store.scan_page(cursor, &pattern, 5000).await?;
            if !keys.is_empty() {
                store.query::<()>(redis::cmd("UNLINK").arg(&keys)).await?;
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
    }
    Ok(())
}

/// Resets this process's peak RSS (VmHWM) to its current RSS (Linux: `clear_refs` 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak RSS in MiB since the last reset (NaN where /proc is missing).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}
