//! One module per subcommand; each has a `run` that returns an exit status or an error.

mod archive;
mod batch;
mod bench;
mod cancel;
mod demo;
mod dlq;
mod doctor;
mod enqueue;
mod follow;
mod history;
mod inspect;
mod install;
mod jobtype;
mod limit;
mod ls;
mod migrate;
mod notify;
mod pause;
mod progress;
mod purge;
mod queue;
mod retry;
mod route;
mod schedule;
mod serve;
mod stats;
mod tail;
mod wait;
mod watch;
mod worker;
mod workers;

use jobq::cli::{Cli, Command, GlobalArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::{RetryPolicy, Store};

use crate::ops::new_job;

pub async fn run(cli: Cli) -> Result<ExitStatus> {
    let g = &cli.global;
    // Checked for every command, also those that never use it (demo, bench): a typo in a
    // cron line should not pass silently.
    jobq::job::validate_name("namespace", &g.namespace)?;
    match cli.command {
        Command::Enqueue(args) => match args.batch.clone() {
            Some(path) => {
                new_job::check_flags(&args)?;
                batch::run(&path, &args, g).await
            }
            None => enqueue::run(args, g).await,
        },
        Command::Worker(args) => worker::run(args, g).await,
        Command::Inspect(args) => inspect::run(args, g).await,
        Command::Demo(args) => demo::run(args, g).await,
        Command::Doctor(args) => doctor::run(args, g).await,
        Command::Progress(args) => progress::run(args, g).await,
        Command::Watch(args) => watch::run(args, g).await,
        Command::Wait(args) => wait::run(args, g).await,
        Command::Tail(args) => tail::run(args, g).await,
        Command::Ls(args) => ls::run(args, g).await,
        Command::Retry(args) => retry::run(args, g).await,
        Command::Cancel(args) => cancel::run(args, g).await,
        Command::Dlq(cmd) => dlq::run(cmd, g).await,
        Command::Pause(args) => pause::pause(args, g).await,
        Command::Resume(args) => pause::resume(args, g).await,
        Command::Purge(args) => purge::run(args, g).await,
        Command::Stats(args) => stats::run(args, g).await,
        Command::Workers(args) => workers::run(args, g).await,
        Command::Bench(args) => bench::run(args, g).await,
        Command::Schedule(cmd) => schedule::run(cmd, g).await,
        Command::Route(cmd) => route::run(cmd, g).await,
        Command::Limit(cmd) => limit::run(cmd, g).await,
        Command::Type(cmd) => jobtype::run(cmd, g).await,
        Command::Archive(args) => archive::run(args, g).await,
        Command::History(args) => history::run(args, g).await,
        Command::Notify(args) => notify::run(args, g).await,
        Command::Serve(args) => serve::run(args, g).await,
        Command::Migrate(args) => migrate::run(args, g).await,
        Command::Queue(cmd) => queue::run(cmd, g).await,
        Command::Completions(args) => install::completions(args),
        Command::Man(args) => install::man(args),
    }
}

/// Connects for a one-shot command: short retry budget, errors reported at once.
async fn connect(g: &GlobalArgs) -> Result<Store> {
    Store::connect_with(&g.connection(), &g.namespace, RetryPolicy::CLI).await
}

/// Runs `op` on each id, going on past errors, and prints what it returns: one line per id
/// as it happens (`human`), or with `--json` ONE array of every id that worked, at the end
/// (README "JSON output"). Each error but the last is reported on stderr as it happens; the
/// last one becomes the command's error (and exit code).
async fn each_id<T, F, Fut>(
    ids: &[String],
    g: &GlobalArgs,
    human: impl Fn(&T) -> String,
    mut op: F,
) -> Result<()>
where
    T: serde::Serialize,
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    // Check every id first: a typo must not leave half the list done.
    for id in ids {
        jobq::job::queue_of(id)?;
    }
    let mut last = None;
    let mut done = Vec::new();
    for id in ids {
        match op(id.clone()).await {
            Ok(item) if g.json => done.push(item),
            Ok(item) => crate::output::line(human(&item))?,
            Err(e) => {
                if let Some(prev) = last.replace(e) {
                    crate::output::note(format!("error: {prev}"));
                }
            }
        }
    }
    if g.json {
        crate::output::json(&done)?;
    }
    last.map_or(Ok(()), Err)
}
