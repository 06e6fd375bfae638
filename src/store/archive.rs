//! What `jobq archive`, `jobq notify` and `doctor` need from Redis: pages of finished jobs read
//! from the durable per-queue sets (not from the capped event stream, which may have moved on),
//! the archive's backlog, and the positions the archiver and notifiers record.

use std::collections::HashMap;

use super::scripts::SCRIPTS;
use super::Store;
use crate::error::{Error, Result};
use crate::job::{self, Job, State};
use crate::keys::QueueKeys;

/// The states whose jobs never change again, each with its own set scored by finish time.
pub const FINISHED_STATES: [State; 3] = [State::Completed, State::Dead, State::Cancelled];

/// One finished job as read from its set.
#[derive(Debug, Clone)]
pub struct FinishedEntry {
    pub id: String,
    /// The job's score in the set: when it finished (Unix ms, Redis clock).
    pub finished_ms: i64,
    /// `None` when the job's hash is gone (expired or purged before it was archived).
    pub job: Option<Job>,
}

#[derive(Debug, Clone)]
pub struct FinishedPage {
    /// Now on the Redis clock; every entry finished before it.
    pub now_ms: i64,
    pub entries: Vec<FinishedEntry>,
}

/// What the archive still lacks of one finished-jobs set.
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    pub state: State,
    /// Jobs in the set that finished after the cursor.
    pub count: u64,
    /// Finish time of the oldest of them (Unix ms).
    pub oldest_ms: Option<i64>,
    /// Time before the oldest one's job expires from Redis (ms); `None` when it never
    /// expires (dead jobs) or is already gone.
    pub oldest_ttl_ms: Option<i64>,
    /// The oldest one's job is already gone from Redis (it cannot be archived any more).
    pub oldest_gone: bool,
}

/// The archiver's last report, as recorded in Redis for `doctor`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveMark {
    /// Per finished state: every job of that set finished at or before this time (ms) is archived.
    pub cursors: HashMap<State, i64>,
    /// When the archiver recorded it (Unix ms, Redis clock).
    pub at_ms: i64,
}

impl ArchiveMark {
    pub fn cursor(&self, state: State) -> i64 {
        self.cursors.get(&state).copied().unwrap_or(0)
    }
}

type RawEntry = (String, String, HashMap<String, String>);

fn finished_set(qk: &QueueKeys, state: State) -> Result<String> {
    match state {
        State::Completed => Ok(qk.completed()),
        State::Dead => Ok(qk.dead()),
        State::Cancelled => Ok(qk.cancelled()),
        other => Err(Error::invalid(format!("{other} is not a finished state"))),
    }
}

fn parse_entry((id, score, hash): RawEntry) -> Result<FinishedEntry> {
    let finished_ms = score
        .parse::<f64>()
        .map_err(|_| Error::Redis(format!("bad score {score:?} for job {id}")))? as i64;
    let job = if hash.is_empty() {
        None
    } else {
        Some(Job::from_hash(&id, &hash)?)
    };
    Ok(FinishedEntry { id, finished_ms, job })
}

impl Store {
    /// Up to about `limit` jobs of `queue` that reached `state` after `after_ms` (exclusive)
    /// and before now, oldest first, with their hashes; one atomic read (archive_page.lua).
    /// Setting a cursor to the last `finished_ms` returned never skips a job.
    pub async fn finished_page(
        &self,
        queue: &str,
        state: State,
        after_ms: i64,
        limit: usize,
    ) -> Result<FinishedPage> {
        let qk = self.keys().queue(queue);
        let set = finished_set(&qk, state)?;
        let (now_ms, raw): (i64, Vec<RawEntry>) = self
            .run(|mut conn| {
                let set = &set;
                async move {
                    SCRIPTS
                        .archive_page
                        .key(set)
                        .arg(after_ms)
                        .arg(limit.max(1))
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        let entries = raw.into_iter().map(parse_entry).collect::<Result<_>>()?;
        Ok(FinishedPage { now_ms, entries })
    }

    /// Per finished state, what finished after `cursors` (the archive's positions) and how
    /// soon the oldest of it expires. Also returns now on the Redis clock.
    pub async fn archive_backlog(
        &self,
        queue: &str,
        cursors: &HashMap<State, i64>,
    ) -> Result<(i64, Vec<Backlog>)> {
        let qk = self.keys().queue(queue);
        let sets = FINISHED_STATES
            .iter()
            .map(|s| finished_set(&qk, *s))
            .collect::<Result<Vec<_>>>()?;
        let (now, raw): (i64, Vec<(u64, String, i64)>) = self
            .run(|mut conn| {
                let sets = &sets;
                async move {
                    let mut inv = SCRIPTS.archive_backlog.prepare_invoke();
                    inv.key(&sets[0]).key(&sets[1]).key(&sets[2]);
                    for state in FINISHED_STATES {
                        inv.arg(cursors.get(&state).copied().unwrap_or(0));
                    }
                    inv.invoke_async(&mut conn).await
                }
            })
            .await?;
        let backlog = FINISHED_STATES
            .iter()
            .zip(raw)
            .map(|(state, (count, oldest, pttl))| Backlog {
                state: *state,
                count,
                oldest_ms: oldest.parse::<f64>().ok().map(|s| s as i64),
                oldest_ttl_ms: (pttl >= 0).then_some(pttl),
                oldest_gone: count > 0 && pttl == -2,
            })
            .collect();
        Ok((now, backlog))
    }

    /// Records the archive's positions in `queue` (for `doctor`); `now_ms` is the Redis time
    /// of the page they came from.
    pub async fn mark_archived(&self, queue: &str, cursors: &HashMap<State, i64>, now_ms: i64) -> Result<()> {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(self.keys().queue(queue).archived()).arg("at").arg(now_ms);
        for (state, at) in cursors {
            cmd.arg(state.as_str()).arg(*at);
        }
        self.query::<()>(&cmd).await
    }

    /// The archive's last recorded positions in `queue`, if an archiver ever ran on it.
    pub async fn archive_mark(&self, queue: &str) -> Result<Option<ArchiveMark>> {
        let key = self.keys().queue(queue).archived();
        let hash: HashMap<String, i64> = self.query(redis::cmd("HGETALL").arg(key)).await?;
        let Some(at_ms) = hash.get("at").copied() else {
            return Ok(None);
        };
        let cursors = FINISHED_STATES
            .iter()
            .filter_map(|s| hash.get(s.as_str()).map(|c| (*s, *c)))
            .collect();
        Ok(Some(ArchiveMark { cursors, at_ms }))
    }

    /// The last event id notifier `name` delivered from `queue`'s stream, if it ever ran.
    pub async fn notifier_position(&self, queue: &str, name: &str) -> Result<Option<String>> {
        job::validate_name("notifier", name)?;
        self.query(redis::cmd("GET").arg(self.keys().queue(queue).notifier(name)))
            .await
    }

    /// Records that notifier `name` delivered everything of `queue` up to `event_id`.
    pub async fn set_notifier_position(&self, queue: &str, name: &str, event_id: &str) -> Result<()> {
        job::validate_name("notifier", name)?;
        let key = self.keys().queue(queue).notifier(name);
        self.query::<()>(redis::cmd("SET").arg(key).arg(event_id)).await
    }

    /// The id of the newest event in `queue`'s stream (`0-0` when it is empty).
    pub async fn events_end(&self, queue: &str) -> Result<String> {
        Ok(self
            .events_last(queue, 1)
            .await?
            .pop()
            .map_or_else(|| "0-0".to_string(), |e| e.event_id))
    }

    /// When `pos` is older than everything `queue`'s stream still holds (it was trimmed past
    /// it), the oldest id it holds: events between the two may be gone.
    pub async fn events_trimmed_past(&self, queue: &str, pos: &str) -> Result<Option<String>> {
        if pos == "0-0" {
            return Ok(None);
        }
        let key = self.keys().queue(queue).events();
        let oldest: Vec<(String, Vec<Vec<u8>>)> = self
            .query(
                redis::cmd("XRANGE")
                    .arg(key)
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(1),
            )
            .await?;
        Ok(oldest
            .into_iter()
            .next()
            .map(|e| e.0)
            .filter(|oldest| super::stream_pos(oldest) > super::stream_pos(pos)))
    }
}
