use jobq::cli::{GlobalArgs, InspectArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::job::{queue_of, Job};

use crate::output;

pub async fn run(args: InspectArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    queue_of(&args.id)?;
    let store = super::connect(g).await?;
    let job = store.job(&args.id).await?;
    if g.json {
        output::json(&job)?;
    } else {
        output::line(render(&job))?;
    }
    Ok(ExitStatus::Success)
}

/// The human view: one fact per line, label column aligned.
pub fn render(job: &Job) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("id", job.id.clone()),
        ("type", job.job_type.clone()),
        ("queue", job.queue.clone()),
        ("state", job.state.to_string()),
        ("attempt", format!("{} of {}", job.attempt, job.max_attempts)),
    ];
    if let Some(p) = &job.progress {
        rows.push(("progress", super::follow::progress_text(p)));
    }
    if let Some(t) = job.timeout_ms {
        rows.push((
            "timeout",
            jobq::duration::human(std::time::Duration::from_millis(t)),
        ));
    }
    if let Some(k) = &job.unique_key {
        rows.push(("unique key", k.clone()));
    }
    let times = [
        ("created", job.created_at),
        (
            "scheduled for",
            job.scheduled_at.filter(|s| Some(*s) != job.created_at),
        ),
        ("started", job.started_at),
        ("finished", job.finished_at),
    ];
    for (label, t) in times {
        if let Some(t) = t {
            rows.push((label, output::when(t)));
        }
    }
    if let Some(d) = job.duration().and_then(|d| d.to_std().ok()) {
        let label = if job.finished_at.is_some() {
            "took"
        } else {
            "running for"
        };
        rows.push((label, jobq::duration::human(d)));
    }
    if let Some(w) = &job.worker {
        rows.push(("worker", w.clone()));
    }
    if job.recoveries > 0 {
        rows.push(("recoveries", job.recoveries.to_string()));
    }
    rows.push(("payload", job.payload.to_string()));
    if let Some(r) = &job.result {
        rows.push(("result", r.to_string()));
    }
    if let Some(e) = &job.error {
        rows.push(("last error", e.clone()));
    }
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut text: Vec<String> = rows.iter().map(|(l, v)| format!("{l:width$}  {v}")).collect();
    if !job.errors.is_empty() {
        text.push("errors:".into());
        for e in &job.errors {
            let at = jobq::job::millis_to_time(e.at)
                .map(output::when)
                .unwrap_or_default();
            text.push(format!("  attempt {}  {at}  {}", e.attempt, e.error));
        }
    }
    text.join("\n")
}
