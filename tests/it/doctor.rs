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
    let mut w = Worker::on(&redis).exec(&h).lease("600ms").start();
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

    // Everything is fixed but the one thing --fix cannot mend: the requeued job waits and no
    // worker serves its queue.
    let stranded = |x: &&Value| x["check"] == "queue normal: workers";
    let (code, f) = doctor(&redis, &["--fix"]);
    assert_eq!(code, UNHEALTHY, "{f:?}");
    assert!(
        f.iter()
            .filter(|x| x["level"] != "ok" && !stranded(x))
            .all(|x| x["fixed"] == true),
        "{f:?}"
    );
    assert_eq!(
        state(&redis, &id),
        "queued",
        "the stranded job is back in its queue"
    );
    let workers: Vec<String> = redis::cmd("ZRANGE")
        .arg("{jobq}:workers")
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
    assert_eq!(code, UNHEALTHY);
    let bad: Vec<&Value> = f.iter().filter(|x| x["level"] != "ok").collect();
    assert!(bad.len() == 1 && stranded(&bad[0]), "{f:?}");
}

/// Issue 9 item 17: stranded queues, the oldest waiting job, dead letters piling up and job
/// types no live worker handles; thresholds for cron.
#[test]
fn reports_stranded_queues_backlog_age_dead_letters_and_unhandled_types() {
    let redis = Redis::start_with(&["--appendonly", "yes"]);
    let waiting = enqueue(&redis, &["export", "--queue", "reports"]);
    // Delayed to later: not counted (a worker for it may come in time).
    enqueue(&redis, &["later", "--queue", "reports", "--delay", "1h"]);
    let (code, f) = doctor(&redis, &[]);
    assert_eq!(code, UNHEALTHY, "{f:?}");
    let stranded = finding(&f, "queue reports: workers");
    assert_eq!(stranded["level"], "problem");
    assert!(
        stranded["detail"]
            .as_str()
            .unwrap()
            .starts_with("stranded: 1 job(s) waiting"),
        "{stranded}"
    );
    assert_eq!(finding(&f, "queue reports: backlog")["level"], "ok");

    // A worker of the queue that does not handle the type: no longer stranded, but the job
    // waits for a handler nobody has, and doctor says so.
    let w = Worker::on(&redis)
        .queues("reports")
        .arg("--handler")
        .arg("other=true")
        .start();
    wait_until("the worker's release of the job", T, || {
        inspect(&redis, &waiting)["state"] == "scheduled"
    });
    let (code, f) = doctor(&redis, &[]);
    assert_eq!(code, UNHEALTHY, "{f:?}");
    assert!(f.iter().all(|x| x["check"] != "queue reports: workers"), "{f:?}");
    let types = finding(&f, "queue reports: job types");
    assert_eq!(types["level"], "problem");
    let detail = types["detail"].as_str().unwrap();
    assert!(
        detail.contains("export (1)") && !detail.contains("later"),
        "{types}"
    );
    assert!(
        types["advice"]
            .as_str()
            .unwrap()
            .contains("--handler export=COMMAND"),
        "{types}"
    );
    assert_eq!(
        inspect(&redis, &waiting)["attempt"],
        0,
        "the release charged no attempt"
    );
    drop(w);

    // Age of the oldest waiting job against --max-age (the job was queued more than 1 ms ago).
    let redis = Redis::start_with(&["--appendonly", "yes"]);
    enqueue(&redis, &["t"]);
    let (_, f) = doctor(&redis, &[]);
    let backlog = finding(&f, "queue normal: backlog");
    assert_eq!(backlog["level"], "ok");
    assert_eq!(backlog["metrics"]["waiting"], 1);
    wait_until("the job to be 50ms old", T, || {
        let (_, f) = doctor(&redis, &[]);
        finding(&f, "queue normal: backlog")["metrics"]["oldest_age_ms"]
            .as_u64()
            .unwrap()
            >= 50
    });
    let (code, f) = doctor(&redis, &["--max-age", "10ms"]);
    assert_eq!(code, UNHEALTHY);
    let backlog = finding(&f, "queue normal: backlog");
    assert_eq!(backlog["level"], "problem");
    assert!(
        backlog["detail"]
            .as_str()
            .unwrap()
            .contains("longer than --max-age 10ms"),
        "{backlog}"
    );
    let (_, f) = doctor(&redis, &["--max-age", "1h"]);
    assert_eq!(finding(&f, "queue normal: backlog")["level"], "ok");

    // Dead letters: growing is a warning, more than --max-dead a problem.
    let redis = Redis::start_with(&["--appendonly", "yes"]);
    let h = script(redis.dir.path(), "perm.sh", "exit 100");
    let a = enqueue(&redis, &["t", "--queue", "q"]);
    let b = enqueue(&redis, &["t", "--queue", "q"]);
    run(jobq(&redis).args([
        "worker",
        "--queues",
        "q",
        "--burst",
        "--exec",
        h.to_str().unwrap(),
    ]))
    .ok();
    assert_eq!(
        (state(&redis, &a), state(&redis, &b)),
        ("dead".into(), "dead".into())
    );
    let (code, f) = doctor(&redis, &[]);
    assert_eq!(code, 0, "{f:?}");
    let dead = finding(&f, "queue q: dead letters");
    assert_eq!(dead["level"], "warning");
    assert_eq!(
        (
            dead["metrics"]["dead"].as_u64(),
            dead["metrics"]["dead_today"].as_u64()
        ),
        (Some(2), Some(2))
    );
    let (code, f) = doctor(&redis, &["--max-dead", "1"]);
    assert_eq!(code, UNHEALTHY);
    assert_eq!(finding(&f, "queue q: dead letters")["level"], "problem");
    let (code, _) = doctor(&redis, &["--max-dead", "2"]);
    assert_eq!(code, 0);
    // The text form says the same for humans.
    let r = run(jobq(&redis).args(["doctor", "--max-dead", "1"]));
    assert_eq!(r.code, UNHEALTHY);
    assert!(
        r.stdout
            .contains("PROBLEM  queue q: dead letters: 2 dead job(s) kept"),
        "{}",
        r.stdout
    );
}

/// Dependencies (`enqueue --after`): waiting jobs whose parent will never release them (its
/// hash deleted by hand, or its enqueuer killed between writing the child and registering it
/// with the parent), and releases left in an outbox that no worker of the queue applies.
/// `--fix` links the former again and applies the latter.
#[test]
fn finds_and_fixes_waiting_jobs_nothing_will_release() {
    let redis = Redis::start_with(&["--appendonly", "yes"]);
    let mut c = redis.conn();
    let gone = enqueue(&redis, &["p", "--queue", "pa"]);
    let orphan = enqueue(&redis, &["c", "--queue", "ch", "--after", &gone]);
    let anyway = enqueue(
        &redis,
        &["c", "--queue", "ch", "--after", &gone, "--after-any-outcome"],
    );
    let alive = enqueue(&redis, &["p", "--queue", "pa"]);
    let unlinked = enqueue(&redis, &["c", "--queue", "ch", "--after", &alive]);
    let fine = enqueue(&redis, &["c", "--queue", "ch", "--after", &alive]);
    let _: () = redis::cmd("DEL")
        .arg(format!("{{jobq:pa}}:job:{gone}"))
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SREM")
        .arg(format!("{{jobq:pa}}:dependents:{alive}"))
        .arg(&unlinked)
        .query(&mut c)
        .unwrap();
    // Older than the grace doctor gives an enqueue still linking its job.
    for id in [&orphan, &anyway, &unlinked, &fine] {
        let _: () = redis::cmd("ZADD")
            .arg("{jobq:ch}:waiting")
            .arg("XX")
            .arg(1)
            .arg(id)
            .query(&mut c)
            .unwrap();
    }
    let (code, f) = doctor(&redis, &[]);
    assert_eq!(code, UNHEALTHY, "{f:?}");
    let deps = finding(&f, "queue ch: dependencies");
    assert_eq!(deps["level"], "problem", "{deps}");
    assert_eq!(deps["metrics"]["stuck"], 3, "{deps}");

    let (_, f) = doctor(&redis, &["--fix"]);
    assert_eq!(finding(&f, "queue ch: dependencies")["fixed"], true);
    let job = inspect(&redis, &orphan);
    assert_eq!(job["state"], "cancelled", "{job}");
    assert_eq!(job["error"], format!("parent {gone} missing"), "{job}");
    assert_eq!(state(&redis, &anyway), "queued");
    assert_eq!(state(&redis, &unlinked), "waiting");
    let (_, f) = doctor(&redis, &[]);
    assert!(f.iter().all(|x| x["check"] != "queue ch: dependencies"), "{f:?}");
    // Linked again: the parent's completion releases both of its children.
    run(jobq(&redis).args(["worker", "--burst", "--queues", "pa", "--exec", "true"])).ok();
    assert_eq!(
        (state(&redis, &unlinked), state(&redis, &fine)),
        ("queued".into(), "queued".into())
    );

    // A parent ended as a worker killed right after would leave it: the release sits in the
    // outbox, and no worker of queue pa runs to apply it.
    let p = enqueue(&redis, &["p", "--queue", "pa"]);
    let child = enqueue(&redis, &["c", "--queue", "ch", "--after", &p]);
    let _: () = redis::cmd("HSET")
        .arg("{jobq:pa}:outbox")
        .arg(format!("{child} {p}"))
        .arg("completed")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{{jobq:pa}}:dependents:{p}"))
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(format!("{{jobq:pa}}:job:{p}"))
        .arg("state")
        .arg("completed")
        .query(&mut c)
        .unwrap();
    let (code, f) = doctor(&redis, &[]);
    assert_eq!(code, UNHEALTHY, "{f:?}");
    let releases = finding(&f, "queue pa: releases");
    assert_eq!(
        (
            releases["level"].as_str(),
            releases["metrics"]["releases"].as_u64()
        ),
        (Some("problem"), Some(1))
    );
    doctor(&redis, &["--fix"]);
    assert_eq!(state(&redis, &child), "queued");
    let (_, f) = doctor(&redis, &[]);
    assert!(f.iter().all(|x| x["check"] != "queue pa: releases"), "{f:?}");
}
