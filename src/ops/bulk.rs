//! What the destructive bulk commands (dlq drain/purge, purge, retry --state) share: the
//! confirmation rules, Ctrl-C between batches, and the progress bar.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use jobq::cli::GlobalArgs;
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::store::Batch;
use serde::Serialize;

use crate::output;

/// Jobs per atomic batch: one script call each, short enough not to block Redis noticeably.
pub const BATCH: u64 = 500;

/// The operator's answer to a confirmation question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Ctrl-C at the prompt: nothing was done; the command exits 130.
    Interrupted,
}

/// Asks `question` on the terminal unless `yes`. Without a terminal it refuses (cron must say
/// --yes). The answer is a whole line: `y` or `yes` and Enter (any case) goes ahead, anything
/// else (Enter alone, Ctrl-D) does not. A single key never decides: a stray `y` typed ahead
/// must not delete jobs. The terminal stays in its normal line mode, so Ctrl-C leaves nothing
/// to restore (no hidden cursor, no raw mode).
pub async fn confirm(question: String, yes: bool) -> Result<Answer> {
    if yes {
        return Ok(Answer::Yes);
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::invalid(format!(
            "refusing to go ahead without confirmation: not on a terminal. Add --yes ({})",
            question.trim_end_matches('?')
        )));
    }
    // Listen before asking, so a quick Ctrl-C is ours too (and ends with 130, not a signal).
    let failed = |e: std::io::Error| Error::Io(format!("confirmation prompt failed: {e}"));
    let mut interrupt =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).map_err(failed)?;
    eprint!("{question} [y/N] ");
    let _ = std::io::Write::flush(&mut std::io::stderr());
    let (tx, rx) = tokio::sync::oneshot::channel();
    // A plain thread, not spawn_blocking: after Ctrl-C it stays blocked in read(), and the
    // runtime must not wait for it when the command returns.
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = tx.send(std::io::stdin().read_line(&mut line).map(|n| (n, line)));
    });
    tokio::select! {
        read = rx => match read {
            Ok(Ok((0, _))) => {
                eprintln!();
                Ok(Answer::No)
            }
            Ok(Ok((_, line))) => Ok(answer_of(&line)),
            Ok(Err(e)) => Err(failed(e)),
            Err(_) => Ok(Answer::No),
        },
        _ = interrupt.recv() => {
            // The shell's prompt goes on a line of its own, not after ours.
            eprintln!();
            Ok(Answer::Interrupted)
        }
    }
}

fn answer_of(line: &str) -> Answer {
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Answer::Yes,
        _ => Answer::No,
    }
}

/// Set by Ctrl-C; bulk loops check it between batches, so a batch is never cut in half.
#[derive(Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    pub fn listen() -> Interrupt {
        let flag = Interrupt::default();
        let f = flag.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                f.0.store(true, Ordering::SeqCst);
            }
        });
        flag
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A progress bar on stderr for work of `total` jobs; hidden when stderr is not a terminal
/// or the work is one batch or less.
pub fn bar(total: u64, verb: &str) -> ProgressBar {
    if total <= BATCH || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(&format!("{verb} {{bar:40}} {{pos}}/{{len}} ({{eta}} left)"))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// "1,234 dead jobs from 3 queues"
pub fn describe(count: u64, what: &str, queues: usize) -> String {
    let s = if count == 1 { "" } else { "s" };
    let qs = if queues == 1 { "" } else { "s" };
    format!(
        "{} {what} job{s} from {queues} queue{qs}",
        crate::output::thousands(count)
    )
}

#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub struct Report {
    /// Jobs moved, in total and per queue.
    pub total: u64,
    pub queues: BTreeMap<String, u64>,
    /// True when Ctrl-C stopped the work between two batches.
    pub interrupted: bool,
}

/// Prints what a bulk command did; Ctrl-C between batches exits 130.
fn finish(moved: Report, g: &GlobalArgs, verb: &str) -> Result<Done> {
    if g.json {
        output::json(&moved)?;
    } else {
        output::line(format!("{verb} {} jobs", output::thousands(moved.total)))?;
    }
    let status = if moved.interrupted {
        output::note("interrupted between two batches: every other job is where it was");
        ExitStatus::Interrupted
    } else {
        ExitStatus::Success
    };
    Ok(Done {
        status,
        report: moved,
    })
}

/// A part of a bulk command: `count` jobs of `queue` (of kind `what`, e.g. a state).
pub struct Step<T> {
    pub queue: String,
    pub what: T,
    pub count: u64,
}

/// How a bulk command talks about itself: "Requeue" / "requeued", "dead" jobs.
pub struct Ask<'a> {
    pub verb: &'a str,
    pub done: &'a str,
    pub what: &'a str,
    pub yes: bool,
    pub limit: Option<u64>,
}

/// Who runs a bulk command: the CLI (asks, draws a bar, stops on Ctrl-C, prints the report)
/// or the HTTP API (the dashboard asked already; the report is the response).
#[derive(Clone, Copy)]
pub enum Caller<'a> {
    Cli(&'a GlobalArgs),
    Api,
}

/// What a bulk command did: the exit status for the CLI and the report for both callers.
pub struct Done {
    pub status: ExitStatus,
    pub report: Report,
}

/// Asks (CLI only), then runs the `steps` batch by batch (`batch(queue, what, start, n)` does one
/// atomic batch of at most `n` jobs from index `start`), stopping between batches on Ctrl-C.
pub async fn execute<T: Copy, Fut>(
    steps: Vec<Step<T>>,
    ask: Ask<'_>,
    caller: Caller<'_>,
    mut batch: impl FnMut(String, T, u64, u64) -> Fut,
) -> Result<Done>
where
    Fut: std::future::Future<Output = Result<Batch>>,
{
    let steps: Vec<Step<T>> = steps.into_iter().filter(|s| s.count > 0).collect();
    let total = steps
        .iter()
        .map(|s| s.count)
        .sum::<u64>()
        .min(ask.limit.unwrap_or(u64::MAX));
    let mut queues: Vec<&String> = steps.iter().map(|s| &s.queue).collect();
    queues.dedup();
    if let Caller::Cli(g) = caller {
        if total == 0 {
            output::note(format!("nothing {}: no {} jobs", ask.done, ask.what));
            return finish(Report::default(), g, ask.done);
        }
        let question = format!("{} {}?", ask.verb, describe(total, ask.what, queues.len()));
        let refused = |status| Done {
            status,
            report: Report::default(),
        };
        match confirm(question, ask.yes).await? {
            Answer::Yes => {}
            Answer::No => {
                output::note(format!("nothing {}", ask.done));
                return Ok(refused(ExitStatus::Failure));
            }
            Answer::Interrupted => return Ok(refused(ExitStatus::Interrupted)),
        }
    }
    // A server must not take over Ctrl-C nor draw on its terminal.
    let (stop, bar) = match caller {
        Caller::Cli(_) => (Interrupt::listen(), bar(total, ask.done)),
        Caller::Api => (Interrupt::default(), ProgressBar::hidden()),
    };
    let mut report = Report::default();
    for step in &steps {
        let mut start = 0;
        while report.total < total && !stop.is_set() {
            let n = BATCH.min(total - report.total);
            let b = batch(step.queue.clone(), step.what, start, n).await?;
            report.total += b.done;
            *report.queues.entry(step.queue.clone()).or_default() += b.done;
            bar.inc(b.done);
            start += b.passed;
            if b.scanned < n {
                break;
            }
        }
    }
    bar.finish_and_clear();
    report.interrupted = stop.is_set() && report.total < total;
    match caller {
        Caller::Cli(g) => finish(report, g, ask.done),
        Caller::Api => Ok(Done {
            status: ExitStatus::Success,
            report,
        }),
    }
}
