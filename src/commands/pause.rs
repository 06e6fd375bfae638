//! `jobq pause Q` / `jobq resume Q`: fetch.lua refuses to hand out jobs of a paused queue;
//! resume wakes an idle worker through the queue's notify list.

use jobq::cli::{GlobalArgs, QueueArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;

use crate::output;

pub async fn pause(args: QueueArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    store.known_queue(&args.queue).await?;
    let changed = store.pause(&args.queue).await?;
    report(g, &args.queue, true, changed)
}

pub async fn resume(args: QueueArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    store.known_queue(&args.queue).await?;
    let changed = store.resume(&args.queue).await?;
    report(g, &args.queue, false, changed)
}

fn report(g: &GlobalArgs, queue: &str, paused: bool, changed: bool) -> Result<ExitStatus> {
    if g.json {
        output::json(&serde_json::json!({ "queue": queue, "paused": paused, "changed": changed }))?;
    } else {
        let what = if paused { "paused" } else { "running" };
        let already = if changed { "" } else { "already " };
        output::line(format!("queue {queue} is {already}{what}"))?;
    }
    Ok(ExitStatus::Success)
}
