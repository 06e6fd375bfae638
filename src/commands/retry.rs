//! `jobq retry ID...` and `jobq retry --state dead|failed`. Attempts: see RETRY_EXAMPLES in cli.rs.

use jobq::cli::{GlobalArgs, RetryArgs, RetryState, StateFilter};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::records::Changed;
use jobq::Store;

use super::bulk::{self, Ask, Caller, Done, Step};
use super::ls::{self, Filter};

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
    let queues = super::target_queues(&store, args.queue.as_deref()).await?;
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

/// Requeues one job now (see [`Store::retry`]); `POST /api/jobs/{id}/retry` answers the same.
pub async fn retry_one(store: &Store, id: &str) -> Result<Changed> {
    store.retry(id).await?;
    Ok(Changed {
        id: id.to_string(),
        state: "queued".into(),
        changed: true,
    })
}

/// Requeues the dead (or failed) jobs `filter` selects, at most `limit`, after confirmation.
pub async fn requeue_bulk(
    store: &Store,
    queues: &[String],
    filter: &Filter,
    limit: Option<u64>,
    yes: bool,
    caller: Caller<'_>,
) -> Result<Done> {
    let dead = filter.state == Some(StateFilter::Dead);
    let mut steps = Vec::new();
    for q in queues {
        let count = ls::count(store, q, filter).await?;
        steps.push(Step {
            queue: q.clone(),
            what: (),
            count,
        });
    }
    let ask = Ask {
        verb: "Requeue",
        done: "requeued",
        what: if dead { "dead" } else { "failed" },
        yes,
        limit,
    };
    let job_type = filter.job_type.as_deref();
    bulk::execute(steps, ask, caller, |queue, (), start, n| async move {
        store.requeue_batch(&queue, dead, start, n, job_type, n).await
    })
    .await
}
