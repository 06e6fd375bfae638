//! Handler processes, shared by exec-per-job (exec.rs) and persistent handlers
//! (persistent.rs): what a handler is, how it is started and stopped, and how its output is read.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::{Child, Command};

use super::control::Control;
use crate::error::{Error, Result};
use crate::job::LeasedJob;

/// Stdout kept as the job's result; the rest is read and dropped.
pub const MAX_RESULT_BYTES: usize = 1024 * 1024;
/// How long output pipes may stay open after the handler exits (a background child holding them).
pub(super) const PIPE_DRAIN: Duration = Duration::from_secs(1);

/// One handler: the program with its arguments, and its options.
#[derive(Debug, Clone, PartialEq)]
pub struct HandlerSpec {
    pub argv: Vec<String>,
    pub timeout: Option<Duration>,
    pub env: Vec<(String, String)>,
    /// One long-lived process per concurrency slot, fed jobs as JSON lines (persistent.rs).
    pub persistent: bool,
}

impl HandlerSpec {
    /// Splits `command` like a POSIX shell would (quotes, escapes), without running a shell.
    pub fn parse(command: &str) -> Result<HandlerSpec> {
        let argv = shlex::split(command).filter(|a| !a.is_empty()).ok_or_else(|| {
            Error::invalid(format!(
                "handler command {command:?} is empty or has unbalanced quotes"
            ))
        })?;
        Ok(HandlerSpec {
            argv,
            timeout: None,
            env: Vec::new(),
            persistent: false,
        })
    }
}

/// The handler's command with piped stdio, its own process group and death with the worker
/// (the whole group: see supervise.rs; register the started child with it).
pub(super) fn command(spec: &HandlerSpec) -> Command {
    let mut cmd = Command::new(&spec.argv[0]);
    cmd.args(&spec.argv[1..])
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Own process group, so a timeout or cancel can stop everything the handler started.
        .process_group(0)
        .kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe. If the worker is SIGKILLed before the handler's
    // group is registered with the reaper, the handler itself still dies with it.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd
}

/// SIGTERM to the handler's process group, SIGKILL after `grace` (or at once on `kill`).
pub(super) async fn terminate(child: &mut Child, pid: Option<i32>, grace: Duration, control: &Control) {
    let Some(pgid) = pid else { return };
    signal_group(pgid, libc::SIGTERM);
    tokio::select! {
        _ = child.wait() => {}
        _ = tokio::time::sleep(grace) => {}
        _ = control.kill.cancelled() => {}
    }
    // Also reaps anything the handler left running in its group.
    signal_group(pgid, libc::SIGKILL);
    let _ = child.wait().await;
}

fn signal_group(pgid: i32, sig: i32) {
    // SAFETY: plain syscall; a group that is already gone yields ESRCH, which is fine.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// Reads a pipe in the background, keeping the first (or last, `tail`) `cap` bytes.
pub(super) struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    task: tokio::task::JoinHandle<()>,
}

pub(super) fn capture<R: AsyncRead + Unpin + Send + 'static>(
    pipe: Option<R>,
    cap: usize,
    tail: bool,
) -> Capture {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let shared = buf.clone();
    let task = tokio::spawn(async move {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = vec![0u8; 16 * 1024];
        while let Ok(n) = pipe.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            let mut b = shared.lock().unwrap();
            if tail {
                b.extend_from_slice(&chunk[..n]);
                let excess = b.len().saturating_sub(cap);
                b.drain(..excess);
            } else {
                let room = cap.saturating_sub(b.len());
                b.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    });
    Capture { buf, task }
}

impl Capture {
    /// What was read so far (the pipe stays open: a persistent handler's stderr).
    pub(super) fn snapshot(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned()
    }

    /// Forgets what was read so far, so the next snapshot holds only newer output.
    pub(super) fn clear(&self) {
        self.buf.lock().unwrap().clear();
    }

    /// Waits briefly for the pipe to close, then returns what was read.
    pub(super) async fn finish(self) -> String {
        let mut task = self.task;
        if tokio::time::timeout(PIPE_DRAIN, &mut task).await.is_err() {
            task.abort();
        }
        let bytes = std::mem::take(&mut *self.buf.lock().unwrap());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Capture")
    }
}

/// A successful handler's stderr (its last 4 KiB) goes to the worker log, each line prefixed
/// with the job id; a failed attempt's stderr is its error instead (issue 9 item 14).
pub(super) fn log_stderr(job: &LeasedJob, stderr: &str) {
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        crate::log::info(crate::log::Ctx::job(job), format_args!("job {}: {line}", job.id));
    }
}

/// `exit code 1: boom`; stderr of several lines starts on a line of its own, so that
/// [`crate::summary::error_summary`] can tell the worker's words from the handler's.
pub(super) fn with_tail(what: String, stderr: &str) -> String {
    let tail = stderr.trim();
    if tail.is_empty() {
        what
    } else if tail.contains('\n') {
        format!("{what}:\n{tail}")
    } else {
        format!("{what}: {tail}")
    }
}
