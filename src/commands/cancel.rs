//! `jobq cancel ID...` (and `POST /api/jobs/{id}/cancel`, which calls the same [`cancel_one`]).

use jobq::cli::{CancelArgs, GlobalArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::records::Changed;

use crate::ops::jobs::cancel_one;

pub async fn run(args: CancelArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    super::each_id(&args.ids, g, human, |id| {
        let store = &store;
        async move { cancel_one(store, &id).await }
    })
    .await?;
    Ok(ExitStatus::Success)
}

fn human(c: &Changed) -> String {
    match (c.state.as_str(), c.changed) {
        ("cancelling", _) => format!("{} cancelling (its worker is stopping the handler)", c.id),
        (_, false) => format!("{} was already cancelled", c.id),
        _ => format!("{} cancelled", c.id),
    }
}
