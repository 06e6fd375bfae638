//! Redis access: one connection per process, reconnect with backoff, and the mapping of Redis
//! failures to errors a user can act on.

mod connection;
mod events;
mod jobs;
mod ops;
mod scripts;
mod workers;

/// Defaults for new jobs, shared by the library and the CLI's `--help`.
pub mod jobs_defaults {
    /// Attempts a job gets unless `--max-attempts` says otherwise.
    pub const MAX_ATTEMPTS: u32 = 5;
    pub const MAX_MAX_ATTEMPTS: u32 = 1000;
}

pub use connection::{redact_url, RetryPolicy, Store};
pub use events::{stream_pos, Event, Subscription, EVENTS_MAXLEN};

pub use jobs::{EnqueueOutcome, NewJob, ENQUEUE_PIPELINE};
pub use ops::{last_days, Batch, DayStats, QueueStats, CANCELLED_RETENTION, DAILY_STATS_DAYS};
pub use workers::{FailOutcome, Fetched, LeaseStatus, WorkerInfo};
