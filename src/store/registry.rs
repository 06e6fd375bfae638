//! Routes and payload schemas in Redis (`{ns}:routes`, `{ns}:types`), and the per-process
//! cache every enqueue reads them through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::scripts::SCRIPTS;
use super::Store;
use crate::error::Result;
use crate::schedule::registry::{Registry, Route};

/// How long an enqueuer trusts its cached routes and schemas before it checks the version
/// counter again (one GET). A long-lived enqueuer thus pays at most one extra command per
/// second, not one per job; a change reaches it within this time.
pub const REGISTRY_TTL: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct RegistryCache {
    cached: Mutex<Option<(Instant, Arc<Registry>)>>,
}

impl Store {
    /// Routes and schemas, from the cache while it is fresh (see [`REGISTRY_TTL`]); else the
    /// version is checked and, only if it moved (or on first use), both hashes are read, all
    /// in one round trip.
    pub async fn registry(&self) -> Result<Arc<Registry>> {
        self.registry_noting(None).await
    }

    /// [`Store::registry`] for an enqueue to `queue`. When the registry is read anyway (a
    /// process's first enqueue), the same round trip asks whether `queue` is in the queues
    /// set, which shares the registry's `{ns}` slot: a one-shot `jobq enqueue` to a known
    /// queue then skips its SADD (issue 11: three round trips, not four).
    pub(super) async fn registry_noting(&self, queue: Option<&str>) -> Result<Arc<Registry>> {
        let cached = {
            let mut guard = self.registry.cached.lock().unwrap();
            let cached = guard.clone();
            if let Some((at, reg)) = guard.as_mut() {
                if at.elapsed() < REGISTRY_TTL {
                    return Ok(reg.clone());
                }
                // This caller checks the version; concurrent enqueues go on with the cached
                // registry meanwhile instead of each sending the same GET.
                *at = Instant::now();
            }
            cached
        };
        if let Some((_, reg)) = &cached {
            let version: Option<u64> = self
                .query(redis::cmd("GET").arg(self.keys().registry_version()))
                .await?;
            if version.unwrap_or(0) == reg.version {
                *self.registry.cached.lock().unwrap() = Some((Instant::now(), reg.clone()));
                return Ok(reg.clone());
            }
        }
        let reg = Arc::new(self.read_registry_noting(queue).await?);
        *self.registry.cached.lock().unwrap() = Some((Instant::now(), reg.clone()));
        Ok(reg)
    }

    /// Reads routes and schemas straight from Redis (no cache).
    pub async fn read_registry(&self) -> Result<Registry> {
        self.read_registry_noting(None).await
    }

    /// [`Store::read_registry`], also asking whether `queue` is registered (unless this
    /// process knows it is); a registered one joins `registered_queues`.
    async fn read_registry_noting(&self, queue: Option<&str>) -> Result<Registry> {
        let k = self.keys();
        let queue = queue.filter(|q| !self.registered_queues.lock().unwrap().contains(*q));
        let mut pipe = redis::pipe();
        pipe.cmd("GET")
            .arg(k.registry_version())
            .cmd("HGETALL")
            .arg(k.routes())
            .cmd("HGETALL")
            .arg(k.types());
        if let Some(q) = queue {
            pipe.cmd("SISMEMBER").arg(k.queues()).arg(q);
        }
        type Reply = (Option<u64>, HashMap<String, String>, HashMap<String, String>);
        let ((version, routes, types), known): (Reply, bool) = self
            .run_in(Some(&k.routes()), |mut conn| {
                let pipe = &pipe;
                async move {
                    let mut replies: Vec<redis::Value> = pipe.query_async(&mut conn).await?;
                    let known = queue.is_some() && replies.pop() == Some(redis::Value::Int(1));
                    Ok((redis::from_redis_value(redis::Value::Array(replies))?, known))
                }
            })
            .await?;
        if let Some(q) = queue.filter(|_| known) {
            self.registered_queues.lock().unwrap().insert(q.to_string());
        }
        Ok(Registry::new(version.unwrap_or(0), routes, types))
    }

    /// Sets (or replaces) a route; the caller has validated pattern and queue.
    pub async fn set_route(&self, route: &Route) -> Result<()> {
        self.registry_write(
            redis::cmd("HSET")
                .arg(self.keys().routes())
                .arg(&route.pattern)
                .arg(&route.queue),
        )
        .await
        .map(|_| ())
    }

    /// Removes a route; `false` if there was none.
    pub async fn remove_route(&self, pattern: &str) -> Result<bool> {
        self.registry_remove(self.keys().routes(), pattern).await
    }

    /// Sets (or replaces) the schema of a type; the caller has compiled it.
    pub async fn set_type_schema(&self, job_type: &str, schema: &str) -> Result<()> {
        self.registry_write(
            redis::cmd("HSET")
                .arg(self.keys().types())
                .arg(job_type)
                .arg(schema),
        )
        .await
        .map(|_| ())
    }

    /// Removes the schema of a type; `false` if there was none.
    pub async fn remove_type_schema(&self, job_type: &str) -> Result<bool> {
        self.registry_remove(self.keys().types(), job_type).await
    }

    async fn registry_remove(&self, hash: String, field: &str) -> Result<bool> {
        let keys = [hash, self.keys().registry_version()];
        let n: i64 = self
            .eval(&SCRIPTS.registry_remove, &keys, &[field.to_string()])
            .await?;
        *self.registry.cached.lock().unwrap() = None;
        Ok(n == 1)
    }

    /// Every stored schema, by type (raw text, as set).
    pub async fn type_schemas(&self) -> Result<HashMap<String, String>> {
        self.query(redis::cmd("HGETALL").arg(self.keys().types())).await
    }

    /// One change and the version bump in one MULTI (both keys share the `{ns}` slot), so a
    /// cache never keeps an old registry under the new version. Returns the change's reply.
    async fn registry_write(&self, change: &mut redis::Cmd) -> Result<i64> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .add_command(change.clone())
            .cmd("INCR")
            .arg(self.keys().registry_version())
            .ignore();
        let (n,): (i64,) = self
            .run(|mut conn| {
                let pipe = &pipe;
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        // This process sees its own change at once.
        *self.registry.cached.lock().unwrap() = None;
        Ok(n)
    }
}
