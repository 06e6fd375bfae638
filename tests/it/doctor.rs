use std::time::Duration;

use serde_json::Value;

use crate::util::*;

const T: Duration = Duration::from_secs(60);
const UNHEALTHY: i32 = 8;

fn doctor(redis: &Redis, extra: &[&str]) -> (i32, Vec<Value>) {
    let r = run(jobq(redis).arg("doctor").arg("--json").args(extra));
    let findings: Vec<Value> =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    (r.code, findings)
}

fn finding<'a>(findings: &'a [Value], check: &str) -> &'a Value {
    findings
        .iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no {check} in {findings:?}"))
}

#[test]
fn flags_settings_that_lose_jobs() {
    let redis = Redis::start();
    let (code, f) = doctor(&redis, &[]);
    assert_eq!(code, UNHEALTHY);
    assert_eq!(finding(&f, "persistence")["level"], "problem");
    assert_eq!(finding(&f, "maxmemory-policy")["level"], "ok");

    let redis = Redis::start_with(&["--appendonly", "yes", "--maxmemory-policy", "allkeys-lru"]);
    let (code, f) = doctor(&redis, &[]);
    assert_eq!(code, UNHEALTHY);
    assert_eq!(finding(&f, "persistence")["level"], "ok");
    assert_eq!(finding(&f, "maxmemory-policy")["level"], "problem");

    let redis = Redis::start_with(&["--appendonly", "yes"]);
    let (code, f) = doctor(&redis, &[]);
    assert_eq!(code, 0, "{f:?}");
}

#[test]
fn finds_and_fixes_stranded_jobs_stale_workers_and_dangling_keys() {
    let redis = Redis::start_with(&["--appendonly", "yes"]);
    let started = redis.dir.path().join("started");
    let h = script(
        redis.dir.path(),
        "hang.sh",
        &format!("touch {}\nsleep 600", started.display()),
    );
    let id = enqueue(&redis, &["t", "--unique-key", "k1"]);
    let mut w = Worker::start(
        &redis,
        &[
            "--queues",
            "normal",
            "--exec",
            h.to_str().unwrap(),
            "--lease",
            "600ms",
        ],
    );
    wait_until("the job to start", T, || started.exists());
    w.signal(libc::SIGKILL);
    w.wait(T);
    // A job whose hash vanished (e.g. deleted by hand) leaves its unique key and a set entry behind.
    let gone = enqueue(&redis, &["t", "--unique-key", "k2"]);
    let mut c = redis.conn();
    redis::cmd("DEL")
        .arg(format!("{{jobq:normal}}:job:{gone}"))
        .query::<()>(&mut c)
        .unwrap();
    redis::cmd("ZADD")
        .arg("{jobq:normal}:dead")
        .arg(1)
        .arg(&gone)
        .query::<()>(&mut c)
        .unwrap();

    wait_until("the lease and the worker record to expire", T, || {
        let (_, f) = doctor(&redis, &[]);
        finding(&f, "worker records")["level"] == "warning"
            && f.iter()
                .any(|x| x["check"] == "queue normal: leases" && x["level"] == "problem")
    });
    let (code, f) = doctor(&redis, &[]);
    assert_eq!(code, UNHEALTHY, "a stranded job with no worker is a problem");
    assert_eq!(finding(&f, "queue normal: unique keys")["level"], "warning");
    assert_eq!(finding(&f, "queue normal: dead set")["level"], "warning");

    let (code, f) = doctor(&redis, &["--fix"]);
    assert_eq!(code, 0, "{f:?}");
    assert!(
        f.iter()
            .filter(|x| x["level"] != "ok")
            .all(|x| x["fixed"] == true),
        "{f:?}"
    );
    assert_eq!(
        state(&redis, &id),
        "queued",
        "the stranded job is back in its queue"
    );
    let workers: Vec<String> = redis::cmd("ZRANGE")
        .arg("jobq:workers")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert!(workers.is_empty());
    let k2: Option<String> = redis::cmd("GET")
        .arg("{jobq:normal}:unique:k2")
        .query(&mut c)
        .unwrap();
    assert_eq!(k2, None);
    let k1: Option<String> = redis::cmd("GET")
        .arg("{jobq:normal}:unique:k1")
        .query(&mut c)
        .unwrap();
    assert_eq!(k1, Some(id), "the live job keeps its unique key");
    let (code, f) = doctor(&redis, &[]);
    assert_eq!(code, 0);
    assert!(f.iter().all(|x| x["level"] == "ok"), "{f:?}");
}
