//! Requeueing dead or failed jobs in bulk: `jobq retry --state`, `jobq dlq drain` and
//! `POST /api/dlq/drain`.

use jobq::cli::StateFilter;
use jobq::error::Result;
use jobq::Store;

use super::bulk::{self, Ask, Caller, Done, Step};
use super::listing::{self, Filter};

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
        let count = listing::count(store, q, filter).await?;
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
