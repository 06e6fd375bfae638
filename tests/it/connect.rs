//! Connecting and reconnecting: a worker started before its Redis waits for it (bounded by
//! --wait-for-redis), resets while it starts are not fatal, READONLY is named in words and
//! not retried on the same server, and an outage is logged once, not once per task.

use std::time::{Duration, Instant};

use crate::support_cluster::{free_port, jobq_at, Node};
use crate::util::*;

const LONG: Duration = Duration::from_secs(120);
const UNAVAILABLE: i32 = 5;
const REDIS_ERROR: i32 = 7;

fn queued_then_completed(url: &str) {
    let id = run(jobq_at(url).args(["enqueue", "t"]))
        .ok()
        .stdout
        .trim()
        .to_string();
    wait_until("the job to complete", LONG, || {
        let r = run(jobq_at(url).args(["inspect", &id, "--json"]));
        r.code == 0 && r.stdout.contains("\"completed\"")
    });
}

#[test]
fn a_worker_started_before_redis_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let log = dir.path().join("worker.log");
    let mut w = Worker {
        child: jobq_at(&url)
            .args(["worker", "--queues", "normal", "--exec", "true"])
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
        log,
    };
    wait_until("the worker to say it waits", LONG, || {
        w.log().contains("waiting for Redis")
    });
    assert!(
        !w.log().contains("started"),
        "started before Redis was there:\n{}",
        w.log()
    );
    let _redis = Node::start(dir.path(), port, &["--save".into(), "".into()]);
    wait_until("the worker to start", LONG, || w.log().contains(" started: "));
    queued_then_completed(&url);
    let log = w.log();
    assert_eq!(log.matches("waiting for Redis").count(), 1, "{log}");
    assert!(
        log.contains("no time limit"),
        "the log line says how long it waits:\n{log}"
    );
    assert!(
        w.child.try_wait().unwrap().is_none(),
        "the worker is still running"
    );
}

#[test]
fn wait_for_redis_bounds_the_wait() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let start = Instant::now();
    let r = run(jobq_at(&url).args([
        "worker",
        "--queues",
        "normal",
        "--exec",
        "true",
        "--wait-for-redis",
        "1s",
    ]));
    assert_eq!(r.code, UNAVAILABLE, "{}", r.stderr);
    assert!(
        r.stderr.contains("gave up after --wait-for-redis"),
        "{}",
        r.stderr
    );
    assert!(start.elapsed() < Duration::from_secs(15), "{:?}", start.elapsed());
    // The variable works too, and 0 means "fail at once".
    let r = run(jobq_at(&url)
        .env("JOBQ_WAIT_FOR_REDIS", "0s")
        .args(["worker", "--queues", "normal", "--exec", "true"]));
    assert_eq!(r.code, UNAVAILABLE, "{}", r.stderr);
    // One-shot commands never wait.
    let r = run(jobq_at(&url).args(["stats"]));
    assert_eq!(r.code, UNAVAILABLE, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}

#[test]
fn connection_resets_while_a_worker_starts_are_not_fatal() {
    let redis = Redis::start();
    let id = enqueue(&redis, &["t"]);
    let socket = redis.url();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = redis::Client::open(socket).unwrap().get_connection().unwrap();
            let mut kills = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Every client but this one: the worker's shared, blocking and Pub/Sub
                // connections are cut as they open.
                kills += redis::cmd("CLIENT")
                    .arg("KILL")
                    .arg("SKIPME")
                    .arg("yes")
                    .query::<i64>(&mut c)
                    .unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
            kills
        })
    };
    let log = redis.dir.path().join("worker.log");
    let mut w = Worker {
        child: jobq(&redis)
            .args(["worker", "--queues", "normal", "--exec", "true"])
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
        log,
    };
    let t0 = Instant::now();
    // Cut its connections for a while, then let it be.
    while t0.elapsed() < Duration::from_millis(1500) {
        assert!(
            w.child.try_wait().unwrap().is_none(),
            "the worker exited:\n{}",
            w.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let kills = killer.join().unwrap();
    assert!(kills > 0, "no connection was cut");
    wait_for_state(&redis, &id, "completed", LONG);
    assert!(
        w.child.try_wait().unwrap().is_none(),
        "the worker exited:\n{}",
        w.log()
    );
}

#[test]
fn readonly_replica_is_named_in_words_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let master = Node::start(dir.path(), free_port(), &["--save".into(), "".into()]);
    let replica = Node::start(
        dir.path(),
        free_port(),
        &[
            "--save".into(),
            "".into(),
            "--replicaof".into(),
            "127.0.0.1".into(),
            master.port.to_string(),
        ],
    );
    let url = format!("redis://127.0.0.1:{}", replica.port);
    for args in [
        vec!["enqueue", "t"],
        vec!["enqueue", "t", "--delay", "1m", "--queue", "other"],
    ] {
        let start = Instant::now();
        let r = run(jobq_at(&url).args(&args));
        assert_eq!(r.code, REDIS_ERROR, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains("read-only replica"), "{}", r.stderr);
        for raw in ["Pipeline", "Index", "@user_script", "READONLY You"] {
            assert!(!r.stderr.contains(raw), "raw client text: {}", r.stderr);
        }
        // Not the 10 s retry budget: one reconnect shows it is still a replica.
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{args:?} took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn an_outage_is_logged_once() {
    let mut redis = Redis::start_with(&["--appendonly", "yes"]);
    let h = script(redis.dir.path(), "slow.sh", "sleep 1");
    for _ in 0..4 {
        enqueue(&redis, &["t"]);
    }
    let w = Worker::start(
        &redis,
        &[
            "--queues",
            "normal",
            "--concurrency",
            "4",
            "--exec",
            h.to_str().unwrap(),
            "--lease",
            "3s",
        ],
    );
    wait_until("jobs to run", LONG, || {
        stat(&redis, &["normal"], "processed") >= 1 || w.log().contains("ok")
    });
    redis.kill();
    // Heartbeat, fetch, progress and cancel listener all see the outage.
    wait_until("the worker to notice", LONG, || w.log().contains("unavailable"));
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    redis.restart();
    wait_until("the worker to notice Redis is back", LONG, || {
        w.log().contains("is back")
    });
    let id = enqueue(&redis, &["t"]);
    wait_for_state(&redis, &id, "completed", LONG);
    let log = w.log();
    assert_eq!(log.matches("unavailable").count(), 1, "{log}");
    assert_eq!(log.matches("is back").count(), 1, "{log}");
}
