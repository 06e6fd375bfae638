//! Black-box tests: they drive the built `jobq` binary against a real redis-server that each
//! test starts for itself (see util.rs).

mod bad_input;
mod doctor;
mod enqueue;
mod faults;
mod generated;
mod ops;
mod perf;
mod progress;
mod security;
mod util;
mod worker;
