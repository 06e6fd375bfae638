//! Schedules as `jobq schedule ls --json` prints them and `GET /api/schedules` answers.

use chrono::{DateTime, Utc};
use jobq::job::millis_to_time;
use jobq::schedule::ScheduleDef;
use jobq::store::Schedule;
use serde::Serialize;

/// One schedule as `schedule ls --json` prints it: the definition plus where it stands.
#[derive(Serialize)]
pub struct View<'a> {
    #[serde(flatten)]
    def: &'a ScheduleDef,
    next_run: Option<DateTime<Utc>>,
    last_run: Option<DateTime<Utc>>,
    last_job: Option<&'a str>,
    last_error: Option<&'a str>,
    paused: bool,
}

/// Every schedule as `schedule ls --json` prints them (and `GET /api/schedules` answers).
pub fn views(schedules: &[Schedule]) -> Vec<View<'_>> {
    schedules.iter().map(view).collect()
}

/// One schedule as `schedule add --json` prints it.
pub fn view(s: &Schedule) -> View<'_> {
    View {
        def: &s.def,
        next_run: s
            .state
            .next_ms
            .filter(|_| !s.state.paused)
            .and_then(millis_to_time),
        last_run: s.state.last_ms.and_then(millis_to_time),
        last_job: s.state.last_job.as_deref(),
        last_error: s.state.last_error.as_deref(),
        paused: s.state.paused,
    }
}
