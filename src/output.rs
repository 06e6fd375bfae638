//! The one output layer: data to stdout (text or JSON), chatter to stderr. A closed stdout
//! (`jobq ... | head`) ends the program successfully instead of panicking.

use std::io::Write;

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use jobq::error::{Error, Result};

/// Writes `text` and a newline to stdout.
pub fn line(text: impl std::fmt::Display) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Error::Io(format!("cannot write to stdout: {e}"))),
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Io(e.to_string()))?;
    line(text)
}

/// A notice for the human at the terminal; never on stdout, so pipes stay clean.
pub fn note(text: impl std::fmt::Display) {
    eprintln!("jobq: {text}");
}

/// `2026-11-22 21:40:01 (3m20s ago)` in local time.
pub fn when(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S");
    let delta = Utc::now() - t;
    let span = jobq::duration::human(delta.abs().to_std().unwrap_or_default());
    if delta.num_milliseconds() >= 0 {
        format!("{local} ({span} ago)")
    } else {
        format!("{local} (in {span})")
    }
}

/// How live commands (`watch`) draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bars, redrawn in place: stdout is a terminal and NO_COLOR is not set.
    Live,
    /// One line of text per change.
    Plain,
    /// One JSON object per line per change.
    Json,
}

pub fn mode(json: bool) -> Mode {
    use std::io::IsTerminal;
    if json {
        Mode::Json
    } else if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        Mode::Live
    } else {
        Mode::Plain
    }
}

/// Prints `value` as one line of compact JSON (JSON lines).
pub fn json_line<T: Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string(value).map_err(|e| Error::Io(e.to_string()))?;
    line(text)
}
