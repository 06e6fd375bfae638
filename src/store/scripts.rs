//! The Lua scripts, each a `.lua` file beside this one, loaded once per process.
//! `redis::Script` reloads a script by itself after `NOSCRIPT` (a restarted or flushed server).

use std::sync::LazyLock;

use redis::Script;

const COMMON: &str = include_str!("common.lua");
const OPS: &str = include_str!("ops.lua");
const RECOVERY: &str = include_str!("recovery.lua");
const DEPS: &str = include_str!("deps.lua");
const LIMITS: &str = include_str!("limits.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

/// Scripts that end jobs get `deps.lua` (dependents to the outbox, expiry).
fn ending_script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{DEPS}\n{body}"))
}

/// Scripts that may run lease recovery get `recovery.lua` (which ends jobs, so `deps.lua` too).
fn recovery_script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{DEPS}\n{RECOVERY}\n{body}"))
}

/// Scripts that read a queue's limit get `limits.lua`.
fn limits_script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{LIMITS}\n{body}"))
}

/// Operator scripts also get the helpers of `ops.lua`.
fn ops_script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{OPS}\n{body}"))
}

/// Operator scripts that end jobs.
fn ops_ending_script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{OPS}\n{DEPS}\n{body}"))
}

pub struct Scripts {
    pub enqueue: Script,
    pub fetch: Script,
    pub complete: Script,
    pub fail: Script,
    pub renew: Script,
    pub requeue: Script,
    pub release: Script,
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
    pub heartbeat: Script,
    pub page: Script,
    pub queue_rm: Script,
    pub schedule_add: Script,
    pub schedule_due: Script,
    pub schedule_commit: Script,
    pub schedule_pause: Script,
    pub registry_remove: Script,
    pub archive_page: Script,
    pub archive_backlog: Script,
    pub register_child: Script,
    pub release_child: Script,
    pub limit_set: Script,
    pub limit_status: Script,
}

pub static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    enqueue: script(include_str!("enqueue.lua")),
    fetch: Script::new(&format!(
        "{COMMON}\n{DEPS}\n{RECOVERY}\n{LIMITS}\n{}",
        include_str!("fetch.lua")
    )),
    complete: ending_script(include_str!("complete.lua")),
    fail: ending_script(include_str!("fail.lua")),
    renew: script(include_str!("renew.lua")),
    requeue: script(include_str!("requeue.lua")),
    release: script(include_str!("release.lua")),
    recover: recovery_script(include_str!("recover.lua")),
    progress: script(include_str!("progress.lua")),
    cancel: ops_ending_script(include_str!("cancel.lua")),
    cancel_active: ops_ending_script(include_str!("cancel_active.lua")),
    retry: ops_script(include_str!("retry.lua")),
    requeue_batch: ops_script(include_str!("requeue_batch.lua")),
    purge_batch: ops_ending_script(include_str!("purge_batch.lua")),
    resume: ops_script(include_str!("resume.lua")),
    stats: ops_script(include_str!("stats.lua")),
    prune_stats: ops_script(include_str!("prune_stats.lua")),
    heartbeat: script(include_str!("heartbeat.lua")),
    page: script(include_str!("page.lua")),
    queue_rm: script(include_str!("queue_rm.lua")),
    schedule_add: script(include_str!("schedule_add.lua")),
    schedule_due: script(include_str!("schedule_due.lua")),
    schedule_commit: script(include_str!("schedule_commit.lua")),
    schedule_pause: script(include_str!("schedule_pause.lua")),
    registry_remove: script(include_str!("registry_remove.lua")),
    archive_page: script(include_str!("archive_page.lua")),
    archive_backlog: script(include_str!("archive_backlog.lua")),
    register_child: script(include_str!("register_child.lua")),
    release_child: ending_script(include_str!("release_child.lua")),
    limit_set: script(include_str!("limit_set.lua")),
    limit_status: limits_script(include_str!("limit_status.lua")),
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
