//! The worker's side of a running handler: stop and kill requests and the progress reporter.
//! Its own module because handlers, hooks and process helpers all use it.

use tokio_util::sync::CancellationToken;

use crate::progress::ProgressReporter;

/// Signals from the worker to a running handler.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Stop soon (timeout-like: SIGTERM, then SIGKILL after the grace period): the worker lost
    /// the lease, the job was cancelled, or the worker is shutting down.
    pub stop: CancellationToken,
    /// Stop now (SIGKILL): a second Ctrl-C.
    pub kill: CancellationToken,
    /// Report progress here (`control.progress.steps(40, 100, "writing chunk 40")`); the
    /// worker stores the latest value, coalesced (README "Progress and events").
    pub progress: ProgressReporter,
}
