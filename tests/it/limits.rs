//! Flow control (issue 12): weighted queues, per-queue rate limits and concurrency caps
//! (`jobq limit`), numeric priorities within a queue.

use std::time::Duration;

use crate::util::*;

const T: Duration = Duration::from_secs(120);

/// A handler that appends its queue (and job id) to `ledger` when it starts.
fn queue_ledger(redis: &Redis) -> (std::path::PathBuf, String) {
    let ledger = redis.dir.path().join("ledger");
    let h = script(
        redis.dir.path(),
        "h.sh",
        &format!("echo \"$JOBQ_QUEUE $JOBQ_JOB_ID\" >> {}", ledger.display()),
    );
    (ledger, format!("t={}", h.display()))
}

/// The ids of the jobs `queue_ledger`'s handler ran, in the order they ran.
fn ledger_ids(book: &std::path::Path) -> Vec<String> {
    ledger(book)
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect()
}

/// Runs queue `q` empty with a burst worker of one slot, so jobs run in the order fetched.
fn one_at_a_time(redis: &Redis, handlers: &[&str]) {
    let mut args = vec!["worker", "--queues", "q", "--concurrency", "1", "--burst"];
    for h in handlers {
        args.extend(["--handler", h]);
    }
    run(jobq(redis).args(args)).ok();
}

fn queue_counts(lines: &[String]) -> std::collections::HashMap<String, usize> {
    let mut m = std::collections::HashMap::new();
    for l in lines {
        *m.entry(l.split_whitespace().next().unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    m
}

#[test]
fn weighted_queues_share_slots_by_weight_and_a_plain_list_stays_strict() {
    let redis = Redis::start();
    let (book, handler) = queue_ledger(&redis);
    for q in ["high", "normal", "low"] {
        enqueue_many(&redis, 300, "t", q);
    }
    let k = 200;
    {
        let _w = Worker::start(
            &redis,
            &[
                "--queues",
                "high:6,normal:3,low:1",
                "--concurrency",
                "2",
                "--handler",
                &handler,
            ],
        );
        wait_until("200 jobs to start", T, || ledger(&book).len() >= k);
    }
    let first: Vec<String> = ledger(&book).into_iter().take(k).collect();
    let n = queue_counts(&first);
    let share = |q: &str| n.get(q).copied().unwrap_or(0);
    // 6:3:1 of 200 is 120:60:20; the bounds are generous (jobs in flight when the count is
    // taken, and start order among concurrent handlers), yet exclude strict order (200:0:0)
    // and starvation of the lightest queue.
    assert!((100..=140).contains(&share("high")), "{n:?}");
    assert!((45..=75).contains(&share("normal")), "{n:?}");
    assert!((10..=30).contains(&share("low")), "{n:?}");

    // A plain list keeps strict order: while high has work, nothing else runs.
    std::fs::remove_file(&book).unwrap();
    {
        let _w = Worker::start(
            &redis,
            &[
                "--queues",
                "high,normal,low",
                "--concurrency",
                "2",
                "--handler",
                &handler,
            ],
        );
        wait_until("50 more jobs to start", T, || ledger(&book).len() >= 50);
    }
    let n = queue_counts(&ledger(&book)[..50]);
    assert_eq!(n.get("high"), Some(&50), "{n:?}");
}

#[test]
fn bad_weights_are_refused_in_one_line() {
    let redis = Redis::start();
    for bad in ["high:0", "high:x", "high:6,high:1", "hi*gh:2", "high:1001"] {
        let r = run(jobq(&redis).args(["worker", "--queues", bad, "--exec", "true", "--burst"]));
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{bad}: {}", r.stderr);
    }
}

/// Lease start and end of each job on the Redis clock (ms): `started_ms` is written by the
/// fetch that leased it, `finished_ms` by its completion.
fn lease_intervals(redis: &Redis, ids: &[String]) -> Vec<(u64, u64)> {
    ids.iter()
        .map(|id| {
            let queue = &id[..id.len() - 27];
            let h = hgetall(redis, &format!("{{jobq:{queue}}}:job:{id}"));
            let ms = |f: &str| {
                h.get(f)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{id} has no {f}: {h:?}"))
            };
            (ms("started_ms"), ms("finished_ms"))
        })
        .collect()
}

/// The most intervals open at once; an end and a start in the same millisecond do not overlap
/// (the completion freed the slot the fetch then took).
fn max_overlap(intervals: &[(u64, u64)]) -> usize {
    let mut edges: Vec<(u64, i32)> = intervals.iter().flat_map(|&(s, e)| [(s, 1), (e, -1)]).collect();
    edges.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        max = max.max(now);
    }
    max as usize
}

fn all_completed(redis: &Redis, ids: &[String]) {
    wait_until("every job to complete", T, || {
        states(redis, ids).get("completed") == Some(&ids.len())
    });
}

#[test]
fn the_concurrency_cap_holds_across_four_workers_of_eight_slots() {
    let redis = Redis::start();
    run(jobq(&redis).args(["limit", "set", "capped", "--concurrency", "3"])).ok();
    let h = script(redis.dir.path(), "h.sh", "sleep 0.2");
    let handler = format!("t={}", h.display());
    let ids = enqueue_many(&redis, 40, "t", "capped");
    let args = ["--queues", "capped", "--concurrency", "8", "--handler", &handler];
    let _workers: Vec<Worker> = (0..4).map(|_| Worker::start(&redis, &args)).collect();
    all_completed(&redis, &ids);
    let max = max_overlap(&lease_intervals(&redis, &ids));
    // Never above the cap; and the cap, not something else, was the bound (32 free slots).
    assert!(max <= 3, "{max} jobs ran at once under a cap of 3");
    assert!(max >= 2, "only {max} at once: the cap of 3 was never used");
    // The cap shows in limit ls and stats.
    let ls = run(jobq(&redis).args(["limit", "ls", "--json"])).ok();
    let limits: Vec<jobq::schedule::limit::LimitStatus> = serde_json::from_str(&ls.stdout).unwrap();
    assert_eq!(limits.len(), 1);
    assert_eq!(limits[0].limit.concurrency, Some(3));
    assert_eq!((limits[0].running, limits[0].throttled), (0, false));
}

#[test]
fn a_rate_limit_holds_over_every_window() {
    let redis = Redis::start();
    run(jobq(&redis).args(["limit", "set", "rated", "--rate", "10/s"])).ok();
    let ids = enqueue_many(&redis, 45, "t", "rated");
    let args = ["--queues", "rated", "--concurrency", "8", "--exec", "true"];
    let _workers: Vec<Worker> = (0..4).map(|_| Worker::start(&redis, &args)).collect();
    all_completed(&redis, &ids);
    let mut starts: Vec<u64> = lease_intervals(&redis, &ids).into_iter().map(|i| i.0).collect();
    starts.sort();
    // A token bucket of 10 refilled at 10/s: any window of W ms holds at most 10 + 10*W/1000
    // starts (the burst, then the refill; +1 for a token completing within the window).
    for (i, &t) in starts.iter().enumerate() {
        for w in [200u64, 1000, 2000] {
            let n = starts[i..].iter().take_while(|&&s| s < t + w).count() as u64;
            assert!(
                n <= 10 + 10 * w / 1000 + 1,
                "{n} starts in {w}ms from {t}: {starts:?}"
            );
        }
    }
    // 45 jobs, 10 at once and 35 at 10/s: at least 3.5 s from the first start to the last.
    let span = starts[44] - starts[0];
    assert!(span >= 3400, "45 starts within {span}ms at 10/s");
}

#[test]
fn a_limited_queue_does_not_hold_up_other_queues_and_nobody_polls_it() {
    let redis = Redis::start();
    run(jobq(&redis).args(["limit", "set", "slow", "--rate", "1/h"])).ok();
    let slow = enqueue_many(&redis, 5, "t", "slow");
    let fast = enqueue_many(&redis, 30, "t", "fast");
    // `slow` comes first in strict order: were it blocking, `fast` would never run.
    let args = ["--queues", "slow,fast", "--concurrency", "4", "--exec", "true"];
    let _workers = [Worker::start(&redis, &args), Worker::start(&redis, &args)];
    all_completed(&redis, &fast);
    wait_until("the one start of the hour", T, || {
        states(&redis, &slow).get("completed") == Some(&1)
    });
    assert_eq!(states(&redis, &slow).get("queued"), Some(&4));
    // The throttled queue is shown as such.
    let stats = run(jobq(&redis).args(["stats", "--json", "--queue", "slow"])).ok();
    let v: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(v["queues"][0]["limit"]["throttled"], true, "{v}");
    assert_eq!(v["queues"][0]["limit"]["rate"], "1/h", "{v}");
    // Waiting is no busy loop: two idle workers with a throttled backlog send a handful of
    // scripts (heartbeats, the safety-net fetch) in two seconds, not thousands of fetches.
    let evals = || -> u64 {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut redis.conn())
            .unwrap();
        info.lines()
            .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
            .filter_map(|l| l.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok())
            .sum()
    };
    let before = evals();
    let start = std::time::Instant::now();
    wait_until("two seconds to pass", T, || {
        start.elapsed() >= Duration::from_secs(2)
    });
    let spent = evals() - before;
    assert!(spent < 40, "{spent} scripts in 2s while throttled");
    // Removing the limit wakes the workers: the backlog runs at once.
    run(jobq(&redis).args(["limit", "rm", "slow"])).ok();
    all_completed(&redis, &slow);
}

#[test]
fn bad_limits_are_refused_and_write_nothing() {
    let redis = Redis::start();
    enqueue(&redis, &["before"]); // a non-empty keyspace makes the digests meaningful
    for args in [
        &["limit", "set", "q"][..],
        &["limit", "set", "q", "--rate", "0/s"],
        &["limit", "set", "q", "--rate", "10/d"],
        &["limit", "set", "q", "--rate", "ten/s"],
        &["limit", "set", "q", "--concurrency", "0"],
        &["limit", "set", "q*", "--concurrency", "2"],
        &["limit", "set", "q", "--concurrency", "-1"],
    ] {
        let before = redis.digest();
        let r = run(jobq(&redis).args(args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
        assert_eq!(redis.digest(), before, "{args:?} changed the keyspace");
    }
    let r = run(jobq(&redis).args(["limit", "rm", "q"]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    let ls = run(jobq(&redis).args(["limit", "ls", "--json"])).ok();
    assert_eq!(ls.stdout.trim(), "[]");
}

/// `queue rm` removes everything of the queue, its limit included: a queue made again under
/// the same name starts without one.
#[test]
fn queue_rm_removes_the_queues_limit() {
    let redis = Redis::start();
    let id = enqueue(&redis, &["t", "--queue", "old"]);
    run(jobq(&redis).args(["limit", "set", "old", "--concurrency", "1", "--rate", "5/s"])).ok();
    run(jobq(&redis).args(["cancel", &id])).ok();
    run(jobq(&redis).args(["queue", "rm", "old", "--yes"])).ok();
    let ls = run(jobq(&redis).args(["limit", "ls", "--json"])).ok();
    assert_eq!(ls.stdout.trim(), "[]");
    assert_eq!(
        run(jobq(&redis).args(["limit", "rm", "old"])).code,
        3,
        "no limit left"
    );
    assert!(
        redis
            .keys()
            .iter()
            .all(|k| !k.contains("{jobq:old}") && !k.ends_with(":limits")),
        "keys left: {:?}",
        redis.keys()
    );
}

/// On Redis Cluster: limits of queues on different masters are enforced by the fetch on each
/// queue's node, and `limit ls`, `stats` and `limit rm` read and write across nodes without
/// a cross-slot command.
#[test]
fn limits_work_on_a_cluster() {
    use crate::support_cluster::*;
    let cluster = Cluster::start();
    let url = cluster.url();
    let queues = cluster.queues_on_each_master();
    let ok = |args: &[&str]| {
        let r = run(jobq_at(&url).args(args));
        assert_eq!(r.code, 0, "jobq {args:?} failed: {}", r.stderr);
        r.stdout
    };
    ok(&["limit", "set", &queues[0], "--concurrency", "1"]);
    ok(&["limit", "set", &queues[1], "--rate", "5/s", "--concurrency", "2"]);
    let ids: Vec<String> = queues[..2]
        .iter()
        .flat_map(|q| (0..3).map(move |_| q.clone()))
        .map(|q| ok(&["enqueue", "t", "--queue", &q]).trim().to_string())
        .collect();
    let h = script(cluster.dir.path(), "ok.sh", "true");
    let all = queues.join(",");
    ok(&[
        "worker",
        "--burst",
        "--queues",
        &all,
        "--concurrency",
        "4",
        "--exec",
        h.to_str().unwrap(),
    ]);
    for id in &ids {
        let v: serde_json::Value = serde_json::from_str(&ok(&["inspect", id, "--json"])).unwrap();
        assert_eq!(v["state"], "completed", "{v}");
    }
    let limits: Vec<jobq::schedule::limit::LimitStatus> =
        serde_json::from_str(&ok(&["limit", "ls", "--json"])).unwrap();
    assert_eq!(limits.len(), 2, "{limits:?}");
    let stats: serde_json::Value = serde_json::from_str(&ok(&["stats", "--json"])).unwrap();
    assert!(
        stats["queues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["limit"]["concurrency"] == 1),
        "{stats}"
    );
    ok(&["limit", "rm", &queues[0]]);
    ok(&["limit", "rm", &queues[1]]);
    assert_eq!(ok(&["limit", "ls", "--json"]).trim(), "[]");
}

#[test]
fn numbered_priorities_order_jobs_within_their_queue() {
    let redis = Redis::start();
    let (book, handler) = queue_ledger(&redis);
    // In enqueue order: none, 7, 1, 5, 10, 3, none, 1, and 2 from a --batch line.
    let mut ids = Vec::new();
    for p in [
        None,
        Some("7"),
        Some("1"),
        Some("5"),
        Some("10"),
        Some("3"),
        None,
        Some("1"),
    ] {
        let mut args = vec!["t", "--queue", "q"];
        if let Some(p) = p {
            args.extend(["--priority", p]);
        }
        ids.push(enqueue(&redis, &args));
    }
    let line = "{\"type\":\"t\",\"queue\":\"q\",\"priority\":2}\n";
    ids.push(
        run_with_stdin(jobq(&redis).args(["enqueue", "--batch", "-"]), line.as_bytes())
            .ok()
            .stdout
            .trim()
            .to_string(),
    );
    assert_eq!(inspect(&redis, &ids[2])["priority"], 1);
    assert_eq!(inspect(&redis, &ids[0])["priority"], 5);
    let human = run(jobq(&redis).args(["inspect", &ids[5]])).ok().stdout;
    assert!(
        human
            .lines()
            .any(|l| l.starts_with("priority") && l.trim_end().ends_with('3')),
        "{human}"
    );
    // Every waiting job counts as queued, numbered or not.
    let stats = run(jobq(&redis).args(["stats", "--json", "--queue", "q"])).ok();
    let v: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(v["queues"][0]["queued"], 9, "{v}");
    one_at_a_time(&redis, &[&handler]);
    let order = ledger_ids(&book);
    // 1s first (in arrival order), then 2, 3, then 5 and unnumbered in arrival order, then 7, 10.
    let want: Vec<String> = [2, 7, 8, 5, 0, 3, 6, 1, 4]
        .iter()
        .map(|&i| ids[i].clone())
        .collect();
    assert_eq!(order, want);
}

#[test]
fn a_numbered_job_keeps_its_place_when_it_comes_back() {
    let redis = Redis::start();
    let (book, handler) = queue_ledger(&redis);
    let plain = enqueue(&redis, &["t", "--queue", "q"]);
    let urgent = enqueue(&redis, &["t", "--queue", "q", "--priority", "1", "--delay", "1s"]);
    // The delayed numbered job, once due, runs before the plain one that came first... unless
    // the plain one already ran; so wait for it to be due before starting the worker.
    wait_until("the delayed job to be due", T, || {
        let now: (u64, u64) = redis::cmd("TIME").query(&mut redis.conn()).unwrap();
        let due = inspect(&redis, &urgent)["scheduled_at"]
            .as_str()
            .map(String::from)
            .unwrap();
        chrono::DateTime::parse_from_rfc3339(&due)
            .unwrap()
            .timestamp_millis() as u64
            <= now.0 * 1000 + now.1 / 1000
    });
    one_at_a_time(&redis, &[&handler]);
    let order = ledger_ids(&book);
    assert_eq!(order, [urgent.clone(), plain.clone()]);
    // A dead numbered job retried by an operator goes back to its place too.
    std::fs::remove_file(&book).unwrap();
    let failing = script(redis.dir.path(), "fail.sh", "exit 100");
    let dead = enqueue(&redis, &["f", "--queue", "q", "--priority", "2"]);
    run(jobq(&redis).args([
        "worker",
        "--queues",
        "q",
        "--burst",
        "--handler",
        &format!("f={}", failing.display()),
    ]))
    .ok();
    assert_eq!(state(&redis, &dead), "dead");
    let later = enqueue(&redis, &["t", "--queue", "q"]);
    run(jobq(&redis).args(["retry", &dead])).ok();
    let h2 = format!("f={}", redis.dir.path().join("h.sh").display());
    one_at_a_time(&redis, &[&handler, &h2]);
    let order = ledger_ids(&book);
    assert_eq!(order, [dead, later]);
}

#[test]
fn bad_priorities_are_refused_and_write_nothing() {
    let redis = Redis::start();
    enqueue(&redis, &["before"]);
    for args in [
        &["enqueue", "t", "--priority", "0"][..],
        &["enqueue", "t", "--priority", "11"],
        &["enqueue", "t", "--priority", "urgent"],
        &["enqueue", "t", "--priority", "high", "--queue", "q"],
    ] {
        let before = redis.digest();
        let r = run(jobq(&redis).args(args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
        assert_eq!(redis.digest(), before, "{args:?} changed the keyspace");
    }
    let before = redis.digest();
    let lines = "{\"type\":\"t\",\"priority\":3}\n{\"type\":\"t\",\"priority\":11}\n";
    let r = run_with_stdin(jobq(&redis).args(["enqueue", "--batch", "-"]), lines.as_bytes());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(redis.digest(), before);
}
