//! Every Redis key (and Pub/Sub channel) jobq uses is built here, and nowhere else.
//!
//! Cluster layout (README "Cluster layout and cost"): every key of one queue carries the hash
//! tag `{<ns>:<queue>}`, job hashes included, and every namespace-wide key carries `{<ns>}`. A
//! script, pipeline or MULTI only ever touches one of those two groups, so it stays in one
//! slot on Redis Cluster. Scripts get every key known before the call in KEYS; the only names a
//! script derives itself are those it only learns inside: the hashes of jobs whose ids it pops
//! from a list or reads from a set, the unique key a job's hash names, and the dependents set
//! and release outbox of a job whose hash says it has dependents (store/deps.lua). It derives them from
//! the hash tag of its own KEYS[1] (`job_key`, `unique_key` in common.lua), never from an
//! argument, so they hash to the slot the call was routed to by construction. (Declaring them
//! would need a read before the script: a second round trip per fetch, and a race.)

#[derive(Debug, Clone)]
pub struct Keys {
    ns: String,
    /// `{ns}`: the tag of the namespace-wide keys.
    global: String,
}

impl Keys {
    pub fn new(namespace: &str) -> Self {
        Keys {
            ns: namespace.to_string(),
            global: format!("{{{namespace}}}"),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// `(queue, rest)` of a queue's key (`{ns:queue}:rest`), `None` for any other key.
    pub fn split_queue_key<'a>(&self, key: &'a str) -> Option<(&'a str, &'a str)> {
        let inner = key
            .strip_prefix('{')?
            .strip_prefix(self.ns.as_str())?
            .strip_prefix(':')?;
        let (queue, rest) = inner.split_once('}')?;
        Some((queue, rest.strip_prefix(':').unwrap_or(rest)))
    }

    /// A `SCAN` pattern matching every key of this namespace, queue keys and global keys.
    pub fn scan_pattern(&self) -> String {
        format!("{{{}[:}}]*", self.ns)
    }

    pub fn queue(&self, queue: &str) -> QueueKeys {
        QueueKeys {
            prefix: format!("{{{}:{}}}", self.ns, queue),
        }
    }

    /// Set of every queue name in use (for `stats`, `ls`, `doctor`). Added to only after a
    /// job or a worker record of that queue was written, so it never names a phantom queue.
    pub fn queues(&self) -> String {
        format!("{}:queues", self.global)
    }

    /// Random id written once per dataset: if it changes or vanishes, Redis lost its data.
    pub fn epoch(&self) -> String {
        format!("{}:epoch", self.global)
    }

    /// Sorted set of worker ids, scored by the moment their record expires (ms, Redis clock):
    /// every heartbeat prunes the entries past their score, so dead workers leave by themselves.
    pub fn workers(&self) -> String {
        format!("{}:workers", self.global)
    }

    /// JSON record of one worker; expires when its heartbeat stops.
    pub fn worker(&self, id: &str) -> String {
        format!("{}:worker:{}", self.global, id)
    }

    /// Hash: schedule name -> its definition (JSON, written only by `schedule add`).
    pub fn schedules(&self) -> String {
        format!("{}:schedules", self.global)
    }

    /// Hash: schedule name -> its state (JSON: next and last tick, last job, paused, hold).
    pub fn schedule_states(&self) -> String {
        format!("{}:schedules:state", self.global)
    }

    /// Sorted set: schedule name scored by when a worker should look at it next (its next
    /// tick, or the end of a worker's hold on a tick in progress). Paused schedules are absent.
    pub fn schedules_due(&self) -> String {
        format!("{}:schedules:due", self.global)
    }

    /// Hash: route pattern (glob on the job type) -> queue.
    pub fn routes(&self) -> String {
        format!("{}:routes", self.global)
    }

    /// Hash: job type -> JSON Schema of its payload.
    pub fn types(&self) -> String {
        format!("{}:types", self.global)
    }

    /// Set of the queues that have a limit (`jobq limit`), for `limit ls` and `stats`; the
    /// limits themselves live under each queue's tag, where fetch.lua reads them.
    pub fn limits(&self) -> String {
        format!("{}:limits", self.global)
    }

    /// Counter bumped by every change of routes or types: enqueuers cache both and re-read
    /// them only when it moved.
    pub fn registry_version(&self) -> String {
        format!("{}:registry:version", self.global)
    }

    /// The namespace-wide keys of the layout before the cluster one (`jobq migrate` moves them).
    pub fn legacy(&self) -> LegacyKeys {
        LegacyKeys { ns: self.ns.clone() }
    }
}

/// Names of release 1's namespace-wide keys (no hash tag), read only by `jobq migrate`.
#[derive(Debug, Clone)]
pub struct LegacyKeys {
    ns: String,
}

impl LegacyKeys {
    pub fn queues(&self) -> String {
        format!("{}:queues", self.ns)
    }
    pub fn epoch(&self) -> String {
        format!("{}:epoch", self.ns)
    }
    pub fn workers(&self) -> String {
        format!("{}:workers", self.ns)
    }
    pub fn worker(&self, id: &str) -> String {
        format!("{}:worker:{}", self.ns, id)
    }
}

#[derive(Debug, Clone)]
pub struct QueueKeys {
    prefix: String,
}

impl QueueKeys {
    /// `{ns:queue}`, the queue's hash tag.
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
    /// Sorted set of jobs waiting for their parents (`enqueue --after`), scored by creation.
    /// The key holding the queue's jobs in `state`: the plain list for queued (numbered
    /// queued jobs are in `ranked` besides), a sorted set for every other state.
    pub fn of_state(&self, state: crate::job::State) -> String {
        use crate::job::State;
        match state {
            State::Queued => self.queued(),
            State::Scheduled => self.scheduled(),
            State::Waiting => self.waiting(),
            State::Active => self.active(),
            State::Dead => self.dead(),
            State::Completed => self.completed(),
            State::Cancelled => self.cancelled(),
        }
    }

    pub fn waiting(&self) -> String {
        format!("{}:waiting", self.prefix)
    }
    /// Sorted set of not yet started jobs that have an expiry, scored by it (ms): the
    /// recovery pass cancels those past it that no fetch met (expiry.lua).
    pub fn expiring(&self) -> String {
        format!("{}:expiring", self.prefix)
    }
    /// Set of the jobs waiting for job `id` of this queue (`enqueue --after id`). Scripts
    /// that end a job derive it (deps.lua `dependents_key`), but only when the job's hash says
    /// it has dependents, as they derive a unique key from the hash.
    pub fn dependents(&self, id: &str) -> String {
        format!("{}:dependents:{}", self.prefix, id)
    }
    /// Hash of releases not yet applied: `<child id> <parent id>` -> how the parent of this
    /// queue ended. Written atomically with the parent's end; emptied by whoever applies them
    /// to the children (on their own slots): the worker that ended the parent, or any worker
    /// after a recovery pass found entries left (deps.lua, `Store::release_dependents`).
    pub fn outbox(&self) -> String {
        format!("{}:outbox", self.prefix)
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
    /// Capped stream of lifecycle events; also the name of their (sharded) Pub/Sub channel.
    pub fn events(&self) -> String {
        format!("{}:events", self.prefix)
    }
    /// Hash of `jobq archive`'s progress: per finished state (`completed`, `dead`,
    /// `cancelled`) the finish time (ms) up to which every job is in the archive, and `at`,
    /// when it last said so. `doctor` compares it with what is about to expire.
    pub fn archived(&self) -> String {
        format!("{}:archived", self.prefix)
    }
    /// Last event id the webhook notifier `name` delivered (`jobq notify`), so a restart resumes.
    pub fn notifier(&self, name: &str) -> String {
        format!("{}:notifier:{}", self.prefix, name)
    }
    /// Present while a lease-recovery pass of this queue is not due: the fetch that finds it
    /// gone runs the pass and sets it again (`SET PX`), so recovery runs once per period per
    /// queue however many workers fetch from it.
    pub fn recovery(&self) -> String {
        format!("{}:recovery", self.prefix)
    }
    /// Sharded Pub/Sub channel (not a key) the queue's workers listen on: `wake` when work
    /// appears (enqueue into an empty queue, a retry, a recovery, a resume), `cancel ID` when an
    /// operator cancels one of its running jobs.
    pub fn signal(&self) -> String {
        format!("{}:signal", self.prefix)
    }
    /// The queue's limit (`jobq limit`): JSON `{rate, per_ms, concurrency}`, read by every
    /// fetch together with the pause flag. A string, so that MGET can read it at no extra cost.
    pub fn limit(&self) -> String {
        format!("{}:limit", self.prefix)
    }
    /// Hash of what the limit does: the token bucket (`tokens`, `at`) and `waiting` (a fetch
    /// was turned away by the concurrency cap: the next freed slot wakes the workers).
    pub fn limit_state(&self) -> String {
        format!("{}:limit:state", self.prefix)
    }
    /// Sorted set of waiting jobs with a numbered priority other than 5 (`--priority 1..10`),
    /// scored by number, then arrival: fetch takes 1-4 before the plain list, 6-10 after it.
    pub fn ranked(&self) -> String {
        format!("{}:ranked", self.prefix)
    }
    /// Present while `ranked` may hold jobs; read by every fetch with the pause flag, so a
    /// queue without numbered jobs pays no command for them.
    pub fn ranked_on(&self) -> String {
        format!("{}:ranked:on", self.prefix)
    }
    /// Release 1's wake-up list (BLPOP); only `jobq migrate` still names it, to delete it.
    pub fn legacy_notify(&self) -> String {
        format!("{}:notify", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::Keys;

    /// The part of a key Redis Cluster hashes: the first `{...}` with something inside.
    fn tag(key: &str) -> &str {
        let open = key.find('{').expect("tagged");
        let close = open + key[open..].find('}').expect("closed");
        &key[open + 1..close]
    }

    #[test]
    fn namespace_keys_share_one_tag_and_queue_keys_another() {
        let k = Keys::new("ns");
        for key in [k.queues(), k.epoch(), k.workers(), k.worker("w1"), k.limits()] {
            assert_eq!(tag(&key), "ns", "{key}");
        }
        let q = k.queue("high");
        for key in [
            q.job("x"),
            q.queued(),
            q.scheduled(),
            q.active(),
            q.dead(),
            q.completed(),
            q.cancelled(),
            q.fetched("w"),
            q.paused(),
            q.stats(),
            q.unique("u"),
            q.events(),
            q.recovery(),
            q.signal(),
            q.archived(),
            q.notifier("n"),
            q.waiting(),
            q.expiring(),
            q.dependents("x"),
            q.outbox(),
            q.limit(),
            q.limit_state(),
            q.ranked(),
            q.ranked_on(),
        ] {
            assert_eq!(tag(&key), "ns:high", "{key}");
        }
    }

    #[test]
    fn queue_keys_split_back_into_queue_and_rest() {
        let k = Keys::new("ns");
        assert_eq!(
            k.split_queue_key(&k.queue("high").queued()),
            Some(("high", "queued"))
        );
        assert_eq!(
            k.split_queue_key(&k.queue("a").job("a-1")),
            Some(("a", "job:a-1"))
        );
        assert_eq!(k.split_queue_key(&k.queues()), None);
        assert_eq!(k.split_queue_key("{nsx:high}:queued"), None);
    }
}
