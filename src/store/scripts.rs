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
    fetch: compose(&[COMMON, DEPS, RECOVERY, LIMITS], include_str!("fetch.lua")),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preludes_hold_only_top_level_locals_indented_code_ends_comments_and_blanks() {
        for prelude in [COMMON, OPS, RECOVERY, DEPS, LIMITS] {
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
        let fetch = composed(&[COMMON, DEPS, RECOVERY, LIMITS], include_str!("fetch.lua"));
        assert!(fetch.contains("local function recover_expired("), "{fetch}");
    }
}
