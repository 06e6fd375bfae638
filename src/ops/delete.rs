//! Deleting jobs in bulk: `jobq purge`, `jobq dlq purge` and `POST /api/dlq/purge`.

use jobq::cli::StateFilter;
use jobq::error::Result;
use jobq::job::State;
use jobq::Store;

use super::bulk::{self, Ask, Caller, Done, Step};
use super::listing::{self, Filter};

fn filter_of(state: State) -> StateFilter {
    match state {
        State::Queued => StateFilter::Queued,
        State::Scheduled => StateFilter::Scheduled,
        State::Waiting => StateFilter::Waiting,
        State::Dead => StateFilter::Dead,
        State::Cancelled => StateFilter::Cancelled,
        State::Completed => StateFilter::Completed,
        State::Active => StateFilter::Active,
    }
}

/// How many jobs of `queue` in `state` (of `job_type`) there are.
async fn count(store: &Store, queue: &str, state: State, job_type: Option<&str>) -> Result<u64> {
    let filter = Filter::new(Some(filter_of(state)), job_type.map(str::to_string))?;
    listing::count(store, queue, &filter).await
}

/// Deletes the jobs of `states` in `queues` (of `job_type`, at most `limit`) after confirmation.
/// `ask` is the word for the jobs in the question, and the `--yes` flag.
pub async fn delete_bulk(
    store: &Store,
    queues: &[String],
    states: &[State],
    job_type: Option<&str>,
    limit: Option<u64>,
    ask: (&str, bool),
    caller: Caller<'_>,
) -> Result<Done> {
    let mut steps = Vec::new();
    for q in queues {
        for &st in states {
            let count = count(store, q, st, job_type).await?;
            steps.push(Step {
                queue: q.clone(),
                what: st,
                count,
            });
        }
    }
    let ask = Ask {
        verb: "Delete",
        done: "deleted",
        what: ask.0,
        yes: ask.1,
        limit,
    };
    bulk::execute(steps, ask, caller, |queue, state, start, n| async move {
        store.purge_batch(&queue, state, start, n, job_type).await
    })
    .await
}
