use crate::util::*;

#[test]
fn enqueue_prints_only_the_id_and_inspect_shows_the_job() {
    let redis = Redis::start();
    let r = run(jobq(&redis).args([
        "enqueue",
        "send_email",
        "--priority",
        "high",
        "--data",
        r#"{"to":"ops@example.com"}"#,
    ]))
    .ok();
    let id = r.stdout.trim();
    assert_eq!(
        r.stdout,
        format!("{id}\n"),
        "stdout carries the id and nothing else"
    );
    assert!(id.starts_with("high-"), "{id}");
    let job = inspect(&redis, id);
    assert_eq!(job["type"], "send_email");
    assert_eq!(job["queue"], "high");
    assert_eq!(job["state"], "queued");
    assert_eq!(job["payload"]["to"], "ops@example.com");
    assert_eq!(job["attempt"], 0);
    assert_eq!(job["max_attempts"], 5);
    let human = run(jobq(&redis).args(["inspect", id])).ok().stdout;
    assert!(
        human.contains("state") && human.contains("queued") && human.contains("send_email"),
        "{human}"
    );
}

#[test]
fn payload_from_file_stdin_and_default() {
    let redis = Redis::start();
    let file = redis.dir.path().join("p.json");
    std::fs::write(&file, r#"{"from":"file"}"#).unwrap();
    let a = enqueue(&redis, &["t", "--data", &format!("@{}", file.display())]);
    assert_eq!(inspect(&redis, &a)["payload"]["from"], "file");
    let b = run_with_stdin(
        jobq(&redis).args(["enqueue", "t", "--data", "-"]),
        br#"{"from":"stdin"}"#,
    )
    .ok();
    assert_eq!(inspect(&redis, b.stdout.trim())["payload"]["from"], "stdin");
    let c = enqueue(&redis, &["t"]);
    assert_eq!(inspect(&redis, &c)["payload"], serde_json::json!({}));
}

#[test]
fn json_output_is_the_whole_job() {
    let redis = Redis::start();
    let r = run(jobq(&redis).args([
        "enqueue",
        "t",
        "--queue",
        "reports",
        "--max-attempts",
        "2",
        "--timeout",
        "90s",
        "--json",
    ]))
    .ok();
    let job: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(job["queue"], "reports");
    assert_eq!(job["max_attempts"], 2);
    assert_eq!(job["timeout_ms"], 90_000);
}

#[test]
fn delay_and_at_schedule_the_job() {
    let redis = Redis::start();
    let id = enqueue(&redis, &["t", "--delay", "1h"]);
    let job = inspect(&redis, &id);
    assert_eq!(job["state"], "scheduled");
    let created = chrono::DateTime::parse_from_rfc3339(job["created_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(job["scheduled_at"].as_str().unwrap()).unwrap();
    assert_eq!((due - created).num_seconds(), 3600);
    // --at takes RFC 3339 in any zone, up to 366 days ahead (as --delay).
    let at = chrono::Utc::now().date_naive() + chrono::Duration::days(30);
    let id2 = enqueue(&redis, &["t", "--at", &format!("{at}T10:00:00+01:00")]);
    assert_eq!(inspect(&redis, &id2)["scheduled_at"], format!("{at}T09:00:00Z"));
}

#[test]
fn unique_key_returns_the_unfinished_job_and_writes_nothing() {
    let redis = Redis::start();
    let first = enqueue(&redis, &["sync", "--unique-key", "user-7"]);
    let before = redis.digest();
    let r = run(jobq(&redis).args([
        "enqueue",
        "sync",
        "--unique-key",
        "user-7",
        "--data",
        r#"{"other":1}"#,
    ]))
    .ok();
    assert_eq!(r.stdout.trim(), first);
    assert!(
        r.stderr.contains("already exists") && r.stderr.contains(&first),
        "{}",
        r.stderr
    );
    assert_eq!(redis.digest(), before, "a duplicate enqueue must not write");

    // Once the job has finished, the key is free again.
    let dir = redis.dir.path();
    let ok = script(dir, "ok.sh", "exit 0");
    run(jobq(&redis)
        .args(["worker", "--queues", "normal", "--burst", "--exec"])
        .arg(&ok))
    .ok();
    assert_eq!(state(&redis, &first), "completed");
    let second = enqueue(&redis, &["sync", "--unique-key", "user-7"]);
    assert_ne!(second, first);
}

#[test]
fn a_library_caller_registers_each_queue_once() {
    let redis = Redis::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = jobq::Store::connect(&redis.url(), "jobq", jobq::RetryPolicy::CLI)
            .await
            .unwrap();
        let enqueue = |queue: &'static str| {
            let job = jobq::NewJob::new("t", queue, &serde_json::json!({}));
            let store = &store;
            async move { store.enqueue(&job).await.unwrap() }
        };
        // The first call also loads the script (a NOSCRIPT retry resends its pipeline).
        enqueue("a").await;
        redis.reset_stats();
        for queue in ["a", "b", "a", "b"] {
            enqueue(queue).await;
        }
    });
    assert_eq!(
        redis.command_calls("sadd"),
        1,
        "one SADD per new queue, not per job"
    );
    let mut queues: Vec<String> = redis::cmd("SMEMBERS")
        .arg("{jobq}:queues")
        .query(&mut redis.conn())
        .unwrap();
    queues.sort();
    assert_eq!(queues, ["a", "b"]);
}

/// Issue 11: scripts enqueue in loops, so a `jobq enqueue` process to a known queue makes
/// three round trips: HELLO, the registry read (which also finds the queue registered, so no
/// SADD follows), and the enqueue script.
#[test]
fn a_fresh_enqueue_to_a_known_queue_makes_three_round_trips() {
    let redis = Redis::start();
    // The first enqueue loads the script and registers the queue.
    enqueue(&redis, &["t"]);
    // One connection for the reset and the count: opening or closing others adds reads.
    let mut conn = redis.conn();
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query::<()>(&mut conn)
        .unwrap();
    let id = enqueue(&redis, &["t"]);
    assert!(id.starts_with("normal-"), "{id}");
    let info: String = redis::cmd("INFO").arg("stats").query(&mut conn).unwrap();
    let reads: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("total_reads_processed:"))
        .map(|n| n.trim().parse().unwrap())
        .expect("INFO stats has total_reads_processed");
    // The server reads once per round trip, once more when jobq closes its connection, and
    // once for this INFO.
    assert_eq!(reads - 2, 3, "round trips of one enqueue process:\n{info}");
    assert_eq!(redis.command_calls("sadd"), 0, "the queue was known");
    assert_eq!(redis.command_calls("sismember"), 1);
}

#[test]
fn a_fresh_enqueue_registers_a_new_queue_after_its_job() {
    let redis = Redis::start();
    enqueue(&redis, &["t"]);
    redis.reset_stats();
    let id = enqueue(&redis, &["t", "--queue", "fresh"]);
    assert!(id.starts_with("fresh-"), "{id}");
    assert_eq!(redis.command_calls("sadd"), 1);
    let queues: Vec<String> = redis::cmd("SMEMBERS")
        .arg("{jobq}:queues")
        .query(&mut redis.conn())
        .unwrap();
    assert!(queues.contains(&"fresh".to_string()), "{queues:?}");
}
