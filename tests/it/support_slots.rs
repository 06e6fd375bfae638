//! A one-node Redis Cluster: one redis-server with `cluster-enabled yes` that owns all 16384
//! slots. jobq reaches it with its plain client (no slot is elsewhere, so no MOVED), but the
//! server enforces the cluster rules: a multi-key command or MULTI over two slots is
//! CROSSSLOT, and a script touching a key of another slot than its declared ones fails
//! ("Script attempted to access keys that do not hash to the same slot"). Any jobq code path
//! that would cross slots on a real cluster therefore fails here, on one process.

use std::time::{Duration, Instant};

use crate::util::Redis;

/// A TCP port that is free, and whose cluster bus port (+10000) is free too.
fn free_cluster_port() -> u16 {
    for _ in 0..100 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if port <= 55535 && std::net::TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair for a cluster node");
}

impl Redis {
    /// Starts a one-node cluster owning every slot (see the module comment).
    pub fn start_one_node_cluster() -> Redis {
        let port = free_cluster_port().to_string();
        let redis = Redis::start_with(&[
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
        ]);
        let mut c = redis.conn();
        redis::cmd("CLUSTER")
            .arg("ADDSLOTSRANGE")
            .arg(0)
            .arg(16383)
            .query::<()>(&mut c)
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut c).unwrap();
            if info.contains("cluster_state:ok") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "one-node cluster never got ready: {info}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }
}
