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

use jobq::cli::{EnqueueArgs, GlobalArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::store::{EnqueueOutcome, ENQUEUE_BATCH};
use jobq::NewJob;
use serde::Serialize;

use crate::ops::job_line::parse_line;
use crate::ops::new_job;
use crate::output;

/// Lines sent (and printed) together; a failure leaves at most this many lines uncertain.
const CHUNK: usize = 16 * ENQUEUE_BATCH;

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
        store.require_replicas(n, new_job::REPLICA_WAIT);
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
        let job = parse_line(&text, &|t, p| new_job::defaults(args, t, p))
            .and_then(|j| new_job::validate(&j, args.allow_past).map(|_| j))
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
