//! Self-fencing (issue 9 item 2): a worker that cannot renew a job's lease stops the job's
//! handler on its own before the lease can run out, without waiting to reach Redis again, so
//! the attempt that lease recovery starts elsewhere never overlaps the stale one.
//!
//! The lease deadline is set on the Redis clock when a renewal (or the fetch) runs there,
//! which is after the worker sent it. So the worker counts from the moment it *sent* the
//! last renewal that succeeded, on its own monotonic clock: the lease cannot end before
//! `sent + lease`. Counting from there, the handler gets SIGTERM at [`TERM_AT`] of a lease and
//! SIGKILL at [`KILL_AT`] (the kill grace is cut short to fit), which leaves a tenth of the
//! lease for the kill to land and for clocks that do not run quite at the same rate.
//! Renewals go out every third of a lease, so a healthy worker never comes near.

use std::time::Duration;

use tokio::time::Instant;

use super::{Running, StopReason};
use crate::log::Ctx;

/// Fraction (in tenths) of a lease after the last renewal's send at which SIGTERM goes out.
const TERM_AT: u32 = 7;
/// Fraction (in tenths) at which SIGKILL goes out; the rest of the lease is the safety margin.
const KILL_AT: u32 = 9;

/// Runs beside a job's handler; never returns. Stops the handler (SIGTERM, then SIGKILL) when
/// its lease would run out before the next renewal could land.
pub(super) async fn guard(running: &Running, lease: Duration) -> ! {
    let term_at = lease * TERM_AT / 10;
    loop {
        let renewed = *running.renewed.lock().unwrap();
        tokio::time::sleep_until(renewed + term_at).await;
        // A renewal that succeeded meanwhile moved the deadline: wait for the new one.
        if *running.renewed.lock().unwrap() == renewed {
            break;
        }
    }
    let renewed = *running.renewed.lock().unwrap();
    crate::log::warn(
        Ctx::job(&running.job),
        format_args!(
        "job {}: lease not renewed for {} (Redis unreachable, or this worker was paused); stopping its handler before the lease can run out (self-fencing)",
        running.job.id,
            crate::duration::human(renewed.elapsed())
        ),
    );
    running.stop(StopReason::Fenced);
    tokio::time::sleep_until(renewed + lease * KILL_AT / 10).await;
    running.control.kill.cancel();
    std::future::pending().await
}

/// Records a renewal that succeeded; `sent` is when it was sent.
pub(super) fn renewed(running: &Running, sent: Instant) {
    let mut r = running.renewed.lock().unwrap();
    *r = (*r).max(sent);
}
