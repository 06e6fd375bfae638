//! Finished jobs as rows of `jobq.jobs`, inserted a page at a time with one statement.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

use crate::job::{millis_to_time, Job, State};

/// Column vectors of one page of rows, bound as arrays and expanded with `UNNEST`: one round
/// trip per page however many rows it holds.
#[derive(Debug, Default)]
pub struct Rows {
    job_id: Vec<String>,
    finished_ms: Vec<i64>,
    queue: Vec<String>,
    job_type: Vec<String>,
    state: Vec<String>,
    payload: Vec<String>,
    result: Vec<Option<String>>,
    error: Vec<Option<String>>,
    errors: Vec<String>,
    attempt: Vec<i32>,
    max_attempts: Vec<i32>,
    recoveries: Vec<i32>,
    worker: Vec<Option<String>>,
    unique_key: Vec<Option<String>>,
    created_at: Vec<Option<DateTime<Utc>>>,
    scheduled_at: Vec<Option<DateTime<Utc>>>,
    started_at: Vec<Option<DateTime<Utc>>>,
    finished_at: Vec<DateTime<Utc>>,
    duration_ms: Vec<Option<i64>>,
}

/// `ON CONFLICT DO NOTHING` on the primary key (namespace, job_id, finished_ms): replaying a
/// page after a crash, or a second archiver racing the first, adds nothing.
const INSERT: &str = "
INSERT INTO jobs (namespace, job_id, finished_ms, queue, type, state, payload, result, error,
                  errors, attempt, max_attempts, recoveries, worker, unique_key, created_at,
                  scheduled_at, started_at, finished_at, duration_ms)
SELECT $1, j, f, q, t, s, p::jsonb, r::jsonb, e, es::jsonb, a, m, rc, w, u, ca, sa, st, fa, d
FROM UNNEST($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::int[], $12::int[], $13::int[], $14::text[], $15::text[],
            $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[],
            $20::bigint[])
     AS u(j, f, q, t, s, p, r, e, es, a, m, rc, w, u, ca, sa, st, fa, d)
ON CONFLICT DO NOTHING";

impl Rows {
    pub fn len(&self) -> usize {
        self.job_id.len()
    }

    /// Adds the outcome of `job` that was recorded at `finished_ms`.
    pub fn push(&mut self, finished_ms: i64, job: &Job) {
        let finished_at = millis_to_time(finished_ms).unwrap_or_else(Utc::now);
        // A cancelled job may carry the start time of an earlier run; only completed and
        // dead outcomes end the attempt they started.
        let duration_ms = match job.state {
            State::Completed | State::Dead => job
                .started_at
                .map(|s| (finished_at - s).num_milliseconds().max(0)),
            _ => None,
        };
        let errors = serde_json::to_value(&job.errors).unwrap_or(Value::Array(Vec::new()));
        self.job_id.push(job.id.clone());
        self.finished_ms.push(finished_ms);
        self.queue.push(job.queue.clone());
        self.job_type.push(job.job_type.clone());
        self.state.push(job.state.as_str().to_string());
        self.payload.push(json_text(&job.payload));
        self.result.push(job.result.as_ref().map(json_text));
        self.error.push(job.error.as_deref().map(text));
        self.errors.push(json_text(&errors));
        self.attempt.push(job.attempt as i32);
        self.max_attempts.push(job.max_attempts as i32);
        self.recoveries.push(job.recoveries as i32);
        self.worker.push(job.worker.as_deref().map(text));
        self.unique_key.push(job.unique_key.clone());
        self.created_at.push(job.created_at);
        self.scheduled_at.push(job.scheduled_at);
        self.started_at.push(job.started_at);
        self.finished_at.push(finished_at);
        self.duration_ms.push(duration_ms);
    }

    /// Inserts the rows not there yet; returns how many were new.
    pub async fn insert(self, namespace: &str, conn: &mut PgConnection) -> sqlx::Result<u64> {
        let done = sqlx::query(INSERT)
            .bind(namespace)
            .bind(self.job_id)
            .bind(self.finished_ms)
            .bind(self.queue)
            .bind(self.job_type)
            .bind(self.state)
            .bind(self.payload)
            .bind(self.result)
            .bind(self.error)
            .bind(self.errors)
            .bind(self.attempt)
            .bind(self.max_attempts)
            .bind(self.recoveries)
            .bind(self.worker)
            .bind(self.unique_key)
            .bind(self.created_at)
            .bind(self.scheduled_at)
            .bind(self.started_at)
            .bind(self.finished_at)
            .bind(self.duration_ms)
            .execute(conn)
            .await?;
        Ok(done.rows_affected())
    }
}

/// PostgreSQL text and jsonb cannot hold NUL characters, which a handler's stderr or a payload
/// (`"\u0000"`) can: they become U+FFFD, or one bad job would stop the archive for good.
fn text(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

fn json_text(v: &Value) -> String {
    let s = v.to_string();
    if s.contains("\\u0000") {
        let mut clean = v.clone();
        scrub(&mut clean);
        clean.to_string()
    } else {
        s
    }
}

fn scrub(v: &mut Value) {
    match v {
        Value::String(s) => *s = text(s),
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut val) in entries {
                scrub(&mut val);
                map.insert(text(&k), val);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_replaced_everywhere() {
        let v = serde_json::json!({"a\u{0}": ["x\u{0}y", {"b": "\u{0}"}], "n": 1});
        let out = json_text(&v);
        assert!(!out.contains("\\u0000"), "{out}");
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap(),
            serde_json::json!({"a\u{FFFD}": ["x\u{FFFD}y", {"b": "\u{FFFD}"}], "n": 1})
        );
        assert_eq!(text("a\0b"), "a\u{FFFD}b");
        assert_eq!(
            json_text(&serde_json::json!({"ok": "\\u0000 is text"})),
            r#"{"ok":"\\u0000 is text"}"#
        );
    }
}
