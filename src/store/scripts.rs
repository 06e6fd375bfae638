//! The Lua scripts, each a `.lua` file beside this one, loaded once per process.
//! `redis::Script` reloads a script by itself after `NOSCRIPT` (a restarted or flushed server).

use std::sync::LazyLock;

use redis::Script;

const COMMON: &str = include_str!("common.lua");
const OPS: &str = include_str!("ops.lua");
const RECOVERY: &str = include_str!("recovery.lua");
const DEPS: &str = include_str!("deps.lua");
const LIMITS: &str = include_str!("limits.lua");
const COMPLETING: &str = include_str!("completing.lua");

fn script(body: &str) -> Script {
    compose(&[COMMON], body)
}

/// Scripts that end jobs get `deps.lua` (dependents to the outbox, expiry).
fn ending_script(body: &str) -> Script {
    compose(&[COMMON, DEPS], body)
}

/// Scripts that may run lease recovery get `recovery.lua` (which ends jobs, so `deps.lua` too).
fn recovery_script(body: &str) -> Script {
    compose(&[COMMON, DEPS, RECOVERY], body)
}

/// Scripts that read a queue's limit get `limits.lua`.
fn limits_script(body: &str) -> Script {
    compose(&[COMMON, LIMITS], body)
}

/// Operator scripts also get the helpers of `ops.lua`.
fn ops_script(body: &str) -> Script {
    compose(&[COMMON, OPS], body)
}

/// Operator scripts that end jobs.
fn ops_ending_script(body: &str) -> Script {
    compose(&[COMMON, OPS, DEPS], body)
}

/// A script: the helpers of `preludes` that `body` uses (directly or through other helpers),
/// then `body`. Redis runs a script's whole text on every call, and each helper defined costs
/// then, used or not: callgrind counted ~14,500 instructions per call for defining common.lua's
/// helpers, ~23,000 with the three files fetch.lua gets (issue 11). A helper can only use
/// helpers defined before it (Lua locals), so one pass from the last one back finds them all.
fn compose(preludes: &[&str], body: &str) -> Script {
    Script::new(&composed(preludes, body))
}

fn composed(preludes: &[&str], body: &str) -> String {
    let defs: Vec<Definition> = preludes.iter().flat_map(|p| definitions(p)).collect();
    let mut wanted = words(body);
    let mut needed = vec![false; defs.len()];
    for (i, def) in defs.iter().enumerate().rev() {
        if def.names.iter().any(|n| wanted.contains(n)) {
            needed[i] = true;
            wanted.extend(words(&def.text));
        }
    }
    let mut out: String = defs
        .iter()
        .zip(needed)
        .filter(|(_, needed)| *needed)
        .map(|(def, _)| def.text.as_str())
        .collect();
    out.push_str(body);
    out
}

/// One top-level `local` of a prelude (a helper or a constant), with the comment above it.
struct Definition<'a> {
    names: Vec<&'a str>,
    text: String,
}

/// Splits a prelude at its top-level `local` lines; everything else in a prelude is indented,
/// an `end`, a comment or blank (a unit test holds every prelude to that).
fn definitions(prelude: &str) -> Vec<Definition<'_>> {
    let mut defs: Vec<Definition> = Vec::new();
    let mut comment = String::new();
    for line in prelude.lines() {
        if let Some(rest) = line.strip_prefix("local ") {
            let names = match rest.strip_prefix("function ") {
                Some(f) => vec![f.split('(').next().unwrap_or_default().trim()],
                None => rest
                    .split('=')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .collect(),
            };
            defs.push(Definition {
                names,
                text: std::mem::take(&mut comment),
            });
        } else if line.starts_with("--") {
            comment.push_str(line);
            comment.push('\n');
            continue;
        } else if line.is_empty() {
            continue;
        }
        if let Some(def) = defs.last_mut() {
            def.text.push_str(line);
            def.text.push('\n');
        }
    }
    defs
}

/// The identifiers in Lua source (and in its comments and strings, which only ever adds).
fn words(source: &str) -> std::collections::HashSet<&str> {
    source
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// fetch.lua may run lease recovery, read the queue's limit and complete jobs riding along.
const FETCH_PRELUDES: &[&str] = &[COMMON, DEPS, RECOVERY, LIMITS, COMPLETING];

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
    fetch: LazyLock::new(|| compose(FETCH_PRELUDES, include_str!("fetch.lua"))),
    complete: LazyLock::new(|| compose(&[COMMON, DEPS, COMPLETING], include_str!("complete.lua"))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preludes_hold_only_top_level_locals_indented_code_ends_comments_and_blanks() {
        for prelude in [COMMON, OPS, RECOVERY, DEPS, LIMITS, COMPLETING] {
            for line in prelude.lines() {
                let ok = line.is_empty()
                    || line.starts_with("local ")
                    || line.starts_with("--")
                    || line.starts_with("end")
                    || line.starts_with(' ');
                assert!(ok, "a prelude line compose() cannot place: {line:?}");
            }
        }
    }

    #[test]
    fn a_script_gets_the_helpers_it_uses_and_theirs_in_prelude_order_and_no_others() {
        let prelude =
            "-- a\nlocal A = 1\nlocal function b(x)\n  return x + A\nend\nlocal function c()\nend\n";
        assert_eq!(
            composed(&[prelude], "return b(2)\n"),
            "-- a\nlocal A = 1\nlocal function b(x)\n  return x + A\nend\nreturn b(2)\n"
        );
        assert_eq!(composed(&[prelude], "return 1\n"), "return 1\n");
        // The real scripts: enqueue needs no lease recovery, fetch does.
        let enqueue = composed(&[COMMON], include_str!("enqueue.lua"));
        assert!(enqueue.contains("local function record_event") && !enqueue.contains("local function emit("));
        let fetch = composed(FETCH_PRELUDES, include_str!("fetch.lua"));
        assert!(fetch.contains("local function recover_expired("), "{fetch}");
        assert!(fetch.contains("local function complete_jobs("), "{fetch}");
    }
}
