//! What this machine and this Redis can do at most, measured in the same run as the figures,
//! so `jobq bench` reads as ratios that mean the same on a fast and a slow machine (issue 11):
//! one client's job-insert script calls per second (a Lua call doing INCR + HSET + LPUSH, the
//! least a job queue's enqueue does) and one client's LPUSH and RPOP per second.
//!
//! `redis-benchmark` measures them when it is on PATH and the Redis is one server (URL or unix
//! socket); otherwise the bench measures the same calls itself, one client awaiting each reply.

use std::process::Command;
use std::time::Instant;

use serde::Serialize;

use jobq::error::{Error, Result};
use jobq::private_redis::find_on_path;
use jobq::Store;

/// Shaped like a job insert: an id counter, the job's hash, a list push (three writes). The
/// same script as the peer benchmark's "EVALSHA job-insert" row.
const INSERT_LUA: &str = "local id = redis.call('INCR', KEYS[1]) \
redis.call('HSET', KEYS[2] .. id, 'data', ARGV[1], 'state', 'queued') \
redis.call('LPUSH', KEYS[3], id) return id";

#[derive(Debug, Clone, Serialize)]
pub struct Ceilings {
    /// `redis-benchmark` or `jobq` (measured by the bench's own client).
    pub measured_by: &'static str,
    /// One client, job-insert script calls per second.
    pub insert_per_s: f64,
    pub lpush_per_s: f64,
    pub rpop_per_s: f64,
}

/// Measures the ceilings with `n` calls each; `url` is the Redis the bench runs on.
pub async fn measure(store: &Store, url: &str, n: usize) -> Result<Ceilings> {
    let ns = store.keys().namespace();
    let keys = [
        format!("{{{ns}}}:ceiling:ctr"),
        format!("{{{ns}}}:ceiling:job:"),
        format!("{{{ns}}}:ceiling:list"),
    ];
    if let Some(target) = find_on_path("redis-benchmark").and_then(|_| benchmark_target(url)) {
        if let Ok(c) = with_redis_benchmark(&target, &keys, n) {
            return Ok(c);
        }
    }
    with_own_client(store, &keys, n).await
}

/// `redis-benchmark` arguments that reach the server of `url`; `None` for clusters, Sentinel,
/// TLS, and servers with a password (it would show in the process list): the bench measures
/// itself there.
fn benchmark_target(url: &str) -> Option<Vec<String>> {
    if let Some(path) = url.strip_prefix("unix://") {
        return Some(vec!["-s".into(), path.split('?').next()?.to_string()]);
    }
    let rest = url.strip_prefix("redis://")?;
    let (hostport, db) = rest.split_once('/').unwrap_or((rest, ""));
    if hostport.contains('@') || db.contains('?') {
        return None;
    }
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "6379"));
    let mut args = vec!["-h".into(), host.to_string(), "-p".into(), port.to_string()];
    if !db.is_empty() {
        args.extend(["--dbnum".into(), db.to_string()]);
    }
    Some(args)
}

fn with_redis_benchmark(target: &[String], keys: &[String; 3], n: usize) -> Result<Ceilings> {
    let run = |extra: &[&str]| -> Result<f64> {
        let out = Command::new("redis-benchmark")
            .args(target)
            .args(["-c", "1", "-n", &n.to_string(), "-q"])
            .args(extra)
            .output()
            .map_err(|e| Error::Io(format!("redis-benchmark: {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
        // "<command line>: 12345.67 requests per second, p50=..." (the command may hold ": ").
        text.lines()
            .filter_map(|l| l.split_once(" requests per second"))
            .find_map(|(figure, _)| figure.rsplit(": ").next()?.parse().ok())
            .ok_or_else(|| Error::Io("redis-benchmark printed no figure".into()))
    };
    let sha = redis::Script::new(INSERT_LUA).get_hash().to_string();
    let load = Command::new("redis-cli")
        .args(target)
        .args(["SCRIPT", "LOAD", INSERT_LUA])
        .output();
    if !load.is_ok_and(|o| o.status.success()) {
        return Err(Error::Io("cannot load the ceiling script".into()));
    }
    let insert = run(&[
        "-r",
        "1000000",
        "EVALSHA",
        &sha,
        "3",
        &keys[0],
        &keys[1],
        &keys[2],
        "payload-__rand_int__",
    ])?;
    let lpush = run(&["LPUSH", &keys[2], "x"])?;
    let rpop = run(&["RPOP", &keys[2]])?;
    Ok(Ceilings {
        measured_by: "redis-benchmark",
        insert_per_s: insert,
        lpush_per_s: lpush,
        rpop_per_s: rpop,
    })
}

async fn with_own_client(store: &Store, keys: &[String; 3], n: usize) -> Result<Ceilings> {
    let script = redis::Script::new(INSERT_LUA);
    let start = Instant::now();
    for i in 0..n {
        let mut conn = store.raw().await?;
        let _: i64 = script
            .key(&keys[0])
            .key(&keys[1])
            .key(&keys[2])
            .arg(format!("payload-{i}"))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| store.error(e))?;
    }
    let insert = n as f64 / start.elapsed().as_secs_f64();
    let timed = |cmd: &'static str| async move {
        let start = Instant::now();
        for _ in 0..n {
            let mut c = redis::cmd(cmd);
            c.arg(&keys[2]);
            if cmd == "LPUSH" {
                c.arg("x");
            }
            store.query::<redis::Value>(&c).await?;
        }
        Ok::<f64, Error>(n as f64 / start.elapsed().as_secs_f64())
    };
    let lpush = timed("LPUSH").await?;
    let rpop = timed("RPOP").await?;
    Ok(Ceilings {
        measured_by: "jobq",
        insert_per_s: insert,
        lpush_per_s: lpush,
        rpop_per_s: rpop,
    })
}
