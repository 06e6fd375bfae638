//! Job dependencies (`enqueue --after`) and expiry (`enqueue --expires`): waiting, release
//! exactly once across queues, cascades, crash safety of the release, and expiry at fetch and
//! by the recovery pass's sweep.

use std::collections::HashMap;
use std::time::Duration;

use rand::Rng;

use crate::util::*;

const LONG: Duration = Duration::from_secs(120);
const USAGE: i32 = 2;
const CANCELLED: i32 = 12;

/// A handler that appends its job id to `ledger` (one line per run).
fn ledger_handler(redis: &Redis) -> (String, std::path::PathBuf) {
    let ledger = redis.dir.path().join("ledger");
    let h = script(
        redis.dir.path(),
        "ok.sh",
        &format!("echo \"$JOBQ_JOB_ID\" >> {}", ledger.display()),
    );
    (h.to_str().unwrap().to_string(), ledger)
}

fn burst(redis: &Redis, queues: &str, handler: &str) {
    run(jobq(redis).args(["worker", "--burst", "--queues", queues, "--exec", handler])).ok();
}

fn outbox_len(redis: &Redis, queue: &str) -> u64 {
    redis::cmd("HLEN")
        .arg(format!("{{jobq:{queue}}}:outbox"))
        .query(&mut redis.conn())
        .unwrap()
}

/// The lifecycle events of `queue`'s stream about job `id`, by name.
fn events_of(redis: &Redis, queue: &str, id: &str) -> Vec<String> {
    let entries: Vec<(String, HashMap<String, String>)> = redis::cmd("XRANGE")
        .arg(format!("{{jobq:{queue}}}:events"))
        .arg("-")
        .arg("+")
        .query(&mut redis.conn())
        .unwrap();
    entries
        .iter()
        .filter_map(|(_, f)| serde_json::from_str::<serde_json::Value>(f.get("event")?).ok())
        .filter(|e| e["id"] == id)
        .map(|e| e["event"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_child_waits_for_parents_in_other_queues_then_runs_once() {
    let redis = Redis::start();
    let (h, book) = ledger_handler(&redis);
    let p1 = enqueue(&redis, &["p", "--queue", "pa"]);
    let p2 = enqueue(&redis, &["p", "--queue", "pb"]);
    let child = enqueue(&redis, &["c", "--queue", "ch", "--after", &format!("{p1},{p2}")]);
    let job = inspect(&redis, &child);
    assert_eq!(job["state"], "waiting", "{job}");
    assert_eq!(job["after"], serde_json::json!([p1, p2]));
    let ls = run(jobq(&redis).args(["ls", "--queue", "ch", "--state", "waiting", "--json"])).ok();
    assert!(ls.stdout.contains(&child), "{}", ls.stdout);
    let stats = run(jobq(&redis).args(["stats", "--json"])).ok();
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    let ch = stats["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "ch")
        .unwrap_or_else(|| panic!("{stats}"));
    assert_eq!(ch["waiting"], 1, "{ch}");
    assert_eq!(ch["queued"], 0, "{ch}");

    // One parent done: still waiting.
    burst(&redis, "pa,ch", &h);
    let job = inspect(&redis, &child);
    assert_eq!(job["state"], "waiting", "{job}");
    assert_eq!(job["parents"][&p1], "completed", "{job}");
    burst(&redis, "pb,ch", &h);
    wait_for_state(&redis, &child, "completed", LONG);
    let runs = ledger(&book);
    assert_eq!(runs.iter().filter(|l| **l == child).count(), 1, "{runs:?}");
    let pos = |id: &str| runs.iter().position(|l| l == id).unwrap();
    assert!(pos(&child) > pos(&p1) && pos(&child) > pos(&p2), "{runs:?}");
    assert_eq!(
        events_of(&redis, "ch", &child),
        ["enqueued", "queued", "started", "completed"]
    );
    assert_eq!(outbox_len(&redis, "pa") + outbox_len(&redis, "pb"), 0);
}

#[test]
fn a_parent_completed_already_queues_the_child_at_once() {
    let redis = Redis::start();
    let (h, _) = ledger_handler(&redis);
    let p = enqueue(&redis, &["p", "--queue", "pa"]);
    burst(&redis, "pa", &h);
    let child = enqueue(&redis, &["c", "--queue", "ch", "--after", &p]);
    assert_eq!(state(&redis, &child), "queued");
    assert_eq!(outbox_len(&redis, "pa"), 0);
}

#[test]
fn a_dead_parent_cancels_the_chain_below_it_unless_any_outcome() {
    let redis = Redis::start();
    let (h, book) = ledger_handler(&redis);
    // Type `bad` fails for good (exit 100); the rest succeed.
    let handler = script(
        redis.dir.path(),
        "h.sh",
        &format!("if [ \"$JOBQ_JOB_TYPE\" = bad ]; then exit 100; fi; exec {h}"),
    );
    let handler = handler.to_str().unwrap();
    let p = enqueue(&redis, &["bad", "--queue", "pa"]);
    let child = enqueue(&redis, &["c", "--queue", "ch", "--after", &p]);
    let grandchild = enqueue(&redis, &["c", "--queue", "gc", "--after", &child]);
    let anyway = enqueue(
        &redis,
        &["c", "--queue", "ch", "--after", &p, "--after-any-outcome"],
    );
    let wait = jobq(&redis)
        .args(["wait", &grandchild])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    burst(&redis, "pa,ch,gc", handler);
    let job = inspect(&redis, &child);
    assert_eq!(job["state"], "cancelled", "{job}");
    assert_eq!(job["error"], format!("parent {p} dead"), "{job}");
    let job = inspect(&redis, &grandchild);
    assert_eq!(job["state"], "cancelled", "{job}");
    assert_eq!(job["error"], format!("parent {child} cancelled"), "{job}");
    wait_for_state(&redis, &anyway, "completed", LONG);
    let out = wait.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(CANCELLED), "{out:?}");
    let runs = ledger(&book);
    assert!(!runs.contains(&child) && !runs.contains(&grandchild), "{runs:?}");
    assert_eq!(runs.iter().filter(|l| **l == anyway).count(), 1, "{runs:?}");
}

#[test]
fn cancelling_a_waiting_job_and_cancelling_a_parent() {
    let redis = Redis::start();
    let p = enqueue(&redis, &["p", "--queue", "pa"]);
    let child = enqueue(&redis, &["c", "--queue", "ch", "--after", &p]);
    let other = enqueue(&redis, &["c", "--queue", "ch", "--after", &p]);
    // Waiting jobs are work: their queue is not removed under them without --force.
    let before = redis.digest();
    let r = run(jobq(&redis).args(["queue", "rm", "ch", "--yes"]));
    assert_eq!(r.code, 4, "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("2 waiting"), "{}", r.stderr);
    assert_eq!(redis.digest(), before);
    run(jobq(&redis).args(["cancel", &child])).ok();
    assert_eq!(state(&redis, &child), "cancelled");
    assert_eq!(state(&redis, &other), "waiting");
    // The parent's cancel reaches the other child through the outbox, applied by `cancel`.
    run(jobq(&redis).args(["cancel", &p])).ok();
    let job = inspect(&redis, &other);
    assert_eq!(job["state"], "cancelled", "{job}");
    assert_eq!(job["error"], format!("parent {p} cancelled"));
    assert_eq!(inspect(&redis, &child)["error"], "cancelled by an operator");
    assert_eq!(outbox_len(&redis, "pa"), 0);
}

/// `purge --state waiting` deletes waiting jobs like any other state's; purging a job that
/// others wait for cancels them (or runs them, after any outcome) instead of leaving them
/// waiting forever; `queue rm --force` deletes waiting jobs too.
#[test]
fn purging_waiting_jobs_and_a_parent() {
    let redis = Redis::start();
    let p = enqueue(&redis, &["p", "--queue", "pa"]);
    let waiting: Vec<String> = (0..3)
        .map(|_| enqueue(&redis, &["c", "--queue", "ch", "--after", &p]))
        .collect();
    let r = run(jobq(&redis).args(["purge", "ch", "--state", "waiting", "--yes", "--json"])).ok();
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["total"], 3, "{report}");
    for id in &waiting {
        assert_eq!(run(jobq(&redis).args(["inspect", id])).code, 3, "{id} is gone");
    }
    let ch: serde_json::Value = serde_json::from_str(
        &run(jobq(&redis).args(["stats", "--queue", "ch", "--json"]))
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(ch["queues"][0]["waiting"], 0, "{ch}");

    // The parent purged: its waiting children are released as if it had been cancelled.
    let child = enqueue(&redis, &["c", "--queue", "ch", "--after", &p]);
    let anyway = enqueue(
        &redis,
        &["c", "--queue", "ch", "--after", &p, "--after-any-outcome"],
    );
    run(jobq(&redis).args(["purge", "pa", "--yes"])).ok();
    let job = inspect(&redis, &child);
    assert_eq!(job["state"], "cancelled", "{job}");
    assert_eq!(job["error"], format!("parent {p} purged"), "{job}");
    assert_eq!(state(&redis, &anyway), "queued");
    assert_eq!(outbox_len(&redis, "pa"), 0);
    assert!(
        redis.keys().iter().all(|k| !k.contains(":dependents:")),
        "{:?}",
        redis.keys()
    );

    // queue rm --force deletes waiting jobs with the rest.
    let p2 = enqueue(&redis, &["p", "--queue", "pa"]);
    enqueue(&redis, &["c", "--queue", "ch", "--after", &p2]);
    run(jobq(&redis).args(["queue", "rm", "ch", "--force", "--yes"])).ok();
    assert!(
        redis.keys().iter().all(|k| !k.contains("{jobq:ch}")),
        "{:?}",
        redis.keys()
    );
}

#[test]
fn bad_dependencies_and_expiries_change_nothing() {
    let redis = Redis::start();
    let p = enqueue(&redis, &["p", "--queue", "pa"]);
    let before = redis.digest();
    let unknown = "pa-01JD8XQ4T3M6Z6Q7W8E9R0TYVP";
    for args in [
        vec!["enqueue", "c", "--after", unknown],
        vec!["enqueue", "c", "--after", &format!("{p},{unknown}")],
        vec!["enqueue", "c", "--after", "not-an-id"],
        vec!["enqueue", "c", "--after", &format!("{p},{p}")],
        vec!["enqueue", "c", "--after-any-outcome"],
        vec!["enqueue", "c", "--expires", "0s"],
        vec!["enqueue", "c", "--expires", "10"],
        vec![
            "enqueue",
            "c",
            "--expires",
            "1m",
            "--expires-at",
            "2099-01-01T00:00:00Z",
        ],
        vec!["enqueue", "c", "--expires-at", "2020-01-01T00:00:00Z"],
        vec!["enqueue", "c", "--expires-at", "yesterday"],
        vec!["enqueue", "c", "--delay", "5m", "--expires", "1m"],
    ] {
        let r = run(jobq(&redis).args(&args));
        assert_eq!(r.code, USAGE, "{args:?}: {} {}", r.stdout, r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
    assert_eq!(redis.digest(), before, "a rejected enqueue wrote something");
}

/// The worker that completed the parent cannot apply the release (its ACL user may not write
/// the child's queue), then is SIGKILLed: the release stays in the outbox, and another
/// worker's recovery pass over the parent's queue applies it, once.
#[test]
fn a_release_left_by_a_killed_worker_is_applied_by_another() {
    let redis = Redis::start();
    let (h, book) = ledger_handler(&redis);
    redis::cmd("ACL")
        .arg(
            &[
                "SETUSER",
                "pa-only",
                "on",
                ">pw",
                "~{jobq}:*",
                "~{jobq:pa}:*",
                "&*",
                "+@all",
            ][..],
        )
        .query::<()>(&mut redis.conn())
        .unwrap();
    let p = enqueue(&redis, &["p", "--queue", "pa"]);
    let child = enqueue(&redis, &["c", "--queue", "ch", "--after", &p]);
    let restricted = format!("{}?user=pa-only&pass=pw", redis.url());
    let w1 = Worker::start(
        &redis,
        &["--queues", "pa", "--exec", &h, "--redis-url", &restricted],
    );
    wait_for_state(&redis, &p, "completed", LONG);
    assert_eq!(outbox_len(&redis, "pa"), 1, "worker log:\n{}", w1.log());
    w1.signal(libc::SIGKILL);
    drop(w1);
    assert_eq!(state(&redis, &child), "waiting");
    let w2 = Worker::start(&redis, &["--queues", "pa,ch", "--exec", &h, "--lease", "3s"]);
    wait_until("the child to complete", LONG, || {
        state(&redis, &child) == "completed"
    });
    assert_eq!(outbox_len(&redis, "pa"), 0, "worker log:\n{}", w2.log());
    let runs = ledger(&book);
    assert_eq!(runs.iter().filter(|l| **l == child).count(), 1, "{runs:?}");
    assert_eq!(
        events_of(&redis, "ch", &child)
            .iter()
            .filter(|e| *e == "queued")
            .count(),
        1
    );
}

/// Workers SIGKILLed at random moments while parents complete: every child is released
/// exactly once (one `queued` event, its parent's outcome recorded) and none is left waiting.
#[test]
fn releases_survive_workers_killed_at_random() {
    let redis = Redis::start();
    let (h, _) = ledger_handler(&redis);
    let pairs: Vec<(String, String)> = (0..30)
        .map(|_| {
            let p = enqueue(&redis, &["p", "--queue", "pa"]);
            let c = enqueue(&redis, &["c", "--queue", "ch", "--after", &p]);
            (p, c)
        })
        .collect();
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("kill schedule seed {seed}");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    for _ in 0..8 {
        // The pause is the kill schedule (random moments of the run), not a wait for anything.
        let w = Worker::start(
            &redis,
            &["--queues", "pa,ch", "--exec", &h, "--lease", "2s", "-c", "2"],
        );
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..400)));
        w.signal(libc::SIGKILL);
    }
    let w = Worker::start(&redis, &["--queues", "pa,ch", "--exec", &h, "--lease", "2s"]);
    for (p, c) in &pairs {
        wait_until(&format!("child {c} to complete"), LONG, || {
            state(&redis, c) == "completed"
        });
        let job = inspect(&redis, c);
        assert_eq!(job["parents"][p], "completed", "{job}\n{}", w.log());
        let released = events_of(&redis, "ch", c)
            .iter()
            .filter(|e| *e == "queued")
            .count();
        assert_eq!(released, 1, "child {c} released {released} times");
    }
    assert_eq!(outbox_len(&redis, "pa"), 0);
}

#[test]
fn an_expired_job_is_cancelled_at_fetch_and_never_runs() {
    let redis = Redis::start();
    let (h, book) = ledger_handler(&redis);
    let id = enqueue(&redis, &["e", "--queue", "ex", "--expires", "200ms"]);
    let expires = inspect(&redis, &id)["expires_at"].as_str().unwrap().to_string();
    let expires = chrono::DateTime::parse_from_rfc3339(&expires).unwrap();
    wait_until("the expiry to pass on the Redis clock", LONG, || {
        let (s, _): (i64, i64) = redis::cmd("TIME").query(&mut redis.conn()).unwrap();
        s * 1000 > expires.timestamp_millis() + 1000
    });
    let keep = enqueue(&redis, &["e", "--queue", "ex", "--expires", "1h"]);
    burst(&redis, "ex", &h);
    let job = inspect(&redis, &id);
    assert_eq!(job["state"], "cancelled", "{job}");
    assert_eq!(job["error"], "expired");
    assert_eq!(state(&redis, &keep), "completed");
    assert_eq!(ledger(&book), vec![keep.clone()]);
    assert_eq!(events_of(&redis, "ex", &id), ["enqueued", "cancelled"]);
    let r = run(jobq(&redis).args(["wait", &id]));
    assert_eq!(r.code, CANCELLED, "{}", r.stderr);
    let expiring: u64 = redis::cmd("ZCARD")
        .arg("{jobq:ex}:expiring")
        .query(&mut redis.conn())
        .unwrap();
    assert_eq!(expiring, 0, "started and expired jobs leave the expiring set");
    // An operator's retry runs it after all.
    run(jobq(&redis).args(["retry", &id])).ok();
    burst(&redis, "ex", &h);
    assert_eq!(state(&redis, &id), "completed");
}

/// A job with an expiry that ends before it (cancelled while queued, scheduled or waiting, or
/// purged) leaves the expiring set with it: nothing is left for the sweep.
#[test]
fn a_cancelled_job_leaves_the_expiring_set() {
    let redis = Redis::start();
    let p = enqueue(&redis, &["p", "--queue", "q"]);
    let ids = [
        enqueue(&redis, &["t", "--queue", "q", "--expires", "1h"]),
        enqueue(
            &redis,
            &["t", "--queue", "q", "--expires", "1h", "--delay", "10m"],
        ),
        enqueue(&redis, &["t", "--queue", "q", "--expires", "1h", "--after", &p]),
        enqueue(
            &redis,
            &["t", "--queue", "q", "--expires", "1h", "--priority", "2"],
        ),
    ];
    let expiring = || -> u64 {
        redis::cmd("ZCARD")
            .arg("{jobq:q}:expiring")
            .query(&mut redis.conn())
            .unwrap()
    };
    assert_eq!(expiring(), 4);
    for id in &ids {
        run(jobq(&redis).args(["cancel", id])).ok();
        assert_eq!(state(&redis, id), "cancelled");
    }
    assert_eq!(expiring(), 0);
    // Purged ones too.
    enqueue(&redis, &["t", "--queue", "q", "--expires", "1h"]);
    enqueue(
        &redis,
        &["t", "--queue", "q", "--expires", "1h", "--delay", "10m"],
    );
    assert_eq!(expiring(), 2);
    run(jobq(&redis).args(["purge", "q", "--state", "all", "--yes"])).ok();
    assert_eq!(expiring(), 0);
}

#[test]
fn batch_lines_take_after_and_expires() {
    let redis = Redis::start();
    let p = enqueue(&redis, &["p", "--queue", "pa"]);
    let lines = format!("{{\"type\":\"c\",\"queue\":\"ch\",\"after\":[\"{p}\"],\"expires\":\"1h\"}}\n");
    let r = run_with_stdin(
        jobq(&redis).args(["enqueue", "--batch", "-", "--json"]),
        lines.as_bytes(),
    )
    .ok();
    let line: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(line["outcome"], "waiting", "{line}");
    let job = inspect(&redis, line["id"].as_str().unwrap());
    assert_eq!(job["after"], serde_json::json!([p]), "{job}");
    assert!(job["expires_at"].is_string(), "{job}");
}

/// A waiting child past its expiry, in a queue whose worker finds nothing to fetch, is swept
/// by the recovery pass; when its parent completes later, it does not run.
#[test]
fn an_expired_waiting_job_is_swept_and_never_runs() {
    let redis = Redis::start();
    let (h, book) = ledger_handler(&redis);
    let p = enqueue(&redis, &["p", "--queue", "pa"]);
    let child = enqueue(
        &redis,
        &["c", "--queue", "ch", "--after", &p, "--expires", "300ms"],
    );
    let w = Worker::start(&redis, &["--queues", "ch", "--exec", &h, "--lease", "2s"]);
    wait_until("the waiting child to expire", LONG, || {
        state(&redis, &child) == "cancelled"
    });
    assert_eq!(inspect(&redis, &child)["error"], "expired", "{}", w.log());
    burst(&redis, "pa,ch", &h);
    assert_eq!(ledger(&book), vec![p.clone()]);
    assert_eq!(state(&redis, &child), "cancelled");
    let stats = run(jobq(&redis).args(["stats", "--json"])).ok();
    let stats: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(stats["totals"]["waiting"], 0, "{stats}");
}

#[test]
fn a_released_child_with_a_number_keeps_its_rank() {
    let redis = Redis::start();
    let (h, book) = ledger_handler(&redis);
    let parent = enqueue(&redis, &["p", "--queue", "pa"]);
    let plain = enqueue(&redis, &["t", "--queue", "q"]);
    let late = enqueue(&redis, &["t", "--queue", "q", "--priority", "8"]);
    let child = enqueue(
        &redis,
        &["c", "--queue", "q", "--after", &parent, "--priority", "1"],
    );
    // Only the parent's queue: the child is released into q, where nothing ran yet.
    burst(&redis, "pa", &h);
    let job = inspect(&redis, &child);
    assert_eq!(job["state"], "queued", "{job}");
    assert_eq!(job["priority"], 1, "{job}");
    std::fs::remove_file(&book).unwrap();
    run(jobq(&redis).args([
        "worker",
        "--burst",
        "--queues",
        "q",
        "--concurrency",
        "1",
        "--exec",
        &h,
    ]))
    .ok();
    let order: Vec<String> = std::fs::read_to_string(&book)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // Released with number 1, it runs before the plain job and the 8 that came first.
    assert_eq!(order, [child, plain, late]);
}

/// An operator's retry drops a cancelled job's expiry; the id it left in the expiring set must
/// not make a later sweep (the recovery pass, here through `doctor --fix`) cancel it again.
#[test]
fn a_retried_job_is_not_swept_for_an_expiry_it_no_longer_has() {
    let redis = Redis::start();
    let (h, book) = ledger_handler(&redis);
    let id = enqueue(&redis, &["e", "--queue", "ex", "--expires", "300ms"]);
    run(jobq(&redis).args(["pause", "ex"])).ok();
    run(jobq(&redis).args(["cancel", &id])).ok();
    let expires = inspect(&redis, &id)["expires_at"].as_str().unwrap().to_string();
    let expires = chrono::DateTime::parse_from_rfc3339(&expires).unwrap();
    wait_until("the expiry to pass on the Redis clock", LONG, || {
        let (s, _): (i64, i64) = redis::cmd("TIME").query(&mut redis.conn()).unwrap();
        s * 1000 > expires.timestamp_millis() + 1000
    });
    run(jobq(&redis).args(["retry", &id])).ok();
    assert_eq!(state(&redis, &id), "queued");
    run(jobq(&redis).args(["doctor", "--fix"]));
    assert_eq!(state(&redis, &id), "queued", "{}", inspect(&redis, &id));
    run(jobq(&redis).args(["resume", "ex"])).ok();
    burst(&redis, "ex", &h);
    assert_eq!(state(&redis, &id), "completed");
    assert_eq!(ledger(&book), vec![id]);
}
