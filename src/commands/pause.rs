//! `jobq pause Q` / `jobq resume Q`: fetch.lua refuses to hand out jobs of a paused queue;
//! resume wakes the queue's idle workers through its signal channel.

use jobq::cli::{GlobalArgs, QueueArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;

use crate::ops::pause::{set_paused, Paused};
use crate::output;

pub async fn pause(args: QueueArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    report(g, set_paused(&store, &args.queue, true).await?)
}

pub async fn resume(args: QueueArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    report(g, set_paused(&store, &args.queue, false).await?)
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
