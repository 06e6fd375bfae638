//! Jobs as events, for `jobq watch|wait|tail` and the server-sent events of `jobq serve`.

use jobq::job::{Job, State};
use jobq::store::Event;

/// A job's current state as an event (`event: "snapshot"`), so readers handle one kind of thing.
pub fn snapshot_event(job: &Job) -> Event {
    let time = [job.finished_at, job.started_at, job.created_at]
        .into_iter()
        .flatten()
        .next()
        .map_or(0, |t| t.timestamp_millis());
    Event {
        event_id: String::new(),
        event: "snapshot".into(),
        id: job.id.clone(),
        job_type: job.job_type.clone(),
        queue: job.queue.clone(),
        state: job.state,
        attempt: job.attempt,
        progress: job.progress.clone(),
        time,
        error: job.error.clone().filter(|_| job.state != State::Completed),
        result: job.result.clone(),
        // A scheduled job (delayed, or waiting for its retry) says when it is due.
        retry_at: job
            .scheduled_at
            .filter(|_| job.state == State::Scheduled)
            .map(|t| t.timestamp_millis()),
    }
}
