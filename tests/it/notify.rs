//! `jobq notify` against a local webhook receiver (support_http.rs) that fails and recovers.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;

use crate::support_http::{Delivery, Receiver};
use crate::util::*;

const T: Duration = Duration::from_secs(60);

/// `jobq notify ARGS` in the background, once it has logged " started: ".
struct Notify;

impl Notify {
    fn start(redis: &Redis, args: &[&str]) -> Background {
        let mut cmd = jobq(redis);
        cmd.arg("notify").args(args);
        Background::spawn(cmd, redis.dir.path(), "notify", " started: ")
    }
}

fn delivered_jobs(deliveries: &[Delivery], event: &str) -> HashSet<String> {
    deliveries
        .iter()
        .map(Delivery::json)
        .filter(|e| e["event"] == event)
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn delivers_signed_events_in_order_retrying_a_failing_receiver() {
    let redis = Redis::start();
    let secret = b"correct horse battery staple";
    let key = redis.dir.path().join("webhook.key");
    std::fs::write(&key, [&secret[..], b"\n"].concat()).unwrap();
    let receiver = Receiver::start(3, Some(secret));
    // The queue exists before the notifier starts: it begins at the stream's end.
    let mut ids = vec![enqueue(&redis, &["ok"])];
    let notify = Notify::start(
        &redis,
        &[
            "--url",
            &receiver.url(),
            "--secret-file",
            key.to_str().unwrap(),
            "--on",
            "completed,dead",
        ],
    );
    ids.extend((0..20).map(|n| enqueue(&redis, &["ok", "--data", &format!("{{\"n\": {n}}}")])));
    let bad: Vec<String> = (0..2).map(|_| enqueue(&redis, &["bad"])).collect();
    let _w = Worker::start(
        &redis,
        &["--handler", "ok=true", "--handler", "bad=sh -c 'exit 100'"],
    );
    wait_until("every outcome delivered", T, || {
        receiver.accepted().len() >= ids.len() + bad.len()
    });

    let got = receiver.accepted();
    assert_eq!(receiver.failed(), 3, "the first three answers were 500s");
    assert_eq!(got.len(), ids.len() + bad.len(), "each event once");
    assert_eq!(delivered_jobs(&got, "completed"), ids.iter().cloned().collect());
    assert_eq!(delivered_jobs(&got, "dead"), bad.iter().cloned().collect());
    let now = chrono::Utc::now().timestamp();
    let mut last = (0u64, 0u64);
    for d in &got {
        assert!(d.signature_ok, "bad signature on {:?}", d.headers);
        let ev: Value = d.json();
        // The shape of `jobq tail --json`.
        let parsed: jobq::store::Event = serde_json::from_value(ev.clone()).unwrap();
        assert_eq!(d.headers["x-jobq-event"], parsed.event);
        assert_eq!(
            d.headers["x-jobq-delivery"],
            format!("normal/{}", parsed.event_id)
        );
        assert_eq!(d.headers["content-type"], "application/json");
        let ts: i64 = d.headers["x-jobq-timestamp"].parse().unwrap();
        assert!((ts - now).abs() < 600, "{ts}");
        let pos = jobq::store::stream_pos(&parsed.event_id);
        assert!(pos > last, "in stream order");
        last = pos;
    }
    assert!(notify.log().contains("HTTP 500"), "{}", notify.log());
}

#[test]
fn a_receiver_down_across_a_notifier_restart_gets_everything_afterwards() {
    let redis = Redis::start();
    let receiver = Receiver::start(0, None);
    receiver.set_down(true);
    enqueue(&redis, &["warmup", "--delay", "1h"]);
    let args = [
        "--url",
        &receiver.url(),
        "--name",
        "audit",
        "--on",
        "completed",
        "--type",
        "ok",
    ];
    let first = Notify::start(&redis, &args);
    let ids: Vec<String> = (0..10).map(|_| enqueue(&redis, &["ok"])).collect();
    let others: Vec<String> = (0..3).map(|_| enqueue(&redis, &["other"])).collect();
    let w = Worker::start(&redis, &["--exec", "true"]);
    for id in ids.iter().chain(&others) {
        wait_for_state(&redis, id, "completed", T);
    }
    drop(w);
    wait_until("a failed delivery", T, || receiver.failed() >= 2);
    drop(first); // SIGKILL while the receiver is down

    let second = Notify::start(&redis, &args);
    let failed = receiver.failed();
    wait_until("the restarted notifier to try", T, || receiver.failed() > failed);
    receiver.set_down(false);
    wait_until("everything delivered", T, || {
        delivered_jobs(&receiver.accepted(), "completed").len() == ids.len()
    });
    let got = receiver.accepted();
    assert_eq!(delivered_jobs(&got, "completed"), ids.iter().cloned().collect());
    assert!(
        got.iter()
            .all(|d| d.json()["type"] == "ok" && !d.headers.contains_key("x-jobq-signature")),
        "only --type ok, unsigned without a secret"
    );
    drop(second);
}

/// Benchmark (run on demand): deliveries per second to the local receiver, from a backlog of
/// events already in the stream (`JOBQ_BENCH_JOBS` jobs, default 3000: three events each).
/// `cargo test --release --test it -- --ignored notify_delivery_rate --nocapture`
#[test]
#[ignore]
fn notify_delivery_rate() {
    let redis = Redis::start();
    let n: usize = std::env::var("JOBQ_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let ids = enqueue_many(&redis, n, "t", "normal");
    let mut w = Worker::start(&redis, &["--exec", "true", "--concurrency", "8", "--burst"]);
    assert_eq!(w.wait(Duration::from_secs(600)), 0);
    assert_eq!(states(&redis, &ids).get("completed"), Some(&n));
    let mut rates = Vec::new();
    for round in 0..3 {
        let receiver = Receiver::start(0, Some(b"k"));
        let key = redis.dir.path().join("k");
        std::fs::write(&key, "k").unwrap();
        // A position at the stream's start: the whole backlog is to be delivered.
        let name = format!("bench{round}");
        redis::cmd("SET")
            .arg(format!("{{jobq:normal}}:notifier:{name}"))
            .arg("0-0")
            .query::<()>(&mut redis.conn())
            .unwrap();
        let start = std::time::Instant::now();
        let on = "enqueued,started,completed";
        let args = [
            "--url",
            &receiver.url(),
            "--name",
            &name,
            "--on",
            on,
            "--secret-file",
            key.to_str().unwrap(),
        ];
        let _notify = Notify::start(&redis, &args);
        let want = 3 * n;
        wait_until("all delivered", Duration::from_secs(600), || {
            receiver.accepted().len() >= want
        });
        rates.push(want as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    eprintln!(
        "measured: {} signed deliveries: {:.0}/s median (min {:.0}, max {:.0})",
        3 * n,
        rates[1],
        rates[0],
        rates[2]
    );
}
