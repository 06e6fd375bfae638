//! `jobq enqueue --batch FILE|-`: many jobs from JSON lines, a few hundred per round trip.
//!
//! Semantics (README "Bulk enqueue"): every line is parsed and validated before anything is
//! sent, so one bad line enqueues nothing. Then the jobs go out in script calls of
//! `ENQUEUE_BATCH` jobs (a few in flight), `CHUNK` lines at a time, and each chunk's ids are
//! printed before the next chunk is sent: if Redis fails mid-way, the ids on stdout are
//! exactly the jobs known to be enqueued, and the error names the lines whose fate is unknown
//! (that chunk) and the lines never sent.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use jobq::cli::{EnqueueArgs, GlobalArgs, PriorityArg};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::store::{EnqueueOutcome, ENQUEUE_BATCH};
use jobq::{duration, NewJob};
use serde::{Deserialize, Serialize};

use crate::output;

/// Lines sent (and printed) together; a failure leaves at most this many lines uncertain.
const CHUNK: usize = 16 * ENQUEUE_BATCH;

/// One line of a batch file. Absent fields take the command line's values (or defaults).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(rename = "type")]
    job_type: String,
    #[serde(alias = "data")]
    payload: Option<serde_json::Value>,
    queue: Option<String>,
    /// "high", "normal", "low" (a queue) or a number 1-10 (order within the queue).
    priority: Option<serde_json::Value>,
    delay: Option<String>,
    at: Option<String>,
    max_attempts: Option<u32>,
    timeout: Option<String>,
    unique_key: Option<String>,
    /// `enqueue --expires` / `--expires-at` of this line.
    expires: Option<String>,
    expires_at: Option<String>,
    /// Parent job ids (`enqueue --after`), and `--after-any-outcome`.
    after: Option<Vec<String>>,
    after_any_outcome: Option<bool>,
}

/// What `--json` prints per job, one object per line, as soon as its pipeline has landed.
#[derive(Serialize)]
struct Printed<'a> {
    line: usize,
    id: &'a str,
    /// `queued`, `scheduled`, `waiting`, or `duplicate` (an unfinished job holds its unique key).
    outcome: &'a str,
}

/// `jobq enqueue --batch FILE|-` (dispatched by commands/mod.rs).
pub async fn run(path: &Path, args: &EnqueueArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    // Everything is read and checked before connecting: a bad line must not reach Redis.
    let jobs = read_jobs(path, args)?;
    if jobs.is_empty() {
        output::note(format!("{} has no jobs; nothing enqueued", source_name(path)));
        return Ok(ExitStatus::Success);
    }
    let store = super::connect(g).await?;
    if let Some(n) = args.min_replicas {
        store.require_replicas(n, super::new_job::REPLICA_WAIT);
    }
    // Routes and payload schemas live in Redis: checked here, per line, before anything is
    // sent, so a bad line is named and nothing is enqueued.
    let registry = store.registry().await?;
    let mut jobs = jobs;
    for (line, job) in jobs.iter_mut() {
        registry.apply(job).map_err(|e| {
            Error::invalid(format!(
                "{}, line {line}: {e}; nothing was enqueued",
                source_name(path)
            ))
        })?;
    }
    let mut done = 0;
    for chunk in jobs.chunks(CHUNK) {
        let batch: Vec<NewJob> = chunk.iter().map(|(_, j)| j.clone()).collect();
        let outcomes = store
            .enqueue_many(&batch)
            .await
            .map_err(|e| partial(e, &jobs, done, chunk.len()))?;
        for ((line, _), outcome) in chunk.iter().zip(&outcomes) {
            print(*line, outcome, g.json)?;
        }
        done += chunk.len();
    }
    output::note(format!("enqueued {} jobs", jobs.len()));
    Ok(ExitStatus::Success)
}

fn print(line: usize, outcome: &EnqueueOutcome, json: bool) -> Result<()> {
    let (id, what) = match outcome {
        EnqueueOutcome::Created { id, state } => (id.as_str(), state.as_str()),
        EnqueueOutcome::Duplicate { id } => (id.as_str(), "duplicate"),
    };
    if json {
        let text = serde_json::to_string(&Printed {
            line,
            id,
            outcome: what,
        })
        .map_err(|e| Error::Io(e.to_string()))?;
        return output::line(text);
    }
    if what == "duplicate" {
        output::note(format!(
            "line {line}: an unfinished job with the same unique key exists: {id}; nothing added"
        ));
    }
    output::line(id)
}

/// The Redis error, with what was and was not enqueued; the error kind (exit code) is kept.
fn partial(e: Error, jobs: &[(usize, NewJob)], done: usize, len: usize) -> Error {
    let first = jobs[done].0;
    let last = jobs[done + len - 1].0;
    let sent = if done == 0 {
        "no job was enqueued before it".to_string()
    } else {
        format!("the {done} jobs whose ids were printed are enqueued")
    };
    let rest = match jobs.get(done + len) {
        Some((line, _)) => format!("; lines {line} and after were not sent"),
        None => String::new(),
    };
    // The store's OOM message speaks for one command ("nothing was written"); here the
    // parenthesis below says what was written.
    let what = e.to_string().replace("; nothing was written", "");
    let msg = format!("{what} ({sent}; lines {first}-{last} may be partly enqueued{rest})");
    match e {
        Error::Invalid(_) => Error::Invalid(msg),
        Error::NotFound(_) => Error::NotFound(msg),
        Error::Conflict(_) => Error::Conflict(msg),
        Error::Unavailable(_) => Error::Unavailable(msg),
        Error::Auth(_) => Error::Auth(msg),
        Error::Redis(_) => Error::Redis(msg),
        Error::Io(_) => Error::Io(msg),
        Error::Database(_) => Error::Database(msg),
    }
}

fn source_name(path: &Path) -> String {
    if path == Path::new("-") {
        "stdin".into()
    } else {
        format!("batch file {}", path.display())
    }
}

/// Reads and validates every line; blank lines are skipped. Returns (line number, job).
fn read_jobs(path: &Path, args: &EnqueueArgs) -> Result<Vec<(usize, NewJob)>> {
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| Error::invalid(format!("cannot read batch file {}: {e}", path.display())))?,
        )
    };
    let mut jobs = Vec::new();
    for (i, text) in BufReader::new(reader).lines().enumerate() {
        let n = i + 1;
        let text = text.map_err(|e| Error::invalid(format!("{}, line {n}: {e}", source_name(path))))?;
        if text.trim().is_empty() {
            continue;
        }
        let job = parse_line(&text, &|t, p| super::new_job::defaults(args, t, p))
            .and_then(|j| super::new_job::validate(&j, args.allow_past).map(|_| j))
            .map_err(|e| {
                Error::invalid(format!(
                    "{}, line {n}: {e}; nothing was enqueued",
                    source_name(path)
                ))
            })?;
        jobs.push((n, job));
    }
    Ok(jobs)
}

/// How a line's absent fields are filled: from (type, payload), a job with the defaults.
pub type Defaults<'a> = &'a dyn Fn(&str, &serde_json::Value) -> NewJob;

/// Parses one job line (also the body of `POST /api/jobs`); `validate` is up to the caller.
pub fn parse_line(text: &str, defaults: Defaults<'_>) -> Result<NewJob> {
    let line: Line = serde_json::from_str(text).map_err(|e| {
        Error::invalid(format!(
            "not a valid job ({e}); expected e.g. {{\"type\":\"send_email\",\"payload\":{{\"to\":\"a@b.c\"}}}}"
        ))
    })?;
    if line.delay.is_some() && line.at.is_some() {
        return Err(Error::invalid("give either \"delay\" or \"at\", not both"));
    }
    let payload = line.payload.clone().unwrap_or_else(|| serde_json::json!({}));
    let mut new = defaults(&line.job_type, &payload);
    match line.priority.as_ref().map(line_priority).transpose()? {
        // "queue" wins over a named priority, as it always did.
        Some(PriorityArg::Queue(p)) => {
            new.queue = p.queue().to_string();
            new.route = false;
        }
        Some(PriorityArg::Number(n)) => new.priority = Some(n),
        None => {}
    }
    if let Some(q) = line.queue {
        new.queue = q;
        new.route = false;
    }
    if let Some(d) = &line.delay {
        new.delay = Some(duration::parse(d).map_err(|e| Error::invalid(format!("delay: {e}")))?);
        new.at = None;
    }
    if let Some(t) = &line.at {
        new.at = Some(jobq::cli::parse_time(t).map_err(|e| Error::invalid(format!("at: {e}")))?);
        new.delay = None;
    }
    if let Some(t) = &line.timeout {
        new.timeout = Some(duration::parse(t).map_err(|e| Error::invalid(format!("timeout: {e}")))?);
    }
    new.max_attempts = line.max_attempts.unwrap_or(new.max_attempts);
    new.unique_key = line.unique_key;
    if line.expires.is_some() && line.expires_at.is_some() {
        return Err(Error::invalid(
            "give either \"expires\" or \"expires_at\", not both",
        ));
    }
    if let Some(d) = &line.expires {
        new.expires = Some(duration::parse(d).map_err(|e| Error::invalid(format!("expires: {e}")))?);
        new.expires_at = None;
    }
    if let Some(t) = &line.expires_at {
        new.expires_at =
            Some(jobq::cli::parse_time(t).map_err(|e| Error::invalid(format!("expires_at: {e}")))?);
        new.expires = None;
    }
    if let Some(after) = line.after {
        new.after = after;
    }
    new.after_any_outcome = line.after_any_outcome.unwrap_or(new.after_any_outcome);
    Ok(new)
}

/// A line's `priority`: "high"/"normal"/"low", or a number 1-10 (also as a string).
fn line_priority(v: &serde_json::Value) -> Result<PriorityArg> {
    let text = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    text.parse::<PriorityArg>()
        .map_err(|e| Error::invalid(format!("priority {e} (use \"queue\" for other queues)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use jobq::cli::{Cli, Command};
    use proptest::prelude::*;

    fn args() -> EnqueueArgs {
        match Cli::try_parse_from(["jobq", "enqueue", "--batch", "-"])
            .unwrap()
            .command
        {
            Command::Enqueue(a) => a,
            _ => unreachable!(),
        }
    }

    fn check(text: &str) -> Result<NewJob> {
        let args = args();
        parse_line(text, &|t, p| super::super::new_job::defaults(&args, t, p))
            .and_then(|j| super::super::new_job::validate(&j, false).map(|_| j))
    }

    proptest! {
        #[test]
        fn never_panics_on_any_line(text in "\\PC*") {
            let _ = check(&text);
        }

        #[test]
        fn valid_lines_carry_every_field(
            t in "[A-Za-z0-9_.-]{1,128}",
            q in "[A-Za-z0-9_.-]{1,128}",
            secs in 1u64..100_000,
            attempts in 1u32..=1000,
            n in any::<i64>(),
        ) {
            let line = serde_json::json!({
                "type": t, "queue": q, "delay": format!("{secs}s"), "max_attempts": attempts,
                "payload": { "n": n }, "unique_key": q,
            });
            let job = check(&line.to_string()).unwrap();
            prop_assert_eq!(&job.job_type, &t);
            prop_assert_eq!(&job.queue, &q);
            prop_assert_eq!(job.delay, Some(std::time::Duration::from_secs(secs)));
            prop_assert_eq!(job.max_attempts, attempts);
            prop_assert_eq!(job.unique_key.as_deref(), Some(q.as_str()));
            let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap();
            prop_assert_eq!(&payload["n"], &serde_json::json!(n));
        }

        #[test]
        fn names_with_separators_globs_or_spaces_are_rejected(
            head in "[a-z]{0,5}", bad in "[:{}*?\\[\\] \t\n]", tail in "[a-z]{0,5}",
        ) {
            let name = format!("{head}{bad}{tail}");
            for field in ["type", "queue", "unique_key"] {
                let mut line = serde_json::json!({ "type": "t" });
                line[field] = serde_json::json!(name);
                prop_assert!(check(&line.to_string()).is_err(), "{} {:?} accepted", field, name);
            }
        }

        #[test]
        fn bad_durations_and_conflicts_are_rejected(d in "-?[0-9]{0,4}(\\.[0-9])?[a-z]{0,2}") {
            let parsed = jobq::duration::parse(&d);
            let line = serde_json::json!({ "type": "t", "delay": d });
            prop_assert_eq!(check(&line.to_string()).is_ok(), parsed.is_ok());
            let both = serde_json::json!({ "type": "t", "delay": "5s", "at": "2030-01-01T00:00:00Z" });
            prop_assert!(check(&both.to_string()).is_err());
        }
    }
}
