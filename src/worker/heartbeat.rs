//! The worker's heartbeat: lease renewal of running jobs every lease/3, the worker record
//! (with the dataset epoch check) every lease, and pruning of old daily counters.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{fence, Running, StopReason, Worker};
use crate::error::Result;
use crate::log::Level;
use crate::store::LeaseStatus;

/// How often a worker drops expired per-day counters.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl Worker {
    /// Renews leases every lease/3 while jobs run. The worker record (and with it the epoch
    /// check) is written every lease, busy or idle: it lives two. Lease recovery is not done
    /// here: fetches run it when it is due (see fetch.rs), once per period per queue however
    /// many workers there are.
    pub(super) async fn heartbeat_loop(self: Arc<Self>, stop: CancellationToken) {
        let interval = self.config.lease / 3;
        self.prune_stats().await;
        let mut last_prune = tokio::time::Instant::now();
        let mut ticks = 0u64;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.cancelled() => return,
            }
            if let Err(e) = self.renew_leases().await {
                self.log(Level::Warn, format_args!("lease renewal failed: {e}"));
            }
            ticks += 1;
            if ticks % 3 != 0 {
                continue;
            }
            match self.beat(false).await {
                Ok(epoch) => self.check_epoch(epoch),
                Err(e) => self.log(Level::Warn, format_args!("worker heartbeat failed: {e}")),
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = tokio::time::Instant::now();
                self.prune_stats().await;
            }
        }
    }

    pub(super) async fn renew_leases(&self) -> Result<()> {
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
            let sent = tokio::time::Instant::now();
            let statuses = self.store.renew(queue, &pairs, self.config.lease).await?;
            for (r, status) in jobs.iter().zip(statuses) {
                match status {
                    LeaseStatus::Ok => fence::renewed(r, sent),
                    LeaseStatus::Cancel => {
                        fence::renewed(r, sent);
                        r.stop(StopReason::Cancelled)
                    }
                    LeaseStatus::Lost if r.finished.load(Ordering::SeqCst) => {}
                    LeaseStatus::Lost => {
                        self.log_job(
                            Level::Warn,
                            &r.job,
                            format_args!(
                                "job {}: lease lost (another worker owns it now); stopping its handler",
                                r.job.id
                            ),
                        );
                        r.stop(StopReason::LeaseLost);
                    }
                }
            }
        }
        Ok(())
    }

    /// Says loudly when Redis came back empty (restarted without persistence), then goes on
    /// with new work: crashing or retrying in a loop would not bring the lost jobs back.
    fn check_epoch(&self, now: String) {
        let before = std::mem::replace(&mut *self.epoch.lock().unwrap(), now.clone());
        if before != now {
            self.log(
                Level::Error,
                format_args!(
                "Redis at {} LOST ITS DATA (dataset epoch {before} is gone, now {now}): jobs enqueued before \
                 are lost; enable persistence (appendonly yes) on that server. Carrying on with new work",
                self.store.url()
            ),
            );
        }
    }

    /// Keeps the per-day counters bounded (see `store::ops::DAILY_STATS_DAYS`).
    async fn prune_stats(&self) {
        for queue in &self.config.queues {
            if let Err(e) = self.store.prune_stats(queue).await {
                self.log_queue(
                    Level::Warn,
                    queue,
                    format_args!("pruning old daily counters of queue {queue} failed: {e}"),
                );
            }
        }
    }

    /// Writes the worker record (`register`: and adds its queues to the queues set); returns
    /// the dataset's epoch.
    pub(super) async fn beat(&self, register: bool) -> Result<String> {
        let mut info = self.info.clone();
        info.heartbeat_at = Utc::now();
        info.jobs = self.running.lock().unwrap().keys().cloned().collect();
        // Beats come once per lease: the record outlives two of them.
        self.store
            .heartbeat_worker(&info, self.config.lease * 2, register)
            .await
    }
}
