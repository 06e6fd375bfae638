//! Test fixtures for replicated Redis: a local Redis Cluster (3 masters, 3 replicas) and a
//! Sentinel setup (master, replica, 3 sentinels). Each server gets a free TCP port chosen by
//! the test, its own temp dir and log, and dies on Drop. Starting waits for conditions
//! (`cluster_state:ok` on every node, replicas in sync, sentinels agreeing), never sleeps.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::util::{wait_until, Worker};

const UP: Duration = Duration::from_secs(60);

/// One redis-server (or sentinel) process on a TCP port.
pub struct Node {
    pub port: u16,
    pub dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl Node {
    pub fn start(root: &Path, port: u16, args: &[String]) -> Node {
        let dir = root.join(port.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let mut node = Node {
            port,
            dir,
            args: args.to_vec(),
            child: None,
        };
        node.spawn();
        node
    }

    fn spawn(&mut self) {
        let log = self.dir.join("redis.log");
        let child = Command::new("redis-server")
            .args(&self.args)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be on PATH (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + UP;
        while self.try_conn().is_err() {
            if Instant::now() > deadline {
                panic!(
                    "redis-server on {} did not come up; its log:\n{}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    fn try_conn(&self) -> redis::RedisResult<redis::Connection> {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{}", self.port))?
            .get_connection_with_timeout(Duration::from_secs(2))?;
        redis::cmd("PING").query::<()>(&mut c)?;
        Ok(c)
    }

    pub fn conn(&self) -> redis::Connection {
        self.try_conn().unwrap()
    }

    pub fn info(&self, section: &str) -> String {
        self.try_conn()
            .and_then(|mut c| redis::cmd("INFO").arg(section).query(&mut c))
            .unwrap_or_default()
    }

    pub fn is_alive(&self) -> bool {
        self.child.is_some()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Starts the server again after [`Node::kill`], on its port, directory and config (a
    /// cluster node rejoins with its nodes.conf).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// SIGKILL; the node stays down.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free TCP port whose cluster bus port (+10000) is free too.
pub fn free_port() -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// 3 masters + 3 replicas, `cluster-node-timeout` 1 s, appendonly on.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub dir: TempDir,
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("jobq-cluster-")
            .tempdir()
            .unwrap();
        let args: Vec<String> = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "1000",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut ports = Vec::new();
        while ports.len() < 6 {
            let p = free_port();
            if !ports.contains(&p) {
                ports.push(p);
            }
        }
        let nodes: Vec<Node> = ports.iter().map(|&p| Node::start(dir.path(), p, &args)).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(ports.iter().map(|p| format!("127.0.0.1:{p}")))
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("redis-cli must be on PATH (apt-get install redis-tools)");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Cluster { nodes, dir };
        cluster.wait_healthy();
        cluster
    }

    /// Every live node says `cluster_state:ok`, knows all nodes, and every live master has
    /// an in-sync replica... or at least the slots are all served.
    pub fn wait_healthy(&self) {
        wait_until("the cluster to be ok on every node", UP, || {
            self.nodes.iter().filter(|n| n.is_alive()).all(|n| {
                let mut c = match n.try_conn() {
                    Ok(c) => c,
                    Err(_) => return false,
                };
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut c)
                    .unwrap_or_default();
                field(&info, "cluster_state") == Some("ok")
                    && field(&info, "cluster_slots_ok") == Some("16384")
            })
        });
        wait_until("every replica to be in sync", UP, || {
            self.nodes.iter().filter(|n| n.is_alive()).all(|n| {
                let info = n.info("replication");
                field(&info, "role") != Some("slave") || field(&info, "master_link_status") == Some("up")
            })
        });
    }

    /// `redis+cluster://` with every node (the client needs just one that answers).
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    /// A cluster-aware connection for the test's own assertions.
    pub fn client(&self) -> redis::cluster::ClusterConnection {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.is_alive())
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect();
        redis::cluster::ClusterClient::new(nodes)
            .unwrap()
            .get_connection()
            .unwrap()
    }

    pub fn keyslot(&self, key: &str) -> u16 {
        let n = self.nodes.iter().find(|n| n.is_alive()).unwrap();
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut n.conn())
            .unwrap()
    }

    /// The port of the master serving `slot`, asked from a live node.
    pub fn master_of_slot(&self, slot: u16) -> u16 {
        let n = self.nodes.iter().find(|n| n.is_alive()).unwrap();
        let slots: Vec<redis::Value> = redis::cmd("CLUSTER").arg("SLOTS").query(&mut n.conn()).unwrap();
        for range in slots {
            let redis::Value::Array(items) = range else {
                continue;
            };
            let (Some(redis::Value::Int(lo)), Some(redis::Value::Int(hi)), Some(redis::Value::Array(master))) =
                (items.first(), items.get(1), items.get(2))
            else {
                continue;
            };
            if (*lo..=*hi).contains(&(slot as i64)) {
                if let Some(redis::Value::Int(port)) = master.get(1) {
                    return *port as u16;
                }
            }
        }
        panic!("no master serves slot {slot}");
    }

    /// The master serving queue `q`'s keys (hash tag `{jobq:q}`).
    pub fn master_of_queue(&self, q: &str) -> u16 {
        self.master_of_slot(self.keyslot(&format!("{{jobq:{q}}}")))
    }

    /// Queue names whose keys live on pairwise different masters, one per master.
    pub fn queues_on_each_master(&self) -> Vec<String> {
        let mut seen = std::collections::HashMap::new();
        for i in 0..1000 {
            let q = format!("q{i}");
            seen.entry(self.master_of_queue(&q)).or_insert(q);
            if seen.len() == 3 {
                break;
            }
        }
        assert_eq!(seen.len(), 3, "three masters");
        seen.into_values().collect()
    }

    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(Node::pid).collect()
    }

    pub fn node(&mut self, port: u16) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.port == port).unwrap()
    }

    /// The port of a replica of the master on `master_port`.
    pub fn replica_of(&self, master_port: u16) -> u16 {
        let n = self.nodes.iter().find(|n| n.port == master_port).unwrap();
        let info = n.info("replication");
        info.lines()
            .filter(|l| l.starts_with("slave"))
            .find_map(|l| {
                let port = l.split(',').find_map(|kv| kv.strip_prefix("port="))?;
                port.parse().ok()
            })
            .unwrap_or_else(|| panic!("master {master_port} has no replica:\n{info}"))
    }

    pub fn role(&self, port: u16) -> String {
        let n = self.nodes.iter().find(|n| n.port == port).unwrap();
        field(&n.info("replication"), "role").unwrap_or("").to_string()
    }
}

/// A master, one replica and three sentinels watching it as `mymaster` (quorum 2, down
/// after 1 s, failover timeout 5 s).
pub struct Sentinels {
    pub servers: Vec<Node>,
    pub sentinels: Vec<Node>,
    pub dir: TempDir,
}

pub const MASTER_NAME: &str = "mymaster";

impl Sentinels {
    pub fn start() -> Sentinels {
        let dir = tempfile::Builder::new()
            .prefix("jobq-sentinel-")
            .tempdir()
            .unwrap();
        let data = |extra: &[String]| {
            let mut a: Vec<String> = ["--appendonly", "yes", "--save", ""]
                .iter()
                .map(|s| s.to_string())
                .collect();
            a.extend_from_slice(extra);
            a
        };
        let master = Node::start(dir.path(), free_port(), &data(&[]));
        let replica = Node::start(
            dir.path(),
            free_port(),
            &data(&["--replicaof".into(), "127.0.0.1".into(), master.port.to_string()]),
        );
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let conf = dir.path().join(format!("sentinel-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "sentinel monitor {MASTER_NAME} 127.0.0.1 {} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                     sentinel failover-timeout {MASTER_NAME} 5000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n",
                    master.port
                ),
            )
            .unwrap();
            sentinels.push(Node::start(
                dir.path(),
                port,
                &[conf.display().to_string(), "--sentinel".into()],
            ));
        }
        let s = Sentinels {
            servers: vec![master, replica],
            sentinels,
            dir,
        };
        wait_until("the replica to sync", UP, || {
            field(&s.servers[1].info("replication"), "master_link_status") == Some("up")
        });
        wait_until(
            "every sentinel to see the replica and the other sentinels",
            UP,
            || {
                s.sentinels.iter().all(|n| {
                    let Ok(mut c) = n.try_conn() else { return false };
                    let m: Vec<String> = redis::cmd("SENTINEL")
                        .arg("MASTER")
                        .arg(MASTER_NAME)
                        .query(&mut c)
                        .unwrap_or_default();
                    let get = |k: &str| m.iter().position(|x| x == k).and_then(|i| m.get(i + 1)).cloned();
                    get("num-slaves").as_deref() == Some("1")
                        && get("num-other-sentinels").as_deref() == Some("2")
                })
            },
        );
        s
    }

    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", hosts.join(","))
    }

    /// The master's port as the sentinels report it.
    pub fn master_port(&self) -> u16 {
        let mut c = self.sentinels[0].conn();
        let (_, port): (String, u16) = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(MASTER_NAME)
            .query(&mut c)
            .unwrap();
        port
    }

    pub fn server(&self, port: u16) -> &Node {
        self.servers.iter().find(|n| n.port == port).unwrap()
    }
}

/// `jobq` pointed at `url`.
pub fn jobq_at(url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jobq"));
    cmd.env("JOBQ_REDIS_URL", url)
        .env_remove("JOBQ_NAMESPACE")
        .env("NO_COLOR", "1");
    cmd
}

/// A background `jobq worker` on `url`, its log in `dir`; waits for " started: ".
pub fn worker_at(url: &str, dir: &Path, args: &[&str]) -> Worker {
    let mut cmd = jobq_at(url);
    cmd.arg("worker").args(args);
    Worker::spawn(cmd, dir, "worker", " started: ")
}
