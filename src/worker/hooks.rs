//! Hooks: commands a handlers file attaches to a job type's outcomes.
//!
//! ```toml
//! [send_email]
//! command = "./send_email.sh"
//! on_success = "./notify.sh ok"
//! on_failure = "./notify.sh retrying"   # an attempt failed, a retry is scheduled
//! on_dead = "./page-oncall.sh"          # out of attempts (or failed permanently)
//! hook_timeout = "30s"
//! ```
//!
//! The worker runs a hook after the outcome is recorded in Redis, with the job as
//! `jobq inspect --json` shows it on stdin. Hooks run detached from the worker's slots (the
//! slot is free again at once), at most [`MAX_RUNNING`] at a time, each stopped after its
//! timeout; a hook that fails or times out is logged and changes nothing about the job. A
//! hook's process group dies with its worker, as a handler's does (supervise.rs).

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use super::control::Control;
use super::process::{capture, command, terminate, with_tail, HandlerSpec};
use super::supervise::Registered;
use crate::duration;
use crate::error::{Error, Result};
use crate::job::{Job, LeasedJob, MAX_ERROR_BYTES};
use crate::store::{FailOutcome, Store};

/// Hooks running at once per worker; more wait for a turn (in memory, not in a slot).
pub const MAX_RUNNING: usize = 16;
/// A hook's time limit unless `hook_timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const KILL_GRACE: Duration = Duration::from_secs(2);

/// Which outcome a hook follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEvent {
    /// The job completed.
    Success,
    /// An attempt failed and a retry is scheduled.
    Failure,
    /// The job is dead.
    Dead,
}

impl HookEvent {
    pub fn name(self) -> &'static str {
        match self {
            HookEvent::Success => "on_success",
            HookEvent::Failure => "on_failure",
            HookEvent::Dead => "on_dead",
        }
    }

    /// The hook that follows a recorded failure, if any (a lost lease recorded nothing).
    pub fn after_fail(outcome: &FailOutcome) -> Option<HookEvent> {
        match outcome {
            FailOutcome::Retry { .. } => Some(HookEvent::Failure),
            FailOutcome::Dead => Some(HookEvent::Dead),
            FailOutcome::Lost => None,
        }
    }
}

/// The hooks of one job type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeHooks {
    pub on_success: Option<HandlerSpec>,
    pub on_failure: Option<HandlerSpec>,
    pub on_dead: Option<HandlerSpec>,
    pub timeout: Option<Duration>,
}

impl TypeHooks {
    fn get(&self, event: HookEvent) -> Option<&HandlerSpec> {
        match event {
            HookEvent::Success => self.on_success.as_ref(),
            HookEvent::Failure => self.on_failure.as_ref(),
            HookEvent::Dead => self.on_dead.as_ref(),
        }
    }
}

/// Every job type's hooks, and the turns they run in.
#[derive(Debug)]
pub struct Hooks {
    pub by_type: HashMap<String, TypeHooks>,
    turns: Arc<Semaphore>,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks::new(HashMap::new())
    }
}

impl Hooks {
    pub fn new(by_type: HashMap<String, TypeHooks>) -> Hooks {
        Hooks {
            by_type,
            turns: Arc::new(Semaphore::new(MAX_RUNNING)),
        }
    }

    /// Whether `job_type` has a hook that follows a failure (`on_failure` or `on_dead`); the
    /// worker then asks fail.lua for the job as recorded.
    pub fn follows_failures(&self, job_type: &str) -> bool {
        self.by_type
            .get(job_type)
            .is_some_and(|h| h.on_failure.is_some() || h.on_dead.is_some())
    }

    /// Starts `job`'s hook for `event` in the background, if its type has one. The hook sees
    /// `recorded`, the job as the transition's own call left it. A failure passes it (a retry
    /// may start before any later read); a completion does not: a completed job stays as it is
    /// until its retention ends or an operator acts, so it is read here, right after the
    /// transition, and never when the hook gets its turn.
    pub async fn fire(&self, store: &Arc<Store>, job: &LeasedJob, event: HookEvent, recorded: Option<Job>) {
        let Some(hooks) = self.by_type.get(&job.job_type) else {
            return;
        };
        let Some(spec) = hooks.get(event).cloned() else {
            return;
        };
        let timeout = hooks.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let recorded = match recorded {
            Some(job) => Ok(job),
            None => store.job(&job.id).await,
        };
        let (turns, job) = (self.turns.clone(), job.clone());
        tokio::spawn(async move {
            let Ok(_turn) = turns.acquire_owned().await else {
                return;
            };
            let ran = match recorded {
                Ok(recorded) => run(&spec, &job, &recorded, event, timeout).await,
                Err(e) => Err(e),
            };
            if let Err(e) = ran {
                crate::log::warn(
                    crate::log::Ctx::job(&job),
                    format_args!(
                        "job {} ({}): hook {} failed: {e}",
                        job.id,
                        job.job_type,
                        event.name()
                    ),
                );
            }
        });
    }

    /// Waits (at most `limit`) for running and waiting hooks, so a worker that stops does not
    /// cut them off.
    pub async fn wait(&self, limit: Duration) {
        let all = self.turns.acquire_many(MAX_RUNNING as u32);
        if tokio::time::timeout(limit, all).await.is_err() {
            crate::log::warn(
                crate::log::Ctx::default(),
                "stopping with hooks still running; they are killed",
            );
        }
    }
}

/// Runs one hook with `recorded`, the job as recorded after its transition (what `jobq inspect
/// --json` showed then), on stdin.
async fn run(
    spec: &HandlerSpec,
    job: &LeasedJob,
    recorded: &Job,
    event: HookEvent,
    timeout: Duration,
) -> Result<()> {
    let json = serde_json::to_vec(recorded).map_err(|e| Error::Io(e.to_string()))?;
    let mut cmd = command(spec);
    cmd.stdout(Stdio::null())
        .env("JOBQ_HOOK", event.name())
        .env("JOBQ_JOB_ID", &job.id)
        .env("JOBQ_JOB_TYPE", &job.job_type)
        .env("JOBQ_QUEUE", &job.queue)
        .env("JOBQ_JOB_STATE", recorded.state.as_str());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Io(format!("cannot start `{}`: {e}", spec.argv[0])))?;
    // Like a handler's, the hook's whole process group dies with the worker (supervise.rs).
    let _registered = Registered::new(child.id());
    let pid = child.id().map(|p| p as i32);
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            let _ = stdin.write_all(&json).await;
        });
    }
    let stderr = capture(child.stderr.take(), MAX_ERROR_BYTES, true);
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => status.map_err(|e| Error::Io(format!("lost track of the hook: {e}")))?,
        Err(_) => {
            terminate(&mut child, pid, KILL_GRACE, &Control::default()).await;
            let what = format!("timed out after {}", duration::human(timeout));
            return Err(Error::Io(with_tail(what, &stderr.finish().await)));
        }
    };
    if status.success() {
        return Ok(());
    }
    Err(Error::Io(with_tail(status.to_string(), &stderr.finish().await)))
}

#[derive(Deserialize)]
struct Entry {
    on_success: Option<String>,
    on_failure: Option<String>,
    on_dead: Option<String>,
    hook_timeout: Option<String>,
    #[serde(default)]
    env: HashMap<String, String>,
}

/// Reads the hooks of a handlers file (the handlers themselves: `load_handlers_file`, which
/// also rejects unknown keys). Hooks get the `env` of their type's entry too.
pub fn load_hooks_file(path: &Path) -> Result<Hooks> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("cannot read handlers file {}: {e}", path.display())))?;
    let entries: HashMap<String, Entry> = toml::from_str(&text).map_err(|e| {
        let first = e.to_string().lines().next().unwrap_or("").to_string();
        Error::invalid(format!("handlers file {} is not valid: {first}", path.display()))
    })?;
    let mut by_type = HashMap::new();
    for (job_type, entry) in entries {
        let env: Vec<(String, String)> = entry.env.into_iter().collect();
        let spec = |cmd: Option<String>| -> Result<Option<HandlerSpec>> {
            cmd.map(|c| {
                let mut s = HandlerSpec::parse(&c)?;
                s.env.clone_from(&env);
                Ok(s)
            })
            .transpose()
        };
        let hooks = TypeHooks {
            on_success: spec(entry.on_success)?,
            on_failure: spec(entry.on_failure)?,
            on_dead: spec(entry.on_dead)?,
            timeout: entry
                .hook_timeout
                .map(|t| duration::parse(&t))
                .transpose()
                .map_err(|e| {
                    Error::invalid(format!(
                        "handlers file {}, [{job_type}] hook_timeout: {e}",
                        path.display()
                    ))
                })?,
        };
        if hooks != TypeHooks::default() {
            by_type.insert(job_type, hooks);
        }
    }
    Ok(Hooks::new(by_type))
}
