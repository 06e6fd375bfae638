//! Following jobs live, shared by `watch`, `wait` and `enqueue --wait/--watch`: subscribe
//! first, then read each job together with its queue's latest event id, then apply only the
//! events after that id. An update published between the read and the subscription cannot
//! be missed, and none is shown twice.

use std::collections::{BTreeSet, HashMap};

use chrono::{Local, TimeZone};

use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::{queue_of, Progress, State};
use jobq::store::{Event, Subscription};
use jobq::Store;

use crate::ops::events::snapshot_event;

pub struct Tracker<'a> {
    store: &'a Store,
    queues: Vec<String>,
    sub: Subscription,
    /// Per job: the newest event id already reflected.
    seen: HashMap<String, String>,
    /// Snapshot events not yet handed out (after open or a reconnect).
    pending: Vec<Event>,
}

impl<'a> Tracker<'a> {
    /// Starts following `ids` (all validated first: nothing is waited on for a typo).
    pub async fn open(store: &'a Store, ids: &[String]) -> Result<Tracker<'a>> {
        let queues: BTreeSet<String> = ids
            .iter()
            .map(|id| queue_of(id).map(str::to_string))
            .collect::<Result<_>>()?;
        let queues: Vec<String> = queues.into_iter().collect();
        let sub = store.subscribe(&queues).await?;
        let mut tracker = Tracker {
            store,
            queues,
            sub,
            seen: ids.iter().map(|id| (id.clone(), String::new())).collect(),
            pending: Vec::new(),
        };
        tracker.snapshot().await?;
        Ok(tracker)
    }

    async fn snapshot(&mut self) -> Result<()> {
        let ids: Vec<String> = self.seen.keys().cloned().collect();
        for id in ids {
            let (job, last) = self.store.snapshot(&id).await?;
            self.seen.insert(id, last);
            self.pending.push(snapshot_event(&job));
        }
        Ok(())
    }

    /// The next change of a followed job: first one snapshot event per job, then live events.
    pub async fn next(&mut self) -> Result<Event> {
        loop {
            if !self.pending.is_empty() {
                return Ok(self.pending.remove(0));
            }
            let Some(ev) = self.sub.next().await else {
                // The connection dropped: events may have been missed, so start over.
                self.reconnect().await?;
                continue;
            };
            if let Some(last) = self.seen.get_mut(&ev.id) {
                if ev.is_after(last) {
                    last.clone_from(&ev.event_id);
                    return Ok(ev);
                }
            }
        }
    }

    /// Subscribes and reads the snapshots again, waiting out a Redis that is restarting (the
    /// job goes on without us watching it; giving up would report a failure that is not one).
    async fn reconnect(&mut self) -> Result<()> {
        let (store, queues) = (self.store, &self.queues);
        self.sub = outlast(|| store.subscribe(queues)).await?;
        let ids: Vec<String> = self.seen.keys().cloned().collect();
        for id in ids {
            let (job, last) = outlast(|| store.snapshot(&id)).await?;
            self.seen.insert(id, last);
            self.pending.push(snapshot_event(&job));
        }
        Ok(())
    }

    /// Stops following a job that has ended.
    pub fn forget(&mut self, id: &str) {
        self.seen.remove(id);
    }
}

/// Runs `op` until it works, waiting out a Redis that is unreachable (restarting): the
/// long-lived views (`watch`, `tail --follow`, `stats --watch`) run until Ctrl-C, and an
/// outage is no reason to stop. Says so once on stderr, and again when it is back. Other
/// errors (a wrong password) end the view.
pub async fn outlast<T, F, Fut>(mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut delay = std::time::Duration::from_millis(50);
    let mut told = false;
    loop {
        match op().await {
            Ok(v) => {
                if told {
                    crate::output::note("reconnected to Redis");
                }
                return Ok(v);
            }
            Err(Error::Unavailable(why)) => {
                if !told {
                    crate::output::note(format!("lost the connection to Redis, reconnecting: {why}"));
                    told = true;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(2));
            }
            Err(e) => return Err(e),
        }
    }
}

/// How an event ends a watch: `None` while the attempt goes on.
pub fn watch_outcome(ev: &Event) -> Option<ExitStatus> {
    match ev.state {
        State::Completed => Some(ExitStatus::Success),
        State::Dead => Some(ExitStatus::Dead),
        State::Cancelled => Some(ExitStatus::Cancelled),
        State::Scheduled if ev.event == "retry_scheduled" => Some(ExitStatus::Retrying),
        _ => None,
    }
}

/// `43%  21500/50000  writing chunk 43`
pub fn progress_text(p: &Progress) -> String {
    let mut parts = Vec::new();
    if let Some(pct) = p.percent {
        parts.push(format!("{}%", num(pct.floor())));
    }
    match (p.current, p.total) {
        (Some(c), Some(t)) => parts.push(format!("{}/{}", num(c), num(t))),
        (Some(c), None) => parts.push(num(c)),
        _ => {}
    }
    if let Some(m) = &p.message {
        parts.push(m.clone());
    }
    parts.join("  ")
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.2}")
    }
}

/// `21:40:01.123+01:00`: local time with its UTC offset (as everywhere in human output).
pub fn clock(ms: i64) -> String {
    Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%H:%M:%S%.3f%:z").to_string())
        .unwrap_or_else(|| "--:--:--.---".into())
}

/// What happened, in words: `started attempt 1`, `progress 43%  21500/50000  chunk 43`, ...
pub fn describe(ev: &Event) -> String {
    let what = match ev.event.as_str() {
        "snapshot" => match ev.retry_at.and_then(jobq::job::millis_to_time) {
            Some(due) if ev.state == State::Scheduled => {
                format!("is scheduled, due {}", crate::output::when(due))
            }
            // The same words as the live event, whether or not we saw it happen.
            _ if ev.state == State::Dead => format!("is dead after attempt {}", ev.attempt),
            _ => format!("is {}", ev.state),
        },
        "started" => format!("started attempt {}", ev.attempt),
        "progress" => format!(
            "progress {}",
            ev.progress.as_ref().map(progress_text).unwrap_or_default()
        ),
        "retry_scheduled" => format!(
            "attempt {} failed; retry at {}",
            ev.attempt,
            ev.retry_at.map(clock).unwrap_or_default()
        ),
        "dead" => format!("dead after attempt {}", ev.attempt),
        other => other.replace('_', " "),
    };
    let detail = match (&ev.result, &ev.error) {
        (Some(r), _) if ev.state == State::Completed => format!(": {r}"),
        (_, Some(e)) if ev.state != State::Completed && ev.state != State::Active => {
            format!(": {}", jobq::summary::error_summary(e))
        }
        _ => String::new(),
    };
    if ev.event == "snapshot" && ev.state == State::Active {
        if let Some(p) = &ev.progress {
            return format!("{what}, {}", progress_text(p));
        }
    }
    format!("{what}{detail}")
}

/// One event as one line: `21:40:01.123 high high-01J… export_csv started attempt 1`.
pub fn event_line(ev: &Event) -> String {
    format!(
        "{} {} {} {} {}",
        clock(ev.time),
        ev.queue,
        ev.id,
        ev.job_type,
        describe(ev)
    )
}
