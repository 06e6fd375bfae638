use std::future::Future;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ErrorKind, RedisError};
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::keys::Keys;

/// How long a command may keep failing with a transient error (dropped connection, `BUSY`,
/// `LOADING`, a paused server) before the caller sees the error.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub budget: Duration,
    /// Workers wait out `OOM` (maxmemory reached) instead of failing jobs because of it;
    /// the CLI reports it at once so that `enqueue` in a script fails loudly.
    pub retry_oom: bool,
}

impl RetryPolicy {
    /// For one-shot commands: ride out a short blip, then report.
    pub const CLI: RetryPolicy = RetryPolicy {
        budget: Duration::from_secs(10),
        retry_oom: false,
    };
    /// For workers: keep trying; leases decide what happens to jobs during a long outage.
    pub const WORKER: RetryPolicy = RetryPolicy {
        budget: Duration::MAX,
        retry_oom: true,
    };
}

/// A handle on one Redis server and namespace, shared by all tasks of a process.
pub struct Store {
    client: Client,
    conn: Mutex<Option<MultiplexedConnection>>,
    keys: Keys,
    url: String,
    retry: RetryPolicy,
    /// Queue names this process has already added to `<ns>:queues` (see `enqueue_pipeline`).
    pub(super) registered_queues: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Commands other than blocking pops must answer within this time or the connection is
/// considered dead (a paused or partitioned server).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl Store {
    /// Opens the client and connects once, so a wrong URL, password or a dead server is
    /// reported before any work starts.
    pub async fn connect(url: &str, namespace: &str, retry: RetryPolicy) -> Result<Store> {
        crate::job::validate_name("namespace", namespace)?;
        // rustls needs a process-wide crypto provider before the first `rediss://` handshake;
        // an error only means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let redacted = redact_url(url);
        let client = Client::open(url)
            .map_err(|e| {
                Error::invalid(format!(
                    "invalid --redis-url {redacted} ({}): use redis://[user:password@]host:port[/db], rediss://… for TLS or unix:///path/redis.sock",
                    describe(&e)
                ))
            })?;
        let store = Store {
            client,
            conn: Mutex::new(None),
            keys: Keys::new(namespace),
            url: redacted,
            retry,
            registered_queues: Default::default(),
        };
        let conn = store.first_connection().await.map_err(|e| store.error(e))?;
        *store.conn.lock().await = Some(conn);
        Ok(store)
    }

    /// A refused connection fails at once (nothing listens: say so now); a slow or busy
    /// server (paused clients, a long script) is retried within the policy's budget.
    async fn first_connection(&self) -> redis::RedisResult<MultiplexedConnection> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(25);
        loop {
            match self.open().await {
                Ok(conn) => return Ok(conn),
                Err(e) if e.is_connection_refusal() => return Err(e),
                Err(e) if is_transient(&e, false) && start.elapsed() + delay < self.retry.budget => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_BACKOFF);
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The URL with any password replaced by `***`, safe for messages and logs.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn open(&self) -> redis::RedisResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// A separate connection for blocking pops: on the shared multiplexed connection they
    /// would hold up every other command, and its response timeout would cut them short.
    pub async fn blocking_connection(&self) -> Result<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(None);
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| self.error(e))
    }

    /// A dedicated Pub/Sub connection (a subscribed connection can run no other commands).
    pub async fn pubsub(&self) -> Result<redis::aio::PubSub> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub()).await {
            Ok(r) => r.map_err(|e| self.error(e)),
            Err(_) => Err(self.error(RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out",
            )))),
        }
    }

    async fn connection(&self) -> redis::RedisResult<MultiplexedConnection> {
        let mut guard = self.conn.lock().await;
        if let Some(conn) = guard.as_ref() {
            return Ok(conn.clone());
        }
        let conn = self.open().await?;
        *guard = Some(conn.clone());
        Ok(conn)
    }

    async fn drop_connection(&self) {
        *self.conn.lock().await = None;
    }

    /// Runs `op`, retrying transient failures with exponential backoff within the policy's
    /// budget. Every jobq command is safe to repeat: scripts are idempotent by design (the
    /// client picks job ids; transitions check the lease token), so a lost reply is harmless.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T>
    where
        F: FnMut(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let start = Instant::now();
        let mut delay = Duration::from_millis(25);
        let mut reported = false;
        loop {
            let outcome = match self.connection().await {
                Ok(conn) => op(conn).await,
                Err(e) => Err(e),
            };
            let err = match outcome {
                Ok(value) => {
                    if reported {
                        eprintln!("{} jobq: Redis at {} is back", crate::log_time(), self.url);
                    }
                    return Ok(value);
                }
                Err(err) => err,
            };
            let transient = is_transient(&err, self.retry.retry_oom);
            if !transient || start.elapsed() + delay > self.retry.budget {
                return Err(self.error(err));
            }
            if needs_reconnect(&err) {
                self.drop_connection().await;
            }
            if self.retry.budget == Duration::MAX && !reported && start.elapsed() > Duration::from_secs(1) {
                eprintln!(
                    "{} jobq: Redis at {} unavailable ({}); retrying",
                    crate::log_time(),
                    self.url,
                    describe(&err)
                );
                reported = true;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_BACKOFF);
        }
    }

    /// Runs one command (or pipeline) through [`Store::run`].
    pub async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        self.run(|mut conn| async move { cmd.query_async(&mut conn).await })
            .await
    }

    /// Maps a Redis failure to an error a user can act on. Passwords never appear in it.
    pub fn error(&self, err: RedisError) -> Error {
        let what = describe(&err);
        let code = code_of(&err).unwrap_or("");
        if err.kind() == ErrorKind::AuthenticationFailed || code == "WRONGPASS" || code == "NOAUTH" {
            return Error::Auth(format!(
                "Redis at {} rejected the login ({what}): check the user and password in --redis-url / JOBQ_REDIS_URL",
                self.url
            ));
        }
        if code == "NOPERM" {
            return Error::Auth(format!(
                "the Redis user of {} lacks a permission jobq needs ({what}): grant it access to the `{}:*` and `{{{}:*` keys and to EVALSHA",
                self.url,
                self.keys.namespace(),
                self.keys.namespace()
            ));
        }
        if code == "OOM" {
            return Error::Redis(format!(
                "Redis at {} is out of memory (maxmemory reached); nothing was written. Free memory or raise maxmemory",
                self.url
            ));
        }
        if what.contains("certificate") || what.contains("TLS") || what.contains("tls") {
            return Error::Unavailable(format!(
                "TLS connection to Redis at {} failed ({what}): check the server's certificate and the rediss:// URL",
                self.url
            ));
        }
        if err.is_io_error() || err.is_timeout() || err.is_connection_dropped() || err.is_connection_refusal()
        {
            return Error::Unavailable(format!(
                "cannot reach Redis at {} ({what}): start redis-server or point --redis-url / JOBQ_REDIS_URL at it",
                self.url
            ));
        }
        Error::Redis(format!("Redis at {} answered with an error: {what}", self.url))
    }

    /// A dedicated pub/sub connection subscribed to `channel`.
    pub async fn subscribe_channel(&self, channel: &str) -> Result<redis::aio::PubSub> {
        let mut pubsub = self.pubsub().await?;
        pubsub.subscribe(channel).await.map_err(|e| self.error(e))?;
        Ok(pubsub)
    }

    /// Now on the Redis server's clock, in milliseconds (leases and event ids use that clock).
    pub async fn server_time_ms(&self) -> Result<u64> {
        let (secs, micros): (u64, u64) = self.query(&redis::cmd("TIME")).await?;
        Ok(secs * 1000 + micros / 1000)
    }

    /// One page of `SCAN … MATCH pattern`: the next cursor (0 when done) and the keys.
    pub async fn scan_page(&self, cursor: u64, pattern: &str, count: usize) -> Result<(u64, Vec<String>)> {
        self.query(
            redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(count),
        )
        .await
    }

    /// Raw access for code that needs a command outside the helpers (tests, stats).
    pub async fn raw(&self) -> Result<MultiplexedConnection> {
        self.connection().await.map_err(|e| self.error(e))
    }
}

/// Error codes jobq reacts to. Pipeline failures do not expose their items' codes through
/// `RedisError::code`, so the first known code in the message counts too.
const KNOWN_CODES: [&str; 10] = [
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
    "OOM",
    "BUSY",
    "LOADING",
    "TRYAGAIN",
    "MASTERDOWN",
    "CLUSTERDOWN",
    "READONLY",
];

fn code_of(err: &RedisError) -> Option<&'static str> {
    if let Some(code) = err.code() {
        if let Some(known) = KNOWN_CODES.iter().find(|k| **k == code) {
            return Some(known);
        }
    }
    let text = err.to_string();
    KNOWN_CODES.iter().copied().find(|k| {
        text.split(|c: char| !c.is_ascii_alphabetic())
            .any(|word| word == *k)
    })
}

fn is_transient(err: &RedisError, retry_oom: bool) -> bool {
    if err.is_io_error() || err.is_timeout() || err.is_connection_dropped() {
        return true;
    }
    match code_of(err) {
        Some("BUSY" | "LOADING" | "TRYAGAIN" | "MASTERDOWN" | "CLUSTERDOWN" | "READONLY") => true,
        Some("OOM") => retry_oom,
        _ => false,
    }
}

fn needs_reconnect(err: &RedisError) -> bool {
    err.is_io_error() || err.is_timeout() || err.is_connection_dropped() || err.is_unrecoverable_error()
}

/// One line describing a Redis error, without the password of the URL it may echo.
fn describe(err: &RedisError) -> String {
    let text = err.to_string();
    let text = text.lines().next().unwrap_or("").trim().to_string();
    redact_passwords(&text)
}

fn redact_passwords(text: &str) -> String {
    text.split(' ').map(redact_url).collect::<Vec<_>>().join(" ")
}

/// `redis://user:secret@host/0` becomes `redis://user:***@host/0`; a `pass=` query parameter
/// (unix socket URLs) is masked too.
pub fn redact_url(url: &str) -> String {
    let url = redact_userinfo(url);
    match url.find('?') {
        Some(q) => {
            let params: Vec<String> = url[q + 1..]
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k == "pass" || k == "password" => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{}?{}", &url[..q], params.join("&"))
        }
        None => url,
    }
}

fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    let userinfo = &rest[..at];
    let user = userinfo.split(':').next().unwrap_or("");
    if !userinfo.contains(':') {
        return url.to_string();
    }
    format!("{}{}:***{}", &url[..scheme_end + 3], user, &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("redis://:pw@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact_url("rediss://u:p@ss@h/1"), "rediss://u:***@h/1");
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
        assert_eq!(redact_url("redis://user@h"), "redis://user@h");
        assert_eq!(redact_url("unix:///tmp/r.sock"), "unix:///tmp/r.sock");
        assert_eq!(
            redact_url("unix:///tmp/r.sock?db=1&pass=pw"),
            "unix:///tmp/r.sock?db=1&pass=***"
        );
    }
}
