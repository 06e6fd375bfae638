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

/// `2026-11-22 21:40:01 +01:00 (3m20s ago)`: local time with its UTC offset, like every
/// time in human output (JSON has RFC 3339 UTC).
pub fn when(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S %:z");
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
/// True when stdout is a terminal: only then tables are fitted to its width, screens redrawn.
pub fn stdout_is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}

/// A table for stdout: plain ASCII borders; fitted (and wrapped) to the terminal's width on a
/// TTY, natural width in a pipe. An empty `header` leaves the header line out.
pub fn table(header: &[&str]) -> comfy_table::Table {
    use comfy_table::{presets, ContentArrangement, Table};
    let mut t = Table::new();
    t.load_preset(presets::UTF8_BORDERS_ONLY);
    if !header.is_empty() {
        t.set_header(header.to_vec());
    }
    if stdout_is_tty() {
        t.set_content_arrangement(ContentArrangement::Dynamic);
        // The preset's inner border is a space already: one more between columns is enough.
        for (i, c) in t.column_iter_mut().enumerate() {
            c.set_padding((u16::from(i == 0), 1));
        }
    } else {
        t.load_preset(presets::NOTHING);
    }
    t
}

/// First line of `s`, cut to `max` characters with an ellipsis.
pub fn clip(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() <= max && !s.contains('\n') {
        return line.to_string();
    }
    let cut: String = line.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// `3m20s` for a span in milliseconds, `-` for none.
pub fn span_ms(ms: Option<u64>) -> String {
    ms.map_or("-".into(), |m| {
        jobq::duration::human(std::time::Duration::from_millis(m))
    })
}

/// `1,234`
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// On a terminal, only the last column gives way to the window's width (ids and numbers stay
/// whole; the free text is cut). Pair with `Row::max_height(1)` for one line per row.
pub fn fit_last_column(table: &mut comfy_table::Table) {
    use comfy_table::ColumnConstraint;
    let n = table.column_count();
    for i in 0..n.saturating_sub(1) {
        if let Some(c) = table.column_mut(i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
}
