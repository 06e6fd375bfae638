//! `jobq`: parse the command line, run the command, map the outcome to an exit code.
//! Only this file prints the final error.

mod commands;
mod ops;
mod output;
mod serve;

use std::process::ExitCode;

use clap::Parser;
use jobq::cli::{Cli, Command};
use jobq::exit::ExitStatus;

fn main() -> ExitCode {
    quiet_panics();
    // `COMPLETE=bash jobq -- ...` (from the script of `jobq completions`): answer and exit.
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command).complete();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    let runtime = match runtime(&cli.command) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jobq: error: cannot start the async runtime: {e}");
            return ExitStatus::Failure.into();
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(status) => status.into(),
        Err(err) => {
            eprintln!("jobq: error: {err}");
            ExitStatus::from(&err).into()
        }
    }
}

/// A single `jobq enqueue` runs on this thread alone: the multi-thread runtime reads the
/// cgroup CPU quota, starts a thread per core and hands every reply across threads, work a
/// process that sends three commands does not need (issue 11: scripts enqueue in loops).
/// Bulk and long-running commands keep their worker threads.
fn runtime(command: &Command) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match command {
        Command::Enqueue(args) if args.batch.is_none() => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build()
}

/// Help and version go to stdout as usual; a usage error becomes one line on stderr.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitStatus::Usage.into()
        } else {
            ExitStatus::Success.into()
        };
    }
    let rendered = err.render().to_string();
    let mut lines = rendered
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty());
    let mut message = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    // Indented lines right after the first one continue it (e.g. the missing arguments).
    let mut rest: Vec<&str> = lines.collect();
    while let Some(more) = rest
        .first()
        .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with("tip:"))
    {
        message.push(' ');
        message.push_str(more.trim());
        rest.remove(0);
    }
    let tip = rest
        .iter()
        .find(|l| l.trim_start().starts_with("tip:"))
        .map(|t| format!(" ({})", t.trim()))
        .unwrap_or_default();
    let help = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let help = match help {
        Some(sub) if jobq::cli::is_subcommand(&sub) => format!("jobq {sub} --help"),
        _ => "jobq --help".to_string(),
    };
    eprintln!("jobq: error: {message}{tip} (see `{help}`)");
    ExitStatus::Usage.into()
}

/// A bug must not greet the user with a backtrace: one line, and a way to report it.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let msg = msg.split_whitespace().collect::<Vec<_>>().join(" ");
        eprintln!("jobq: internal error: {msg}{at}; please report this as a bug");
    }));
}
