//! Pub/Sub that works on one server and on a cluster.
//!
//! On Redis >= 7 it is sharded Pub/Sub (`SSUBSCRIBE`/`SPUBLISH`): a message goes only to the
//! node that owns the channel's slot, so a cluster does not broadcast every event to every
//! node. A channel named like a queue's keys (with its `{ns:queue}` hash tag) lives on that
//! queue's node. On a cluster the subscription is a RESP3 cluster connection, which follows
//! slot moves and failovers and resubscribes by itself; on one server it is a dedicated RESP3
//! connection that this module reopens and resubscribes after a drop.
//!
//! Redis 6.2 has no sharded Pub/Sub: there it is plain `SUBSCRIBE`/`PUBLISH`, which a cluster
//! broadcasts to every node (correct, but its cost grows with the cluster).
//!
//! Pub/Sub is at-most-once: messages published while a subscription is being re-established
//! are lost. [`Subscriber::reconnects`] counts those gaps so callers can re-read state.

use std::sync::Arc;

use redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use super::connection::{Attempts, Shared, TIMEOUTS};
use super::endpoint::Conn;
use super::Store;
use crate::error::Result;

/// After this long without a message a single server's subscription checks its connection
/// with a PING (long: the pings count against an idle worker's command budget).
const SILENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// What a subscription delivers: a message, or word that it was re-established and messages
/// of the interruption may be lost.
#[derive(Debug)]
pub enum Delivery {
    Message(String, Vec<u8>),
    Gap,
}

/// A subscription to a set of channels; see the module documentation.
pub struct Subscriber {
    shared: Arc<Shared>,
    sharded: bool,
    channels: Vec<String>,
    conn: Conn,
    messages: UnboundedReceiver<PushInfo>,
    reconnects: u64,
}

impl Store {
    /// Subscribes to `channels` (sharded on Redis >= 7, see [`Store::sharded_pubsub`]) on a
    /// connection of its own. Retried like every command.
    pub async fn subscribe_channels(&self, channels: &[String]) -> Result<Subscriber> {
        let sharded = self.sharded_pubsub();
        let (conn, messages) = open(&self.shared, sharded, channels).await?;
        Ok(Subscriber {
            shared: self.shared.clone(),
            sharded,
            channels: channels.to_vec(),
            conn,
            messages,
            reconnects: 0,
        })
    }

    /// The command that reaches [`Subscriber`]s: `SPUBLISH` on Redis >= 7, else `PUBLISH`.
    pub fn publish_command(&self) -> &'static str {
        if self.sharded_pubsub() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }

    /// Publishes `payload` on `channel` so that [`Subscriber`]s receive it.
    pub async fn publish(&self, channel: &str, payload: &[u8]) -> Result<()> {
        self.query::<()>(redis::cmd(self.publish_command()).arg(channel).arg(payload))
            .await
    }
}

impl Subscriber {
    /// The next message as (channel, payload). Waits through connection drops (reconnecting
    /// and resubscribing within the store's retry policy); `None` once that policy gives up.
    /// Messages published during a drop are lost: see [`Subscriber::next_or_gap`].
    pub async fn next(&mut self) -> Option<(String, Vec<u8>)> {
        loop {
            match self.next_or_gap().await? {
                Delivery::Message(channel, payload) => return Some((channel, payload)),
                Delivery::Gap => {}
            }
        }
    }

    /// Like [`Subscriber::next`], but says at once when the subscription was re-established
    /// (`Gap`): readers that must not miss a message (a watcher waiting for a job's end)
    /// re-read what it would have told them, even if no message ever comes again.
    pub async fn next_or_gap(&mut self) -> Option<Delivery> {
        loop {
            let received = tokio::select! {
                m = self.messages.recv() => m,
                // A silently dead server or network would leave the subscription waiting
                // forever: after a quiet spell, a PING (allowed while subscribed on RESP3)
                // must answer within the response timeout, or the connection is replaced.
                _ = tokio::time::sleep(SILENCE) => {
                    if let Conn::Single(c) = &mut self.conn {
                        if redis::cmd("PING").query_async::<Value>(c).await.is_err() {
                            self.reconnect().await?;
                            return Some(Delivery::Gap);
                        }
                    }
                    continue;
                }
            };
            match received {
                Some(PushInfo {
                    kind: PushKind::Message | PushKind::SMessage,
                    data,
                }) => {
                    if let Some((channel, payload)) = channel_and_payload(data) {
                        return Some(Delivery::Message(channel, payload));
                    }
                }
                // A cluster connection reconnects and resubscribes by itself; a single
                // server's connection is gone for good and must be replaced.
                Some(PushInfo {
                    kind: PushKind::Disconnection,
                    ..
                }) if matches!(self.conn, Conn::Cluster(_)) => {
                    self.reconnects += 1;
                    return Some(Delivery::Gap);
                }
                Some(PushInfo {
                    kind: PushKind::Disconnection,
                    ..
                })
                | None => {
                    self.reconnect().await?;
                    return Some(Delivery::Gap);
                }
                Some(_) => {}
            }
        }
    }

    /// Replaces a single server's connection and subscribes again (within the retry policy).
    async fn reconnect(&mut self) -> Option<()> {
        self.reconnects += 1;
        let (conn, messages) = open(&self.shared, self.sharded, &self.channels).await.ok()?;
        self.conn = conn;
        self.messages = messages;
        Some(())
    }

    /// Adds channels to the subscription.
    pub async fn subscribe(&mut self, channels: &[String]) -> Result<()> {
        for c in channels {
            if self.channels.contains(c) {
                continue;
            }
            let mut attempts = Attempts::new(&self.shared);
            while let Err(e) = subscribe_one(&mut self.conn, self.sharded, c).await {
                attempts.again(e).await?;
            }
            self.channels.push(c.clone());
        }
        Ok(())
    }

    /// Removes channels from the subscription.
    pub async fn unsubscribe(&mut self, channels: &[String]) -> Result<()> {
        for c in channels {
            let Some(i) = self.channels.iter().position(|x| x == c) else {
                continue;
            };
            self.channels.swap_remove(i);
            let result = match &mut self.conn {
                Conn::Cluster(cc) if self.sharded => cc.sunsubscribe(c).await,
                Conn::Cluster(cc) => cc.unsubscribe(c).await,
                Conn::Single(sc) if self.sharded => redis::cmd("SUNSUBSCRIBE")
                    .arg(c)
                    .query_async::<Value>(sc)
                    .await
                    .map(drop),
                Conn::Single(sc) => sc.unsubscribe(c).await,
                // Push connections come from `Endpoint::open_push`, never from direct.rs.
                Conn::Direct(_) => Ok(()),
            };
            // A failed unsubscribe leaves a channel we ignore; a reconnect drops it for good.
            let _ = result;
        }
        Ok(())
    }

    /// The channels subscribed to.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// How many times the subscription was re-established (messages may have been missed
    /// each time: re-read what they would have announced).
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// Whether this subscription is sharded (`SSUBSCRIBE`).
    pub fn is_sharded(&self) -> bool {
        self.sharded
    }
}

async fn open(
    shared: &Shared,
    sharded: bool,
    channels: &[String],
) -> Result<(Conn, UnboundedReceiver<PushInfo>)> {
    let mut attempts = Attempts::new(shared);
    loop {
        let (tx, rx) = unbounded_channel();
        let opened = async {
            let mut conn = shared.endpoint.open_push(tx, &TIMEOUTS).await?;
            for c in channels {
                subscribe_one(&mut conn, sharded, c).await?;
            }
            Ok::<_, redis::RedisError>(conn)
        };
        match opened.await {
            Ok(conn) => {
                attempts.succeeded();
                return Ok((conn, rx));
            }
            Err(e) => {
                attempts.again(e).await?;
            }
        }
    }
}

/// One channel per command: on a cluster each may live on another node.
async fn subscribe_one(conn: &mut Conn, sharded: bool, channel: &str) -> redis::RedisResult<()> {
    match conn {
        Conn::Cluster(c) if sharded => c.ssubscribe(channel).await,
        Conn::Cluster(c) => c.subscribe(channel).await,
        // MultiplexedConnection has no `ssubscribe`; with one channel the server's single
        // confirmation is the command's reply.
        Conn::Single(c) if sharded => redis::cmd("SSUBSCRIBE")
            .arg(channel)
            .query_async::<Value>(c)
            .await
            .map(drop),
        Conn::Single(c) => c.subscribe(channel).await,
        // Push connections come from `Endpoint::open_push`, never from direct.rs.
        Conn::Direct(_) => Err(redis::RedisError::from((
            redis::ErrorKind::Client,
            "not a subscription connection",
        ))),
    }
}

fn channel_and_payload(data: Vec<Value>) -> Option<(String, Vec<u8>)> {
    let mut it = data.into_iter();
    let channel = match it.next()? {
        Value::BulkString(b) => String::from_utf8(b).ok()?,
        Value::SimpleString(s) => s,
        _ => return None,
    };
    let payload = match it.next()? {
        Value::BulkString(b) => b,
        Value::SimpleString(s) => s.into_bytes(),
        _ => return None,
    };
    Some((channel, payload))
}
