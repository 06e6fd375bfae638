//! Applying the releases of jobs' dependents (`enqueue --after`) that a transition left in a
//! queue's outbox and nobody applied: the worker that ended the parent died first, or its
//! Redis call failed. A queue's recovery pass announces such entries with `release` on the
//! queue's signal channel (deps.lua); each worker applies them at most once at a time per
//! queue, and applying twice is harmless anyway.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::Worker;
use crate::log::Level;

#[derive(Default)]
pub(super) struct Outboxes {
    /// Queues whose outbox this worker is applying now.
    busy: Mutex<HashSet<usize>>,
}

impl Worker {
    pub(super) fn release_announced(self: &Arc<Self>, queue: usize) {
        if !self.outboxes.busy.lock().unwrap().insert(queue) {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let name = &me.config.queues[queue];
            match me.store.release_dependents(name).await {
                Ok(0) => {}
                Ok(n) => me.log_queue(
                    Level::Info,
                    name,
                    format_args!("applied {n} pending release(s) of dependent jobs of queue {name}"),
                ),
                Err(e) => me.log_queue(
                    Level::Warn,
                    name,
                    format_args!(
                        "could not release dependent jobs of queue {name} ({e}); the next recovery pass retries"
                    ),
                ),
            }
            me.outboxes.busy.lock().unwrap().remove(&queue);
        });
    }
}
