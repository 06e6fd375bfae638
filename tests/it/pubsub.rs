//! The engine's Pub/Sub API (`Store::subscribe_channels`, `Store::publish`) on one server:
//! sharded on Redis >= 7, and a subscription that outlives a Redis restart.

use std::time::{Duration, Instant};

use crate::util::Redis;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Publishes `payload` on `channel` until `sub` receives it (a subscription being
/// re-established misses what is published meanwhile), within `timeout`.
pub async fn publish_until_received(
    store: &jobq::Store,
    sub: &mut jobq::store::Subscriber,
    channel: &str,
    payload: &[u8],
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    loop {
        assert!(
            Instant::now() < deadline,
            "no message on {channel} within {timeout:?}"
        );
        // Publishing may fail while the server is down; the retry policy rides it out.
        let _ = store.publish(channel, payload).await;
        match tokio::time::timeout(Duration::from_millis(200), sub.next()).await {
            Ok(Some((c, p))) if c == channel && p == payload => return,
            Ok(Some(_)) | Err(_) => continue,
            Ok(None) => panic!("subscription ended"),
        }
    }
}

#[test]
fn sharded_pubsub_on_one_server_survives_a_restart() {
    let mut redis = Redis::start_with(&["--appendonly", "yes"]);
    let rt = runtime();
    let store = rt.block_on(async {
        jobq::Store::connect(&redis.url(), "jobq", jobq::RetryPolicy::WORKER)
            .await
            .unwrap()
    });
    let version: String = redis::cmd("INFO").arg("server").query(&mut redis.conn()).unwrap();
    let major: u32 = version
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .and_then(|v| v.split('.').next()?.parse().ok())
        .unwrap();
    assert_eq!(store.sharded_pubsub(), major >= 7);
    assert_eq!(store.publish_command() == "SPUBLISH", major >= 7);
    let a = "{jobq:a}:wake".to_string();
    let b = "{jobq:b}:wake".to_string();
    let mut sub = rt
        .block_on(store.subscribe_channels(std::slice::from_ref(&a)))
        .unwrap();
    assert_eq!(sub.is_sharded(), major >= 7);
    rt.block_on(publish_until_received(
        &store,
        &mut sub,
        &a,
        b"one",
        Duration::from_secs(10),
    ));
    rt.block_on(sub.subscribe(std::slice::from_ref(&b))).unwrap();
    rt.block_on(publish_until_received(
        &store,
        &mut sub,
        &b,
        b"two",
        Duration::from_secs(10),
    ));
    // A sharded message must not reach a plain subscriber, and vice versa: proves which kind
    // was used.
    if major >= 7 {
        let numsub: Vec<redis::Value> = redis::cmd("PUBSUB")
            .arg("SHARDNUMSUB")
            .arg(&a)
            .query(&mut redis.conn())
            .unwrap();
        assert_eq!(numsub.get(1), Some(&redis::Value::Int(1)), "{numsub:?}");
    }
    redis.restart();
    rt.block_on(publish_until_received(
        &store,
        &mut sub,
        &a,
        b"three",
        Duration::from_secs(30),
    ));
    rt.block_on(publish_until_received(
        &store,
        &mut sub,
        &b,
        b"four",
        Duration::from_secs(10),
    ));
    assert!(sub.reconnects() >= 1);
    rt.block_on(sub.unsubscribe(std::slice::from_ref(&b))).unwrap();
    assert_eq!(sub.channels(), std::slice::from_ref(&a));
}
