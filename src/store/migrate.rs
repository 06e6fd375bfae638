//! `jobq migrate`: converts a namespace written by release 1 to the cluster layout.
//!
//! Every key of a queue (`{ns:q}:…`, job hashes included) is the same in both layouts and is
//! read as is. What moves are the namespace-wide keys, which had no hash tag (`ns:queues`,
//! `ns:epoch`, `ns:workers`, `ns:worker:ID`) and now share `{ns}`; release 1's wake-up lists
//! (`{ns:q}:notify`) are no longer read and are deleted. Each step is one idempotent command
//! and the legacy queues set, from which the plan is computed, is deleted last: a migration
//! interrupted anywhere is completed by running it again.

use serde::Serialize;

use super::Store;
use crate::error::{Error, Result};
use crate::job;

/// What `migrate` would do (dry run) or did (`--apply`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MigrationPlan {
    /// Queue names to add to the queues set.
    pub queues: Vec<String>,
    /// The dataset's epoch id, carried over so workers do not take the move for data loss.
    pub epoch: Option<String>,
    /// Release 1 registry entries (their records expired, or the workers still run).
    pub workers: Vec<String>,
    /// Release 1 workers whose record is still alive: they would go on using the old keys.
    pub live_workers: Vec<String>,
    /// Keys deleted at the end (legacy keys and wake-up lists).
    pub delete: Vec<String>,
}

impl MigrationPlan {
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty() && self.epoch.is_none() && self.workers.is_empty() && self.delete.is_empty()
    }
}

impl Store {
    /// Reads the namespace and says what a migration would do; writes nothing.
    pub async fn migration_plan(&self) -> Result<MigrationPlan> {
        let legacy = self.keys().legacy();
        let mut queues: Vec<String> = self.query(redis::cmd("SMEMBERS").arg(legacy.queues())).await?;
        // A name release 1 could not have written (validation was the same) is left alone.
        queues.retain(|q| job::validate_name("queue", q).is_ok());
        queues.sort();
        let epoch: Option<String> = self.query(redis::cmd("GET").arg(legacy.epoch())).await?;
        let workers: Vec<String> = self
            .query(redis::cmd("ZRANGE").arg(legacy.workers()).arg(0).arg(-1))
            .await?;
        let mut live_workers = Vec::new();
        for id in &workers {
            let alive: bool = self.query(redis::cmd("EXISTS").arg(legacy.worker(id))).await?;
            if alive {
                live_workers.push(id.clone());
            }
        }
        let mut delete = Vec::new();
        let mut all_queues = queues.clone();
        all_queues.extend(self.queue_names().await?);
        all_queues.sort();
        all_queues.dedup();
        for q in &all_queues {
            let notify = self.keys().queue(q).legacy_notify();
            let exists: bool = self.query(redis::cmd("EXISTS").arg(&notify)).await?;
            if exists {
                delete.push(notify);
            }
        }
        for key in [legacy.workers(), legacy.epoch(), legacy.queues()] {
            let exists: bool = self.query(redis::cmd("EXISTS").arg(&key)).await?;
            if exists {
                delete.push(key);
            }
        }
        Ok(MigrationPlan {
            queues,
            epoch,
            workers,
            live_workers,
            delete,
        })
    }

    /// Carries out `plan` (from [`Store::migration_plan`]). Refuses, writing nothing, while
    /// release 1 workers are alive: they would keep writing the old keys.
    pub async fn migrate(&self, plan: &MigrationPlan) -> Result<()> {
        if !plan.live_workers.is_empty() {
            return Err(Error::Conflict(format!(
                "release 1 workers are still running ({}): stop them (or wait two leases after they died), then migrate",
                plan.live_workers.join(", ")
            )));
        }
        if !plan.queues.is_empty() {
            let _: i64 = self
                .query(redis::cmd("SADD").arg(self.keys().queues()).arg(&plan.queues))
                .await?;
        }
        if let Some(epoch) = &plan.epoch {
            // NX: a new-layout worker that started already keeps the epoch it wrote.
            let _: Option<String> = self
                .query(redis::cmd("SET").arg(self.keys().epoch()).arg(epoch).arg("NX"))
                .await?;
        }
        // One key per command: the keys live in different slots on a cluster. The legacy
        // queues set is last in the list, so an interrupted run can be planned again.
        for key in &plan.delete {
            let _: i64 = self.query(redis::cmd("DEL").arg(key)).await?;
        }
        Ok(())
    }

    /// Whether release 1's namespace-wide keys are still there (a worker warns at start).
    pub async fn needs_migration(&self) -> Result<bool> {
        self.query(redis::cmd("EXISTS").arg(self.keys().legacy().queues()))
            .await
            .map(|n: i64| n > 0)
    }
}
