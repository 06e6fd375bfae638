//! Server-sent event streams, fed by the process's one subscription ([`super::hub`]).
//!
//! `GET /api/jobs/{id}/events`: the job's snapshot (`event: "snapshot"`, as `jobq watch --json`
//! prints it), then each of its events, ending after the one that ends the job.
//!
//! `GET /api/events?queue=a,b`: every event of those queues (default: all, including queues
//! created later). Each SSE `id` is a position in the queues' event streams: with one queue it
//! is that stream's entry id (as `jobq tail --since` takes it); otherwise `T,q1=ID,q2=ID`, the
//! last entry sent per queue and, for queues not listed, "everything from Redis time T on".
//! A client that reconnects with `Last-Event-ID` gets exactly the events after it (up to the
//! ~10,000 a stream keeps), then live ones: the stream is read first, then the live events
//! newer than what was read.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use jobq::error::{Error, Result};
use jobq::job::{queue_of, validate_name};
use jobq::store::{stream_pos, Event};
use jobq::Store;

use super::api::Params;
use super::errors::ApiResult;
use super::hub::Msg;
use super::Shared;
use crate::ops::events::snapshot_event;

/// Stream entries read per round trip when catching up.
const PAGE: usize = 1000;

fn sse(rx: mpsc::Receiver<SseEvent>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    use futures_util::StreamExt;
    Sse::new(ReceiverStream::new(rx).map(Ok::<_, Infallible>)).keep_alive(KeepAlive::default())
}

fn frame(ev: &Event, id: &str) -> SseEvent {
    let data = serde_json::to_string(ev).unwrap_or_default();
    SseEvent::default().id(id).data(data)
}

/// `GET /api/jobs/{id}/events`
pub async fn job_events(
    State(app): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let queue = queue_of(&id)?.to_string();
    // Listen first, then read the snapshot: nothing that happens in between is lost.
    let rx = app.hub.listen(std::slice::from_ref(&queue)).await;
    let (job, last) = app.store.snapshot(&id).await?;
    let (tx, out) = mpsc::channel(64);
    let first = snapshot_event(&job);
    tokio::spawn(follow_job(app, id, first, last, rx, tx));
    Ok(sse(out))
}

async fn follow_job(
    app: Shared,
    id: String,
    first: Event,
    mut last: String,
    mut rx: broadcast::Receiver<Msg>,
    tx: mpsc::Sender<SseEvent>,
) {
    let mut ended = first.state.is_final();
    if tx.send(frame(&first, &last)).await.is_err() || ended {
        return;
    }
    while !ended {
        let msg = tokio::select! {
            msg = rx.recv() => msg,
            _ = app.shutdown.cancelled() => return,
            _ = tx.closed() => return,
        };
        let ev = match msg {
            Ok(Msg::Event(ev)) if ev.id == id && ev.is_after(&last) => (*ev).clone(),
            Ok(Msg::Resync(qs)) if !qs.contains(&ev_queue(&id)) => continue,
            Ok(Msg::Event(_)) => continue,
            // Missed messages: the job as it is now stands in for them.
            Ok(Msg::Resync(_)) | Err(broadcast::error::RecvError::Lagged(_)) => {
                match app.store.snapshot(&id).await {
                    Ok((job, at)) if stream_pos(&at) > stream_pos(&last) => {
                        last = at;
                        snapshot_event(&job)
                    }
                    Ok(_) => continue,
                    Err(_) => return,
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if !ev.event_id.is_empty() {
            last.clone_from(&ev.event_id);
        }
        ended = ev.state.is_final();
        if tx.send(frame(&ev, &last)).await.is_err() {
            return;
        }
    }
}

fn ev_queue(id: &str) -> String {
    queue_of(id).unwrap_or_default().to_string()
}

/// Where a queue-events client is: per queue, the last entry sent; for other queues, the
/// Redis time (ms) from which on everything is still to be sent.
#[derive(Debug, Clone, PartialEq)]
struct Position {
    /// `Some(q)`: a single-queue stream, whose ids are plain stream ids.
    single: Option<String>,
    base: u64,
    per: BTreeMap<String, String>,
}

impl Position {
    fn parse(text: &str, single: Option<&str>) -> Result<Position> {
        let bad = || {
            Error::invalid(format!(
                "Last-Event-ID {text:?} is not an id this server sent for these queues"
            ))
        };
        let is_id = |s: &str| {
            s.split_once('-')
                .is_some_and(|(a, b)| a.parse::<u64>().is_ok() && b.parse::<u64>().is_ok())
        };
        if let Some(q) = single {
            if !is_id(text) {
                return Err(bad());
            }
            return Ok(Position {
                single: Some(q.to_string()),
                base: 0,
                per: BTreeMap::from([(q.to_string(), text.to_string())]),
            });
        }
        let mut parts = text.split(',');
        let base = parts.next().and_then(|b| b.parse().ok()).ok_or_else(bad)?;
        let mut per = BTreeMap::new();
        for part in parts {
            let (q, id) = part.split_once('=').ok_or_else(bad)?;
            validate_name("queue", q).map_err(|_| bad())?;
            if !is_id(id) {
                return Err(bad());
            }
            per.insert(q.to_string(), id.to_string());
        }
        Ok(Position {
            single: None,
            base,
            per,
        })
    }

    fn render(&self) -> String {
        if let Some(q) = &self.single {
            return self.per.get(q).cloned().unwrap_or_else(|| self.after(q));
        }
        let mut s = self.base.to_string();
        for (q, id) in &self.per {
            s.push_str(&format!(",{q}={id}"));
        }
        s
    }

    /// The stream id after which `queue`'s events are still to be sent.
    fn after(&self, queue: &str) -> String {
        self.per
            .get(queue)
            .cloned()
            .unwrap_or_else(|| format!("{}-{}", self.base.saturating_sub(1), u64::MAX))
    }

    fn is_new(&self, ev: &Event) -> bool {
        ev.is_after(&self.after(&ev.queue))
    }

    fn sent(&mut self, ev: &Event) {
        self.per.insert(ev.queue.clone(), ev.event_id.clone());
    }
}

/// Which queues a client follows: the named ones, or all (also those created later).
#[derive(Clone)]
struct Scope(Option<BTreeSet<String>>);

impl Scope {
    fn contains(&self, queue: &str) -> bool {
        self.0.as_ref().is_none_or(|qs| qs.contains(queue))
    }

    async fn queues(&self, store: &Store) -> Result<Vec<String>> {
        match &self.0 {
            Some(qs) => Ok(qs.iter().cloned().collect()),
            None => store.queue_names().await,
        }
    }
}

/// `GET /api/events?queue=…`
pub async fn queue_events(
    State(app): State<Shared>,
    params: Params,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    params.only(&["queue"])?;
    let named: Option<BTreeSet<String>> = params.list("queue").map(|qs| qs.into_iter().collect());
    if let Some(qs) = &named {
        for q in qs {
            app.store.known_queue(q).await?;
        }
    }
    let single = named
        .as_ref()
        .filter(|qs| qs.len() == 1)
        .and_then(|qs| qs.first().cloned());
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(|v| Position::parse(v, single.as_deref()))
        .transpose()?;
    let scope = Scope(named);
    let listen = scope.queues(&app.store).await?;
    // The start time is read before listening: every event from then on is live or replayed.
    let now = app.store.server_time_ms().await?;
    let rx = app.hub.listen(&listen).await;
    let (pos, catch_up) = match resume {
        Some(p) => (p, true),
        None => {
            let mut p = Position {
                single: single.clone(),
                base: now,
                per: BTreeMap::new(),
            };
            if let Some(q) = &single {
                // A fresh single-queue stream starts at the stream's current end.
                let last = app.store.events_last(q, 1).await?;
                p.per.insert(
                    q.clone(),
                    last.last().map_or_else(|| "0-0".into(), |e| e.event_id.clone()),
                );
            }
            (p, false)
        }
    };
    let (tx, out) = mpsc::channel(256);
    tokio::spawn(follow_queues(app, scope, pos, catch_up, rx, tx));
    Ok(sse(out))
}

async fn follow_queues(
    app: Shared,
    scope: Scope,
    mut pos: Position,
    catch_up: bool,
    mut rx: broadcast::Receiver<Msg>,
    tx: mpsc::Sender<SseEvent>,
) {
    if catch_up {
        let Ok(queues) = scope.queues(&app.store).await else {
            return;
        };
        if replay(&app.store, &queues, &mut pos, &tx).await.is_err() {
            return;
        }
    }
    loop {
        let msg = tokio::select! {
            msg = rx.recv() => msg,
            _ = app.shutdown.cancelled() => return,
            _ = tx.closed() => return,
        };
        let done = match msg {
            Ok(Msg::Event(ev)) if scope.contains(&ev.queue) && pos.is_new(&ev) => {
                pos.sent(&ev);
                tx.send(frame(&ev, &pos.render())).await.is_ok()
            }
            Ok(Msg::Event(_)) => true,
            Ok(Msg::Resync(qs)) => {
                let queues: Vec<String> = qs.iter().filter(|q| scope.contains(q)).cloned().collect();
                replay(&app.store, &queues, &mut pos, &tx).await.is_ok()
            }
            Err(broadcast::error::RecvError::Lagged(_)) => match scope.queues(&app.store).await {
                Ok(queues) => replay(&app.store, &queues, &mut pos, &tx).await.is_ok(),
                Err(_) => false,
            },
            Err(broadcast::error::RecvError::Closed) => false,
        };
        if !done {
            return;
        }
    }
}

/// Width of one bar of the dashboard's throughput chart, and how many it shows (5 minutes).
const CHART_BUCKET_MS: u64 = 5_000;
const CHART_BUCKETS: u64 = 60;

/// `GET /api/throughput`: what the dashboard's chart shows at page load, instead of the page
/// replaying minutes of events: completed jobs and failed attempts (`retry_scheduled`,
/// `dead`) per 5-second bucket of the last 5 minutes (Redis clock, by each event's own time),
/// counted here from the queues' event streams. `position` is where that count ends, as an
/// `/api/events` id: opened with it as `Last-Event-ID`, the event stream sends every later
/// event, and none of those counted.
#[derive(Debug, serde::Serialize)]
pub struct Throughput {
    bucket_ms: u64,
    /// Index (Unix ms / bucket_ms) of the first bucket; the last one is the current one.
    first: u64,
    completed: Vec<u64>,
    failed: Vec<u64>,
    position: String,
}

pub async fn throughput(State(app): State<Shared>, params: Params) -> ApiResult<axum::Json<Throughput>> {
    params.only(&[])?;
    // Read before the streams: events from then on are either counted or after `position`.
    let now = app.store.server_time_ms().await?;
    let first = (now / CHART_BUCKET_MS).saturating_sub(CHART_BUCKETS - 1);
    let mut pos = Position {
        single: None,
        base: now,
        per: BTreeMap::new(),
    };
    let mut out = Throughput {
        bucket_ms: CHART_BUCKET_MS,
        first,
        completed: vec![0; CHART_BUCKETS as usize],
        failed: vec![0; CHART_BUCKETS as usize],
        position: String::new(),
    };
    let start = format!("{}-{}", (first * CHART_BUCKET_MS).saturating_sub(1), u64::MAX);
    for q in app.store.queue_names().await? {
        let mut after = start.clone();
        loop {
            let page = app.store.events_after(&q, &after, PAGE).await?;
            for ev in &page {
                pos.sent(ev);
                let bucket = (ev.time.max(0) as u64 / CHART_BUCKET_MS).checked_sub(first);
                let counts = match ev.event.as_str() {
                    "completed" => &mut out.completed,
                    "retry_scheduled" | "dead" => &mut out.failed,
                    _ => continue,
                };
                if let Some(n) = bucket.and_then(|b| counts.get_mut(b as usize)) {
                    *n += 1;
                }
            }
            match page.last() {
                Some(newest) if page.len() == PAGE => after.clone_from(&newest.event_id),
                _ => break,
            }
        }
    }
    out.position = pos.render();
    Ok(axum::Json(out))
}

/// Sends every stored event of `queues` after `pos`, oldest first, advancing `pos`.
async fn replay(
    store: &Store,
    queues: &[String],
    pos: &mut Position,
    tx: &mpsc::Sender<SseEvent>,
) -> Result<()> {
    let mut events = Vec::new();
    for q in queues {
        let mut after = pos.after(q);
        loop {
            let page = store.events_after(q, &after, PAGE).await?;
            let Some(newest) = page.last() else { break };
            after.clone_from(&newest.event_id);
            let full = page.len() == PAGE;
            events.extend(page);
            if !full {
                break;
            }
        }
    }
    events.sort_by_key(|e| stream_pos(&e.event_id));
    for ev in events {
        pos.sent(&ev);
        if tx.send(frame(&ev, &pos.render())).await.is_err() {
            return Err(Error::Io("client gone".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        let p = Position::parse("1763850000000,high=1763850000123-0,low=1763850000001-4", None).unwrap();
        assert_eq!(
            p.render(),
            "1763850000000,high=1763850000123-0,low=1763850000001-4"
        );
        assert_eq!(p.after("other"), format!("1763849999999-{}", u64::MAX));
        let s = Position::parse("1763850000123-7", Some("high")).unwrap();
        assert_eq!(s.render(), "1763850000123-7");
        for bad in ["", "x", "1,high", "1,hi:gh=1-0", "1,high=x"] {
            assert!(Position::parse(bad, None).is_err(), "{bad}");
        }
        assert!(Position::parse("12", Some("high")).is_err());
    }
}
