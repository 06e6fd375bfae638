//! `jobq ls`: one page of jobs (the paging itself is in [`crate::ops::listing`]).

use chrono::Utc;

use jobq::cli::{GlobalArgs, LsArgs, PageArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::job::{Job, State};
use jobq::summary::error_summary;

use crate::ops::listing::{check_page, page_of, Filter};
use crate::output;

pub async fn run(args: LsArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let filter = Filter::new(args.state, args.select.job_type)?;
    show(args.select.queue, filter, args.page, g).await
}

/// Lists one page and prints it; shared with `jobq dlq ls`.
pub async fn show(
    queue: Option<String>,
    filter: Filter,
    page: PageArgs,
    g: &GlobalArgs,
) -> Result<ExitStatus> {
    let limit = if page.all { u64::MAX } else { page.limit };
    let cursor = page.cursor.clone();
    // Checked before connecting: a bad cursor must not wait on Redis.
    check_page(limit, cursor.as_deref())?;
    let store = super::connect(g).await?;
    let listing = page_of(&store, queue.as_deref(), &filter, limit, cursor.as_deref()).await?;
    if g.json {
        output::json(&listing)?;
    } else if listing.jobs.is_empty() {
        output::note(format!("no {}", filter.describe(queue.as_deref())));
    } else if page.ids {
        for job in &listing.jobs {
            output::line(&job.id)?;
        }
    } else {
        output::line(render(&listing.jobs, !page.no_headers))?;
    }
    if let (Some(c), false) = (&listing.next_cursor, g.json) {
        output::note(format!("more jobs match: next page with --cursor {c}"));
    }
    Ok(ExitStatus::Success)
}

fn render(jobs: &[Job], headers: bool) -> String {
    let header = [
        "ID", "TYPE", "QUEUE", "STATE", "ATTEMPT", "AGE", "RUN AT", "DETAIL",
    ];
    let mut table = output::table(if headers { &header } else { &[] });
    for job in jobs {
        let age = job
            .created_at
            .and_then(|t| (Utc::now() - t).to_std().ok())
            .map(|d| output::span_ms(Some(d.as_millis() as u64)))
            .unwrap_or_else(|| "-".into());
        let mut row = comfy_table::Row::from(vec![
            job.id.clone(),
            job.job_type.clone(),
            job.queue.clone(),
            job.state.to_string(),
            format!("{}/{}", job.attempt, job.max_attempts),
            age,
            run_at(job),
            output::clip(&info(job), 200),
        ]);
        // One line per job: on a terminal the last column is cut at the window's edge.
        row.max_height(1);
        table.add_row(row);
    }
    output::fit_last_column(&mut table);
    table.to_string()
}

/// When a scheduled job is due (delayed, or waiting for its retry); `-` for the others.
fn run_at(job: &Job) -> String {
    match (job.state, job.scheduled_at) {
        (State::Scheduled, Some(t)) => output::when(t),
        _ => "-".into(),
    }
}

/// A running job's progress, otherwise its last error.
fn info(job: &Job) -> String {
    if let (State::Active, Some(p)) = (job.state, &job.progress) {
        let pct = p.percent.map(|x| format!("{x:.0}% ")).unwrap_or_default();
        return format!("{pct}{}", p.message.clone().unwrap_or_default());
    }
    job.error.as_deref().map(error_summary).unwrap_or_default()
}
