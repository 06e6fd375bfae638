//! `jobq purge Q [--state ...]` and the deleting half of `jobq dlq purge`.

use jobq::cli::{GlobalArgs, PurgeArgs, PurgeState};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::job::State;

use crate::ops::bulk::Caller;
use crate::ops::delete::delete_bulk;

pub async fn run(args: PurgeArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let states = match args.state {
        PurgeState::Queued => vec![State::Queued],
        PurgeState::Scheduled => vec![State::Scheduled],
        PurgeState::Waiting => vec![State::Waiting],
        PurgeState::Dead => vec![State::Dead],
        PurgeState::Cancelled => vec![State::Cancelled],
        PurgeState::Completed => vec![State::Completed],
        PurgeState::All => vec![
            State::Queued,
            State::Scheduled,
            State::Waiting,
            State::Dead,
            State::Cancelled,
            State::Completed,
        ],
    };
    let store = super::connect(g).await?;
    store.known_queue(&args.queue).await?;
    let what = format!("{:?}", args.state).to_lowercase();
    let what = if what == "all" {
        "non-running".to_string()
    } else {
        what
    };
    delete_bulk(
        &store,
        &[args.queue],
        &states,
        None,
        None,
        (&what, args.yes.yes),
        Caller::Cli(g),
    )
    .await
    .map(|d| d.status)
}
