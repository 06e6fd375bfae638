//! Recurring jobs, routes and payload schemas: definitions and rules here, storage through
//! `Store` (src/store/schedules.rs, registry.rs). No key names or scripts of its own.

pub mod limit;
pub mod registry;
pub mod scheduler;
pub mod spec;

pub use registry::{Registry, Route};
pub use spec::{ScheduleDef, Timing};
