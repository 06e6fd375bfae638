//! The servers behind a [`Store`]: one server, or each master of a cluster, and commands sent to
//! one of them. `doctor` reads settings (`INFO`, `CONFIG GET`) and scans keys on every master,
//! since each holds its own part of the namespace.

use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, FromRedisValue, Value};

use super::connection::Store;
use super::endpoint::Conn;
use crate::error::{Error, Result};

impl Store {
    /// The cluster's masters as `host:port`, in slot order; `None` on one server (or the master
    /// Sentinel names), where every command already reaches the one server.
    pub async fn masters(&self) -> Result<Option<Vec<String>>> {
        if !self.is_cluster() {
            return Ok(None);
        }
        let ranges: Vec<Value> = self.query(redis::cmd("CLUSTER").arg("SLOTS")).await?;
        let mut ranges: Vec<(i64, String)> = ranges.iter().filter_map(master_of_range).collect();
        ranges.sort();
        let mut masters: Vec<String> = Vec::new();
        for (_, addr) in ranges {
            if !masters.contains(&addr) {
                masters.push(addr);
            }
        }
        Ok(Some(masters))
    }

    /// Runs `cmd` on the master at `node` (from [`Store::masters`]); `None`: the one server.
    pub async fn query_on<T: FromRedisValue>(&self, node: Option<&str>, cmd: &Cmd) -> Result<T> {
        let routing = match node {
            None => None,
            Some(addr) => {
                let (host, port) = addr
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h.to_string(), p.parse().ok()?)))
                    .ok_or_else(|| Error::Redis(format!("bad node address {addr}")))?;
                Some(RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host,
                    port,
                }))
            }
        };
        self.query_routed(routing, cmd).await
    }

    /// One page of `SCAN … MATCH pattern` on `node` (see [`Store::query_on`]).
    pub async fn scan_node(
        &self,
        node: Option<&str>,
        cursor: u64,
        pattern: &str,
        count: usize,
    ) -> Result<(u64, Vec<String>)> {
        self.query_on(node, &scan(cursor, pattern, count)).await
    }

    /// One page of `SCAN … MATCH pattern`. On a cluster the pattern must carry a hash tag
    /// (`{ns:queue}:unique:*`): its keys live in that one slot, so the slot's master is scanned.
    pub async fn scan_page(&self, cursor: u64, pattern: &str, count: usize) -> Result<(u64, Vec<String>)> {
        let routing = self.is_cluster().then(|| {
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
                pattern,
                SlotAddr::Master,
            )))
        });
        self.query_routed(routing, &scan(cursor, pattern, count)).await
    }

    /// `cmd` through [`Store::run`], sent where `routing` says on a cluster.
    async fn query_routed<T: FromRedisValue>(&self, routing: Option<RoutingInfo>, cmd: &Cmd) -> Result<T> {
        self.run(|conn| {
            let routing = routing.clone();
            async move {
                match (conn, routing) {
                    (Conn::Cluster(mut c), Some(r)) => {
                        Ok(redis::from_redis_value(c.route_command(cmd.clone(), r).await?)?)
                    }
                    (mut conn, _) => cmd.query_async(&mut conn).await,
                }
            }
        })
        .await
    }
}

fn scan(cursor: u64, pattern: &str, count: usize) -> Cmd {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(count);
    cmd
}

/// `(first slot, "host:port" of its master)` of one `CLUSTER SLOTS` range.
fn master_of_range(range: &Value) -> Option<(i64, String)> {
    let Value::Array(items) = range else {
        return None;
    };
    let (Some(Value::Int(first)), Some(Value::Array(master))) = (items.first(), items.get(2)) else {
        return None;
    };
    let host = match master.first()? {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        _ => return None,
    };
    let Value::Int(port) = master.get(1)? else {
        return None;
    };
    Some((*first, format!("{host}:{port}")))
}
