//! `jobq doctor`: checks a Redis and a namespace for what can silently lose or strand jobs,
//! and repairs what is safe to repair (everything a worker or an operator would do anyway).

mod archive;
mod backlog;
mod deps;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::job::State;
use crate::store::{Store, WorkerInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Worth knowing; jobs are not at risk.
    Warning,
    /// Jobs can be lost or stuck: `doctor` exits non-zero.
    Problem,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub level: Level,
    pub check: String,
    pub detail: String,
    /// What to do about it.
    pub advice: Option<String>,
    /// `--fix` repaired it.
    pub fixed: bool,
    /// The numbers behind it, for monitoring (`waiting`, `oldest_age_ms`, `dead`, ...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, u64>,
}

/// What `doctor` is asked to do, and the thresholds that make numbers problems (exit 8).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Repair what is safe to repair.
    pub fix: bool,
    /// A queue whose oldest waiting job waited longer is a problem.
    pub max_age: Option<Duration>,
    /// A queue with more dead jobs is a problem.
    pub max_dead: Option<u64>,
}

impl Finding {
    fn new(level: Level, check: &str, detail: impl Into<String>) -> Finding {
        Finding {
            level,
            check: check.into(),
            detail: detail.into(),
            advice: None,
            fixed: false,
            metrics: BTreeMap::new(),
        }
    }
    fn advice(mut self, advice: impl Into<String>) -> Finding {
        self.advice = Some(advice.into());
        self
    }
}

/// Ids of one set examined per check; enough to see a pattern without stalling Redis.
const SAMPLE: isize = 10_000;
const MIN_VERSION: (u32, u32) = (6, 2);

pub async fn diagnose(store: &Store, opts: &Options) -> Result<Vec<Finding>> {
    let fix = opts.fix;
    let mut out = Vec::new();
    let mut queues = registered_queues(store).await?;
    // One server, or each master of a cluster: each has its own settings and its own share
    // of the namespace's keys.
    match store.masters().await? {
        None => {
            out.extend(server_checks(store, None, "").await?);
            out.extend(unlisted_queues(store, None, "", &queues, fix).await?);
        }
        Some(masters) => {
            for m in &masters {
                let prefix = format!("master {m}: ");
                out.extend(server_checks(store, Some(m), &prefix).await?);
                out.extend(unlisted_queues(store, Some(m), &prefix, &queues, fix).await?);
            }
        }
    }
    out.push(stale_workers(store, fix).await?);
    if fix {
        queues = registered_queues(store).await?;
    }
    let workers: Vec<WorkerInfo> = live_workers(store).await?.into_values().flatten().collect();
    for q in &queues {
        let served = workers.iter().any(|w| w.queues.contains(q));
        out.extend(queue_checks(store, q, served, fix).await?);
        out.extend(backlog::checks(store, q, &workers, opts).await?);
        out.extend(archive::check(store, q).await?);
    }
    Ok(out)
}

async fn registered_queues(store: &Store) -> Result<Vec<String>> {
    let mut queues: Vec<String> = store
        .query(redis::cmd("SMEMBERS").arg(store.keys().queues()))
        .await?;
    queues.sort();
    Ok(queues)
}

/// Redis settings of `node` (a cluster master; `None`: the one server), each check named with
/// `prefix`. A restricted ACL user may not read them, which is said, not hidden.
async fn server_checks(store: &Store, node: Option<&str>, prefix: &str) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    let name = |check: &str| format!("{prefix}{check}");
    out.push(
        match store
            .query_on::<String>(node, redis::cmd("INFO").arg("server"))
            .await
        {
            Ok(info) => version_finding(&name("redis version"), &info),
            Err(e) => unreadable(&name("redis version"), &e),
        },
    );
    let config = |key: &'static str| async move {
        store
            .query_on::<HashMap<String, String>>(node, redis::cmd("CONFIG").arg("GET").arg(key))
            .await
            .map(|m| m.get(key).cloned().unwrap_or_default())
    };
    let policy = name("maxmemory-policy");
    out.push(match config("maxmemory-policy").await {
        Ok(p) if p == "noeviction" => Finding::new(Level::Ok, &policy, "noeviction"),
        Ok(p) => Finding::new(
            Level::Problem,
            &policy,
            format!("{p}: under memory pressure Redis may evict job keys, silently losing jobs"),
        )
        .advice("CONFIG SET maxmemory-policy noeviction, and set it in redis.conf"),
        Err(e) => unreadable(&policy, &e),
    });
    let persistence = name("persistence");
    out.push(match (config("appendonly").await, config("save").await) {
        (Ok(aof), _) if aof == "yes" => Finding::new(Level::Ok, &persistence, "appendonly yes"),
        (Ok(_), Ok(save)) if !save.trim().is_empty() => Finding::new(
            Level::Warning,
            &persistence,
            format!("RDB snapshots only (save {save}): a crash loses the jobs since the last snapshot"),
        )
        .advice("CONFIG SET appendonly yes (appendfsync everysec), and set it in redis.conf"),
        (Ok(_), Ok(_)) => Finding::new(
            Level::Problem,
            &persistence,
            "none (appendonly no, save \"\"): a Redis restart loses every job",
        )
        .advice("CONFIG SET appendonly yes, and set it in redis.conf"),
        (Err(e), _) | (_, Err(e)) => unreadable(&persistence, &e),
    });
    Ok(out)
}

/// Keys examined per server by [`unlisted_queues`]: bounds doctor's SCAN on a large dataset.
const SCAN_LIMIT: usize = 200_000;

/// Scans `node`'s keys of the namespace: how many there are, and queues holding jobs (queued,
/// scheduled, waiting, running or dead) that are missing from the queues set, so that `stats`,
/// `ls`, `dlq` and doctor's own queue checks never see them (a registration lost with a failover,
/// or removed by `queue rm` while a job was being written). `--fix` adds them back, as an
/// enqueue would have.
async fn unlisted_queues(
    store: &Store,
    node: Option<&str>,
    prefix: &str,
    registered: &[String],
    fix: bool,
) -> Result<Vec<Finding>> {
    let keys = store.keys();
    let pattern = keys.scan_pattern();
    let (mut cursor, mut seen) = (0u64, 0usize);
    let mut with_jobs = std::collections::BTreeSet::new();
    loop {
        let (next, page) = store.scan_node(node, cursor, &pattern, 1000).await?;
        seen += page.len();
        for key in &page {
            if let Some((queue, rest)) = keys.split_queue_key(key) {
                if matches!(rest, "queued" | "scheduled" | "waiting" | "active" | "dead") {
                    with_jobs.insert(queue.to_string());
                }
            }
        }
        cursor = next;
        if cursor == 0 || seen >= SCAN_LIMIT {
            break;
        }
    }
    let capped = if cursor == 0 {
        String::new()
    } else {
        format!(" (stopped after {SCAN_LIMIT} keys)")
    };
    let mut f = Finding::new(
        Level::Ok,
        &format!("{prefix}keys"),
        format!(
            "{seen} key(s) of namespace {}{capped}, {} queue(s) with jobs",
            keys.namespace(),
            with_jobs.len()
        ),
    );
    f.metrics.insert("keys".into(), seen as u64);
    let unlisted: Vec<String> = with_jobs
        .into_iter()
        .filter(|q| !registered.contains(q))
        .collect();
    if unlisted.is_empty() {
        return Ok(vec![f]);
    }
    let mut u = Finding::new(
        Level::Warning,
        &format!("{prefix}queues set"),
        format!(
            "queue(s) with jobs missing from the queues set (stats, ls and dlq do not show them): {}",
            unlisted.join(", ")
        ),
    )
    .advice("jobq doctor --fix adds them back");
    if fix {
        store
            .query::<i64>(redis::cmd("SADD").arg(keys.queues()).arg(&unlisted))
            .await?;
        u.fixed = true;
    }
    Ok(vec![f, u])
}

fn unreadable(check: &str, e: &Error) -> Finding {
    Finding::new(Level::Warning, check, format!("cannot check: {e}"))
        .advice("run doctor as a Redis user allowed INFO and CONFIG GET")
}

fn version_finding(check: &str, info: &str) -> Finding {
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("unknown")
        .trim()
        .to_string();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if v >= MIN_VERSION {
        Finding::new(Level::Ok, check, version)
    } else {
        Finding::new(
            Level::Problem,
            check,
            format!("{version}: jobq needs 6.2 or newer"),
        )
        .advice("upgrade Redis")
    }
}

/// Every id in the workers set, with its record if it is still alive.
async fn live_workers(store: &Store) -> Result<HashMap<String, Option<WorkerInfo>>> {
    let ids: Vec<String> = store
        .query(redis::cmd("ZRANGE").arg(store.keys().workers()).arg(0).arg(-1))
        .await?;
    let mut out = HashMap::new();
    for id in ids {
        let raw: Option<String> = store
            .query(redis::cmd("GET").arg(store.keys().worker(&id)))
            .await?;
        out.insert(id, raw.and_then(|r| serde_json::from_str(&r).ok()));
    }
    Ok(out)
}

async fn stale_workers(store: &Store, fix: bool) -> Result<Finding> {
    let stale: Vec<String> = live_workers(store)
        .await?
        .into_iter()
        .filter(|(_, info)| info.is_none())
        .map(|(id, _)| id)
        .collect();
    if stale.is_empty() {
        return Ok(Finding::new(Level::Ok, "worker records", "no stale entries"));
    }
    let mut f = Finding::new(
        Level::Warning,
        "worker records",
        format!(
            "{} worker(s) stopped heartbeating but are still listed: {}",
            stale.len(),
            stale.join(", ")
        ),
    )
    .advice("jobq doctor --fix removes them");
    if fix {
        store
            .query::<()>(redis::cmd("ZREM").arg(store.keys().workers()).arg(&stale))
            .await?;
        f.fixed = true;
    }
    Ok(f)
}

async fn queue_checks(store: &Store, queue: &str, served: bool, fix: bool) -> Result<Vec<Finding>> {
    let qk = store.keys().queue(queue);
    let mut out = Vec::new();
    let now = store.server_time_ms().await?;
    let expired: Vec<String> = store
        .query(
            redis::cmd("ZRANGEBYSCORE")
                .arg(qk.active())
                .arg("-inf")
                .arg(now)
                .arg("LIMIT")
                .arg(0)
                .arg(SAMPLE),
        )
        .await?;
    if !expired.is_empty() {
        let mut f = Finding::new(
            if served { Level::Warning } else { Level::Problem },
            &format!("queue {queue}: leases"),
            format!(
                "{} running job(s) have an expired lease (their worker died){}",
                expired.len(),
                if served {
                    "; a live worker will recover them"
                } else {
                    " and no live worker serves this queue"
                }
            ),
        )
        .advice(format!(
            "start a worker with --queues {queue}, or jobq doctor --fix to requeue them now"
        ));
        if fix {
            store
                .recover(queue, crate::worker::WorkerConfig::default().lease)
                .await?;
            f.fixed = true;
        }
        out.push(f);
    }
    for (set, state) in [
        (qk.active(), State::Active),
        (qk.scheduled(), State::Scheduled),
        (qk.waiting(), State::Waiting),
        (qk.dead(), State::Dead),
    ] {
        if let Some(f) = orphans(store, queue, &set, state, fix).await? {
            out.push(f);
        }
    }
    if let Some(f) = dangling_unique_keys(store, queue, fix).await? {
        out.push(f);
    }
    out.extend(deps::checks(store, queue, served, fix).await?);
    if out.is_empty() {
        out.push(Finding::new(Level::Ok, &format!("queue {queue}"), "consistent"));
    }
    Ok(out)
}

/// Ids in a state set whose job is gone or in another state: counters and listings lie.
async fn orphans(store: &Store, queue: &str, set: &str, state: State, fix: bool) -> Result<Option<Finding>> {
    let qk = store.keys().queue(queue);
    let ids: Vec<String> = store
        .query(redis::cmd("ZRANGE").arg(set).arg(0).arg(SAMPLE - 1))
        .await?;
    let states = job_fields(store, queue, &ids, &["state"]).await?;
    let bad: Vec<&String> = ids
        .iter()
        .zip(&states)
        .filter(|(_, s)| s[0].as_deref() != Some(state.as_str()))
        .map(|(id, _)| id)
        .collect();
    if bad.is_empty() {
        return Ok(None);
    }
    let mut f = Finding::new(
        Level::Warning,
        &format!("queue {queue}: {state} set"),
        format!(
            "{} id(s) in the {state} set belong to no {state} job (e.g. {})",
            bad.len(),
            bad[0]
        ),
    )
    .advice("jobq doctor --fix removes them from the set");
    if fix {
        for id in &bad {
            // Re-checked atomically: the job may have moved on since we looked.
            store
                .query::<i64>(
                    redis::cmd("EVAL")
                        .arg(REMOVE_IF_NOT_STATE)
                        .arg(2)
                        .arg(set)
                        .arg(qk.job(id))
                        .arg(id.as_str())
                        .arg(state.as_str()),
                )
                .await?;
        }
        f.fixed = true;
    }
    Ok(Some(f))
}

const REMOVE_IF_NOT_STATE: &str = include_str!("remove_if_not_state.lua");

/// `fields` of each job in `ids` (pipelined, 500 at a time); missing jobs give `None`s.
async fn job_fields(
    store: &Store,
    queue: &str,
    ids: &[String],
    fields: &[&str],
) -> Result<Vec<Vec<Option<String>>>> {
    let qk = store.keys().queue(queue);
    let mut states = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut pipe = redis::pipe();
        for id in chunk {
            pipe.cmd("HMGET").arg(qk.job(id)).arg(fields);
        }
        let part: Vec<Vec<Option<String>>> = store
            .run(|mut conn| {
                let pipe = &pipe;
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        states.extend(part);
    }
    Ok(states)
}

/// Unique keys whose job finished or vanished block new jobs with that key for nothing.
async fn dangling_unique_keys(store: &Store, queue: &str, fix: bool) -> Result<Option<Finding>> {
    let qk = store.keys().queue(queue);
    let pattern = format!("{}*", glob_escape(&qk.unique("")));
    let mut cursor = 0u64;
    let mut dangling = Vec::new();
    loop {
        let (next, keys) = store.scan_page(cursor, &pattern, 1000).await?;
        for key in keys {
            let holder: Option<String> = store.query(redis::cmd("GET").arg(&key)).await?;
            let Some(id) = holder else { continue };
            let state: Option<String> = store
                .query(redis::cmd("HGET").arg(qk.job(&id)).arg("state"))
                .await?;
            let finished = state
                .as_deref()
                .and_then(|s| s.parse::<State>().ok())
                .is_none_or(State::is_final);
            if finished {
                dangling.push((key, id));
            }
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    if dangling.is_empty() {
        return Ok(None);
    }
    let mut f = Finding::new(
        Level::Warning,
        &format!("queue {queue}: unique keys"),
        format!(
            "{} unique key(s) held by finished or missing jobs",
            dangling.len()
        ),
    )
    .advice("harmless (enqueue ignores them), jobq doctor --fix deletes them");
    if fix {
        for (key, id) in &dangling {
            store
                .query::<i64>(redis::cmd("EVAL").arg(DELETE_IF_EQUAL).arg(1).arg(key).arg(id))
                .await?;
        }
        f.fixed = true;
    }
    Ok(Some(f))
}

const DELETE_IF_EQUAL: &str = include_str!("delete_if_equal.lua");

/// Braces are literal in a SCAN pattern, but `*?[\\` are not; hash tags contain none of those
/// (names are validated), so only the backslash rule matters here.
fn glob_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}
