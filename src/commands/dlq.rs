//! `jobq dlq ls|drain|purge`: the dead-letter queue (the `dead` state of every queue).

use jobq::cli::{DlqCommand, DlqDrainArgs, GlobalArgs, StateFilter};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::State;

use crate::ops::bulk::Caller;
use crate::ops::delete::delete_bulk;
use crate::ops::listing::Filter;
use crate::ops::requeue::requeue_bulk;
use crate::ops::target_queues;

pub async fn run(cmd: DlqCommand, g: &GlobalArgs) -> Result<ExitStatus> {
    match cmd {
        DlqCommand::Ls(a) => {
            let filter = Filter::new(Some(StateFilter::Dead), a.select.job_type)?;
            super::ls::show(a.select.queue, filter, a.page, g).await
        }
        DlqCommand::Drain(a) => drain(a, g).await,
        DlqCommand::Purge(a) => purge(a, g).await,
    }
}

fn check_limit(limit: Option<u64>) -> Result<()> {
    if limit == Some(0) {
        return Err(Error::invalid("--limit must be at least 1"));
    }
    Ok(())
}

async fn drain(a: DlqDrainArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    check_limit(a.limit)?;
    let filter = Filter::new(Some(StateFilter::Dead), a.select.job_type)?;
    let store = super::connect(g).await?;
    let queues = target_queues(&store, a.select.queue.as_deref()).await?;
    requeue_bulk(&store, &queues, &filter, a.limit, a.yes.yes, Caller::Cli(g))
        .await
        .map(|d| d.status)
}

async fn purge(a: DlqDrainArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    check_limit(a.limit)?;
    let filter = Filter::new(Some(StateFilter::Dead), a.select.job_type)?;
    let store = super::connect(g).await?;
    let queues = target_queues(&store, a.select.queue.as_deref()).await?;
    let job_type = filter.job_type.as_deref();
    let ask = ("dead", a.yes.yes);
    delete_bulk(
        &store,
        &queues,
        &[State::Dead],
        job_type,
        a.limit,
        ask,
        Caller::Cli(g),
    )
    .await
    .map(|d| d.status)
}
