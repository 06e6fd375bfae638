//! Where Redis is and how to reach it: one server (`redis://`, `rediss://`, `unix://`), a
//! cluster (`redis+cluster://`) or a master found through Sentinel (`redis+sentinel://`), with
//! optional TLS certificates. Everything that opens a connection goes through [`Endpoint`].

use std::path::PathBuf;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, ProtocolVersion,
    RedisResult, TlsCertificates,
};

use crate::error::{Error, Result};

/// Connection settings as the user gave them (flags or `JOBQ_*` variables), before any
/// connection is made. Workers pass them on to their handlers (see [`Self::handler_env`]).
#[derive(Debug, Clone, Default)]
pub struct ConnectionSettings {
    pub url: String,
    /// PEM file with the CA certificate(s) that signed the server's certificate.
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate and key for mutual TLS (`tls-auth-clients yes`).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl ConnectionSettings {
    pub fn new(url: impl Into<String>) -> Self {
        ConnectionSettings {
            url: url.into(),
            ..Default::default()
        }
    }

    /// `(name, value)` pairs that let a child process (a handler running `jobq progress`)
    /// reach the same Redis the same way. Paths are made absolute: handlers may run elsewhere.
    pub fn handler_env(&self) -> Vec<(String, String)> {
        let mut env = vec![("JOBQ_REDIS_URL".to_string(), self.url.clone())];
        let paths = [
            ("JOBQ_TLS_CA", &self.tls_ca),
            ("JOBQ_TLS_CERT", &self.tls_cert),
            ("JOBQ_TLS_KEY", &self.tls_key),
        ];
        for (name, path) in paths {
            if let Some(p) = path {
                let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
                env.push((name.to_string(), abs.to_string_lossy().into_owned()));
            }
        }
        env
    }

    /// Reads the PEM files; `None` when no TLS file option is set.
    fn certificates(&self) -> Result<Option<TlsCertificates>> {
        if self.tls_ca.is_none() && self.tls_cert.is_none() && self.tls_key.is_none() {
            return Ok(None);
        }
        let read = |flag: &str, p: &PathBuf| {
            std::fs::read(p).map_err(|e| Error::invalid(format!("cannot read {flag} {}: {e}", p.display())))
        };
        let client_tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
                client_cert: read("--tls-cert", cert)?,
                client_key: read("--tls-key", key)?,
            }),
            (None, None) => None,
            _ => {
                return Err(Error::invalid(
                    "--tls-cert and --tls-key go together: give both for mutual TLS, or neither",
                ))
            }
        };
        let root_cert = self.tls_ca.as_ref().map(|p| read("--tls-ca", p)).transpose()?;
        Ok(Some(TlsCertificates {
            client_tls,
            root_cert,
        }))
    }
}

/// The URL forms, for error messages.
pub const URL_FORMS: &str = "use redis://[user:password@]host:port[/db] (rediss:// for TLS), unix:///path/redis.sock, \
redis+cluster://[user:password@]host:port[,host:port...] or redis+sentinel://[user:password@]host:port[,host:port...]/MASTER[/db]";

const DEFAULT_PORT: u16 = 6379;
const DEFAULT_SENTINEL_PORT: u16 = 26379;

/// A parsed, validated connection target. Opening connections never parses again.
#[allow(clippy::large_enum_variant)] // one per process
pub(super) enum Endpoint {
    Single {
        client: Client,
    },
    Cluster {
        nodes: Vec<ConnectionInfo>,
        certs: Option<TlsCertificates>,
        /// For the shared connection: commands time out (a paused or partitioned node).
        shared: ClusterClient,
        /// For blocking reads: no response timeout, or BLPOP/XREAD BLOCK would be cut short.
        blocking: ClusterClient,
    },
    /// The master is looked up through the sentinels each time a connection is opened, so a
    /// reconnect after a failover (READONLY, dropped connection) finds the new master.
    Sentinel {
        client: tokio::sync::Mutex<SentinelClient>,
    },
}

/// The response timeout of shared connections (see `connection.rs`).
pub(super) struct Timeouts {
    pub connect: Duration,
    pub response: Duration,
}

impl Endpoint {
    /// The TLS address a first connection goes to (the first of a cluster's nodes), for the
    /// rejection probe; `None` without TLS and for Sentinel (the master is looked up first).
    pub(super) fn tls_addr(&self) -> Option<ConnectionAddr> {
        let addr = match self {
            Endpoint::Single { client } => client.get_connection_info().addr().clone(),
            Endpoint::Cluster { nodes, .. } => nodes.first()?.addr().clone(),
            Endpoint::Sentinel { .. } => return None,
        };
        matches!(addr, ConnectionAddr::TcpTls { .. }).then_some(addr)
    }

    pub(super) fn parse(settings: &ConnectionSettings, timeouts: &Timeouts) -> Result<Endpoint> {
        let url = settings.url.as_str();
        let certs = settings.certificates()?;
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad_url(url, "it has no scheme"))?;
        let tls = scheme.starts_with("rediss");
        if certs.is_some() && !tls {
            return Err(Error::invalid(format!(
                "--tls-ca, --tls-cert and --tls-key need a TLS URL (rediss://, rediss+cluster:// or rediss+sentinel://), not {}",
                super::redact_url(url)
            )));
        }
        match scheme {
            "redis" | "rediss" | "unix" | "redis+unix" => single(url, certs),
            "redis+cluster" | "rediss+cluster" => cluster(url, rest, tls, certs, timeouts),
            "redis+sentinel" | "rediss+sentinel" => sentinel(url, rest, tls, certs),
            other => Err(bad_url(url, &format!("unknown scheme {other}://"))),
        }
    }

    pub(super) fn is_cluster(&self) -> bool {
        matches!(self, Endpoint::Cluster { .. })
    }

    /// The client of one server given by its URL (not a cluster, not Sentinel).
    pub(super) fn single_client(&self) -> Option<&Client> {
        match self {
            Endpoint::Single { client } => Some(client),
            _ => None,
        }
    }

    pub(super) fn is_sentinel(&self) -> bool {
        matches!(self, Endpoint::Sentinel { .. })
    }

    /// A client for one server: the URL's, the current master (Sentinel), or the first
    /// cluster node (whose plain Pub/Sub sees every node's `PUBLISH`).
    pub(super) async fn node_client(&self) -> RedisResult<Client> {
        match self {
            Endpoint::Single { client } => Ok(client.clone()),
            Endpoint::Sentinel { client } => client.lock().await.async_get_client().await,
            Endpoint::Cluster { nodes, certs, .. } => open_client(nodes[0].clone(), certs.clone()),
        }
    }

    /// A multiplexed connection to one server, or a cluster connection.
    pub(super) async fn open(&self, config: &AsyncConnectionConfig, blocking: bool) -> RedisResult<Conn> {
        match self {
            Endpoint::Cluster {
                shared, blocking: b, ..
            } => {
                let client = if blocking { b } else { shared };
                Ok(Conn::Cluster(client.get_async_connection().await?))
            }
            _ => {
                let client = self.node_client().await?;
                Ok(Conn::Single(
                    client
                        .get_multiplexed_async_connection_with_config(config)
                        .await?,
                ))
            }
        }
    }

    /// A RESP3 connection whose Pub/Sub messages go to `push`: a cluster connection (which
    /// follows slots and resubscribes after failovers by itself) or one to a single server.
    pub(super) async fn open_push(
        &self,
        push: tokio::sync::mpsc::UnboundedSender<redis::PushInfo>,
        timeouts: &Timeouts,
    ) -> RedisResult<Conn> {
        match self {
            Endpoint::Cluster { nodes, certs, .. } => {
                let client = cluster_builder(nodes, certs, timeouts)
                    .use_protocol(ProtocolVersion::RESP3)
                    .push_sender(push)
                    .build()?;
                Ok(Conn::Cluster(client.get_async_connection().await?))
            }
            _ => {
                let client = self.node_client().await?;
                let info = client.get_connection_info().clone();
                let redis = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
                let client = Client::open(info.set_redis_settings(redis))?;
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeouts.connect))
                    .set_response_timeout(Some(timeouts.response))
                    .set_push_sender(push);
                Ok(Conn::Single(
                    client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await?,
                ))
            }
        }
    }
}

/// A connection of any mode; cheap to clone (clones share the underlying connection).
#[derive(Clone)]
pub enum Conn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
    /// The store's own socket, held by one call (direct.rs).
    Direct(super::direct::Lease),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Direct(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Direct(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Direct(c) => c.get_db(),
        }
    }
}

fn bad_url(url: &str, why: &str) -> Error {
    Error::invalid(format!(
        "invalid --redis-url {} ({why}): {URL_FORMS}",
        super::redact_url(url)
    ))
}

fn open_client(info: ConnectionInfo, certs: Option<TlsCertificates>) -> RedisResult<Client> {
    match certs {
        Some(certs) => Client::build_with_tls(info, certs),
        None => Client::open(info),
    }
}

/// Connections skip redis-rs's `CLIENT SETINFO` hand-shake: it is one more round trip per
/// connection (a one-shot `jobq enqueue` pays it in full), Redis before 7.2 refuses the
/// command anyway, and it only labels the connection in `CLIENT LIST`.
fn without_setinfo(info: ConnectionInfo) -> ConnectionInfo {
    let redis = info.redis_settings().clone().set_skip_set_lib_name();
    info.set_redis_settings(redis)
}

fn single(url: &str, certs: Option<TlsCertificates>) -> Result<Endpoint> {
    let info = url
        .into_connection_info()
        .map(without_setinfo)
        .map_err(|e| bad_url(url, &super::classify::describe(&e)))?;
    let client = open_client(info, certs).map_err(|e| bad_url(url, &super::classify::describe(&e)))?;
    Ok(Endpoint::Single { client })
}

/// `[user:pass@]h1:p1,h2:p2[/path][#fragment]` split into userinfo, hosts, path, fragment.
struct MultiHost<'a> {
    userinfo: Option<&'a str>,
    hosts: Vec<&'a str>,
    path: &'a str,
    fragment: &'a str,
}

fn split_multi_host<'a>(url: &str, rest: &'a str) -> Result<MultiHost<'a>> {
    let (rest, fragment) = match rest.find('#') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if rest.contains('?') {
        return Err(bad_url(
            url,
            "query parameters are not supported with cluster or sentinel URLs",
        ));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let hosts: Vec<&str> = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    if hosts.is_empty() {
        return Err(bad_url(url, "it names no host"));
    }
    Ok(MultiHost {
        userinfo,
        hosts,
        path,
        fragment,
    })
}

/// One node's URL in the single-server syntax, parsed by the redis crate (which also
/// percent-decodes the user and password).
fn node_info(
    url: &str,
    tls: bool,
    userinfo: Option<&str>,
    host: &str,
    path: &str,
    fragment: &str,
    port: u16,
) -> Result<ConnectionInfo> {
    let scheme = if tls { "rediss" } else { "redis" };
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:{port}")
    };
    let auth = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    format!("{scheme}://{auth}{host}{path}{fragment}")
        .into_connection_info()
        .map(without_setinfo)
        .map_err(|e| {
            bad_url(
                url,
                &format!("bad host {host}: {}", super::classify::describe(&e)),
            )
        })
}

fn cluster_builder(
    nodes: &[ConnectionInfo],
    certs: &Option<TlsCertificates>,
    t: &Timeouts,
) -> ClusterClientBuilder {
    let mut b = ClusterClientBuilder::new(nodes.to_vec())
        .connection_timeout(t.connect)
        // The client follows MOVED/ASK and refreshes slots itself; a few quick retries ride
        // out a failover's redirects, and `Store::run` retries longer outages on top.
        .retries(4)
        .min_retry_wait(50)
        .max_retry_wait(1_000);
    if let Some(certs) = certs {
        b = b.certs(certs.clone());
    }
    b
}

fn cluster(
    url: &str,
    rest: &str,
    tls: bool,
    certs: Option<TlsCertificates>,
    t: &Timeouts,
) -> Result<Endpoint> {
    let m = split_multi_host(url, rest)?;
    if !(m.path.is_empty() || m.path == "/") {
        return Err(bad_url(url, "a cluster has no databases: drop the /path"));
    }
    let nodes = m
        .hosts
        .iter()
        .map(|h| node_info(url, tls, m.userinfo, h, "", m.fragment, DEFAULT_PORT))
        .collect::<Result<Vec<_>>>()?;
    let build = |b: ClusterClientBuilder| {
        b.build()
            .map_err(|e| bad_url(url, &super::classify::describe(&e)))
    };
    let shared = build(cluster_builder(&nodes, &certs, t).response_timeout(t.response))?;
    let blocking = build(cluster_builder(&nodes, &certs, t))?;
    Ok(Endpoint::Cluster {
        nodes,
        certs,
        shared,
        blocking,
    })
}

fn sentinel(url: &str, rest: &str, tls: bool, certs: Option<TlsCertificates>) -> Result<Endpoint> {
    let m = split_multi_host(url, rest)?;
    let mut parts = m.path.trim_start_matches('/').split('/');
    let master = parts.next().filter(|s| !s.is_empty()).ok_or_else(|| {
        bad_url(
            url,
            "it names no master: redis+sentinel://host:port[,host:port...]/MASTER[/db]",
        )
    })?;
    let db: i64 = match parts.next() {
        None | Some("") => 0,
        Some(d) => d
            .parse()
            .map_err(|_| bad_url(url, &format!("database {d:?} is not a number")))?,
    };
    // Sentinels are reached without credentials; the user and password are the master's.
    let sentinels = m
        .hosts
        .iter()
        .map(|h| {
            node_info(url, tls, None, h, "", m.fragment, DEFAULT_SENTINEL_PORT).map(|i| i.addr().clone())
        })
        .collect::<Result<Vec<ConnectionAddr>>>()?;
    let master_info = node_info(
        url,
        tls,
        m.userinfo,
        m.hosts[0],
        "",
        m.fragment,
        DEFAULT_SENTINEL_PORT,
    )?;
    let redis = master_info.redis_settings();
    let mut b = SentinelClientBuilder::new(sentinels, master, SentinelServerType::Master)
        .map_err(|e| bad_url(url, &super::classify::describe(&e)))?
        .set_client_to_redis_db(db);
    if let Some(user) = redis.username() {
        b = b.set_client_to_redis_username(user);
    }
    if let Some(pass) = redis.password() {
        b = b.set_client_to_redis_password(pass);
    }
    if tls {
        let mode = match master_info.addr() {
            ConnectionAddr::TcpTls { insecure: true, .. } => redis::TlsMode::Insecure,
            _ => redis::TlsMode::Secure,
        };
        b = b
            .set_client_to_redis_tls_mode(mode)
            .set_client_to_sentinel_tls_mode(mode);
        if let Some(certs) = certs {
            b = b
                .set_client_to_redis_certificates(certs.clone())
                .set_client_to_sentinel_certificates(certs);
        }
    }
    let client = b
        .build()
        .map_err(|e| bad_url(url, &super::classify::describe(&e)))?;
    Ok(Endpoint::Sentinel {
        client: tokio::sync::Mutex::new(client),
    })
}
