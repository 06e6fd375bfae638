//! `jobq route` and `jobq type`: routes and payload schemas stored in Redis apply to every
//! enqueue path (CLI single and --batch, the library, schedules), and bad input writes nothing.

use std::time::Duration;

use crate::util::*;

fn queue_of(id: &str) -> &str {
    &id[..id.len() - 27]
}

/// Runs jobq, expects `code`, and checks that the keyspace did not change.
fn refused(redis: &Redis, args: &[&str], code: i32) -> String {
    let before = redis.digest();
    let r = run(jobq(redis).args(args));
    assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    assert_eq!(redis.digest(), before, "{args:?} changed the keyspace");
    r.stderr
}

fn library<T>(redis: &Redis, f: impl AsyncFnOnce(&jobq::Store) -> T) -> T {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = jobq::Store::connect(&redis.url(), "jobq", jobq::RetryPolicy::CLI)
            .await
            .unwrap();
        f(&store).await
    })
}

#[test]
fn the_most_specific_route_picks_the_queue_on_every_enqueue_path() {
    let redis = Redis::start();
    enqueue(&redis, &["before"]); // a non-empty keyspace makes the digests meaningful
    for (pattern, queue) in [
        ("ai.*", "ai"),
        ("ai.image.*", "gpu"),
        ("ai.image.upscale", "big"),
        ("*.pdf", "docs"),
    ] {
        run(jobq(&redis).args(["route", "set", pattern, queue])).ok();
    }
    // CLI single enqueue: routed unless --queue or --priority names the queue.
    assert_eq!(queue_of(&enqueue(&redis, &["ai.chat"])), "ai");
    assert_eq!(queue_of(&enqueue(&redis, &["ai.image.crop"])), "gpu");
    assert_eq!(queue_of(&enqueue(&redis, &["ai.image.upscale"])), "big");
    assert_eq!(queue_of(&enqueue(&redis, &["render.pdf"])), "docs");
    assert_eq!(queue_of(&enqueue(&redis, &["send_email"])), "normal");
    assert_eq!(
        queue_of(&enqueue(&redis, &["ai.chat", "--queue", "other"])),
        "other"
    );
    assert_eq!(
        queue_of(&enqueue(&redis, &["ai.chat", "--priority", "normal"])),
        "normal"
    );
    // --batch: lines without queue/priority are routed.
    let lines = concat!(
        "{\"type\":\"ai.chat\"}\n",
        "{\"type\":\"ai.chat\",\"queue\":\"q2\"}\n",
        "{\"type\":\"ai.chat\",\"priority\":\"low\"}\n",
        "{\"type\":\"x.pdf\"}\n"
    );
    let out = run_with_stdin(jobq(&redis).args(["enqueue", "--batch", "-"]), lines.as_bytes()).ok();
    let queues: Vec<&str> = out.stdout.lines().map(queue_of).collect();
    assert_eq!(queues, ["ai", "q2", "low", "docs"]);
    // The library routes the same way.
    let id = library(&redis, async |s: &jobq::Store| {
        let job = jobq::NewJob::routed("ai.image.x", &serde_json::json!({}));
        s.enqueue(&job).await.unwrap().id().to_string()
    });
    assert_eq!(queue_of(&id), "gpu");
    // ls: most specific first; --json round-trips.
    let ls = run(jobq(&redis).args(["route", "ls", "--json"])).ok();
    let routes: Vec<jobq::schedule::Route> = serde_json::from_str(&ls.stdout).unwrap();
    let patterns: Vec<&str> = routes.iter().map(|r| r.pattern.as_str()).collect();
    assert_eq!(patterns, ["ai.image.upscale", "ai.image.*", "*.pdf", "ai.*"]);
    // rm: the type falls back to the next route, then to normal.
    run(jobq(&redis).args(["route", "rm", "ai.image.*"])).ok();
    assert_eq!(queue_of(&enqueue(&redis, &["ai.image.crop"])), "ai");
    run(jobq(&redis).args(["route", "rm", "ai.*"])).ok();
    assert_eq!(queue_of(&enqueue(&redis, &["ai.image.crop"])), "normal");
    // Bad input: one line, documented code, nothing written.
    refused(&redis, &["route", "set", "a:b", "q"], 2);
    refused(&redis, &["route", "set", "ai.*", "bad queue"], 2);
    refused(&redis, &["route", "set", "[ab]", "q"], 2);
    let e = refused(&redis, &["route", "rm", "nope.*"], 3);
    assert!(e.contains("no route"), "{e}");
}

#[test]
fn a_long_lived_enqueuer_follows_route_changes_with_at_most_one_check_per_second() {
    let redis = Redis::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = jobq::Store::connect(&redis.url(), "jobq", jobq::RetryPolicy::CLI)
            .await
            .unwrap();
        let job = jobq::NewJob::routed("ai.chat", &serde_json::json!({}));
        assert_eq!(queue_of(store.enqueue(&job).await.unwrap().id()), "normal");
        redis.reset_stats();
        let start = std::time::Instant::now();
        for _ in 0..200 {
            store.enqueue(&job).await.unwrap();
        }
        let elapsed = start.elapsed().as_secs_f64();
        let calls = |name: &str| redis.command_calls(name) as f64;
        // The cache is checked (one GET) at most once per second, never re-read unchanged.
        assert!(
            calls("get") <= elapsed.ceil(),
            "{} GETs in {elapsed:.1}s",
            calls("get")
        );
        assert_eq!(calls("hgetall"), 0.0);
        // A route set elsewhere reaches this process within a second.
        run(jobq(&redis).args(["route", "set", "ai.*", "ai"])).ok();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if queue_of(store.enqueue(&job).await.unwrap().id()) == "ai" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "route change never seen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}

const SCHEMA: &str = r#"{"type":"object","required":["to"],"properties":{"to":{"type":"string"},"n":{"type":"integer","minimum":1}}}"#;

#[test]
fn payload_schemas_are_checked_by_every_enqueue_path_and_a_mismatch_writes_nothing() {
    let redis = Redis::start();
    enqueue(&redis, &["before"]);
    let dir = redis.dir.path();
    let schema = dir.join("schema.json");
    std::fs::write(&schema, SCHEMA).unwrap();
    let bad_schema = dir.join("bad.json");
    std::fs::write(&bad_schema, r#"{"type": 5}"#).unwrap();
    let e = refused(
        &redis,
        &[
            "type",
            "set",
            "send_email",
            "--schema",
            bad_schema.to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("not a valid JSON Schema"), "{e}");
    refused(
        &redis,
        &["type", "set", "send_email", "--schema", "/nonexistent.json"],
        2,
    );
    refused(
        &redis,
        &["type", "set", "bad:type", "--schema", schema.to_str().unwrap()],
        2,
    );
    run(jobq(&redis).args(["type", "set", "send_email", "--schema", schema.to_str().unwrap()])).ok();

    // CLI: the failing JSON path and rule, exit 2, nothing written.
    let e = refused(&redis, &["enqueue", "send_email", "--data", r#"{"to":5}"#], 2);
    assert!(e.contains("at /to") && e.contains("rule `type`"), "{e}");
    let e = refused(
        &redis,
        &["enqueue", "send_email", "--data", r#"{"to":"a","n":0}"#],
        2,
    );
    assert!(e.contains("at /n") && e.contains("rule `minimum`"), "{e}");
    let e = refused(&redis, &["enqueue", "send_email"], 2);
    assert!(e.contains("rule `required`"), "{e}");
    let ok = enqueue(&redis, &["send_email", "--data", r#"{"to":"a@b.c","n":2}"#]);
    assert_eq!(state(&redis, &ok), "queued");
    // --batch names the line; no line is enqueued.
    let before = redis.digest();
    let lines = "{\"type\":\"t\"}\n{\"type\":\"send_email\",\"payload\":{\"to\":\"x\"}}\n{\"type\":\"send_email\",\"payload\":{}}\n";
    let r = run_with_stdin(jobq(&redis).args(["enqueue", "--batch", "-"]), lines.as_bytes());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("line 3") && r.stderr.contains("rule `required`"),
        "{}",
        r.stderr
    );
    assert_eq!(redis.digest(), before);
    // The library refuses it too (single and many), with the same kind of error.
    let (one, many) = library(&redis, async |s: &jobq::Store| {
        let bad = jobq::NewJob::new("send_email", "normal", &serde_json::json!({ "to": [] }));
        let good = jobq::NewJob::new("send_email", "normal", &serde_json::json!({ "to": "x" }));
        (s.enqueue(&bad).await, s.enqueue_many(&[good, bad.clone()]).await)
    });
    assert!(matches!(one, Err(jobq::Error::Invalid(_))), "{one:?}");
    assert!(
        matches!(&many, Err(jobq::Error::Invalid(m)) if m.contains("job 2")),
        "{many:?}"
    );
    assert_eq!(redis.digest(), before);
    // A schedule whose payload does not match is refused at add.
    let e = refused(
        &redis,
        &["schedule", "add", "s", "--every", "1h", "send_email"],
        2,
    );
    assert!(e.contains("rule `required`"), "{e}");

    // ls / show / rm.
    let ls: serde_json::Value =
        serde_json::from_str(&run(jobq(&redis).args(["type", "ls", "--json"])).ok().stdout).unwrap();
    assert_eq!(ls[0]["type"], "send_email");
    assert_eq!(
        ls[0]["schema"],
        serde_json::from_str::<serde_json::Value>(SCHEMA).unwrap()
    );
    let show: serde_json::Value =
        serde_json::from_str(&run(jobq(&redis).args(["type", "show", "send_email"])).ok().stdout).unwrap();
    assert_eq!(show, serde_json::from_str::<serde_json::Value>(SCHEMA).unwrap());
    refused(&redis, &["type", "show", "other"], 3);
    run(jobq(&redis).args(["type", "rm", "send_email"])).ok();
    refused(&redis, &["type", "rm", "send_email"], 3);
    let now_ok = enqueue(&redis, &["send_email", "--data", r#"{"to":5}"#]);
    assert_eq!(state(&redis, &now_ok), "queued");
}
