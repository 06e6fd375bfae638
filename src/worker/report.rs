//! Recording a job's outcome once its handler has ended: completed, failed (retry or dead),
//! or, when the worker stopped the handler, requeued (shutdown) or cancelled; a lost lease
//! records nothing. Then the job's hooks fire.

use super::handler::Outcome;
use super::{hooks, StopReason, Worker};
use crate::error::Result;
use crate::job::LeasedJob;
use crate::log::Level;
use crate::store::FailOutcome;

impl Worker {
    pub(super) async fn report(
        &self,
        job: &LeasedJob,
        outcome: Outcome,
        reason: Option<StopReason>,
    ) -> Result<()> {
        match reason {
            Some(StopReason::LeaseLost) => {
                self.log_job(
                    Level::Warn,
                    job,
                    format_args!(
                        "job {}: lease lost to another worker; its outcome is discarded",
                        job.id
                    ),
                );
            }
            // A handler that completed anyway is recorded below if the lease is still ours.
            Some(StopReason::Fenced) if !matches!(outcome, Outcome::Completed(_)) => {
                // As for a crashed worker (the run may have done part of its work): lease
                // recovery returns the job once the lease has run out, and counts the attempt.
                self.log_job(
                    Level::Warn,
                    job,
                    format_args!(
                        "job {}: lease lost to self-fencing (it could not be renewed in time); lease recovery returns the job",
                        job.id
                    ),
                );
            }
            Some(StopReason::Shutdown) => {
                if self.store.requeue(job).await? {
                    self.log_job(
                        Level::Info,
                        job,
                        format_args!("job {}: requeued (worker shutting down)", job.id),
                    );
                }
            }
            Some(StopReason::Cancelled) => {
                // Whatever the handler returned, the operator's cancel wins: the job is not retried.
                if self.store.cancel_active(job, self.config.retention).await? {
                    self.log_job(
                        Level::Info,
                        job,
                        format_args!(
                            "job {} ({}) cancelled by an operator; handler stopped",
                            job.id, job.job_type
                        ),
                    );
                }
            }
            None | Some(StopReason::Fenced) => match outcome {
                Outcome::Completed(result) => {
                    let recorded = self.store.complete(job, &result, self.config.retention).await?;
                    self.completed(job, recorded).await;
                }
                Outcome::Failed { error, permanent } => {
                    let backoff = self.config.backoff.delay(job.attempt);
                    let hooked = self
                        .handler
                        .hooks()
                        .is_some_and(|h| h.follows_failures(&job.job_type));
                    let failed = self.store.fail(job, &error, backoff, permanent, hooked).await?;
                    let event = hooks::HookEvent::after_fail(&failed.outcome);
                    self.fire_hooks(job, event, failed.recorded).await;
                    match failed.outcome {
                        FailOutcome::Retry { due } => self.log_job(
                            Level::Warn,
                            job,
                            format_args!(
                                "job {} ({}) failed attempt {}/{}: {}; retry at {}",
                                job.id,
                                job.job_type,
                                job.attempt,
                                job.max_attempts,
                                crate::summary::error_summary(&error),
                                due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                            ),
                        ),
                        FailOutcome::Dead => self.log_job(
                            Level::Error,
                            job,
                            format_args!(
                                "job {} ({}) is dead after attempt {}/{}: {}",
                                job.id,
                                job.job_type,
                                job.attempt,
                                job.max_attempts,
                                crate::summary::error_summary(&error)
                            ),
                        ),
                        FailOutcome::Lost => self.log_job(
                            Level::Warn,
                            job,
                            format_args!("job {}: lease lost before failure was recorded", job.id),
                        ),
                    }
                }
            },
        }
        Ok(())
    }

    /// Says how a completion went (`recorded`: the lease still held the job) and fires the
    /// job's `on_success` hook.
    pub(super) async fn completed(&self, job: &LeasedJob, recorded: bool) {
        if !recorded {
            self.log_job(
                Level::Warn,
                job,
                format_args!("job {}: lease lost before completion; result discarded", job.id),
            );
            return;
        }
        self.fire_hooks(job, Some(hooks::HookEvent::Success), None).await;
        // Per-job lines cost more than a fast job at high rates (issue 9 item 16).
        let level = if self.config.log_completed {
            Level::Info
        } else {
            Level::Debug
        };
        self.log_job(
            level,
            job,
            format_args!("job {} ({}) completed", job.id, job.job_type),
        );
    }

    /// Starts the handler's hook for a recorded outcome (detached: the slot is not held).
    async fn fire_hooks(
        &self,
        job: &LeasedJob,
        event: Option<hooks::HookEvent>,
        recorded: Option<crate::job::Job>,
    ) {
        if let (Some(hooks), Some(event)) = (self.handler.hooks(), event) {
            hooks.fire(&self.store, job, event, recorded).await;
        }
    }
}
