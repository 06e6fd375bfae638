//! Issue 3: progress reporting, lifecycle events, `watch`, `wait`, `tail`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

const T: Duration = Duration::from_secs(60);

/// A `jobq` command running in the background with stdout to a file; killed on drop.
struct Bg {
    child: Child,
    out: PathBuf,
}

impl Bg {
    fn start(redis: &Redis, args: &[&str]) -> Bg {
        let out = redis.dir.path().join(format!("bg-{}.out", rand::random::<u32>()));
        let child = jobq(redis)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Bg { child, out }
    }

    fn out(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) {
        wait_until(what, T, || cond(&self.out()));
    }

    fn exit_code(&mut self) -> i32 {
        let mut code = None;
        wait_until("the command to exit", T, || {
            code = self.child.try_wait().unwrap().map(|s| s.code().unwrap_or(-1));
            code.is_some()
        });
        code.unwrap()
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A handler that reports `steps` through the progress fd and after step N waits for the
/// file `goN`, so the test decides when the job moves on (no timing assumptions).
fn gated_handler(dir: &Path, steps: &[&str]) -> PathBuf {
    let mut body = String::new();
    for (i, step) in steps.iter().enumerate() {
        body += &format!("echo \"progress {step}\" >&$JOBQ_PROGRESS_FD\n");
        body += &gate(dir, i + 1);
    }
    body += "echo '{\"rows\":3}'";
    script(dir, "gated.sh", &body)
}

/// Shell lines that wait for the test to call `go(dir, n)`.
fn gate(dir: &Path, n: usize) -> String {
    format!("while [ ! -e {}/go{n} ]; do sleep 0.02; done\n", dir.display())
}

fn go(dir: &Path, n: usize) {
    std::fs::write(dir.join(format!("go{n}")), "").unwrap();
}

/// Runs a burst worker with these `TYPE=COMMAND` handlers until the queues are empty.
fn burst(redis: &Redis, handlers: &[&str]) {
    let mut cmd = jobq(redis);
    cmd.args(["worker", "--burst"]);
    for h in handlers {
        cmd.args(["--handler", h]);
    }
    run(&mut cmd).ok();
}

fn progress_of(redis: &Redis, id: &str) -> Value {
    inspect(redis, id)["progress"].clone()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn watch_plain_shows_rising_progress_then_the_outcome() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    let h = gated_handler(dir, &["1/3 first", "2/3 second", "3/3 third"]);
    let _w = Worker::start(&redis, &["--handler", &format!("export={}", h.display())]);
    let id = enqueue(&redis, &["export"]);
    wait_until("first progress stored", T, || {
        progress_of(&redis, &id)["current"] == 1.0
    });

    let mut watch = Bg::start(&redis, &["watch", &id]);
    watch.wait_for("the snapshot line", |o| o.contains("1/3"));
    go(dir, 1);
    watch.wait_for("the second step", |o| o.contains("2/3  second"));
    go(dir, 2);
    watch.wait_for("the third step", |o| o.contains("3/3  third"));
    go(dir, 3);
    assert_eq!(watch.exit_code(), 0);
    let out = watch.out();
    let percents: Vec<u32> = out
        .lines()
        .filter_map(|l| {
            l.split_once('%')
                .map(|(a, _)| a.rsplit(' ').next().unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(percents, [33, 66, 100], "{out}");
    assert!(
        out.lines().last().unwrap().contains(r#"completed: {"rows":3}"#),
        "{out}"
    );
    assert!(!out.contains('\x1b'), "plain mode has no escape codes: {out:?}");

    // Stored on the job and shown by inspect.
    let p = progress_of(&redis, &id);
    assert_eq!(
        (p["current"].clone(), p["total"].clone()),
        (3.0.into(), 3.0.into())
    );
    assert_eq!(p["message"], "third");
    let text = run(jobq(&redis).args(["inspect", &id])).ok().stdout;
    assert!(text.contains("progress") && text.contains("3/3  third"), "{text}");
}

#[test]
fn watch_json_prints_one_event_per_line() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    let h = gated_handler(dir, &["50%", "100% done"]);
    let _w = Worker::start(&redis, &["--handler", &format!("t={}", h.display())]);
    let id = enqueue(&redis, &["t"]);
    wait_until("first progress stored", T, || {
        progress_of(&redis, &id)["percent"] == 50.0
    });
    let mut watch = Bg::start(&redis, &["watch", &id, "--json"]);
    watch.wait_for("the snapshot", |o| o.lines().count() == 1);
    go(dir, 1);
    watch.wait_for("the second value", |o| o.lines().count() == 2);
    go(dir, 2);
    assert_eq!(watch.exit_code(), 0);
    let events = json_lines(&watch.out());
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["snapshot", "progress", "completed"]);
    let ev = &events[1];
    assert_eq!(ev["id"], id.as_str());
    assert_eq!(ev["type"], "t");
    assert_eq!(ev["queue"], "normal");
    assert_eq!(ev["state"], "active");
    assert_eq!(ev["attempt"], 1);
    assert_eq!(ev["progress"]["percent"], 100.0);
    assert_eq!(ev["progress"]["message"], "done");
    let parsed: jobq::store::Event = serde_json::from_value(ev.clone()).unwrap();
    assert!(parsed.time > 0 && ev["event_id"].as_str().unwrap().contains('-'));
    assert!(
        ev["time"].as_str().unwrap().ends_with('Z'),
        "RFC 3339 UTC: {}",
        ev["time"]
    );
    // The same shape as `inspect` shows the result.
    assert_eq!(events[2]["result"], inspect(&redis, &id)["result"]);
    assert_eq!(events[2]["result"], serde_json::json!({"rows": 3}));
}

/// A tmux session running one shell command in a 160x12 pseudo-terminal; killed on drop.
struct Tmux(String);

impl Tmux {
    fn start(redis: &Redis, command: &str) -> Tmux {
        let name = format!("jobq-test-{}", rand::random::<u32>());
        let shell = format!("env -u NO_COLOR {command}; echo EXIT=$?; sleep 60");
        let url = format!("JOBQ_REDIS_URL={}", redis.url());
        let args = [
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "160",
            "-y",
            "12",
            "-e",
            &url,
            &shell,
        ];
        let ok = Command::new("tmux")
            .args(args)
            .status()
            .expect("tmux must be installed");
        assert!(ok.success());
        Tmux(name)
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `cond`; shows the last screen when it never does.
    fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + T;
        loop {
            let s = self.screen();
            if cond(&s) {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

#[test]
fn watch_draws_a_bar_in_a_terminal() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    let h = gated_handler(dir, &["21500/50000 writing chunk 43"]);
    let _w = Worker::start(&redis, &["--handler", &format!("export_csv={}", h.display())]);
    let id = enqueue(&redis, &["export_csv", "--data", r#"{"rows":50000}"#]);
    wait_until("progress stored", T, || {
        progress_of(&redis, &id)["current"] == 21500.0
    });

    let tmux = Tmux::start(&redis, &format!("{} watch {id}", env!("CARGO_BIN_EXE_jobq")));
    let tail = &id[id.len() - 6..];
    tmux.wait_for("the bar", |s| {
        s.contains(&format!("export_csv …{tail}  [##########"))
            && s.contains("]  43%  21500/50000  writing chunk 43  00:00:")
            && s.contains("(eta ")
    });
    go(dir, 1);
    let s = tmux.wait_for("the outcome line", |s| s.contains("EXIT=0"));
    assert!(
        s.contains(&format!("export_csv …{tail}  completed: {{\"rows\":3}}")),
        "{s}"
    );
    assert!(!s.contains("[#"), "the bar is cleared when the job ends:\n{s}");
}

#[test]
fn watch_without_an_id_caps_the_bars_and_summarises_the_rest() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    let h = gated_handler(dir, &["1/4 chunk 1"]);
    let _w = Worker::start(&redis, &["--handler", &format!("t={}", h.display()), "-c", "5"]);
    let ids: Vec<String> = (0..5).map(|_| enqueue(&redis, &["t"])).collect();
    for id in &ids {
        wait_until("progress stored", T, || progress_of(&redis, id)["current"] == 1.0);
    }
    let tmux = Tmux::start(&redis, &format!("{} watch --bars 3", env!("CARGO_BIN_EXE_jobq")));
    let s = tmux.wait_for("three bars and the summary", |s| {
        s.matches("]  25%  1/4  chunk 1").count() == 3 && s.contains("5 running · 2 not shown")
    });
    assert!(
        s.contains("since start: 0 completed, 0 retrying, 0 dead, 0 cancelled"),
        "{s}"
    );
    go(dir, 1);
    let s = tmux.wait_for("every job's end", |s| {
        s.contains("0 running · since start: 5 completed") && s.matches("completed: {").count() == 5
    });
    assert!(!s.contains("[#"), "{s}");
}

#[test]
fn watch_on_a_finished_job_answers_at_once() {
    let redis = Redis::start();
    let ok = enqueue(&redis, &["t"]);
    let dead = enqueue(&redis, &["bad", "--max-attempts", "1"]);
    burst(&redis, &["t=true", "bad=false"]);
    let r = run(jobq(&redis).args(["watch", &ok]));
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("is completed: null"), "{}", r.stdout);
    let r = run(jobq(&redis).args(["watch", &dead]));
    assert_eq!(r.code, 11, "{}", r.stderr);
    assert!(
        r.stdout.contains("is dead after attempt 1: exit code 1"),
        "{}",
        r.stdout
    );
}

#[test]
fn watch_exits_10_when_the_attempt_fails_and_a_retry_is_scheduled() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    let h = script(dir, "fail.sh", &format!("{}echo boom >&2; exit 1", gate(dir, 1)));
    let _w = Worker::start(
        &redis,
        &["--handler", &format!("t={}", h.display()), "--retry-base", "1h"],
    );
    let id = enqueue(&redis, &["t"]);
    wait_for_state(&redis, &id, "active", T);
    let mut watch = Bg::start(&redis, &["watch", &id]);
    watch.wait_for("the snapshot", |o| o.contains("is active"));
    go(dir, 1);
    assert_eq!(watch.exit_code(), 10);
    assert!(
        watch.out().contains("attempt 1 failed; retry at"),
        "{}",
        watch.out()
    );
    assert!(watch.out().contains("exit code 1: boom"), "{}", watch.out());
}

#[test]
fn wait_exit_codes_say_how_jobs_ended() {
    let redis = Redis::start();
    let ok = enqueue(&redis, &["t"]);
    let dead = enqueue(&redis, &["bad", "--max-attempts", "1"]);
    let mut waiting_ok = Bg::start(&redis, &["wait", &ok]);
    let mut waiting_both = Bg::start(&redis, &["wait", &ok, &dead, "--json"]);
    burst(&redis, &["t=true", "bad=sh -c 'exit 100'"]);
    assert_eq!(waiting_ok.exit_code(), 0);
    // "completed" when it saw the job end, "is completed" when the job had ended before it
    // first looked (the burst worker may win that race on a loaded machine).
    let said = waiting_ok.out();
    assert!(
        [
            format!("{ok} completed: null"),
            format!("{ok} is completed: null")
        ]
        .contains(&said.trim().to_string()),
        "{said}"
    );
    assert_eq!(waiting_both.exit_code(), 11, "the worst outcome wins");
    let jobs: Vec<Value> = serde_json::from_str(&waiting_both.out()).unwrap();
    assert_eq!(
        (jobs[0]["state"].clone(), jobs[1]["state"].clone()),
        ("completed".into(), "dead".into())
    );

    // Cancelled while waited on, then already cancelled.
    let victim = enqueue(&redis, &["t"]);
    let mut waiting = Bg::start(&redis, &["wait", &victim]);
    wait_until("wait to subscribe", T, || {
        let subs: (String, u32) = redis::cmd("PUBSUB")
            .arg("SHARDNUMSUB")
            .arg("{jobq:normal}:events")
            .query(&mut redis.conn())
            .unwrap();
        subs.1 == 1
    });
    run(jobq(&redis).args(["cancel", &victim])).ok();
    assert_eq!(waiting.exit_code(), 12);
    assert_eq!(run(jobq(&redis).args(["wait", &victim])).code, 12);

    // Timeout: nothing runs the job.
    let stuck = enqueue(&redis, &["t"]);
    let r = run(jobq(&redis).args(["wait", &stuck, &ok, "--timeout", "300ms"]));
    assert_eq!(r.code, 13);
    assert!(
        r.stdout.contains(&format!("{stuck} has not ended")),
        "{}",
        r.stdout
    );

    // Bad input: documented codes, nothing written.
    let before = redis.digest();
    assert_eq!(
        run(jobq(&redis).args(["wait", "normal-01JD8XQ4T3M6Z6Q7W8E9R0TYVP"])).code,
        3
    );
    let r = run(jobq(&redis).args(["wait", "nope"]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("jobq: error: ") && r.stderr.lines().count() == 1,
        "{}",
        r.stderr
    );
    assert_eq!(run(jobq(&redis).args(["wait", &ok, "--timeout", "soon"])).code, 2);
    assert_eq!(redis.digest(), before);
}

#[test]
fn enqueue_wait_and_watch_follow_the_new_job() {
    let redis = Redis::start();
    let _w = Worker::start(
        &redis,
        &["--handler", "t=echo 7", "--handler", "bad=sh -c 'exit 100'"],
    );
    let r = run(jobq(&redis).args(["enqueue", "t", "--wait"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = r.stdout.lines().next().unwrap().to_string();
    assert_eq!(state(&redis, &id), "completed");
    let r = run(jobq(&redis).args(["enqueue", "bad", "--watch"]));
    assert_eq!(r.code, 11, "{}", r.stderr);
    // An idle worker may finish the job before the watcher subscribed: then the final line
    // comes from its snapshot ("is dead") instead of the event ("dead after attempt 1").
    let last = r.stdout.lines().last().unwrap();
    assert!(
        last.contains("dead after attempt 1") || last.contains("is dead"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_flood_of_progress_lines_is_coalesced_and_the_last_value_kept() {
    let redis = Redis::start();
    let h = script(
        redis.dir.path(),
        "flood.sh",
        "seq 1 100000 | sed 's|.*|progress &/100000 line &|' >&$JOBQ_PROGRESS_FD",
    );
    let id = enqueue(&redis, &["flood"]);
    redis.reset_stats();
    burst(&redis, &[&format!("flood={}", h.display())]);

    let job = inspect(&redis, &id);
    assert_eq!(job["state"], "completed");
    assert_eq!(
        job["progress"]["current"], 100000.0,
        "the final value is never lost"
    );
    assert_eq!(job["progress"]["message"], "line 100000");
    // Each stored update is one progress event; at most one per 200ms, plus the final one.
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg("{jobq:normal}:events")
        .arg("-")
        .arg("+")
        .query(&mut redis.conn())
        .unwrap();
    let writes = entries
        .iter()
        .filter(|(_, f)| f[1].contains(r#""event":"progress""#))
        .count();
    let ms = |k: &str| chrono::DateTime::parse_from_rfc3339(job[k].as_str().unwrap()).unwrap();
    let ran = (ms("finished_at") - ms("started_at")).num_milliseconds();
    assert!(
        writes >= 1 && writes as i64 <= ran / 200 + 2,
        "{writes} writes in {ran}ms"
    );
    // And in Redis' own count of commands: a handful of script calls, not 100,000.
    let evalsha = redis.command_calls("evalsha");
    assert!(evalsha < 100, "{evalsha} script calls");
}

#[test]
fn jobq_progress_from_a_script_is_fenced_by_the_lease() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    let h = script(
        dir,
        "cli.sh",
        &format!(
            "{} progress 7/10 via the cli\n{}",
            env!("CARGO_BIN_EXE_jobq"),
            gate(dir, 1)
        ),
    );
    let _w = Worker::start(&redis, &["--handler", &format!("t={}", h.display())]);
    let id = enqueue(&redis, &["t"]);
    wait_until("progress from the cli", T, || {
        progress_of(&redis, &id)["message"] == "via the cli"
    });
    assert_eq!(progress_of(&redis, &id)["percent"], 70.0);

    let before = redis.digest();
    let stale = run(jobq(&redis).args(["progress", "9/10", "--job", &id, "--lease", "someone-else/1"]));
    assert_eq!(stale.code, 4, "{}", stale.stderr);
    assert!(
        stale.stderr.contains("not running under this lease"),
        "{}",
        stale.stderr
    );
    let bad = run(jobq(&redis).args(["progress", "lots", "--job", &id, "--lease", "x"]));
    assert_eq!(bad.code, 2);
    assert_eq!(redis.digest(), before, "refused writes change nothing");
    go(dir, 1);
    wait_for_state(&redis, &id, "completed", T);
}

#[test]
fn every_transition_is_an_event_in_the_stream() {
    let redis = Redis::start();
    let id = enqueue(&redis, &["t", "--max-attempts", "2"]);
    let fail = "t=sh -c 'echo oops >&2; exit 1'";
    // A burst worker may exit before the retry is due; run it until the job is dead.
    wait_until("the job to die", T, || {
        run(jobq(&redis).args(["worker", "--burst", "--handler", fail, "--retry-base", "1ms"])).ok();
        state(&redis, &id) == "dead"
    });
    let r = run(jobq(&redis).args(["tail", "--json", "--since", "1h"])).ok();
    let events = json_lines(&r.stdout);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("enqueued", "queued"),
            ("started", "active"),
            ("retry_scheduled", "scheduled"),
            ("queued", "queued"),
            ("started", "active"),
            ("dead", "dead"),
        ]
    );
    assert_eq!(events[2]["error"], "exit code 1: oops");
    let due = events[2]["retry_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(due).is_ok(), "{due}");
    assert_eq!(events[5]["attempt"], 2);
    // Human lines, and the default of the last 10 events.
    let r = run(jobq(&redis).arg("tail")).ok();
    assert_eq!(r.stdout.lines().count(), 6);
    assert!(r
        .stdout
        .lines()
        .last()
        .unwrap()
        .ends_with("dead after attempt 2: exit code 1: oops"));
    // --since an event id replays exactly what came after it; --type filters.
    let after = events[3]["event_id"].as_str().unwrap();
    let r = run(jobq(&redis).args(["tail", "--json", "--since", after])).ok();
    assert_eq!(json_lines(&r.stdout).len(), 2);
    let r = run(jobq(&redis).args(["tail", "--type", "other", "--since", "1h"])).ok();
    assert_eq!(r.stdout, "");
}

#[test]
fn tail_follow_continues_the_replay_without_gaps_or_duplicates() {
    let redis = Redis::start();
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(enqueue(&redis, &["t"]));
    }
    // Enqueue more while tail starts, so events land before, during and after its replay.
    let url = redis.url();
    let more = std::thread::spawn(move || {
        (0..25)
            .map(|_| {
                let out = Command::new(env!("CARGO_BIN_EXE_jobq"))
                    .args(["enqueue", "t", "--redis-url", &url])
                    .output()
                    .unwrap();
                String::from_utf8(out.stdout).unwrap().trim().to_string()
            })
            .collect::<Vec<_>>()
    });
    let tail = Bg::start(
        &redis,
        &["tail", "--since", "1h", "--follow", "--json", "--queue", "normal"],
    );
    ids.extend(more.join().unwrap());
    tail.wait_for("all 30 events", |o| o.lines().count() >= 30);
    // Anything extra would show up by now as a 31st line; the next event proves the pipe is live.
    let last = enqueue(&redis, &["t"]);
    tail.wait_for("the last event", |o| o.contains(&last));
    ids.push(last);
    let events = json_lines(&tail.out());
    let seen: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(
        seen,
        ids.iter().map(String::as_str).collect::<Vec<_>>(),
        "in order, once each"
    );
    let event_ids: HashSet<&str> = events.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    assert_eq!(event_ids.len(), events.len());
}

#[test]
fn watch_without_an_id_lists_running_jobs_as_lines_when_not_a_terminal() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    let h = gated_handler(dir, &["1/2 half", "2/2 all"]);
    let _w = Worker::start(&redis, &["--handler", &format!("t={}", h.display()), "-c", "3"]);
    let a = enqueue(&redis, &["t"]);
    wait_until("first progress stored", T, || {
        progress_of(&redis, &a)["current"] == 1.0
    });
    let watch = Bg::start(&redis, &["watch", "--queue", "normal", "--type", "t"]);
    watch.wait_for("the running job", |o| {
        o.contains(&format!("{a} t is active, 50%"))
    });
    let other = enqueue(&redis, &["u"]);
    go(dir, 1);
    watch.wait_for("the second step", |o| o.contains("2/2  all"));
    go(dir, 2);
    watch.wait_for("the end of the job", |o| o.contains(&format!("{a} t completed")));
    assert!(!watch.out().contains(&other), "--type filters other types");
    assert!(watch.out().contains("progress 100%  2/2  all"));
}

#[test]
fn ctrl_c_ends_watch_and_tail_with_130() {
    let redis = Redis::start();
    let id = enqueue(&redis, &["t"]);
    let mut watch = Bg::start(&redis, &["watch", &id]);
    let mut tail = Bg::start(&redis, &["tail", "--follow"]);
    watch.wait_for("the snapshot", |o| o.contains("is queued"));
    tail.wait_for("the replay", |o| o.contains("enqueued"));
    for bg in [&watch, &tail] {
        unsafe {
            libc::kill(bg.child.id() as i32, libc::SIGINT);
        }
    }
    assert_eq!(watch.exit_code(), 130);
    assert_eq!(tail.exit_code(), 130);
}

#[test]
fn bad_input_to_the_new_commands_changes_nothing() {
    let redis = Redis::start();
    let id = enqueue(&redis, &["t"]);
    let before = redis.digest();
    let cases: &[&[&str]] = &[
        &["watch", "nope"],
        &["watch", "--queue", "a:b"],
        &["watch", "--type", "x*"],
        &["wait"],
        &["tail", "--since", "yesterday"],
        &["tail", "--queue", "{q}"],
        &["progress", "50%"],
        &["progress", "50%", "--job", "nope", "--lease", "x"],
        &["progress", "1/x", "--job", &id, "--lease", "x"],
        &["enqueue", "t", "--wait", "--watch"],
    ];
    for args in cases {
        let r = run(jobq(&redis)
            .args(*args)
            .env_remove("JOBQ_JOB_ID")
            .env_remove("JOBQ_LEASE"));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.starts_with("jobq: error: ") && r.stderr.lines().count() == 1,
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(
        run(jobq(&redis).args(["watch", "normal-01JD8XQ4T3M6Z6Q7W8E9R0TYVP"])).code,
        3
    );
    assert_eq!(redis.digest(), before);
}
