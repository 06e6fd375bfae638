//! Bulk enqueue (`enqueue --batch`), persistent handlers and `jobq bench` (structure only:
//! timings belong in the bench's output, not in assertions).

use std::process::Command;

use crate::util::*;

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

#[test]
fn batch_prints_ids_in_line_order_with_per_line_options() {
    let redis = Redis::start();
    let file = redis.dir.path().join("jobs.jsonl");
    std::fs::write(
        &file,
        concat!(
            "{\"type\":\"a\",\"payload\":{\"n\":1}}\n",
            "\n",
            "{\"type\":\"b\",\"data\":{\"n\":2},\"queue\":\"media\",\"max_attempts\":2}\n",
            "{\"type\":\"c\",\"priority\":\"high\",\"delay\":\"1h\",\"timeout\":\"5s\"}\n",
        ),
    )
    .unwrap();
    let r = run(jobq(&redis).args(["enqueue", "--batch"]).arg(&file)).ok();
    let ids = lines(&r.stdout);
    assert_eq!(ids.len(), 3);
    let jobs: Vec<_> = ids.iter().map(|id| inspect(&redis, id)).collect();
    assert_eq!(jobs[0]["type"], "a");
    assert_eq!(jobs[0]["queue"], "normal");
    assert_eq!(jobs[0]["payload"]["n"], 1);
    assert_eq!(jobs[1]["queue"], "media");
    assert_eq!(jobs[1]["payload"]["n"], 2);
    assert_eq!(jobs[1]["max_attempts"], 2);
    assert_eq!(jobs[2]["queue"], "high");
    assert_eq!(jobs[2]["state"], "scheduled");
}

#[test]
fn batch_from_stdin_uses_flags_as_defaults_and_reports_duplicates_in_json() {
    let redis = Redis::start();
    let input =
        b"{\"type\":\"x\",\"unique_key\":\"k\"}\n{\"type\":\"x\",\"unique_key\":\"k\"}\n{\"type\":\"y\"}\n";
    let r = run_with_stdin(
        jobq(&redis).args(["enqueue", "--batch", "-", "--queue", "bulk", "--json"]),
        input,
    )
    .ok();
    let rows: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["line"], 1);
    assert_eq!(rows[0]["outcome"], "queued");
    assert_eq!(rows[1]["outcome"], "duplicate");
    assert_eq!(rows[1]["id"], rows[0]["id"]);
    assert_eq!(rows[2]["line"], 3);
    assert_eq!(inspect(&redis, rows[2]["id"].as_str().unwrap())["queue"], "bulk");
}

#[test]
fn batch_with_a_bad_line_names_it_and_enqueues_nothing() {
    let redis = Redis::start();
    let before = redis.digest();
    for (input, line) in [
        (&b"{\"type\":\"ok\"}\n{\"type\":\"bad name\"}\n"[..], "line 2"),
        (
            &b"{\"type\":\"ok\"}\n{\"type\":\"ok\"}\n\nnot json\n"[..],
            "line 4",
        ),
        (&b"{\"type\":\"ok\",\"colour\":\"red\"}\n"[..], "line 1"),
        (&b"{\"type\":\"ok\",\"delay\":\"soon\"}\n"[..], "line 1"),
        (&b"{\"type\":\"ok\",\"priority\":\"urgent\"}\n"[..], "line 1"),
    ] {
        let r = run_with_stdin(jobq(&redis).args(["enqueue", "--batch", "-"]), input);
        assert_eq!(r.code, 2, "stderr: {}", r.stderr);
        assert_eq!(r.stdout, "");
        assert_eq!(r.stderr.lines().count(), 1, "one error line: {}", r.stderr);
        assert!(
            r.stderr.contains(line) && r.stderr.contains("nothing was enqueued"),
            "{}",
            r.stderr
        );
    }
    let r = run(jobq(&redis).args(["enqueue", "--batch", "/nonexistent/jobs.jsonl"]));
    assert_eq!(r.code, 2);
    assert_eq!(redis.digest(), before);
}

/// A persistent handler in sh: answers by payload word (`ok`, `fail`, `perm`, `garbage`,
/// `die`, `slow`), reporting its own pid so reuse and restarts are visible.
fn persistent_handler(redis: &Redis) -> std::path::PathBuf {
    script(
        redis.dir.path(),
        "persistent.sh",
        r#"while IFS= read -r line; do
  id=$(printf '%s' "$line" | sed 's/.*"id":"\([^"]*\)".*/\1/')
  case "$line" in
    *'"w":"fail"'*) printf '{"id":"%s","ok":false,"error":"soft failure"}\n' "$id" ;;
    *'"w":"perm"'*) printf '{"id":"%s","ok":false,"error":"hard failure","permanent":true}\n' "$id" ;;
    *'"w":"garbage"'*) echo "hello from a print statement" ;;
    *'"w":"die"'*) echo "crashing now" >&2; exit 3 ;;
    *'"w":"slow"'*) sleep 30 ;;
    *) printf '{"id":"%s","progress":{"done":1}}\n' "$id"
       printf '{"id":"%s","ok":true,"result":{"pid":%s}}\n' "$id" "$$" ;;
  esac
done"#,
    )
}

fn enqueue_word(redis: &Redis, word: &str, extra: &[&str]) -> String {
    let data = format!("{{\"w\":\"{word}\"}}");
    let mut args = vec!["t", "--queue", "p", "--data", &data];
    args.extend_from_slice(if extra.is_empty() {
        &["--max-attempts", "1"]
    } else {
        extra
    });
    enqueue(redis, &args)
}

fn burst_persistent(redis: &Redis, handler: &std::path::Path) {
    let h = format!("t={}", handler.display());
    run(jobq(redis).args([
        "worker",
        "--queues",
        "p",
        "--burst",
        "-c",
        "1",
        "--persistent",
        "--handler",
        &h,
    ]))
    .ok();
}

#[test]
fn persistent_handler_reuses_one_process_and_reports_errors() {
    let redis = Redis::start();
    let h = persistent_handler(&redis);
    let ok: Vec<String> = (0..3).map(|_| enqueue_word(&redis, "ok", &[])).collect();
    let fail = enqueue_word(&redis, "fail", &["--max-attempts", "3"]);
    let perm = enqueue_word(&redis, "perm", &["--max-attempts", "3"]);
    burst_persistent(&redis, &h);
    let pids: Vec<_> = ok
        .iter()
        .map(|id| inspect(&redis, id)["result"]["pid"].clone())
        .collect();
    assert!(pids[0].is_number());
    assert!(
        pids.iter().all(|p| *p == pids[0]),
        "one process for all jobs: {pids:?}"
    );
    let f = inspect(&redis, &fail);
    assert_eq!(f["state"], "scheduled", "a soft failure is retried");
    assert_eq!(f["error"], "soft failure");
    let p = inspect(&redis, &perm);
    assert_eq!(p["state"], "dead", "permanent skips the remaining attempts");
    assert_eq!(p["attempt"], 1);
    assert_eq!(p["error"], "hard failure");
}

#[test]
fn persistent_handler_that_dies_or_misbehaves_fails_the_attempt_and_is_replaced() {
    let redis = Redis::start();
    let h = persistent_handler(&redis);
    let first = enqueue_word(&redis, "ok", &[]);
    let die = enqueue_word(&redis, "die", &[]);
    let after_die = enqueue_word(&redis, "ok", &[]);
    let garbage = enqueue_word(&redis, "garbage", &[]);
    let slow = enqueue_word(&redis, "slow", &["--timeout", "300ms", "--max-attempts", "1"]);
    let last = enqueue_word(&redis, "ok", &[]);
    burst_persistent(&redis, &h);
    let d = inspect(&redis, &die);
    assert_eq!(d["state"], "dead");
    let err = d["error"].as_str().unwrap();
    assert!(err.contains("exited") && err.contains("crashing now"), "{err}");
    let g = inspect(&redis, &garbage)["error"].as_str().unwrap().to_string();
    assert!(g.contains("not a jobq reply"), "{g}");
    let s = inspect(&redis, &slow)["error"].as_str().unwrap().to_string();
    assert!(s.contains("timed out"), "{s}");
    let pid = |id: &str| inspect(&redis, id)["result"]["pid"].as_i64().unwrap();
    assert_eq!(state(&redis, &after_die), "completed");
    assert_eq!(state(&redis, &last), "completed");
    assert_ne!(pid(&first), pid(&after_die), "the dead process was replaced");
    // The process that wrote garbage was replaced too, and so was the one killed by the timeout.
    assert_ne!(pid(&after_die), pid(&last));
    assert!(!pid_alive(pid(&after_die) as i32), "a retired process is killed");
}

#[test]
fn bench_runs_end_to_end_and_prints_well_formed_json() {
    let redis = Redis::start(); // only for the `jobq` builder; the bench starts its own server
    let r = run(jobq(&redis).args([
        "bench",
        "--jobs",
        "200",
        "--repeat",
        "2",
        "-c",
        "4",
        "--rate",
        "500",
        "--latency-jobs",
        "40",
        "--idle-window",
        "300ms",
        "--backlogs",
        "100,300",
        "--external-jobs",
        "10",
        "--json",
    ]))
    .ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("--json prints JSON");
    assert_eq!(v["config"]["jobs"], 200);
    let figures = v["figures"].as_array().unwrap();
    let names: Vec<&str> = figures.iter().map(|f| f["name"].as_str().unwrap()).collect();
    for want in [
        "single_enqueue",
        "bulk_enqueue",
        "processed",
        "commands_per_job",
        "latency_p50",
        "latency_p99",
        "idle_worker_commands",
        "worker_peak_rss",
        "exec_per_job_processed",
    ] {
        assert!(names.contains(&want), "missing {want} in {names:?}");
    }
    let python = Command::new("python3")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert_eq!(names.contains(&"persistent_python_processed"), python);
    for f in figures {
        assert_eq!(f["samples"].as_array().unwrap().len(), 2, "{f}");
        assert!(
            f["median"].is_number() && f["min"].is_number() && f["max"].is_number(),
            "{f}"
        );
        assert!(f["unit"].is_string());
    }
    let backlog = v["backlog"].as_array().unwrap();
    assert_eq!(backlog.len(), 2);
    assert_eq!(backlog[1]["backlog"], 300);
    assert!(backlog[0]["processed_per_s"]["median"].is_number());
    // The bench used its own server: nothing was written to this one.
    assert!(redis.keys().is_empty());
}

#[test]
fn batch_cut_off_by_redis_prints_exactly_what_was_enqueued() {
    // Room for the first 8000-line chunk only: the second one runs into maxmemory (OOM).
    let redis = Redis::start_with(&["--maxmemory", "24mb", "--maxmemory-policy", "noeviction"]);
    let pad = "x".repeat(1000);
    let input: String = (0..24_000)
        .map(|i| format!("{{\"type\":\"t\",\"payload\":{{\"i\":{i},\"pad\":\"{pad}\"}}}}\n"))
        .collect();
    let r = run_with_stdin(jobq(&redis).args(["enqueue", "--batch", "-"]), input.as_bytes());
    assert_eq!(r.code, 7, "Redis refused (OOM); stderr: {}", r.stderr);
    let printed = lines(&r.stdout);
    assert_eq!(printed.len(), 8000, "the first chunk's ids, and only those");
    let mut conn = redis.conn();
    for id in printed.iter().step_by(997) {
        let key = format!("{{jobq:normal}}:job:{id}");
        assert!(
            redis::cmd("EXISTS").arg(&key).query::<bool>(&mut conn).unwrap(),
            "{id} printed but missing"
        );
    }
    assert!(
        r.stderr
            .contains("the 8000 jobs whose ids were printed are enqueued"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("lines 8001-16000 may be partly enqueued"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("lines 16001 and after were not sent"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("nothing was written"), "{}", r.stderr);
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("jobq: error:")).count(),
        1
    );
    let queued: usize = redis::cmd("LLEN")
        .arg("{jobq:normal}:queued")
        .query(&mut conn)
        .unwrap();
    assert!((8000..16_000).contains(&queued), "{queued} queued");
}
