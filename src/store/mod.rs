//! Redis access: one connection per process, reconnect with backoff, and the mapping of Redis
//! failures to errors a user can act on.

mod archive;
mod classify;
mod completions;
mod connection;
mod deps;
mod direct;
mod endpoint;
mod events;
mod jobs;
mod limits;
mod migrate;
mod nodes;
mod ops;
mod pubsub;
mod registry;
mod schedules;
mod scripts;
mod tls_probe;
mod workers;

/// Defaults for new jobs, shared by the library and the CLI's `--help`.
pub mod jobs_defaults {
    /// Attempts a job gets unless `--max-attempts` says otherwise.
    pub const MAX_ATTEMPTS: u32 = 5;
    pub const MAX_MAX_ATTEMPTS: u32 = 1000;
}

pub use archive::{ArchiveMark, Backlog, FinishedEntry, FinishedPage, FINISHED_STATES};
pub use completions::Next;
pub use connection::{redact_url, Conn, RetryPolicy, Store};
pub use deps::MAX_PARENTS;
pub use endpoint::{ConnectionSettings, URL_FORMS};
pub use events::{stream_pos, Event, Subscription, EVENTS_MAXLEN};
pub use pubsub::{Delivery, Subscriber};

pub use jobs::{EnqueueOutcome, NewJob, ENQUEUE_BATCH};
pub use migrate::MigrationPlan;
pub use ops::{
    last_days, Batch, CancelOutcome, DayStats, PagePos, QueueStats, CANCELLED_RETENTION, DAILY_STATS_DAYS,
};
pub use schedules::{DueSchedules, Schedule, ScheduleState};
pub use workers::{recovery_period, FailOutcome, Failed, Fetched, LeaseStatus, Released, WorkerInfo};
