//! The core of the suite, each body run twice: on a private redis-server (`both::one::*`) and
//! on a Redis Cluster with its queues spread over the three masters (`both::cluster::*`, one
//! cluster shared by all of them, see support_target.rs). Operator commands, cancels of queued
//! and running jobs, the dead-letter queue, watch/wait/tail --follow, a SIGKILLed worker's job
//! recovered, bad input writing nothing, and doctor on every master.

use std::process::Stdio;

use crate::support_target::*;
use crate::util::{pid_alive, run_with_stdin, wait_until};

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod one {
            $(#[test]
            fn $name() {
                super::$name(&super::Target::one(stringify!($name)));
            })*
        }
        mod cluster {
            $(#[test]
            fn $name() {
                super::$name(&super::Target::cluster(stringify!($name)));
            })*
        }
    };
}

on_both!(
    enqueue_batch_ls_stats_and_a_worker_across_queues,
    cancel_queued_and_running,
    dlq_retry_pause_resume_purge,
    watch_wait_and_tail_follow,
    a_sigkilled_workers_job_is_recovered,
    bad_input_writes_nothing,
    doctor_looks_at_every_server,
);

const USAGE: i32 = 2;
const NOT_FOUND: i32 = 3;

fn ids_of(listing: &serde_json::Value) -> Vec<String> {
    listing["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect()
}

/// A handler that writes its pid to `DIR/pid-<job id>` and sleeps (on attempt 1 only when
/// `first_only`: later attempts succeed at once).
fn hang(t: &Target, first_only: bool) -> String {
    let body = format!(
        "{}echo $$ > {}/pid-$JOBQ_JOB_ID\nexec sleep 300",
        if first_only {
            "[ \"$JOBQ_ATTEMPT\" = 1 ] || exit 0\n"
        } else {
            ""
        },
        t.dir.path().display()
    );
    script(t.dir.path(), "hang.sh", &body)
}

/// The pid `hang` wrote for `id`, once it started.
fn started(t: &Target, id: &str) -> i32 {
    let f = t.dir.path().join(format!("pid-{id}"));
    let mut pid = 0;
    wait_until(&format!("the handler of {id} to start"), T, || {
        pid = std::fs::read_to_string(&f)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        pid > 0
    });
    pid
}

fn enqueue_batch_ls_stats_and_a_worker_across_queues(t: &Target) {
    let q = t.queues();
    // One batch mixing the queues (on a cluster: one pipeline per master).
    let lines: String = q
        .iter()
        .map(|q| format!("{{\"type\":\"t\",\"queue\":\"{q}\"}}\n"))
        .collect();
    let r = run_with_stdin(
        t.jobq().args(["enqueue", "--batch", "-"]),
        lines.repeat(2).as_bytes(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut ids: Vec<String> = r.stdout.lines().map(str::to_string).collect();
    assert_eq!(ids.len(), 6, "{}", r.stdout);
    ids.push(t.enqueue(&["t", "--queue", &q[2], "--data", r#"{"n":1}"#]));
    for (i, id) in ids.iter().enumerate() {
        let job = t.inspect(id);
        assert_eq!(job["state"], "queued", "{job}");
        assert_eq!(job["queue"], q[if i < 6 { i % 3 } else { 2 }], "{job}");
    }
    let listed = ids_of(&t.json(&["ls", "--limit", "100"]));
    for id in &ids {
        assert!(listed.contains(id), "ls misses {id}: {listed:?}");
    }
    assert_eq!(ids_of(&t.json(&["ls", "--queue", &q[2]])).len(), 3);
    let stats = t.json(&["stats"]);
    assert_eq!(stats["totals"]["queued"], 7, "{stats}");
    t.ok(&[
        "worker",
        "--burst",
        "--queues",
        &q.join(","),
        "--handler",
        "t=true",
    ]);
    for id in &ids {
        assert_eq!(t.state(id), "completed");
    }
    let stats = t.json(&["stats"]);
    assert_eq!(stats["totals"]["processed_total"], 7, "{stats}");
    assert_eq!(stats["queues"].as_array().unwrap().len(), 3, "{stats}");
}

fn cancel_queued_and_running(t: &Target) {
    let q = t.queues();
    let h = hang(t, false);
    let queued = t.enqueue(&["slow", "--queue", &q[0]]);
    t.ok(&["cancel", &queued]);
    assert_eq!(t.state(&queued), "cancelled");
    // A long lease: the cancel travels on the queue's signal channel, not with a heartbeat.
    let w = t.worker(&["--queues", &q.join(","), "--exec", &h, "--lease", "60s"]);
    let running = t.enqueue(&["slow", "--queue", &q[1]]);
    let pid = started(t, &running);
    let workers = t.ok(&["workers", "--json"]);
    assert!(workers.contains(&q[1]), "{workers}");
    t.ok(&["cancel", &running]);
    t.wait_state(&running, "cancelled", &[&w]);
    wait_until("the cancelled handler to be gone", T, || !pid_alive(pid));
    assert_eq!(t.inspect(&running)["attempt"], 1);
    // The job cancelled while queued never ran.
    assert!(!t.dir.path().join(format!("pid-{queued}")).exists());
    let before = t.snapshot();
    assert!(t.ok(&["cancel", &running]).contains("already cancelled"));
    assert_eq!(t.snapshot(), before);
}

fn dlq_retry_pause_resume_purge(t: &Target) {
    let q = t.queues();
    let all = q.join(",");
    let dead: Vec<String> = q
        .iter()
        .map(|q| t.enqueue(&["boom", "--queue", q, "--max-attempts", "1"]))
        .collect();
    t.ok(&["worker", "--burst", "--queues", &all, "--handler", "boom=false"]);
    let listed = ids_of(&t.json(&["dlq", "ls"]));
    for id in &dead {
        assert_eq!(t.state(id), "dead");
        assert!(listed.contains(id), "{listed:?}");
    }
    t.ok(&["retry", &dead[0]]);
    let job = t.inspect(&dead[0]);
    assert_eq!(
        (job["state"].as_str(), job["attempt"].as_u64()),
        (Some("queued"), Some(0))
    );
    let report = t.json(&["dlq", "drain", "--yes"]);
    assert_eq!(report["total"], 2, "{report}");
    // Pause the first queue: a worker on all three runs the other two only.
    t.ok(&["pause", &q[0]]);
    let w = t.worker(&["--queues", &all, "--handler", "boom=true"]);
    for id in &dead[1..] {
        t.wait_state(id, "completed", &[&w]);
    }
    assert_eq!(t.state(&dead[0]), "queued");
    // Resume wakes the idle worker (its queue's wake-up, on that queue's master).
    t.ok(&["resume", &q[0]]);
    t.wait_state(&dead[0], "completed", &[&w]);
    // Purge one state of one queue; the other queues keep theirs.
    let later: Vec<String> = q
        .iter()
        .map(|q| t.enqueue(&["t", "--queue", q, "--delay", "1h"]))
        .collect();
    let report = t.json(&["purge", &q[1], "--state", "scheduled", "--yes"]);
    assert_eq!(report["total"], 1, "{report}");
    assert_eq!(t.run(&["inspect", &later[1]]).code, NOT_FOUND);
    assert_eq!(t.state(&later[0]), "scheduled");
    assert_eq!(t.state(&later[2]), "scheduled");
}

/// Kills a background process on drop.
struct Bg {
    child: std::process::Child,
    out: std::path::PathBuf,
}

impl Bg {
    fn start(t: &Target, name: &str, args: &[&str]) -> Bg {
        let out = t.dir.path().join(name);
        let child = t
            .jobq()
            .args(args)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Bg { child, out }
    }

    fn out(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
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

fn watch_wait_and_tail_follow(t: &Target) {
    let q = t.queues();
    let tail = Bg::start(t, "tail.out", &["tail", "--follow", "--json"]);
    // tail follows from now: once a probe's event shows up, it is live.
    wait_until("tail --follow to be live", T, || {
        let probe = t.enqueue(&["probe", "--queue", &q[0]]);
        let seen = |out: String| out.contains(&probe);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while std::time::Instant::now() < deadline {
            if seen(tail.out()) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    });
    let id = t.enqueue(&["t", "--queue", &q[2]]);
    let mut watch = Bg::start(t, "watch.out", &["watch", &id]);
    let mut wait = Bg::start(t, "wait.out", &["wait", &id]);
    t.ok(&["worker", "--burst", "--queues", &q[2], "--handler", "t=true"]);
    assert_eq!(wait.exit_code(), 0, "{}", wait.out());
    assert_eq!(watch.exit_code(), 0, "{}", watch.out());
    wait_until("tail to show the job's completion", T, || {
        tail.out()
            .lines()
            .any(|l| l.contains(&id) && l.contains(r#""event":"completed""#))
    });
}

fn a_sigkilled_workers_job_is_recovered(t: &Target) {
    let q = t.queues();
    let h = hang(t, true);
    let mut a = t.worker(&["--queues", &q[1], "--exec", &h, "--lease", "1s"]);
    let id = t.enqueue(&["h", "--queue", &q[1]]);
    started(t, &id);
    a.signal(libc::SIGKILL);
    a.wait(T);
    let b = t.worker(&["--queues", &q.join(","), "--exec", &h, "--lease", "1s"]);
    t.wait_state(&id, "completed", &[&a, &b]);
    let job = t.inspect(&id);
    assert_eq!(job["attempt"], 2, "{job}");
    assert_eq!(job["recoveries"], 1, "{job}");
}

fn bad_input_writes_nothing(t: &Target) {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let q = t.queues();
    for q in &q {
        t.enqueue(&["t", "--queue", q]);
    }
    let before = t.snapshot();
    assert!(!before.is_empty());
    let unknown = format!("{}-01JD8XQ4T3M6Z6Q7W8E9R0TYVP", q[2]);
    let cases: Vec<(Vec<&OsStr>, i32)> = [
        (vec!["enqueue", "t", "--data", "{bad"], USAGE),
        (vec!["enqueue", "a:b"], USAGE),
        (vec!["enqueue", "{a}"], USAGE),
        (vec!["enqueue", "t", "--queue", "q?"], USAGE),
        (vec!["enqueue", "t", "--queue", "{x}y"], USAGE),
        (vec!["enqueue", "t", "--delay", "400d"], USAGE),
        (vec!["enqueue", "t", "--max-attempts", "0"], USAGE),
        (vec!["enqueue", "t", "--unique-key", "a b"], USAGE),
        (vec!["inspect", "not-a-job-id"], USAGE),
        (vec!["inspect", &unknown], NOT_FOUND),
        (vec!["cancel", &unknown], NOT_FOUND),
        (vec!["retry", &unknown], NOT_FOUND),
        (vec!["pause", "nope"], NOT_FOUND),
        (vec!["resume", "no{pe"], USAGE),
        (vec!["purge", &q[0], "--state", "active"], USAGE),
        (vec!["ls", "--queue", "nope"], NOT_FOUND),
        (vec!["ls", "--cursor", "garbage"], USAGE),
        (vec!["dlq", "drain", "--limit", "0", "--yes"], USAGE),
        (vec!["worker", "--exec", "true", "--queues", "a:b"], USAGE),
    ]
    .into_iter()
    .map(|(a, c)| (a.into_iter().map(OsStr::new).collect(), c))
    .chain([(vec![OsStr::new("enqueue"), OsStr::from_bytes(b"ty\xffpe")], USAGE)])
    .collect();
    let mut cases = cases;
    if t.is_cluster() {
        // The bench measures one server; on a cluster it says so instead of half-working.
        cases.push((vec![OsStr::new("bench"), OsStr::new("--use-redis-url")], USAGE));
    }
    for (args, code) in &cases {
        let r = crate::util::run(t.jobq().args(args));
        assert_eq!(r.code, *code, "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("jobq: error: "), "{args:?}: {}", r.stderr);
    }
    // A batch mixing the queues with a bad line (the last, on the third queue's master) writes
    // none of its good lines.
    let batch = format!(
        "{{\"type\":\"t\",\"queue\":\"{}\"}}\n{{\"type\":\"t\",\"queue\":\"{}\"}}\n{{\"type\":\"t\",\"queue\":\"{}\",\"max_attempts\":0}}\n",
        q[0], q[1], q[2]
    );
    let r = run_with_stdin(t.jobq().args(["enqueue", "--batch", "-"]), batch.as_bytes());
    assert_eq!(r.code, USAGE, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(t.snapshot(), before, "bad input changed the namespace");
}

fn doctor(t: &Target, extra: &[&str]) -> Vec<serde_json::Value> {
    let r = t.run(&[&["doctor", "--json"], extra].concat());
    assert!(r.code == 0 || r.code == 8, "doctor: {} {}", r.code, r.stderr);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

fn checks(findings: &[serde_json::Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

fn doctor_looks_at_every_server(t: &Target) {
    let q = t.queues();
    let h = hang(t, false);
    // A job left behind by a SIGKILLed worker on a queue nobody else serves...
    let mut w = t.worker(&["--queues", &q[0], "--exec", &h, "--lease", "1s"]);
    let stranded = t.enqueue(&["h", "--queue", &q[0]]);
    started(t, &stranded);
    w.signal(libc::SIGKILL);
    w.wait(T);
    // ...and a queue holding a job but missing from the queues set (a registration lost).
    let unlisted = t.enqueue(&["t", "--queue", &q[1]]);
    let _: i64 = redis::cmd("SREM")
        .arg(format!("{{{}}}:queues", t.ns))
        .arg(&q[1])
        .query(&mut *t.conn())
        .unwrap();
    let leases = format!("queue {}: leases", q[0]);
    let mut f = Vec::new();
    wait_until("doctor to see the expired lease", T, || {
        f = doctor(t, &[]);
        checks(&f).contains(&leases)
    });
    let names = checks(&f);
    // Settings and keys per server: the one server, or each master by its address.
    let (prefix, servers) = if t.is_cluster() {
        let masters: std::collections::BTreeSet<u16> = q.iter().map(|q| t.master_of(q)).collect();
        (
            masters
                .iter()
                .map(|p| format!("master 127.0.0.1:{p}: "))
                .collect::<Vec<_>>(),
            3,
        )
    } else {
        (vec![String::new()], 1)
    };
    for p in &prefix {
        for check in ["redis version", "maxmemory-policy", "persistence", "keys"] {
            let name = format!("{p}{check}");
            assert!(names.contains(&name), "no {name:?} in {names:?}");
        }
    }
    assert_eq!(
        names.iter().filter(|n| n.ends_with("keys")).count(),
        servers,
        "{names:?}"
    );
    let unlisted_at = if t.is_cluster() {
        format!("master 127.0.0.1:{}: queues set", t.master_of(&q[1]))
    } else {
        "queues set".to_string()
    };
    let u = f
        .iter()
        .find(|f| f["check"] == unlisted_at)
        .unwrap_or_else(|| panic!("no {unlisted_at:?} in {names:?}"));
    assert!(u["detail"].as_str().unwrap().contains(&q[1]), "{u}");
    // --fix requeues the stranded job and lists the queue again.
    let fixed = doctor(t, &["--fix"]);
    for check in [&leases, &unlisted_at] {
        let f = fixed.iter().find(|f| &f["check"] == check).unwrap();
        assert_eq!(f["fixed"], true, "{f}");
    }
    assert_eq!(t.state(&stranded), "queued");
    let after = checks(&doctor(t, &[]));
    assert!(
        !after.contains(&unlisted_at) && !after.contains(&leases),
        "{after:?}"
    );
    let stats = t.json(&["stats"]);
    assert!(stats.to_string().contains(&q[1]), "{stats}");
    assert_eq!(t.state(&unlisted), "queued");
}

/// `enqueue --min-replicas` asks the master of the job's queue, not every master: with one
/// master's replica down, durable enqueues to queues elsewhere go on, and those to that
/// master's queues are refused (exit 7) until its replica is back.
#[test]
fn cluster_min_replicas_waits_on_the_jobs_master_only() {
    let t = Target::cluster("min_replicas");
    let q = t.queues();
    // The namespace-wide keys (queue registration, routes) have a master of their own; the
    // victim is another one.
    let ns_master = {
        let c = shared_cluster();
        c.master_of_slot(c.keyslot(&format!("{{{}}}", t.ns)))
    };
    let victim_q = q.iter().find(|q| t.master_of(q) != ns_master).unwrap().clone();
    let other_q = q.iter().find(|x| **x != victim_q).unwrap().clone();
    let victim = t.master_of(&victim_q);
    let durable = |queue: &str| t.run(&["enqueue", "t", "--queue", queue, "--min-replicas", "1"]);
    wait_until("durable enqueues to succeed on both masters", T, || {
        durable(&victim_q).code == 0 && durable(&other_q).code == 0
    });
    let replica = {
        let mut c = shared_cluster();
        let r = c.replica_of(victim);
        c.node(r).kill();
        shared_cluster_pids_changed(&c);
        r
    };
    let down = || {
        let c = shared_cluster();
        let info = c
            .nodes
            .iter()
            .find(|n| n.port == victim)
            .unwrap()
            .info("replication");
        info.contains("connected_slaves:0")
    };
    wait_until("the victim master to lose its replica", T, down);
    let started = std::time::Instant::now();
    let r = durable(&other_q);
    let took = started.elapsed();
    let refused = durable(&victim_q);
    {
        let mut c = shared_cluster();
        c.node(replica).restart();
        shared_cluster_pids_changed(&c);
    }
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = r.stdout.trim().to_string();
    assert_eq!(t.state(&id), "queued");
    assert_eq!(refused.code, 7, "{}", refused.stderr);
    assert!(refused.stderr.contains("replica"), "{}", refused.stderr);
    eprintln!("measured: a durable enqueue to another master took {took:?} while one master had no replica");
    wait_until(
        "durable enqueues to the victim's queue to succeed again",
        T,
        || durable(&victim_q).code == 0,
    );
}
