use std::collections::HashSet;
use std::time::Duration;

use jobq::cli::{GlobalArgs, WaitArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::job::{queue_of, State};
use jobq::Store;

use super::follow::{describe, Tracker};
use crate::output;

pub async fn run(args: WaitArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    for id in &args.ids {
        queue_of(id)?;
    }
    let store = super::connect(g).await?;
    wait_for(&store, &args.ids, args.timeout, g.json).await
}

/// Blocks until every job in `ids` is completed, dead or cancelled (or `timeout` passes).
/// Prints one line per job as it ends (`--json`: the final jobs at the end).
pub async fn wait_for(
    store: &Store,
    ids: &[String],
    timeout: Option<Duration>,
    json: bool,
) -> Result<ExitStatus> {
    let mut tracker = Tracker::open(store, ids).await?;
    let mut open: HashSet<String> = ids.iter().cloned().collect();
    let mut status = ExitStatus::Success;
    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    while !open.is_empty() {
        let ev = tokio::select! {
            ev = tracker.next() => ev?,
            _ = &mut deadline => { status = status.worst(ExitStatus::TimedOut); break },
            _ = tokio::signal::ctrl_c() => return Ok(ExitStatus::Interrupted),
        };
        if ev.state.is_final() && open.remove(&ev.id) {
            tracker.forget(&ev.id);
            status = status.worst(final_status(ev.state));
            if !json {
                output::line(format!("{} {}", ev.id, describe(&ev)))?;
            }
        }
    }
    if json {
        let mut jobs = Vec::new();
        for id in ids {
            jobs.push(store.job(id).await?);
        }
        output::json(&jobs)?;
    } else {
        for id in ids.iter().filter(|id| open.contains(*id)) {
            output::line(format!("{id} has not ended (timed out waiting)"))?;
        }
    }
    Ok(status)
}

pub fn final_status(state: State) -> ExitStatus {
    match state {
        State::Dead => ExitStatus::Dead,
        State::Cancelled => ExitStatus::Cancelled,
        _ => ExitStatus::Success,
    }
}
