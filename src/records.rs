//! The JSON documents commands print with `--json`, as serde types the tests parse back.
//! Conventions (README "JSON output"): a command about several ids prints ONE JSON array
//! with one object per id (also for a single id); commands that stream (`watch`, `tail`,
//! `stats --watch`, `enqueue --batch`) print JSON lines; times are RFC 3339 in UTC.

use serde::{Deserialize, Serialize};

use crate::job::Job;

/// `enqueue --json`: the job as `inspect --json` shows it, and whether the unique key made it
/// a duplicate (then `job` is the unfinished job that holds the key; nothing was added).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enqueued {
    #[serde(flatten)]
    pub job: Job,
    pub duplicate: bool,
}

/// `cancel --json` and `retry ID... --json`: one per id that worked (errors go to stderr).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub id: String,
    /// `cancelled`, `cancelling` (running: its worker is stopping it) or `queued` (retried).
    pub state: String,
    /// False when the job already was in that state (e.g. cancelling a cancelled job).
    pub changed: bool,
}

/// `ls --json` and `dlq ls --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub jobs: Vec<Job>,
    /// Pass as `--cursor` for the next page; `null` on the last page (and with `--all`).
    pub next_cursor: Option<String>,
}

/// `queue rm --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRemoved {
    pub queue: String,
    /// Jobs deleted on the way (history, and with --force queued/scheduled/dead ones).
    pub deleted_jobs: u64,
}
