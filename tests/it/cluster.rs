//! jobq on a local Redis Cluster (3 masters + 3 replicas) and on Sentinel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support_cluster::*;
use crate::util::{run, script, wait_until};

const LONG: Duration = Duration::from_secs(120);

fn state_at(url: &str, id: &str) -> String {
    let r = run(jobq_at(url).args(["inspect", id, "--json"])).ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    v["state"].as_str().unwrap().to_string()
}

fn ok_at(url: &str, args: &[&str]) -> String {
    let r = run(jobq_at(url).args(args));
    assert_eq!(r.code, 0, "jobq {args:?} failed: {}", r.stderr);
    r.stdout
}

/// Kills a background process on drop.
struct Bg(std::process::Child);

impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn cluster_smoke() {
    let cluster = Cluster::start();
    let url = cluster.url();
    let queues = cluster.queues_on_each_master();
    let masters: std::collections::HashSet<u16> = queues.iter().map(|q| cluster.master_of_queue(q)).collect();
    assert_eq!(masters.len(), 3, "the queues live on three different masters");
    let ids: Vec<String> = queues
        .iter()
        .map(|q| ok_at(&url, &["enqueue", "t", "--queue", q]).trim().to_string())
        .collect();
    for id in &ids {
        assert_eq!(state_at(&url, id), "queued");
    }
    ok_at(&url, &["pause", &queues[0]]);
    ok_at(&url, &["resume", &queues[0]]);
    let h = script(cluster.dir.path(), "ok.sh", "true");
    // One queue per worker, each on its own master...
    for q in &queues[..2] {
        ok_at(
            &url,
            &["worker", "--burst", "--queues", q, "--exec", h.to_str().unwrap()],
        );
    }
    // ...and one worker on queues of different masters.
    let all = queues.join(",");
    ok_at(
        &url,
        &[
            "worker",
            "--burst",
            "--queues",
            &all,
            "--exec",
            h.to_str().unwrap(),
        ],
    );
    for id in &ids {
        wait_until("the job to complete", LONG, || state_at(&url, id) == "completed");
    }
    // One idle worker on queues of all three masters hears each queue's wake-up (sharded
    // Pub/Sub on the queue's own node) and runs jobs enqueued after it started.
    let all = queues.join(",");
    let _w = Bg(jobq_at(&url)
        .args(["worker", "--queues", &all, "--exec", h.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap());
    wait_until("the worker to register", LONG, || {
        run(jobq_at(&url).args(["workers", "--json"]))
            .stdout
            .contains(&queues[0])
    });
    let late: Vec<String> = queues
        .iter()
        .map(|q| {
            run(jobq_at(&url).args(["enqueue", "t", "--queue", q]))
                .ok()
                .stdout
                .trim()
                .to_string()
        })
        .collect();
    for id in &late {
        wait_until("the late job to complete", LONG, || {
            state_at(&url, id) == "completed"
        });
    }
    for args in [vec!["stats"], vec!["ls", "--queue", &queues[0]], vec!["workers"]] {
        let r = run(jobq_at(&url).args(&args));
        eprintln!("{args:?}: {} {} {}", r.code, r.stdout, r.stderr);
    }
}

/// How many of `ids` are in each state, read one by one through `conn` (which may be a
/// cluster connection: each job's key lives on its queue's node).
pub fn job_states(conn: &mut dyn redis::ConnectionLike, ids: &[String]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for id in ids {
        let queue = &id[..id.len() - 27];
        let s: Option<String> = redis::cmd("HGET")
            .arg(format!("{{jobq:{queue}}}:job:{id}"))
            .arg("state")
            .query(conn)
            .unwrap_or(None);
        *out.entry(s.unwrap_or_else(|| "missing".into())).or_insert(0) += 1;
    }
    out
}

/// Enqueues through the CLI, one process per job, until `stop`; returns the ids of the
/// enqueues that succeeded (exit 0) and how many failed.
fn producer(
    url: String,
    queues: Vec<String>,
    extra: &'static [&'static str],
    stop: Arc<AtomicBool>,
    ok: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut failed = 0;
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            let q = &queues[i % queues.len()];
            i += 1;
            let r = run(jobq_at(&url).args(["enqueue", "t", "--queue", q]).args(extra));
            if r.code == 0 {
                ok.lock().unwrap().push(r.stdout.trim().to_string());
            } else {
                failed += 1;
            }
        }
        failed
    })
}

#[test]
fn sentinel_failover_is_followed_and_loses_nothing() {
    let s = Sentinels::start();
    let url = s.url();
    let old = s.master_port();
    let ledger = s.dir.path().join("ledger");
    let h = script(
        s.dir.path(),
        "ledger.sh",
        &format!("echo \"$JOBQ_JOB_ID\" >> {}", ledger.display()),
    );
    let w = worker_at(
        &url,
        s.dir.path(),
        &[
            "--queues",
            "normal",
            "--concurrency",
            "4",
            "--exec",
            h.to_str().unwrap(),
            "--lease",
            "3s",
        ],
    );
    let (stop, ids) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
    // A write acknowledged by the master alone is lost if the replica is promoted before it
    // arrives: what "enqueue succeeded" promises across a failover needs --min-replicas.
    let p = producer(
        url.clone(),
        vec!["normal".into()],
        &["--min-replicas", "1"],
        stop.clone(),
        ids.clone(),
    );
    wait_until("some jobs to be enqueued", LONG, || {
        ids.lock().unwrap().len() >= 30
    });
    let mut c = s.sentinels[0].conn();
    redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(MASTER_NAME)
        .query::<()>(&mut c)
        .unwrap();
    wait_until("the sentinels to promote the replica", LONG, || {
        s.master_port() != old
    });
    let promoted = Instant::now();
    // jobq follows at once: a plain enqueue lands on the new master within seconds.
    let new_port = s.master_port();
    wait_until("a plain enqueue to land on the new master", LONG, || {
        let r = run(jobq_at(&url).args(["enqueue", "t", "--queue", "probe"]));
        r.code == 0
            && job_states(&mut s.server(new_port).conn(), &[r.stdout.trim().to_string()])
                .contains_key("queued")
    });
    let followed = promoted.elapsed();
    let before = ids.lock().unwrap().len();
    // jobq follows: enqueues succeed again on the new master within seconds.
    // Durable enqueues resume once the demoted master is back as a replica (Sentinel
    // reconfigures it within about 10 s) and in sync.
    wait_until("durable enqueues to succeed after the failover", LONG, || {
        ids.lock().unwrap().len() >= before + 30
    });
    let durable = promoted.elapsed();
    stop.store(true, Ordering::Relaxed);
    let failed = p.join().unwrap();
    let ids = ids.lock().unwrap().clone();
    let new_master = s.server(s.master_port());
    let deadline = Instant::now() + LONG;
    let mut states = job_states(&mut new_master.conn(), &ids);
    while states.get("completed") != Some(&ids.len()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        states = job_states(&mut new_master.conn(), &ids);
    }
    assert_eq!(
        states.get("completed"),
        Some(&ids.len()),
        "{states:?}; worker log {}:\n{}",
        w.log.display(),
        w.log()
    );
    eprintln!(
        "measured: a plain enqueue reached the new master {followed:?} after the promotion; {} durable jobs enqueued ({failed} refused), 30 after the promotion by {durable:?}; all completed",
        ids.len()
    );
    assert!(followed < Duration::from_secs(10), "{followed:?}");
    drop(w);
}

#[test]
fn cluster_failovers_during_a_run_lose_no_enqueued_job() {
    let mut cluster = Cluster::start();
    let url = cluster.url();
    let queues = cluster.queues_on_each_master();
    let ledger = cluster.dir.path().join("ledger");
    let h = script(
        cluster.dir.path(),
        "ledger.sh",
        &format!("echo \"$JOBQ_JOB_ID\" >> {}", ledger.display()),
    );
    let workers: Vec<_> = queues
        .iter()
        .map(|q| {
            worker_at(
                &url,
                cluster.dir.path(),
                &[
                    "--queues",
                    q,
                    "--concurrency",
                    "4",
                    "--exec",
                    h.to_str().unwrap(),
                    "--lease",
                    "3s",
                ],
            )
        })
        .collect();
    const JOBS: usize = 2000;
    let (done, ids) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
    let failed = Arc::new(Mutex::new(0usize));
    let producer = {
        let (url, queues, ids, failed, done) = (
            url.clone(),
            queues.clone(),
            ids.clone(),
            failed.clone(),
            done.clone(),
        );
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let store = jobq::Store::connect(&url, "jobq", jobq::RetryPolicy::CLI)
                    .await
                    .unwrap();
                for i in 0..JOBS {
                    let job =
                        jobq::NewJob::new("t", &queues[i % queues.len()], &serde_json::json!({ "i": i }));
                    match store.enqueue(&job).await {
                        Ok(o) => ids.lock().unwrap().push(o.id().to_string()),
                        Err(_) => *failed.lock().unwrap() += 1,
                    }
                }
            });
            done.store(true, Ordering::Relaxed);
        })
    };
    // A graceful failover: the replica of queue 0's master takes over.
    wait_until("a quarter of the jobs", LONG, || {
        ids.lock().unwrap().len() >= JOBS / 4
    });
    let m0 = cluster.master_of_queue(&queues[0]);
    let r0 = cluster.replica_of(m0);
    redis::cmd("CLUSTER")
        .arg("FAILOVER")
        .query::<()>(&mut cluster.node(r0).conn())
        .unwrap();
    wait_until("the replica to take over", LONG, || cluster.role(r0) == "master");
    // A crash: queue 1's master is SIGKILLed; its replica is promoted after the node timeout.
    wait_until("half of the jobs", LONG, || ids.lock().unwrap().len() >= JOBS / 2);
    let m1 = cluster.master_of_queue(&queues[1]);
    let r1 = cluster.replica_of(m1);
    cluster.node(m1).kill();
    let killed = Instant::now();
    wait_until("the replica of the killed master to take over", LONG, || {
        cluster.role(r1) == "master"
    });
    let promoted = killed.elapsed();
    producer.join().unwrap();
    let ids = ids.lock().unwrap().clone();
    let failed = *failed.lock().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut states = job_states(&mut cluster.client(), &ids);
    while states.get("completed") != Some(&ids.len()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        states = job_states(&mut cluster.client(), &ids);
    }
    let logs: Vec<String> = workers.iter().map(|w| w.log()).collect();
    assert_eq!(
        states.get("completed"),
        Some(&ids.len()),
        "{states:?}; worker logs:\n{}",
        logs.join("\n---\n")
    );
    // The CLI carries on too.
    ok_at(&url, &["stats"]);
    eprintln!(
        "measured: {} of {JOBS} enqueues succeeded ({failed} refused), replica promoted {promoted:?} after the SIGKILL; every succeeded job completed",
        ids.len()
    );
    assert!(done.load(Ordering::Relaxed));
}

/// `enqueue --after` across masters: the parent's queue and the child's live on different
/// nodes. The worker that completes the parent cannot reach the child's node (its writes are
/// paused) and is SIGKILLed there, between the parent's completion and the child's release;
/// another worker applies the release left in the parent queue's outbox, and the child runs
/// exactly once.
#[test]
fn cluster_release_of_a_child_on_another_master_survives_a_killed_worker() {
    let mut cluster = Cluster::start();
    let url = cluster.url();
    let ns_master = cluster.master_of_slot(cluster.keyslot("{jobq}:workers"));
    // Parent and child queues on two masters, the child's not holding the namespace keys
    // (pausing it must not stop the worker's heartbeat).
    let queues = cluster.queues_on_each_master();
    let child_q = queues
        .iter()
        .find(|q| cluster.master_of_queue(q) != ns_master)
        .unwrap()
        .clone();
    let parent_q = queues
        .iter()
        .find(|q| cluster.master_of_queue(q) != cluster.master_of_queue(&child_q))
        .unwrap()
        .clone();
    let ledger = cluster.dir.path().join("ledger");
    let h = script(
        cluster.dir.path(),
        "ok.sh",
        &format!("echo \"$JOBQ_JOB_ID\" >> {}", ledger.display()),
    );
    let h = h.to_str().unwrap();
    let parent = ok_at(&url, &["enqueue", "p", "--queue", &parent_q])
        .trim()
        .to_string();
    let child = ok_at(&url, &["enqueue", "c", "--queue", &child_q, "--after", &parent])
        .trim()
        .to_string();
    assert_eq!(state_at(&url, &child), "waiting");

    let child_master = cluster.master_of_queue(&child_q);
    let mut admin = cluster.node(child_master).conn();
    redis::cmd("CLIENT")
        .arg(&["PAUSE", "120000", "WRITE"][..])
        .query::<()>(&mut admin)
        .unwrap();
    let w1 = worker_at(&url, cluster.dir.path(), &["--queues", &parent_q, "--exec", h]);
    wait_until("the parent to complete", LONG, || {
        state_at(&url, &parent) == "completed"
    });
    let mut c = cluster.client();
    let outbox = format!("{{jobq:{parent_q}}}:outbox");
    let pending: u64 = redis::cmd("HLEN").arg(&outbox).query(&mut c).unwrap();
    assert_eq!(
        pending,
        1,
        "the release waits in the outbox; worker log:\n{}",
        w1.log()
    );
    w1.signal(libc::SIGKILL);
    drop(w1);
    redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query::<()>(&mut admin)
        .unwrap();

    let w2 = worker_at(
        &url,
        cluster.dir.path(),
        &[
            "--queues",
            &format!("{parent_q},{child_q}"),
            "--exec",
            h,
            "--lease",
            "3s",
        ],
    );
    wait_until("the child to complete", LONG, || {
        state_at(&url, &child) == "completed"
    });
    let pending: u64 = redis::cmd("HLEN").arg(&outbox).query(&mut c).unwrap();
    assert_eq!(pending, 0, "worker log:\n{}", w2.log());
    let runs = std::fs::read_to_string(&ledger).unwrap();
    assert_eq!(runs.lines().filter(|l| *l == child).count(), 1, "{runs}");
}
