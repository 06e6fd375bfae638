//! What the CLI commands and the HTTP API (`jobq serve`) both do, below both: each command
//! (`src/commands/`) and each API handler (`src/serve/`) is an adapter that reads its input,
//! calls a function here and prints or answers its result, so both give the same answer.

pub mod bulk;
pub mod delete;
pub mod events;
pub mod job_line;
pub mod jobs;
pub mod listing;
pub mod new_job;
pub mod pause;
pub mod requeue;
pub mod schedule;
pub mod stats;

use jobq::error::Result;
use jobq::Store;

/// The queues a command works on: the one named (which must exist), or all of them.
pub async fn target_queues(store: &Store, queue: Option<&str>) -> Result<Vec<String>> {
    match queue {
        Some(q) => {
            store.known_queue(q).await?;
            Ok(vec![q.to_string()])
        }
        None => store.queue_names().await,
    }
}
