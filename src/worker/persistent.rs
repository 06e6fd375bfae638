//! Persistent handlers: one long-lived process per busy concurrency slot, fed one job per line
//! on stdin and answering one JSON line per job on stdout, so a handler that is slow to start
//! (Python, Node, a JVM) pays its start-up once instead of once per job.
//!
//! Protocol (README "Persistent handlers"):
//! - jobq writes `{"id","type","queue","attempt","max_attempts","payload"}` and a newline;
//! - the handler answers `{"id":ID,"ok":true,"result":JSON}` or
//!   `{"id":ID,"ok":false,"error":TEXT,"permanent":BOOL}`; lines with a `progress` member
//!   (`{"id":ID,"progress":{..}}`) may come before the answer and are skipped for now;
//! - anything else on stdout is a protocol error: the attempt fails and the process is replaced.
//!   Logs belong on stderr, whose tail is kept as the error of a failed attempt.
//!
//! A process that exits, times out or must be stopped fails its in-flight attempt and is
//! killed (its whole process group); the next job starts a fresh one. A process is reused only
//! after it answered cleanly, so it never sees two jobs at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

use super::handler::{Control, Outcome};
use super::process::{
    capture, command, log_stderr, terminate, with_tail, Capture, HandlerSpec, MAX_RESULT_BYTES,
};
use super::supervise::Registered;
use crate::duration;
use crate::job::{LeasedJob, MAX_ERROR_BYTES};

/// Longest reply line accepted: a full result plus room for the envelope.
const MAX_LINE: u64 = MAX_RESULT_BYTES as u64 + 4096;

/// Idle handler processes, by pool name (the job type, or "" for the `--exec` fallback).
#[derive(Debug, Default)]
pub struct Pools {
    idle: Mutex<HashMap<String, Vec<Process>>>,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Option<Duration>,
    pub grace: Duration,
}

#[derive(Debug)]
struct Process {
    child: Child,
    /// The reaper kills the process group if the worker dies, until the process is dropped.
    _registered: Registered,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Capture,
}

#[derive(Deserialize)]
struct Reply {
    id: Option<String>,
    ok: Option<bool>,
    #[serde(default)]
    result: Value,
    error: Option<String>,
    #[serde(default)]
    permanent: bool,
    progress: Option<Value>,
}

/// Why a process cannot be used again.
enum Broken {
    /// It wrote something that is not a reply, or a reply for another job.
    Protocol(String),
    /// Its stdin or stdout closed: it exited or crashed.
    Gone,
}

impl Pools {
    /// Runs one job on an idle process of `pool` (starting one if none is idle).
    pub async fn run(
        &self,
        pool: &str,
        spec: &HandlerSpec,
        job: &LeasedJob,
        limits: Limits,
        control: Control,
    ) -> Outcome {
        let mut process = match self.take(pool) {
            Some(p) => p,
            None => match Process::spawn(spec) {
                Ok(p) => p,
                Err(e) => return Outcome::failed(format!("cannot start handler `{}`: {e}", spec.argv[0])),
            },
        };
        process.stderr.clear();
        let deadline = async {
            match limits.timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        let stopped = tokio::select! {
            r = process.exchange(job) => match r {
                Ok(outcome) => {
                    if let Outcome::Completed(_) = outcome {
                        log_stderr(job, &process.stderr.snapshot());
                    }
                    self.put(pool, process);
                    return outcome;
                }
                Err(broken) => return process.retire(broken).await,
            },
            _ = deadline => format!("timed out after {}", duration::human(limits.timeout.unwrap_or_default())),
            _ = control.stop.cancelled() => "stopped by the worker".to_string(),
            _ = control.kill.cancelled() => "stopped by the worker".to_string(),
        };
        let pid = process.child.id().map(|p| p as i32);
        terminate(&mut process.child, pid, limits.grace, &control).await;
        Outcome::failed(with_tail(stopped, &process.stderr.snapshot()))
    }

    fn take(&self, pool: &str) -> Option<Process> {
        self.idle.lock().unwrap().get_mut(pool)?.pop()
    }

    fn put(&self, pool: &str, process: Process) {
        self.idle
            .lock()
            .unwrap()
            .entry(pool.to_string())
            .or_default()
            .push(process);
    }
}

impl Process {
    fn spawn(spec: &HandlerSpec) -> std::io::Result<Process> {
        let mut cmd = command(spec);
        cmd.env("JOBQ_PERSISTENT", "1");
        let mut child = cmd.spawn()?;
        let registered = Registered::new(child.id());
        let missing = || std::io::Error::other("handler pipes missing");
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = BufReader::new(child.stdout.take().ok_or_else(missing)?);
        let stderr = capture(child.stderr.take(), MAX_ERROR_BYTES, true);
        Ok(Process {
            child,
            _registered: registered,
            stdin,
            stdout,
            stderr,
        })
    }

    /// Sends the job and reads lines until its answer.
    async fn exchange(&mut self, job: &LeasedJob) -> Result<Outcome, Broken> {
        let line = request(job);
        let sent = async {
            self.stdin.write_all(line.as_bytes()).await?;
            self.stdin.flush().await
        };
        sent.await.map_err(|_| Broken::Gone)?;
        loop {
            let reply = self.read_reply().await?;
            if reply.id.as_deref().is_some_and(|id| id != job.id) {
                return Err(Broken::Protocol(format!(
                    "the handler answered for job {:?} while running {}",
                    reply.id.unwrap_or_default(),
                    job.id
                )));
            }
            if reply.progress.is_some() && reply.ok.is_none() {
                continue; // Progress reporting is reserved; see the module comment.
            }
            return outcome(reply);
        }
    }

    async fn read_reply(&mut self) -> Result<Reply, Broken> {
        let mut buf = Vec::new();
        let n = (&mut self.stdout)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .await
            .map_err(|_| Broken::Gone)?;
        if n == 0 {
            return Err(Broken::Gone);
        }
        if buf.last() != Some(&b'\n') && n as u64 == MAX_LINE {
            return Err(Broken::Protocol(format!(
                "the handler wrote a line longer than {MAX_LINE} bytes"
            )));
        }
        serde_json::from_slice(&buf).map_err(|e| {
            let text = String::from_utf8_lossy(&buf);
            let shown: String = text.trim().chars().take(200).collect();
            Broken::Protocol(format!(
                "the handler wrote a line that is not a jobq reply ({e}): {shown:?}; logs belong on stderr"
            ))
        })
    }

    /// Kills a process that cannot be reused and turns the reason into the attempt's error.
    async fn retire(mut self, broken: Broken) -> Outcome {
        let pid = self.child.id().map(|p| p as i32);
        let what = match broken {
            Broken::Protocol(msg) => msg,
            Broken::Gone => {
                // It is exiting: give it a moment so the exit status and stderr are complete.
                let status = tokio::time::timeout(Duration::from_secs(1), self.child.wait()).await;
                match status {
                    Ok(Ok(s)) => format!("the persistent handler exited ({s}) while running the job"),
                    _ => "the persistent handler closed its stdin/stdout while running the job".to_string(),
                }
            }
        };
        terminate(&mut self.child, pid, Duration::ZERO, &Control::default()).await;
        let tail = self.stderr.finish().await;
        Outcome::failed(with_tail(what, &tail))
    }
}

/// The request line. The payload is stored as compact JSON (no raw newlines), so it is
/// embedded as is instead of being parsed and printed again.
fn request(job: &LeasedJob) -> String {
    let payload = if job.payload.contains('\n') {
        serde_json::from_str::<Value>(&job.payload)
            .map(|v| v.to_string())
            .unwrap_or_else(|_| Value::String(job.payload.clone()).to_string())
    } else {
        job.payload.clone()
    };
    let s = |v: &str| Value::String(v.to_string()).to_string();
    format!(
        "{{\"id\":{},\"type\":{},\"queue\":{},\"attempt\":{},\"max_attempts\":{},\"payload\":{}}}\n",
        s(&job.id),
        s(&job.job_type),
        s(&job.queue),
        job.attempt,
        job.max_attempts,
        payload
    )
}

fn outcome(reply: Reply) -> Result<Outcome, Broken> {
    match reply.ok {
        Some(true) => Ok(Outcome::Completed(reply.result.to_string())),
        Some(false) => Ok(Outcome::Failed {
            error: reply
                .error
                .unwrap_or_else(|| "the handler reported a failure without an error".into()),
            permanent: reply.permanent,
        }),
        None => Err(Broken::Protocol(
            "the handler's reply has no \"ok\" member (true or false)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_embeds_the_payload_as_json() {
        let job = LeasedJob {
            id: "q-1".into(),
            job_type: "t".into(),
            queue: "q".into(),
            payload: r#"{"a":"x\ny"}"#.into(),
            attempt: 2,
            max_attempts: 5,
            timeout: None,
            lease: "w/2".into(),
        };
        let line = request(&job);
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["payload"]["a"], "x\ny");
        assert_eq!(v["attempt"], 2);
    }
}
