//! What operators tripped over in workers (issue 9 items 8, 9, 14, 16): handler environment,
//! jobs of types a worker cannot run, error summaries, log levels and JSON logs.

use std::time::Duration;

use serde_json::Value;

use crate::util::*;

const T: Duration = Duration::from_secs(60);

/// Item 8: a worker given its Redis and namespace as flags passes them to its handlers, so
/// `jobq progress` in a handler reaches them, whatever the worker's own environment says.
#[test]
fn handlers_inherit_the_workers_redis_and_namespace() {
    let redis = Redis::start();
    let h = script(
        redis.dir.path(),
        "progress.sh",
        &format!(
            "{} progress 40/100 halfway there || exit 9",
            env!("CARGO_BIN_EXE_jobq")
        ),
    );
    let id = enqueue(&redis, &["--namespace", "tenant", "t"]);
    // The environment points elsewhere: only the flags lead to the right server and namespace.
    let r = run(jobq(&redis)
        .env("JOBQ_REDIS_URL", "unix:///nonexistent/jobq-elsewhere.sock")
        .env("JOBQ_NAMESPACE", "elsewhere")
        .args(["worker", "--burst", "--queues", "normal", "--exec"])
        .arg(&h)
        .args(["--redis-url", &redis.url(), "--namespace", "tenant"]))
    .ok();
    let job = run(jobq(&redis).args(["--namespace", "tenant", "inspect", &id, "--json"])).ok();
    let job: Value = serde_json::from_str(&job.stdout).unwrap();
    assert_eq!(job["state"], "completed", "{job}\n{}", r.stderr);
    assert_eq!(job["progress"]["current"], 40.0, "{job}");
    assert_eq!(job["progress"]["message"], "halfway there", "{job}");
}

fn attempts(redis: &Redis, ids: &[String]) -> Vec<String> {
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.cmd("HGET")
            .arg(format!("{{jobq:normal}}:job:{id}"))
            .arg("attempt");
    }
    pipe.query(&mut redis.conn()).unwrap()
}

/// Item 9: a worker without the handler leaves the jobs to one that has it, charging nothing.
#[test]
fn a_worker_without_the_handler_leaves_jobs_to_one_that_has_it() {
    let redis = Redis::start();
    let ledger_path = redis.dir.path().join("ledger");
    let slow = script(
        redis.dir.path(),
        "slow.sh",
        &format!("echo $JOBQ_JOB_ID >> {}\nsleep 0.05", ledger_path.display()),
    );
    let capable = Worker::on(&redis)
        .arg("--concurrency")
        .arg("1")
        .arg("--handler")
        .arg(format!("x={}", slow.display()))
        .start();
    let other = Worker::on(&redis)
        .arg("--concurrency")
        .arg("4")
        .arg("--handler")
        .arg("y=true")
        .arg("--log-level")
        .arg("debug")
        .start();
    wait_until("both worker records", T, || {
        let n: u64 = redis::cmd("ZCARD")
            .arg("{jobq}:workers")
            .query(&mut redis.conn())
            .unwrap();
        n == 2
    });
    let lines: String = (0..20)
        .map(|i| format!("{{\"type\":\"x\",\"payload\":{i}}}\n"))
        .collect();
    let r = run_with_stdin(
        jobq(&redis).args(["enqueue", "--batch", "-", "--max-attempts", "1"]),
        lines.as_bytes(),
    )
    .ok();
    let ids: Vec<String> = r.stdout.lines().map(str::to_string).collect();
    assert_eq!(ids.len(), 20);
    wait_until("all 20 jobs to end", T, || {
        states(&redis, &ids).get("completed") == Some(&20) || states(&redis, &ids).contains_key("dead")
    });
    assert_eq!(
        states(&redis, &ids).get("completed"),
        Some(&20),
        "{}",
        other.log()
    );
    assert!(
        attempts(&redis, &ids).iter().all(|a| a == "1"),
        "an attempt was charged"
    );
    assert_eq!(ledger(&ledger_path).len(), 20, "each job ran once");
    assert!(
        other.log().contains("released, no handler here"),
        "the worker without the handler never got a job: the test proved nothing\n{}",
        other.log()
    );
    assert!(!other.log().contains("no live worker"), "{}", other.log());
    drop(capable);
}

/// Item 9: a handler program that does not exist or cannot run is refused at start.
#[test]
fn a_handler_program_that_cannot_run_fails_at_start() {
    let redis = Redis::start();
    let not_exec = redis.dir.path().join("plain.txt");
    std::fs::write(&not_exec, "echo hi\n").unwrap();
    let cases = [
        vec!["--handler".to_string(), "t=./no-such-handler.sh".to_string()],
        vec!["--exec".to_string(), not_exec.display().to_string()],
        vec![
            "--handler".to_string(),
            "t=no-such-program-jobq --flag".to_string(),
        ],
    ];
    for args in cases {
        let r = run(jobq(&redis).args(["worker", "--burst"]).args(&args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.starts_with("jobq: error: "), "{}", r.stderr);
        assert!(
            r.stderr.contains("does not exist")
                || r.stderr.contains("not an executable file")
                || r.stderr.contains("not an executable on PATH"),
            "{}",
            r.stderr
        );
    }
    assert!(redis.keys().is_empty(), "nothing written: {:?}", redis.keys());
}

const TRACEBACK: &str = r#"Traceback (most recent call last):
  File "/srv/app/handlers/export.py", line 88, in <module>
    main()
  File "/srv/app/handlers/export.py", line 80, in main
    rows = load(payload["report"])
  File "/srv/app/handlers/export.py", line 41, in load
    raise ValueError(f"unknown report {name!r}")
ValueError: unknown report 'q4'"#;

/// Item 14: one-line summaries show the last meaningful line of stderr everywhere; a
/// successful handler's stderr reaches the worker log with the job id.
#[test]
fn error_summaries_show_the_last_meaningful_line_and_success_stderr_is_logged() {
    let redis = Redis::start();
    let tb = redis.dir.path().join("traceback.txt");
    std::fs::write(&tb, TRACEBACK).unwrap();
    let bad = script(
        redis.dir.path(),
        "bad.sh",
        &format!("cat {} >&2; exit 1", tb.display()),
    );
    let good = script(redis.dir.path(), "good.sh", "echo 'cache warm, 3 rows' >&2");
    let failing = enqueue(&redis, &["export", "--max-attempts", "1"]);
    let fine = enqueue(&redis, &["ok"]);
    let r = run(jobq(&redis).args([
        "worker",
        "--burst",
        "--queues",
        "normal",
        "--handler",
        &format!("export={}", bad.display()),
        "--handler",
        &format!("ok={}", good.display()),
    ]))
    .ok();
    let summary = "exit code 1: ValueError: unknown report 'q4'";
    let dead_line = r.stderr.lines().find(|l| l.contains(&failing)).unwrap_or("");
    assert!(dead_line.ends_with(summary), "worker log: {}", r.stderr);
    assert!(
        r.stderr
            .lines()
            .any(|l| l.ends_with(&format!("job {fine}: cache warm, 3 rows"))),
        "{}",
        r.stderr
    );
    // The whole traceback stays on the job.
    assert!(inspect(&redis, &failing)["error"]
        .as_str()
        .unwrap()
        .contains("line 41, in load"));

    for args in [
        vec!["ls", "--state", "dead"],
        vec!["dlq", "ls"],
        vec!["wait", failing.as_str()],
        vec!["watch", failing.as_str()],
        // Replayed events: their error is the summary, not the clipped start of the traceback.
        vec!["tail", "--queue", "normal"],
    ] {
        let out = run(jobq(&redis).args(&args));
        let line = out
            .stdout
            .lines()
            .find(|l| l.contains(&failing) && (l.contains("dead") || l.contains("failed")))
            .unwrap_or_else(|| panic!("{args:?}: no line about the job:\n{}", out.stdout));
        assert!(line.contains(summary), "{args:?}: {line}");
        assert!(!line.contains("Traceback"), "{args:?}: {line}");
    }
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

/// Item 16: JSON logs with stable fields, levels, per-job lines only on demand.
#[test]
fn worker_logs_have_levels_json_lines_and_per_job_lines_on_demand() {
    let redis = Redis::start();
    let fail = script(redis.dir.path(), "fail.sh", "echo nope >&2; exit 100");
    let handlers = ["--handler", "ok=true", "--handler"];
    let fail_handler = format!("bad={}", fail.display());
    let burst = |extra: &[&str]| {
        enqueue(&redis, &["ok"]);
        enqueue(&redis, &["bad"]);
        run(jobq(&redis)
            .args(["worker", "--burst", "--queues", "normal"])
            .args(handlers)
            .arg(&fail_handler)
            .args(extra))
        .ok()
        .stderr
    };

    // Default: text with date and zone; failures and lifecycle, no line per completed job.
    let text = burst(&[]);
    assert!(!text.contains("(ok) completed"), "{text}");
    assert!(text.contains("(bad) is dead"), "{text}");
    for line in text.lines() {
        let ts = line.split(' ').next().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.ends_with('Z'),
            "{line}"
        );
    }
    assert!(
        text.contains(" INFO  worker ") && text.contains(" ERROR job "),
        "{text}"
    );

    // --log-jobs adds them at info.
    assert!(burst(&["--log-jobs"]).contains("(ok) completed"));

    // JSON, via --log-format or --json; debug adds per-job lines.
    for flags in [
        &["--log-format", "json", "--log-level", "debug"][..],
        &["--json", "--log-level", "debug"],
    ] {
        let lines = json_lines(&burst(flags));
        let worker = lines[0]["worker"].as_str().unwrap().to_string();
        for l in &lines {
            assert!(
                chrono::DateTime::parse_from_rfc3339(l["ts"].as_str().unwrap()).is_ok(),
                "{l}"
            );
            assert!(
                ["error", "warn", "info", "debug"].contains(&l["level"].as_str().unwrap()),
                "{l}"
            );
            assert!(l["msg"].is_string(), "{l}");
        }
        let started = lines
            .iter()
            .find(|l| l["msg"].as_str().unwrap().contains(" started: "))
            .unwrap();
        assert_eq!(started["level"], "info");
        let done = lines
            .iter()
            .find(|l| l["msg"].as_str().unwrap().ends_with("(ok) completed"))
            .expect("a completion line at debug");
        assert_eq!(done["level"], "debug");
        assert_eq!((&done["type"], &done["queue"]), (&"ok".into(), &"normal".into()));
        assert_eq!(done["worker"], worker.as_str());
        assert!(done["job_id"].as_str().unwrap().starts_with("normal-"));
        let dead = lines
            .iter()
            .find(|l| l["type"] == "bad" && l["msg"].as_str().unwrap().contains("is dead"))
            .unwrap();
        assert_eq!(dead["level"], "error");
    }

    // --log-level error keeps only errors; JOBQ_LOG_LEVEL works like the flag.
    let quiet = burst(&["--log-level", "error"]);
    assert!(quiet.lines().all(|l| l.contains(" ERROR ")), "{quiet}");
    assert!(quiet.contains("(bad) is dead"), "{quiet}");
    enqueue(&redis, &["ok"]);
    let out = run(jobq(&redis).env("JOBQ_LOG_LEVEL", "error").args([
        "worker",
        "--burst",
        "--queues",
        "normal",
        "--handler",
        "ok=true",
    ]))
    .ok();
    assert_eq!(out.stderr, "", "nothing failed, nothing to say at level error");

    // --json with an explicit text format is refused, not ignored.
    let r = run(jobq(&redis).args(["worker", "--json", "--log-format", "text", "--exec", "true"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--json means JSON log lines"), "{}", r.stderr);
    let r = run(jobq(&redis).args(["worker", "--log-level", "loud", "--exec", "true"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
}
