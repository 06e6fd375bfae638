//! A job from `enqueue`'s flags, shared by the single enqueue (enqueue.rs) and `--batch`
//! lines (batch.rs), so neither module needs the other.

use jobq::cli::{EnqueueArgs, PriorityArg};
use jobq::error::{Error, Result};
use jobq::NewJob;

/// How long one `WAIT` for `--min-replicas` may take (retried within the CLI's budget).
pub const REPLICA_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// A job with the command line's options; `--batch` lines start from it. A named `--priority`
/// (high, normal, low) picks the queue; a number orders the job within its queue.
pub fn defaults(args: &EnqueueArgs, job_type: &str, payload: &serde_json::Value) -> NewJob {
    let named = match args.priority {
        Some(PriorityArg::Queue(p)) => Some(p.queue().to_string()),
        _ => None,
    };
    let queue = args.queue.clone().or(named);
    // No queue named: the type's route decides (in the library, so every enqueuer agrees).
    let mut new = match queue {
        Some(q) => NewJob::new(job_type, &q, payload),
        None => NewJob::routed(job_type, payload),
    };
    new.max_attempts = args.max_attempts;
    new.timeout = args.timeout;
    new.delay = args.delay;
    new.at = args.at;
    new.expires = args.expires;
    new.expires_at = args.expires_at;
    new.after = args.after.clone();
    new.after_any_outcome = args.after_any_outcome;
    if let Some(PriorityArg::Number(n)) = args.priority {
        new.priority = Some(n);
    }
    new
}

/// `--priority high|normal|low` names a queue, so it cannot go with `--queue` (a number can).
pub fn check_flags(args: &EnqueueArgs) -> Result<()> {
    if let (Some(PriorityArg::Queue(p)), Some(q)) = (args.priority, &args.queue) {
        return Err(Error::invalid(format!(
            "--priority {} names a queue, and so does --queue {q}: give one (a number 1-10 for --priority may go with --queue)",
            p.queue()
        )));
    }
    Ok(())
}

/// Everything `NewJob::validate` checks, plus the bounds of `--at` (which need the clock).
pub fn validate(new: &NewJob, allow_past: bool) -> Result<()> {
    new.validate()?;
    if let Some(at) = new.at {
        jobq::duration::check_at(at, chrono::Utc::now(), allow_past).map_err(Error::invalid)?;
    }
    Ok(())
}
