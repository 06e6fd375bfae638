//! jobq: background-job queues on Redis. The CLI (`jobq`) is a thin layer over this library;
//! a Rust service can enqueue jobs or run a worker with in-process handlers through it.

pub mod archive;
pub mod cli;
pub mod complete;
pub mod doctor;
pub mod duration;
pub mod error;
pub mod exit;
pub mod job;
pub mod keys;
pub mod log;
pub mod private_redis;
pub mod progress;
pub mod records;
pub mod rfc3339;
pub mod schedule;
pub mod store;
pub mod summary;
pub mod worker;

pub use error::{Error, Result};
pub use job::{Job, LeasedJob, State};
pub use store::{NewJob, RetryPolicy, Store};
