//! Black-box tests: they drive the built `jobq` binary against a real redis-server that each
//! test starts for itself (see util.rs).

mod bad_input;
mod enqueue;
mod generated;
mod perf;
mod util;
mod worker;
