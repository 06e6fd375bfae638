//! One module per subcommand; each has a `run` that returns an exit status or an error.

mod batch;
mod bench;
mod bulk;
mod cancel;
mod demo;
mod dlq;
mod doctor;
mod enqueue;
mod follow;
mod inspect;
mod ls;
mod pause;
mod progress;
mod purge;
mod retry;
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

pub async fn run(cli: Cli) -> Result<ExitStatus> {
    let g = &cli.global;
    // Checked for every command, also those that never use it (demo, bench): a typo in a
    // cron line should not pass silently.
    jobq::job::validate_name("namespace", &g.namespace)?;
    match cli.command {
        Command::Enqueue(args) => enqueue::run(args, g).await,
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
    }
}

/// Connects for a one-shot command: short retry budget, errors reported at once.
async fn connect(g: &GlobalArgs) -> Result<Store> {
    Store::connect(&g.redis_url, &g.namespace, RetryPolicy::CLI).await
}

/// The queues a command works on: the one named (which must exist), or all of them.
async fn target_queues(store: &Store, queue: Option<&str>) -> Result<Vec<String>> {
    match queue {
        Some(q) => {
            store.known_queue(q).await?;
            Ok(vec![q.to_string()])
        }
        None => store.queue_names().await,
    }
}

/// Runs `op` on each id, going on past errors: each error but the last is reported on stderr
/// as it happens, the last one becomes the command's error (and exit code).
async fn each_id<F, Fut>(ids: &[String], mut op: F) -> Result<()>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    // Check every id first: a typo must not leave half the list done.
    for id in ids {
        jobq::job::queue_of(id)?;
    }
    let mut last = None;
    for id in ids {
        if let Err(e) = op(id.clone()).await {
            if let Some(prev) = last.replace(e) {
                crate::output::note(format!("error: {prev}"));
            }
        }
    }
    last.map_or(Ok(()), Err)
}
