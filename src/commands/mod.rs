//! One module per subcommand; each has a `run` that returns an exit status or an error.

mod batch;
mod bench;
mod demo;
mod enqueue;
mod inspect;
mod worker;

use jobq::cli::{Cli, Command, GlobalArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::{RetryPolicy, Store};

pub async fn run(cli: Cli) -> Result<ExitStatus> {
    let g = &cli.global;
    match cli.command {
        Command::Enqueue(args) => enqueue::run(args, g).await,
        Command::Worker(args) => worker::run(args, g).await,
        Command::Inspect(args) => inspect::run(args, g).await,
        Command::Demo(args) => demo::run(args, g).await,
        Command::Bench(args) => bench::run(args, g).await,
    }
}

/// Connects for a one-shot command: short retry budget, errors reported at once.
async fn connect(g: &GlobalArgs) -> Result<Store> {
    Store::connect(&g.redis_url, &g.namespace, RetryPolicy::CLI).await
}
