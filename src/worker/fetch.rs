//! The fetch loop and how an idle worker learns about work, at a cost that does not grow with
//! the number of queues it serves (README "Cluster layout and cost").
//!
//! - **Wake-ups**: each queue has a sharded Pub/Sub channel (`{ns:q}:signal`, on the queue's
//!   own shard); the scripts publish `wake` when a queue gets work while it was empty (enqueue,
//!   retry, recovery, resume; fetch passes it on while it leaves work behind). One subscription
//!   per worker listens to all its queues: waiting costs no commands, and nothing blocks on
//!   keys of several slots (the BLPOP over several queues was CROSSSLOT on a cluster).
//! - **Hot queues**: the worker keeps, per queue, whether it may have work: a queue is hot
//!   until a fetch finds it drained, and a wake-up makes it hot again. A pass fetches only hot
//!   queues, in priority order, so a job in the 20th queue costs one fetch, not twenty.
//! - **Safety net**: Pub/Sub may drop messages (a reconnect, a failover). A new subscription
//!   makes every queue hot (anything published meanwhile may be lost), and every lease one
//!   queue, in turn, is made hot anyway: that fetch also runs lease recovery when it is due.
//!   An idle worker thus sends one empty fetch and one heartbeat per lease, whatever the
//!   number of its queues.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Shutdown, Worker, FETCH_GRACE};
use crate::error::Result;
use crate::log::Level;

/// What the worker knows about each of its queues, in priority order.
pub(super) struct Signals {
    state: Mutex<Vec<QueueState>>,
    /// Signalled whenever a queue turns hot: the idle fetch loop waits on it.
    changed: Notify,
}

#[derive(Clone, Copy)]
struct QueueState {
    /// The queue may have work: fetch it on the next pass.
    hot: bool,
    /// Counts wake-ups, so a fetch that raced with one does not cool the queue down.
    wakes: u64,
    /// When its next scheduled job is due, or its limit lets it go on (learnt from its last fetch).
    due: Option<Instant>,
    /// Its limit (`jobq limit`) held back work at its last fetch: it is not empty.
    held: bool,
}

impl QueueState {
    /// Its scheduled job is due, or its limit lets it go on.
    fn due_by(&self, now: Instant) -> bool {
        self.due.is_some_and(|d| d <= now)
    }
}

impl Signals {
    pub(super) fn new(queues: usize) -> Signals {
        Signals {
            state: Mutex::new(vec![
                QueueState {
                    hot: true,
                    wakes: 0,
                    due: None,
                    held: false,
                };
                queues
            ]),
            changed: Notify::new(),
        }
    }

    pub(super) fn wake(&self, queue: usize) {
        if let Some(q) = self.state.lock().unwrap().get_mut(queue) {
            q.hot = true;
            q.wakes += 1;
        }
        self.changed.notify_one();
    }

    pub(super) fn wake_all(&self) {
        for q in self.state.lock().unwrap().iter_mut() {
            q.hot = true;
            q.wakes += 1;
        }
        self.changed.notify_one();
    }

    /// The queues to fetch now, with their wake-up count: the hot ones and those whose
    /// scheduled job is due (all of them with `all`).
    fn pass(&self, all: bool) -> Vec<(usize, u64)> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        state
            .iter_mut()
            .enumerate()
            .filter_map(|(i, q)| {
                if q.due_by(now) {
                    q.hot = true;
                    q.due = None;
                }
                (all || q.hot).then_some((i, q.wakes))
            })
            .collect()
    }

    /// `queue`'s wake-up count, when it is the queue a strict-order pass would fetch first:
    /// it is hot and no queue before it is hot or due (ride.rs).
    pub(super) fn lead(&self, queue: usize) -> Option<u64> {
        let now = Instant::now();
        let state = self.state.lock().unwrap();
        let ahead = state.get(..queue)?;
        let q = state.get(queue)?;
        (q.hot && !ahead.iter().any(|a| a.hot || a.due_by(now))).then_some(q.wakes)
    }

    /// Records what a fetch of `queue` (sent when its wake-up count was `wakes`) found.
    pub(super) fn fetched(
        &self,
        queue: usize,
        wakes: u64,
        drained: bool,
        next_due: Option<Duration>,
        held: bool,
    ) {
        let mut state = self.state.lock().unwrap();
        let q = &mut state[queue];
        q.held = held;
        if drained && q.wakes == wakes {
            q.hot = false;
        }
        q.due = next_due.map(|d| Instant::now() + d);
    }

    /// Some queue's limit holds back work: a burst worker is not done yet.
    fn any_held(&self) -> bool {
        self.state.lock().unwrap().iter().any(|q| q.held)
    }

    fn next_due(&self) -> Option<Instant> {
        self.state.lock().unwrap().iter().filter_map(|q| q.due).min()
    }
}

impl Worker {
    pub(super) async fn fetch_loop(self: &Arc<Self>, shutdown: &Shutdown) -> Result<()> {
        let slots = Arc::new(Semaphore::new(self.config.concurrency));
        let queues = self.config.queues.len();
        // Workers start their safety rounds at different queues, so a fleet covers them all.
        let mut safety_next = rand::random::<u32>() as usize;
        let mut safety = tokio::time::interval_at(Instant::now() + self.config.lease, self.config.lease);
        safety.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let first = tokio::select! {
                p = slots.clone().acquire_owned() => p.expect("semaphore never closes"),
                _ = shutdown.drain.cancelled() => return Ok(()),
            };
            let mut permits = vec![first];
            while let Ok(p) = slots.clone().try_acquire_owned() {
                permits.push(p);
            }
            let free = permits.len();
            // Read before the pass: see the burst exit below.
            let idle_before = self.running.lock().unwrap().is_empty();
            // A burst worker looks at every queue before it may conclude there is nothing left.
            let mut candidates = self.signals.pass(self.config.burst);
            while !permits.is_empty() && !candidates.is_empty() {
                for (queue, wakes, want) in self.plan(&mut candidates, permits.len()) {
                    let Some(got) = self
                        .fetch_queue(queue, wakes, want, &mut permits, shutdown)
                        .await?
                    else {
                        return Ok(());
                    };
                    // A queue that gave fewer jobs than asked has no more for now.
                    if got < want {
                        candidates.retain(|c| c.0 != queue);
                    }
                }
            }
            if permits.len() < free {
                continue; // got work; there may be more
            }
            drop(permits);
            // Registered before the check, so a job ending right after it still wakes us.
            let job_ended = self.finished.notified();
            tokio::pin!(job_ended);
            if self.config.burst && self.running.lock().unwrap().is_empty() && !self.signals.any_held() {
                if idle_before {
                    return Ok(());
                }
                // A job ended during the pass, and what it released (its dependents, `enqueue
                // --after`) may sit in a queue the pass had already looked at: look again.
                continue;
            }
            let due = self.signals.next_due();
            tokio::select! {
                _ = self.signals.changed.notified() => {}
                _ = sleep_until(due) => {}
                _ = safety.tick() => {
                    self.signals.wake(safety_next % queues);
                    safety_next = safety_next.wrapping_add(1);
                }
                // A burst worker must notice when its last job ends to exit.
                _ = job_ended, if self.config.burst => {}
                _ = shutdown.drain.cancelled() => return Ok(()),
            }
        }
    }

    /// Fetches up to `want` jobs of queue `queue` and starts them, each with one of `permits`.
    /// Returns how many it got, or `None` when shutdown gave up on a fetch stuck on Redis.
    async fn fetch_queue(
        self: &Arc<Self>,
        queue: usize,
        wakes: u64,
        want: usize,
        permits: &mut Vec<OwnedSemaphorePermit>,
        shutdown: &Shutdown,
    ) -> Result<Option<usize>> {
        let name = &self.config.queues[queue];
        // The jobs' leases run from when the fetch runs on Redis, not before (fence.rs).
        let sent = Instant::now();
        let fetch = self.store.fetch(name, want, &self.info.id, self.config.lease);
        tokio::pin!(fetch);
        let fetched = tokio::select! {
            f = &mut fetch => f?,
            // A fetch that is merely in flight gets to land (its jobs are leased to us
            // already and will be run or requeued); one stuck retrying an unreachable
            // Redis is given up, or shutdown would hang until Redis returns.
            _ = shutdown.drain.cancelled() => match tokio::time::timeout(FETCH_GRACE, &mut fetch).await {
                Ok(f) => f?,
                Err(_) => return Ok(None),
            },
        };
        let got = fetched.jobs.len();
        self.signals
            .fetched(queue, wakes, got < want, fetched.next_due, fetched.held);
        for job in fetched.jobs {
            let permit = permits.pop().expect("fetched no more than asked");
            let running = self.admit(&job, sent);
            let (me, drain) = (self.clone(), shutdown.drain.clone());
            tokio::spawn(async move { me.execute(job, running, permit, drain).await });
        }
        Ok(Some(got))
    }

    /// Which queues to fetch next and for how many jobs, out of `candidates` (hot queues with
    /// their wake-up counts). Strict order: the first candidate, for every free slot (and it
    /// leaves the candidates: one fetch per queue per pass, as a drained queue must not be
    /// asked again). Weighted: the free slots shared by weight (weights.rs); a queue stays a
    /// candidate while it fills its share, so slots another queue could not use go round again.
    fn plan(&self, candidates: &mut Vec<(usize, u64)>, free: usize) -> Vec<(usize, u64, usize)> {
        let Some(weighted) = &self.weighted else {
            let (queue, wakes) = candidates.remove(0);
            return vec![(queue, wakes, free)];
        };
        let queues: Vec<usize> = candidates.iter().map(|c| c.0).collect();
        let shares = weighted.lock().unwrap().allocate(&queues, free);
        shares
            .into_iter()
            .map(|(queue, n)| {
                let wakes = candidates.iter().find(|c| c.0 == queue).expect("a candidate").1;
                (queue, wakes, n)
            })
            .collect()
    }

    /// Listens to the signal channels of the worker's queues: `wake` makes a queue hot,
    /// `cancel ID` makes the worker read its leases at once when the job is one of its own
    /// (renew.lua reports the cancel; the regular lease renewal is the fallback), `release`
    /// has it apply the queue's outbox of dependents' releases (outbox.rs).
    pub(super) async fn listen(self: Arc<Self>, stop: CancellationToken) {
        let channels: Vec<String> = self
            .config
            .queues
            .iter()
            .map(|q| self.store.keys().queue(q).signal())
            .collect();
        let index: HashMap<String, usize> = channels.iter().cloned().zip(0..).collect();
        loop {
            let mut sub = match self.store.subscribe_channels(&channels).await {
                Ok(sub) => sub,
                Err(e) => {
                    self.log(
                        Level::Warn,
                        format_args!(
                            "cannot subscribe to wake-ups and cancels ({e}); polling every lease meanwhile"
                        ),
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(self.config.lease) => continue,
                        _ = stop.cancelled() => return,
                    }
                }
            };
            // Whatever was published while we were not listening is lost: look everywhere.
            self.signals.wake_all();
            let mut reconnects = sub.reconnects();
            loop {
                let msg = tokio::select! {
                    m = sub.next() => m,
                    _ = stop.cancelled() => return,
                };
                // `next` rides out dropped connections itself; messages of the gap are lost.
                if sub.reconnects() != reconnects {
                    reconnects = sub.reconnects();
                    self.signals.wake_all();
                }
                let Some((channel, payload)) = msg else {
                    // The store's retry policy gave up: subscribe again after a pause (the
                    // safety net covers the gap).
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                };
                let Some(&queue) = index.get(&channel) else {
                    continue;
                };
                if payload == b"release" {
                    self.release_announced(queue);
                    continue;
                }
                match payload.strip_prefix(b"cancel ") {
                    None => self.signals.wake(queue),
                    Some(id) => self.cancel_requested(&String::from_utf8_lossy(id)).await,
                }
            }
        }
    }

    async fn cancel_requested(&self, id: &str) {
        if self.running.lock().unwrap().contains_key(id) {
            if let Err(e) = self.renew_leases().await {
                self.log(Level::Warn, format_args!("lease renewal failed: {e}"));
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
