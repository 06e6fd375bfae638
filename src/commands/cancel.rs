//! `jobq cancel ID...`

use serde::Serialize;

use jobq::cli::{CancelArgs, GlobalArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;

use crate::output;

#[derive(Serialize)]
struct Cancelled<'a> {
    id: &'a str,
    /// `cancelled` (done) or `cancelling` (running: its worker is stopping it).
    state: &'static str,
}

pub async fn run(args: CancelArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    super::each_id(&args.ids, |id| {
        let store = &store;
        async move {
            let now = store.cancel(&id).await?;
            let state = if now { "cancelled" } else { "cancelling" };
            if g.json {
                output::json(&Cancelled { id: &id, state })
            } else if now {
                output::line(format!("{id} cancelled"))
            } else {
                output::line(format!("{id} cancelling (its worker is stopping the handler)"))
            }
        }
    })
    .await?;
    Ok(ExitStatus::Success)
}
