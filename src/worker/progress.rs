//! Coalesced progress writes: a handler may report as often as it likes; the worker stores
//! the latest value at most once per `FLUSH_INTERVAL` per job, and always stores the last one.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::job::{LeasedJob, Progress};
use crate::progress::{ProgressReporter, FLUSH_INTERVAL};
use crate::store::Store;

pub struct Flusher {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Flusher {
    pub fn start(store: &Arc<Store>, job: &LeasedJob, reporter: &ProgressReporter) -> Flusher {
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(
            store.clone(),
            job.clone(),
            reporter.subscribe(),
            stop.clone(),
        ));
        Flusher { stop, task }
    }

    /// Writes the value not yet stored, if any, and ends.
    pub async fn finish(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn run(
    store: Arc<Store>,
    job: LeasedJob,
    mut rx: watch::Receiver<Option<Progress>>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { break },
            _ = stop.cancelled() => break,
        }
        let latest = rx.borrow_and_update().clone();
        if !write(&store, &job, latest).await {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(FLUSH_INTERVAL) => {}
            _ = stop.cancelled() => break,
        }
    }
    if rx.has_changed().unwrap_or(false) {
        let latest = rx.borrow_and_update().clone();
        write(&store, &job, latest).await;
    }
}

/// Stores one value; false once the lease is gone (later values would be refused too).
async fn write(store: &Store, job: &LeasedJob, progress: Option<Progress>) -> bool {
    let Some(p) = progress else { return true };
    match store.report_progress(&job.id, &job.lease, &p).await {
        Ok(held) => held,
        Err(e) => {
            crate::log::warn(
                crate::log::Ctx::job(job),
                format_args!("job {}: could not store progress: {e}", job.id),
            );
            true
        }
    }
}
