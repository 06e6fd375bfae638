//! `jobq history`: reads the archive. Every filter is a bound parameter; nothing the user types
//! is ever spliced into SQL text.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};

use super::db::Db;
use crate::error::{Error, Result};

/// `payload.user_id=42`: the JSON value at a path of the payload (or `result.…`) equals VALUE.
/// VALUE is read as JSON when it parses (`42`, `true`, `"42"`, `{"a":1}`), else as a string.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMatch {
    /// `payload` or `result`.
    pub column: &'static str,
    pub path: Vec<String>,
    pub value: Value,
}

impl FromStr for FieldMatch {
    type Err = Error;

    fn from_str(s: &str) -> Result<FieldMatch> {
        let bad = |why: &str| {
            Error::invalid(format!(
                "--where {s:?}: {why}; write FIELD=VALUE, e.g. payload.user_id=42 or result.status='\"ok\"'"
            ))
        };
        let (field, value) = s.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let mut parts = field.trim().split('.');
        let column = match parts.next() {
            Some("payload") => "payload",
            Some("result") => "result",
            _ => return Err(bad("the field must start with `payload.` or `result.`")),
        };
        let path: Vec<String> = parts.map(str::to_string).collect();
        if path.is_empty() || path.iter().any(String::is_empty) {
            return Err(bad("name a field inside it, like payload.user_id"));
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        Ok(FieldMatch { column, path, value })
    }
}

impl FieldMatch {
    /// `{"a": {"b": VALUE}}` for `@>`, which the GIN index on payload serves. Not for paths
    /// through arrays (a numeric step), where containment means something else.
    fn containment(&self) -> Option<Value> {
        if self.path.iter().any(|p| p.parse::<usize>().is_ok()) {
            return None;
        }
        Some(self.path.iter().rev().fold(self.value.clone(), |inner, key| {
            let mut m = serde_json::Map::new();
            m.insert(key.clone(), inner);
            Value::Object(m)
        }))
    }
}

/// Which archived jobs to look at.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub namespace: String,
    pub job_type: Option<String>,
    pub queue: Option<String>,
    /// completed, dead or cancelled.
    pub state: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub fields: Vec<FieldMatch>,
}

/// One finished outcome, as `history --json` prints it (the fields of `inspect --json`, plus
/// `duration_ms`, `finished_ms` — the outcome's key with the id — and `archived_at`).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ArchivedJob {
    pub id: String,
    #[serde(rename = "type")]
    pub job_type: String,
    pub queue: String,
    pub state: String,
    pub payload: Value,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub errors: Value,
    pub attempt: i32,
    pub max_attempts: i32,
    pub recoveries: i32,
    pub worker: Option<String>,
    pub unique_key: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: Option<i64>,
    pub finished_ms: i64,
    pub archived_at: DateTime<Utc>,
}

/// Per job type over a period (`history --summary`).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TypeSummary {
    #[serde(rename = "type")]
    pub job_type: String,
    pub total: i64,
    pub completed: i64,
    pub dead: i64,
    pub cancelled: i64,
    /// dead ÷ (completed + dead): cancelled jobs are an operator's choice, not a failure.
    pub failure_rate: Option<f64>,
    /// Run time of completed jobs (their last attempt), percentile_cont.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

const COLUMNS: &str = "job_id AS id, type AS job_type, queue, state, payload, result, error, errors, \
    attempt, max_attempts, recoveries, worker, unique_key, created_at, scheduled_at, started_at, \
    finished_at, duration_ms, finished_ms, archived_at";

const SUMMARY: &str = "type AS job_type, count(*) AS total, \
    count(*) FILTER (WHERE state = 'completed') AS completed, \
    count(*) FILTER (WHERE state = 'dead') AS dead, \
    count(*) FILTER (WHERE state = 'cancelled') AS cancelled, \
    (count(*) FILTER (WHERE state = 'dead'))::float8 \
        / NULLIF(count(*) FILTER (WHERE state IN ('completed', 'dead')), 0) AS failure_rate, \
    percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE state = 'completed') AS p50_ms, \
    percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE state = 'completed') AS p95_ms, \
    percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE state = 'completed') AS p99_ms";

impl Filter {
    /// ` WHERE …` with every value bound.
    fn push_where(&self, q: &mut QueryBuilder<'_, Postgres>) {
        q.push(" WHERE namespace = ").push_bind(self.namespace.clone());
        if let Some(t) = &self.job_type {
            q.push(" AND type = ").push_bind(t.clone());
        }
        if let Some(queue) = &self.queue {
            q.push(" AND queue = ").push_bind(queue.clone());
        }
        if let Some(s) = &self.state {
            q.push(" AND state = ").push_bind(s.clone());
        }
        if let Some(t) = self.since {
            q.push(" AND finished_at >= ").push_bind(t);
        }
        if let Some(t) = self.until {
            q.push(" AND finished_at < ").push_bind(t);
        }
        for m in &self.fields {
            // `column` is one of two fixed names chosen by the parser, never user text.
            if let Some(c) = m.containment() {
                q.push(format!(" AND {} @> ", m.column))
                    .push_bind(c.to_string())
                    .push("::jsonb");
            }
            q.push(format!(" AND {} #> ", m.column))
                .push_bind(m.path.clone())
                .push("::text[] = ")
                .push_bind(m.value.to_string())
                .push("::jsonb");
        }
    }
}

/// The newest `limit` outcomes matching `filter`, newest first.
pub async fn list(db: &Db, filter: &Filter, limit: i64) -> Result<Vec<ArchivedJob>> {
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} FROM jobs"));
    filter.push_where(&mut q);
    q.push(" ORDER BY finished_at DESC, job_id DESC LIMIT ")
        .push_bind(limit);
    q.build_query_as()
        .fetch_all(db.pool())
        .await
        .map_err(|e| db.error(e))
}

/// Per type: counts, failure rate and run-time percentiles of the outcomes matching `filter`.
pub async fn summary(db: &Db, filter: &Filter) -> Result<Vec<TypeSummary>> {
    let mut q = QueryBuilder::new(format!("SELECT {SUMMARY} FROM jobs"));
    filter.push_where(&mut q);
    q.push(" GROUP BY type ORDER BY type");
    q.build_query_as()
        .fetch_all(db.pool())
        .await
        .map_err(|e| db.error(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_clauses_parse_paths_and_json_values() {
        let m: FieldMatch = "payload.user_id=42".parse().unwrap();
        assert_eq!(
            (m.column, m.path.as_slice()),
            ("payload", &["user_id".to_string()][..])
        );
        assert_eq!(m.value, serde_json::json!(42));
        assert_eq!(m.containment(), Some(serde_json::json!({"user_id": 42})));
        let m: FieldMatch = "result.a.b=hello world".parse().unwrap();
        assert_eq!(m.value, serde_json::json!("hello world"));
        assert_eq!(
            m.containment(),
            Some(serde_json::json!({"a": {"b": "hello world"}}))
        );
        let m: FieldMatch = "payload.items.0.sku=\"x'; drop table jobs; --\"".parse().unwrap();
        assert_eq!(m.containment(), None);
        assert_eq!(m.value, serde_json::json!("x'; drop table jobs; --"));
        for bad in [
            "user_id=42",
            "payload=1",
            "payload..a=1",
            "payload.a",
            "payloads.a=1",
        ] {
            assert!(bad.parse::<FieldMatch>().is_err(), "{bad}");
        }
    }
}
