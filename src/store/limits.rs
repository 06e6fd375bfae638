//! Per-queue limits (`jobq limit`): stored under the queue's own tag, where fetch.lua enforces
//! them, and listed in `{ns}:limits`. The two live in different slots, so they are written in
//! an order that never hides a limit: the index entry before the limit, the limit's removal
//! before the index entry's. An index entry without a limit is skipped by readers.

use serde::{Deserialize, Serialize};

use super::scripts::SCRIPTS;
use super::Store;
use crate::error::{Error, Result};
use crate::schedule::limit::{Limit, LimitStatus, Rate};

/// The limit as fetch.lua reads it.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rate: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    per_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    concurrency: Option<u32>,
}

impl Store {
    /// Sets (replaces) the limits of `limit.queue`; waiting workers of the queue are woken.
    pub async fn set_limit(&self, limit: &Limit) -> Result<()> {
        limit.validate()?;
        let stored = Stored {
            rate: limit.rate.map(|r| r.jobs),
            per_ms: limit.rate.map(|r| r.per_ms),
            concurrency: limit.concurrency,
        };
        let json = serde_json::to_string(&stored).map_err(|e| Error::Io(e.to_string()))?;
        let _: i64 = self
            .query(redis::cmd("SADD").arg(self.keys().limits()).arg(&limit.queue))
            .await?;
        let _: i64 = self.write_limit(&limit.queue, json).await?;
        Ok(())
    }

    /// Removes the limits of `queue`; `false` if it had none.
    pub async fn remove_limit(&self, queue: &str) -> Result<bool> {
        crate::job::validate_name("queue", queue)?;
        let had: i64 = self.write_limit(queue, String::new()).await?;
        let listed: i64 = self
            .query(redis::cmd("SREM").arg(self.keys().limits()).arg(queue))
            .await?;
        Ok(had == 1 || listed == 1)
    }

    async fn write_limit(&self, queue: &str, json: String) -> Result<i64> {
        let qk = self.keys().queue(queue);
        self.eval(
            &SCRIPTS.limit_set,
            &[qk.limit(), qk.limit_state()],
            &[json, qk.signal()],
        )
        .await
    }

    /// Every queue's limit and what it does now, by queue name.
    pub async fn limits(&self) -> Result<Vec<LimitStatus>> {
        let mut queues: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(self.keys().limits()))
            .await?;
        queues.sort();
        let mut out = Vec::with_capacity(queues.len());
        for q in queues {
            if let Some(s) = self.limit_status(&q).await? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The limit of one queue and what it does now; `None` without one.
    pub async fn limit_status(&self, queue: &str) -> Result<Option<LimitStatus>> {
        let qk = self.keys().queue(queue);
        let keys = [qk.limit(), qk.limit_state(), qk.active(), qk.queued()];
        let (def, running, tokens, queued): (Option<String>, u64, i64, u64) =
            self.eval(&SCRIPTS.limit_status, &keys, &[]).await?;
        let Some(def) = def else { return Ok(None) };
        let stored: Stored = serde_json::from_str(&def)
            .map_err(|e| Error::Redis(format!("unreadable limit of queue {queue}: {e}")))?;
        let limit = Limit {
            queue: queue.to_string(),
            rate: stored
                .rate
                .zip(stored.per_ms)
                .map(|(jobs, per_ms)| Rate { jobs, per_ms }),
            concurrency: stored.concurrency,
        };
        let tokens = (tokens >= 0).then_some(tokens as u64);
        let full = limit.concurrency.is_some_and(|c| running >= c as u64);
        Ok(Some(LimitStatus {
            throttled: queued > 0 && (full || tokens == Some(0)),
            limit,
            running,
            tokens,
        }))
    }
}
