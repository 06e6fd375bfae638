//! What keeps the fleet's footprint bounded without an operator: killed workers leave the
//! registry by themselves.

use std::time::Duration;

use crate::util::*;

const T: Duration = Duration::from_secs(60);

fn registry(redis: &Redis) -> Vec<String> {
    redis::cmd("ZRANGE")
        .arg("{jobq}:workers")
        .arg(0)
        .arg(-1)
        .query(&mut redis.conn())
        .unwrap()
}

#[test]
fn a_killed_workers_registry_entry_expires_by_itself() {
    let redis = Redis::start();
    let mut dead = Worker::start(
        &redis,
        &["--queues", "normal", "--exec", "true", "--lease", "300ms"],
    );
    wait_until("the first worker to register", T, || registry(&redis).len() == 1);
    let dead_id = registry(&redis).remove(0);
    dead.signal(libc::SIGKILL);
    dead.wait(T);
    let _alive = Worker::start(
        &redis,
        &["--queues", "normal", "--exec", "true", "--lease", "300ms"],
    );
    // No `jobq workers` or `doctor --fix` runs: the live worker's heartbeat prunes the entry.
    wait_until("the killed worker's entry to go", T, || {
        let ids = registry(&redis);
        ids.len() == 1 && ids[0] != dead_id
    });
}
