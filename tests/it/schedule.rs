//! `jobq schedule`: recurring jobs enqueued by the running workers themselves. Exactly one job
//! per tick with several workers and worker kills; a tick missed while every worker was down is
//! enqueued once on return; a longer outage gives one catch-up job, not a burst. (DST is
//! covered by unit tests of the next-tick computation in src/schedule/spec.rs.)

use std::collections::BTreeSet;
use std::time::Duration;

use crate::util::*;

const WAIT: Duration = Duration::from_secs(60);

fn schedule(redis: &Redis, name: &str) -> serde_json::Value {
    let r = run(jobq(redis).args(["schedule", "ls", "--json"])).ok();
    let all: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).unwrap();
    all.into_iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no schedule {name} in {}", r.stdout))
}

fn ms(v: &serde_json::Value) -> Option<i64> {
    v.as_str().map(|t| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .timestamp_millis()
    })
}

fn last_ms(redis: &Redis, name: &str) -> Option<i64> {
    ms(&schedule(redis, name)["last_run"])
}

fn server_ms(redis: &Redis) -> i64 {
    let (s, us): (i64, i64) = redis::cmd("TIME").query(&mut redis.conn()).unwrap();
    s * 1000 + us / 1000
}

/// Every job id in `queue`, whatever its state.
fn job_ids(redis: &Redis, queue: &str) -> Vec<String> {
    let prefix = format!("{{jobq:{queue}}}:job:");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut redis.conn())
        .unwrap();
    keys.into_iter().map(|k| k[prefix.len()..].to_string()).collect()
}

fn tick_id(name: &str, queue: &str, tick_ms: i64) -> String {
    jobq::schedule::spec::TickId {
        schedule: name,
        tick_ms,
    }
    .for_queue(queue)
}

fn job_exists(redis: &Redis, queue: &str, id: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(format!("{{jobq:{queue}}}:job:{id}"))
        .query(&mut redis.conn())
        .unwrap()
}

fn worker(redis: &Redis, queue: &str) -> Worker {
    Worker::start(redis, &["--queues", queue, "--exec", "true", "--lease", "1s"])
}

#[test]
fn several_workers_enqueue_exactly_one_job_per_tick_even_when_killed() {
    let redis = Redis::start();
    let mut workers: Vec<Worker> = (0..3).map(|_| worker(&redis, "ticks")).collect();
    run(jobq(&redis).args([
        "schedule", "add", "tick", "--every", "2s", "ticker", "--queue", "ticks",
    ]))
    .ok();
    let anchor = schedule(&redis, "tick")["anchor_ms"].as_i64().unwrap();
    // Kill a worker (SIGKILL, possibly mid-tick) right after each of 6 ticks; start another.
    for k in 0..6 {
        let want = anchor + k * 2000;
        wait_until(&format!("tick {k}"), WAIT, || {
            last_ms(&redis, "tick") >= Some(want)
        });
        let victim = workers.remove(k as usize % workers.len());
        victim.signal(libc::SIGKILL);
        drop(victim);
        workers.push(worker(&redis, "ticks"));
    }
    let end = anchor + 8 * 2000;
    wait_until("two more ticks", WAIT, || last_ms(&redis, "tick") >= Some(end));
    drop(workers);
    let last = last_ms(&redis, "tick").unwrap();
    // One job per tick: the ids are exactly those of the ticks from the anchor to the last
    // one, none missing, none extra (a second job for a tick would need a second id).
    let ids: BTreeSet<String> = job_ids(&redis, "ticks").into_iter().collect();
    let expected: BTreeSet<String> = (0..=(last - anchor) / 2000)
        .map(|k| tick_id("tick", "ticks", anchor + k * 2000))
        .collect();
    assert_eq!(ids, expected, "one job per tick, none lost");
    for id in &ids {
        let job = inspect(&redis, id);
        assert_eq!(job["type"], "ticker");
        assert_eq!(job["schedule"]["name"], "tick", "inspect names the schedule");
    }
}

#[test]
fn ticks_missed_while_all_workers_are_down_are_caught_up_once_not_in_a_burst() {
    let redis = Redis::start();
    let period = 2000;
    run(jobq(&redis).args(["schedule", "add", "m", "--every", "2s", "miss", "--queue", "mq"])).ok();
    let mut w = worker(&redis, "mq");
    // A tick that is still far enough ahead to kill the worker before it.
    let mut missed = 0;
    wait_until("a tick with a next one ahead", WAIT, || {
        let s = schedule(&redis, "m");
        missed = ms(&s["next_run"]).unwrap();
        ms(&s["last_run"]).is_some() && missed - server_ms(&redis) > 900
    });

    // Short outage: every worker down across one tick, back within the period.
    wait_until("shortly before the next tick", WAIT, || {
        server_ms(&redis) >= missed - 700
    });
    w.signal(libc::SIGKILL);
    w.wait(WAIT);
    wait_until("the tick to pass", WAIT, || server_ms(&redis) > missed + 50);
    assert!(
        !job_exists(&redis, "mq", &tick_id("m", "mq", missed)),
        "no worker ran"
    );
    let mut w = worker(&redis, "mq");
    wait_until("the missed tick", WAIT, || last_ms(&redis, "m") >= Some(missed));
    assert!(
        job_exists(&redis, "mq", &tick_id("m", "mq", missed)),
        "the missed tick was enqueued"
    );

    // Long outage: three ticks missed give one catch-up job (the first missed tick), and the
    // schedule goes on with its next tick after now.
    wait_until("the tick after", WAIT, || {
        last_ms(&redis, "m") >= Some(missed + period)
    });
    w.signal(libc::SIGKILL);
    w.wait(WAIT);
    let down_from = last_ms(&redis, "m").unwrap();
    let gone = [down_from + period, down_from + 2 * period, down_from + 3 * period];
    wait_until("three ticks to pass", WAIT, || server_ms(&redis) > gone[2] + 50);
    let before = job_ids(&redis, "mq").len();
    let _w = worker(&redis, "mq");
    wait_until("the catch-up tick", WAIT, || {
        last_ms(&redis, "m") >= Some(gone[0])
    });
    let s = schedule(&redis, "m");
    assert_eq!(ms(&s["last_run"]), Some(gone[0]));
    let next = ms(&s["next_run"]).unwrap();
    assert!(next > gone[2] && (next - down_from) % period == 0, "{s}");
    assert!(job_exists(&redis, "mq", &tick_id("m", "mq", gone[0])));
    assert!(
        !job_exists(&redis, "mq", &tick_id("m", "mq", gone[1])),
        "no burst"
    );
    assert!(
        !job_exists(&redis, "mq", &tick_id("m", "mq", gone[2])),
        "no burst"
    );
    assert_eq!(job_ids(&redis, "mq").len(), before + 1, "one catch-up job");
}

#[test]
fn schedule_commands_list_pause_resume_run_and_remove() {
    let redis = Redis::start();
    run(jobq(&redis).args([
        "schedule",
        "add",
        "nightly",
        "--cron",
        "30 2 * * *",
        "--tz",
        "Europe/Berlin",
        "backup",
        "--data",
        r#"{"db":"main"}"#,
        "--queue",
        "maint",
        "--max-attempts",
        "3",
        "--timeout",
        "10m",
    ]))
    .ok();
    run(jobq(&redis).args(["schedule", "add", "often", "--cron", "@hourly", "ping"])).ok();
    let s = schedule(&redis, "nightly");
    assert_eq!(s["cron"]["expr"], "30 2 * * *");
    assert_eq!(s["cron"]["tz"], "Europe/Berlin");
    assert_eq!(s["type"], "backup");
    assert_eq!(s["queue"], "maint");
    assert_eq!(s["paused"], false);
    assert_eq!(s["last_run"], serde_json::Value::Null);
    // The next run is 02:30 in Berlin (00:30 or 01:30 UTC, by DST), within a day.
    let next = chrono::DateTime::parse_from_rfc3339(s["next_run"].as_str().unwrap()).unwrap();
    let berlin = next.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(berlin.format("%H:%M").to_string(), "02:30");
    assert!(next.timestamp_millis() - server_ms(&redis) <= 24 * 3600 * 1000);
    let text = run(jobq(&redis).args(["schedule", "ls"])).ok().stdout;
    assert!(
        text.contains("nightly") && text.contains("Europe/Berlin") && text.contains("often"),
        "{text}"
    );

    run(jobq(&redis).args(["schedule", "pause", "nightly"])).ok();
    let s = schedule(&redis, "nightly");
    assert_eq!(s["paused"], true);
    assert_eq!(s["next_run"], serde_json::Value::Null);
    run(jobq(&redis).args(["schedule", "resume", "nightly"])).ok();
    assert_eq!(schedule(&redis, "nightly")["paused"], false);

    // run: one job now with the schedule's job options.
    let id = run(jobq(&redis).args(["schedule", "run", "nightly"]))
        .ok()
        .stdout
        .trim()
        .to_string();
    let job = inspect(&redis, &id);
    assert_eq!(job["type"], "backup");
    assert_eq!(job["queue"], "maint");
    assert_eq!(job["payload"]["db"], "main");
    assert_eq!(job["max_attempts"], 3);
    assert_eq!(job["timeout_ms"], 600_000);
    assert_eq!(job["priority"], 5, "none given");

    // --priority takes what enqueue's takes: a number orders the jobs within their queue (the
    // ticks' jobs as well as `run`'s), a name picks the queue.
    run(jobq(&redis).args([
        "schedule",
        "add",
        "urgent",
        "--every",
        "1h",
        "page",
        "--queue",
        "maint",
        "--priority",
        "2",
    ]))
    .ok();
    run(jobq(&redis).args([
        "schedule",
        "add",
        "named",
        "--every",
        "1h",
        "page",
        "--priority",
        "low",
    ]))
    .ok();
    assert_eq!(schedule(&redis, "urgent")["priority"], 2);
    assert_eq!(schedule(&redis, "named")["queue"], "low");
    let urgent = run(jobq(&redis).args(["schedule", "run", "urgent"]))
        .ok()
        .stdout
        .trim()
        .to_string();
    let job = inspect(&redis, &urgent);
    assert_eq!(
        (job["queue"].as_str(), job["priority"].as_u64()),
        (Some("maint"), Some(2))
    );
    let rank: Option<f64> = redis::cmd("ZSCORE")
        .arg("{jobq:maint}:ranked")
        .arg(&urgent)
        .query(&mut redis.conn())
        .unwrap();
    assert!(
        rank.is_some(),
        "waits among the numbered jobs, as enqueue --priority 2 puts it"
    );
    // A tick's job carries it as well.
    run(jobq(&redis).args([
        "schedule",
        "add",
        "ticking",
        "--every",
        "1s",
        "ping",
        "--queue",
        "tq",
        "--priority",
        "3",
    ]))
    .ok();
    let w = worker(&redis, "tq");
    wait_until("a tick", WAIT, || last_ms(&redis, "ticking").is_some());
    drop(w);
    let tick = tick_id("ticking", "tq", last_ms(&redis, "ticking").unwrap());
    assert_eq!(inspect(&redis, &tick)["priority"], 3);

    // --replace keeps the name; without it the name is taken (exit 4, nothing written).
    let before = redis.digest();
    let r = run(jobq(&redis).args(["schedule", "add", "often", "--every", "1m", "ping"]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(redis.digest(), before);
    run(jobq(&redis).args(["schedule", "add", "often", "--every", "1m", "ping", "--replace"])).ok();
    assert_eq!(schedule(&redis, "often")["every"]["ms"], 60_000);

    run(jobq(&redis).args(["schedule", "rm", "often"])).ok();
    let r = run(jobq(&redis).args(["schedule", "rm", "often"]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    for cmd in ["pause", "resume", "run"] {
        assert_eq!(
            run(jobq(&redis).args(["schedule", cmd, "often"])).code,
            3,
            "{cmd}"
        );
    }
}

#[test]
fn bad_schedules_are_refused_with_the_reason_and_write_nothing() {
    let redis = Redis::start();
    enqueue(&redis, &["existing"]);
    let before = redis.digest();
    for (args, reason) in [
        (vec!["--cron", "61 * * * *"], "not a valid cron expression"),
        (vec!["--cron", "* * * *"], "not a valid cron expression"),
        (vec!["--cron", "0 0 * * * *"], "not a valid cron expression"),
        (vec!["--cron", "0 0 30 2 *"], "never fires"),
        (
            vec!["--cron", "@daily", "--tz", "Mars/Olympus"],
            "not a known time zone",
        ),
        (vec!["--every", "500ms"], "at least"),
        (vec!["--every", "1h", "--data", "{"], "not valid JSON"),
        (vec!["--every", "1h", "--queue", "a:b"], "queue name"),
        (vec!["--every", "1h", "--max-attempts", "0"], "max-attempts"),
        (vec!["--every", "1h", "--priority", "11"], "from 1 (first) to 10"),
        (
            vec!["--every", "1h", "--priority", "high", "--queue", "q"],
            "names a queue",
        ),
    ] {
        let mut full = vec!["schedule", "add", "s", "t"];
        full.extend(args.iter());
        let r = run(jobq(&redis).args(&full));
        assert_eq!(r.code, 2, "{full:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(reason), "{full:?}: {}", r.stderr);
    }
    for full in [
        vec!["schedule", "add", "bad name", "t", "--every", "1h"],
        vec!["schedule", "add", "s", "t"],
        vec!["schedule", "add", "s", "t", "--every", "1h", "--cron", "@daily"],
        vec!["schedule", "add", "s", "t", "--every", "1h", "--tz", "UTC"],
    ] {
        let r = run(jobq(&redis).args(&full));
        assert_eq!(r.code, 2, "{full:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
    assert_eq!(redis.digest(), before);
}
