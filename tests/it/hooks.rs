//! Handler hooks (`on_success`, `on_failure`, `on_dead` in the handlers file).

use std::time::Duration;

use serde_json::Value;

use crate::util::*;

const T: Duration = Duration::from_secs(60);

#[test]
fn hooks_get_the_recorded_job_after_each_outcome_and_never_change_it() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    // Each hook run leaves <job>.<hook>.json with what it read on stdin.
    let record = script(
        dir,
        "record.sh",
        &format!("cat > {}/\"$JOBQ_JOB_ID.$JOBQ_HOOK.json\"", dir.display()),
    );
    let broken = script(dir, "broken.sh", "cat >/dev/null; echo hook trouble >&2; exit 3");
    let fail = script(dir, "fail.sh", "echo nope >&2; exit 1");
    let handlers = dir.join("handlers.toml");
    std::fs::write(
        &handlers,
        format!(
            "[ok]\ncommand = \"true\"\non_success = \"{r}\"\n\n\
             [flaky]\ncommand = \"{f}\"\non_failure = \"{r}\"\non_dead = \"{r}\"\n\n\
             [sad]\ncommand = \"true\"\non_success = \"{b}\"\n\n\
             [other]\non_success = \"{r}\"\n",
            r = record.display(),
            f = fail.display(),
            b = broken.display()
        ),
    )
    .unwrap();
    let ok = enqueue(&redis, &["ok", "--data", "{\"n\": 1}"]);
    let flaky = enqueue(&redis, &["flaky", "--max-attempts", "2"]);
    let sad = enqueue(&redis, &["sad"]);
    let other = enqueue(&redis, &["other"]);
    let handlers = handlers.to_str().unwrap();
    let mut w = Worker::start(
        &redis,
        &[
            "--handlers",
            handlers,
            "--exec",
            "true",
            // A retry due at once: the on_failure hook must still see attempt 1.
            "--retry-base",
            "1ms",
            "--concurrency",
            "2",
        ],
    );
    let hook = |id: &str, name: &str| -> Option<Value> {
        let text = std::fs::read_to_string(dir.join(format!("{id}.{name}.json"))).ok()?;
        serde_json::from_str(&text).ok()
    };
    wait_until("the hooks", T, || {
        hook(&ok, "on_success").is_some()
            && hook(&flaky, "on_dead").is_some()
            && hook(&other, "on_success").is_some()
            && w.log().contains("hook on_success failed")
    });
    let done = hook(&ok, "on_success").unwrap();
    assert_eq!(done["state"], "completed", "run after the outcome is recorded");
    assert_eq!(done["payload"], serde_json::json!({"n": 1}));
    let retried = hook(&flaky, "on_failure").unwrap();
    assert_eq!(
        (retried["id"].as_str(), retried["attempt"].as_u64()),
        (Some(flaky.as_str()), Some(1))
    );
    let dead = hook(&flaky, "on_dead").unwrap();
    assert_eq!(dead["state"], "dead");
    assert_eq!(dead["errors"].as_array().unwrap().len(), 2);
    // A failing hook is logged with its stderr and changes nothing.
    assert!(w.log().contains("hook trouble"), "{}", w.log());
    assert_eq!(state(&redis, &sad), "completed");
    w.signal(libc::SIGTERM);
    assert_eq!(w.wait(T), 0);
}

#[test]
fn a_slow_hook_does_not_hold_a_slot_and_is_stopped_at_its_timeout() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    let started = dir.join("hook-started");
    let slow = script(
        dir,
        "slow.sh",
        &format!("echo $$ >> {}; exec sleep 600", started.display()),
    );
    let handlers = dir.join("handlers.toml");
    std::fs::write(
        &handlers,
        format!(
            "[t]\ncommand = \"true\"\non_success = \"{}\"\nhook_timeout = \"2s\"\n",
            slow.display()
        ),
    )
    .unwrap();
    let first = enqueue(&redis, &["t"]);
    let w = Worker::start(
        &redis,
        &["--handlers", handlers.to_str().unwrap(), "--concurrency", "1"],
    );
    wait_for_state(&redis, &first, "completed", T);
    wait_until("the slow hook to start", T, || started.exists());
    // The only slot is free while the hook sleeps: the next job runs at once.
    let second = enqueue(&redis, &["t"]);
    wait_for_state(&redis, &second, "completed", T);
    assert!(
        !w.log().contains("timed out"),
        "the second job finished while the first hook was still running"
    );
    wait_until("the hook's timeout", T, || {
        w.log().contains("hook on_success failed: timed out after 2")
    });
    let pid: i32 = std::fs::read_to_string(&started)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    wait_until("the timed-out hook to be gone", T, || !pid_alive(pid));
}
