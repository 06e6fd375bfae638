//! The engine's error type. Each variant maps to one documented exit code (see `exit.rs`),
//! so a script can tell "you typed it wrong" from "Redis is down".

use std::fmt::Display;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The user's input is wrong; nothing was written.
    #[error("{0}")]
    Invalid(String),
    /// A job id (or other named thing) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The thing exists but is in a state that does not allow the request.
    #[error("{0}")]
    Conflict(String),
    /// Redis cannot be reached (refused, timed out, DNS, TLS handshake).
    #[error("{0}")]
    Unavailable(String),
    /// Redis rejected our credentials or the ACL user lacks a permission.
    #[error("{0}")]
    Auth(String),
    /// Redis answered with an error we cannot work around (OOM, READONLY, ...).
    #[error("{0}")]
    Redis(String),
    /// Local I/O (reading `--data @FILE`, spawning handlers, ...).
    #[error("{0}")]
    Io(String),
    /// The archive database (PostgreSQL) is unreachable, refused the login or a statement.
    #[error("{0}")]
    Database(String),
}

impl Error {
    pub fn invalid(msg: impl Display) -> Self {
        Error::Invalid(msg.to_string())
    }
}
