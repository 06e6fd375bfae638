//! One job at a time: what `jobq cancel|retry ID...` do per id and `POST /api/jobs/{id}/cancel|retry`
//! answer.

use jobq::error::Result;
use jobq::records::Changed;
use jobq::store::CancelOutcome;
use jobq::Store;

/// Cancels one job: `cancelled`, or `cancelling` while its worker stops the handler; a job
/// cancelled already is no error (`changed: false`).
pub async fn cancel_one(store: &Store, id: &str) -> Result<Changed> {
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

/// Requeues one job now (see [`Store::retry`]); `POST /api/jobs/{id}/retry` answers the same.
pub async fn retry_one(store: &Store, id: &str) -> Result<Changed> {
    store.retry(id).await?;
    Ok(Changed {
        id: id.to_string(),
        state: "queued".into(),
        changed: true,
    })
}
