//! Worker and store log lines on stderr: a level filter and two formats, set once per process.
//!
//! Text: `2026-11-23T10:55:24.123Z INFO  worker host-1-ab12 started: …` (UTC, so lines from
//! hosts in different zones sort and compare). JSON: one object per line with the stable fields
//! `ts` (RFC 3339 UTC), `level`, `msg`, and `job_id`, `queue`, `type`, `worker` where they apply.
//! Each line is built whole and written with one call, so concurrent jobs never interleave.

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use clap::ValueEnum;
use serde::Serialize;

use crate::job::LeasedJob;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static JSON: AtomicU8 = AtomicU8::new(0);

/// Sets the process-wide level and format (the default is `info`, text).
pub fn init(level: Level, format: Format) {
    LEVEL.store(level as u8, Ordering::Relaxed);
    JSON.store(u8::from(format == Format::Json), Ordering::Relaxed);
}

/// Whether a line at `level` would be written: callers skip building costly messages.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// What a line is about; every field is optional.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Ctx<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub job_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<&'a str>,
}

impl<'a> Ctx<'a> {
    pub fn job(job: &'a LeasedJob) -> Ctx<'a> {
        Ctx {
            job_id: Some(&job.id),
            queue: Some(&job.queue),
            job_type: Some(&job.job_type),
            worker: None,
        }
    }

    pub fn queue(queue: &'a str) -> Ctx<'a> {
        Ctx {
            queue: Some(queue),
            ..Ctx::default()
        }
    }

    pub fn worker(mut self, worker: &'a str) -> Ctx<'a> {
        self.worker = Some(worker);
        self
    }
}

#[derive(Serialize)]
struct JsonLine<'a> {
    ts: String,
    level: Level,
    msg: String,
    #[serde(flatten)]
    ctx: Ctx<'a>,
}

/// Writes one line if `level` is enabled.
pub fn log(level: Level, ctx: Ctx<'_>, msg: impl Display) {
    if !enabled(level) {
        return;
    }
    let line = render(level, ctx, &msg.to_string(), JSON.load(Ordering::Relaxed) == 1);
    // A closed stderr must not take the worker down with it.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn render(level: Level, ctx: Ctx<'_>, msg: &str, json: bool) -> String {
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if json {
        let line = JsonLine {
            ts,
            level,
            msg: msg.to_string(),
            ctx,
        };
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        text.push('\n');
        return text;
    }
    let name = match level {
        Level::Error => "ERROR",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
    };
    // One message, one line: a multi-line text (a handler's stderr) is continued, not split.
    format!("{ts} {name:<5} {}\n", msg.replace('\n', "\n    "))
}

pub fn error(ctx: Ctx<'_>, msg: impl Display) {
    log(Level::Error, ctx, msg);
}

pub fn warn(ctx: Ctx<'_>, msg: impl Display) {
    log(Level::Warn, ctx, msg);
}

pub fn info(ctx: Ctx<'_>, msg: impl Display) {
    log(Level::Info, ctx, msg);
}

pub fn debug(ctx: Ctx<'_>, msg: impl Display) {
    log(Level::Debug, ctx, msg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_carry_the_stable_fields() {
        let ctx = Ctx {
            job_id: Some("q-1"),
            queue: Some("q"),
            job_type: Some("t"),
            worker: Some("w"),
        };
        let line = render(Level::Warn, ctx, "a \"b\"\nc", true);
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "warn");
        assert_eq!(v["msg"], "a \"b\"\nc");
        assert_eq!(
            (&v["job_id"], &v["queue"], &v["type"], &v["worker"]),
            (&"q-1".into(), &"q".into(), &"t".into(), &"w".into())
        );
        assert!(chrono::DateTime::parse_from_rfc3339(v["ts"].as_str().unwrap()).is_ok());
        let v: serde_json::Value =
            serde_json::from_str(&render(Level::Info, Ctx::default(), "x", true)).unwrap();
        assert!(v.get("job_id").is_none());
    }

    #[test]
    fn text_lines_have_date_zone_and_level() {
        let line = render(Level::Error, Ctx::default(), "one\ntwo", false);
        let (ts, rest) = line.split_once(' ').unwrap();
        assert!(
            ts.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(ts).is_ok(),
            "{ts}"
        );
        assert_eq!(rest, "ERROR one\n    two\n");
    }
}
