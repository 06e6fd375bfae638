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

/// Asks `question` on the terminal unless `yes`. Without a terminal it refuses (cron must say
/// --yes). `Ok(false)`: the user said no.
pub async fn confirm(question: String, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::invalid(format!(
            "refusing to go ahead without confirmation: not on a terminal. Add --yes ({})",
            question.trim_end_matches('?')
        )));
    }
    // dialoguer blocks on the terminal: keep it off the async runtime's threads. On Ctrl-C it
    // restores the terminal and re-raises SIGINT: the process ends with 130, nothing changed.
    let answer = tokio::task::spawn_blocking(move || {
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact_on_opt(&dialoguer::console::Term::stderr())
    })
    .await
    .map_err(|e| Error::Io(format!("confirmation prompt failed: {e}")))?;
    match answer {
        Ok(answer) => Ok(answer == Some(true)),
        Err(e) => Err(Error::Io(format!("confirmation prompt failed: {e}"))),
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

#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Jobs moved, in total and per queue.
    pub total: u64,
    pub queues: BTreeMap<String, u64>,
    /// True when Ctrl-C stopped the work between two batches.
    pub interrupted: bool,
}

/// Prints what a bulk command did; Ctrl-C between batches exits 130.
pub fn finish(moved: &Report, g: &GlobalArgs, verb: &str) -> Result<ExitStatus> {
    if g.json {
        output::json(moved)?;
    } else {
        output::line(format!("{verb} {} jobs", output::thousands(moved.total)))?;
    }
    if moved.interrupted {
        output::note("interrupted between two batches: every other job is where it was");
        return Ok(ExitStatus::Interrupted);
    }
    Ok(ExitStatus::Success)
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

/// Asks, then runs the `steps` batch by batch (`batch(step, start, n)` does one atomic
/// batch of at most `n` jobs from index `start`), stopping between batches on Ctrl-C.
pub async fn execute<T>(
    steps: Vec<Step<T>>,
    ask: Ask<'_>,
    g: &GlobalArgs,
    mut batch: impl AsyncFnMut(&Step<T>, u64, u64) -> Result<Batch>,
) -> Result<ExitStatus> {
    let steps: Vec<Step<T>> = steps.into_iter().filter(|s| s.count > 0).collect();
    let total = steps
        .iter()
        .map(|s| s.count)
        .sum::<u64>()
        .min(ask.limit.unwrap_or(u64::MAX));
    let mut queues: Vec<&String> = steps.iter().map(|s| &s.queue).collect();
    queues.dedup();
    if total == 0 {
        output::note(format!("nothing {}: no {} jobs", ask.done, ask.what));
        return finish(&Report::default(), g, ask.done);
    }
    let question = format!("{} {}?", ask.verb, describe(total, ask.what, queues.len()));
    if !confirm(question, ask.yes).await? {
        output::note(format!("nothing {}", ask.done));
        return Ok(ExitStatus::Failure);
    }
    let stop = Interrupt::listen();
    let bar = bar(total, ask.done);
    let mut report = Report::default();
    for step in &steps {
        let mut start = 0;
        while report.total < total && !stop.is_set() {
            let n = BATCH.min(total - report.total);
            let b = batch(step, start, n).await?;
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
    finish(&report, g, ask.done)
}
