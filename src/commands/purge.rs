//! `jobq purge Q [--state ...]` and the deleting half of `jobq dlq purge`.

use jobq::cli::{GlobalArgs, PurgeArgs, PurgeState, StateFilter};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::job::State;
use jobq::Store;

use super::bulk::{self, Interrupt, Report, BATCH};
use super::ls::{self, Filter};
use crate::output;

pub async fn run(args: PurgeArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let states = match args.state {
        PurgeState::Queued => vec![State::Queued],
        PurgeState::Scheduled => vec![State::Scheduled],
        PurgeState::Dead => vec![State::Dead],
        PurgeState::Cancelled => vec![State::Cancelled],
        PurgeState::Completed => vec![State::Completed],
        PurgeState::All => vec![
            State::Queued,
            State::Scheduled,
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
        g,
    )
    .await
}

fn filter_of(state: State) -> StateFilter {
    match state {
        State::Queued => StateFilter::Queued,
        State::Scheduled => StateFilter::Scheduled,
        State::Dead => StateFilter::Dead,
        State::Cancelled => StateFilter::Cancelled,
        State::Completed => StateFilter::Completed,
        State::Active => StateFilter::Active,
    }
}

/// How many jobs of `queue` in `state` (of `job_type`) there are.
async fn count(store: &Store, queue: &str, state: State, job_type: Option<&str>) -> Result<u64> {
    if let Some(t) = job_type {
        let filter = Filter::new(Some(filter_of(state)), Some(t.to_string()))?;
        return ls::count(store, queue, &filter).await;
    }
    let s = store.queue_stats(queue).await?;
    Ok(match state {
        State::Queued => s.queued,
        State::Scheduled => s.scheduled,
        State::Dead => s.dead,
        State::Cancelled => s.cancelled,
        State::Completed => s.completed,
        State::Active => 0,
    })
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
    g: &GlobalArgs,
) -> Result<ExitStatus> {
    let mut plan = Vec::new();
    for q in queues {
        for &st in states {
            let n = count(store, q, st, job_type).await?;
            if n > 0 {
                plan.push((q.clone(), st, n));
            }
        }
    }
    let total = plan
        .iter()
        .map(|p| p.2)
        .sum::<u64>()
        .min(limit.unwrap_or(u64::MAX));
    let mut queue_names: Vec<&String> = plan.iter().map(|p| &p.0).collect();
    queue_names.dedup();
    if total == 0 {
        output::note(format!("nothing to delete: no {} jobs", ask.0));
        return bulk::finish(&Report::default(), g, "deleted");
    }
    let question = format!("Delete {}?", bulk::describe(total, ask.0, queue_names.len()));
    if !bulk::confirm(question, ask.1).await? {
        output::note("nothing deleted");
        return Ok(ExitStatus::Failure);
    }
    let stop = Interrupt::listen();
    let bar = bulk::bar(total, "deleting");
    let mut report = Report::default();
    for (q, st, _) in &plan {
        let mut start = 0;
        while report.total < total && !stop.is_set() {
            let n = BATCH.min(total - report.total);
            let b = store.purge_batch(q, *st, start, n, job_type).await?;
            report.total += b.done;
            *report.queues.entry(q.clone()).or_default() += b.done;
            bar.inc(b.done);
            start += b.passed;
            if b.scanned < n {
                break;
            }
        }
    }
    bar.finish_and_clear();
    report.interrupted = stop.is_set() && report.total < total;
    bulk::finish(&report, g, "deleted")
}
