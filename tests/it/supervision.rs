//! A worker's handlers never outlive it or its lease: supervision of handler process groups,
//! self-fencing when leases cannot be renewed, and the signals that stop a worker (issue 9).

use std::path::Path;
use std::time::Duration;

use crate::util::*;

const LONG: Duration = Duration::from_secs(60);

/// Alive, and not a zombie waiting to be reaped (a container's init may never reap it).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Waits for `path` to hold a pid (written whole by the handler) and returns it.
fn read_pid(path: &Path) -> i32 {
    wait_until(&format!("{} to be written", path.display()), LONG, || {
        std::fs::read_to_string(path).is_ok_and(|s| s.trim().parse::<i32>().is_ok())
    });
    std::fs::read_to_string(path).unwrap().trim().parse().unwrap()
}

#[test]
fn a_sigkilled_workers_shell_handler_takes_its_children_along() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    let (child_file, shell_file) = (dir.join("child.pid"), dir.join("shell.pid"));
    // A shell handler with a child of its own: the child does not inherit PDEATHSIG.
    let h = script(
        dir,
        "forks.sh",
        &format!(
            "echo $$ > {s}.tmp && mv {s}.tmp {s}\nsleep 300 &\necho $! > {c}.tmp && mv {c}.tmp {c}\nwait",
            s = shell_file.display(),
            c = child_file.display()
        ),
    );
    enqueue(&redis, &["t"]);
    let mut w = Worker::on(&redis).exec(&h).start();
    let (shell, child) = (read_pid(&shell_file), read_pid(&child_file));
    assert!(running(child), "the handler's child should be running");
    w.signal(libc::SIGKILL);
    w.wait(LONG);
    // The bound is generous for a loaded machine; without supervision the child lives 300 s.
    wait_until(
        "the handler and its child to die with the worker",
        Duration::from_secs(10),
        || !running(shell) && !running(child),
    );
}

/// Hooks (handlers file `on_success`, ...) are supervised like handlers: a SIGKILLed worker
/// takes a running hook's whole process group along.
#[test]
fn a_sigkilled_workers_hook_takes_its_children_along() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    let (child_file, shell_file) = (dir.join("child.pid"), dir.join("shell.pid"));
    let hook = script(
        dir,
        "hook.sh",
        &format!(
            "echo $$ > {s}.tmp && mv {s}.tmp {s}\nsleep 300 &\necho $! > {c}.tmp && mv {c}.tmp {c}\nwait",
            s = shell_file.display(),
            c = child_file.display()
        ),
    );
    let handlers = dir.join("handlers.toml");
    std::fs::write(
        &handlers,
        format!(
            "[t]\ncommand = \"true\"\non_success = \"{}\"\nhook_timeout = \"10m\"\n",
            hook.display()
        ),
    )
    .unwrap();
    enqueue(&redis, &["t"]);
    let mut w = Worker::on(&redis).arg("--handlers").arg(&handlers).start();
    let (shell, child) = (read_pid(&shell_file), read_pid(&child_file));
    assert!(running(child), "the hook's child should be running");
    w.signal(libc::SIGKILL);
    w.wait(LONG);
    // Without supervision the hook's child (no PDEATHSIG after its fork) lives 300 s.
    wait_until(
        "the hook and its child to die with the worker",
        Duration::from_secs(10),
        || !running(shell) && !running(child),
    );
}

#[test]
fn sighup_stops_the_worker_like_sigterm_and_requeues_uncharged() {
    let redis = Redis::start();
    let pid_file = redis.dir.path().join("pid");
    let h = script(
        redis.dir.path(),
        "long.sh",
        &format!(
            "echo $$ > {p}.tmp && mv {p}.tmp {p}\nexec sleep 300",
            p = pid_file.display()
        ),
    );
    let id = enqueue(&redis, &["t"]);
    let mut w = Worker::on(&redis)
        .exec(&h)
        .arg("--shutdown-timeout")
        .arg("200ms")
        .arg("--kill-grace")
        .arg("200ms")
        .start();
    let pid = read_pid(&pid_file);
    w.signal(libc::SIGHUP);
    assert_eq!(w.wait(LONG), 0, "{}", w.log());
    assert!(w.log().contains("received SIGHUP"), "{}", w.log());
    assert!(!running(pid), "the handler outlived the worker");
    let job = inspect(&redis, &id);
    assert_eq!(job["state"], "queued", "{job}");
    assert_eq!(job["attempt"], 0, "a hang-up does not charge the attempt");
}

/// Issue 9 item 7: a renewal held back by a Redis restart used to land after the completion
/// of the same job and report "lease lost" for a job that had just completed at attempt 1.
#[test]
fn a_redis_restart_with_aof_raises_no_false_lease_alarm() {
    let mut redis = Redis::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let dir = redis.dir.path().to_path_buf();
    let (gate, ledger_path) = (dir.join("gate"), dir.join("ledger"));
    let gated = script(
        &dir,
        "gated.sh",
        &format!(
            "echo \"$JOBQ_JOB_ID start\" >> {l}\nwhile [ ! -e {g} ]; do sleep 0.02; done\necho \"$JOBQ_JOB_ID end\" >> {l}",
            l = ledger_path.display(),
            g = gate.display()
        ),
    );
    let ids: Vec<String> = (0..4).map(|_| enqueue(&redis, &["t"])).collect();
    let (t, slow) = (format!("t={}", gated.display()), "slow=sleep 300".to_string());
    let mut w = Worker::on(&redis)
        .arg("--concurrency")
        .arg("4")
        .arg("--handler")
        .arg(&t)
        .arg("--handler")
        .arg(&slow)
        .lease("15s")
        .start();
    let lines = |what: &str| ledger(&ledger_path).iter().filter(|l| l.ends_with(what)).count();
    wait_until("all four handlers to start", LONG, || lines(" start") == 4);
    // With every slot busy, the only script calls are the heartbeat's renewal and recovery
    // check (every 5 s). Cut Redis right after one heartbeat: the next renewal (5 s later)
    // then retries through the outage, and the fencing point (10.5 s) is not reached.
    let before = redis.command_calls("evalsha");
    wait_until("a heartbeat", LONG, || {
        redis.command_calls("evalsha") >= before + 2
    });
    redis.kill();
    // The outage itself (a fault parameter, not a synchronisation): the renewal has been
    // retrying for seconds (its back-off is long now) when the handlers finish and their
    // completions start retrying (with short back-off), so these land first after the restart.
    std::thread::sleep(Duration::from_millis(8500));
    std::fs::write(&gate, "").unwrap();
    wait_until("the handlers to finish", LONG, || lines(" end") == 4);
    redis.restart();
    wait_until("every job to complete", LONG, || {
        ids.iter().all(|id| state(&redis, id) == "completed")
    });
    // The heartbeat loop renews, then records the worker's running jobs: once the record
    // lists a job enqueued now, the held-back renewal has landed.
    let later = enqueue(&redis, &["slow"]);
    wait_until("the worker record to list the new job", LONG, || {
        run(jobq(&redis).args(["workers", "--json"]))
            .stdout
            .contains(&later)
    });
    w.signal(libc::SIGKILL);
    w.wait(LONG);
    for id in &ids {
        assert_eq!(inspect(&redis, id)["attempt"], 1);
    }
    assert!(!w.log().contains("lease lost"), "false alarm:\n{}", w.log());
}

/// Issue 9 item 2: a worker cut off from Redis (a frozen network, no resets) stops its
/// handler before its lease can run out, so the attempt another worker starts after lease
/// recovery never runs beside the stale one.
#[test]
fn a_partitioned_worker_fences_itself_before_another_attempt_starts() {
    let (redis, tcp) = crate::support_proxy::redis_with_tcp();
    let proxy = crate::support_proxy::Proxy::start(tcp);
    let dir = redis.dir.path();
    let (ledger_path, pid1) = (dir.join("ledger"), dir.join("pid1"));
    // Attempt 1 runs until stopped and records when; attempt 2 records whether attempt 1's
    // handler is still running as it starts.
    let h = script(
        dir,
        "fenced.sh",
        &format!(
            r#"now() {{ date +%s%N; }}
if [ "$JOBQ_ATTEMPT" = 1 ]; then
  trap 'echo "end1 $(now)" >> {l}; exit 143' TERM
  echo $$ > {p}.tmp && mv {p}.tmp {p}
  sleep 300 &
  wait
else
  echo "start2 $(now)" >> {l}
  st=$(cut -d' ' -f3 /proc/$(cat {p})/stat 2>/dev/null)
  case "$st" in ''|Z|X) echo clean >> {l} ;; *) echo "overlap $st" >> {l} ;; esac
fi"#,
            l = ledger_path.display(),
            p = pid1.display()
        ),
    );
    let id = enqueue(&redis, &["t"]);
    let url = proxy.url();
    let cut_off = Worker::on(&redis)
        .arg("--redis-url")
        .arg(&url)
        .exec(&h)
        .lease("2s")
        .start();
    read_pid(&pid1);
    proxy.freeze();
    let _other = Worker::on(&redis).exec(&h).lease("2s").start();
    let lines = || ledger(&ledger_path);
    wait_until("attempt 2 to check on attempt 1", LONG, || {
        lines().iter().any(|l| l == "clean" || l.starts_with("overlap"))
    });
    let all = lines();
    assert!(
        all.contains(&"clean".to_string()),
        "the runs overlapped: {all:?}\n{}",
        cut_off.log()
    );
    let time = |what: &str| -> u128 {
        let line = all
            .iter()
            .find(|l| l.starts_with(what))
            .unwrap_or_else(|| panic!("no {what}: {all:?}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    assert!(time("end1") < time("start2"), "{all:?}");
    assert!(cut_off.log().contains("self-fencing"), "{}", cut_off.log());
    wait_for_state(&redis, &id, "completed", LONG);
}
