//! Dynamic shell completion (`jobq completions SHELL`): while the user types, the shell asks
//! `COMPLETE=<shell> jobq -- <words>`; clap answers flags and subcommands, and the functions
//! here answer queue names and job ids from Redis. They must never hang a shell or print an
//! error into it: an unreachable Redis, or one slower than [`BUDGET`], completes nothing.

use std::ffi::OsStr;
use std::time::Duration;

use clap_complete::CompletionCandidate;

use crate::job::State;
use crate::{RetryPolicy, Store};

/// The most a Tab may wait for Redis.
const BUDGET: Duration = Duration::from_secs(1);
/// Ids offered per state and queue (most recent first where it matters).
const IDS_PER_STATE: u64 = 100;

/// Queue names of the namespace.
pub fn queue_names() -> Vec<CompletionCandidate> {
    with_store(async |store| store.queue_names().await)
        .unwrap_or_default()
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

/// Job ids that start with what was typed, with their state and type as help.
pub fn job_ids(current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy().into_owned();
    with_store(async |store| {
        let mut out = Vec::new();
        for queue in store.queue_names().await? {
            let prefix = format!("{queue}-");
            // `high-01J…` narrows to queue `high`; an empty word offers every queue's ids.
            if !(prefix.starts_with(&typed) || typed.starts_with(&prefix)) {
                continue;
            }
            for state in State::LISTING_ORDER {
                let ids = store.page_ids(&queue, state, 0, IDS_PER_STATE).await?;
                let ids: Vec<String> = ids.into_iter().filter(|id| id.starts_with(&typed)).collect();
                let heads = store.job_heads(&queue, &ids).await?;
                for (id, head) in ids.into_iter().zip(heads) {
                    let Some((st, ty, _)) = head else { continue };
                    let help = format!("{st} {ty}");
                    out.push(CompletionCandidate::new(id).help(Some(help.into())));
                }
            }
        }
        Ok(out)
    })
    .unwrap_or_default()
}

/// Runs `f` against the Redis the command line being completed points at, within [`BUDGET`].
fn with_store<T>(f: impl AsyncFnOnce(&Store) -> crate::Result<T>) -> Option<T> {
    let (url, namespace) = target();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        tokio::time::timeout(BUDGET, async {
            let store = Store::connect(&url, &namespace, RetryPolicy::CLI).await.ok()?;
            f(&store).await.ok()
        })
        .await
        .ok()
        .flatten()
    })
}

/// `--redis-url` / `--namespace` typed on the line being completed, else the environment,
/// else the defaults (the same order as for running the command).
fn target() -> (String, String) {
    let words: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        let eq = format!("{name}=");
        words.iter().enumerate().find_map(|(i, w)| {
            if w == name {
                words.get(i + 1).cloned()
            } else {
                w.strip_prefix(&eq).map(str::to_string)
            }
        })
    };
    let url = flag("--redis-url")
        .or_else(|| std::env::var("JOBQ_REDIS_URL").ok())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let namespace = flag("--namespace")
        .or_else(|| std::env::var("JOBQ_NAMESPACE").ok())
        .unwrap_or_else(|| "jobq".into());
    (url, namespace)
}
