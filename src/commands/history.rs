//! `jobq history`: reads the PostgreSQL archive (see `jobq::archive::history`).

use chrono::{DateTime, Utc};

use jobq::archive::history::{self, ArchivedJob, FieldMatch, Filter, TypeSummary};
use jobq::archive::Db;
use jobq::cli::{FinishedState, GlobalArgs, HistoryArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::validate_name;

use crate::output;

/// `--summary` without `--since` covers this long.
const SUMMARY_PERIOD: &str = "7d";
const MAX_LIMIT: u64 = 100_000;

pub async fn run(args: HistoryArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let filter = filter(&args, g)?;
    if args.limit == 0 || args.limit > MAX_LIMIT {
        return Err(Error::invalid(format!(
            "--limit must be between 1 and {MAX_LIMIT}, not {}",
            args.limit
        )));
    }
    let db = Db::connect(&args.from, "--from").await?;
    db.require_archive().await?;
    if args.summary {
        let rows = history::summary(&db, &filter).await?;
        if g.json {
            output::json(&rows)?;
        } else if rows.is_empty() {
            output::note("no archived jobs in that period");
        } else {
            output::line(summary_table(&rows))?;
        }
        return Ok(ExitStatus::Success);
    }
    let jobs = history::list(&db, &filter, args.limit as i64).await?;
    if g.json {
        output::json(&serde_json::json!({ "jobs": jobs }))?;
    } else if jobs.is_empty() {
        output::note("no archived jobs match");
    } else {
        output::line(jobs_table(&jobs))?;
        if jobs.len() as u64 == args.limit {
            output::note(format!(
                "showing the newest {}; narrow the filters or raise --limit for more",
                args.limit
            ));
        }
    }
    Ok(ExitStatus::Success)
}

fn filter(args: &HistoryArgs, g: &GlobalArgs) -> Result<Filter> {
    if let Some(t) = &args.job_type {
        validate_name("type", t)?;
    }
    if let Some(q) = &args.queue {
        validate_name("queue", q)?;
    }
    let default_since = args.summary.then_some(SUMMARY_PERIOD);
    let since = args.since.as_deref().or(default_since);
    Ok(Filter {
        namespace: g.namespace.clone(),
        job_type: args.job_type.clone(),
        queue: args.queue.clone(),
        state: args.state.map(|s| {
            match s {
                FinishedState::Completed => "completed",
                FinishedState::Dead => "dead",
                FinishedState::Cancelled => "cancelled",
            }
            .to_string()
        }),
        since: since.map(|s| when("--since", s)).transpose()?,
        until: args.until.as_deref().map(|s| when("--until", s)).transpose()?,
        fields: args
            .wheres
            .iter()
            .map(|w| w.parse::<FieldMatch>())
            .collect::<Result<_>>()?,
    })
}

/// `7d` (that long ago) or an RFC 3339 time.
fn when(flag: &str, text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = jobq::cli::parse_time(text) {
        return Ok(t);
    }
    let ago = jobq::duration::parse(text).map_err(|e| {
        Error::invalid(format!(
            "{flag} {text:?}: {e}; or give an RFC 3339 time like 2026-11-23T09:00:00Z"
        ))
    })?;
    let ago = chrono::Duration::from_std(ago).map_err(|e| Error::invalid(format!("{flag}: {e}")))?;
    Ok(Utc::now() - ago)
}

fn jobs_table(jobs: &[ArchivedJob]) -> String {
    let mut table = output::table(&[
        "FINISHED",
        "ID",
        "TYPE",
        "QUEUE",
        "STATE",
        "ATTEMPT",
        "DURATION",
        "RESULT / ERROR",
    ]);
    for job in jobs {
        let detail = match (&job.state[..], &job.result) {
            ("completed", Some(r)) => r.to_string(),
            _ => job.error.clone().unwrap_or_default(),
        };
        let mut row = comfy_table::Row::from(vec![
            job.finished_at
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            job.id.clone(),
            job.job_type.clone(),
            job.queue.clone(),
            job.state.clone(),
            format!("{}/{}", job.attempt, job.max_attempts),
            output::span_ms(job.duration_ms.map(|d| d.max(0) as u64)),
            output::clip(&detail, 200),
        ]);
        row.max_height(1);
        table.add_row(row);
    }
    output::fit_last_column(&mut table);
    table.to_string()
}

fn summary_table(rows: &[TypeSummary]) -> String {
    let mut table = output::table(&[
        "TYPE",
        "TOTAL",
        "COMPLETED",
        "DEAD",
        "CANCELLED",
        "FAILURE RATE",
        "P50",
        "P95",
        "P99",
    ]);
    let ms = |v: Option<f64>| output::span_ms(v.map(|x| x.max(0.0).round() as u64));
    for r in rows {
        table.add_row(vec![
            r.job_type.clone(),
            output::thousands(r.total as u64),
            output::thousands(r.completed as u64),
            output::thousands(r.dead as u64),
            output::thousands(r.cancelled as u64),
            r.failure_rate
                .map_or("-".into(), |f| format!("{:.1}%", f * 100.0)),
            ms(r.p50_ms),
            ms(r.p95_ms),
            ms(r.p99_ms),
        ]);
    }
    table.to_string()
}
