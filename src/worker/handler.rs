//! What a worker runs for each job: anything implementing [`Handler`] — an external program
//! ([`super::ExecHandler`]) or an async Rust closure (library workers).

use std::future::Future;
use std::pin::Pin;

use tokio_util::sync::CancellationToken;

use crate::job::LeasedJob;
use crate::progress::ProgressReporter;

/// How one attempt ended, from the handler's point of view.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Success; the result is JSON text (`null` for none).
    Completed(String),
    /// The attempt failed. `permanent` skips the remaining attempts (straight to the DLQ).
    Failed { error: String, permanent: bool },
}

impl Outcome {
    pub fn failed(error: impl Into<String>) -> Outcome {
        Outcome::Failed {
            error: error.into(),
            permanent: false,
        }
    }
}

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

pub type BoxFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

pub trait Handler: Send + Sync + 'static {
    fn handle(&self, job: LeasedJob, control: Control) -> BoxFuture;
}

/// Any `Fn(LeasedJob, Control) -> impl Future<Output = Outcome>` is a handler.
impl<F, Fut> Handler for F
where
    F: Fn(LeasedJob, Control) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    fn handle(&self, job: LeasedJob, control: Control) -> BoxFuture {
        Box::pin(self(job, control))
    }
}
