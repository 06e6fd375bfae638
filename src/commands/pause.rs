//! `jobq pause Q` / `jobq resume Q`: fetch.lua refuses to hand out jobs of a paused queue;
//! resume wakes the queue's idle workers through its signal channel.

use jobq::cli::{GlobalArgs, QueueArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::Store;
use serde::Serialize;

use crate::output;

/// What `jobq pause|resume --json` prints and `POST /api/queues/{queue}/pause|resume` answers.
#[derive(Serialize)]
pub struct Paused {
    pub queue: String,
    pub paused: bool,
    /// False when the queue already was in that state.
    pub changed: bool,
}

pub async fn pause(args: QueueArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    report(g, set_paused(&store, &args.queue, true).await?)
}

pub async fn resume(args: QueueArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    report(g, set_paused(&store, &args.queue, false).await?)
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

fn report(g: &GlobalArgs, p: Paused) -> Result<ExitStatus> {
    if g.json {
        output::json(&p)?;
    } else {
        let what = if p.paused { "paused" } else { "running" };
        let already = if p.changed { "" } else { "already " };
        output::line(format!("queue {} is {already}{what}", p.queue))?;
    }
    Ok(ExitStatus::Success)
}
