//! Every Redis key jobq uses is built here. All keys of one queue share the hash tag
//! `{<ns>:<queue>}` so each script touches a single cluster slot (DESIGN invariant 5).

#[derive(Debug, Clone)]
pub struct Keys {
    ns: String,
}

impl Keys {
    pub fn new(namespace: &str) -> Self {
        Keys {
            ns: namespace.to_string(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.ns
    }

    pub fn queue(&self, queue: &str) -> QueueKeys {
        QueueKeys {
            prefix: format!("{{{}:{}}}", self.ns, queue),
        }
    }

    /// Set of every queue name ever used in this namespace (for `stats`, `ls`, `inspect`).
    pub fn queues(&self) -> String {
        format!("{}:queues", self.ns)
    }

    /// Random id written once per dataset: if it changes or vanishes, Redis lost its data.
    pub fn epoch(&self) -> String {
        format!("{}:epoch", self.ns)
    }

    /// Sorted set of live worker ids, scored by last heartbeat (ms).
    pub fn workers(&self) -> String {
        format!("{}:workers", self.ns)
    }

    /// Hash describing one worker; expires when its heartbeat stops.
    pub fn worker(&self, id: &str) -> String {
        format!("{}:worker:{}", self.ns, id)
    }

    /// Pub/sub channel on which `cancel` announces a running job's id, so its worker stops it
    /// within a moment instead of at its next lease renewal (a channel, not a key).
    pub fn control_channel(&self) -> String {
        format!("{}:control", self.ns)
    }
}

#[derive(Debug, Clone)]
pub struct QueueKeys {
    prefix: String,
}

impl QueueKeys {
    /// `{ns:queue}`: scripts receive it to build job keys of the same slot.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
    pub fn job(&self, id: &str) -> String {
        format!("{}:job:{}", self.prefix, id)
    }
    /// List of queued job ids; LPUSH to enqueue, RPOP to take the oldest.
    pub fn queued(&self) -> String {
        format!("{}:queued", self.prefix)
    }
    /// Sorted set of delayed and retry-waiting ids, scored by due time (ms).
    pub fn scheduled(&self) -> String {
        format!("{}:scheduled", self.prefix)
    }
    /// Sorted set of running ids, scored by lease deadline (ms, Redis clock).
    pub fn active(&self) -> String {
        format!("{}:active", self.prefix)
    }
    /// Sorted set of dead ids (the DLQ), scored by time of death.
    pub fn dead(&self) -> String {
        format!("{}:dead", self.prefix)
    }
    /// Sorted set of completed ids, scored by completion time; trimmed to the retention.
    pub fn completed(&self) -> String {
        format!("{}:completed", self.prefix)
    }
    /// Sorted set of cancelled ids, scored by cancellation time; trimmed like completed.
    pub fn cancelled(&self) -> String {
        format!("{}:cancelled", self.prefix)
    }
    /// Wake-up list: idle workers BLPOP on it; holds at most one token.
    pub fn notify(&self) -> String {
        format!("{}:notify", self.prefix)
    }
    /// The last fetch of a worker, kept for one lease so a retried fetch is answered the same.
    pub fn fetched(&self, worker: &str) -> String {
        format!("{}:fetched:{}", self.prefix, worker)
    }
    /// Present while the queue is paused.
    pub fn paused(&self) -> String {
        format!("{}:paused", self.prefix)
    }
    /// Counters (processed, failed, ...) for the queue's lifetime.
    pub fn stats(&self) -> String {
        format!("{}:stats", self.prefix)
    }
    /// Prefix of the per-day counter hashes (`<prefix>:stats:YYYY-MM-DD`).
    pub fn daily_stats_prefix(&self) -> String {
        format!("{}:stats:", self.prefix)
    }
    /// Maps a unique key to the id of the unfinished job holding it.
    pub fn unique(&self, key: &str) -> String {
        format!("{}:unique:{}", self.prefix, key)
    }
    /// Capped stream of lifecycle events.
    pub fn events(&self) -> String {
        format!("{}:events", self.prefix)
    }
}
