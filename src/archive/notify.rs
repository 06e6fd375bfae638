//! `jobq notify`: POSTs job events to a webhook, at least once, in order per queue.
//!
//! It reads each queue's event stream (the same events `jobq tail --json` prints) from its own
//! position, kept in Redis per notifier name, so a restart resumes where the last run stopped
//! and workers never wait for it. A failing receiver is retried with backoff (at most
//! [`MAX_BACKOFF`] between tries) and the position does not move until it accepts, so a
//! receiver that was down gets everything afterwards — as long as the stream still holds it:
//! each queue's stream keeps about [`EVENTS_MAXLEN`] events (~3,300 jobs: a job makes at least
//! three events), and an outage longer than that many events is reported as a possible gap.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::archiver::{info, warn};
use super::sign;
use crate::error::{Error, Result};
use crate::store::{Event, Store, EVENTS_MAXLEN};
use crate::worker::Backoff;

/// Longest wait between two tries of one delivery: a receiver that comes back is served
/// within this long.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// How long one blocking stream read waits before it is renewed (dead connections get noticed).
const BLOCK: Duration = Duration::from_secs(5);
/// The position is saved at least this often while events flow (and at every pause): a crash
/// repeats at most this much delivery.
const SAVE_EVERY: Duration = Duration::from_millis(200);
/// Without `--queue`, how often the list of queues is re-read to follow new ones.
const DISCOVER_EVERY: Duration = Duration::from_secs(10);

/// The `--on` names users give, and the event each one stands for.
pub const ON_NAMES: [(&str, &str); 4] = [
    ("completed", "completed"),
    ("failed", "retry_scheduled"),
    ("dead", "dead"),
    ("cancelled", "cancelled"),
];

#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub url: reqwest::Url,
    /// Event names to deliver (as in the stream: `completed`, `retry_scheduled`, ...).
    pub events: HashSet<String>,
    /// Queues to follow; empty means every queue, including ones created later.
    pub queues: Vec<String>,
    pub job_type: Option<String>,
    pub secret: Option<Vec<u8>>,
    /// Names the positions kept in Redis; two notifiers with one name share them.
    pub name: String,
    /// Limit for one delivery attempt.
    pub request_timeout: Duration,
}

/// `--on failed` means an attempt failed and a retry is scheduled (`retry_scheduled`); the
/// other names are events of the same name. Any other event name is accepted as itself.
pub fn event_for(on: &str) -> Result<String> {
    if let Some((_, ev)) = ON_NAMES.iter().find(|(name, _)| *name == on) {
        return Ok(ev.to_string());
    }
    const OTHERS: [&str; 8] = [
        "enqueued",
        "queued",
        "started",
        "progress",
        "retry_scheduled",
        "recovered",
        "requeued",
        "retried",
    ];
    if OTHERS.contains(&on) {
        return Ok(on.to_string());
    }
    Err(Error::invalid(format!(
        "--on {on:?}: not an event; use completed, failed, dead, cancelled (or any event of `jobq tail`)"
    )))
}

/// The notifier name used without `--name`: derived from the URL, so another URL starts
/// its own positions.
pub fn default_name(url: &reqwest::Url) -> String {
    let digest = Sha256::digest(url.as_str().as_bytes());
    format!("url-{}", &hex::encode(digest)[..12])
}

/// Checks `--url`: http or https, with a host.
pub fn parse_url(url: &str) -> Result<reqwest::Url> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| Error::invalid(format!("--url {url:?} is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::invalid(format!(
            "--url {url:?}: use an http:// or https:// URL"
        )));
    }
    Ok(parsed)
}

pub struct Notifier {
    store: Arc<Store>,
    config: NotifyConfig,
    client: reqwest::Client,
}

/// Where a queue's delivery begins when this notifier has no position for it yet.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// A queue known when the notifier starts: from its newest event (no replay of history).
    End,
    /// A queue that appeared while the notifier runs: all of its events are new.
    Beginning,
}

impl Notifier {
    pub fn new(store: Arc<Store>, config: NotifyConfig) -> Result<Arc<Notifier>> {
        // reqwest is built without a crypto provider of its own: jobq uses ring everywhere.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("jobq/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Io(format!("cannot set up the HTTP client: {}", chain(&e))))?;
        Ok(Arc::new(Notifier {
            store,
            config,
            client,
        }))
    }

    /// Delivers until `stop` is cancelled; each queue is followed by its own task.
    pub async fn run(self: &Arc<Self>, stop: CancellationToken) -> Result<()> {
        let fixed = !self.config.queues.is_empty();
        let mut followed = HashSet::new();
        let mut tasks = JoinSet::new();
        let mut start = Start::End;
        loop {
            let queues = if fixed {
                self.config.queues.clone()
            } else {
                self.store.queue_names().await?
            };
            for q in queues {
                if followed.insert(q.clone()) {
                    tasks.spawn(self.clone().follow(q, start, stop.clone()));
                }
            }
            start = Start::Beginning;
            let next = tokio::time::sleep(DISCOVER_EVERY);
            tokio::select! {
                _ = stop.cancelled() => break,
                Some(done) = tasks.join_next() => {
                    // A task only ends early on an error no retry can fix (e.g. a revoked password).
                    stop.cancel();
                    done.map_err(|e| Error::Io(format!("a delivery task failed: {e}")))??;
                }
                _ = next, if !fixed => {}
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(|e| Error::Io(format!("a delivery task failed: {e}")))??;
        }
        Ok(())
    }

    /// Reads `queue`'s stream from this notifier's position and delivers what matches.
    async fn follow(self: Arc<Self>, queue: String, start: Start, stop: CancellationToken) -> Result<()> {
        let mut pos = self.start_position(&queue, start).await?;
        let mut saved = pos.clone();
        let mut saved_at = Instant::now();
        let mut conn = self.store.blocking_connection().await?;
        let mut quiet_reconnect = false;
        while !stop.is_cancelled() {
            let read = tokio::select! {
                r = self.store.events_follow(&mut conn, &queue, &pos, BLOCK) => r,
                _ = stop.cancelled() => break,
            };
            let events = match read {
                Ok(events) => events,
                Err(e) => {
                    conn = self.reconnect(&e, &mut quiet_reconnect, &stop).await?;
                    continue;
                }
            };
            for ev in &events {
                if self.wanted(ev) && !self.deliver(ev, &stop).await {
                    break;
                }
                pos.clone_from(&ev.event_id);
                if saved_at.elapsed() >= SAVE_EVERY {
                    self.save(&queue, &pos, &mut saved).await?;
                    saved_at = Instant::now();
                }
            }
            self.save(&queue, &pos, &mut saved).await?;
            saved_at = Instant::now();
        }
        self.save(&queue, &pos, &mut saved).await
    }

    fn wanted(&self, ev: &Event) -> bool {
        self.config.events.contains(&ev.event)
            && self.config.job_type.as_ref().is_none_or(|t| *t == ev.job_type)
    }

    async fn start_position(&self, queue: &str, start: Start) -> Result<String> {
        let name = &self.config.name;
        if let Some(pos) = self.store.notifier_position(queue, name).await? {
            if let Some(oldest) = self.store.events_trimmed_past(queue, &pos).await? {
                warn(format_args!(
                    "notify {name}: the stream of queue {queue} no longer holds the events after {pos} \
                     (it keeps about {EVENTS_MAXLEN} per queue); some may never be delivered; going on from {oldest}"
                ));
            }
            return Ok(pos);
        }
        let pos = match start {
            Start::End => self.store.events_end(queue).await?,
            Start::Beginning => "0-0".to_string(),
        };
        // Saved at once: a restart before the first event must not skip what came meanwhile.
        self.store.set_notifier_position(queue, name, &pos).await?;
        Ok(pos)
    }

    async fn save(&self, queue: &str, pos: &str, saved: &mut String) -> Result<()> {
        if pos != saved {
            self.store
                .set_notifier_position(queue, &self.config.name, pos)
                .await?;
            saved.clear();
            saved.push_str(pos);
        }
        Ok(())
    }

    /// A new stream connection after a failed read, waiting out a Redis that is down.
    async fn reconnect(
        &self,
        why: &Error,
        told: &mut bool,
        stop: &CancellationToken,
    ) -> Result<crate::store::Conn> {
        let mut delay = Duration::from_millis(200);
        loop {
            if !*told {
                warn(format_args!(
                    "notify: lost the event stream ({why}); reconnecting"
                ));
                *told = true;
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.cancelled() => return Err(Error::Unavailable("stopped while reconnecting".into())),
            }
            match self.store.blocking_connection().await {
                Ok(c) => {
                    info("notify: reconnected to Redis");
                    *told = false;
                    return Ok(c);
                }
                Err(Error::Unavailable(_)) => delay = (delay * 2).min(Duration::from_secs(2)),
                Err(e) => return Err(e),
            }
        }
    }

    /// POSTs `ev` until the receiver answers 2xx; false when `stop` came first.
    async fn deliver(&self, ev: &Event, stop: &CancellationToken) -> bool {
        let body = serde_json::to_vec(ev).unwrap_or_default();
        let backoff = Backoff {
            base: FIRST_BACKOFF,
            max: MAX_BACKOFF,
        };
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let failure = match self.post(ev, &body).await {
                Ok(()) => {
                    if attempt > 1 {
                        info(format_args!(
                            "notify: event {} delivered after {attempt} attempts",
                            ev.event_id
                        ));
                    }
                    return true;
                }
                Err(why) => why,
            };
            let delay = backoff.delay(attempt);
            // 1st, 2nd, 4th, 8th ... failure: a long outage does not flood the log.
            if attempt.is_power_of_two() {
                warn(format_args!(
                    "notify: {} ({} of job {}) to {}: {failure}; attempt {attempt}, next in {}",
                    ev.event_id,
                    ev.event,
                    ev.id,
                    self.config.url,
                    crate::duration::human(delay)
                ));
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.cancelled() => return false,
            }
        }
    }

    async fn post(&self, ev: &Event, body: &[u8]) -> std::result::Result<(), String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut req = self
            .client
            .post(self.config.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Jobq-Event", &ev.event)
            .header("X-Jobq-Delivery", format!("{}/{}", ev.queue, ev.event_id))
            .header("X-Jobq-Timestamp", now.to_string())
            .body(body.to_vec());
        if let Some(secret) = &self.config.secret {
            req = req.header(sign::SIGNATURE_HEADER, sign::signature(secret, body));
        }
        let resp = req.send().await.map_err(|e| chain(&e))?;
        let status = resp.status();
        // Reading the body lets the connection be reused.
        let _ = resp.bytes().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        }
    }
}

/// An error with its causes (`error sending request: connection refused`), without the URL,
/// which the log line names already.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.dedup();
    let text = parts.join(": ");
    match text.find(" for url (") {
        Some(i) => {
            let end = text[i..].find(')').map_or(text.len(), |j| i + j + 1);
            format!("{}{}", &text[..i], &text[end..])
        }
        None => text,
    }
}
