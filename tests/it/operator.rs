//! Issue 9, what operators tripped over (items 10-13, 15, 18-20): long-lived views across
//! Redis restarts, whole-line prompts, one JSON shape, `ls` paging and flags, input checks,
//! dynamic completion, `queue rm`, one answer for unknown queues, the demo.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jobq::records::{Changed, Enqueued, Listing, QueueRemoved};
use serde_json::Value;

use crate::ops::Tmux;
use crate::util::*;

const T: Duration = Duration::from_secs(60);
const USAGE: i32 = 2;
const NOT_FOUND: i32 = 3;
const CONFLICT: i32 = 4;

/// A `jobq` command in the background, stdout and stderr to files; killed on drop.
struct Bg {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Bg {
    fn start(redis: &Redis, args: &[&str]) -> Bg {
        let n = rand::random::<u32>();
        let out = redis.dir.path().join(format!("bg-{n}.out"));
        let err = redis.dir.path().join(format!("bg-{n}.err"));
        let child = jobq(redis)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Bg { child, out, err }
    }

    fn out(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn err(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn wait_out(&self, what: &str, cond: impl Fn(&str) -> bool) {
        wait_until(what, T, || cond(&self.out()));
    }

    /// Kills Redis for longer than a one-shot command's retry budget (10 s): the view must
    /// say it lost the connection and keep running, not exit.
    fn outlives_an_outage(&mut self, redis: &mut Redis) {
        redis.kill();
        wait_until("the view to notice the outage (or to exit)", T, || {
            self.err().contains("lost the connection") || !self.alive()
        });
        assert!(self.alive(), "the view exited on an outage: {}", self.err());
        redis.restart();
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command that must end by itself within `T` (nothing may wait forever).
fn run_bounded(cmd: &mut Command) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + T;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} did not end within {T:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Run::from(child.wait_with_output().unwrap())
}

fn parse<T: serde::de::DeserializeOwned>(r: &Run) -> T {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

fn listing(redis: &Redis, args: &[&str]) -> Listing {
    parse(&run(jobq(redis).arg("ls").args(args).arg("--json")).ok())
}

fn ids(l: &Listing) -> Vec<String> {
    l.jobs.iter().map(|j| j.id.clone()).collect()
}

#[test]
fn jobq_without_arguments_prints_the_help_and_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_jobq")).output().unwrap();
    assert_eq!(out.status.code(), Some(USAGE));
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Usage: jobq") && text.contains("enqueue"), "{text}");
}

#[test]
fn several_ids_give_one_json_array_and_a_second_cancel_is_no_error() {
    let redis = Redis::start();
    let a = enqueue(&redis, &["t"]);
    let b = enqueue(&redis, &["t", "--delay", "1h"]);
    let changed = |id: &str, state: &str, changed: bool| Changed {
        id: id.into(),
        state: state.into(),
        changed,
    };
    let r = run(jobq(&redis).args(["cancel", &a, &b, "--json"])).ok();
    let got: Vec<Changed> = parse(&r);
    assert_eq!(
        got,
        [changed(&a, "cancelled", true), changed(&b, "cancelled", true)]
    );
    let before = redis.digest();
    let r = run(jobq(&redis).args(["cancel", &a, &b, "--json"])).ok();
    let got: Vec<Changed> = parse(&r);
    assert_eq!(
        got,
        [changed(&a, "cancelled", false), changed(&b, "cancelled", false)]
    );
    assert_eq!(redis.digest(), before, "a second cancel changes nothing");
    let r = run(jobq(&redis).args(["cancel", &a])).ok();
    assert!(r.stdout.contains("already cancelled"), "{}", r.stdout);
    // One id is an array of one; retry prints the same shape.
    let got: Vec<Changed> = parse(&run(jobq(&redis).args(["retry", &a, "--json"])).ok());
    assert_eq!(got, [changed(&a, "queued", true)]);
    // A completed job cannot be cancelled: exit 4, and the ids that worked are still printed.
    let done = enqueue(&redis, &["ok", "--queue", "c"]);
    run(jobq(&redis).args(["worker", "--burst", "--queues", "c", "--handler", "ok=true"])).ok();
    let r = run(jobq(&redis).args(["cancel", &b, &done, "--json"]));
    assert_eq!(r.code, CONFLICT, "{}", r.stderr);
    let got: Vec<Changed> = parse(&r);
    assert_eq!(got, [changed(&b, "cancelled", false)]);
}

#[test]
fn enqueue_json_says_when_a_unique_key_made_it_a_duplicate() {
    let redis = Redis::start();
    let r = run(jobq(&redis).args(["enqueue", "t", "--unique-key", "k", "--json"])).ok();
    let first: Enqueued = parse(&r);
    assert!(!first.duplicate);
    let raw: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(raw["created_at"].as_str().unwrap().ends_with('Z'), "{raw}");
    let second: Enqueued =
        parse(&run(jobq(&redis).args(["enqueue", "t", "--unique-key", "k", "--json"])).ok());
    assert!(second.duplicate);
    assert_eq!(second.job.id, first.job.id);
}

/// Numbered jobs wait apart from the plain list (README "Numbered priorities"); `ls` lists the
/// queue in the order workers take it, and pages of two cross from one part to the next.
#[test]
fn ls_lists_numbered_queued_jobs_in_run_order_across_pages() {
    let redis = Redis::start();
    let e = |extra: &[&str]| enqueue(&redis, &[&["t", "--queue", "q"], extra].concat());
    let (late, plain1, urgent3) = (e(&["--priority", "9"]), e(&[]), e(&["--priority", "3"]));
    let (plain2, urgent1, five) = (e(&[]), e(&["--priority", "1"]), e(&["--priority", "5"]));
    let order = [urgent1, urgent3, plain1, plain2, five, late];
    let all = listing(&redis, &["--queue", "q", "--state", "queued"]);
    assert_eq!(ids(&all), order);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut args = vec!["--queue", "q", "--state", "queued", "--limit", "2"];
        args.extend(cursor.iter().flat_map(|c| ["--cursor", c.as_str()]));
        let page = listing(&redis, &args);
        seen.extend(ids(&page));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, order);
    let by_type = listing(&redis, &["--queue", "q", "--state", "queued", "--type", "t"]);
    assert_eq!(ids(&by_type), order);
}

#[test]
fn ls_pages_skip_no_job_while_workers_take_jobs_and_jobs_are_added() {
    let redis = Redis::start();
    let go = redis.dir.path().join("go");
    let h = script(
        redis.dir.path(),
        "hold.sh",
        &format!("while [ ! -e {} ]; do sleep 0.05; done", go.display()),
    );
    let first: Vec<String> = (0..20).map(|_| enqueue(&redis, &["t", "--queue", "q"])).collect();
    let page = |cursor: Option<&str>| {
        let mut args = vec!["--queue", "q", "--state", "queued", "--limit", "5"];
        args.extend(cursor.map(|c| ["--cursor", c]).into_iter().flatten());
        listing(&redis, &args)
    };
    let p1 = page(None);
    assert_eq!(ids(&p1), first[..5], "the next to run come first");
    // A worker takes the five jobs just listed (the queue moves by five) and holds them.
    let _w = Worker::start(
        &redis,
        &[
            "--queues",
            "q",
            "--concurrency",
            "5",
            "--exec",
            h.to_str().unwrap(),
        ],
    );
    wait_until("five jobs running", T, || {
        listing(&redis, &["--queue", "q", "--state", "active"]).jobs.len() == 5
    });
    let mut seen: Vec<String> = ids(&p1);
    let mut cursor = p1.next_cursor;
    let mut added = Vec::new();
    for _ in 0..50 {
        let Some(c) = cursor else { break };
        // New jobs arrive at the other end while we page.
        added.push(enqueue(&redis, &["t", "--queue", "q"]));
        let p = page(Some(&c));
        seen.extend(ids(&p));
        cursor = p.next_cursor;
    }
    let seen: HashSet<String> = seen.into_iter().collect();
    for id in first.iter().chain(&added) {
        assert!(seen.contains(id), "{id} was never listed");
    }
    std::fs::write(&go, "").unwrap();

    // Sorted sets: jobs removed before the cursor do not shift the next page.
    let sched: Vec<String> = (1..=9)
        .map(|h| enqueue(&redis, &["t", "--queue", "s", "--delay", &format!("{h}h")]))
        .collect();
    let args = ["--queue", "s", "--state", "scheduled", "--limit", "3"];
    let p1 = listing(&redis, &args);
    assert_eq!(ids(&p1), sched[..3]);
    run(jobq(&redis).arg("cancel").args(ids(&p1))).ok();
    let c = p1.next_cursor.unwrap();
    let p2 = listing(&redis, &[&args[..], &["--cursor", c.as_str()]].concat());
    assert_eq!(ids(&p2), sched[3..6], "the page after a cursor is the next three");
}

#[test]
fn ls_shows_run_at_and_offers_all_ids_only_and_no_headers() {
    let redis = Redis::start();
    let queued = enqueue_many(&redis, 60, "t", "q");
    let later = enqueue(&redis, &["t", "--queue", "q", "--delay", "2h"]);
    let r = run(jobq(&redis).args(["ls", "--queue", "q", "--all", "--ids"])).ok();
    let listed: HashSet<&str> = r.stdout.lines().collect();
    assert_eq!(listed.len(), 61, "{}", r.stdout);
    assert!(queued
        .iter()
        .chain([&later])
        .all(|id| listed.contains(id.as_str())));
    assert!(
        !r.stderr.contains("--cursor"),
        "--all prints everything: {}",
        r.stderr
    );
    let r = run(jobq(&redis).args(["ls", "--queue", "q", "--ids", "--limit", "5"])).ok();
    assert_eq!(r.stdout.lines().count(), 5);
    assert!(r.stderr.contains("--cursor"), "{}", r.stderr);
    let r = run(jobq(&redis).args(["ls", "--queue", "q", "--state", "scheduled"])).ok();
    let mut lines = r.stdout.lines();
    assert!(lines.next().unwrap().contains("RUN AT"), "{}", r.stdout);
    let row = lines.next().unwrap();
    assert!(row.contains(&later) && row.contains("(in 1h5"), "{row}");
    let r = run(jobq(&redis).args(["ls", "--queue", "q", "--state", "scheduled", "--no-headers"])).ok();
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(r.stdout.trim_start().starts_with(&later), "{}", r.stdout);
}

#[test]
fn a_job_waiting_to_retry_says_when_it_runs_in_inspect_and_watch() {
    let redis = Redis::start();
    let id = enqueue(&redis, &["t", "--queue", "r"]);
    let h = script(redis.dir.path(), "fail.sh", "echo boom >&2; exit 1");
    run(jobq(&redis).args([
        "worker",
        "--burst",
        "--queues",
        "r",
        "--retry-base",
        "1h",
        "--exec",
        h.to_str().unwrap(),
    ]))
    .ok();
    let r = run(jobq(&redis).args(["inspect", &id])).ok();
    assert!(r.stdout.contains("retry at"), "{}", r.stdout);
    assert!(r.stdout.contains("(in "), "{}", r.stdout);
    assert!(!r.stdout.contains("running for"), "{}", r.stdout);
    let job = inspect(&redis, &id);
    let at = job["errors"][0]["at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "RFC 3339: {at}");
    let watch = Bg::start(&redis, &["watch", &id]);
    watch.wait_out("watch to say when the job is due", |o| {
        o.contains("is scheduled, due")
    });
}

#[test]
fn at_has_the_bounds_of_delay_the_past_needs_a_flag_and_durations_need_units() {
    let redis = Redis::start();
    enqueue(&redis, &["t"]);
    let far = (chrono::Utc::now() + chrono::Duration::days(400)).to_rfc3339();
    let before = redis.digest();
    for (args, says) in [
        (vec!["enqueue", "t", "--at", far.as_str()], "366d"),
        (
            vec!["enqueue", "t", "--at", "2020-01-01T00:00:00Z"],
            "--allow-past",
        ),
        (vec!["enqueue", "t", "--delay", "30"], "30s"),
        (vec!["enqueue", "t", "--timeout", "30"], "30s"),
        (vec!["tail", "--since", "30"], "30s"),
    ] {
        let r = run(jobq(&redis).args(&args));
        assert_eq!(r.code, USAGE, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
    let r = run_with_stdin(
        jobq(&redis).args(["enqueue", "--batch", "-"]),
        br#"{"type":"t","at":"2020-01-01T00:00:00Z"}"#,
    );
    assert_eq!(r.code, USAGE, "{}", r.stderr);
    assert_eq!(redis.digest(), before, "bad input wrote to Redis");
    let id = enqueue(&redis, &["t", "--at", "2020-01-01T00:00:00Z", "--allow-past"]);
    assert_eq!(state(&redis, &id), "queued");
    let r = run_with_stdin(
        jobq(&redis).args(["enqueue", "--batch", "-", "--allow-past"]),
        br#"{"type":"t","at":"2020-01-01T00:00:00Z"}"#,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn tail_since_says_when_the_range_starts_before_the_oldest_kept_event() {
    let redis = Redis::start();
    // Each enqueue is an event: more than the stream keeps (about 10000).
    enqueue_many(&redis, 12_000, "t", "big");
    enqueue(&redis, &["t", "--queue", "small"]);
    for since in ["1h", "0-1"] {
        let r = run(jobq(&redis).args(["tail", "--queue", "big", "--since", since, "--json"])).ok();
        assert!(r.stderr.contains("trimmed"), "--since {since}: {}", r.stderr);
        assert!(r.stdout.lines().count() >= 10_000);
    }
    let r = run(jobq(&redis).args(["tail", "--queue", "small", "--since", "1h"])).ok();
    assert!(!r.stderr.contains("trimmed"), "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1);
}

#[test]
fn unknown_queues_are_exit_3_everywhere_and_nothing_waits_on_them() {
    let redis = Redis::start();
    enqueue(&redis, &["t", "--queue", "real"]);
    let before = redis.digest();
    for args in [
        vec!["ls", "--queue", "nope"],
        vec!["stats", "--queue", "nope"],
        vec!["stats", "--queue", "nope", "--watch"],
        vec!["tail", "--queue", "nope"],
        vec!["tail", "--queue", "nope", "--follow"],
        vec!["watch", "--queue", "nope"],
        vec!["dlq", "ls", "--queue", "nope"],
        vec!["dlq", "drain", "--queue", "nope", "--yes"],
        vec!["dlq", "purge", "--queue", "nope", "--yes"],
        vec!["purge", "nope", "--yes"],
        vec!["pause", "nope"],
        vec!["queue", "rm", "nope", "--yes"],
    ] {
        let r = run_bounded(jobq(&redis).args(&args));
        assert_eq!(r.code, NOT_FOUND, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("no queue named `nope`"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(redis.digest(), before);
}

#[test]
fn queue_rm_removes_a_done_queue_and_refuses_one_with_jobs() {
    let redis = Redis::start();
    let id = enqueue(&redis, &["t", "--queue", "old"]);
    let before = redis.digest();
    let r = run(jobq(&redis).args(["queue", "rm", "old", "--yes"]));
    assert_eq!(r.code, CONFLICT, "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(redis.digest(), before);
    let r = run(jobq(&redis).args(["queue", "rm", "old"]));
    assert_eq!(r.code, CONFLICT, "refused before asking: {}", r.stderr);
    run(jobq(&redis).args(["cancel", &id])).ok();
    let r = run(jobq(&redis).args(["queue", "rm", "old"]));
    assert_eq!(
        r.code, USAGE,
        "asks first (not on a terminal: needs --yes): {}",
        r.stderr
    );
    let done: QueueRemoved = parse(&run(jobq(&redis).args(["queue", "rm", "old", "--yes", "--json"])).ok());
    assert_eq!(
        done,
        QueueRemoved {
            queue: "old".into(),
            deleted_jobs: 1
        }
    );
    assert!(
        redis.keys().iter().all(|k| !k.contains("{jobq:old}")),
        "keys left: {:?}",
        redis.keys()
    );
    assert_eq!(run(jobq(&redis).args(["ls", "--queue", "old"])).code, NOT_FOUND);
    assert_eq!(
        run(jobq(&redis).args(["stats", "--queue", "old"])).code,
        NOT_FOUND
    );
    // --force deletes waiting jobs first.
    enqueue(&redis, &["t", "--queue", "full"]);
    enqueue(&redis, &["t", "--queue", "full", "--delay", "1h"]);
    let done: QueueRemoved =
        parse(&run(jobq(&redis).args(["queue", "rm", "full", "--force", "--yes", "--json"])).ok());
    assert_eq!(done.deleted_jobs, 2);
    assert!(redis.keys().iter().all(|k| !k.contains("{jobq:full}")));
    let stats: Value = parse(&run(jobq(&redis).args(["stats", "--json"])).ok());
    assert_eq!(stats["queues"].as_array().unwrap().len(), 0, "{stats}");
}

#[test]
fn prompts_take_a_whole_line_and_ctrl_c_leaves_the_terminal_as_it_was() {
    let redis = Redis::start();
    enqueue(&redis, &["t", "--queue", "p"]);
    enqueue(&redis, &["t", "--queue", "p"]);
    let bin = env!("CARGO_BIN_EXE_jobq");
    let before = redis.digest();
    {
        // `y` alone decides nothing: the line `yn` is not a yes.
        let tmux = Tmux::start(&redis, &format!("{bin} purge p"));
        tmux.wait_for("Delete 2 queued jobs from 1 queue? [y/N]");
        tmux.keys("y");
        tmux.keys("n");
        tmux.keys("Enter");
        tmux.wait_for("EXIT=1");
    }
    assert_eq!(redis.digest(), before);
    {
        let tmux = Tmux::start(&redis, &format!("{bin} purge p"));
        tmux.wait_for("Delete 2 queued jobs from 1 queue? [y/N]");
        tmux.keys("C-c");
        tmux.wait_for("EXIT=130");
        assert!(tmux.cursor_visible(), "the cursor is hidden after Ctrl-C");
    }
    assert_eq!(redis.digest(), before);
    let tmux = Tmux::start(&redis, &format!("{bin} purge p"));
    tmux.wait_for("Delete 2 queued jobs from 1 queue? [y/N]");
    tmux.keys("yes");
    tmux.keys("Enter");
    tmux.wait_for("EXIT=0");
    let stats: Value = parse(&run(jobq(&redis).args(["stats", "--queue", "p", "--json"])).ok());
    assert_eq!(stats["queues"][0]["queued"], 0);
}

#[test]
fn watch_without_an_id_carries_on_across_a_redis_outage() {
    let mut redis = Redis::start_with(&["--appendonly", "yes"]);
    let go = redis.dir.path().join("go");
    let h = script(
        redis.dir.path(),
        "gated.sh",
        &format!("while [ ! -e {} ]; do sleep 0.05; done", go.display()),
    );
    let _w = Worker::start(&redis, &["--queues", "normal", "--exec", h.to_str().unwrap()]);
    let first = enqueue(&redis, &["t"]);
    wait_for_state(&redis, &first, "active", T);
    let mut watch = Bg::start(&redis, &["watch"]);
    watch.wait_out("watch to show the running job", |o| o.contains(&first));
    std::fs::write(&go, "").unwrap();
    watch.wait_out("watch to show its end", |o| {
        o.lines().any(|l| l.contains(&first) && l.contains("completed"))
    });
    watch.outlives_an_outage(&mut redis);
    let after = enqueue(&redis, &["t"]);
    watch.wait_out("watch to show a job run after the outage", |o| {
        o.lines().any(|l| l.contains(&after) && l.contains("completed"))
    });
    assert!(watch.alive());
}

#[test]
fn stats_watch_carries_on_across_a_redis_outage() {
    let mut redis = Redis::start();
    enqueue(&redis, &["t"]);
    let mut stats = Bg::start(&redis, &["stats", "--watch", "200ms", "--json"]);
    stats.wait_out("a first screen", |o| o.lines().count() >= 1);
    stats.outlives_an_outage(&mut redis);
    // The restarted server is empty (no persistence): the queue that shows is a new one.
    enqueue(&redis, &["t", "--queue", "after"]);
    stats.wait_out("a screen with the new queue", |o| {
        o.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|s| s["queues"][0]["queue"] == "after" && s["totals"]["queued"] == 1)
    });
    assert!(stats.alive());
}

#[test]
fn tail_follow_picks_up_queues_created_after_it_started() {
    let redis = Redis::start();
    let old = enqueue(&redis, &["t", "--queue", "first"]);
    let tail = Bg::start(&redis, &["tail", "--follow", "--json"]);
    tail.wait_out("the replay", |o| o.contains(&old));
    let new = enqueue(&redis, &["t", "--queue", "brand-new"]);
    tail.wait_out("an event of the new queue", |o| o.contains(&new));
    let events: Vec<jobq::store::Event> = tail
        .out()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "each event once: {events:?}");
}

#[test]
fn completion_offers_queue_names_and_job_ids_from_redis() {
    let redis = Redis::start();
    let id = enqueue(&redis, &["t", "--queue", "reports"]);
    let other = enqueue(&redis, &["t", "--queue", "mail"]);
    let complete = |words: &[&str]| {
        let r = run(jobq(&redis).env("COMPLETE", "fish").arg("--").args(words)).ok();
        r.stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let ids = complete(&["jobq", "inspect", ""]);
    assert!(ids.contains(&id) && ids.contains(&other), "{ids:?}");
    assert_eq!(complete(&["jobq", "cancel", "reports-"]), [id.as_str()]);
    let queues = complete(&["jobq", "ls", "--queue", ""]);
    assert_eq!(queues, ["mail", "reports"]);
    assert!(complete(&["jobq", "en"]).contains(&"enqueue".to_string()));
    // The installed bash script, as bash runs it at a Tab (jobq found on PATH).
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_jobq"))
        .parent()
        .unwrap()
        .to_path_buf();
    let tab = format!(
        "source {}/completions/jobq.bash; COMP_WORDS=(jobq inspect reports-); COMP_CWORD=2; COMP_TYPE=9; \
         _clap_complete_jobq jobq reports- inspect; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        env!("CARGO_MANIFEST_DIR")
    );
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let r = run(Command::new("bash")
        .args(["-c", &tab])
        .env("PATH", path)
        .env("JOBQ_REDIS_URL", redis.url()))
    .ok();
    assert_eq!(r.stdout.trim(), id, "{}", r.stderr);
    // An unreachable Redis completes nothing, quickly and quietly.
    let r = run(Command::new(env!("CARGO_BIN_EXE_jobq"))
        .env("COMPLETE", "fish")
        .env("JOBQ_REDIS_URL", "unix:///nonexistent/redis.sock")
        .args(["--", "jobq", "inspect", ""]))
    .ok();
    assert!(r.stdout.lines().all(|l| l.starts_with("--")), "{}", r.stdout);
}

/// Stops the redis-server the demo's hint daemonizes, if a failed run left it up.
struct HintRedis(PathBuf);

impl Drop for HintRedis {
    fn drop(&mut self) {
        let _ = Command::new("redis-cli")
            .arg("-s")
            .arg(&self.0)
            .args(["shutdown", "nosave"])
            .output();
    }
}

#[test]
fn the_demo_teaches_and_its_closing_hint_works_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jobq"))
        .arg("demo")
        .env("TMPDIR", tmp.path())
        .env_remove("JOBQ_REDIS_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for shown in [
        "The handlers",
        "wc -c",
        "jobq enqueue flaky",
        "jobq worker --queues",
        "--handlers demo-handlers.toml",
        "[flaky]",
        "jobq watch ",
    ] {
        assert!(stdout.contains(shown), "{shown:?} missing:\n{stdout}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("resize progress") && l.contains("/25")),
        "no live progress of the resize job:\n{stdout}"
    );
    let hint: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Try it"))
        .skip(1)
        .map(str::trim)
        .collect();
    assert!(hint.len() >= 4, "{stdout}");
    let _guard = HintRedis(tmp.path().join("jobq-try.sock"));
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_jobq"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Bounded: a hint that hangs must fail the test, not stall it.
    let r = run(Command::new("timeout")
        .args(["120", "sh", "-ec", &hint.join("\n")])
        .current_dir(tmp.path())
        .env("PATH", path)
        .env("TMPDIR", tmp.path())
        .env_remove("JOBQ_REDIS_URL")
        .env_remove("JOBQ_NAMESPACE"));
    assert_eq!(r.code, 0, "the hint failed:\n{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("completed"), "{}", r.stdout);
}
