//! Named exit statuses. The numbers are part of jobq's interface: README "Exit codes" lists them.

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    Success = 0,
    /// Anything not covered below (I/O error, unexpected Redis reply).
    Failure = 1,
    /// Bad input: flags, JSON, names, durations. Also clap's own usage errors.
    Usage = 2,
    /// Unknown job id.
    NotFound = 3,
    /// The job is in a state that does not allow the request (e.g. cancelling a finished job).
    Conflict = 4,
    /// Redis is unreachable.
    Unavailable = 5,
    /// Redis rejected the credentials or an ACL permission.
    Auth = 6,
    /// Redis refused the command (out of memory, read-only replica, ...).
    RedisError = 7,
    /// `jobq doctor` found a problem that can lose or strand jobs.
    Unhealthy = 8,
    /// `archive`, `history`: PostgreSQL unreachable, login refused, or a statement failed.
    Database = 9,
    /// `watch`: the attempt failed and a retry is scheduled.
    Retrying = 10,
    /// `watch`, `wait`: the job is dead (out of attempts, or failed permanently).
    Dead = 11,
    /// `watch`, `wait`: the job was cancelled.
    Cancelled = 12,
    /// `wait --timeout`: a job had not ended in time.
    TimedOut = 13,
    /// Interrupted by Ctrl-C.
    Interrupted = 130,
}

impl From<&Error> for ExitStatus {
    fn from(err: &Error) -> Self {
        match err {
            Error::Invalid(_) => ExitStatus::Usage,
            Error::NotFound(_) => ExitStatus::NotFound,
            Error::Conflict(_) => ExitStatus::Conflict,
            Error::Unavailable(_) => ExitStatus::Unavailable,
            Error::Auth(_) => ExitStatus::Auth,
            Error::Redis(_) => ExitStatus::RedisError,
            Error::Io(_) => ExitStatus::Failure,
            Error::Database(_) => ExitStatus::Database,
        }
    }
}

impl ExitStatus {
    /// For commands that report several jobs (`wait`): the worst outcome wins, in the order
    /// dead > timed out > cancelled > retrying > completed.
    pub fn worst(self, other: ExitStatus) -> ExitStatus {
        let rank = |s: ExitStatus| match s {
            ExitStatus::Success => 0,
            ExitStatus::Retrying => 1,
            ExitStatus::Cancelled => 2,
            ExitStatus::TimedOut => 3,
            ExitStatus::Dead => 4,
            _ => 5,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status as u8)
    }
}
