//! The per-queue numbers of `jobq stats` and `GET /api/queues`. `--json` prints [`Report`]
//! (field names documented in the README).

use chrono::{DateTime, Utc};
use serde::Serialize;

use jobq::error::Result;
use jobq::store::{DayStats, QueueStats};
use jobq::Store;

#[derive(Debug, Serialize)]
pub struct Report {
    pub generated_at: DateTime<Utc>,
    /// Workers whose heartbeat record is alive.
    pub workers: usize,
    pub queues: Vec<QueueStats>,
    /// Sums over `queues` (`oldest_queued_age_ms` is the maximum; `queue` is "total").
    pub totals: QueueStats,
}

/// What `jobq stats --json` prints and `GET /api/queues` answers: `queue` or every queue.
pub async fn report(store: &Store, queue: Option<&str>) -> Result<Report> {
    let queues = super::target_queues(store, queue).await?;
    collect(store, &queues).await
}

pub async fn collect(store: &Store, queues: &[String]) -> Result<Report> {
    let mut report = Report {
        generated_at: Utc::now(),
        workers: store.workers().await?.len(),
        queues: Vec::with_capacity(queues.len()),
        totals: QueueStats {
            queue: "total".into(),
            ..QueueStats::default()
        },
    };
    // Limits are few: one read of the index, one script per limited queue shown.
    let mut limits = store.limits().await?;
    for mut s in store.queues_stats(queues).await? {
        report.totals.add(&s);
        if let Some(i) = limits.iter().position(|l| l.limit.queue == s.queue) {
            s.limit = Some(limits.swap_remove(i));
        }
        report.queues.push(s);
    }
    if report.totals.days.is_empty() {
        report.totals.days = jobq::store::last_days(7)
            .into_iter()
            .map(|date| DayStats {
                date,
                ..DayStats::default()
            })
            .collect();
    }
    Ok(report)
}
