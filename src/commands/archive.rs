//! `jobq archive`: the command-line face of [`jobq::archive::Archiver`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use jobq::archive::{Archiver, Db, Status};
use jobq::cli::{ArchiveArgs, GlobalArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::validate_name;
use jobq::worker::{Backoff, Shutdown};
use jobq::{RetryPolicy, Store};

use crate::output;

/// While nothing happens, a status line at least this often (a sign of life in the log).
const QUIET_REPORT: Duration = Duration::from_secs(60);

pub async fn run(args: ArchiveArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    for q in &args.queues {
        validate_name("queue", q)?;
    }
    // A cron run reports an outage; a long-running archiver waits it out.
    let policy = if args.once {
        RetryPolicy::CLI
    } else {
        RetryPolicy::WORKER
    };
    let store = Arc::new(Store::connect(&g.redis_url, &g.namespace, policy).await?);
    let db = Db::connect_and_migrate(&args.to, "--to").await?;
    let stop = Shutdown::on_signals()
        .map_err(|e| Error::Io(format!("cannot listen for signals: {e}")))?
        .drain;
    log(format_args!(
        "archiving namespace `{}` of Redis {} into {} (schema jobq)",
        g.namespace,
        store.url(),
        db.url()
    ));
    let known = store.queue_names().await?;
    for q in args.queues.iter().filter(|q| !known.contains(q)) {
        output::note(format!("queue {q} has had no jobs yet; archiving it once it has"));
    }
    let archiver = Archiver::new(store.clone(), db);
    if args.once {
        let queues = queues(&store, &args).await?;
        let status = archiver.pass(&queues, &stop).await?;
        report(&status, g.json)?;
        return Ok(if stop.is_cancelled() {
            ExitStatus::Interrupted
        } else {
            ExitStatus::Success
        });
    }
    keep_archiving(&archiver, &store, &args, g.json, &stop).await?;
    Ok(ExitStatus::Success)
}

/// Passes until stopped. A failed pass (PostgreSQL restarting, say) is logged and retried
/// with backoff: whatever it had not committed is simply done again.
async fn keep_archiving(
    archiver: &Archiver,
    store: &Store,
    args: &ArchiveArgs,
    json: bool,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<()> {
    let backoff = Backoff {
        base: Duration::from_millis(500),
        max: Duration::from_secs(30),
    };
    let mut failures = 0;
    let mut reported: Option<Instant> = None;
    while !stop.is_cancelled() {
        let outcome = match queues(store, args).await {
            Ok(queues) => archiver.pass(&queues, stop).await,
            Err(e) => Err(e),
        };
        let pause = match outcome {
            Ok(status) => {
                failures = 0;
                let quiet = status.archived == 0 && status.expired == 0;
                if !quiet || reported.is_none_or(|t| t.elapsed() >= QUIET_REPORT) {
                    report(&status, json)?;
                    reported = Some(Instant::now());
                }
                args.interval
            }
            Err(e @ Error::Invalid(_)) => return Err(e),
            Err(e) => {
                failures += 1;
                let delay = backoff.delay(failures);
                jobq::log::warn(
                    jobq::log::Ctx::default(),
                    format_args!(
                        "archive pass failed: {e}; retrying in {}",
                        jobq::duration::human(delay)
                    ),
                );
                delay
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.cancelled() => {}
        }
    }
    log("archiver stopped");
    Ok(())
}

async fn queues(store: &Store, args: &ArchiveArgs) -> Result<Vec<String>> {
    if args.queues.is_empty() {
        store.queue_names().await
    } else {
        Ok(args.queues.clone())
    }
}

/// The log line on stderr; with --json, the status object on stdout too.
fn report(status: &Status, json: bool) -> Result<()> {
    log(status.line());
    if json {
        output::json_line(status)?;
    }
    Ok(())
}

fn log(msg: impl std::fmt::Display) {
    jobq::log::info(jobq::log::Ctx::default(), msg);
}
