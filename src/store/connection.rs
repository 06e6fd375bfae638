use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::{AsyncConnectionConfig, RedisError};
use tokio::sync::Mutex;

use super::classify::{self, Action};
use super::direct::Direct;
pub use super::endpoint::Conn;
use super::endpoint::{ConnectionSettings, Endpoint, Timeouts};
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
    /// How long the first connection may wait for an unreachable Redis (refused, timed out).
    /// Zero: report it at once (one-shot commands).
    pub wait_at_start: Duration,
}

impl RetryPolicy {
    /// For one-shot commands: ride out a short blip, then report.
    pub const CLI: RetryPolicy = RetryPolicy {
        budget: Duration::from_secs(10),
        retry_oom: false,
        wait_at_start: Duration::ZERO,
    };
    /// For workers: keep trying; leases decide what happens to jobs during a long outage.
    /// A worker started before its Redis waits for it (see `--wait-for-redis`).
    pub const WORKER: RetryPolicy = RetryPolicy {
        budget: Duration::MAX,
        retry_oom: true,
        wait_at_start: Duration::MAX,
    };

    pub fn wait_at_start(self, wait: Duration) -> Self {
        RetryPolicy {
            wait_at_start: wait,
            ..self
        }
    }
}

/// What every connection of a process shares: where Redis is, how to talk about it, and
/// whether an outage has been reported already (one line per outage, not one per task).
pub(super) struct Shared {
    pub endpoint: Endpoint,
    pub url: String,
    pub namespace: String,
    pub retry: RetryPolicy,
    outage_reported: AtomicBool,
}

impl Shared {
    pub fn error(&self, err: &RedisError) -> Error {
        if self.endpoint.is_cluster() && matches!(classify::code_of(err), Some("MOVED" | "ASK")) {
            return Error::Unavailable(format!(
                "the Redis Cluster at {} kept redirecting the request (a failover or resharding did not settle in time)",
                self.url
            ));
        }
        classify::to_error(err, &self.url, &self.namespace)
    }

    fn outage(&self, err: &RedisError) {
        if !self.outage_reported.swap(true, Ordering::SeqCst) {
            crate::log::warn(
                Default::default(),
                format_args!(
                    "Redis at {} unavailable ({}); retrying",
                    self.url,
                    classify::describe(err)
                ),
            );
        }
    }

    fn recovered(&self) {
        if self.outage_reported.load(Ordering::Relaxed) && self.outage_reported.swap(false, Ordering::SeqCst)
        {
            crate::log::info(Default::default(), format_args!("Redis at {} is back", self.url));
        }
    }

    pub fn config(&self, blocking: bool) -> AsyncConnectionConfig {
        AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(if blocking { None } else { Some(RESPONSE_TIMEOUT) })
    }
}

/// Retrying one operation: backoff, the policy's budget, one log line per outage.
pub(super) struct Attempts<'a> {
    shared: &'a Shared,
    start: Instant,
    delay: Duration,
    readonly: u32,
}

impl<'a> Attempts<'a> {
    pub fn new(shared: &'a Shared) -> Self {
        Attempts {
            shared,
            start: Instant::now(),
            delay: Duration::from_millis(25),
            readonly: 0,
        }
    }

    /// After a failure: waits and returns what to do before the next try, or the error to
    /// report when trying again cannot help or the budget is spent.
    pub async fn again(&mut self, err: RedisError) -> Result<Action> {
        let mut action = classify::action(&err);
        // A cluster client that still sees MOVED/ASK after its own retries is in the middle of
        // a failover or resharding: its slot map catches up, so try again (on one server,
        // MOVED means the URL should have been redis+cluster://, which is permanent).
        if self.shared.endpoint.is_cluster() && matches!(classify::code_of(&err), Some("MOVED" | "ASK")) {
            action = Action::Wait;
        }
        let budget = self.shared.retry.budget;
        let mut retry = match action {
            Action::Permanent => false,
            Action::OutOfMemory => self.shared.retry.retry_oom,
            Action::Wait | Action::Reconnect => true,
        };
        if classify::code_of(&err) == Some("READONLY") {
            self.readonly += 1;
            // A fresh connection to a plain URL reaches the same replica again: a one-shot
            // command says so now. Sentinel finds the new master; a worker waits for one.
            if self.readonly > 1 && !self.shared.endpoint.is_sentinel() && budget != Duration::MAX {
                retry = false;
            }
        }
        if !retry || self.start.elapsed() + self.delay > budget {
            return Err(self.shared.error(&err));
        }
        if budget == Duration::MAX && self.start.elapsed() > Duration::from_secs(1) {
            self.shared.outage(&err);
        }
        // The first reconnect after READONLY is immediate: the old connection is the problem.
        if !(action == Action::Reconnect && self.readonly == 1) {
            tokio::time::sleep(self.delay).await;
            self.delay = (self.delay * 2).min(MAX_BACKOFF);
        }
        Ok(action)
    }

    pub fn succeeded(&self) {
        self.shared.recovered();
    }
}

/// A handle on one Redis deployment and namespace, shared by all tasks of a process.
pub struct Store {
    pub(super) shared: Arc<Shared>,
    settings: ConnectionSettings,
    /// The shared connection and its generation (so that only the task whose connection
    /// failed replaces it, not every task that saw the same outage).
    conn: Mutex<Option<(Conn, u64)>>,
    generation: AtomicU64,
    keys: Keys,
    sharded_pubsub: AtomicBool,
    /// `--min-replicas`: replicas that must confirm each write, and how long one `WAIT` may take.
    min_replicas: std::sync::Mutex<Option<(u32, Duration)>>,
    /// Queue names this process has already added to `<ns>:queues` (see `enqueue_pipeline`).
    pub(super) registered_queues: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Routes and schemas as last read (see `Store::registry`).
    pub(super) registry: super::registry::RegistryCache,
    /// Completions waiting for the next call (group commit, completions.rs).
    pub(super) completions: super::completions::Completions,
    /// A socket for calls made one at a time (direct.rs).
    direct: Arc<Direct>,
}

/// Commands other than blocking pops must answer within this time or the connection is
/// considered dead (a paused or partitioned server).
pub(super) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
pub(super) const TIMEOUTS: Timeouts = Timeouts {
    connect: CONNECT_TIMEOUT,
    response: RESPONSE_TIMEOUT,
};

impl Store {
    /// [`Store::connect_with`] for a URL without TLS file options.
    pub async fn connect(url: &str, namespace: &str, retry: RetryPolicy) -> Result<Store> {
        Self::connect_with(&ConnectionSettings::new(url), namespace, retry).await
    }

    /// Parses the settings and connects once (running a command), so a wrong URL, password,
    /// certificate or a dead server is reported before any work starts.
    pub async fn connect_with(
        settings: &ConnectionSettings,
        namespace: &str,
        retry: RetryPolicy,
    ) -> Result<Store> {
        crate::job::validate_name("namespace", namespace)?;
        // rustls needs a process-wide crypto provider before the first `rediss://` handshake;
        // an error only means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let endpoint = Endpoint::parse(settings, &TIMEOUTS)?;
        // Plain single servers only (direct.rs); `tls_addr` names TLS ones.
        let direct = Direct::new(
            endpoint.single_client().filter(|_| endpoint.tls_addr().is_none()),
            CONNECT_TIMEOUT,
            RESPONSE_TIMEOUT,
        );
        let store = Store {
            shared: Arc::new(Shared {
                endpoint,
                url: redact_url(&settings.url),
                namespace: namespace.to_string(),
                retry,
                outage_reported: AtomicBool::new(false),
            }),
            settings: settings.clone(),
            conn: Mutex::new(None),
            generation: AtomicU64::new(0),
            keys: Keys::new(namespace),
            sharded_pubsub: AtomicBool::new(false),
            min_replicas: Default::default(),
            registered_queues: Default::default(),
            registry: Default::default(),
            completions: Default::default(),
            direct: Arc::new(direct),
        };
        let (conn, sharded) = store.first_connection().await?;
        store.sharded_pubsub.store(sharded, Ordering::Relaxed);
        *store.conn.lock().await = Some((conn, 0));
        Ok(store)
    }

    /// Connects and proves the login works by running a command. Unreachable: one-shot
    /// commands fail at once, workers wait up to `wait_at_start` with one log line. Busy or
    /// loading servers are retried within the budget; permanent errors fail at once.
    async fn first_connection(&self) -> Result<(Conn, bool)> {
        let shared = &*self.shared;
        let wait = shared.retry.wait_at_start;
        let start = Instant::now();
        let mut attempts = Attempts::new(shared);
        let mut waiting = false;
        let mut probed = false;
        loop {
            let err = match self.open_proved().await {
                Ok(ok) => {
                    if waiting {
                        crate::log::info(
                            Default::default(),
                            format_args!("Redis at {} is reachable", shared.url),
                        );
                    }
                    return Ok(ok);
                }
                Err(e) => e,
            };
            // Nobody listening: one-shot commands say so at once; a worker waits for its Redis
            // (one log line), as it would during an outage. Other failures of the first
            // connection (a reset, a busy server) are retried like any command.
            let no_server = classify::action(&err) == Action::Reconnect && classify::code_of(&err).is_none();
            // A TLS server that refuses this client closes right after the handshake; the
            // redis crate may see only "broken pipe". Ask once, listening for its alert.
            if !probed
                && err.is_connection_dropped()
                && !err.is_connection_refusal()
                && !classify::is_tls_failure(&err)
            {
                if let Some(addr) = shared.endpoint.tls_addr() {
                    probed = true;
                    if let Some(alert) =
                        super::tls_probe::rejection(&addr, &self.settings, CONNECT_TIMEOUT).await
                    {
                        return Err(shared.error(&alert));
                    }
                }
            }
            if no_server && wait > Duration::ZERO {
                if start.elapsed() >= wait {
                    let e = shared.error(&err);
                    return Err(Error::Unavailable(format!(
                        "{e} (gave up after --wait-for-redis {})",
                        crate::duration::human(wait)
                    )));
                }
                if !waiting && (err.is_connection_refusal() || start.elapsed() > Duration::from_secs(1)) {
                    waiting = true;
                    let bound = if wait == Duration::MAX {
                        "no time limit; bound it with --wait-for-redis".to_string()
                    } else {
                        format!("for up to {} (--wait-for-redis)", crate::duration::human(wait))
                    };
                    crate::log::warn(
                        Default::default(),
                        format_args!(
                            "waiting for Redis at {} ({}), {bound}",
                            shared.url,
                            classify::describe(&err)
                        ),
                    );
                }
                let left = wait.saturating_sub(start.elapsed());
                tokio::time::sleep(Duration::from_millis(250).min(left)).await;
                continue;
            }
            if err.is_connection_refusal() {
                return Err(shared.error(&err));
            }
            attempts.again(err).await?;
        }
    }

    async fn open_proved(&self) -> redis::RedisResult<(Conn, bool)> {
        let mut conn = self
            .shared
            .endpoint
            .open(&self.shared.config(false), false)
            .await?;
        let sharded = probe(&mut conn).await?;
        Ok((conn, sharded))
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The URL with any password replaced by `***`, safe for messages and logs.
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// The settings this store was opened with (including the password: not for messages).
    pub fn settings(&self) -> &ConnectionSettings {
        &self.settings
    }

    /// `(name, value)` pairs a handler needs to reach this Redis and namespace the same way
    /// (`JOBQ_REDIS_URL`, `JOBQ_NAMESPACE`, `JOBQ_TLS_*`).
    pub fn handler_env(&self) -> Vec<(String, String)> {
        let mut env = self.settings.handler_env();
        env.push(("JOBQ_NAMESPACE".into(), self.keys.namespace().to_string()));
        env
    }

    /// Whether the URL names a Redis Cluster (`redis+cluster://`).
    pub fn is_cluster(&self) -> bool {
        self.shared.endpoint.is_cluster()
    }

    /// A separate connection for blocking reads (BLPOP, XREAD BLOCK): on the shared connection
    /// they would hold up every other command, and its response timeout would cut them short.
    /// On a cluster it is a cluster connection of its own, routing each read by its key.
    /// Retried like every command (a reset while a worker starts is not fatal).
    pub async fn blocking_connection(&self) -> Result<Conn> {
        let config = self.shared.config(true);
        let mut attempts = Attempts::new(&self.shared);
        loop {
            match self.shared.endpoint.open(&config, true).await {
                Ok(conn) => {
                    attempts.succeeded();
                    return Ok(conn);
                }
                Err(e) => {
                    attempts.again(e).await?;
                }
            }
        }
    }

    /// A dedicated RESP2 Pub/Sub connection (a subscribed connection runs no other commands),
    /// retried like every command. On a cluster it is a connection to one node: plain
    /// `PUBLISH` reaches every node. See [`Store::subscribe_channels`] for sharded Pub/Sub.
    pub async fn pubsub(&self) -> Result<redis::aio::PubSub> {
        let mut attempts = Attempts::new(&self.shared);
        loop {
            let opened = async {
                let client = self.shared.endpoint.node_client().await?;
                match tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub()).await {
                    Ok(r) => r,
                    Err(_) => Err(timed_out()),
                }
            };
            match opened.await {
                Ok(p) => {
                    attempts.succeeded();
                    return Ok(p);
                }
                Err(e) => {
                    attempts.again(e).await?;
                }
            }
        }
    }

    async fn connection(&self) -> redis::RedisResult<(Conn, u64)> {
        let mut guard = self.conn.lock().await;
        if let Some(current) = guard.as_ref() {
            return Ok(current.clone());
        }
        let conn = self
            .shared
            .endpoint
            .open(&self.shared.config(false), false)
            .await?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *guard = Some((conn.clone(), generation));
        Ok((conn, generation))
    }

    /// Drops the shared connection if it is still the one that failed.
    async fn drop_connection(&self, generation: u64) {
        let mut guard = self.conn.lock().await;
        if guard.as_ref().is_some_and(|(_, g)| *g == generation) {
            *guard = None;
        }
    }

    /// Runs `op`, retrying transient failures with exponential backoff within the policy's
    /// budget; `READONLY` and dropped connections reconnect first (on Sentinel, asking the
    /// sentinels for the master again). Every jobq command is safe to repeat: scripts are
    /// idempotent by design (the client picks job ids; transitions check the lease token), so
    /// a lost reply is harmless.
    pub async fn run<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: FnMut(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.run_in(None, op).await
    }

    /// [`Store::run`] for an operation on the keys of one slot, the slot of `slot_key`: on a
    /// cluster with [`Store::require_replicas`], its `WAIT` goes to that slot's master alone
    /// (without a key it goes to every master, so one shard without an in-sync replica would
    /// hold up writes to every other shard).
    pub async fn run_in<T, F, Fut>(&self, slot_key: Option<&str>, mut op: F) -> Result<T>
    where
        F: FnMut(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let mut attempts = Attempts::new(&self.shared);
        loop {
            let min_replicas = *self.min_replicas.lock().unwrap();
            // `WAIT` counts the writes of the connection it is sent on: with replicas to
            // confirm, everything goes through the shared connection.
            if min_replicas.is_none() {
                if let Some(lease) = self.direct.lease().await {
                    match op(Conn::Direct(lease)).await {
                        Ok(value) => {
                            attempts.succeeded();
                            return Ok(value);
                        }
                        // The socket was lost (the lease closed it): the shared connection
                        // tries again at once; every jobq command is safe to repeat.
                        Err(err) if err.is_io_error() || err.is_timeout() || err.is_connection_dropped() => {}
                        Err(err) => {
                            attempts.again(err).await?;
                            continue;
                        }
                    }
                }
            }
            let (outcome, generation) = match self.connection().await {
                Ok((conn, generation)) => (
                    durably(op(conn.clone()).await, conn, min_replicas, slot_key).await,
                    Some(generation),
                ),
                Err(e) => (Err(e), None),
            };
            match outcome {
                Ok(value) => {
                    attempts.succeeded();
                    return Ok(value);
                }
                Err(err) => {
                    if attempts.again(err).await? == Action::Reconnect {
                        if let Some(g) = generation {
                            self.drop_connection(g).await;
                        }
                    }
                }
            }
        }
    }

    /// Runs one command (or pipeline) through [`Store::run`].
    pub async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        self.run_in(slot_key(cmd), |mut conn| async move {
            cmd.query_async(&mut conn).await
        })
        .await
    }

    /// Maps a Redis failure to an error a user can act on. Passwords never appear in it.
    pub fn error(&self, err: RedisError) -> Error {
        self.shared.error(&err)
    }

    /// A dedicated pub/sub connection subscribed to `channel`.
    pub async fn subscribe_channel(&self, channel: &str) -> Result<redis::aio::PubSub> {
        let mut attempts = Attempts::new(&self.shared);
        loop {
            let mut pubsub = self.pubsub().await?;
            match pubsub.subscribe(channel).await {
                Ok(()) => return Ok(pubsub),
                Err(e) => {
                    attempts.again(e).await?;
                }
            }
        }
    }

    /// Now on the Redis server's clock, in milliseconds (leases and event ids use that clock).
    pub async fn server_time_ms(&self) -> Result<u64> {
        let (secs, micros): (u64, u64) = self.query(&redis::cmd("TIME")).await?;
        Ok(secs * 1000 + micros / 1000)
    }

    /// Raw access for code that needs a command outside the helpers (tests, stats).
    pub async fn raw(&self) -> Result<Conn> {
        self.connection().await.map(|(c, _)| c).map_err(|e| self.error(e))
    }

    /// From now on every command run through [`Store::run`] succeeds only once `replicas`
    /// replicas have confirmed it (`WAIT`, up to `timeout` per try, retried within the
    /// policy's budget): a write then survives the loss of its master. On a cluster `WAIT`
    /// asks the master of the slot the command wrote to (see [`Store::run_in`]).
    pub fn require_replicas(&self, replicas: u32, timeout: Duration) {
        *self.min_replicas.lock().unwrap() = (replicas > 0).then_some((replicas, timeout));
    }

    /// Whether the server has sharded Pub/Sub (`SPUBLISH`/`SSUBSCRIBE`, Redis >= 7).
    pub fn sharded_pubsub(&self) -> bool {
        self.sharded_pubsub.load(Ordering::Relaxed)
    }
}

/// `outcome` of a write on `conn`, confirmed by `WAIT` when replicas are required. Too few
/// confirmations become a `NOREPLICAS` error (what Redis itself answers under
/// `min-replicas-to-write`), which is retried: the replay is harmless (scripts are idempotent)
/// and on Sentinel the reconnect finds the new master.
async fn durably<T>(
    outcome: redis::RedisResult<T>,
    mut conn: Conn,
    min_replicas: Option<(u32, Duration)>,
    slot_key: Option<&str>,
) -> redis::RedisResult<T> {
    use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
    let Some((want, timeout)) = min_replicas.filter(|_| outcome.is_ok()) else {
        return outcome;
    };
    let mut wait = redis::cmd("WAIT");
    wait.arg(want).arg(timeout.as_millis() as u64);
    // WAIT counts the replicas that have this connection's writes; on a cluster the client
    // holds one connection per node, and the one that wrote is the slot's master.
    let acked: u32 = match (&mut conn, slot_key) {
        (Conn::Cluster(c), Some(key)) => {
            let at = SingleNodeRoutingInfo::SpecificNode(Route::with_key(key, SlotAddr::Master));
            redis::from_redis_value(c.route_command(wait, RoutingInfo::SingleNode(at)).await?)?
        }
        _ => wait.query_async(&mut conn).await?,
    };
    if acked < want {
        return Err(redis::make_extension_error(
            "NOREPLICAS".into(),
            Some(format!("only {acked} of {want} replicas confirmed the write")),
        ));
    }
    outcome
}

/// The key that decides `cmd`'s slot: its first argument carrying a hash tag (`{…}…`). Every
/// jobq key carries one and no command crosses slots, and keys come before values in every
/// command jobq sends (a JSON payload starting with `{` comes after its script's keys).
fn slot_key(cmd: &redis::Cmd) -> Option<&str> {
    cmd.args_iter().skip(1).find_map(|arg| match arg {
        redis::Arg::Simple(a) if a.starts_with(b"{") && a.contains(&b'}') => std::str::from_utf8(a).ok(),
        _ => None,
    })
}

fn timed_out() -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "connect timed out",
    ))
}

/// Runs `HELLO 2` (no protocol change) to prove the login works, and reads the server's
/// version from it: true when it has sharded Pub/Sub. Servers or ACL users without `HELLO`
/// fall back to `PING` (and plain Pub/Sub).
async fn probe(conn: &mut Conn) -> redis::RedisResult<bool> {
    match redis::cmd("HELLO").arg(2).query_async::<redis::Value>(conn).await {
        Ok(reply) => Ok(hello_major_version(&reply).is_some_and(|v| v >= 7)),
        Err(e) if e.code().is_some() && !classify::is_auth_failure(&e) => {
            redis::cmd("PING").query_async::<()>(conn).await.map(|_| false)
        }
        Err(e) => Err(e),
    }
}

fn hello_major_version(reply: &redis::Value) -> Option<u32> {
    use redis::Value;
    let text = |v: &Value| match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    let pairs: Vec<(&Value, &Value)> = match reply {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|c| Some((c.first()?, c.get(1)?)))
            .collect(),
        Value::Map(items) => items.iter().map(|(k, v)| (k, v)).collect(),
        _ => return None,
    };
    let version = pairs
        .into_iter()
        .find(|(k, _)| text(k).as_deref() == Some("version"))
        .and_then(|(_, v)| text(v))?;
    version.split('.').next()?.parse().ok()
}

pub use super::classify::redact_url;
