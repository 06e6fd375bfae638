//! The worker-side scheduler: every worker process runs one, so schedules tick as long as any
//! worker runs (no extra daemon). Exactly one job per tick, however many workers:
//!
//! 1. `take_due_schedules` atomically *holds* each due schedule for one worker (others skip
//!    it until the hold runs out, which is what repairs a worker killed mid-tick);
//! 2. the holder enqueues the tick's job under an id derived from (schedule, tick time):
//!    enqueue is idempotent per id, so a repeated tick finds the job instead of adding one;
//! 3. `commit_tick` advances the schedule only if it still stands at that tick.
//!
//! Missed ticks (every worker down): the first worker back enqueues the first missed tick
//! once, and the schedule continues with the first tick after *now*: one catch-up job per
//! outage, never a burst.
//!
//! Cost: one command per wake-up; a worker sleeps until the earliest tick (or a hold's end),
//! at most [`IDLE_LEASES`] leases, so an idle worker in a namespace without schedules sends
//! one command per minute (default lease), and a new schedule is noticed within that time.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::log::{self, Ctx};
use crate::store::{EnqueueOutcome, Schedule, Store};

/// Schedules taken per command; more due than this are taken on the next round at once.
const TAKE: usize = 16;
/// Shortest sleep between rounds (a tick due "now" on a slightly slower clock).
const MIN_WAIT: Duration = Duration::from_millis(20);

/// Longest sleep, in worker leases: bounds how late a newly added schedule is noticed (its
/// first tick, if already due, is then enqueued once), and keeps idle workers near one
/// command per minute (issue 10 wants an idle worker at no more than one per second in all).
pub const IDLE_LEASES: u32 = 4;

/// Runs until `stop`; errors are logged and retried after the idle time.
pub async fn run(store: Arc<Store>, lease: Duration, stop: CancellationToken) {
    let idle = lease * IDLE_LEASES;
    loop {
        let wait = match round(&store, idle).await {
            Ok(wait) => wait,
            Err(e) => {
                log::warn(
                    Ctx::default(),
                    format_args!("scheduler: {e}; trying again in {}", crate::duration::human(idle)),
                );
                idle
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// Takes what is due, enqueues each tick, and says how long to sleep.
async fn round(store: &Store, idle: Duration) -> Result<Duration> {
    let taken = store.take_due_schedules(TAKE).await?;
    let mut earliest = taken.earliest_ms;
    for s in &taken.due {
        if let Some(e) = tick(store, s, taken.now_ms).await? {
            earliest = Some(e);
        }
    }
    if taken.due.len() == TAKE {
        return Ok(Duration::ZERO);
    }
    Ok(match earliest {
        Some(at) => Duration::from_millis((at - taken.now_ms).max(0) as u64).clamp(MIN_WAIT, idle),
        None => idle,
    })
}

/// One tick of one schedule; returns the earliest score left after it was committed.
async fn tick(store: &Store, s: &Schedule, now_ms: i64) -> Result<Option<i64>> {
    let Some(tick_ms) = s.state.next_ms else {
        return Ok(None);
    };
    let name = &s.def.name;
    // The first tick after now: ticks missed during an outage collapse into this one job.
    let next = s.def.next_after(now_ms.max(tick_ms));
    let job = s.def.job(Some(tick_ms));
    let (id, error) = match store.enqueue(&job).await {
        Ok(EnqueueOutcome::Created { id, .. }) | Ok(EnqueueOutcome::Duplicate { id }) => (Some(id), None),
        // Only non-transient errors get here (the worker's store retries the rest): a payload
        // that no longer matches its type's schema, a removed queue name... The tick is
        // skipped and the reason kept for `schedule ls`, rather than failing forever.
        Err(e) => {
            let ctx = Ctx {
                job_type: Some(&s.def.job_type),
                ..Ctx::default()
            };
            log::warn(
                ctx,
                format_args!("schedule {name}: tick skipped, its job was refused: {e}"),
            );
            (None, Some(e.to_string()))
        }
    };
    let (advanced, earliest) = store
        .commit_tick(name, tick_ms, next, id.as_deref(), error.as_deref())
        .await?;
    if advanced {
        if let Some(id) = &id {
            // One line per tick, like the per-job lines: at debug level.
            let ctx = Ctx {
                job_id: Some(id),
                queue: crate::job::queue_of(id).ok(),
                job_type: Some(&s.def.job_type),
                worker: None,
            };
            log::debug(ctx, format_args!("schedule {name}: enqueued its tick's job"));
        }
    }
    Ok(earliest)
}
