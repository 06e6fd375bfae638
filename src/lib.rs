//! jobq: background-job queues on Redis. The CLI (`jobq`) is a thin layer over this library;
//! a Rust service can enqueue jobs or run a worker with in-process handlers through it.

pub mod bench;
pub mod cli;
pub mod doctor;
pub mod duration;
pub mod error;
pub mod exit;
pub mod job;
pub mod keys;
pub mod private_redis;
pub mod progress;
pub mod store;
pub mod worker;

pub use error::{Error, Result};
pub use job::{Job, LeasedJob, State};
pub use store::{NewJob, RetryPolicy, Store};

/// Timestamp prefix for worker log lines on stderr.
pub fn log_time() -> String {
    chrono::Local::now().format("%H:%M:%S%.3f").to_string()
}
