//! Checks of job dependencies (`enqueue --after`, store/deps.lua): waiting jobs that nothing
//! will ever release, and releases left in a queue's outbox that no worker applies.

use super::{Finding, Level};
use crate::error::Result;
use crate::store::Store;

/// Waiting jobs looked at per queue, oldest first.
const WAITING_SAMPLE: usize = 1000;
/// A job younger than this may still be being linked to its parents by its enqueuer.
const LINK_GRACE_MS: u64 = 5_000;

pub(super) async fn checks(store: &Store, queue: &str, served: bool, fix: bool) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    if let Some(f) = unreleased(store, queue, served, fix).await? {
        out.push(f);
    }
    if let Some(f) = stuck_waiting(store, queue, fix).await? {
        out.push(f);
    }
    Ok(out)
}

/// Releases of ended jobs not yet applied to the jobs waiting for them. The worker that ended
/// the job applies them at once; entries a crash left are applied after the queue's next
/// recovery pass, which needs a live worker of the queue.
async fn unreleased(store: &Store, queue: &str, served: bool, fix: bool) -> Result<Option<Finding>> {
    let outbox = store.keys().queue(queue).outbox();
    let n: u64 = store.query(redis::cmd("HLEN").arg(&outbox)).await?;
    if n == 0 {
        return Ok(None);
    }
    let mut f = Finding::new(
        if served { Level::Warning } else { Level::Problem },
        &format!("queue {queue}: releases"),
        format!(
            "{n} release(s) of ended jobs not yet applied to the jobs waiting for them{}",
            if served {
                "; a live worker of the queue will apply them"
            } else {
                " and no live worker serves this queue"
            }
        ),
    )
    .advice(format!(
        "start a worker with --queues {queue}, or jobq doctor --fix to apply them now"
    ));
    f.metrics.insert("releases".into(), n);
    if fix {
        store.release_dependents(queue).await?;
        f.fixed = true;
    }
    Ok(Some(f))
}

/// Waiting jobs with a parent that will never release them (store `parent_link_alive`).
async fn stuck_waiting(store: &Store, queue: &str, fix: bool) -> Result<Option<Finding>> {
    let qk = store.keys().queue(queue);
    let now = store.server_time_ms().await?;
    let ids: Vec<String> = store
        .query(
            redis::cmd("ZRANGEBYSCORE")
                .arg(qk.waiting())
                .arg("-inf")
                .arg(now.saturating_sub(LINK_GRACE_MS))
                .arg("LIMIT")
                .arg(0)
                .arg(WAITING_SAMPLE),
        )
        .await?;
    let fields = super::job_fields(store, queue, &ids, &["state", "after"]).await?;
    let mut stuck = Vec::new();
    for (id, f) in ids.iter().zip(&fields) {
        let (Some("waiting"), Some(after)) = (f[0].as_deref(), f[1].as_deref()) else {
            continue; // not waiting any more, or gone: the waiting set check reports it
        };
        for parent in after.split(',').filter(|p| !p.is_empty()) {
            if !store.parent_link_alive(id, parent).await? {
                stuck.push((id.clone(), parent.to_string()));
            }
        }
    }
    let Some((child, parent)) = stuck.first() else {
        return Ok(None);
    };
    let mut f = Finding::new(
        Level::Problem,
        &format!("queue {queue}: dependencies"),
        format!(
            "{} waiting job(s) wait for a parent that will never release them (e.g. {child} for {parent}: deleted, or its enqueuer died while linking)",
            stuck.len()
        ),
    )
    .advice("jobq doctor --fix links them again: an ended parent releases them, a missing one cancels them");
    f.metrics.insert("stuck".into(), stuck.len() as u64);
    if fix {
        for (child, parent) in &stuck {
            store.relink_parent(child, parent).await?;
        }
        f.fixed = true;
    }
    Ok(Some(f))
}
