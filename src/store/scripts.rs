//! The Lua scripts, each a `.lua` file beside this one, loaded once per process.
//! `redis::Script` reloads a script by itself after `NOSCRIPT` (a restarted or flushed server).

use std::sync::LazyLock;

use redis::Script;

const COMMON: &str = include_str!("common.lua");
const OPS: &str = include_str!("ops.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

/// Operator scripts also get the helpers of `ops.lua`.
fn ops_script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{OPS}\n{body}"))
}

pub struct Scripts {
    pub enqueue: Script,
    pub fetch: Script,
    pub complete: Script,
    pub fail: Script,
    pub renew: Script,
    pub requeue: Script,
    pub recover: Script,
    pub progress: Script,
    pub cancel: Script,
    pub cancel_active: Script,
    pub retry: Script,
    pub requeue_batch: Script,
    pub purge_batch: Script,
    pub resume: Script,
    pub stats: Script,
    pub prune_stats: Script,
}

pub static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    enqueue: script(include_str!("enqueue.lua")),
    fetch: script(include_str!("fetch.lua")),
    complete: script(include_str!("complete.lua")),
    fail: script(include_str!("fail.lua")),
    renew: script(include_str!("renew.lua")),
    requeue: script(include_str!("requeue.lua")),
    recover: script(include_str!("recover.lua")),
    progress: script(include_str!("progress.lua")),
    cancel: ops_script(include_str!("cancel.lua")),
    cancel_active: ops_script(include_str!("cancel_active.lua")),
    retry: ops_script(include_str!("retry.lua")),
    requeue_batch: ops_script(include_str!("requeue_batch.lua")),
    purge_batch: ops_script(include_str!("purge_batch.lua")),
    resume: ops_script(include_str!("resume.lua")),
    stats: ops_script(include_str!("stats.lua")),
    prune_stats: ops_script(include_str!("prune_stats.lua")),
});

/// `EVALSHA` of `script` with its keys as a plain command (append the arguments), for
/// pipelines, which cannot reload a script themselves: callers retry after [`is_noscript`].
pub fn evalsha(script: &Script, keys: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(script.get_hash()).arg(keys.len()).arg(keys);
    cmd
}

pub fn is_noscript(err: &redis::RedisError) -> bool {
    err.code() == Some("NOSCRIPT")
}
