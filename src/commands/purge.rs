//! `jobq purge Q [--state ...]` and the deleting half of `jobq dlq purge`.

use jobq::cli::{GlobalArgs, PurgeArgs, PurgeState, StateFilter};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::job::State;
use jobq::Store;

use super::bulk::{self, Ask, Caller, Done, Step};
use super::ls::{self, Filter};

pub async fn run(args: PurgeArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let states = match args.state {
        PurgeState::Queued => vec![State::Queued],
        PurgeState::Scheduled => vec![State::Scheduled],
        PurgeState::Waiting => vec![State::Waiting],
        PurgeState::Dead => vec![State::Dead],
        PurgeState::Cancelled => vec![State::Cancelled],
        PurgeState::Completed => vec![State::Completed],
        PurgeState::All => vec![
            State::Queued,
            State::Scheduled,
            State::Waiting,
            State::Dead,
            State::Cancelled,
            State::Completed,
        ],
    };
    let store = super::connect(g).await?;
    store.known_queue(&args.queue).await?;
    let what = format!("{:?}", args.state).to_lowercase();
    let what = if what == "all" {
        "non-running".to_string()
    } else {
        what
    };
    delete_bulk(
        &store,
        &[args.queue],
        &states,
        None,
        None,
        (&what, args.yes.yes),
        Caller::Cli(g),
    )
    .await
    .map(|d| d.status)
}

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
    ls::count(store, queue, &filter).await
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
