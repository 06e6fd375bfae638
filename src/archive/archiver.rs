//! `jobq archive`: copies finished jobs from Redis into PostgreSQL, exactly once per outcome.
//!
//! It reads the durable per-queue sets of finished jobs (completed, dead, cancelled, each
//! scored by finish time), never the capped event stream, so falling behind loses nothing
//! while the jobs are still in Redis. Per set it keeps a cursor (a finish time) in PostgreSQL,
//! written in the same transaction as the rows it covers: a SIGKILL at any moment leaves either
//! both or neither. Rows are keyed by (namespace, job id, finish time) and inserted with
//! `ON CONFLICT DO NOTHING`, and each page is read under a per-queue advisory lock, so replays
//! and concurrent archivers add nothing twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::db::Db;
use super::rows::Rows;
use crate::error::Result;
use crate::job::State;
use crate::store::{Store, FINISHED_STATES};

/// Jobs read from Redis and inserted per transaction: big enough to amortise the round trips,
/// small enough that a page of large payloads stays a few MB in memory.
pub const PAGE: usize = 500;

/// What one pass did and where the archive stands (the `--json` status line).
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub time: DateTime<Utc>,
    /// Rows added in this pass.
    pub archived: u64,
    /// Jobs read that were in the archive already (a replay after a crash, or another archiver).
    pub already_archived: u64,
    /// Jobs that expired or were purged from Redis before they could be archived.
    pub expired: u64,
    pub elapsed_ms: u64,
    pub rows_per_second: f64,
    /// Finished jobs in Redis not archived yet, over all queues.
    pub unarchived: u64,
    /// Age of the oldest of them (now − its finish time), the archive's lag; 0 when none.
    pub lag_ms: i64,
    pub queues: Vec<QueueStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueStatus {
    pub queue: String,
    pub archived: u64,
    pub unarchived: u64,
    pub lag_ms: i64,
    /// When the oldest not-yet-archived job expires from Redis (completed and cancelled jobs
    /// expire after their retention).
    pub oldest_expires_in_ms: Option<i64>,
    /// Another archiver held this queue during the pass (it did the work instead).
    pub busy: bool,
    /// Per finished state: every job finished at or before this time is archived (Unix ms).
    pub cursors: BTreeMap<String, i64>,
}

pub struct Archiver {
    store: Arc<Store>,
    db: Db,
    page: usize,
}

enum Page {
    /// Another archiver holds the queue right now.
    Busy,
    Done {
        inserted: u64,
        already: u64,
        expired: u64,
        /// The page was full: there may be more right away.
        full: bool,
    },
}

#[derive(Default)]
struct Tally {
    archived: u64,
    already: u64,
    expired: u64,
    busy: bool,
}

impl Archiver {
    pub fn new(store: Arc<Store>, db: Db) -> Archiver {
        Archiver {
            store,
            db,
            page: PAGE,
        }
    }

    fn namespace(&self) -> &str {
        self.store.keys().namespace()
    }

    /// Archives everything that finished in `queues` before now, page by page, stopping early
    /// (between two pages) when `stop` is cancelled; then measures what is left.
    pub async fn pass(&self, queues: &[String], stop: &CancellationToken) -> Result<Status> {
        let started = Instant::now();
        let mut tallies = Vec::new();
        for queue in queues {
            let mut tally = Tally::default();
            for state in FINISHED_STATES {
                self.archive_set(queue, state, &mut tally, stop).await?;
            }
            tallies.push((queue, tally));
            if stop.is_cancelled() {
                break;
            }
        }
        let elapsed = started.elapsed();
        let mut status = Status {
            time: Utc::now(),
            archived: 0,
            already_archived: 0,
            expired: 0,
            elapsed_ms: elapsed.as_millis() as u64,
            rows_per_second: 0.0,
            unarchived: 0,
            lag_ms: 0,
            queues: Vec::new(),
        };
        for (queue, tally) in tallies {
            let q = self.queue_status(queue, &tally).await?;
            status.archived += tally.archived;
            status.already_archived += tally.already;
            status.expired += tally.expired;
            status.unarchived += q.unarchived;
            status.lag_ms = status.lag_ms.max(q.lag_ms);
            status.queues.push(q);
        }
        status.rows_per_second = status.archived as f64 / elapsed.as_secs_f64().max(1e-6);
        Ok(status)
    }

    async fn archive_set(
        &self,
        queue: &str,
        state: State,
        tally: &mut Tally,
        stop: &CancellationToken,
    ) -> Result<()> {
        while !stop.is_cancelled() {
            match self.archive_page(queue, state).await? {
                Page::Busy => {
                    tally.busy = true;
                    return Ok(());
                }
                Page::Done {
                    inserted,
                    already,
                    expired,
                    full,
                } => {
                    tally.archived += inserted;
                    tally.already += already;
                    tally.expired += expired;
                    if !full {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// One transaction: lock the queue, read the cursor, read the next page from Redis,
    /// insert it, move the cursor, commit. Dropping the transaction (an error, a kill) rolls
    /// all of it back.
    async fn archive_page(&self, queue: &str, state: State) -> Result<Page> {
        let ns = self.namespace();
        let err = |e| self.db.error(e);
        let mut tx = self.db.pool().begin().await.map_err(err)?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("jobq archive {ns} {queue}"))
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
        if !locked {
            tx.rollback().await.map_err(err)?;
            return Ok(Page::Busy);
        }
        let cursor: Option<i64> = sqlx::query_scalar(
            "SELECT finished_ms FROM archive_cursors WHERE namespace = $1 AND queue = $2 AND state = $3",
        )
        .bind(ns)
        .bind(queue)
        .bind(state.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
        let page = self
            .store
            .finished_page(queue, state, cursor.unwrap_or(0), self.page)
            .await?;
        let Some(last) = page.entries.last().map(|e| e.finished_ms) else {
            // Ended here and now: a dropped transaction is rolled back only when its
            // connection is next used, holding the queue's lock until then.
            tx.rollback().await.map_err(err)?;
            return Ok(Page::Done {
                inserted: 0,
                already: 0,
                expired: 0,
                full: false,
            });
        };
        let mut rows = Rows::default();
        let mut expired = Vec::new();
        for entry in &page.entries {
            match &entry.job {
                Some(job) if job.state == state => rows.push(entry.finished_ms, job),
                // Its hash says otherwise: it was retried after this read began; its new
                // outcome will come through its new set entry.
                Some(_) => {}
                None => expired.push(entry.id.as_str()),
            }
        }
        let read = rows.len() as u64;
        let inserted = rows.insert(ns, &mut tx).await.map_err(err)?;
        sqlx::query(
            "INSERT INTO archive_cursors (namespace, queue, state, finished_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (namespace, queue, state)
             DO UPDATE SET finished_ms = GREATEST(archive_cursors.finished_ms, EXCLUDED.finished_ms), updated_at = now()",
        )
        .bind(ns)
        .bind(queue)
        .bind(state.as_str())
        .bind(last)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        if let Some(first) = expired.first() {
            warn(format_args!(
                "queue {queue}: {} {state} job(s) expired from Redis before they could be archived (first: {first})",
                expired.len()
            ));
        }
        // For `doctor` only; the cursor that counts is the one just committed.
        self.store
            .mark_archived(queue, &HashMap::from([(state, last)]), page.now_ms)
            .await?;
        Ok(Page::Done {
            inserted,
            already: read - inserted,
            expired: expired.len() as u64,
            full: page.entries.len() >= self.page,
        })
    }

    /// The archive's cursors for `queue`, from PostgreSQL.
    pub async fn cursors(&self, queue: &str) -> Result<HashMap<State, i64>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, finished_ms FROM archive_cursors WHERE namespace = $1 AND queue = $2",
        )
        .bind(self.namespace())
        .bind(queue)
        .fetch_all(self.db.pool())
        .await
        .map_err(|e| self.db.error(e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, c)| s.parse::<State>().ok().map(|s| (s, c)))
            .collect())
    }

    async fn queue_status(&self, queue: &str, tally: &Tally) -> Result<QueueStatus> {
        let cursors = self.cursors(queue).await?;
        let (now, backlog) = self.store.archive_backlog(queue, &cursors).await?;
        // Also tells `doctor` that an archiver is alive when nothing new finished; a queue
        // that never had a finished job (a typo in --queues) gets no mark.
        if !cursors.is_empty() || backlog.iter().any(|b| b.count > 0) {
            self.store.mark_archived(queue, &cursors, now).await?;
        }
        let oldest = backlog.iter().filter_map(|b| b.oldest_ms).min();
        Ok(QueueStatus {
            queue: queue.to_string(),
            archived: tally.archived,
            unarchived: backlog.iter().map(|b| b.count).sum(),
            lag_ms: oldest.map_or(0, |o| (now - o).max(0)),
            oldest_expires_in_ms: backlog.iter().filter_map(|b| b.oldest_ttl_ms).min(),
            busy: tally.busy,
            cursors: cursors
                .into_iter()
                .map(|(s, c)| (s.as_str().to_string(), c))
                .collect(),
        })
    }
}

impl Status {
    /// The log line: what this pass did and the lag.
    pub fn line(&self) -> String {
        let mut line = format!(
            "archived {} job(s) in {} ({:.0} rows/s); {} waiting, lag {}",
            self.archived,
            crate::duration::human(std::time::Duration::from_millis(self.elapsed_ms)),
            self.rows_per_second,
            self.unarchived,
            crate::duration::human(std::time::Duration::from_millis(self.lag_ms.max(0) as u64)),
        );
        if self.already_archived > 0 {
            line.push_str(&format!("; {} were archived already", self.already_archived));
        }
        if self.expired > 0 {
            line.push_str(&format!(
                "; {} expired from Redis before they could be archived",
                self.expired
            ));
        }
        let busy: Vec<&str> = self
            .queues
            .iter()
            .filter(|q| q.busy)
            .map(|q| q.queue.as_str())
            .collect();
        if !busy.is_empty() {
            line.push_str(&format!("; another archiver is on {}", busy.join(",")));
        }
        line
    }
}

pub(super) fn info(msg: impl std::fmt::Display) {
    crate::log::info(crate::log::Ctx::default(), msg);
}

pub(super) fn warn(msg: impl std::fmt::Display) {
    crate::log::warn(crate::log::Ctx::default(), msg);
}
