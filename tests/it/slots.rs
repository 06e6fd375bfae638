//! Every data path on a one-node cluster (support_slots.rs), where crossing a slot is an error:
//! enqueue (single, a batch mixing queues, unique, delayed), a worker on several queues with
//! retries, cancels of queued and running jobs, retry, dlq, pause/resume, purge, stats,
//! workers, ls, inspect, wait, tail, doctor --fix, migrate, lease recovery, and routes, type
//! schemas and schedules (ticked by a worker).

use std::time::Duration;

use crate::util::*;

const T: Duration = Duration::from_secs(60);

fn ok(redis: &Redis, args: &[&str]) -> String {
    run(jobq(redis).args(args)).ok().stdout
}

#[test]
fn every_command_stays_in_one_slot_on_a_cluster_node() {
    let redis = Redis::start_one_node_cluster();
    let dir = redis.dir.path();
    let started = dir.join("started");
    let hang = script(dir, "hang.sh", &format!("touch {}\nsleep 600", started.display()));

    // Enqueue paths.
    let a = enqueue(&redis, &["t", "--queue", "qa", "--unique-key", "u1"]);
    let later = enqueue(&redis, &["t", "--queue", "qb", "--delay", "1h"]);
    let batch = "{\"type\":\"t\",\"queue\":\"qa\"}\n{\"type\":\"t\",\"queue\":\"qb\"}\n{\"type\":\"t\",\"queue\":\"qc\"}\n";
    let r = run_with_stdin(jobq(&redis).args(["enqueue", "--batch", "-"]), batch.as_bytes()).ok();
    assert_eq!(r.stdout.lines().count(), 3, "{}", r.stderr);
    let bad = enqueue(&redis, &["bad", "--queue", "qc", "--max-attempts", "1"]);

    // A worker on three queues runs them (the bad one goes dead).
    let burst = run(jobq(&redis).args([
        "worker",
        "--burst",
        "--queues",
        "qa,qb,qc",
        "--handler",
        "t=true",
        "--handler",
        "bad=false",
    ]))
    .ok();
    let mut logs = vec![burst.stderr];
    assert_eq!(state(&redis, &a), "completed");
    assert_eq!(state(&redis, &bad), "dead");
    assert_eq!(state(&redis, &later), "scheduled");

    // Operator paths.
    ok(&redis, &["cancel", &later]);
    ok(&redis, &["retry", &later]);
    ok(&redis, &["dlq", "drain", "--yes"]);
    ok(&redis, &["pause", "qa"]);
    ok(&redis, &["resume", "qa"]);
    ok(&redis, &["purge", "qb", "--state", "queued", "--yes"]);
    ok(&redis, &["stats", "--json"]);
    ok(&redis, &["ls", "--json"]);
    ok(&redis, &["inspect", &a]);
    ok(&redis, &["tail", "--queue", "qa"]);
    ok(&redis, &["wait", &a]);

    // A running job: cancelled through the queue's signal channel, then a killed worker's
    // job recovered by another worker's fetch.
    let victim = enqueue(&redis, &["h", "--queue", "qa"]);
    let h = format!("h={}", hang.display());
    let w = Worker::start(&redis, &["--queues", "qa,qc", "--handler", &h, "--lease", "1s"]);
    wait_until("the job to start", T, || started.exists());
    ok(&redis, &["workers", "--json"]);
    ok(&redis, &["cancel", &victim]);
    wait_for_state(&redis, &victim, "cancelled", T);
    let _ = std::fs::remove_file(&started);
    let stranded = enqueue(&redis, &["h", "--queue", "qc"]);
    wait_until("the second job to start", T, || started.exists());
    let mut w = w;
    w.signal(libc::SIGKILL);
    w.wait(T);
    let b = Worker::start(
        &redis,
        &["--queues", "qc", "--handler", "h=true", "--lease", "1s"],
    );
    wait_for_state(&redis, &stranded, "completed", T);
    assert_eq!(inspect(&redis, &stranded)["recoveries"], 1);

    // Routes, type schemas and schedules ({ns} keys): a routed, schema-checked enqueue, and a
    // schedule ticked by the running worker `b` (its job lands in qc, which `b` serves).
    let schema = dir.join("schema.json");
    std::fs::write(&schema, r#"{"type":"object","required":["n"]}"#).unwrap();
    ok(&redis, &["route", "set", "r.*", "qc"]);
    ok(
        &redis,
        &["type", "set", "r.h", "--schema", schema.to_str().unwrap()],
    );
    ok(&redis, &["route", "ls", "--json"]);
    ok(&redis, &["type", "show", "r.h"]);
    let routed = enqueue(&redis, &["r.h", "--data", r#"{"n":1}"#]);
    assert!(routed.starts_with("qc-"), "{routed}");
    ok(
        &redis,
        &["schedule", "add", "s", "--every", "1s", "h", "--queue", "qc"],
    );
    ok(&redis, &["schedule", "pause", "s"]);
    ok(&redis, &["schedule", "resume", "s"]);
    ok(&redis, &["schedule", "run", "s"]);
    wait_until("a tick", T, || {
        let ls: serde_json::Value = serde_json::from_str(&ok(&redis, &["schedule", "ls", "--json"])).unwrap();
        !ls[0]["last_job"].is_null()
    });
    ok(&redis, &["schedule", "rm", "s"]);
    ok(&redis, &["route", "rm", "r.*"]);
    ok(&redis, &["type", "rm", "r.h"]);
    logs.extend([w.log(), b.log()]);
    for log in &logs {
        // e.g. a blocking wait over several queues' keys: "CROSSSLOT Keys in request don't
        // hash to the same slot", retried in a loop.
        assert!(!log.contains("failed") && !log.contains("CROSSSLOT"), "{log}");
    }

    let (code, _) = {
        let r = run(jobq(&redis).args(["doctor", "--fix", "--json"]));
        (r.code, r.stdout)
    };
    assert!(code == 0 || code == 8, "doctor --fix failed: {code}");
    ok(&redis, &["migrate", "--apply"]);
}
