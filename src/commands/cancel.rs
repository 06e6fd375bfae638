//! `jobq cancel ID...` (and `POST /api/jobs/{id}/cancel`, which calls [`cancel_one`]).

use jobq::cli::{CancelArgs, GlobalArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::records::Changed;
use jobq::store::CancelOutcome;

pub async fn run(args: CancelArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    super::each_id(&args.ids, g, human, |id| {
        let store = &store;
        async move { cancel_one(store, &id).await }
    })
    .await?;
    Ok(ExitStatus::Success)
}

/// Cancels one job: `cancelled`, or `cancelling` while its worker stops the handler; a job
/// cancelled already is no error (`changed: false`).
pub async fn cancel_one(store: &jobq::Store, id: &str) -> Result<Changed> {
    let (state, changed) = match store.cancel(id).await? {
        CancelOutcome::Cancelled => ("cancelled", true),
        CancelOutcome::Cancelling => ("cancelling", true),
        CancelOutcome::AlreadyCancelled => ("cancelled", false),
    };
    Ok(Changed {
        id: id.to_string(),
        state: state.into(),
        changed,
    })
}

fn human(c: &Changed) -> String {
    match (c.state.as_str(), c.changed) {
        ("cancelling", _) => format!("{} cancelling (its worker is stopping the handler)", c.id),
        (_, false) => format!("{} was already cancelled", c.id),
        _ => format!("{} cancelled", c.id),
    }
}
