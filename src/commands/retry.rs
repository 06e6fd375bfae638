//! `jobq retry ID...` and `jobq retry --state dead|failed`. Attempts: see RETRY_EXAMPLES in cli.rs.

use jobq::cli::{GlobalArgs, RetryArgs, RetryState, StateFilter};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::Store;

use super::bulk::{self, Interrupt, Report, BATCH};
use super::ls::{self, Filter};
use crate::output;

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
    requeue_bulk(&store, &queues, &filter, None, args.yes.yes, g).await
}

async fn retry_ids(ids: &[String], g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    super::each_id(ids, |id| {
        let store = &store;
        async move {
            store.retry(&id).await?;
            if g.json {
                output::json(&serde_json::json!({ "id": id, "state": "queued" }))
            } else {
                output::line(format!("{id} queued"))
            }
        }
    })
    .await?;
    Ok(ExitStatus::Success)
}

/// Requeues the dead (or failed) jobs `filter` selects, at most `limit`, after confirmation.
pub async fn requeue_bulk(
    store: &Store,
    queues: &[String],
    filter: &Filter,
    limit: Option<u64>,
    yes: bool,
    g: &GlobalArgs,
) -> Result<ExitStatus> {
    let dead = filter.state == Some(StateFilter::Dead);
    let mut plan = Vec::new();
    for q in queues {
        let n = ls::count(store, q, filter).await?;
        if n > 0 {
            plan.push((q.clone(), n));
        }
    }
    let total = plan
        .iter()
        .map(|p| p.1)
        .sum::<u64>()
        .min(limit.unwrap_or(u64::MAX));
    if total == 0 {
        output::note(format!("nothing to requeue: no {}", filter.describe(None)));
        return bulk::finish(&Report::default(), g, "requeued");
    }
    let what = if dead { "dead" } else { "failed" };
    let question = format!("Requeue {}?", bulk::describe(total, what, plan.len()));
    if !bulk::confirm(question, yes).await? {
        output::note("nothing requeued");
        return Ok(ExitStatus::Failure);
    }
    let stop = Interrupt::listen();
    let bar = bulk::bar(total, "requeueing");
    let mut moved = Report::default();
    for (q, _) in &plan {
        let mut start = 0;
        while moved.total < total && !stop.is_set() {
            let left = total - moved.total;
            let job_type = filter.job_type.as_deref();
            let b = store.requeue_batch(q, dead, start, BATCH, job_type, left).await?;
            moved.total += b.done;
            *moved.queues.entry(q.clone()).or_default() += b.done;
            bar.inc(b.done);
            start += b.passed;
            if b.scanned < BATCH {
                break;
            }
        }
    }
    bar.finish_and_clear();
    moved.interrupted = stop.is_set() && moved.total < total;
    bulk::finish(&moved, g, "requeued")
}
