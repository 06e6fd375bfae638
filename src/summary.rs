//! One-line summaries of a job's error, for every place that has room for one line only (worker
//! log, `ls`/`dlq ls` DETAIL, `wait`, `watch`, `tail`, the error of an event). The full text
//! stays on the job (`inspect`).
//!
//! A handler's error is `what: stderr` (`exit code 1: …`, exec.rs `with_tail`), and when stderr
//! has several lines they start on the next line. The line that says what went wrong is usually
//! the *last* meaningful one: Python's `ValueError: …` after its traceback, Java's `Caused by:`,
//! Rust's panic message; stack frames are indented, and a few trailers are known noise.

/// Lines that never say what went wrong (headers and trailers of common runtimes).
const NOISE_PREFIXES: [&str; 6] = [
    "Traceback (most recent call last):",
    "During handling of the above exception",
    "The above exception was the direct cause",
    "note: run with `RUST_BACKTRACE",
    "Node.js v",
    "exit status ",
];

fn is_noise(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || NOISE_PREFIXES.iter().any(|p| t.starts_with(p))
}

/// `exit code 1: ValueError: bad input` for an error whose stderr was a Python traceback.
pub fn error_summary(error: &str) -> String {
    let mut lines = error.lines().map(str::trim_end).filter(|l| !l.trim().is_empty());
    let Some(first) = lines.next() else {
        return String::new();
    };
    let rest: Vec<&str> = lines.collect();
    if rest.is_empty() {
        return first.trim().to_string();
    }
    // `what:` (or `what: Traceback …:`) heads the stderr that follows it.
    let head = first.strip_suffix(NOISE_PREFIXES[0]).unwrap_or(first).trim();
    let (head, body): (&str, Vec<&str>) = if head.ends_with(':') || head.is_empty() {
        (head, rest)
    } else {
        ("", std::iter::once(first).chain(rest).collect())
    };
    let line = key_line(&body);
    if head.is_empty() {
        line.to_string()
    } else {
        format!("{head} {line}")
    }
}

/// The last unindented line that is not noise and does not merely introduce what follows;
/// a Go `panic:` line wins (goroutine dumps follow it).
fn key_line<'a>(lines: &[&'a str]) -> &'a str {
    if let Some(p) = lines.iter().find(|l| l.starts_with("panic: ")) {
        return p.trim();
    }
    let candidates = || lines.iter().rev().filter(|l| !is_noise(l));
    candidates()
        .find(|l| !l.starts_with(char::is_whitespace) && !l.ends_with(':'))
        .or_else(|| candidates().next())
        .or(lines.last())
        .map_or("", |l| l.trim())
}

#[cfg(test)]
mod tests {
    use super::error_summary as s;

    #[test]
    fn python_traceback_gives_the_exception() {
        let e = "exit code 1:\nTraceback (most recent call last):\n  File \"h.py\", line 3, in <module>\n    raise ValueError(\"bad input\")\nValueError: bad input";
        assert_eq!(s(e), "exit code 1: ValueError: bad input");
        // As stored before multi-line stderr got its own line.
        let old = "exit code 1: Traceback (most recent call last):\n  File \"h.py\", line 3\nKeyError: 'x'";
        assert_eq!(s(old), "exit code 1: KeyError: 'x'");
        let chained = "Traceback (most recent call last):\n  File \"a\"\nKeyError: 1\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"b\"\nRuntimeError: wrapped";
        assert_eq!(s(chained), "RuntimeError: wrapped");
    }

    #[test]
    fn other_runtimes_and_plain_text() {
        assert_eq!(s("exit code 3: boom"), "exit code 3: boom");
        assert_eq!(s("  spaced  \n\n"), "spaced");
        assert_eq!(s(""), "");
        let node = "exit code 1:\n/h.js:1\nthrow new Error('nope')\n^\n\nError: nope\n    at Object.<anonymous> (/h.js:1:7)\n\nNode.js v18.19.0";
        assert_eq!(s(node), "exit code 1: Error: nope");
        let java = "exit code 1:\nException in thread \"main\" java.lang.RuntimeException: outer\n\tat Main.main(Main.java:3)\nCaused by: java.io.IOException: disk full\n\t... 1 more";
        assert_eq!(s(java), "exit code 1: Caused by: java.io.IOException: disk full");
        let rust = "exit code 101:\nthread 'main' panicked at src/main.rs:2:5:\nboom\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";
        assert_eq!(s(rust), "exit code 101: boom");
        let go = "exit code 2:\npanic: oh no\n\ngoroutine 1 [running]:\nmain.main()\n\t/tmp/x.go:4 +0x25\nexit status 2";
        assert_eq!(s(go), "exit code 2: panic: oh no");
        assert_eq!(
            s("timed out after 1s:\nstarting\nstep 2 of 3"),
            "timed out after 1s: step 2 of 3"
        );
    }
}
