//! Checks of the work itself (issue 9 item 17): jobs waiting where no live worker takes them
//! (stranded queues, types no worker handles), how long the oldest has waited, and dead
//! letters piling up. `--max-age` and `--max-dead` turn the numbers into problems (exit 8),
//! so cron can alert on them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{job_fields, Finding, Level, Options};
use crate::duration::human;
use crate::error::Result;
use crate::store::{QueueStats, Store, WorkerInfo};

/// Waiting jobs whose type is looked at, oldest first (enough to name the types at issue).
const TYPE_SAMPLE: isize = 1000;

pub(super) async fn checks(
    store: &Store,
    queue: &str,
    workers: &[WorkerInfo],
    opts: &Options,
) -> Result<Vec<Finding>> {
    let stats = store.queue_stats(queue).await?;
    let overdue = overdue_scheduled(store, queue).await?;
    let waiting = stats.queued + overdue.0;
    let oldest_ms = stats.oldest_queued_age_ms.max(overdue.1);
    let serving: Vec<&WorkerInfo> = workers
        .iter()
        .filter(|w| w.queues.iter().any(|q| q == queue))
        .collect();
    let mut out = Vec::new();
    if waiting > 0 {
        out.push(age(queue, &stats, waiting, oldest_ms, opts));
        if serving.is_empty() {
            out.push(stranded(queue, &stats, waiting));
        }
    }
    if !serving.is_empty() {
        out.extend(unhandled_types(store, queue, &serving).await?);
    }
    if stats.dead > 0 {
        out.push(dead_letters(queue, &stats, opts));
    }
    Ok(out)
}

/// Scheduled jobs already due (no worker came to promote them): how many (up to a sample) and
/// how long the oldest has been due.
async fn overdue_scheduled(store: &Store, queue: &str) -> Result<(u64, Option<u64>)> {
    let set = store.keys().queue(queue).scheduled();
    let now = store.server_time_ms().await?;
    let due: u64 = store
        .query(redis::cmd("ZCOUNT").arg(&set).arg("-inf").arg(now))
        .await?;
    if due == 0 {
        return Ok((0, None));
    }
    let head: Vec<(String, f64)> = store
        .query(redis::cmd("ZRANGE").arg(&set).arg(0).arg(0).arg("WITHSCORES"))
        .await?;
    let since = head.first().map(|(_, s)| now.saturating_sub(*s as u64));
    Ok((due, since))
}

fn metrics(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn age(queue: &str, stats: &QueueStats, waiting: u64, oldest_ms: Option<u64>, opts: &Options) -> Finding {
    let oldest = Duration::from_millis(oldest_ms.unwrap_or(0));
    let paused = if stats.paused { " (queue paused)" } else { "" };
    let detail = format!(
        "{waiting} job(s) waiting, the oldest for {}{paused}",
        human(oldest)
    );
    let mut f = match opts.max_age {
        Some(max) if oldest > max && !stats.paused => Finding::new(
            Level::Problem,
            &format!("queue {queue}: backlog"),
            format!("{detail}: longer than --max-age {}", human(max)),
        )
        .advice(format!(
            "add workers for queue {queue} (more --concurrency), or see why its jobs are slow (jobq stats)"
        )),
        _ => Finding::new(Level::Ok, &format!("queue {queue}: backlog"), detail),
    };
    f.metrics = metrics(&[("waiting", waiting), ("oldest_age_ms", oldest.as_millis() as u64)]);
    f
}

fn stranded(queue: &str, stats: &QueueStats, waiting: u64) -> Finding {
    let check = format!("queue {queue}: workers");
    let mut f = if stats.paused {
        Finding::new(
            Level::Warning,
            &check,
            format!("{waiting} job(s) waiting, the queue is paused and no live worker serves it"),
        )
        .advice(format!(
            "jobq resume {queue}, and start a worker with --queues {queue}"
        ))
    } else {
        Finding::new(
            Level::Problem,
            &check,
            format!("stranded: {waiting} job(s) waiting and no live worker serves queue {queue}"),
        )
        .advice(format!("start a worker with --queues {queue}"))
    };
    f.metrics = metrics(&[("waiting", waiting), ("workers", 0)]);
    f
}

/// Waiting jobs of types that no live worker of the queue handles: they wait, attempts
/// untouched (worker/release.rs), until such a worker comes. Said here so that it is not silent.
/// Jobs that could run now count: queued ones, due scheduled ones and released ones waiting for
/// a handler; a job delayed to later does not (a worker for it may come in time).
async fn unhandled_types(store: &Store, queue: &str, serving: &[&WorkerInfo]) -> Result<Option<Finding>> {
    let qk = store.keys().queue(queue);
    let mut ids: Vec<String> = store
        .query(redis::cmd("LRANGE").arg(qk.queued()).arg(-TYPE_SAMPLE).arg(-1))
        .await?;
    // Numbered priorities wait in `ranked`, not in the list.
    let ranked: Vec<String> = store
        .query(redis::cmd("ZRANGE").arg(qk.ranked()).arg(0).arg(TYPE_SAMPLE - 1))
        .await?;
    ids.extend(ranked);
    let queued = ids.len();
    let now = store.server_time_ms().await?;
    let scheduled: Vec<(String, f64)> = store
        .query(
            redis::cmd("ZRANGE")
                .arg(qk.scheduled())
                .arg(0)
                .arg(TYPE_SAMPLE - 1)
                .arg("WITHSCORES"),
        )
        .await?;
    let due: Vec<bool> = scheduled.iter().map(|(_, at)| *at as u64 <= now).collect();
    ids.extend(scheduled.into_iter().map(|(id, _)| id));
    let fields = job_fields(store, queue, &ids, &["state", "type", "releases"]).await?;
    let mut unhandled: BTreeMap<String, u64> = BTreeMap::new();
    for (i, f) in fields.iter().enumerate() {
        let (Some(state), Some(job_type)) = (&f[0], &f[1]) else {
            continue;
        };
        let runnable = match state.as_str() {
            "queued" => i < queued,
            "scheduled" => i >= queued && (due[i - queued] || f[2].is_some()),
            _ => false,
        };
        if runnable && !serving.iter().any(|w| w.runs(queue, job_type)) {
            *unhandled.entry(job_type.clone()).or_default() += 1;
        }
    }
    if unhandled.is_empty() {
        return Ok(None);
    }
    let total: u64 = unhandled.values().sum();
    let list: Vec<String> = unhandled.iter().map(|(t, n)| format!("{t} ({n})")).collect();
    let first = unhandled.keys().next().cloned().unwrap_or_default();
    let mut f = Finding::new(
        Level::Problem,
        &format!("queue {queue}: job types"),
        format!(
            "{total} waiting job(s) of a type no live worker of the queue handles: {}; they wait without using attempts",
            list.join(", ")
        ),
    )
    .advice(format!(
        "start a worker with --queues {queue} --handler {first}=COMMAND (or --exec), or cancel those jobs"
    ));
    f.metrics = metrics(&[("waiting", total)]);
    Ok(Some(f))
}

fn dead_letters(queue: &str, stats: &QueueStats, opts: &Options) -> Finding {
    let day = |back: usize| {
        stats
            .days
            .len()
            .checked_sub(1 + back)
            .map_or(0, |i| stats.days[i].dead)
    };
    let (today, yesterday) = (day(0), day(1));
    let detail = format!(
        "{} dead job(s) kept; {today} died today, {yesterday} yesterday (UTC)",
        stats.dead
    );
    let check = format!("queue {queue}: dead letters");
    let advice =
        format!("see why with jobq dlq ls --queue {queue}; requeue with jobq dlq drain --queue {queue}");
    let mut f = match opts.max_dead {
        Some(max) if stats.dead > max => Finding::new(
            Level::Problem,
            &check,
            format!("{detail}: more than --max-dead {max}"),
        )
        .advice(advice),
        _ if today > 0 => Finding::new(Level::Warning, &check, format!("growing: {detail}")).advice(advice),
        _ => Finding::new(Level::Ok, &check, detail),
    };
    f.metrics = metrics(&[
        ("dead", stats.dead),
        ("dead_today", today),
        ("dead_yesterday", yesterday),
    ]);
    f
}
