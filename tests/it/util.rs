//! Test support: a private redis-server per test (unix socket in its own temp dir, killed on
//! drop), a builder for the `jobq` binary, and condition waits (never bare sleeps).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct Redis {
    child: Option<Child>,
    pub dir: TempDir,
    pub socket: PathBuf,
    args: Vec<String>,
}

impl Redis {
    pub fn start() -> Redis {
        Redis::start_with(&[])
    }

    /// Starts redis-server with extra config arguments (e.g. `["--requirepass", "pw"]`).
    pub fn start_with(extra: &[&str]) -> Redis {
        let dir = tempfile::Builder::new()
            .prefix("jobq-test-")
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("redis.sock");
        let mut redis = Redis {
            child: None,
            dir,
            socket,
            args: extra.iter().map(|s| s.to_string()).collect(),
        };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let log = self.dir.path().join("redis.log");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&self.socket)
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(self.dir.path())
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--enable-debug-command",
                "yes",
                "--logfile",
            ])
            .arg(&log)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be on PATH (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.socket.exists() || self.try_ping().is_err() {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("redis-server did not come up; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn try_ping(&self) -> redis::RedisResult<()> {
        let mut c = redis::Client::open(self.admin_url())?.get_connection()?;
        redis::cmd("PING").query::<()>(&mut c).or_else(|e| {
            if e.code() == Some("NOAUTH") {
                Ok(())
            } else {
                Err(e)
            }
        })
    }

    /// URL jobq uses.
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// URL for the test's own assertions (carries the password when the server has one).
    fn admin_url(&self) -> String {
        match self.args.iter().position(|a| a == "--requirepass") {
            Some(i) => format!("unix://{}?pass={}", self.socket.display(), self.args[i + 1]),
            None => self.url(),
        }
    }

    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.admin_url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    /// A library store on this server, namespace `jobq`, with the CLI's retry policy.
    pub async fn store(&self) -> jobq::Store {
        jobq::Store::connect(&self.url(), "jobq", jobq::RetryPolicy::CLI)
            .await
            .unwrap()
    }

    /// How many times the server ran `command` (lower case, e.g. `evalsha`) since it started
    /// or since `CONFIG RESETSTAT`, from `INFO commandstats`.
    pub fn command_calls(&self, command: &str) -> u64 {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut self.conn())
            .unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |n| n.parse().unwrap())
    }

    /// `CONFIG RESETSTAT`: the command counts start again from zero.
    pub fn reset_stats(&self) {
        redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query::<()>(&mut self.conn())
            .unwrap();
    }

    /// A digest of the whole dataset: equal digests mean an unchanged keyspace.
    pub fn digest(&self) -> String {
        redis::cmd("DEBUG").arg("DIGEST").query(&mut self.conn()).unwrap()
    }

    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut self.conn()).unwrap();
        keys.sort();
        keys
    }

    /// SIGKILLs the server and leaves it down.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGKILLs the server and starts a new one on the same socket and directory: the data
    /// survives only if the server persists it (e.g. started with `--appendonly yes`).
    pub fn restart(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.socket);
        self.spawn();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `jobq` pointed at `redis`.
/// A multi-thread runtime (two workers) for tests that drive the library, as `#[tokio::main]`
/// would run it.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub fn jobq(redis: &Redis) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jobq"));
    cmd.env("JOBQ_REDIS_URL", redis.url())
        .env_remove("JOBQ_NAMESPACE")
        .env("NO_COLOR", "1");
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success; stderr:\n{}\nstdout:\n{}",
            self.stderr, self.stdout
        );
        self
    }
}

pub fn run(cmd: &mut Command) -> Run {
    Run::from(cmd.stdin(Stdio::null()).output().expect("run jobq"))
}

pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // jobq may stop reading early (input too large): a broken pipe here is expected.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run::from(out)
}

/// Enqueues and returns the new id.
pub fn enqueue(redis: &Redis, args: &[&str]) -> String {
    let r = run(jobq(redis).arg("enqueue").args(args)).ok();
    r.stdout.trim().to_string()
}

pub fn inspect(redis: &Redis, id: &str) -> serde_json::Value {
    let r = run(jobq(redis).args(["inspect", id, "--json"])).ok();
    serde_json::from_str(&r.stdout).expect("inspect --json prints JSON")
}

pub fn state(redis: &Redis, id: &str) -> String {
    inspect(redis, id)["state"].as_str().unwrap().to_string()
}

/// Polls `cond` every 20ms until it holds; panics with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn wait_for_state(redis: &Redis, id: &str, want: &str, timeout: Duration) {
    wait_until(&format!("job {id} to be {want}"), timeout, || {
        state(redis, id) == want
    });
}

/// Writes an executable shell script into `dir`.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A `jobq` process running in the background (a worker, `serve`, `notify`): its stderr goes
/// to a log file, and it is killed on drop. One type for all of them, so every test starts and
/// reads them the same way.
pub struct Background {
    pub child: Child,
    pub log: PathBuf,
}

/// Most background processes in the tests are workers.
pub type Worker = Background;

impl Background {
    /// Spawns `cmd` with its stderr in `DIR/NAME-N.log` and waits until the log shows `ready`
    /// (a process that exits before that fails the test with its log).
    pub fn spawn(mut cmd: Command, dir: &Path, name: &str, ready: &str) -> Background {
        let log = dir.join(format!("{name}-{}.log", rand_suffix()));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut b = Background { child, log };
        wait_until(
            &format!("{name} to log {ready:?}"),
            Duration::from_secs(60),
            || {
                if let Ok(Some(status)) = b.child.try_wait() {
                    panic!(
                        "{name} exited with {status} before it was ready; log:\n{}",
                        b.log()
                    );
                }
                b.log().contains(ready)
            },
        );
        b
    }

    /// `jobq worker ARGS` on `redis`, once it has logged " started: ".
    pub fn start(redis: &Redis, args: &[&str]) -> Worker {
        let mut cmd = jobq(redis);
        cmd.arg("worker").args(args);
        Background::spawn(cmd, redis.dir.path(), "worker", " started: ")
    }

    /// A worker with the usual options set by name: `Worker::on(&redis).exec(&h).lease("1s").start()`.
    pub fn on(redis: &Redis) -> WorkerArgs<'_> {
        WorkerArgs {
            redis,
            queues: "normal".into(),
            args: Vec::new(),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: i32) {
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "process did not exit within {timeout:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The arguments of a test worker: queue `normal` unless told otherwise.
pub struct WorkerArgs<'a> {
    redis: &'a Redis,
    queues: String,
    args: Vec<std::ffi::OsString>,
}

impl WorkerArgs<'_> {
    pub fn queues(mut self, queues: &str) -> Self {
        self.queues = queues.into();
        self
    }

    /// `--exec PROGRAM`.
    pub fn exec(self, program: impl AsRef<std::ffi::OsStr>) -> Self {
        self.arg("--exec").arg(program)
    }

    /// `--lease DURATION`.
    pub fn lease(self, lease: &str) -> Self {
        self.arg("--lease").arg(lease)
    }

    /// Any other argument, as typed.
    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn start(self) -> Worker {
        let mut cmd = jobq(self.redis);
        cmd.args(["worker", "--queues", &self.queues]).args(&self.args);
        Background::spawn(cmd, self.redis.dir.path(), "worker", " started: ")
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Lines of a ledger file written by test handlers.
pub fn ledger(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn hgetall(redis: &Redis, key: &str) -> HashMap<String, String> {
    redis::cmd("HGETALL").arg(key).query(&mut redis.conn()).unwrap()
}

pub fn pid_alive(pid: i32) -> bool {
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Enqueues `n` jobs through the library (fast enough for thousands), returns their ids.
pub fn enqueue_many(redis: &Redis, n: usize, job_type: &str, queue: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = std::sync::Arc::new(
            jobq::Store::connect(&redis.url(), "jobq", jobq::RetryPolicy::CLI)
                .await
                .unwrap(),
        );
        let mut tasks = tokio::task::JoinSet::new();
        let per = n.div_ceil(16);
        for t in 0..16 {
            let (store, job_type, queue) = (store.clone(), job_type.to_string(), queue.to_string());
            let count = per.min(n.saturating_sub(t * per));
            tasks.spawn(async move {
                let mut ids = Vec::new();
                for i in 0..count {
                    let job = jobq::NewJob::new(&job_type, &queue, &serde_json::json!({ "n": t * per + i }));
                    ids.push(store.enqueue(&job).await.unwrap().id().to_string());
                }
                ids
            });
        }
        let mut all = Vec::new();
        while let Some(ids) = tasks.join_next().await {
            all.extend(ids.unwrap());
        }
        all
    })
}

/// How many times each id appears in a ledger.
pub fn counts(lines: &[String]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for l in lines {
        *m.entry(l.split_whitespace().next().unwrap_or("").to_string())
            .or_insert(0) += 1;
    }
    m
}

/// Scale for the long fault cases: `JOBQ_FAULT_JOBS` (default 10000).
pub fn fault_jobs() -> usize {
    std::env::var("JOBQ_FAULT_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// Sum of a counter field over the given queues' stats hashes.
pub fn stat(redis: &Redis, queues: &[&str], field: &str) -> u64 {
    queues
        .iter()
        .map(|q| {
            let v: Option<u64> = redis::cmd("HGET")
                .arg(format!("{{jobq:{q}}}:stats"))
                .arg(field)
                .query(&mut redis.conn())
                .unwrap();
            v.unwrap_or(0)
        })
        .sum()
}

/// States of many jobs at once (pipelined), straight from Redis.
pub fn states(redis: &Redis, ids: &[String]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let mut c = redis.conn();
    for chunk in ids.chunks(1000) {
        let mut pipe = redis::pipe();
        for id in chunk {
            let queue = &id[..id.len() - 27];
            pipe.cmd("HGET")
                .arg(format!("{{jobq:{queue}}}:job:{id}"))
                .arg("state");
        }
        let got: Vec<Option<String>> = pipe.query(&mut c).unwrap();
        for s in got {
            *out.entry(s.unwrap_or_else(|| "missing".into())).or_insert(0) += 1;
        }
    }
    out
}
