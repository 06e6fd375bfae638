//! Fault injection: real workers, a real redis-server, and a ledger every handler run appends
//! to, so lost and duplicated jobs are counted, not guessed. Scale: JOBQ_FAULT_JOBS (default
//! 10000) for the long cases.

use std::time::{Duration, Instant};

use crate::util::*;

const LONG: Duration = Duration::from_secs(300);

/// A handler that appends "<id> <attempt>" to `ledger` once its work is done.
fn ledger_handler(redis: &Redis) -> (std::path::PathBuf, String) {
    let ledger = redis.dir.path().join("ledger");
    let h = script(
        redis.dir.path(),
        "ledger.sh",
        &format!("echo \"$JOBQ_JOB_ID $JOBQ_ATTEMPT\" >> {}", ledger.display()),
    );
    (ledger, h.display().to_string())
}

fn all_completed(redis: &Redis, ids: &[String]) -> bool {
    states(redis, ids).get("completed").copied() == Some(ids.len())
}

#[test]
fn ten_thousand_jobs_eight_workers_exactly_once() {
    let redis = Redis::start();
    let (ledger_path, h) = ledger_handler(&redis);
    let ids = enqueue_many(&redis, fault_jobs(), "t", "normal");
    let workers: Vec<Worker> = (0..8)
        .map(|_| Worker::on(&redis).arg("--concurrency").arg("4").exec(&h).start())
        .collect();
    wait_until("every job to complete", LONG, || all_completed(&redis, &ids));
    let runs = counts(&ledger(&ledger_path));
    assert_eq!(runs.len(), ids.len(), "every job ran");
    assert!(
        runs.values().all(|&n| n == 1),
        "a job ran twice without any fault"
    );
    assert_eq!(
        stat(&redis, &["normal"], "processed"),
        ids.len() as u64,
        "stats agree with the ledger"
    );
    assert_eq!(stat(&redis, &["normal"], "failed"), 0);
    eprintln!(
        "measured: {} jobs, 8 workers: 0 lost, 0 duplicates, processed counter {}",
        ids.len(),
        ids.len()
    );
    drop(workers);
}

#[test]
fn random_sigkills_lose_nothing_and_duplicate_only_interrupted_jobs() {
    let redis = Redis::start();
    let (ledger_path, h) = ledger_handler(&redis);
    let ids = enqueue_many(&redis, fault_jobs(), "t", "normal");
    let args = [
        "--queues",
        "normal",
        "--concurrency",
        "4",
        "--exec",
        &h,
        "--lease",
        "1s",
    ];
    let mut workers: Vec<Worker> = (0..4).map(|_| Worker::start(&redis, &args)).collect();
    let mut kills = 0;
    let mut seed = std::process::id() as u64;
    let deadline = Instant::now() + LONG;
    while !all_completed(&redis, &ids) {
        assert!(
            Instant::now() < deadline,
            "jobs not done: {:?}",
            states(&redis, &ids)
        );
        // Kill a pseudo-random worker at a pseudo-random moment, then replace it.
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let before = ledger(&ledger_path).len();
        let wait_for = 20 + (seed >> 33) as usize % 400;
        wait_until("some progress before the next kill", LONG, || {
            ledger(&ledger_path).len() >= (before + wait_for).min(ids.len()) || all_completed(&redis, &ids)
        });
        if kills < 8 && !all_completed(&redis, &ids) {
            let victim = (seed >> 40) as usize % workers.len();
            workers[victim].signal(libc::SIGKILL);
            workers[victim].wait(LONG);
            workers[victim] = Worker::start(&redis, &args);
            kills += 1;
        }
    }
    assert!(kills > 0, "the run ended before any kill: raise JOBQ_FAULT_JOBS");
    let runs = counts(&ledger(&ledger_path));
    assert_eq!(runs.len(), ids.len(), "nothing lost");
    let dups = runs.values().filter(|&&n| n > 1).count();
    eprintln!(
        "measured: {} jobs, {kills} worker SIGKILLs: 0 lost, {dups} duplicate runs (all interrupted)",
        ids.len()
    );
    // A duplicate is only allowed where a run was interrupted (its worker was killed).
    let mut c = redis.conn();
    for (id, n) in runs.iter().filter(|(_, &n)| n > 1) {
        let recoveries: Option<u32> = redis::cmd("HGET")
            .arg(format!("{{jobq:normal}}:job:{id}"))
            .arg("recoveries")
            .query(&mut c)
            .unwrap();
        assert!(
            recoveries.unwrap_or(0) >= 1,
            "{id} ran {n} times without being interrupted"
        );
    }
}

#[test]
fn redis_sigkill_and_restart_with_aof_loses_and_duplicates_nothing() {
    // `appendfsync always`: with the default `everysec`, a busy disk lets Redis postpone the
    // AOF write past its replies, so a SIGKILL can lose acknowledged transitions (and a lost
    // completion reruns its job). jobq's promise is stated for a Redis that keeps what it
    // acknowledged; README "Guarantees" says what everysec costs.
    let mut redis = Redis::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let (ledger_path, h) = ledger_handler(&redis);
    let ids = enqueue_many(&redis, 2000, "t", "normal");
    let _workers: Vec<Worker> = (0..2)
        .map(|_| {
            Worker::on(&redis)
                .arg("--concurrency")
                .arg("4")
                .exec(&h)
                .lease("10s")
                .start()
        })
        .collect();
    wait_until("some jobs to run", LONG, || ledger(&ledger_path).len() > 200);
    redis.restart();
    let later = enqueue(&redis, &["t"]);
    let mut all = ids.clone();
    all.push(later);
    wait_until("every job to complete", LONG, || all_completed(&redis, &all));
    let runs = counts(&ledger(&ledger_path));
    assert_eq!(runs.len(), all.len(), "nothing lost");
    let dups: Vec<_> = runs.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        dups.is_empty(),
        "duplicates after an outage shorter than the lease: {dups:?}"
    );
}

#[test]
fn handler_ignoring_sigterm_during_shutdown_is_killed_and_requeued() {
    let redis = Redis::start();
    let pid_file = redis.dir.path().join("pid");
    let h = script(
        redis.dir.path(),
        "deaf.sh",
        &format!(
            "trap '' TERM\necho $$ > {}\nwhile true; do sleep 0.05; done",
            pid_file.display()
        ),
    );
    let id = enqueue(&redis, &["t"]);
    let mut w = Worker::on(&redis)
        .exec(&h)
        .arg("--shutdown-timeout")
        .arg("200ms")
        .arg("--kill-grace")
        .arg("300ms")
        .start();
    wait_until("the handler to start", LONG, || {
        pid_file.exists() && !std::fs::read_to_string(&pid_file).unwrap().is_empty()
    });
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    w.signal(libc::SIGTERM);
    assert_eq!(w.wait(LONG), 0);
    assert!(!pid_alive(pid), "the handler outlived the worker");
    let job = inspect(&redis, &id);
    assert_eq!(job["state"], "queued");
    assert_eq!(job["attempt"], 0, "a shutdown does not charge the attempt");
}

#[test]
fn maxmemory_makes_enqueue_fail_loudly_and_workers_wait() {
    let redis = Redis::start_with(&["--maxmemory-policy", "noeviction"]);
    let (ledger_path, h) = ledger_handler(&redis);
    let ids = enqueue_many(&redis, 50, "t", "normal");
    let used: String = redis::cmd("INFO").arg("memory").query(&mut redis.conn()).unwrap();
    let used: u64 = used
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used + 64 * 1024)
        .query::<()>(&mut redis.conn())
        .unwrap();
    let payload = redis.dir.path().join("p.json");
    std::fs::write(&payload, format!(r#"{{"pad":"{}"}}"#, "x".repeat(32 * 1024))).unwrap();
    let data = format!("@{}", payload.display());
    let mut refused = None;
    for _ in 0..200 {
        let r = run(jobq(&redis).args(["enqueue", "t", "--data", &data]));
        if r.code != 0 {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("maxmemory never reached");
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
    assert!(r.stderr.contains("out of memory"), "{}", r.stderr);
    // Workers cannot take jobs (every transition writes); they back off and wait.
    let w = Worker::on(&redis).exec(&h).start();
    wait_until("the worker to report the outage", LONG, || {
        let log = w.log();
        log.contains("OOM") || log.contains("out of memory")
    });
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(0)
        .query::<()>(&mut redis.conn())
        .unwrap();
    wait_until("every job to complete", LONG, || all_completed(&redis, &ids));
    assert!(counts(&ledger(&ledger_path)).values().all(|&n| n == 1));
}

#[test]
fn client_kills_pauses_and_busy_scripts_fail_and_lose_nothing() {
    let redis = Redis::start();
    let ledger_path = redis.dir.path().join("ledger");
    let h = script(
        redis.dir.path(),
        "slowish.sh",
        &format!(
            "sleep 0.02\necho \"$JOBQ_JOB_ID $JOBQ_ATTEMPT\" >> {}",
            ledger_path.display()
        ),
    );
    let mut ids = enqueue_many(&redis, 1500, "t", "normal");
    let args = [
        "--queues",
        "normal",
        "--concurrency",
        "8",
        "--exec",
        h.to_str().unwrap(),
        "--lease",
        "20s",
    ];
    let _workers: Vec<Worker> = (0..2).map(|_| Worker::start(&redis, &args)).collect();
    let socket = redis.url();
    let chaos = std::thread::spawn(move || {
        let mut c = redis::Client::open(socket).unwrap().get_connection().unwrap();
        for _ in 0..10 {
            redis::cmd("CLIENT")
                .arg("KILL")
                .arg("TYPE")
                .arg("normal")
                .query::<i64>(&mut c)
                .unwrap();
            std::thread::sleep(Duration::from_millis(200));
        }
        for mode in ["WRITE", "ALL"] {
            redis::cmd("CLIENT")
                .arg("PAUSE")
                .arg(1500)
                .arg(mode)
                .query::<()>(&mut c)
                .unwrap();
            std::thread::sleep(Duration::from_millis(1700));
        }
        // Read-only busy loop: the server answers BUSY to everyone else after 5 s.
        let busy =
            "local t0 = redis.call('TIME')[1] while tonumber(redis.call('TIME')[1]) - t0 < 7 do end return 1";
        redis::cmd("EVAL").arg(busy).arg(0).query::<i64>(&mut c).unwrap();
    });
    let start = Instant::now();
    while !chaos.is_finished() {
        ids.push(enqueue(&redis, &["t"]));
        assert!(start.elapsed() < LONG);
    }
    chaos.join().unwrap();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an enqueue returned a duplicate id");
    wait_until("every job to complete", LONG, || all_completed(&redis, &ids));
    let runs = counts(&ledger(&ledger_path));
    assert_eq!(runs.len(), ids.len(), "nothing lost");
    let dups: Vec<_> = runs.iter().filter(|(_, &n)| n > 1).collect();
    assert!(dups.is_empty(), "duplicate runs: {dups:?}");
    let failed = stat(&redis, &["normal"], "failed");
    assert_eq!(failed, 0, "attempts failed because of connection trouble");
    let jobs: usize = redis::cmd("EVAL")
        .arg("return #redis.call('KEYS', '{jobq:normal}:job:*')")
        .arg(0)
        .query(&mut redis.conn())
        .unwrap();
    assert_eq!(jobs, ids.len(), "a retried enqueue wrote a second job");
}

#[test]
fn watch_carries_on_across_a_redis_restart_with_aof() {
    let mut redis = Redis::start_with(&["--appendonly", "yes"]);
    let go = redis.dir.path().join("go");
    // Reports progress, then waits for the test's go-ahead (given after the restart).
    let h = script(
        redis.dir.path(),
        "gated.sh",
        &format!(
            "echo 'progress 1/2 first half' >&$JOBQ_PROGRESS_FD\nwhile [ ! -e {g} ]; do sleep 0.05; done\necho done",
            g = go.display()
        ),
    );
    let _w = Worker::on(&redis).exec(&h).lease("10s").start();
    let id = enqueue(&redis, &["t"]);
    let out = redis.dir.path().join("watch.out");
    let mut watch = jobq(&redis)
        .args(["watch", &id])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    wait_until("watch to show the progress", LONG, || {
        read().contains("first half")
    });
    redis.restart();
    std::fs::write(&go, "").unwrap();
    let deadline = Instant::now() + LONG;
    let status = loop {
        if let Some(s) = watch.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "watch did not end: {}", read());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{}", read());
    assert!(
        read().lines().last().unwrap_or("").contains("completed"),
        "{}",
        read()
    );
}

#[test]
fn a_worker_cut_off_from_redis_still_exits_on_a_second_signal() {
    let mut redis = Redis::start();
    let pid_file = redis.dir.path().join("pid");
    let h = script(
        redis.dir.path(),
        "long.sh",
        &format!("echo $$ > {}\nexec sleep 600", pid_file.display()),
    );
    enqueue(&redis, &["t"]);
    let mut w = Worker::on(&redis)
        .exec(&h)
        .arg("--kill-grace")
        .arg("200ms")
        .start();
    wait_until("the handler to start", LONG, || {
        std::fs::read_to_string(&pid_file).is_ok_and(|p| !p.trim().is_empty())
    });
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    redis.kill();
    // Wait until the worker is inside a Redis call that keeps retrying: the hard case.
    wait_until("the worker to notice the outage", LONG, || {
        w.log().contains("unavailable")
    });
    w.signal(libc::SIGTERM);
    wait_until("the worker to announce shutdown", LONG, || {
        w.log().contains("shutting down")
    });
    w.signal(libc::SIGTERM);
    assert_eq!(w.wait(Duration::from_secs(30)), 0, "{}", w.log());
    assert!(!pid_alive(pid), "the handler outlived the worker");
}

#[test]
fn tail_follow_carries_on_across_a_redis_restart_with_aof() {
    let mut redis = Redis::start_with(&["--appendonly", "yes"]);
    let before = enqueue(&redis, &["t"]);
    let out = redis.dir.path().join("tail.out");
    let mut tail = jobq(&redis)
        .args(["tail", "--queue", "normal", "--follow", "--json", "--since", "1h"])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    wait_until("tail to replay the first event", LONG, || {
        read().contains(&before)
    });
    redis.kill();
    // The outage itself (a fault parameter, not a synchronisation): long enough for the
    // reader to fail to reconnect a few times.
    std::thread::sleep(Duration::from_millis(1500));
    redis.restart();
    let after = enqueue(&redis, &["t"]);
    wait_until("tail to show the event after the restart", LONG, || {
        read().contains(&after)
    });
    let _ = tail.kill();
    let _ = tail.wait();
    let lines: Vec<String> = read().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "each event once: {lines:?}");
}
