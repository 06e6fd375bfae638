//! Progress writes and lifecycle events: the per-queue event stream (replay, `jobq tail`) and
//! Pub/Sub channel (live, `jobq watch` / `wait`). Events are written by the transition
//! scripts themselves (`emit` in common.lua), so no transition can happen without its event.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::pubsub::Delivery;
use super::scripts::SCRIPTS;
use super::Store;
use crate::error::{Error, Result};
use crate::job::{self, Job, Progress, State};
use crate::keys::QueueKeys;

/// Entries kept per queue stream (`XADD MAXLEN ~`; Redis may keep a few more). Must match
/// `EVENTS_MAXLEN` in common.lua.
pub const EVENTS_MAXLEN: usize = 10_000;
/// Entries fetched per stream read.
const READ_BATCH: usize = 1000;

/// One lifecycle event, as published and as stored in the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stream entry id (`<ms>-<seq>`, ordered within a queue); `tail --since` resumes after it.
    #[serde(default)]
    pub event_id: String,
    /// enqueued, queued, started, progress, retry_scheduled, completed, dead, recovered,
    /// requeued, cancelled.
    pub event: String,
    /// Job id.
    pub id: String,
    #[serde(rename = "type")]
    pub job_type: String,
    pub queue: String,
    /// The job's state after the event.
    pub state: State,
    pub attempt: u32,
    #[serde(default)]
    pub progress: Option<Progress>,
    /// Unix milliseconds, Redis clock (RFC 3339 UTC in JSON).
    #[serde(with = "crate::rfc3339::millis")]
    pub time: i64,
    /// The attempt's error (first 200 bytes), on retry_scheduled, dead and recovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The result, on completed: the same JSON as `inspect` shows, unless it is longer than
    /// 200 bytes (the stream keeps only that much): then a string with its first 200 bytes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "result_json"
    )]
    pub result: Option<serde_json::Value>,
    /// When the retry is due (Unix ms; RFC 3339 UTC in JSON), on retry_scheduled.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::rfc3339::opt_millis"
    )]
    pub retry_at: Option<i64>,
}

impl Event {
    /// Parses an event's JSON. Errors and results are cut at a byte count by the script, so
    /// invalid UTF-8 is tolerated.
    pub fn parse(bytes: &[u8]) -> Option<Event> {
        serde_json::from_str(&String::from_utf8_lossy(bytes)).ok()
    }

    /// Whether this event is newer than stream position `id` (both of the same queue).
    pub fn is_after(&self, id: &str) -> bool {
        stream_pos(&self.event_id) > stream_pos(id)
    }
}

/// Scripts store the result as JSON text; it is read as the JSON it holds (as `Job::from_hash`
/// does), or kept as a string when it is not JSON (cut at 200 bytes, or plain text).
fn result_json<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<serde_json::Value>, D::Error> {
    Ok(Option::<serde_json::Value>::deserialize(d)?.map(|v| match v {
        serde_json::Value::String(text) => {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        }
        other => other,
    }))
}

/// `<ms>-<seq>` as a comparable pair; anything else sorts first.
pub fn stream_pos(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// Live events of some queues (sharded Pub/Sub: each queue's channel lives on its own shard).
/// Messages published while nobody listens are gone: readers subscribe first and read their
/// snapshot afterwards (see [`Store::snapshot`]).
pub struct Subscription {
    sub: super::Subscriber,
    /// Events of a message not handed out yet: a batch enqueue publishes one message with
    /// one event per line (enqueue.lua).
    pending: std::collections::VecDeque<Event>,
}

impl Subscription {
    /// How many times the subscription was re-established: messages may have been missed
    /// each time (re-read what they would have announced).
    pub fn reconnects(&self) -> u64 {
        self.sub.reconnects()
    }

    /// The next event; `None` when the connection was lost, even if it is back already:
    /// events of the gap are gone, so the caller re-reads what it follows (and resubscribes).
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(ev);
            }
            match self.sub.next_or_gap().await? {
                Delivery::Message(_, payload) => {
                    self.pending
                        .extend(payload.split(|&b| b == b'\n').filter_map(Event::parse));
                }
                Delivery::Gap => return None,
            }
        }
    }
}

type RawEntry = (String, Vec<Vec<u8>>);

/// The id of the newest entry of an `XREVRANGE ... COUNT 1` reply; `0-0` for an empty stream.
fn last_id(reply: Vec<RawEntry>) -> String {
    reply
        .into_iter()
        .next()
        .map_or_else(|| "0-0".to_string(), |e| e.0)
}

fn parse_entries(entries: Vec<RawEntry>) -> Vec<Event> {
    entries
        .into_iter()
        .filter_map(|(id, fields)| {
            let value = fields.chunks(2).find(|kv| kv[0] == b"event")?.get(1)?;
            let mut ev = Event::parse(value)?;
            ev.event_id = id;
            Some(ev)
        })
        .collect()
}

impl Store {
    /// Stores `progress` on a running job and publishes it, if `lease` still holds the job.
    /// Returns false when it does not (the attempt is over).
    pub async fn report_progress(&self, id: &str, lease: &str, progress: &Progress) -> Result<bool> {
        let qk = self.keys().queue(job::queue_of(id)?);
        let json = serde_json::to_string(progress).map_err(|e| Error::Io(e.to_string()))?;
        let reply: String = self
            .run(|mut conn| {
                let (qk, json) = (&qk, &json);
                async move {
                    SCRIPTS
                        .progress
                        .key(qk.job(id))
                        .key(qk.events())
                        .arg(id)
                        .arg(lease)
                        .arg(json)
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(reply == "ok")
    }

    /// The Pub/Sub channel of a queue's events (same name as its stream, hash tag included).
    pub fn events_channel(&self, queue: &str) -> String {
        self.keys().queue(queue).events()
    }

    /// Subscribes to the events of `queues`.
    pub async fn subscribe(&self, queues: &[String]) -> Result<Subscription> {
        let channels: Vec<String> = queues.iter().map(|q| self.events_channel(q)).collect();
        Ok(Subscription {
            pending: Default::default(),
            sub: self.subscribe_channels(&channels).await?,
        })
    }

    /// Reads a job and its queue's latest event id in one atomic step: every event with a
    /// later id happened after this snapshot, every other one is already reflected in it.
    pub async fn snapshot(&self, id: &str) -> Result<(Job, String)> {
        let qk = self.keys().queue(job::queue_of(id)?);
        let (hash, last): (HashMap<String, String>, String) = self
            .with_last_event(&qk, redis::cmd("HGETALL").arg(qk.job(id)))
            .await?;
        if hash.is_empty() {
            return Err(self.unknown_job(id));
        }
        Ok((Job::from_hash(id, &hash)?, last))
    }

    /// Runs `read` and fetches the queue's latest event id in the same MULTI.
    async fn with_last_event<T: redis::FromRedisValue + Send>(
        &self,
        qk: &QueueKeys,
        read: &redis::Cmd,
    ) -> Result<(T, String)> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .add_command(read.clone())
            .cmd("XREVRANGE")
            .arg(qk.events())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1);
        let (value, last): (T, Vec<RawEntry>) = self
            .run(|mut conn| {
                let pipe = &pipe;
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        Ok((value, last_id(last)))
    }

    pub(crate) fn unknown_job(&self, id: &str) -> Error {
        Error::NotFound(format!(
            "no job with id {id} in namespace `{}` (finished jobs expire after their retention)",
            self.keys().namespace()
        ))
    }

    /// Events of `queue` after stream id `after` (exclusive), oldest first, at most `count`.
    pub async fn events_after(&self, queue: &str, after: &str, count: usize) -> Result<Vec<Event>> {
        let key = self.keys().queue(queue).events();
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(key)
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(count);
        Ok(parse_entries(self.query(&cmd).await?))
    }

    /// The newest `count` events of `queue`, oldest first.
    pub async fn events_last(&self, queue: &str, count: usize) -> Result<Vec<Event>> {
        let key = self.keys().queue(queue).events();
        let mut cmd = redis::cmd("XREVRANGE");
        cmd.arg(key).arg("+").arg("-").arg("COUNT").arg(count);
        let mut events = parse_entries(self.query(&cmd).await?);
        events.reverse();
        Ok(events)
    }

    /// Blocks (on `conn`, a [`Store::blocking_connection`]) until `queue` has events after
    /// `after`, or `block` passes. Reading on from the last id seen is gap- and duplicate-free.
    pub async fn events_follow(
        &self,
        conn: &mut crate::store::Conn,
        queue: &str,
        after: &str,
        block: Duration,
    ) -> Result<Vec<Event>> {
        let key = self.keys().queue(queue).events();
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(READ_BATCH)
            .arg("BLOCK")
            .arg(block.as_millis() as u64)
            .arg("STREAMS")
            .arg(key)
            .arg(after);
        let reply: Option<Vec<(String, Vec<RawEntry>)>> =
            cmd.query_async(conn).await.map_err(|e| self.error(e))?;
        Ok(reply
            .into_iter()
            .flatten()
            .flat_map(|(_, entries)| parse_entries(entries))
            .collect())
    }

    /// Every queue this namespace has used.
    pub async fn queue_names(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(self.keys().queues()))
            .await?;
        names.sort();
        Ok(names)
    }

    /// Ids of the jobs running in `queue` and, read in the same atomic step, the queue's latest
    /// event id: later events are news to whoever read these ids.
    pub async fn active_ids(&self, queue: &str) -> Result<(Vec<String>, String)> {
        let qk = self.keys().queue(queue);
        self.with_last_event(&qk, redis::cmd("ZRANGE").arg(qk.active()).arg(0).arg(-1))
            .await
    }
}
