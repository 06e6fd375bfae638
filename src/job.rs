//! Jobs as users see them: type, queue, payload, state and attempt history, plus the
//! validation of every name a user can type (types, queues, unique keys).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// Longest type, queue or unique-key name.
pub const MAX_NAME_LEN: usize = 128;
/// Largest payload accepted by `enqueue` (bytes of JSON). Bigger data belongs in a blob store.
pub const MAX_PAYLOAD_BYTES: usize = 512 * 1024;
/// Attempt errors kept per job (the most recent ones).
pub const MAX_ERRORS_KEPT: usize = 10;
/// Length of one stored error message (its tail: the end of stderr says what went wrong).
pub const MAX_ERROR_BYTES: usize = 4 * 1024;
/// A ULID is always this many characters; the job id is `<queue>-<ulid>`.
const ULID_LEN: usize = 26;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for its parent jobs to end (`enqueue --after`).
    Waiting,
    /// Waiting for its run time (delayed, or waiting to be retried).
    Scheduled,
    Queued,
    Active,
    Completed,
    /// Out of attempts: sits in the dead-letter set until retried or purged.
    Dead,
    Cancelled,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Waiting,
        State::Scheduled,
        State::Queued,
        State::Active,
        State::Completed,
        State::Dead,
        State::Cancelled,
    ];

    /// The order `ls` lists states in (and completion offers ids): what runs and what waits
    /// first, history last.
    pub const LISTING_ORDER: [State; 7] = [
        State::Active,
        State::Queued,
        State::Scheduled,
        State::Waiting,
        State::Dead,
        State::Cancelled,
        State::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Scheduled => "scheduled",
            State::Queued => "queued",
            State::Active => "active",
            State::Completed => "completed",
            State::Dead => "dead",
            State::Cancelled => "cancelled",
        }
    }

    /// Finished jobs never change again on their own.
    pub fn is_final(self) -> bool {
        matches!(self, State::Completed | State::Dead | State::Cancelled)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown state `{s}`"))
    }
}

/// The error of one failed attempt, as kept on the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptError {
    pub attempt: u32,
    pub error: String,
    /// Unix milliseconds (Redis server clock); RFC 3339 UTC in JSON.
    #[serde(with = "crate::rfc3339::millis")]
    pub at: i64,
}

/// Progress reported by a running handler.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub current: Option<f64>,
    pub total: Option<f64>,
    pub percent: Option<f64>,
    pub message: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    #[serde(rename = "type")]
    pub job_type: String,
    pub queue: String,
    pub state: State,
    pub payload: Value,
    pub attempt: u32,
    pub max_attempts: u32,
    pub timeout_ms: Option<u64>,
    pub unique_key: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub worker: Option<String>,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub errors: Vec<AttemptError>,
    /// How often a worker died (lease expired) while running this job.
    pub recoveries: u32,
    pub progress: Option<Progress>,
    /// Not started by then, it is never started: it ends cancelled, reason `expired`.
    pub expires_at: Option<DateTime<Utc>>,
    /// Parent jobs it runs after (`enqueue --after`); empty for most jobs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// How each parent that has ended ended (`completed`, `dead`, `cancelled`), as recorded
    /// when it was released to this job.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub parents: std::collections::BTreeMap<String, String>,
    /// Runs once every parent ended, however they ended (`--after-any-outcome`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_any_outcome: bool,
    /// Its numbered priority within the queue (`--priority 1..10`, 1 first; 5 when none given).
    #[serde(default = "default_priority")]
    pub priority: u8,
}

/// The numbered priority of a job that was given none: the middle, with the plain list.
pub const DEFAULT_PRIORITY: u8 = 5;

fn default_priority() -> u8 {
    DEFAULT_PRIORITY
}

impl Job {
    /// Builds job `id` from its Redis hash (`HGETALL`). Missing optional fields stay `None`;
    /// fields enqueue.lua leaves out when they hold their default read as that default: the
    /// id (the key names it), attempt 0, no timeout, due when created.
    pub fn from_hash(id: &str, h: &HashMap<String, String>) -> Result<Job> {
        let get = |k: &str| h.get(k).filter(|v| !v.is_empty());
        let num = |k: &str| get(k).and_then(|v| v.parse::<i64>().ok());
        let time = |k: &str| num(k).and_then(millis_to_time);
        let state = get("state")
            .ok_or_else(|| Error::Redis("job hash without state".into()))?
            .parse::<State>()
            .map_err(Error::Redis)?;
        let payload = get("payload")
            .map(|p| serde_json::from_str(p).unwrap_or(Value::String(p.clone())))
            .unwrap_or(Value::Null);
        Ok(Job {
            id: id.to_string(),
            job_type: get("type").cloned().unwrap_or_default(),
            queue: get("queue").cloned().unwrap_or_default(),
            state,
            payload,
            attempt: num("attempt").unwrap_or(0) as u32,
            max_attempts: num("max_attempts").unwrap_or(1) as u32,
            timeout_ms: num("timeout_ms").filter(|t| *t > 0).map(|t| t as u64),
            unique_key: get("unique_key").cloned(),
            created_at: time("created_ms"),
            scheduled_at: time("scheduled_ms").or_else(|| time("created_ms")),
            started_at: time("started_ms"),
            finished_at: time("finished_ms"),
            worker: get("worker").cloned(),
            result: get("result").map(|r| serde_json::from_str(r).unwrap_or(Value::String(r.clone()))),
            error: get("error").cloned(),
            errors: get("errors")
                .and_then(|e| serde_json::from_str(e).ok())
                .unwrap_or_default(),
            recoveries: num("recoveries").unwrap_or(0) as u32,
            progress: get("progress").and_then(|p| serde_json::from_str(p).ok()),
            expires_at: time("expires_ms"),
            after: get("after")
                .map(|a| a.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            // `dep:<parent id>` fields hold each parent's outcome (release_child.lua).
            parents: h
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("dep:")?.to_string(), v.clone())))
                .collect(),
            after_any_outcome: get("after_any").is_some_and(|v| v == "1"),
            priority: num("priority").map_or(DEFAULT_PRIORITY, |p| p as u8),
        })
    }

    /// Run time of the finished (or current) attempt.
    pub fn duration(&self) -> Option<chrono::Duration> {
        let start = self.started_at?;
        Some(self.finished_at.unwrap_or_else(Utc::now) - start)
    }
}

/// A job a worker has taken: what a handler needs, plus the lease token that fences it.
#[derive(Debug, Clone, PartialEq)]
pub struct LeasedJob {
    pub id: String,
    pub job_type: String,
    pub queue: String,
    /// JSON text of the payload.
    pub payload: String,
    pub attempt: u32,
    pub max_attempts: u32,
    pub timeout: Option<std::time::Duration>,
    pub lease: String,
}

pub fn millis_to_time(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// Checks a type, queue or unique-key name: `[A-Za-z0-9_.-]`, 1 to 128 characters.
/// Separators (`:`), glob characters and braces would break the key layout or hash tags.
pub fn validate_name(kind: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(format!("{kind} name is empty")));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid(format!(
            "{kind} name is {} characters long; the limit is {MAX_NAME_LEN}",
            name.len()
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(Error::invalid(format!(
            "{kind} name {name:?} contains {bad:?}; use only letters, digits, `_`, `.` and `-`"
        )));
    }
    Ok(())
}

/// A new job id: `<queue>-<ULID>`. Carrying the queue lets any command find the job's keys
/// (which live under the queue's hash tag) without a cross-slot lookup table.
pub fn new_job_id(queue: &str) -> String {
    format!("{queue}-{}", ulid::Ulid::new())
}

/// Splits a job id into its queue; rejects anything that is not a jobq id.
pub fn queue_of(id: &str) -> Result<&str> {
    let bad = || {
        Error::invalid(format!(
            "{id:?} is not a job id (ids look like `high-01JD8XQ4T3M6Z6Q7W8E9R0TYVP`)"
        ))
    };
    if id.len() < ULID_LEN + 2 || !id.is_char_boundary(id.len() - ULID_LEN - 1) {
        return Err(bad());
    }
    let (queue, rest) = id.split_at(id.len() - ULID_LEN - 1);
    let Some(ulid) = rest.strip_prefix('-') else {
        return Err(bad());
    };
    if ulid::Ulid::from_string(ulid).is_err() {
        return Err(bad());
    }
    validate_name("queue", queue).map_err(|_| bad())?;
    Ok(queue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("queue", "high").is_ok());
        assert!(validate_name("queue", "a.b-c_D9").is_ok());
        for bad in [
            "",
            "a:b",
            "a b",
            "a*",
            "{a}",
            "a?",
            "[a]",
            "é",
            "a\n",
            &"x".repeat(129),
        ] {
            assert!(validate_name("queue", bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn a_name_is_valid_exactly_when_it_matches_the_documented_set(s in "\\PC{0,140}|[A-Za-z0-9_.:{}*?\\[\\] -]{0,140}") {
            let documented = !s.is_empty()
                && s.len() <= MAX_NAME_LEN
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            proptest::prop_assert_eq!(validate_name("queue", &s).is_ok(), documented);
        }

        #[test]
        fn every_valid_queue_round_trips_through_an_id(q in "[A-Za-z0-9_.-]{1,128}") {
            let id = new_job_id(&q);
            proptest::prop_assert_eq!(queue_of(&id).unwrap(), q.as_str());
        }

        #[test]
        fn queue_of_never_panics(s in "\\PC*") {
            let _ = queue_of(&s);
        }
    }

    #[test]
    fn ids_carry_their_queue() {
        let id = new_job_id("send-email");
        assert_eq!(queue_of(&id).unwrap(), "send-email");
        assert!(queue_of("nope").is_err());
        assert!(queue_of("high-01JD8XQ4T3M6Z6Q7W8E9R0TYU*").is_err());
        assert!(queue_of("h:gh-01JD8XQ4T3M6Z6Q7W8E9R0TYVP").is_err());
        assert!(queue_of("ééééééééééééééééééééééééééééé").is_err());
    }
}
