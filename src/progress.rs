//! Progress reporting: the line protocol handlers speak (README "Progress and events") and the
//! in-process reporter that library handlers use. Both end in the worker's coalescing writer
//! (`worker::progress`), which stores at most one update per job every [`FLUSH_INTERVAL`].

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::job::Progress;

/// Shortest time between two progress writes of one job: a flood of updates costs at most
/// 5 writes per second per job, plus the final value, which is always written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// The file descriptor on which external handlers write progress lines (`JOBQ_PROGRESS_FD`).
pub const PROGRESS_FD: i32 = 3;
/// Longest progress message kept (characters); longer ones are cut.
pub const MAX_MESSAGE_CHARS: usize = 200;

/// Parses one protocol line: `progress 40/100 [message]`, `progress 40% [message]` or
/// `progress 40 [message]`. Other lines are not progress (`None`); a malformed one is an error.
pub fn parse_line(line: &str) -> Option<Result<Progress>> {
    let rest = line.trim().strip_prefix("progress")?;
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start();
    let (spec, message) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Some(parse_spec(spec, message))
}

/// `40/100`, `40%` or `40`, plus an optional message, as [`Progress`] (without `updated_at`).
pub fn parse_spec(spec: &str, message: &str) -> Result<Progress> {
    let bad = || {
        Error::invalid(format!(
            "progress {spec:?} is not CURRENT/TOTAL, PERCENT% or CURRENT (e.g. 40/100, 40%, 40)"
        ))
    };
    let num = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(bad)
    };
    let mut p = Progress::default();
    if let Some(pct) = spec.strip_suffix('%') {
        p.percent = Some(num(pct)?.min(100.0));
    } else if let Some((cur, total)) = spec.split_once('/') {
        let (cur, total) = (num(cur)?, num(total)?);
        p.current = Some(cur);
        p.total = Some(total);
        p.percent = (total > 0.0).then(|| (cur / total * 100.0).min(100.0));
    } else {
        p.current = Some(num(spec)?);
    }
    let message = message.trim();
    if !message.is_empty() {
        p.message = Some(message.chars().take(MAX_MESSAGE_CHARS).collect());
    }
    Ok(p)
}

/// Hands progress from a running handler to the worker, which stores it (coalesced). Cheap to
/// call as often as you like: only the latest value is kept until the next write.
#[derive(Debug, Clone)]
pub struct ProgressReporter {
    tx: Arc<watch::Sender<Option<Progress>>>,
}

impl Default for ProgressReporter {
    fn default() -> Self {
        ProgressReporter {
            tx: Arc::new(watch::channel(None).0),
        }
    }
}

impl ProgressReporter {
    /// Reports `progress`; its `updated_at` is set to now.
    pub fn report(&self, mut progress: Progress) {
        progress.updated_at = Some(Utc::now());
        self.tx.send_replace(Some(progress));
    }

    /// Reports `current` of `total` steps with a message (`""` for none).
    pub fn steps(&self, current: u64, total: u64, message: &str) {
        if let Ok(p) = parse_spec(&format!("{current}/{total}"), message) {
            self.report(p);
        }
    }

    /// For the worker: a receiver that sees the latest reported value.
    pub fn subscribe(&self) -> watch::Receiver<Option<Progress>> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lines() {
        let p = parse_line("progress 40/100 writing chunk 40").unwrap().unwrap();
        assert_eq!(
            (p.current, p.total, p.percent),
            (Some(40.0), Some(100.0), Some(40.0))
        );
        assert_eq!(p.message.as_deref(), Some("writing chunk 40"));
        let p = parse_line("progress 12.5%").unwrap().unwrap();
        assert_eq!((p.current, p.percent, p.message), (None, Some(12.5), None));
        let p = parse_line("  progress 7\n").unwrap().unwrap();
        assert_eq!(p.current, Some(7.0));
        assert!(parse_line("hello").is_none());
        assert!(parse_line("progressive 1").is_none());
        assert!(parse_line("progress x/1").unwrap().is_err());
        assert!(parse_line("progress -1%").unwrap().is_err());
        assert!(parse_line("progress NaN").unwrap().is_err());
    }

    #[test]
    fn the_reporter_keeps_only_the_latest_value() {
        let reporter = ProgressReporter::default();
        let rx = reporter.subscribe();
        reporter.steps(1, 10, "");
        reporter.steps(2, 10, "second");
        let latest = rx.borrow().clone().unwrap();
        assert_eq!((latest.current, latest.percent), (Some(2.0), Some(20.0)));
        assert_eq!(latest.message.as_deref(), Some("second"));
        assert!(latest.updated_at.is_some());
    }
}
