use std::io::Read;

use jobq::cli::{EnqueueArgs, GlobalArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::MAX_PAYLOAD_BYTES;
use jobq::store::EnqueueOutcome;
use jobq::NewJob;

use crate::output;

pub async fn run(args: EnqueueArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    if let Some(path) = &args.batch {
        return super::batch::run(path, &args, g).await;
    }
    // Everything is checked before connecting: bad input must never reach Redis.
    let new = new_job(&args)?;
    new.validate()?;
    let store = super::connect(g).await?;
    let outcome = store.enqueue(&new).await?;
    if let EnqueueOutcome::Duplicate { id } = &outcome {
        output::note(format!(
            "an unfinished job with unique key `{}` already exists in queue {}: {id}; nothing added",
            new.unique_key.as_deref().unwrap_or(""),
            new.queue
        ));
    }
    let id = outcome.id().to_string();
    // With --wait or --watch and --json, the JSON is what `wait` / `watch` print.
    if g.json && !args.wait && !args.watch {
        output::json(&store.job(&id).await?)?;
    } else if !g.json {
        output::line(&id)?;
    }
    if args.wait {
        return super::wait::wait_for(&store, &[id], None, g.json).await;
    }
    if args.watch {
        return super::watch::watch_job(&store, &id, output::mode(g.json)).await;
    }
    Ok(ExitStatus::Success)
}

fn new_job(args: &EnqueueArgs) -> Result<NewJob> {
    let payload = read_payload(&args.data)?;
    let mut new = defaults(args, args.job_type.as_deref().unwrap_or(""), &payload);
    new.unique_key = args.unique_key.clone();
    Ok(new)
}

/// A job with the command line's options; `--batch` lines start from it.
pub fn defaults(args: &EnqueueArgs, job_type: &str, payload: &serde_json::Value) -> NewJob {
    let queue = args
        .queue
        .clone()
        .unwrap_or_else(|| args.priority.queue().to_string());
    let mut new = NewJob::new(job_type, &queue, payload);
    new.max_attempts = args.max_attempts;
    new.timeout = args.timeout;
    new.delay = args.delay;
    new.at = args.at;
    new
}

/// `--data`: JSON text, `@FILE`, or `-` for stdin; always parsed, so only valid JSON is stored.
fn read_payload(data: &str) -> Result<serde_json::Value> {
    let (text, source) = if data == "-" {
        (
            read_capped(std::io::stdin().lock(), "stdin")?,
            "stdin".to_string(),
        )
    } else if let Some(path) = data.strip_prefix('@') {
        let file = std::fs::File::open(path)
            .map_err(|e| Error::invalid(format!("cannot read payload file {path}: {e}")))?;
        (read_capped(file, path)?, format!("file {path}"))
    } else {
        (data.to_string(), "--data".to_string())
    };
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(too_big(&source));
    }
    serde_json::from_str(&text).map_err(|e| {
        Error::invalid(format!(
            "payload from {source} is not valid JSON ({e}); pass an object like '{{\"to\":\"a@b.c\"}}'"
        ))
    })
}

fn read_capped(reader: impl Read, source: &str) -> Result<String> {
    let mut buf = Vec::new();
    reader
        .take(MAX_PAYLOAD_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::invalid(format!("cannot read payload from {source}: {e}")))?;
    if buf.len() > MAX_PAYLOAD_BYTES {
        return Err(too_big(source));
    }
    String::from_utf8(buf).map_err(|_| Error::invalid(format!("payload from {source} is not UTF-8 text")))
}

fn too_big(source: &str) -> Error {
    Error::invalid(format!(
        "payload from {source} is larger than {MAX_PAYLOAD_BYTES} bytes; store big data elsewhere and pass a reference"
    ))
}
