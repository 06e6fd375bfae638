//! A private PostgreSQL per test: `initdb` into a temp dir and `postgres` listening only on a
//! unix socket in that dir (no TCP port at all), stopped on drop. As root, both run as the
//! `postgres` system user (PostgreSQL refuses to run as root). Start-up takes well under a
//! second here, so tests do not share servers. If the test thread dies without dropping it,
//! the server gets SIGQUIT (immediate shutdown) through PR_SET_PDEATHSIG, so no server outlives
//! its test.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct Postgres {
    child: Option<Child>,
    pub dir: TempDir,
    port: u16,
}

/// The directory holding `initdb` and `postgres`: next to `initdb` on PATH (following its
/// symlink), else Debian's /usr/lib/postgresql/<newest>/bin.
fn bin_dir() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("initdb"))
            .find(|p| p.is_file())
    });
    if let Some(initdb) = on_path {
        let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        return real.parent().unwrap().to_path_buf();
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions
        .pop()
        .filter(|p| p.join("initdb").is_file())
        .expect("PostgreSQL not found: apt-get install postgresql (.ci/run does)")
}

/// uid and gid to run the server as: our own, or `postgres`'s when we are root.
fn server_user() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = std::ffi::CString::new("postgres").unwrap();
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(
        !pw.is_null(),
        "running as root: PostgreSQL needs an unprivileged `postgres` user (apt-get install postgresql creates it)"
    );
    Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

fn as_server_user(cmd: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    cmd.env("LC_ALL", "C").env_remove("PGDATA")
}

/// A port number nobody uses: it only names the unix socket (`.s.PGSQL.<port>`), but a
/// distinct one keeps any client from mistaking it for a system server.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Postgres {
    pub fn start() -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("jobq-pg-")
            .tempdir()
            .expect("temp dir");
        let user = server_user();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let bin = bin_dir();
        let data = dir.path().join("data");
        let out = as_server_user(&mut Command::new(bin.join("initdb")), user)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "test",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = Postgres {
            child: None,
            dir,
            port: free_port(),
        };
        pg.spawn(&bin, user);
        pg
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn spawn(&mut self, bin: &Path, user: Option<(u32, u32)>) {
        let log = std::fs::File::create(self.log_path()).unwrap();
        let mut cmd = Command::new(bin.join("postgres"));
        as_server_user(&mut cmd, user)
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-k")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string()])
            // No TCP at all; durability is not what these tests are about.
            .args([
                "-c",
                "listen_addresses=",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
            ])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=60"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe. SIGQUIT is PostgreSQL's immediate shutdown.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
                Ok(())
            });
        }
        self.child = Some(cmd.spawn().expect("start postgres"));
        let socket = self.dir.path().join(format!(".s.PGSQL.{}", self.port));
        let deadline = Instant::now() + Duration::from_secs(30);
        let log_path = self.log_path();
        let ready = || {
            socket.exists()
                && std::fs::read_to_string(&log_path)
                    .unwrap_or_default()
                    .contains("ready to accept connections")
        };
        while !ready() {
            let exited = self.child.as_mut().unwrap().try_wait().unwrap().is_some();
            if exited || Instant::now() > deadline {
                panic!("postgres did not come up; its log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// URL of database `db` (the `postgres` database always exists).
    pub fn url_of(&self, db: &str) -> String {
        format!(
            "postgres://test@localhost/{db}?host={}&port={}",
            self.dir.path().display(),
            self.port
        )
    }

    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// Runs `f` with a fresh connection, on a runtime of its own.
    pub fn with<T>(&self, f: impl AsyncFnOnce(&mut sqlx::PgConnection) -> T) -> T {
        use sqlx::Connection;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&self.url()).await.unwrap();
            f(&mut conn).await
        })
    }

    /// One number from SQL.
    pub fn count(&self, sql: &str) -> i64 {
        let sql = sql.to_string();
        self.with(async move |c| sqlx::query_scalar::<_, i64>(&sql).fetch_one(c).await.unwrap())
    }

    /// Runs statements (test setup).
    pub fn execute(&self, sql: &str) {
        let sql = sql.to_string();
        self.with(async move |c| {
            sqlx::raw_sql(&sql).execute(c).await.unwrap();
        })
    }

    /// SIGKILLs the server and leaves it down.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Immediate shutdown: the postmaster stops its backends and frees shared memory.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGQUIT);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
