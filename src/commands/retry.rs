//! `jobq retry ID...` and `jobq retry --state dead|failed`. Attempts: see RETRY_EXAMPLES in cli.rs.

use jobq::cli::{GlobalArgs, RetryArgs, RetryState, StateFilter};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::records::Changed;

use crate::ops::bulk::Caller;
use crate::ops::jobs::retry_one;
use crate::ops::listing::Filter;
use crate::ops::requeue::requeue_bulk;

pub async fn run(args: RetryArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let Some(state) = args.state else {
        return retry_ids(&args.ids, g).await;
    };
    let state = match state {
        RetryState::Dead => StateFilter::Dead,
        RetryState::Failed => StateFilter::Failed,
    };
    let filter = Filter::new(Some(state), args.job_type)?;
    let store = super::connect(g).await?;
    let queues = crate::ops::target_queues(&store, args.queue.as_deref()).await?;
    requeue_bulk(&store, &queues, &filter, None, args.yes.yes, Caller::Cli(g))
        .await
        .map(|d| d.status)
}

async fn retry_ids(ids: &[String], g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    let human = |c: &Changed| format!("{} queued", c.id);
    super::each_id(ids, g, human, |id| {
        let store = &store;
        async move { retry_one(store, &id).await }
    })
    .await?;
    Ok(ExitStatus::Success)
}
