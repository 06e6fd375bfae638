use jobq::cli::{GlobalArgs, InspectArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::job::{queue_of, Job, State};

use serde::Serialize;

use crate::output;

pub async fn run(args: InspectArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    queue_of(&args.id)?;
    let store = super::connect(g).await?;
    let job = store.job(&args.id).await?;
    // A job enqueued by a schedule tick says so (its id is derived from schedule and tick).
    let origin = jobq::schedule::spec::tick_of(&job.id, &store.schedule_names().await?);
    if g.json {
        let schedule = origin.map(|(name, tick)| Origin {
            name,
            tick: jobq::job::millis_to_time(tick),
        });
        output::json(&Inspected { job: &job, schedule })?;
    } else {
        let mut text = render(&job);
        if let Some((name, tick)) = &origin {
            let at = jobq::job::millis_to_time(*tick)
                .map(output::when)
                .unwrap_or_default();
            text.push_str(&format!("\nenqueued by schedule {name}, tick of {at}"));
        }
        output::line(text)?;
    }
    Ok(ExitStatus::Success)
}

/// `inspect --json`: the job, plus `schedule` when a schedule tick enqueued it.
#[derive(Serialize)]
struct Inspected<'a> {
    #[serde(flatten)]
    job: &'a Job,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule: Option<Origin>,
}

#[derive(Serialize)]
struct Origin {
    name: String,
    tick: Option<chrono::DateTime<chrono::Utc>>,
}

/// The human view: one fact per line, label column aligned.
pub fn render(job: &Job) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("id", job.id.clone()),
        ("type", job.job_type.clone()),
        ("queue", job.queue.clone()),
        ("state", job.state.to_string()),
        ("priority", job.priority.to_string()),
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
    if let Some(t) = job.expires_at {
        rows.push(("expires", output::when(t)));
    }
    // Each parent with how it ended, or `pending` while it runs or waits.
    for (i, parent) in job.after.iter().enumerate() {
        let outcome = job.parents.get(parent).map_or("pending", String::as_str);
        let label = match (i, job.after_any_outcome) {
            (0, false) => "after",
            (0, true) => "after (any outcome)",
            _ => "",
        };
        rows.push((label, format!("{parent} ({outcome})")));
    }
    // A scheduled job that already ran is waiting for its retry: say when that is.
    let due = if job.state == State::Scheduled && job.attempt > 0 {
        "retry at"
    } else {
        "scheduled for"
    };
    let times = [
        ("created", job.created_at),
        (
            due,
            job.scheduled_at
                .filter(|s| job.state == State::Scheduled || Some(*s) != job.created_at),
        ),
        ("started", job.started_at),
        ("finished", job.finished_at),
    ];
    for (label, t) in times {
        if let Some(t) = t {
            rows.push((label, output::when(t)));
        }
    }
    // "running for" only while it runs; a finished attempt "took".
    let label = match job.state {
        State::Active => Some("running for"),
        _ if job.finished_at.is_some() => Some("took"),
        _ => None,
    };
    if let (Some(label), Some(d)) = (label, job.duration().and_then(|d| d.to_std().ok())) {
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
