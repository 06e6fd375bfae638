//! Operating the queues (issue 4): ls, retry, cancel, dlq, pause/resume, purge, stats, workers.

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

const T: Duration = Duration::from_secs(60);
const USAGE: i32 = 2;
const NOT_FOUND: i32 = 3;
const CONFLICT: i32 = 4;

fn json(redis: &Redis, args: &[&str]) -> Value {
    let r = run(jobq(redis).args(args).arg("--json")).ok();
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", r.stdout))
}

fn ids_of(listing: &Value) -> Vec<String> {
    listing["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect()
}

/// Runs a burst worker over `queue` with `handlers` (TYPE=COMMAND) until the queue is empty.
fn burst(redis: &Redis, queue: &str, handlers: &[&str]) {
    let mut cmd = jobq(redis);
    cmd.args(["worker", "--burst", "--queues", queue, "--retry-base", "1h"]);
    for h in handlers {
        cmd.args(["--handler", h]);
    }
    run(&mut cmd).ok();
}

/// Makes `n` dead jobs of `job_type` in `queue`.
fn dead_jobs(redis: &Redis, queue: &str, job_type: &str, n: usize) -> Vec<String> {
    let ids: Vec<String> = (0..n)
        .map(|_| enqueue(redis, &[job_type, "--queue", queue, "--max-attempts", "1"]))
        .collect();
    burst(redis, queue, &[&format!("{job_type}=false")]);
    for id in &ids {
        assert_eq!(state(redis, id), "dead");
    }
    ids
}

#[test]
fn cancel_stops_a_running_handler_and_the_job_ends_cancelled() {
    let redis = Redis::start();
    let pidfile = redis.dir.path().join("handler.pid");
    let h = script(
        redis.dir.path(),
        "slow.sh",
        &format!("echo $$ > {}\nexec sleep 300", pidfile.display()),
    );
    // A long lease: the heartbeat (every 20s) cannot be what delivers the cancel.
    let w = Worker::on(&redis).exec(&h).lease("60s").start();
    let id = enqueue(&redis, &["slow"]);
    wait_until("handler to start", T, || {
        std::fs::read_to_string(&pidfile).is_ok_and(|s| !s.trim().is_empty())
    });
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    let r = run(jobq(&redis).args(["cancel", &id])).ok();
    assert!(r.stdout.contains("cancelling"), "{}", r.stdout);
    wait_for_state(&redis, &id, "cancelled", Duration::from_secs(5));
    wait_until("handler process to be gone", T, || !pid_alive(pid));
    let job = inspect(&redis, &id);
    assert_eq!(job["attempt"], 1, "not retried");
    assert!(w.log().contains("cancelled by an operator"), "{}", w.log());
    // Nothing waits to run it again.
    assert!(ids_of(&json(
        &redis,
        &["ls", "--queue", "normal", "--state", "scheduled"]
    ))
    .is_empty());
    assert!(ids_of(&json(&redis, &["ls", "--queue", "normal", "--state", "queued"])).is_empty());
    // Cancelling it again is no error (the wish holds already) and changes nothing.
    let before = redis.digest();
    let r = run(jobq(&redis).args(["cancel", &id])).ok();
    assert!(r.stdout.contains("already cancelled"), "{}", r.stdout);
    assert_eq!(redis.digest(), before);
}

#[test]
fn cancelled_queued_and_scheduled_jobs_never_run() {
    let redis = Redis::start();
    let ledger_path = redis.dir.path().join("ran");
    let h = script(
        redis.dir.path(),
        "h.sh",
        &format!("echo $JOBQ_JOB_ID >> {}", ledger_path.display()),
    );
    let queued = enqueue(&redis, &["t", "--unique-key", "k1"]);
    let delayed = enqueue(&redis, &["t", "--delay", "1s"]);
    let kept = enqueue(&redis, &["t"]);
    let r = run(jobq(&redis).args(["cancel", &queued, &delayed, "--json"])).ok();
    assert_eq!(r.stdout.matches("\"cancelled\"").count(), 2, "{}", r.stdout);
    assert_eq!(state(&redis, &queued), "cancelled");
    assert_eq!(state(&redis, &delayed), "cancelled");
    // The unique key is free again.
    let again = enqueue(&redis, &["t", "--unique-key", "k1"]);
    assert_ne!(again, queued);
    let hp = format!("t={}", h.display());
    burst(&redis, "normal", &[&hp]);
    let ran: HashSet<String> = ledger(&ledger_path).into_iter().collect();
    assert_eq!(ran, HashSet::from([kept, again]));
    let stats = json(&redis, &["stats"]);
    assert_eq!(stats["totals"]["queued"], 0);
    assert_eq!(stats["totals"]["cancelled"], 2);
}

#[test]
fn dlq_drain_with_yes_requeues_exactly_the_dead_jobs() {
    let redis = Redis::start();
    let dead_a = dead_jobs(&redis, "qa", "boom", 3);
    let dead_b = dead_jobs(&redis, "qb", "boom", 2);
    let waiting = enqueue(&redis, &["other", "--queue", "qa"]);
    let listed: HashSet<String> = ids_of(&json(&redis, &["dlq", "ls"])).into_iter().collect();
    let all_dead: HashSet<String> = dead_a.iter().chain(&dead_b).cloned().collect();
    assert_eq!(listed, all_dead);
    let report = json(&redis, &["dlq", "drain", "--yes"]);
    assert_eq!(report["total"], 5);
    assert_eq!(report["queues"]["qa"], 3);
    assert_eq!(report["queues"]["qb"], 2);
    assert_eq!(report["interrupted"], false);
    for id in &all_dead {
        let job = inspect(&redis, id);
        assert_eq!(job["state"], "queued");
        assert_eq!(job["attempt"], 0, "attempts reset");
        assert_eq!(job["errors"].as_array().unwrap().len(), 1, "history kept");
    }
    assert_eq!(state(&redis, &waiting), "queued");
    let stats = json(&redis, &["stats"]);
    assert_eq!(stats["totals"]["dead"], 0);
    assert_eq!(stats["totals"]["queued"], 6);
    assert!(ids_of(&json(&redis, &["dlq", "ls"])).is_empty());
}

#[test]
fn dlq_filters_and_limit_and_purge() {
    let redis = Redis::start();
    let a = dead_jobs(&redis, "q", "a", 3);
    let b = dead_jobs(&redis, "q", "b", 2);
    let report = json(&redis, &["dlq", "drain", "--type", "a", "--limit", "2", "--yes"]);
    assert_eq!(report["total"], 2);
    let requeued = a.iter().filter(|id| state(&redis, id) == "queued").count();
    assert_eq!(requeued, 2);
    assert!(b.iter().all(|id| state(&redis, id) == "dead"));
    let report = json(&redis, &["dlq", "purge", "--queue", "q", "--type", "b", "--yes"]);
    assert_eq!(report["total"], 2);
    for id in &b {
        assert_eq!(run(jobq(&redis).args(["inspect", id])).code, NOT_FOUND);
    }
    assert_eq!(ids_of(&json(&redis, &["dlq", "ls"])).len(), 1);
}

#[test]
fn destructive_commands_refuse_without_a_terminal_and_change_nothing() {
    let redis = Redis::start();
    dead_jobs(&redis, "q", "boom", 2);
    enqueue(&redis, &["x", "--queue", "q"]);
    for args in [
        vec!["dlq", "drain"],
        vec!["dlq", "purge"],
        vec!["purge", "q", "--state", "all"],
        vec!["retry", "--state", "dead"],
    ] {
        let before = redis.digest();
        let r = run(jobq(&redis).args(&args));
        assert_eq!(r.code, USAGE, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("--yes"), "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert_eq!(r.stdout, "");
        assert_eq!(redis.digest(), before, "{args:?} changed the keyspace");
    }
}

/// A tmux server of its own (own socket), killed on drop.
pub(crate) struct Tmux {
    socket: String,
}

impl Tmux {
    pub(crate) fn start(redis: &Redis, command: &str) -> Tmux {
        // A server of its own per session (reusing a socket races with the last one's exit),
        // its socket in the test's temp dir, which goes away with the test.
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = redis
            .dir
            .path()
            .join(format!("tmux-{n}.sock"))
            .display()
            .to_string();
        let shell = format!(
            "JOBQ_REDIS_URL='{}' {} ; echo EXIT=$? ; sleep 600",
            redis.url(),
            command
        );
        let out = Command::new("tmux")
            .args([
                "-S",
                &socket,
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "40",
                &shell,
            ])
            .env_remove("TMUX")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux { socket }
    }

    pub(crate) fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-S", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Whether the terminal's cursor is shown (a prompt that hid it must show it again).
    pub(crate) fn cursor_visible(&self) -> bool {
        let out = Command::new("tmux")
            .args(["-S", &self.socket, "display-message", "-p", "#{cursor_flag}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    pub(crate) fn keys(&self, keys: &str) {
        Command::new("tmux")
            .args(["-S", &self.socket, "send-keys", keys])
            .status()
            .unwrap();
    }

    pub(crate) fn wait_for(&self, text: &str) {
        wait_until(&format!("{text:?} on the terminal"), T, || {
            self.screen().contains(text)
        });
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-S", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn drain_asks_on_a_terminal_and_does_what_the_answer_says() {
    let redis = Redis::start();
    let ids = dead_jobs(&redis, "q", "boom", 2);
    let bin = env!("CARGO_BIN_EXE_jobq");
    let before = redis.digest();
    {
        let tmux = Tmux::start(&redis, &format!("{bin} dlq drain"));
        tmux.wait_for("Requeue 2 dead jobs from 1 queue?");
        tmux.keys("n");
        tmux.keys("Enter");
        tmux.wait_for("EXIT=1");
    }
    assert_eq!(redis.digest(), before, "answering no changes nothing");
    {
        let tmux = Tmux::start(&redis, &format!("{bin} dlq drain"));
        tmux.wait_for("Requeue 2 dead jobs from 1 queue?");
        tmux.keys("C-c");
        tmux.wait_for("EXIT=130");
    }
    assert_eq!(redis.digest(), before, "Ctrl-C at the prompt changes nothing");
    let tmux = Tmux::start(&redis, &format!("{bin} dlq drain"));
    tmux.wait_for("Requeue 2 dead jobs from 1 queue? [y/N]");
    tmux.keys("y");
    tmux.keys("Enter");
    tmux.wait_for("EXIT=0");
    assert!(tmux.screen().contains("requeued 2 jobs"), "{}", tmux.screen());
    for id in &ids {
        assert_eq!(state(&redis, id), "queued");
    }
}

#[test]
fn pause_stops_intake_and_resume_restarts_it_without_restarting_workers() {
    let redis = Redis::start();
    let ledger_path = redis.dir.path().join("ran");
    let h = script(
        redis.dir.path(),
        "h.sh",
        &format!("echo $JOBQ_JOB_ID >> {}", ledger_path.display()),
    );
    enqueue(&redis, &["t", "--queue", "p"]); // makes the queue known
    let _w = Worker::on(&redis).queues("p,other").exec(&h).start();
    wait_until("first job to run", T, || ledger(&ledger_path).len() == 1);
    let r = run(jobq(&redis).args(["pause", "p"])).ok();
    assert_eq!(r.stdout.trim(), "queue p is paused");
    let held = enqueue(&redis, &["t", "--queue", "p"]);
    // The worker looks at `p` before `other` (strict order): once it ran a later job of
    // `other`, it has seen the paused `p` and left its job alone.
    let later = enqueue(&redis, &["t", "--queue", "other"]);
    wait_for_state(&redis, &later, "completed", T);
    assert_eq!(state(&redis, &held), "queued");
    let stats = json(&redis, &["stats", "--queue", "p"]);
    assert_eq!(stats["queues"][0]["paused"], true);
    assert_eq!(stats["queues"][0]["queued"], 1);
    run(jobq(&redis).args(["resume", "p"])).ok();
    wait_for_state(&redis, &held, "completed", T);
    assert_eq!(
        json(&redis, &["stats", "--queue", "p"])["queues"][0]["paused"],
        false
    );
}

#[test]
fn stats_json_equals_the_ground_truth_of_a_scenario() {
    let redis = Redis::start();
    for _ in 0..3 {
        enqueue(&redis, &["ok", "--queue", "s"]);
    }
    for _ in 0..2 {
        enqueue(&redis, &["bad", "--queue", "s", "--max-attempts", "1"]);
    }
    let retrying = enqueue(&redis, &["flaky", "--queue", "s", "--max-attempts", "3"]);
    enqueue(&redis, &["later", "--queue", "s", "--delay", "1h"]);
    let cancelled = enqueue(&redis, &["ok", "--queue", "s"]);
    run(jobq(&redis).args(["cancel", &cancelled])).ok();
    burst(&redis, "s", &["ok=true", "bad=false", "flaky=false"]);
    assert_eq!(state(&redis, &retrying), "scheduled");
    let waiting: Vec<String> = (0..3).map(|_| enqueue(&redis, &["ok", "--queue", "s"])).collect();
    run(jobq(&redis).args(["cancel", &waiting[2]])).ok();
    run(jobq(&redis).args(["pause", "s"])).ok();

    let stats = json(&redis, &["stats"]);
    let q = &stats["queues"][0];
    assert_eq!(stats["queues"].as_array().unwrap().len(), 1);
    assert_eq!(q["queue"], "s");
    assert_eq!(q["paused"], true);
    assert_eq!(q["queued"], 2);
    assert_eq!(q["scheduled"], 2, "the delayed job and the retry");
    assert_eq!(q["active"], 0);
    assert_eq!(q["dead"], 2);
    assert_eq!(q["cancelled"], 2);
    assert_eq!(q["completed"], 3);
    assert_eq!(q["processed_total"], 3);
    assert_eq!(q["failed_total"], 3, "two dead + one retrying");
    assert_eq!(q["dead_total"], 2);
    assert_eq!(q["processed_last_minute"], 3);
    assert!(q["oldest_queued_age_ms"].as_u64().is_some());
    let days = q["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    let today = &days[6];
    assert_eq!(today["date"], chrono::Utc::now().format("%Y-%m-%d").to_string());
    assert_eq!(
        (
            today["processed"].as_u64(),
            today["failed"].as_u64(),
            today["dead"].as_u64()
        ),
        (Some(3), Some(3), Some(2))
    );
    assert!(days[..6].iter().all(|d| d["processed"] == 0));
    let mut totals = q.clone();
    totals["queue"] = "total".into();
    assert_eq!(stats["totals"], totals);
    assert_eq!(stats["workers"], 0);
    // The human table has a row per queue and a totals row.
    let text = run(jobq(&redis).arg("stats")).ok().stdout;
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("s (paused) ")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("total")),
        "{text}"
    );
    assert!(text.contains("LAST 7 DAYS"), "{text}");
}

/// Numbered jobs (`--priority 1..10` other than 5) wait in the queue's `ranked` set, not in
/// its list: the age of the oldest queued job (stats, doctor, /metrics) counts them too.
#[test]
fn oldest_queued_age_counts_jobs_with_a_numbered_priority() {
    let redis = Redis::start();
    let old = enqueue(&redis, &["t", "--queue", "p", "--priority", "8"]);
    let cancelled = enqueue(&redis, &["t", "--queue", "p", "--priority", "2"]);
    enqueue(&redis, &["t", "--queue", "p", "--priority", "2"]);
    enqueue(&redis, &["t", "--queue", "p"]);
    run(jobq(&redis).args(["cancel", &cancelled])).ok();
    // Back-dated: `old` came an hour ago; the cancelled one two hours ago (no longer queued).
    let mut c = redis.conn();
    let (secs, _): (u64, u64) = redis::cmd("TIME").query(&mut c).unwrap();
    let now = secs * 1000;
    for (id, ago) in [(&old, 3_600_000), (&cancelled, 7_200_000)] {
        let at = now - ago;
        let _: () = redis::cmd("HSET")
            .arg(format!("{{jobq:p}}:job:{id}"))
            .arg("created_ms")
            .arg(at)
            .arg("scheduled_ms")
            .arg(at)
            .query(&mut c)
            .unwrap();
    }
    let stats = json(&redis, &["stats"]);
    let q = &stats["queues"][0];
    assert_eq!(q["queued"], 3);
    let age = q["oldest_queued_age_ms"].as_u64().unwrap();
    assert!((3_600_000..7_200_000).contains(&age), "{q}");
    let r = run(jobq(&redis).args(["doctor", "--json", "--max-age", "30m"]));
    let findings: Value = serde_json::from_str(&r.stdout).unwrap();
    let backlog = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "queue p: backlog")
        .unwrap_or_else(|| panic!("{findings}"));
    assert_eq!(backlog["level"], "problem", "{backlog}");
}

#[test]
fn ls_pages_through_a_large_set() {
    let redis = Redis::start();
    const N: usize = 3000;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ids: Vec<String> = rt.block_on(async {
        let store = jobq::Store::connect(&redis.url(), "jobq", jobq::RetryPolicy::CLI)
            .await
            .unwrap();
        let mut ids = Vec::with_capacity(N);
        for i in 0..N {
            let kind = if i % 3 == 0 { "a" } else { "b" };
            let job = jobq::NewJob::new(kind, "big", &serde_json::json!({ "i": i }));
            ids.push(store.enqueue(&job).await.unwrap().id().to_string());
        }
        ids
    });
    // Cancelled ids stay in the queued list; ls must not show them as queued.
    for id in &ids[10..15] {
        run(jobq(&redis).args(["cancel", id])).ok();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut args = vec!["ls", "--queue", "big", "--state", "queued", "--limit", "700"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c]);
        }
        let page = json(&redis, &args);
        let got = ids_of(&page);
        assert!(got.len() <= 700);
        seen.extend(got);
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert!(pages >= 5, "{pages} pages");
    let expected: Vec<String> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| !(10..15).contains(i))
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(seen, expected, "every queued job once, next to run first");
    // A type filter over the same set.
    let a = json(
        &redis,
        &["ls", "--queue", "big", "--type", "a", "--limit", "5000"],
    );
    // Every state is listed: job 12 (type a) shows once, as cancelled, not also as queued.
    assert_eq!(ids_of(&a).len(), N / 3);
}

#[test]
fn retry_by_id_and_in_bulk() {
    let redis = Redis::start();
    let dead = dead_jobs(&redis, "q", "boom", 1);
    let flaky: Vec<String> = (0..2)
        .map(|_| enqueue(&redis, &["flaky", "--queue", "q", "--max-attempts", "3"]))
        .collect();
    burst(&redis, "q", &["flaky=false"]);
    let failed = json(&redis, &["ls", "--queue", "q", "--state", "failed"]);
    assert_eq!(ids_of(&failed).len(), 2);
    // One dead job, by id: fresh attempts.
    run(jobq(&redis).args(["retry", &dead[0]])).ok();
    let job = inspect(&redis, &dead[0]);
    assert_eq!(
        (job["state"].as_str(), job["attempt"].as_u64()),
        (Some("queued"), Some(0))
    );
    // Retrying a queued job is a conflict; an unknown id is not found; nothing changes.
    let before = redis.digest();
    assert_eq!(run(jobq(&redis).args(["retry", &dead[0]])).code, CONFLICT);
    assert_eq!(
        run(jobq(&redis).args(["retry", "q-01JD8XQ4T3M6Z6Q7W8E9R0TYVP"])).code,
        NOT_FOUND
    );
    assert_eq!(redis.digest(), before);
    // The failed ones, in bulk: they run now, their attempt count kept.
    let report = json(&redis, &["retry", "--state", "failed", "--queue", "q", "--yes"]);
    assert_eq!(report["total"], 2);
    for id in &flaky {
        let job = inspect(&redis, id);
        assert_eq!(
            (job["state"].as_str(), job["attempt"].as_u64()),
            (Some("queued"), Some(1))
        );
    }
}

#[test]
fn purge_deletes_one_state_of_one_queue() {
    let redis = Redis::start();
    let mut queued: Vec<String> = (0..5).map(|_| enqueue(&redis, &["t", "--queue", "p"])).collect();
    // Numbered jobs wait apart from the plain list (README "Numbered priorities"): queued too.
    queued.extend(["2", "9"].map(|n| enqueue(&redis, &["t", "--queue", "p", "--priority", n])));
    let later = enqueue(&redis, &["t", "--queue", "p", "--delay", "1h"]);
    let elsewhere = enqueue(&redis, &["t", "--queue", "keep"]);
    let report = json(&redis, &["purge", "p", "--yes"]);
    assert_eq!(report["total"], 7);
    for id in &queued {
        assert_eq!(run(jobq(&redis).args(["inspect", id])).code, NOT_FOUND);
    }
    assert_eq!(state(&redis, &later), "scheduled");
    assert_eq!(state(&redis, &elsewhere), "queued");
    let report = json(&redis, &["purge", "p", "--state", "all", "--yes"]);
    assert_eq!(report["total"], 1);
    let s = json(&redis, &["stats", "--queue", "p"]);
    assert_eq!(
        (s["totals"]["queued"].as_u64(), s["totals"]["scheduled"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn workers_lists_live_workers_and_forgets_dead_ones() {
    let redis = Redis::start();
    let h = script(redis.dir.path(), "slow.sh", "exec sleep 300");
    let w = Worker::on(&redis)
        .queues("w1,w2")
        .exec(&h)
        .lease("1s")
        .arg("-c")
        .arg("3")
        .start();
    let id = enqueue(&redis, &["t", "--queue", "w1"]);
    wait_for_state(&redis, &id, "active", T);
    wait_until("the heartbeat to list the job", T, || {
        json(&redis, &["workers"])[0]["jobs"][0] == id.as_str()
    });
    let list = json(&redis, &["workers"]);
    let me = &list[0];
    assert_eq!(me["pid"], w.pid());
    assert_eq!(me["queues"], serde_json::json!(["w1", "w2"]));
    assert_eq!(me["concurrency"], 3);
    let text = run(jobq(&redis).arg("workers")).ok().stdout;
    assert!(text.contains("1/3") && text.contains(&id), "{text}");
    w.signal(libc::SIGKILL);
    wait_until("the dead worker to drop out", T, || {
        json(&redis, &["workers"]).as_array().unwrap().is_empty()
    });
    assert_eq!(json(&redis, &["stats"])["workers"], 0);
}

#[test]
fn operator_commands_reject_bad_input_without_writing() {
    let redis = Redis::start();
    enqueue(&redis, &["t"]);
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["ls", "--cursor", "garbage"], USAGE),
        (vec!["ls", "--limit", "0"], USAGE),
        (vec!["ls", "--type", "a:b"], USAGE),
        (vec!["ls", "--queue", "nope"], NOT_FOUND),
        (vec!["cancel", "not-an-id"], USAGE),
        (vec!["cancel", "normal-01JD8XQ4T3M6Z6Q7W8E9R0TYVP"], NOT_FOUND),
        (vec!["retry", "--state", "dead", "--queue", "a*"], USAGE),
        (vec!["pause", "nope"], NOT_FOUND),
        (vec!["resume", "no{pe"], USAGE),
        (vec!["purge", "normal", "--state", "active"], USAGE),
        (vec!["dlq", "drain", "--limit", "0", "--yes"], USAGE),
        (vec!["stats", "--watch", "1ms"], USAGE),
    ];
    for (args, code) in cases {
        let before = redis.digest();
        let r = run(jobq(&redis).args(&args));
        assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("jobq: error: "), "{}", r.stderr);
        assert_eq!(redis.digest(), before, "{args:?} changed the keyspace");
    }
}

/// `n` dead jobs in `queue`, made by the library: enqueue, then a burst worker whose in-process
/// handler fails every job permanently.
fn many_dead_jobs(redis: &Redis, queue: &str, n: usize) -> Vec<String> {
    use jobq::worker::{Outcome, Shutdown, Worker as LibWorker, WorkerConfig};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = std::sync::Arc::new(
            jobq::Store::connect(&redis.url(), "jobq", jobq::RetryPolicy::CLI)
                .await
                .unwrap(),
        );
        let mut ids = Vec::with_capacity(n);
        for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
            let jobs = chunk
                .iter()
                .map(|i| jobq::NewJob::new("boom", queue, &serde_json::json!({ "i": i })));
            let enqueued = futures_util::future::join_all(jobs.map(|j| {
                let store = store.clone();
                async move { store.enqueue(&j).await.unwrap().id().to_string() }
            }))
            .await;
            ids.extend(enqueued);
        }
        let config = WorkerConfig {
            queues: vec![queue.to_string()],
            concurrency: 64,
            burst: true,
            ..WorkerConfig::default()
        };
        let handler = |_job, _control| async {
            Outcome::Failed {
                error: "boom".into(),
                permanent: true,
            }
        };
        LibWorker::new(store, config, std::sync::Arc::new(handler))
            .run(Shutdown::default())
            .await
            .unwrap();
        ids
    })
}

#[test]
fn ctrl_c_during_a_drain_leaves_every_job_either_dead_or_requeued() {
    let redis = Redis::start();
    const N: usize = 6000;
    let ids = many_dead_jobs(&redis, "d", N);
    let mut conn = redis.conn();
    let zcard =
        |c: &mut redis::Connection| -> usize { redis::cmd("ZCARD").arg("{jobq:d}:dead").query(c).unwrap() };
    assert_eq!(zcard(&mut conn), N);
    let child = jobq(&redis)
        .args(["dlq", "drain", "--yes", "--json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the first batch has landed.
    wait_until("the drain to start", T, || zcard(&mut redis.conn()) < N);
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let r = Run::from(child.wait_with_output().unwrap());
    assert!(r.code == 130 || r.code == 0, "{}: {}", r.code, r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let dead: HashSet<String> = redis::cmd("ZRANGE")
        .arg("{jobq:d}:dead")
        .arg(0)
        .arg(-1)
        .query::<Vec<String>>(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    let queued: Vec<String> = redis::cmd("LRANGE")
        .arg("{jobq:d}:queued")
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    let queued_set: HashSet<String> = queued.iter().cloned().collect();
    assert_eq!(queued.len(), queued_set.len(), "no job requeued twice");
    assert_eq!(report["total"].as_u64(), Some(queued.len() as u64));
    assert_eq!(report["interrupted"], r.code == 130);
    for id in &ids {
        let state: String = redis::cmd("HGET")
            .arg(format!("{{jobq:d}}:job:{id}"))
            .arg("state")
            .query(&mut conn)
            .unwrap();
        match (dead.contains(id), queued_set.contains(id)) {
            (true, false) => assert_eq!(state, "dead"),
            (false, true) => assert_eq!(state, "queued"),
            other => panic!("job {id} is dead/queued = {other:?}"),
        }
    }
    if r.code == 130 {
        assert!(!dead.is_empty(), "interrupted before the end");
        assert!(r.stderr.contains("interrupted"), "{}", r.stderr);
    }
}

#[test]
fn a_cancelled_job_whose_worker_died_ends_cancelled_not_requeued() {
    let redis = Redis::start();
    let ran = redis.dir.path().join("ran");
    let h = script(
        redis.dir.path(),
        "slow.sh",
        &format!("echo $JOBQ_JOB_ID >> {}\nexec sleep 300", ran.display()),
    );
    let args = [
        "--queues",
        "normal",
        "--exec",
        h.to_str().unwrap(),
        "--lease",
        "1s",
    ];
    let w = Worker::start(&redis, &args);
    let id = enqueue(&redis, &["slow"]);
    wait_until("handler to start", T, || ledger(&ran).len() == 1);
    w.signal(libc::SIGKILL);
    drop(w);
    let r = run(jobq(&redis).args(["cancel", &id])).ok();
    assert!(r.stdout.contains("cancelling"), "{}", r.stdout);
    // Another worker recovers the expired lease: the job ends cancelled instead of running again.
    let w2 = Worker::start(&redis, &args);
    wait_for_state(&redis, &id, "cancelled", T);
    assert_eq!(ledger(&ran).len(), 1, "ran once");
    // Kept for the retention of cancelled jobs, like any other finished job.
    let ttl = |id: &str| -> i64 {
        redis::cmd("PTTL")
            .arg(format!("{{jobq:normal}}:job:{id}"))
            .query(&mut redis.conn())
            .unwrap()
    };
    assert!(ttl(&id) > 0, "the job hash expires");
    drop(w2);

    // The same through `doctor --fix`'s recovery pass (recover.lua), with no worker left.
    let w = Worker::start(&redis, &args);
    let id = enqueue(&redis, &["slow"]);
    wait_until("handler to start", T, || ledger(&ran).len() == 2);
    w.signal(libc::SIGKILL);
    drop(w);
    run(jobq(&redis).args(["cancel", &id])).ok();
    wait_until("the lease to run out", T, || {
        let mut c = redis.conn();
        let (s, _): (u64, u64) = redis::cmd("TIME").query(&mut c).unwrap();
        let due: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg("{jobq:normal}:active")
            .arg("-inf")
            .arg(s * 1000)
            .query(&mut c)
            .unwrap();
        due.contains(&id)
    });
    run(jobq(&redis).args(["doctor", "--fix"]));
    assert_eq!(state(&redis, &id), "cancelled");
    assert!(ttl(&id) > 0, "the job hash expires");
}

#[test]
fn ls_cursor_walks_every_queue_and_state_once() {
    let redis = Redis::start();
    let mut expected = HashSet::new();
    for q in ["a", "b", "c"] {
        for _ in 0..3 {
            expected.insert(enqueue(&redis, &["t", "--queue", q]));
        }
        expected.insert(enqueue(&redis, &["t", "--queue", q, "--delay", "1h"]));
    }
    expected.extend(dead_jobs(&redis, "b", "boom", 2));
    let everything = ids_of(&json(&redis, &["ls", "--limit", "1000"]));
    assert_eq!(everything.iter().cloned().collect::<HashSet<_>>(), expected);
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["ls", "--limit", "3"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c]);
        }
        let page = json(&redis, &args);
        paged.extend(ids_of(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(
        paged, everything,
        "pages of 3 list the same jobs in the same order"
    );
}

#[test]
fn stats_watch_redraws_on_a_terminal() {
    let redis = Redis::start();
    enqueue(&redis, &["t", "--queue", "w"]);
    let bin = env!("CARGO_BIN_EXE_jobq");
    let tmux = Tmux::start(&redis, &format!("{bin} stats --watch 200ms"));
    tmux.wait_for("LAST 7 DAYS");
    run(jobq(&redis).args(["pause", "w"])).ok();
    tmux.wait_for("w (paused)");
    // Redrawn in place: one table on the screen, not one per interval.
    assert_eq!(
        tmux.screen().matches("LAST 7 DAYS").count(),
        1,
        "{}",
        tmux.screen()
    );
    tmux.keys("C-c");
    tmux.wait_for("EXIT=130");
}

#[test]
fn workers_drop_per_day_counters_past_their_retention() {
    let redis = Redis::start();
    let id = enqueue(&redis, &["t", "--queue", "r"]);
    run(jobq(&redis).args(["worker", "--burst", "--queues", "r", "--exec", "true"])).ok();
    assert_eq!(state(&redis, &id), "completed");
    // Counters as an old deployment would have left them (no job API writes past days).
    let old = ["processed:2000-01-01", "failed:2000-01-01", "dead:2000-01-02"];
    for f in old {
        let _: () = redis::cmd("HSET")
            .arg("{jobq:r}:stats")
            .arg(f)
            .arg(7)
            .query(&mut redis.conn())
            .unwrap();
    }
    let _w = Worker::on(&redis).queues("r").exec("true").start();
    wait_until("old day fields to go", T, || {
        let h = hgetall(&redis, "{jobq:r}:stats");
        old.iter().all(|f| !h.contains_key(*f))
    });
    let h = hgetall(&redis, "{jobq:r}:stats");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        h.get(&format!("processed:{today}")).map(String::as_str),
        Some("1")
    );
    assert_eq!(h.get("processed").map(String::as_str), Some("1"));
}
