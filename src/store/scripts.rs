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

/// Each script is built (and its SHA1 taken) on first use: a one-shot `jobq enqueue` hashed
/// every script of the process before its first command otherwise, about 1 ms of its run.
type Lazy = LazyLock<Script>;

pub struct Scripts {
    pub enqueue: Lazy,
    pub fetch: Lazy,
    pub complete: Lazy,
    pub fail: Lazy,
    pub renew: Lazy,
    pub requeue: Lazy,
    pub release: Lazy,
    pub recover: Lazy,
    pub progress: Lazy,
    pub cancel: Lazy,
    pub cancel_active: Lazy,
    pub retry: Lazy,
    pub requeue_batch: Lazy,
    pub purge_batch: Lazy,
    pub resume: Lazy,
    pub stats: Lazy,
    pub prune_stats: Lazy,
    pub heartbeat: Lazy,
    pub page: Lazy,
    pub queue_rm: Lazy,
    pub schedule_add: Lazy,
    pub schedule_due: Lazy,
    pub schedule_commit: Lazy,
    pub schedule_pause: Lazy,
    pub registry_remove: Lazy,
    pub archive_page: Lazy,
    pub archive_backlog: Lazy,
    pub register_child: Lazy,
    pub release_child: Lazy,
    pub limit_set: Lazy,
    pub limit_status: Lazy,
}

pub static SCRIPTS: Scripts = Scripts {
    enqueue: LazyLock::new(|| script(include_str!("enqueue.lua"))),
    fetch: LazyLock::new(|| {
        Script::new(&format!(
            "{COMMON}\n{DEPS}\n{RECOVERY}\n{LIMITS}\n{}",
            include_str!("fetch.lua")
        ))
    }),
    complete: LazyLock::new(|| ending_script(include_str!("complete.lua"))),
    fail: LazyLock::new(|| ending_script(include_str!("fail.lua"))),
    renew: LazyLock::new(|| script(include_str!("renew.lua"))),
    requeue: LazyLock::new(|| script(include_str!("requeue.lua"))),
    release: LazyLock::new(|| script(include_str!("release.lua"))),
    recover: LazyLock::new(|| recovery_script(include_str!("recover.lua"))),
    progress: LazyLock::new(|| script(include_str!("progress.lua"))),
    cancel: LazyLock::new(|| ops_ending_script(include_str!("cancel.lua"))),
    cancel_active: LazyLock::new(|| ops_ending_script(include_str!("cancel_active.lua"))),
    retry: LazyLock::new(|| ops_script(include_str!("retry.lua"))),
    requeue_batch: LazyLock::new(|| ops_script(include_str!("requeue_batch.lua"))),
    purge_batch: LazyLock::new(|| ops_ending_script(include_str!("purge_batch.lua"))),
    resume: LazyLock::new(|| ops_script(include_str!("resume.lua"))),
    stats: LazyLock::new(|| ops_script(include_str!("stats.lua"))),
    prune_stats: LazyLock::new(|| ops_script(include_str!("prune_stats.lua"))),
    heartbeat: LazyLock::new(|| script(include_str!("heartbeat.lua"))),
    page: LazyLock::new(|| script(include_str!("page.lua"))),
    queue_rm: LazyLock::new(|| script(include_str!("queue_rm.lua"))),
    schedule_add: LazyLock::new(|| script(include_str!("schedule_add.lua"))),
    schedule_due: LazyLock::new(|| script(include_str!("schedule_due.lua"))),
    schedule_commit: LazyLock::new(|| script(include_str!("schedule_commit.lua"))),
    schedule_pause: LazyLock::new(|| script(include_str!("schedule_pause.lua"))),
    registry_remove: LazyLock::new(|| script(include_str!("registry_remove.lua"))),
    archive_page: LazyLock::new(|| script(include_str!("archive_page.lua"))),
    archive_backlog: LazyLock::new(|| script(include_str!("archive_backlog.lua"))),
    register_child: LazyLock::new(|| script(include_str!("register_child.lua"))),
    release_child: LazyLock::new(|| ending_script(include_str!("release_child.lua"))),
    limit_set: LazyLock::new(|| script(include_str!("limit_set.lua"))),
    limit_status: LazyLock::new(|| limits_script(include_str!("limit_status.lua"))),
};

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
