use std::io::Read;

use jobq::cli::{EnqueueArgs, GlobalArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::MAX_PAYLOAD_BYTES;
use jobq::records::Enqueued;
use jobq::store::EnqueueOutcome;
use jobq::NewJob;

use crate::ops::new_job;
use crate::output;

/// `jobq enqueue TYPE` (`--batch` is dispatched to batch.rs before this).
pub async fn run(args: EnqueueArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    // Everything is checked before connecting: bad input must never reach Redis.
    new_job::check_flags(&args)?;
    let new = new_job(&args)?;
    new_job::validate(&new, args.allow_past)?;
    let store = super::connect(g).await?;
    if let Some(n) = args.min_replicas {
        store.require_replicas(n, new_job::REPLICA_WAIT);
    }
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
        let duplicate = matches!(outcome, EnqueueOutcome::Duplicate { .. });
        output::json(&Enqueued {
            job: store.job(&id).await?,
            duplicate,
        })?;
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
    let mut new = new_job::defaults(args, args.job_type.as_deref().unwrap_or(""), &payload);
    new.unique_key = args.unique_key.clone();
    Ok(new)
}

/// `--data`: JSON text, `@FILE`, or `-` for stdin; always parsed, so only valid JSON is stored.
pub(super) fn read_payload(data: &str) -> Result<serde_json::Value> {
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
