//! `jobq bench --fleet`: what the fleet's shape costs Redis (issue 10, README "Cluster layout
//! and cost"). Counted with `INFO commandstats` deltas, like every bench figure:
//! - an idle worker serving 1, 20 and 50 queues (commands/s);
//! - 1, 10 and 100 idle `jobq worker` processes on 50 queues: commands/s in all, per worker,
//!   and lease-recovery passes per queue and minute (they must not grow with the workers);
//! - commands per job for jobs in the first and in the last queue of a 20-queue strict
//!   priority list (they must be within 10 %);
//! - the wake-up fan-out: commands per job of a 10 jobs/s trickle into one queue that 1, 10
//!   and 100 idle worker processes serve.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use jobq::error::{Error, Result};
use jobq::store::NewJob;
use jobq::worker::WorkerConfig;
use jobq::Store;

use super::engine::{clear, commandstats, delta, noop, process_queue, start_worker};

#[derive(Debug, Clone, Serialize)]
pub struct FleetConfig {
    /// How long each idle configuration is watched.
    #[serde(serialize_with = "secs")]
    pub window: Duration,
    pub processes: Vec<usize>,
    pub queue_counts: Vec<usize>,
    /// Jobs per priority figure.
    pub jobs: usize,
    /// URL the worker processes connect to (the bench's own server).
    #[serde(skip)]
    pub url: String,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[derive(Debug, Clone, Serialize)]
pub struct IdleRow {
    pub queues: usize,
    pub commands_per_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessRow {
    pub workers: usize,
    pub queues: usize,
    pub commands_per_s: f64,
    pub commands_per_s_per_worker: f64,
    /// Lease-recovery passes (ZRANGEBYSCORE on an active set) per queue and minute.
    pub recovery_passes_per_queue_min: f64,
    /// Every command seen in the window, by name (for the README arithmetic).
    pub by_command: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PriorityRow {
    /// 1-based position of the queue in the worker's list of 20.
    pub position: usize,
    pub commands_per_job: f64,
}

/// A trickle of jobs into one queue that idle worker processes serve: every job finds the
/// queue empty, so each enqueue publishes a wake-up that every subscribed worker receives.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutRow {
    pub workers: usize,
    pub jobs: usize,
    pub jobs_per_s: f64,
    /// Redis commands per job, enqueue and processing included, fetches of every woken worker.
    pub commands_per_job: f64,
    pub commands_per_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    pub config: FleetConfig,
    pub idle: Vec<IdleRow>,
    pub processes: Vec<ProcessRow>,
    pub priority: Vec<PriorityRow>,
    pub fanout: Vec<FanoutRow>,
}

/// Jobs per second of the fan-out trickle (the example: 10 jobs/s).
const TRICKLE_PER_S: u64 = 10;

fn queues(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("q{i:02}")).collect()
}

pub async fn run(store: Arc<Store>, config: FleetConfig, note: &dyn Fn(&str)) -> Result<FleetReport> {
    let mut idle = Vec::new();
    for &n in &config.queue_counts {
        note(&format!(
            "idle worker on {n} queue(s), {}s",
            config.window.as_secs()
        ));
        clear(&store).await?;
        idle.push(IdleRow {
            queues: n,
            commands_per_s: idle_worker(&store, n, config.window).await?,
        });
    }
    let mut processes = Vec::new();
    for &w in &config.processes {
        note(&format!(
            "{w} idle worker process(es) on 50 queues, {}s",
            config.window.as_secs()
        ));
        clear(&store).await?;
        processes.push(worker_processes(&store, &config, w, 50).await?);
    }
    let mut priority = Vec::new();
    for position in [1, 20] {
        note(&format!("priority: jobs in queue {position} of 20"));
        clear(&store).await?;
        priority.push(PriorityRow {
            position,
            commands_per_job: priority_cost(&store, position, config.jobs).await?,
        });
    }
    let mut fanout = Vec::new();
    for &w in &config.processes {
        note(&format!(
            "wake-up fan-out: {w} idle worker process(es) on one queue, {TRICKLE_PER_S} jobs/s for {}s",
            config.window.as_secs()
        ));
        clear(&store).await?;
        fanout.push(fan_out(&store, &config, w).await?);
    }
    clear(&store).await?;
    Ok(FleetReport {
        config,
        idle,
        processes,
        priority,
        fanout,
    })
}

/// Commands/s of one in-process worker with the default lease, idle on `n` queues.
async fn idle_worker(store: &Arc<Store>, n: usize, window: Duration) -> Result<f64> {
    let config = WorkerConfig {
        queues: queues(n),
        log_completed: false,
        ..WorkerConfig::default()
    };
    let (_worker, shutdown, task) = start_worker(store, config, Arc::new(noop)).await;
    // The start-up pass fetches every queue once; count the steady state after it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = commandstats(store).await?;
    tokio::time::sleep(window).await;
    let after = commandstats(store).await?;
    shutdown.drain.cancel();
    task.await.map_err(|e| Error::Io(e.to_string()))??;
    let calls: u64 = delta(&before, &after).values().sum();
    Ok(calls as f64 / window.as_secs_f64())
}

/// Kills the worker processes when dropped (also when the bench fails half-way).
struct Fleet(Vec<Child>);

impl Drop for Fleet {
    fn drop(&mut self) {
        for c in &mut self.0 {
            // SIGTERM: each worker leaves the registry on its way out.
            let _ = Command::new("kill").arg(c.id().to_string()).status();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

async fn worker_processes(
    store: &Arc<Store>,
    c: &FleetConfig,
    workers: usize,
    n: usize,
) -> Result<ProcessRow> {
    let fleet = start_fleet(store, c, workers, &queues(n)).await?;
    let before = commandstats(store).await?;
    tokio::time::sleep(c.window).await;
    let after = commandstats(store).await?;
    drop(fleet);
    let d = delta(&before, &after);
    let secs = c.window.as_secs_f64();
    let total: u64 = d.values().sum();
    let passes = d.get("zrangebyscore").copied().unwrap_or(0) as f64;
    let mut by_command: Vec<(String, u64)> = d.into_iter().collect();
    by_command.sort();
    Ok(ProcessRow {
        workers,
        queues: n,
        commands_per_s: total as f64 / secs,
        commands_per_s_per_worker: total as f64 / secs / workers as f64,
        recovery_passes_per_queue_min: passes / n as f64 / secs * 60.0,
        by_command,
    })
}

/// Commands per job of a 10 jobs/s trickle into a queue `workers` idle processes serve.
async fn fan_out(store: &Arc<Store>, c: &FleetConfig, workers: usize) -> Result<FanoutRow> {
    let list = queues(1);
    let fleet = start_fleet(store, c, workers, &list).await?;
    let before = commandstats(store).await?;
    let start = std::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / TRICKLE_PER_S));
    let mut jobs = 0;
    while start.elapsed() < c.window {
        tick.tick().await;
        store
            .enqueue(&NewJob::new("noop", &list[0], &serde_json::json!({ "i": jobs })))
            .await?;
        jobs += 1;
    }
    // Every job ran (the fetches it caused are counted) before the window closes.
    let queue = store.keys().queue(&list[0]);
    for _ in 0..3000 {
        let done: usize = store.query(redis::cmd("ZCARD").arg(queue.completed())).await?;
        if done >= jobs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let after = commandstats(store).await?;
    drop(fleet);
    let total: u64 = delta(&before, &after).values().sum();
    Ok(FanoutRow {
        workers,
        jobs,
        jobs_per_s: jobs as f64 / secs,
        commands_per_job: total as f64 / jobs.max(1) as f64,
        commands_per_s: total as f64 / secs,
    })
}

/// `workers` idle `jobq worker` processes on `list` (`--exec true`, concurrency 1), once they
/// are registered and their start-up passes are over.
async fn start_fleet(store: &Arc<Store>, c: &FleetConfig, workers: usize, list: &[String]) -> Result<Fleet> {
    let exe = std::env::current_exe().map_err(|e| Error::Io(e.to_string()))?;
    let list = list.join(",");
    let mut fleet = Fleet(Vec::new());
    for _ in 0..workers {
        let child = Command::new(&exe)
            .args([
                "worker",
                "--queues",
                &list,
                "--exec",
                "true",
                "--concurrency",
                "1",
            ])
            .args(["--redis-url", &c.url, "--namespace", store.keys().namespace()])
            .env_remove("JOBQ_REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Io(format!("cannot start a worker process: {e}")))?;
        fleet.0.push(child);
    }
    let registry = store.keys().workers();
    for _ in 0..3000 {
        let n: usize = store.query(redis::cmd("ZCARD").arg(&registry)).await?;
        if n >= workers {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    settle(store, workers).await?;
    Ok(fleet)
}

/// Waits (at most a minute) until the start-up passes (one fetch per queue and worker) are
/// over: a second with fewer commands than two per worker.
async fn settle(store: &Store, workers: usize) -> Result<()> {
    for _ in 0..60 {
        let before = commandstats(store).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = commandstats(store).await?;
        if delta(&before, &after).values().sum::<u64>() < 2 * workers as u64 {
            break;
        }
    }
    Ok(())
}

/// Commands per job (enqueue + process) of `jobs` jobs in queue `position` of a worker on 20
/// queues, concurrency 1 (one fetch per job, where scanning higher queues would show most).
async fn priority_cost(store: &Arc<Store>, position: usize, jobs: usize) -> Result<f64> {
    let list = queues(20);
    let queue = list[position - 1].clone();
    let new = |i: usize| NewJob::new("noop", &queue, &serde_json::json!({ "i": i }));
    let config = WorkerConfig {
        queues: list,
        concurrency: 1,
        log_completed: false,
        ..WorkerConfig::default()
    };
    process_queue(store, config, jobs, &new).await
}
