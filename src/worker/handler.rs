//! What a worker runs for each job: anything implementing [`Handler`] — an external program
//! ([`super::ExecHandler`]) or an async Rust closure (library workers).

use std::future::Future;
use std::pin::Pin;

pub use super::control::Control;
use crate::job::LeasedJob;

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

pub type BoxFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

pub trait Handler: Send + Sync + 'static {
    fn handle(&self, job: LeasedJob, control: Control) -> BoxFuture;

    /// The job types this handler runs, advertised in the worker's record; `*` means any.
    fn types(&self) -> Vec<String> {
        vec![ANY_TYPE.to_string()]
    }

    /// Whether it runs jobs of `job_type`. A worker puts a job it cannot run back without
    /// charging the attempt (README "Job types no worker handles").
    fn handles(&self, _job_type: &str) -> bool {
        true
    }

    /// Commands to run after outcomes are recorded (`on_success`, ...; see hooks.rs).
    fn hooks(&self) -> Option<&super::hooks::Hooks> {
        None
    }
}

/// In a worker's advertised types: it runs jobs of every type (`--exec`, library closures).
pub const ANY_TYPE: &str = "*";

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
