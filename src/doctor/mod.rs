//! `jobq doctor`: checks a Redis and a namespace for what can silently lose or strand jobs,
//! and repairs what is safe to repair (everything a worker or an operator would do anyway).

use std::collections::HashMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::job::State;
use crate::store::Store;

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
}

impl Finding {
    fn new(level: Level, check: &str, detail: impl Into<String>) -> Finding {
        Finding {
            level,
            check: check.into(),
            detail: detail.into(),
            advice: None,
            fixed: false,
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

pub async fn diagnose(store: &Store, fix: bool) -> Result<Vec<Finding>> {
    let mut out = server_checks(store).await?;
    out.push(stale_workers(store, fix).await?);
    let queues: Vec<String> = store
        .query(redis::cmd("SMEMBERS").arg(store.keys().queues()))
        .await?;
    let mut queues = queues;
    queues.sort();
    let served = served_queues(store).await?;
    for q in &queues {
        out.extend(queue_checks(store, q, served.contains_key(q.as_str()), fix).await?);
    }
    Ok(out)
}

/// Redis settings; a restricted ACL user may not read them, which is said, not hidden.
async fn server_checks(store: &Store) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    out.push(
        match store.query::<String>(redis::cmd("INFO").arg("server")).await {
            Ok(info) => version_finding(&info),
            Err(e) => unreadable("redis version", &e),
        },
    );
    let config = |name: &'static str| async move {
        store
            .query::<HashMap<String, String>>(redis::cmd("CONFIG").arg("GET").arg(name))
            .await
            .map(|m| m.get(name).cloned().unwrap_or_default())
    };
    out.push(match config("maxmemory-policy").await {
        Ok(p) if p == "noeviction" => Finding::new(Level::Ok, "maxmemory-policy", "noeviction"),
        Ok(p) => Finding::new(
            Level::Problem,
            "maxmemory-policy",
            format!("{p}: under memory pressure Redis may evict job keys, silently losing jobs"),
        )
        .advice("CONFIG SET maxmemory-policy noeviction, and set it in redis.conf"),
        Err(e) => unreadable("maxmemory-policy", &e),
    });
    out.push(match (config("appendonly").await, config("save").await) {
        (Ok(aof), _) if aof == "yes" => Finding::new(Level::Ok, "persistence", "appendonly yes"),
        (Ok(_), Ok(save)) if !save.trim().is_empty() => Finding::new(
            Level::Warning,
            "persistence",
            format!("RDB snapshots only (save {save}): a crash loses the jobs since the last snapshot"),
        )
        .advice("CONFIG SET appendonly yes (appendfsync everysec), and set it in redis.conf"),
        (Ok(_), Ok(_)) => Finding::new(
            Level::Problem,
            "persistence",
            "none (appendonly no, save \"\"): a Redis restart loses every job",
        )
        .advice("CONFIG SET appendonly yes, and set it in redis.conf"),
        (Err(e), _) | (_, Err(e)) => unreadable("persistence", &e),
    });
    Ok(out)
}

fn unreadable(check: &str, e: &Error) -> Finding {
    Finding::new(Level::Warning, check, format!("cannot check: {e}"))
        .advice("run doctor as a Redis user allowed INFO and CONFIG GET")
}

fn version_finding(info: &str) -> Finding {
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("unknown")
        .trim()
        .to_string();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if v >= MIN_VERSION {
        Finding::new(Level::Ok, "redis version", version)
    } else {
        Finding::new(
            Level::Problem,
            "redis version",
            format!("{version}: jobq needs 6.2 or newer"),
        )
        .advice("upgrade Redis")
    }
}

/// Queue name → number of live workers serving it.
async fn served_queues(store: &Store) -> Result<HashMap<String, usize>> {
    let mut served = HashMap::new();
    for info in live_workers(store).await?.into_values().flatten() {
        for q in info.queues {
            *served.entry(q).or_insert(0) += 1;
        }
    }
    Ok(served)
}

/// Every id in the workers set, with its record if it is still alive.
async fn live_workers(store: &Store) -> Result<HashMap<String, Option<crate::store::WorkerInfo>>> {
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
            store.recover(queue).await?;
            f.fixed = true;
        }
        out.push(f);
    }
    for (set, state) in [
        (qk.active(), State::Active),
        (qk.scheduled(), State::Scheduled),
        (qk.dead(), State::Dead),
    ] {
        if let Some(f) = orphans(store, queue, &set, state, fix).await? {
            out.push(f);
        }
    }
    if let Some(f) = dangling_unique_keys(store, queue, fix).await? {
        out.push(f);
    }
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
    let states = job_states(store, queue, &ids).await?;
    let bad: Vec<&String> = ids
        .iter()
        .zip(&states)
        .filter(|(_, s)| s.as_deref() != Some(state.as_str()))
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

async fn job_states(store: &Store, queue: &str, ids: &[String]) -> Result<Vec<Option<String>>> {
    let qk = store.keys().queue(queue);
    let mut states = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut pipe = redis::pipe();
        for id in chunk {
            pipe.cmd("HGET").arg(qk.job(id)).arg("state");
        }
        let part: Vec<Option<String>> = store
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
