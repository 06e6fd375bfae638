//! DESIGN invariant 3: bad input gets one line on stderr, a documented exit code, and no write.

use crate::util::*;

const USAGE: i32 = 2;
const NOT_FOUND: i32 = 3;
const UNAVAILABLE: i32 = 5;
const AUTH: i32 = 6;

fn assert_rejected(redis: &Redis, args: &[&str], code: i32) {
    let before = redis.digest();
    let r = run(jobq(redis).args(args));
    assert_eq!(r.code, code, "{args:?}: stderr {:?}", r.stderr);
    assert_eq!(r.stdout, "", "{args:?}: nothing on stdout");
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "{args:?}: exactly one line: {:?}",
        r.stderr
    );
    assert!(r.stderr.starts_with("jobq: error: "), "{args:?}: {:?}", r.stderr);
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("backtrace"),
        "{:?}",
        r.stderr
    );
    assert_eq!(redis.digest(), before, "{args:?} changed the keyspace");
}

#[test]
fn enqueue_rejects_bad_input_without_writing() {
    let redis = Redis::start();
    enqueue(&redis, &["existing"]); // a non-empty keyspace makes the digest meaningful
    let big = redis.dir.path().join("big.json");
    std::fs::write(&big, format!(r#"{{"x":"{}"}}"#, "a".repeat(600 * 1024))).unwrap();
    let big = format!("@{}", big.display());
    let long = "x".repeat(129);
    let cases: Vec<Vec<&str>> = vec![
        vec!["enqueue", "t", "--data", "{bad"],
        vec!["enqueue", "t", "--data", "@/nonexistent/payload.json"],
        vec!["enqueue", "t", "--data", &big],
        vec!["enqueue", "a:b"],
        vec!["enqueue", "a*"],
        vec!["enqueue", "{a}"],
        vec!["enqueue", "a b"],
        vec!["enqueue", "tab\there"],
        vec!["enqueue", &long],
        vec!["enqueue", "t", "--queue", "q?"],
        vec!["enqueue", "t", "--queue", "[q]"],
        vec!["enqueue", "t", "--delay", "0s"],
        vec!["enqueue", "t", "--delay", "-5s"],
        vec!["enqueue", "t", "--delay", "NaN"],
        vec!["enqueue", "t", "--delay", "400d"],
        vec!["enqueue", "t", "--delay", "5m", "--at", "2030-01-01T00:00:00Z"],
        vec!["enqueue", "t", "--at", "tomorrow"],
        vec!["enqueue", "t", "--timeout", "0ms"],
        vec!["enqueue", "t", "--max-attempts", "0"],
        vec!["enqueue", "t", "--max-attempts", "-1"],
        vec!["enqueue", "t", "--unique-key", "a b"],
        vec!["enqueue", "t", "--priority", "urgent"],
        vec!["enqueue", "t", "--namespace", "a:b"],
        vec!["enqueue", "t", "--redis-url", "http://localhost"],
        vec!["inspect", "not-a-job-id"],
        vec!["worker", "--burst"],
        vec!["worker", "--exec", "true", "--concurrency", "0"],
        vec!["worker", "--exec", "true", "--queues", "a:b"],
        vec!["worker", "--exec", "'unbalanced"],
        vec!["worker", "--handler", "no-equals-sign"],
        vec!["worker", "--handlers", "/nonexistent.toml"],
        vec!["frobnicate"],
    ];
    for args in cases {
        assert_rejected(&redis, &args, USAGE);
    }
}

#[test]
fn payload_from_stdin_must_be_json() {
    let redis = Redis::start();
    let before = redis.digest();
    let r = run_with_stdin(
        jobq(&redis).args(["enqueue", "t", "--data", "-"]),
        b"\xff\xfe not json",
    );
    assert_eq!(r.code, USAGE, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
    assert_eq!(redis.digest(), before);
}

#[test]
fn unknown_job_id() {
    let redis = Redis::start();
    assert_rejected(&redis, &["inspect", "high-01JD8XQ4T3M6Z6Q7W8E9R0TYVP"], NOT_FOUND);
}

#[test]
fn unreachable_redis() {
    let redis = Redis::start();
    let gone = format!("unix://{}/nothing-here.sock", redis.dir.path().display());
    let r = run(jobq(&redis).args(["enqueue", "t", "--redis-url", &gone]));
    assert_eq!(r.code, UNAVAILABLE, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
    assert!(r.stderr.contains("cannot reach Redis"), "{}", r.stderr);
}

#[test]
fn wrong_password_is_reported_and_redacted() {
    let redis = Redis::start_with(&["--requirepass", "s3cret"]);
    let before = redis.digest();
    for url in [redis.url(), format!("{}?pass=wrong-pw", redis.url())] {
        let r = run(jobq(&redis).args(["enqueue", "t", "--redis-url", &url]));
        assert_eq!(r.code, AUTH, "{url}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(!r.stderr.contains("wrong-pw"), "password leaked: {}", r.stderr);
    }
    let ok = run(jobq(&redis).args([
        "enqueue",
        "t",
        "--redis-url",
        &format!("{}?pass=s3cret", redis.url()),
    ]));
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_ne!(redis.digest(), before);
}

#[test]
fn hostile_bytes_and_sizes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let redis = Redis::start();
    enqueue(&redis, &["existing"]);
    let before = redis.digest();
    let non_utf8 = OsStr::from_bytes(b"ty\xffpe");
    let cases: Vec<Vec<&OsStr>> = vec![
        vec![OsStr::new("enqueue"), non_utf8],
        vec![
            OsStr::new("enqueue"),
            OsStr::new("t"),
            OsStr::new("--queue"),
            non_utf8,
        ],
        vec![OsStr::new("enqueue"), OsStr::new("a\nb")],
        vec![OsStr::new("enqueue"), OsStr::new("a\u{1}b")],
        vec![OsStr::new("enqueue"), OsStr::new(" ")],
        vec![OsStr::new("inspect"), non_utf8],
        vec![
            OsStr::new("inspect"),
            OsStr::new("high-01JD8XQ4T3M6Z6Q7W8E9R0TYV\u{1}"),
        ],
    ];
    for args in cases {
        let r = run(jobq(&redis).args(&args));
        assert_eq!(r.code, USAGE, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {:?}", r.stderr);
    }
    let ten_mb = vec![b'a'; 10 * 1024 * 1024];
    let r = run_with_stdin(jobq(&redis).args(["enqueue", "t", "--data", "-"]), &ten_mb);
    assert_eq!(r.code, USAGE, "{}", r.stderr);
    assert!(r.stderr.contains("larger than"), "{}", r.stderr);
    assert_eq!(redis.digest(), before);
}

/// Every subcommand, with hostile global options: each must refuse in one line, with the
/// documented code, before writing anything. A new subcommand fails this test until it is
/// added to the table (so none is forgotten).
#[test]
fn every_command_refuses_bad_globals_and_a_wrong_password() {
    use clap::CommandFactory;
    let redis = Redis::start_with(&["--requirepass", "right-pw"]);
    let id = "normal-01JD8XQ4T3M6Z6Q7W8E9R0TYVP";
    let table: Vec<(&str, Vec<&str>)> = vec![
        ("enqueue", vec!["enqueue", "t"]),
        ("worker", vec!["worker", "--exec", "true", "--burst"]),
        ("inspect", vec!["inspect", id]),
        ("doctor", vec!["doctor"]),
        ("progress", vec!["progress", "1/2", "--job", id, "--lease", "x"]),
        ("watch", vec!["watch", id]),
        ("wait", vec!["wait", id]),
        ("tail", vec!["tail"]),
        ("ls", vec!["ls"]),
        ("retry", vec!["retry", id]),
        ("cancel", vec!["cancel", id]),
        ("dlq", vec!["dlq", "ls"]),
        ("pause", vec!["pause", "normal"]),
        ("resume", vec!["resume", "normal"]),
        ("purge", vec!["purge", "normal", "--yes"]),
        ("stats", vec!["stats"]),
        ("workers", vec!["workers"]),
        ("schedule", vec!["schedule", "add", "s", "t", "--every", "1m"]),
        ("route", vec!["route", "set", "ai.*", "ai"]),
        ("type", vec!["type", "ls"]),
        ("limit", vec!["limit", "set", "normal", "--concurrency", "2"]),
        ("serve", vec!["serve", "--listen", "127.0.0.1:0"]),
        ("migrate", vec!["migrate", "--apply"]),
        ("queue", vec!["queue", "rm", "normal", "--yes"]),
        // demo and bench run on a private redis-server of their own, completions and man
        // need none; their globals are checked by the namespace case only.
        ("demo", vec!["demo"]),
        ("bench", vec!["bench", "--jobs", "10"]),
        ("completions", vec!["completions", "bash"]),
        ("man", vec!["man", "/nonexistent/jobq-man"]),
        (
            "archive",
            vec![
                "archive",
                "--once",
                "--to",
                "postgres://x@localhost/db?host=/nonexistent",
            ],
        ),
        // history reads PostgreSQL only; its globals are checked by the namespace case.
        (
            "history",
            vec!["history", "--from", "postgres://x@localhost/db?host=/nonexistent"],
        ),
        ("notify", vec!["notify", "--url", "http://127.0.0.1:9/"]),
    ];
    let names: Vec<String> = jobq::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names.iter().filter(|n| *n != "help") {
        assert!(table.iter().any(|(n, _)| n == name), "add `{name}` to this test");
    }
    let wrong = format!("{}?pass=wrong-pw", redis.url());
    let before = redis.digest();
    for (name, args) in &table {
        let mut cases = vec![(vec!["--namespace", "a:b"], USAGE)];
        if !matches!(*name, "demo" | "bench" | "completions" | "man" | "history") {
            cases.push((vec!["--redis-url", "http://localhost"], USAGE));
            cases.push((vec!["--redis-url", wrong.as_str()], AUTH));
        }
        for (globals, code) in cases {
            let r = run(jobq(&redis).args(args).args(&globals));
            assert_eq!(r.code, code, "{args:?} {globals:?}: {}", r.stderr);
            assert_eq!(
                r.stderr.lines().count(),
                1,
                "{args:?} {globals:?}: {:?}",
                r.stderr
            );
            assert!(!r.stderr.contains("wrong-pw"), "password leaked: {}", r.stderr);
        }
    }
    assert_eq!(redis.digest(), before);
}
