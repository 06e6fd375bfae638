//! External handlers: one process per attempt, run without a shell. The payload goes to the
//! handler's stdin and never into a command line (README "Handler contract").

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::process::Child;

use super::handler::{BoxFuture, Control, Handler, Outcome};
use super::process::{
    capture, command, log_stderr, terminate, with_tail, HandlerSpec, MAX_RESULT_BYTES, PIPE_DRAIN,
};
use super::supervise::Registered;
use crate::duration;
use crate::error::{Error, Result};
use crate::job::{LeasedJob, MAX_ERROR_BYTES};
use crate::progress::{self, ProgressReporter, PROGRESS_FD};

/// Exit code with which a handler says "do not retry this job".
pub const EXIT_PERMANENT: i32 = 100;
/// Longest progress line read; the rest of a longer line is read as the next one.
const MAX_LINE: u64 = 4096;

/// Runs external programs chosen by job type, with an optional fallback for any type.
#[derive(Debug, Clone, Default)]
pub struct ExecHandler {
    pub by_type: HashMap<String, HandlerSpec>,
    pub fallback: Option<HandlerSpec>,
    /// Timeout for jobs that set none and whose handler sets none.
    pub default_timeout: Option<Duration>,
    /// Between SIGTERM and SIGKILL when a handler must stop.
    pub kill_grace: Duration,
    /// Idle processes of persistent handlers, by job type.
    pub pools: Arc<super::persistent::Pools>,
    /// Commands run after a job's outcome is recorded (hooks.rs).
    pub hooks: Arc<super::hooks::Hooks>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    /// Optional: a type may have only hooks (its handler coming from `--exec`).
    command: Option<String>,
    timeout: Option<String>,
    #[serde(default)]
    env: HashMap<String, String>,
    #[serde(default)]
    persistent: bool,
    // Read by hooks.rs (`load_hooks_file`); named here so unknown keys are still refused.
    #[serde(rename = "on_success")]
    _on_success: Option<String>,
    #[serde(rename = "on_failure")]
    _on_failure: Option<String>,
    #[serde(rename = "on_dead")]
    _on_dead: Option<String>,
    #[serde(rename = "hook_timeout")]
    _hook_timeout: Option<String>,
}

/// Reads a handlers file (TOML): one table per job type.
///
/// ```toml
/// [send_email]
/// command = "./send_email.sh --smtp localhost"
/// timeout = "30s"
/// env = { SMTP_USER = "mailer" }
///
/// [resize]
/// command = "python3 resize.py"
/// persistent = true
/// ```
pub fn load_handlers_file(path: &Path) -> Result<HashMap<String, HandlerSpec>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("cannot read handlers file {}: {e}", path.display())))?;
    let entries: HashMap<String, FileEntry> = toml::from_str(&text).map_err(|e| {
        let first = e.to_string().lines().next().unwrap_or("").to_string();
        Error::invalid(format!("handlers file {} is not valid: {first}", path.display()))
    })?;
    let mut out = HashMap::new();
    for (job_type, entry) in entries {
        crate::job::validate_name("type", &job_type)?;
        let Some(command) = entry.command else {
            if entry._on_success.is_none() && entry._on_failure.is_none() && entry._on_dead.is_none() {
                return Err(Error::invalid(format!(
                    "handlers file {}, [{job_type}]: missing `command` (or a hook: on_success, on_failure, on_dead)",
                    path.display()
                )));
            }
            continue;
        };
        let mut spec = HandlerSpec::parse(&command)?;
        spec.timeout = entry
            .timeout
            .map(|t| duration::parse(&t))
            .transpose()
            .map_err(|e| {
                Error::invalid(format!(
                    "handlers file {}, [{job_type}] timeout: {e}",
                    path.display()
                ))
            })?;
        spec.env = entry.env.into_iter().collect();
        spec.persistent = entry.persistent;
        out.insert(job_type, spec);
    }
    Ok(out)
}

impl Handler for ExecHandler {
    fn types(&self) -> Vec<String> {
        let mut types: Vec<String> = self.by_type.keys().cloned().collect();
        types.sort();
        if self.fallback.is_some() {
            types.push(super::handler::ANY_TYPE.to_string());
        }
        types
    }

    fn handles(&self, job_type: &str) -> bool {
        self.fallback.is_some() || self.by_type.contains_key(job_type)
    }

    fn handle(&self, job: LeasedJob, control: Control) -> BoxFuture {
        let (pool, spec) = match self.by_type.get(&job.job_type) {
            Some(spec) => (job.job_type.clone(), Some(spec)),
            None => (String::new(), self.fallback.as_ref()),
        };
        let Some(spec) = spec.cloned() else {
            let msg = format!(
                "no handler for job type `{}` on this worker: start it with --handler {}=COMMAND, --handlers FILE or --exec COMMAND",
                job.job_type, job.job_type
            );
            return Box::pin(async move { Outcome::failed(msg) });
        };
        let timeout = job.timeout.or(spec.timeout).or(self.default_timeout);
        let grace = self.kill_grace;
        if spec.persistent {
            let pools = self.pools.clone();
            return Box::pin(async move {
                let limits = super::persistent::Limits { timeout, grace };
                pools.run(&pool, &spec, &job, limits, control).await
            });
        }
        Box::pin(async move { run(&spec, &job, timeout, grace, control).await })
    }

    fn hooks(&self) -> Option<&super::hooks::Hooks> {
        Some(&self.hooks)
    }
}

async fn run(
    spec: &HandlerSpec,
    job: &LeasedJob,
    timeout: Option<Duration>,
    grace: Duration,
    control: Control,
) -> Outcome {
    let (mut child, progress_pipe) = match spawn(spec, job) {
        Ok(spawned) => spawned,
        Err(e) => return Outcome::failed(format!("cannot start handler `{}`: {e}", spec.argv[0])),
    };
    // Until the end of this attempt, the reaper kills the handler's group if the worker dies.
    let _registered = Registered::new(child.id());
    let progress = read_progress(progress_pipe, control.progress.clone());
    let pid = child.id().map(|p| p as i32);
    let stdin = child.stdin.take();
    let payload = job.payload.clone();
    // A handler that never reads stdin gets EPIPE here; that is its business, not an error.
    tokio::spawn(async move {
        if let Some(mut stdin) = stdin {
            let _ = stdin.write_all(payload.as_bytes()).await;
        }
    });
    let stdout = capture(child.stdout.take(), MAX_RESULT_BYTES, false);
    let stderr = capture(child.stderr.take(), MAX_ERROR_BYTES, true);

    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let ended = tokio::select! {
        status = child.wait() => Ended::Exited(status),
        _ = deadline => Ended::TimedOut,
        _ = control.stop.cancelled() => Ended::Stopped,
        _ = control.kill.cancelled() => Ended::Stopped,
    };
    let status = match ended {
        Ended::Exited(status) => status,
        _ => {
            terminate(&mut child, pid, grace, &control).await;
            let out = if let Ended::TimedOut = ended {
                format!("timed out after {}", duration::human(timeout.unwrap_or_default()))
            } else {
                "stopped by the worker".to_string()
            };
            let tail = stderr.finish().await;
            return Outcome::failed(with_tail(out, &tail));
        }
    };
    let out = stdout.finish().await;
    let err = stderr.finish().await;
    // The last progress line must be parsed before the outcome is recorded.
    let _ = tokio::time::timeout(PIPE_DRAIN, progress).await;
    match status {
        Ok(s) if s.success() => {
            log_stderr(job, &err);
            Outcome::Completed(result_json(&out))
        }
        Ok(s) => {
            use std::os::unix::process::ExitStatusExt;
            let (what, permanent) = match (s.code(), s.signal()) {
                (Some(EXIT_PERMANENT), _) => {
                    (format!("exit code {EXIT_PERMANENT} (permanent failure)"), true)
                }
                (Some(code), _) => (format!("exit code {code}"), false),
                (None, Some(sig)) => (format!("killed by signal {sig}"), false),
                _ => ("ended abnormally".to_string(), false),
            };
            Outcome::Failed {
                error: with_tail(what, &err),
                permanent,
            }
        }
        Err(e) => Outcome::failed(format!("lost track of handler process: {e}")),
    }
}

enum Ended {
    Exited(std::io::Result<std::process::ExitStatus>),
    TimedOut,
    Stopped,
}

/// Starts the handler with the write end of a fresh pipe as its fd [`PROGRESS_FD`]; returns
/// the child and the read end.
fn spawn(spec: &HandlerSpec, job: &LeasedJob) -> std::io::Result<(Child, File)> {
    let (read, write) = progress_pipe()?;
    let write_fd = write.as_raw_fd();
    let mut cmd = command(spec);
    cmd.env("JOBQ_JOB_ID", &job.id)
        .env("JOBQ_JOB_TYPE", &job.job_type)
        .env("JOBQ_QUEUE", &job.queue)
        .env("JOBQ_ATTEMPT", job.attempt.to_string())
        .env("JOBQ_MAX_ATTEMPTS", job.max_attempts.to_string())
        .env("JOBQ_PROGRESS_FD", PROGRESS_FD.to_string())
        // `jobq progress` needs the lease: a stale handler's writes are refused by it.
        .env("JOBQ_LEASE", &job.lease);
    // SAFETY: dup2 and fcntl are async-signal-safe. dup2 makes an inheritable copy; when the
    // pipe already is fd 3, dup2 does nothing and the close-on-exec flag must be cleared.
    unsafe {
        cmd.pre_exec(move || {
            if write_fd == PROGRESS_FD {
                libc::fcntl(PROGRESS_FD, libc::F_SETFD, 0);
            } else if libc::dup2(write_fd, PROGRESS_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    // Only the handler may hold the write end, or the reader would never see end-of-file.
    drop(write);
    Ok((child, File::from(read)))
}

fn progress_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two new descriptors, which we own from here on.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Reads progress lines on a plain thread (not `spawn_blocking`: a background child holding
/// the pipe open must not keep the runtime from shutting down). Other lines are ignored.
fn read_progress(pipe: File, reporter: ProgressReporter) -> tokio::sync::oneshot::Receiver<()> {
    let (done, finished) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if let Some(Ok(p)) = progress::parse_line(&String::from_utf8_lossy(&line)) {
                reporter.report(p);
            }
        }
        let _ = done.send(());
    });
    finished
}

/// Stdout becomes the result: as JSON when it parses, else as a JSON string; empty is `null`.
fn result_json(stdout: &str) -> String {
    let trimmed = stdout.trim();
    if trimmed.is_empty() {
        return "null".into();
    }
    match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(v) => v.to_string(),
        Err(_) => serde_json::Value::String(trimmed.to_string()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_a_shell_without_one() {
        let spec = HandlerSpec::parse(r#"./run.sh --name "a b" 'c;d' $HOME"#).unwrap();
        assert_eq!(spec.argv, ["./run.sh", "--name", "a b", "c;d", "$HOME"]);
        assert!(HandlerSpec::parse("").is_err());
        assert!(HandlerSpec::parse("'unbalanced").is_err());
    }

    #[test]
    fn stdout_becomes_json() {
        assert_eq!(result_json(" {\"a\": 1}\n"), r#"{"a":1}"#);
        assert_eq!(result_json("hello\n"), r#""hello""#);
        assert_eq!(result_json(""), "null");
    }
}
