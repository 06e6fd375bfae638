//! Job dependencies (`enqueue --after`): linking a new job to its parents, and applying the
//! releases that ended parents left in their queue's outbox. The protocol, and why it is
//! exactly once across slots and crashes, is described in deps.lua.

use std::collections::HashSet;

use super::ops::CANCELLED_RETENTION;
use super::scripts::SCRIPTS;
use super::{NewJob, Store};
use crate::error::{Error, Result};
use crate::job;

/// Most parents one job may wait for.
pub const MAX_PARENTS: usize = 100;

/// Outbox entries read per HSCAN step while applying releases.
const OUTBOX_PAGE: usize = 200;

/// Checks the parent ids of `new` (the library's `NewJob::validate` part): well-formed, not
/// too many, no repeats.
pub(super) fn validate_parents(new: &NewJob) -> Result<()> {
    if new.after.len() > MAX_PARENTS {
        return Err(Error::invalid(format!(
            "--after names {} jobs; the limit is {MAX_PARENTS}",
            new.after.len()
        )));
    }
    let mut seen = HashSet::new();
    for id in &new.after {
        job::queue_of(id).map_err(|_| {
            Error::invalid(format!(
                "--after {id:?} is not a job id (ids look like `high-01JD8XQ4T3M6Z6Q7W8E9R0TYVP`)"
            ))
        })?;
        if !seen.insert(id) {
            return Err(Error::invalid(format!("--after names job {id} twice")));
        }
        if new.id.as_deref() == Some(id.as_str()) {
            return Err(Error::invalid(format!("job {id} cannot run after itself")));
        }
    }
    if new.after_any_outcome && new.after.is_empty() {
        return Err(Error::invalid("--after-any-outcome needs --after"));
    }
    Ok(())
}

impl Store {
    /// Every parent named by `jobs` must exist before anything is written (bad input changes
    /// nothing). One EXISTS per parent, on its own slot.
    pub(super) async fn check_parents(&self, jobs: &[NewJob]) -> Result<()> {
        for id in jobs.iter().flat_map(|j| &j.after) {
            let key = self.keys().queue(job::queue_of(id)?).job(id);
            let exists: i64 = self.query(redis::cmd("EXISTS").arg(&key)).await?;
            if exists == 0 {
                return Err(Error::invalid(format!(
                    "--after {id}: no such job in namespace `{}` (finished jobs expire after their retention)",
                    self.keys().namespace()
                )));
            }
        }
        Ok(())
    }

    /// Step 2 of deps.lua for the job `child` just written as waiting: each parent learns of
    /// it (register_child.lua, on the parent's slot); releases of parents that had already
    /// ended are applied now. The child is queued once the last parent completed.
    pub(super) async fn link_parents(&self, new: &NewJob, child: &str) -> Result<()> {
        let mut ended = Vec::new();
        for parent in &new.after {
            let pq = self.keys().queue(job::queue_of(parent)?);
            let keys = [pq.job(parent), pq.dependents(parent), pq.outbox()];
            let args = [parent.clone(), child.to_string()];
            let state: String = self.eval(&SCRIPTS.register_child, &keys, &args).await?;
            if matches!(state.as_str(), "completed" | "dead" | "cancelled" | "missing") {
                ended.push((parent.clone(), state));
            }
        }
        for (parent, outcome) in ended {
            let queue = job::queue_of(&parent)?.to_string();
            let cascade = self.apply_release(child, &parent, &outcome).await?;
            self.outbox_done(&queue, child, &parent).await?;
            if cascade {
                self.release_dependents(job::queue_of(child)?).await?;
            }
        }
        Ok(())
    }

    /// Applies every release waiting in `queue`'s outbox to its child (on the child's slot),
    /// deleting each entry only after it was applied, and follows cancellations down to the
    /// children's own children. Safe to run by several workers at once and after a crash
    /// (release_child.lua is idempotent). Returns the number of entries applied.
    pub async fn release_dependents(&self, queue: &str) -> Result<u64> {
        let mut todo = vec![queue.to_string()];
        let mut applied = 0;
        while let Some(queue) = todo.pop() {
            let outbox = self.keys().queue(&queue).outbox();
            let mut cursor = 0u64;
            loop {
                let (next, flat): (u64, Vec<String>) = self
                    .query(
                        redis::cmd("HSCAN")
                            .arg(&outbox)
                            .arg(cursor)
                            .arg("COUNT")
                            .arg(OUTBOX_PAGE),
                    )
                    .await?;
                for pair in flat.chunks(2) {
                    let (Some((child, parent)), Some(outcome)) = (pair[0].split_once(' '), pair.get(1))
                    else {
                        continue;
                    };
                    if self.apply_release(child, parent, outcome).await? {
                        todo.push(job::queue_of(child)?.to_string());
                    }
                    self.outbox_done(&queue, child, parent).await?;
                    applied += 1;
                }
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
        }
        Ok(applied)
    }

    /// Whether waiting job `child` will still hear how `parent` ended: the parent's dependents
    /// set names it (the parent has not ended), a release for it waits in the parent queue's
    /// outbox, or the child recorded the parent's outcome already. Read in the order a
    /// release moves through those places, so a release in flight is never missed. `false`:
    /// nothing will release the child from this parent (the parent's hash was deleted by
    /// hand, or its enqueuer died between writing the child and registering it);
    /// [`Store::relink_parent`] repairs it.
    pub async fn parent_link_alive(&self, child: &str, parent: &str) -> Result<bool> {
        let pq = self.keys().queue(job::queue_of(parent)?);
        let listed: bool = self
            .query(redis::cmd("SISMEMBER").arg(pq.dependents(parent)).arg(child))
            .await?;
        if listed {
            // Only a parent that still exists will end and move its dependents on.
            return self.query(redis::cmd("EXISTS").arg(pq.job(parent))).await;
        }
        let pending: bool = self
            .query(
                redis::cmd("HEXISTS")
                    .arg(pq.outbox())
                    .arg(format!("{child} {parent}")),
            )
            .await?;
        if pending {
            return Ok(true);
        }
        let cq = self.keys().queue(job::queue_of(child)?);
        self.query(
            redis::cmd("HEXISTS")
                .arg(cq.job(child))
                .arg(format!("dep:{parent}")),
        )
        .await
    }

    /// Registers `child` with `parent` again (step 2 of deps.lua, idempotent): a parent that
    /// has not ended lists it again; one that ended, or is gone, releases it now (a missing
    /// parent cancels it, unless it runs after any outcome).
    pub async fn relink_parent(&self, child: &str, parent: &str) -> Result<()> {
        let queue = job::queue_of(parent)?;
        let pq = self.keys().queue(queue);
        let keys = [pq.job(parent), pq.dependents(parent), pq.outbox()];
        let args = [parent.to_string(), child.to_string()];
        let state: String = self.eval(&SCRIPTS.register_child, &keys, &args).await?;
        if matches!(state.as_str(), "completed" | "dead" | "cancelled" | "missing") {
            self.release_dependents(queue).await?;
        }
        Ok(())
    }

    /// release_child.lua for one entry; true when the child ended and its own dependents
    /// went to its queue's outbox.
    async fn apply_release(&self, child: &str, parent: &str, outcome: &str) -> Result<bool> {
        let Ok(queue) = job::queue_of(child) else {
            return Ok(false); // not written by jobq: nothing to apply it to
        };
        let qk = self.keys().queue(queue);
        let keys = [
            qk.job(child),
            qk.waiting(),
            qk.queued(),
            qk.scheduled(),
            qk.cancelled(),
            qk.events(),
            qk.expiring(),
            qk.ranked(),
            qk.ranked_on(),
        ];
        let args = [
            child.to_string(),
            parent.to_string(),
            outcome.to_string(),
            qk.signal(),
            CANCELLED_RETENTION.as_millis().to_string(),
        ];
        let reply: Vec<String> = self.eval(&SCRIPTS.release_child, &keys, &args).await?;
        Ok(reply.get(1).is_some_and(|r| r == "release"))
    }

    async fn outbox_done(&self, queue: &str, child: &str, parent: &str) -> Result<()> {
        let outbox = self.keys().queue(queue).outbox();
        let _: i64 = self
            .query(redis::cmd("HDEL").arg(&outbox).arg(format!("{child} {parent}")))
            .await?;
        Ok(())
    }
}
