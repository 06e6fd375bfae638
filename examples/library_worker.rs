//! A Rust service running a jobq worker with an in-process async handler, and enqueueing
//! through the same library (no `jobq` process, no handler program).
//!
//!     cargo run --example library_worker -- redis://127.0.0.1:6379
//!
//! It enqueues a few `greet` jobs, runs them on a worker with four slots, and stops on Ctrl-C
//! (first: let running jobs finish; second: requeue them).

use std::sync::Arc;

use jobq::worker::{Control, Outcome, Shutdown, Worker, WorkerConfig};
use jobq::{LeasedJob, NewJob, RetryPolicy, Store};
use serde_json::{json, Value};

/// The handler: any async fn (or closure) from a leased job to an outcome.
async fn greet(job: LeasedJob, control: Control) -> Outcome {
    let payload: Value = match serde_json::from_str(&job.payload) {
        Ok(v) => v,
        // A payload this handler can never understand: no point in retrying.
        Err(e) => {
            return Outcome::Failed {
                error: format!("bad payload: {e}"),
                permanent: true,
            }
        }
    };
    // Long work should watch `control.stop` (timeout, cancel, lease lost, shutdown).
    if control.stop.is_cancelled() {
        return Outcome::failed("stopped before it began");
    }
    let name = payload["name"].as_str().unwrap_or("world");
    Outcome::Completed(json!({ "greeting": format!("hello, {name}") }).to_string())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    // WORKER retries Redis outages for ever; RetryPolicy::CLI gives up after a few seconds.
    let store = Arc::new(Store::connect(&url, "jobq", RetryPolicy::WORKER).await?);

    let jobs: Vec<NewJob> = ["ada", "grace", "edsger"]
        .iter()
        .map(|name| NewJob::new("greet", "normal", &json!({ "name": name })))
        .collect();
    for outcome in store.enqueue_many(&jobs).await? {
        eprintln!("enqueued {}", outcome.id());
    }

    let config = WorkerConfig {
        queues: vec!["normal".into()],
        concurrency: 4,
        ..WorkerConfig::default()
    };
    let worker = Worker::new(store, config, Arc::new(greet));
    worker.run(Shutdown::on_signals()?).await?;
    Ok(())
}
