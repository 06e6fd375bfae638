//! Pausing and resuming a queue: `jobq pause|resume` and `POST /api/queues/{queue}/pause|resume`.

use jobq::error::Result;
use jobq::Store;
use serde::Serialize;

/// What `jobq pause|resume --json` prints and `POST /api/queues/{queue}/pause|resume` answers.
#[derive(Serialize)]
pub struct Paused {
    pub queue: String,
    pub paused: bool,
    /// False when the queue already was in that state.
    pub changed: bool,
}

/// Pauses or resumes a queue this namespace knows.
pub async fn set_paused(store: &Store, queue: &str, paused: bool) -> Result<Paused> {
    store.known_queue(queue).await?;
    let changed = if paused {
        store.pause(queue).await?
    } else {
        store.resume(queue).await?
    };
    Ok(Paused {
        queue: queue.to_string(),
        paused,
        changed,
    })
}
