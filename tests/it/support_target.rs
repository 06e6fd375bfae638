//! One test body, two deployments: a private redis-server, or a Redis Cluster (3 masters + 3
//! replicas) shared by every test of the process that asks for it. Each test gets a namespace
//! of its own (`JOBQ_NAMESPACE`), so tests sharing the cluster never see each other's keys:
//! "nothing was written" is checked on the namespace's keys ([`Target::snapshot`]), not on a
//! whole server's digest. Starting a cluster costs seconds on a loaded machine; sharing one
//! keeps the cluster variants of the core tests cheap.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::support_cluster::Cluster;
use crate::util::{run, Redis, Run, Worker};

/// Bound for waits on real conditions: generous, the CI machine is loaded.
pub const T: Duration = Duration::from_secs(120);

enum Server {
    One(Redis),
    Cluster,
}

pub struct Target {
    server: Server,
    pub url: String,
    pub ns: String,
    /// Scripts, ledgers and worker logs of this test.
    pub dir: TempDir,
}

static SHARED: OnceLock<Mutex<Cluster>> = OnceLock::new();
static SHARED_PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static SHARED_DIR: OnceLock<std::path::PathBuf> = OnceLock::new();

/// The process-wide cluster, started on first use. Statics are never dropped, so its servers
/// are killed (and its directory removed) when the test process exits.
pub fn shared_cluster() -> MutexGuard<'static, Cluster> {
    let m = SHARED.get_or_init(|| {
        let c = Cluster::start();
        *SHARED_PIDS.lock().unwrap() = c.pids();
        let _ = SHARED_DIR.set(c.dir.path().to_path_buf());
        extern "C" fn stop() {
            if let Ok(pids) = SHARED_PIDS.lock() {
                for &pid in pids.iter() {
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                }
            }
            if let Some(dir) = SHARED_DIR.get() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        unsafe { libc::atexit(stop) };
        Mutex::new(c)
    });
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Pids of the shared cluster's servers changed (a test restarted one): keep the exit hook's
/// list current.
pub fn shared_cluster_pids_changed(c: &Cluster) {
    *SHARED_PIDS.lock().unwrap() = c.pids();
}

fn unique_ns(test: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("t{}-{test}", N.fetch_add(1, Ordering::Relaxed))
}

impl Target {
    /// A private redis-server.
    pub fn one(test: &str) -> Target {
        let redis = Redis::start();
        Target {
            url: redis.url(),
            server: Server::One(redis),
            ns: unique_ns(test),
            dir: tempdir(),
        }
    }

    /// The shared cluster.
    pub fn cluster(test: &str) -> Target {
        let url = shared_cluster().url();
        Target {
            server: Server::Cluster,
            url,
            ns: unique_ns(test),
            dir: tempdir(),
        }
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self.server, Server::Cluster)
    }

    pub fn jobq(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jobq"));
        cmd.env("JOBQ_REDIS_URL", &self.url)
            .env("JOBQ_NAMESPACE", &self.ns)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run(self.jobq().args(args))
    }

    /// Runs and asserts exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "jobq {args:?} on {}: {}", self.url, r.stderr);
        r.stdout
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(&[args, &["--json"]].concat());
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    pub fn enqueue(&self, args: &[&str]) -> String {
        self.ok(&[&["enqueue"], args].concat()).trim().to_string()
    }

    pub fn inspect(&self, id: &str) -> Value {
        self.json(&["inspect", id])
    }

    pub fn state(&self, id: &str) -> String {
        self.inspect(id)["state"].as_str().unwrap_or("").to_string()
    }

    /// Waits for `id` to reach `want`; on failure says where it is and what `logs` hold.
    pub fn wait_state(&self, id: &str, want: &str, logs: &[&Worker]) {
        let deadline = std::time::Instant::now() + T;
        loop {
            let job = self.inspect(id);
            if job["state"] == want {
                return;
            }
            if std::time::Instant::now() > deadline {
                let logs: Vec<String> = logs.iter().map(|w| w.log()).collect();
                panic!(
                    "job {id} not {want} after {T:?}: {job}\nworker logs:\n{}",
                    logs.join("\n---\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A background worker in this namespace; waits for its " started: " line.
    pub fn worker(&self, args: &[&str]) -> Worker {
        let mut cmd = self.jobq();
        cmd.arg("worker").args(args);
        Worker::spawn(cmd, self.dir.path(), "worker", " started: ")
    }

    /// Three queue names; on the cluster each lives on another master.
    pub fn queues(&self) -> Vec<String> {
        match self.server {
            Server::One(_) => vec!["qa".into(), "qb".into(), "qc".into()],
            Server::Cluster => {
                let c = shared_cluster();
                let mut by_master = BTreeMap::new();
                for i in 0..1000 {
                    let q = format!("q{i}");
                    let slot = c.keyslot(&format!("{{{}:{q}}}", self.ns));
                    by_master.entry(c.master_of_slot(slot)).or_insert(q);
                    if by_master.len() == 3 {
                        break;
                    }
                }
                assert_eq!(by_master.len(), 3, "queues on three masters");
                by_master.into_values().collect()
            }
        }
    }

    /// The port of the master holding `queue` (cluster only).
    pub fn master_of(&self, queue: &str) -> u16 {
        let c = shared_cluster();
        c.master_of_slot(c.keyslot(&format!("{{{}:{queue}}}", self.ns)))
    }

    /// Plain connections to each server holding part of the data: the one server, or every
    /// master of the cluster.
    fn servers(&self) -> Vec<redis::Connection> {
        match &self.server {
            Server::One(r) => vec![r.conn()],
            Server::Cluster => {
                let c = shared_cluster();
                let mut masters: Vec<u16> =
                    (0..16384u16).step_by(1024).map(|s| c.master_of_slot(s)).collect();
                masters.sort();
                masters.dedup();
                masters
                    .into_iter()
                    .map(|p| {
                        redis::Client::open(format!("redis://127.0.0.1:{p}"))
                            .unwrap()
                            .get_connection()
                            .unwrap()
                    })
                    .collect()
            }
        }
    }

    /// Every key of this namespace with its serialized value (`DUMP`): equal snapshots mean
    /// nothing in the namespace changed.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let pattern = format!("{{{}[:}}]*", self.ns);
        let mut out = BTreeMap::new();
        for mut c in self.servers() {
            let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut c).unwrap();
            for k in keys {
                let v: Option<Vec<u8>> = redis::cmd("DUMP").arg(&k).query(&mut c).unwrap();
                out.insert(k, v.unwrap_or_default());
            }
        }
        out
    }

    /// A connection for the test's own reads (a cluster connection on the cluster).
    pub fn conn(&self) -> Box<dyn redis::ConnectionLike> {
        match &self.server {
            Server::One(r) => Box::new(r.conn()),
            Server::Cluster => Box::new(shared_cluster().client()),
        }
    }
}

fn tempdir() -> TempDir {
    tempfile::Builder::new().prefix("jobq-target-").tempdir().unwrap()
}

/// An executable script in `dir` (see util::script).
pub fn script(dir: &Path, name: &str, body: &str) -> String {
    crate::util::script(dir, name, body).display().to_string()
}
