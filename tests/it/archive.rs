//! `jobq archive`, `jobq history` and the doctor's archive check, against a private
//! redis-server and a private PostgreSQL (support_pg.rs).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support_pg::Postgres;
use crate::util::*;

const T: Duration = Duration::from_secs(60);
const LONG: Duration = Duration::from_secs(300);

fn archive_once(redis: &Redis, pg: &Postgres) -> Value {
    let r = run(jobq(redis).args(["archive", "--once", "--json", "--to", &pg.url()])).ok();
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

fn history(redis: &Redis, pg: &Postgres, args: &[&str]) -> Vec<Value> {
    let r = run(jobq(redis)
        .args(["history", "--json", "--from", &pg.url()])
        .args(args))
    .ok();
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    v["jobs"].as_array().unwrap().clone()
}

fn rows(pg: &Postgres, filter: &str) -> i64 {
    pg.count(&format!("SELECT count(*) FROM jobq.jobs WHERE {filter}"))
}

#[test]
fn archive_keeps_every_outcome_once_and_history_reads_it() {
    let redis = Redis::start();
    let pg = Postgres::start();
    let dir = redis.dir.path();
    let ok = script(dir, "ok.sh", "cat >/dev/null; echo '{\"ok\": true}'");
    let fixed = dir.join("fixed");
    let flaky = script(
        dir,
        "flaky.sh",
        &format!(
            "if [ -f {} ]; then echo '\"fixed\"'; else echo boom >&2; exit 1; fi",
            fixed.display()
        ),
    );
    let oks: Vec<String> = (1..=3)
        .map(|n| enqueue(&redis, &["ok", "--data", &format!("{{\"user_id\": {n}}}")]))
        .collect();
    let flaky_id = enqueue(
        &redis,
        &["flaky", "--max-attempts", "2", "--data", "{\"user_id\": 9}"],
    );
    let never = enqueue(&redis, &["never", "--delay", "1h"]);
    run(jobq(&redis).args(["cancel", &never])).ok();
    let handlers = [
        "--handler",
        &format!("ok={}", ok.display()),
        "--handler",
        &format!("flaky={}", flaky.display()),
        "--retry-base",
        "10ms",
    ];
    let _w = Worker::start(&redis, &handlers);
    for id in &oks {
        wait_for_state(&redis, id, "completed", T);
    }
    wait_for_state(&redis, &flaky_id, "dead", T);

    // The archive reads the durable sets, not the capped event stream: an emptied stream
    // (as after a long outage, with more than EVENTS_MAXLEN newer events) loses nothing.
    redis::cmd("XTRIM")
        .arg("{jobq:normal}:events")
        .arg("MAXLEN")
        .arg(0)
        .query::<()>(&mut redis.conn())
        .unwrap();
    let status = archive_once(&redis, &pg);
    assert_eq!(status["archived"], 5, "{status}");
    assert_eq!(status["unarchived"], 0, "{status}");
    assert_eq!(status["lag_ms"], 0, "{status}");
    assert_eq!(rows(&pg, "true"), 5);
    // Everything the job carried, as `inspect` shows it.
    let dead = &history(&redis, &pg, &["--state", "dead"])[0];
    assert_eq!(dead["id"], flaky_id.as_str());
    assert_eq!(dead["attempt"], 2);
    assert_eq!(dead["errors"].as_array().unwrap().len(), 2, "{dead}");
    assert!(dead["error"].as_str().unwrap().contains("boom"), "{dead}");
    assert!(
        dead["worker"].is_string() && dead["duration_ms"].is_number(),
        "{dead}"
    );
    for field in ["created_at", "started_at", "finished_at"] {
        assert!(dead[field].is_string(), "{field}: {dead}");
    }
    let done = &history(&redis, &pg, &["--where", "payload.user_id=2"]);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["id"], oks[1].as_str());
    assert_eq!(done[0]["result"], serde_json::json!({"ok": true}));
    assert_eq!(done[0]["payload"], serde_json::json!({"user_id": 2}));

    // A replay adds nothing; alone, it never finds a queue held by another archiver.
    let again = archive_once(&redis, &pg);
    assert_eq!(again["archived"], 0);
    let queues = again["queues"].as_array().unwrap();
    assert!(
        queues.len() >= 2 && queues.iter().all(|q| q["busy"] == false),
        "{again}"
    );
    assert_eq!(rows(&pg, "true"), 5);

    // Retried from the DLQ and finished again: a second row, the first one kept.
    std::fs::write(&fixed, "").unwrap();
    run(jobq(&redis).args(["retry", &flaky_id])).ok();
    wait_for_state(&redis, &flaky_id, "completed", T);
    assert_eq!(archive_once(&redis, &pg)["archived"], 1);
    let outcomes = history(&redis, &pg, &["--where", "payload.user_id=9"]);
    let states: Vec<&str> = outcomes.iter().map(|j| j["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["completed", "dead"], "newest first");
    assert!(outcomes.iter().all(|j| j["id"] == flaky_id.as_str()));

    // Filters.
    assert_eq!(history(&redis, &pg, &[]).len(), 6);
    assert_eq!(history(&redis, &pg, &["--type", "ok"]).len(), 3);
    assert_eq!(
        history(&redis, &pg, &["--state", "cancelled"])[0]["id"],
        never.as_str()
    );
    assert_eq!(
        history(&redis, &pg, &["--queue", "normal", "--limit", "2"]).len(),
        2
    );
    assert_eq!(history(&redis, &pg, &["--since", "1h"]).len(), 6);
    assert_eq!(history(&redis, &pg, &["--until", "1h"]).len(), 0);
    assert_eq!(history(&redis, &pg, &["--where", "result.ok=true"]).len(), 3);
    assert_eq!(
        history(
            &redis,
            &pg,
            &["--where", "payload.user_id=1", "--where", "result.ok=true"]
        )
        .len(),
        1
    );
    // Values are bound parameters: SQL in them is just text that matches nothing.
    let sneaky = "payload.user_id=1' OR '1'='1";
    assert_eq!(history(&redis, &pg, &["--where", sneaky]).len(), 0);
    assert_eq!(rows(&pg, "true"), 6);

    // Summary per type.
    let r = run(jobq(&redis).args(["history", "--summary", "--json", "--from", &pg.url()])).ok();
    let summary: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
    let of = |t: &str| summary.iter().find(|s| s["type"] == t).unwrap().clone();
    let flaky_sum = of("flaky");
    assert_eq!(
        (flaky_sum["total"].clone(), flaky_sum["dead"].clone()),
        (2.into(), 1.into())
    );
    assert_eq!(flaky_sum["failure_rate"], 0.5);
    let ok_sum = of("ok");
    assert_eq!(
        (ok_sum["completed"].clone(), ok_sum["failure_rate"].clone()),
        (3.into(), 0.0.into())
    );
    assert!(ok_sum["p50_ms"].as_f64().unwrap() <= ok_sum["p99_ms"].as_f64().unwrap());
    assert!(of("never")["failure_rate"].is_null());

    // The text forms name the jobs.
    let r = run(jobq(&redis).args(["history", "--from", &pg.url()])).ok();
    assert!(
        oks.iter().all(|id| r.stdout.contains(id.as_str())),
        "{}",
        r.stdout
    );
    let r = run(jobq(&redis).args(["history", "--summary", "--from", &pg.url()])).ok();
    assert!(
        r.stdout.contains("flaky") && r.stdout.contains("50.0%"),
        "{}",
        r.stdout
    );
}

/// `jobq archive` in the background; SIGKILLed on drop.
struct Archiver(Background);

impl Archiver {
    fn start(redis: &Redis, pg: &Postgres, n: usize) -> Archiver {
        let mut cmd = jobq(redis);
        cmd.args(["archive", "--interval", "20ms", "--to", &pg.url()]);
        // It logs nothing when all is well: nothing to wait for.
        Archiver(Background::spawn(
            cmd,
            redis.dir.path(),
            &format!("archiver-{n}"),
            "",
        ))
    }
}

#[test]
fn sigkilled_and_concurrent_archivers_lose_and_duplicate_nothing() {
    let redis = Redis::start();
    let pg = Postgres::start();
    let n = (fault_jobs() / 4).max(1000);
    let mut ids = enqueue_many(&redis, n * 9 / 10, "ok", "normal");
    ids.extend(enqueue_many(&redis, n / 10, "bad", "high"));
    let cancelled: Vec<String> = (0..20)
        .map(|_| enqueue(&redis, &["later", "--queue", "low", "--delay", "1h"]))
        .collect();
    run(jobq(&redis).arg("cancel").args(&cancelled)).ok();
    let total = ids.len() + cancelled.len();
    let args = [
        "--queues",
        "high,normal",
        "--concurrency",
        "8",
        "--handler",
        "ok=true",
        "--handler",
        "bad=sh -c 'exit 100'",
    ];
    let _workers: Vec<Worker> = (0..2).map(|_| Worker::start(&redis, &args)).collect();
    // Two archivers at once, each SIGKILLed at pseudo-random moments and restarted, while the
    // workers finish jobs.
    let mut archivers = vec![Archiver::start(&redis, &pg, 0), Archiver::start(&redis, &pg, 1)];
    let mut seed = std::process::id() as u64;
    let mut kills = 0;
    let deadline = Instant::now() + LONG;
    let finished = || {
        let s = states(&redis, &ids);
        s.get("completed").copied().unwrap_or(0) + s.get("dead").copied().unwrap_or(0) == ids.len()
    };
    let archived = || pg.count("SELECT count(*) FROM jobq.jobs");
    // The archive table exists once the first archiver has migrated.
    wait_until("the schema", T, || {
        pg.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'jobq' AND tablename = 'jobs'") == 1
    });
    while kills < 12 || !finished() {
        assert!(
            Instant::now() < deadline,
            "jobs not done: {:?}",
            states(&redis, &ids)
        );
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let before = archived();
        let step = 1 + (seed >> 33) as i64 % 300;
        wait_until("archive progress before the next kill", LONG, || {
            archived() >= (before + step).min(total as i64) || finished()
        });
        let victim = (seed >> 40) as usize % archivers.len();
        archivers[victim].0.kill();
        archivers[victim] = Archiver::start(&redis, &pg, kills + 2);
        kills += 1;
    }
    drop(archivers);
    let status = archive_once(&redis, &pg);
    assert_eq!(status["unarchived"], 0, "{status}");
    eprintln!(
        "measured: {total} finished jobs, {kills} archiver SIGKILLs, two archivers at once: {} rows",
        archived()
    );
    assert_eq!(archived(), total as i64, "one row per finished job");
    assert_eq!(
        pg.count("SELECT count(DISTINCT job_id) FROM jobq.jobs"),
        total as i64,
        "no job twice"
    );
    assert_eq!(rows(&pg, "state = 'dead'"), (n / 10) as i64);
    assert_eq!(rows(&pg, "state = 'cancelled'"), cancelled.len() as i64);
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let redis = Redis::start();
    let pg = Postgres::start();
    let id = enqueue(&redis, &["t"]);
    let before = redis.digest();
    let url = pg.url();
    let unreachable = format!(
        "postgres://test@localhost/postgres?host={}&port=1",
        redis.dir.path().display()
    );
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["archive", "--once", "--to", "mysql://x@y/z"], 2),
        (
            vec!["archive", "--once", "--to", "postgres://a:s3cr3t@[oops/x"],
            2,
        ),
        (vec!["archive", "--once", "--to", &url, "--queues", "a:b"], 2),
        (vec!["archive", "--once", "--to", &unreachable], 9),
        (vec!["history", "--from", &url], 3), // nothing archived there yet
        (vec!["history", "--from", &url, "--where", "user_id=1"], 2),
        (vec!["history", "--from", &url, "--since", "yesterday"], 2),
        (vec!["history", "--from", &url, "--type", "a b"], 2),
        (vec!["history", "--from", &url, "--limit", "0"], 2),
        (vec!["notify", "--url", "ftp://example.com/x"], 2),
        (
            vec!["notify", "--url", "http://127.0.0.1:9/", "--on", "finished"],
            2,
        ),
        (
            vec![
                "notify",
                "--url",
                "http://127.0.0.1:9/",
                "--secret-file",
                "/nonexistent/key",
            ],
            2,
        ),
        (vec!["notify", "--url", "http://127.0.0.1:9/", "--name", "a:b"], 2),
    ];
    for (args, code) in cases {
        let r = run(jobq(&redis).args(&args));
        assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line: {}", r.stderr);
        assert!(lines[0].starts_with("jobq: error: "), "{}", r.stderr);
        assert!(!r.stderr.contains("s3cr3t"), "no secrets: {}", r.stderr);
    }
    assert_eq!(redis.digest(), before, "nothing written to Redis");
    assert_eq!(
        pg.count("SELECT count(*) FROM pg_namespace WHERE nspname = 'jobq'"),
        0,
        "nothing written to PostgreSQL"
    );
    assert_eq!(state(&redis, &id), "queued");
}

#[test]
fn doctor_warns_before_unarchived_jobs_expire() {
    let redis = Redis::start_with(&["--appendonly", "yes"]);
    let pg = Postgres::start();
    let check = "queue normal: archive";
    let doctor = || {
        let r = run(jobq(&redis).args(["doctor", "--json"]));
        let findings: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
        findings.into_iter().find(|f| f["check"] == check)
    };
    let w = Worker::start(
        &redis,
        &["--queues", "normal", "--exec", "true", "--retention", "10s"],
    );
    let first = enqueue(&redis, &["t"]);
    wait_for_state(&redis, &first, "completed", T);
    assert!(doctor().is_none(), "no archiver, no check");
    assert_eq!(archive_once(&redis, &pg)["archived"], 1);
    assert_eq!(doctor().unwrap()["level"], "ok");

    // Finished after the archiver's last pass: fine at first, a warning once half its time
    // in Redis is gone, fine again once archived.
    let second = enqueue(&redis, &["t"]);
    wait_for_state(&redis, &second, "completed", T);
    wait_until("doctor to warn", T, || {
        doctor().is_some_and(|f| f["level"] == "warning")
    });
    let f = doctor().unwrap();
    assert!(
        f["detail"].as_str().unwrap().contains("expires from Redis in"),
        "{f}"
    );
    assert_eq!(archive_once(&redis, &pg)["archived"], 1);
    assert_eq!(doctor().unwrap()["level"], "ok");
    drop(w);
}

/// Benchmark (run on demand): archive throughput, rows/s, over `JOBQ_BENCH_JOBS` (default
/// 30000) completed jobs, three rounds into fresh databases.
/// `cargo test --release --test it -- --ignored archive_throughput --nocapture`
#[test]
#[ignore]
fn archive_throughput() {
    let redis = Redis::start();
    let pg = Postgres::start();
    let n: usize = std::env::var("JOBQ_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    let ids = enqueue_many(&redis, n, "noop", "normal");
    let handler = format!(
        "noop=python3 {}/examples/handlers/noop.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut w = Worker::start(
        &redis,
        &[
            "--handler",
            &handler,
            "--persistent",
            "--concurrency",
            "8",
            "--burst",
        ],
    );
    assert_eq!(w.wait(LONG), 0);
    assert_eq!(states(&redis, &ids).get("completed"), Some(&n));
    let mut rates = Vec::new();
    for round in 0..3 {
        pg.execute(&format!("CREATE DATABASE bench{round}"));
        let r = run(jobq(&redis).args([
            "archive",
            "--once",
            "--json",
            "--to",
            &pg.url_of(&format!("bench{round}")),
        ]))
        .ok();
        let status: Value = serde_json::from_str(r.stdout.trim()).unwrap();
        assert_eq!(status["archived"], n);
        rates.push(status["rows_per_second"].as_f64().unwrap());
    }
    rates.sort_by(f64::total_cmp);
    eprintln!(
        "measured: archive of {n} completed jobs: {:.0} rows/s median (min {:.0}, max {:.0})",
        rates[1], rates[0], rates[2]
    );
}

#[test]
fn archive_stays_in_one_slot_on_a_cluster_node() {
    let redis = Redis::start_one_node_cluster();
    let pg = Postgres::start();
    let ids: Vec<String> = ["qa", "qb", "qc"]
        .iter()
        .map(|q| enqueue(&redis, &["t", "--queue", q]))
        .collect();
    run(jobq(&redis).args(["worker", "--burst", "--queues", "qa,qb,qc", "--exec", "true"])).ok();
    let status = archive_once(&redis, &pg);
    assert_eq!(status["archived"], 3, "{status}");
    assert_eq!(rows(&pg, "state = 'completed'"), 3);
    assert!(ids.iter().all(|id| state(&redis, id) == "completed"));
    let r = run(jobq(&redis).args(["doctor", "--json"]));
    assert!(r.stdout.contains("queue qa: archive"), "{}", r.stdout);
}
