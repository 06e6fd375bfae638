//! One Redis subscription per process, fanned out to every open event stream through a
//! broadcast channel: 100 browsers watching cost Redis one subscriber, not 100.
//!
//! The hub subscribes to the events of every queue it knows (re-reading the queue names every
//! second, and at once when a stream asks for a queue it does not cover). Whenever it may have
//! missed messages (the subscription was replaced or dropped, or a reader fell behind), it
//! says so with [`Msg::Resync`]; readers then re-read the queue's event stream from their last
//! position, which is gap- and repeat-free (stream ids order a queue's events).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use jobq::store::{Event, Subscription};
use jobq::Store;

/// Messages a slow reader may fall behind by before it must re-read from the stream.
const BACKLOG: usize = 4096;
/// How often new queues are looked for.
const REFRESH: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub enum Msg {
    Event(Arc<Event>),
    /// Events of these queues may have been missed: re-read them from the stream.
    Resync(Arc<BTreeSet<String>>),
}

type Request = (Vec<String>, oneshot::Sender<()>);

#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Msg>,
    requests: mpsc::Sender<Request>,
}

impl Hub {
    pub fn start(store: Arc<Store>, shutdown: CancellationToken) -> Hub {
        let (tx, _) = broadcast::channel(BACKLOG);
        let (requests, rx) = mpsc::channel(64);
        let runner = Runner {
            store,
            tx: tx.clone(),
            covered: BTreeSet::new(),
            sub: None,
            reconnects: 0,
            last: HashMap::new(),
        };
        tokio::spawn(runner.run(rx, shutdown));
        Hub { tx, requests }
    }

    /// A receiver of every message from now on, once `queues` are covered by the subscription.
    pub async fn listen(&self, queues: &[String]) -> broadcast::Receiver<Msg> {
        let rx = self.tx.subscribe();
        let (done, wait) = oneshot::channel();
        if self.requests.send((queues.to_vec(), done)).await.is_ok() {
            let _ = wait.await;
        }
        rx
    }
}

struct Runner {
    store: Arc<Store>,
    tx: broadcast::Sender<Msg>,
    covered: BTreeSet<String>,
    sub: Option<Subscription>,
    /// The subscription's reconnect count when last looked at.
    reconnects: u64,
    /// Per queue, the newest event id passed on (the old and the new subscription overlap
    /// while they are swapped; this drops the doubles).
    last: HashMap<String, String>,
}

enum Wake {
    Event(Option<Box<Event>>),
    Request(Option<Request>),
    Tick,
    Stop,
}

impl Runner {
    async fn run(mut self, mut requests: mpsc::Receiver<Request>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(REFRESH);
        // Whether the subscription is lost and must be made again.
        let mut broken = true;
        loop {
            if broken {
                broken = !self.resubscribe(BTreeSet::new()).await;
            }
            let wake = {
                let sub = self.sub.as_mut();
                let next = async move {
                    match sub {
                        Some(s) => s.next().await.map(Box::new),
                        None => std::future::pending().await,
                    }
                };
                // While Redis is away, try again every half second.
                let pause = if broken {
                    Duration::from_millis(500)
                } else {
                    REFRESH
                };
                tokio::select! {
                    ev = next => Wake::Event(ev),
                    req = requests.recv() => Wake::Request(req),
                    _ = tick.tick() => Wake::Tick,
                    _ = tokio::time::sleep(pause), if broken => Wake::Tick,
                    _ = shutdown.cancelled() => Wake::Stop,
                }
            };
            match wake {
                Wake::Event(Some(ev)) => {
                    self.resync_after_reconnect();
                    self.forward(*ev);
                }
                Wake::Event(None) => {
                    self.sub = None;
                    broken = true;
                }
                Wake::Request(Some((queues, done))) => {
                    let new = self.uncovered(queues);
                    if !broken && !new.is_empty() {
                        broken = !self.resubscribe(new).await;
                    }
                    // When Redis is away the stream reads its snapshot itself and fails there.
                    let _ = done.send(());
                }
                Wake::Tick if !broken => {
                    self.resync_after_reconnect();
                    let names = self.store.queue_names().await.unwrap_or_default();
                    let new = self.uncovered(names);
                    if !new.is_empty() {
                        broken = !self.resubscribe(new).await;
                    }
                }
                Wake::Tick => {}
                Wake::Request(None) | Wake::Stop => return,
            }
        }
    }

    fn uncovered(&self, queues: Vec<String>) -> BTreeSet<String> {
        queues.into_iter().filter(|q| !self.covered.contains(q)).collect()
    }

    /// The subscription re-establishes itself after a drop; what was published meanwhile is
    /// lost, so readers re-read the streams once it is back.
    fn resync_after_reconnect(&mut self) {
        let now = self.sub.as_ref().map_or(0, Subscription::reconnects);
        if now != self.reconnects {
            self.reconnects = now;
            let _ = self.tx.send(Msg::Resync(Arc::new(self.covered.clone())));
        }
    }

    fn forward(&mut self, ev: Event) {
        let last = self.last.entry(ev.queue.clone()).or_default();
        if !last.is_empty() && !ev.is_after(last) {
            return;
        }
        last.clone_from(&ev.event_id);
        // No receivers is fine: nobody is watching right now.
        let _ = self.tx.send(Msg::Event(Arc::new(ev)));
    }

    /// Subscribes to every known queue plus `extra`, replacing the old subscription, and tells
    /// readers to catch up (messages in flight on the old one are dropped with it).
    async fn resubscribe(&mut self, extra: BTreeSet<String>) -> bool {
        let mut want = self.covered.clone();
        want.extend(extra);
        if let Ok(names) = self.store.queue_names().await {
            want.extend(names);
        }
        if want.is_empty() {
            // Nothing to listen to yet; new queues are picked up by the refresh.
            return true;
        }
        let list: Vec<String> = want.iter().cloned().collect();
        match self.store.subscribe(&list).await {
            Ok(sub) => {
                self.reconnects = sub.reconnects();
                self.sub = Some(sub);
                self.covered = want;
                let _ = self.tx.send(Msg::Resync(Arc::new(self.covered.clone())));
                true
            }
            Err(_) => false,
        }
    }
}
