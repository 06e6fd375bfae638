//! Graceful shutdown: the signals that ask for it, and the drain of running jobs after the
//! fetch loop has stopped.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Running, StopReason, Worker};
use crate::log::{Ctx, Level};

/// Ctrl-C / SIGTERM as two tokens: the first request drains, the second forces.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    pub drain: CancellationToken,
    pub force: CancellationToken,
}

impl Shutdown {
    /// Listens for SIGINT, SIGTERM and SIGHUP: the first signal drains, the second forces.
    /// SIGHUP (the SSH session or terminal closed) is a request to stop like SIGTERM, not a
    /// crash: running jobs get the shutdown timeout, then go back to their queue uncharged.
    pub fn on_signals() -> std::io::Result<Shutdown> {
        use tokio::signal::unix::{signal, SignalKind};
        let shutdown = Shutdown::default();
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        let s = shutdown.clone();
        tokio::spawn(async move {
            for (token, what) in [
                (&s.drain, "stopping: no new jobs, running jobs may finish"),
                (&s.force, "stopping now: running jobs are stopped and requeued"),
            ] {
                let name = tokio::select! {
                    _ = int.recv() => "SIGINT",
                    _ = term.recv() => "SIGTERM",
                    _ = hup.recv() => "SIGHUP",
                };
                crate::log::info(Ctx::default(), format_args!("received {name}: {what}"));
                token.cancel();
            }
        });
        Ok(shutdown)
    }
}

/// After a forced shutdown, how long requeues may take before the worker leaves anyway.
const FORCED_EXIT_GRACE: Duration = Duration::from_secs(3);

impl Worker {
    /// After the fetch loop ends: give running jobs `shutdown_timeout` to finish, then stop
    /// and requeue the rest. A second signal skips the wait.
    pub(super) async fn drain(&self, shutdown: &Shutdown) {
        let deadline = tokio::time::Instant::now() + self.config.shutdown_timeout;
        let mut announced = false;
        loop {
            let notified = self.finished.notified();
            let count = self.running.lock().unwrap().len();
            if count == 0 {
                return;
            }
            if !announced {
                self.log(Level::Info, format_args!(
                    "shutting down: waiting up to {} for {count} running job(s); press Ctrl-C again to requeue them now",
                    crate::duration::human(self.config.shutdown_timeout)
                ));
                announced = true;
            }
            tokio::select! {
                _ = notified => continue,
                _ = tokio::time::sleep_until(deadline) => break,
                _ = shutdown.force.cancelled() => break,
            }
        }
        let forced = shutdown.force.is_cancelled();
        let running: Vec<Arc<Running>> = self.running.lock().unwrap().values().cloned().collect();
        for r in &running {
            r.stop(StopReason::Shutdown);
            if forced {
                r.control.kill.cancel();
            }
        }
        // Each job task requeues its job once its handler has stopped. With Redis unreachable
        // that requeue cannot land: a (further) Ctrl-C then leaves after a short grace, and the
        // jobs come back through lease recovery instead.
        while !self.running.lock().unwrap().is_empty() {
            let notified = self.finished.notified();
            if self.running.lock().unwrap().is_empty() {
                break;
            }
            tokio::select! {
                _ = notified => {}
                _ = shutdown.force.cancelled() => {
                    let wait_more = async {
                        while !self.running.lock().unwrap().is_empty() {
                            self.finished.notified().await;
                        }
                    };
                    if tokio::time::timeout(FORCED_EXIT_GRACE, wait_more).await.is_err() {
                        self.log(Level::Warn, "leaving without recording every requeue (Redis unreachable); lease recovery returns those jobs");
                    }
                    return;
                }
            }
        }
    }
}
