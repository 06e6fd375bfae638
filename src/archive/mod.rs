//! History and notifications: the PostgreSQL archive of finished jobs (`jobq archive`,
//! `jobq history`) and webhook delivery of events (`jobq notify`). Like every other room of
//! the house, this one reaches Redis only through [`crate::store::Store`].

pub mod archiver;
pub mod db;
pub mod history;
pub mod notify;
mod rows;
pub mod sign;

pub use archiver::{Archiver, QueueStatus, Status};
pub use db::Db;
