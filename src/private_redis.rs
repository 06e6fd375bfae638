//! A throwaway redis-server on a unix socket in a temp dir, for `jobq demo` and `jobq bench`:
//! nothing outside the temp dir is touched, and the server dies (and its dir is removed) on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::{RetryPolicy, Store};

pub struct PrivateRedis {
    child: Child,
    dir: tempfile::TempDir,
}

impl PrivateRedis {
    /// Starts redis-server without persistence; `purpose` names the temp dir (`jobq-<purpose>-`).
    pub fn start(purpose: &str) -> Result<PrivateRedis> {
        let binary = find_on_path("redis-server").ok_or_else(|| {
            Error::Unavailable(format!(
                "jobq {purpose} needs redis-server on PATH (Debian/Ubuntu: apt-get install redis-server)"
            ))
        })?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("jobq-{purpose}-"))
            .tempdir()
            .map_err(|e| Error::Io(format!("cannot create a temp dir: {e}")))?;
        let socket = dir.path().join("redis.sock");
        let child = Command::new(binary)
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
            ])
            .arg(dir.path())
            .args(["--logfile"])
            .arg(dir.path().join("redis.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Io(format!("cannot start redis-server: {e}")))?;
        Ok(PrivateRedis { child, dir })
    }

    pub fn url(&self) -> String {
        format!("unix://{}", self.dir.path().join("redis.sock").display())
    }

    /// The temp dir the server lives in (removed with it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's process id (for reading its CPU time from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Connects once the server accepts connections (it needs a moment after spawning).
    pub async fn connect(&self, namespace: &str, retry: RetryPolicy) -> Result<Store> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match Store::connect(&self.url(), namespace, retry).await {
                Ok(store) => return Ok(store),
                Err(Error::Unavailable(_)) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}
