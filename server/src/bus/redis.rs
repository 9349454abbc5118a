//! The bus across nodes: domain events and relayed pad messages published on one Redis channel
//! that every node subscribes to (`REDIS_URL`).
//!
//! An event reaches this node's own subscribers at once, without a round trip, and is queued for
//! one publisher task so other nodes see a node's messages in the order it published them.
//! Messages from Redis that this process published itself are dropped (each process has its own
//! origin id).
//!
//! Redis pub/sub delivers at most once: while the subscription is down, messages are lost. Every
//! event here only tells a node to re-read something from the database, and every relayed update
//! is already committed to the log, so a gap is repaired by re-reading: when the subscription
//! comes back, local subscribers get [`DomainEvent::Resync`] (rooms re-check roles, documents
//! re-read their logs). A message delivered twice is harmless for the same reason (and a CRDT
//! update applies idempotently).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{
    Direct, DomainEvent, NodeMessage, NodePresence, PadBus, PadMessage, Relayed, EVENT_BUFFER,
};
use crate::db::{PadId, UserId};
use crate::metrics::{BusDrop, ClusterMetrics};

/// The one channel every node publishes its domain events and pad messages on.
pub const BUS_CHANNEL: &str = "opencoder:bus";
/// Messages waiting for the publisher task; past this (Redis down or slow) new messages are
/// dropped: the other nodes resync when their subscription returns, or notice the gap in a pad's
/// update chain at its next update.
pub const PUBLISH_QUEUE: usize = 4 * EVENT_BUFFER;
/// Relayed pad messages buffered for this node's receiver before it is considered lagging (it
/// then re-reads every open document's log).
pub const RELAY_BUFFER: usize = 4 * EVENT_BUFFER;
/// Queued messages the publisher sends in one pipelined round trip to Redis, at most: under load
/// a node publishes hundreds of messages a second, and one round trip each queues them behind
/// Redis's replies whenever the cores are busy.
pub const PUBLISH_BATCH: usize = 256;
/// Waits between reconnection attempts, doubling up to the cap.
pub const RECONNECT_FIRST: Duration = Duration::from_millis(100);
pub const RECONNECT_CAP: Duration = Duration::from_secs(2);

/// What goes over the wire: the message and the process that published it.
#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: String,
    #[serde(flatten)]
    body: Wire,
}

/// Bytes travel base64-encoded inside the JSON envelope.
#[derive(Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
enum Wire {
    Event {
        event: DomainEvent,
    },
    Live {
        pad: PadId,
        user: Option<UserId>,
        data: String,
    },
    Update {
        pad: PadId,
        prev: i64,
        id: i64,
        data: String,
    },
    Frame {
        pad: PadId,
        data: String,
    },
    Presence {
        pad: PadId,
        node: String,
        users: Vec<NodePresence>,
    },
    /// For the node `to` (every node but the sender when `None`).
    Direct {
        to: Option<String>,
        message: NodeMessage,
    },
}

impl Wire {
    fn relay(pad: PadId, message: &PadMessage) -> Wire {
        match message {
            PadMessage::Live { user, bytes } => Wire::Live {
                pad,
                user: *user,
                data: BASE64.encode(bytes),
            },
            PadMessage::Update { prev, id, bytes } => Wire::Update {
                pad,
                prev: *prev,
                id: *id,
                data: BASE64.encode(bytes),
            },
            PadMessage::Frame(bytes) => Wire::Frame {
                pad,
                data: BASE64.encode(bytes),
            },
            PadMessage::Presence { node, users } => Wire::Presence {
                pad,
                node: node.clone(),
                users: users.clone(),
            },
        }
    }
}

/// What a received message is for.
enum Incoming {
    Event(DomainEvent),
    Relayed(Relayed),
    Direct {
        to: Option<String>,
        message: NodeMessage,
    },
}

fn decode(body: Wire) -> Option<Incoming> {
    let bytes = |data: &str| BASE64.decode(data).ok().map(Bytes::from);
    Some(match body {
        Wire::Event { event } => Incoming::Event(event),
        Wire::Update {
            pad,
            prev,
            id,
            data,
        } => Incoming::Relayed(Relayed {
            pad,
            message: PadMessage::Update {
                prev,
                id,
                bytes: bytes(&data)?,
            },
        }),
        Wire::Live { pad, user, data } => Incoming::Relayed(Relayed {
            pad,
            message: PadMessage::Live {
                user,
                bytes: bytes(&data)?,
            },
        }),
        Wire::Frame { pad, data } => Incoming::Relayed(Relayed {
            pad,
            message: PadMessage::Frame(bytes(&data)?),
        }),
        Wire::Presence { pad, node, users } => Incoming::Relayed(Relayed {
            pad,
            message: PadMessage::Presence { node, users },
        }),
        Wire::Direct { to, message } => Incoming::Direct { to, message },
    })
}

/// Where the subscriber hands what it receives.
#[derive(Clone)]
struct Receivers {
    events: broadcast::Sender<DomainEvent>,
    relayed: broadcast::Sender<Relayed>,
    direct: broadcast::Sender<Direct>,
}

pub struct RedisBus {
    origin: String,
    local: Receivers,
    outgoing: mpsc::Sender<Wire>,
    /// Set when a message of this node was dropped before reaching Redis (see `publish_loop`).
    lost: Arc<AtomicBool>,
    metrics: ClusterMetrics,
}

impl RedisBus {
    /// Connect to Redis (failing now if it cannot be reached, so a misconfigured node does not
    /// start) and start the publisher and subscriber tasks on `tasks`, stopped by `shutdown`.
    /// `node` (`NODE_ID`) prefixes this process's bus id, `<node>.<random>`: random so a restarted
    /// node never inherits its old leases, named so operators can tell which node holds what.
    pub async fn connect(
        url: &str,
        node: &str,
        tasks: &TaskTracker,
        shutdown: &CancellationToken,
        metrics: ClusterMetrics,
    ) -> anyhow::Result<Arc<RedisBus>> {
        let client = redis::Client::open(url)?;
        let publisher = client.get_connection_manager().await?;
        let origin = format!("{node}.{}", uuid::Uuid::new_v4().simple());
        let local = Receivers {
            events: broadcast::channel(EVENT_BUFFER).0,
            relayed: broadcast::channel(RELAY_BUFFER).0,
            direct: broadcast::channel(RELAY_BUFFER).0,
        };
        let (outgoing, queued) = mpsc::channel(PUBLISH_QUEUE);
        let lost = Arc::new(AtomicBool::new(false));
        let bus = Arc::new(RedisBus {
            origin: origin.clone(),
            local: local.clone(),
            outgoing,
            lost: lost.clone(),
            metrics: metrics.clone(),
        });
        let first = client.get_async_pubsub().await?;
        tasks.spawn(publish_loop(
            Publisher {
                redis: publisher,
                origin: origin.clone(),
                lost,
                metrics: metrics.clone(),
            },
            queued,
            shutdown.clone(),
        ));
        tasks.spawn(subscribe_loop(
            client,
            first,
            origin,
            local,
            shutdown.clone(),
            metrics,
        ));
        Ok(bus)
    }
}

/// Publish one event to every node from a process that is no node (`opencoder admin`), and
/// return once Redis has taken it.
pub async fn publish_once(url: &str, event: DomainEvent) -> anyhow::Result<()> {
    let client = redis::Client::open(url)
        .map_err(|_| anyhow::anyhow!("REDIS_URL: not a Redis URL this server can use"))?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|err| anyhow::anyhow!("REDIS_URL: cannot reach Redis: {err}"))?;
    let payload = serde_json::to_vec(&Envelope {
        origin: uuid::Uuid::new_v4().simple().to_string(),
        body: Wire::Event { event },
    })?;
    redis::cmd("PUBLISH")
        .arg(BUS_CHANNEL)
        .arg(payload)
        .query_async::<()>(&mut connection)
        .await?;
    Ok(())
}

impl RedisBus {
    fn enqueue(&self, body: Wire) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.outgoing.try_send(body) {
            self.lost.store(true, Ordering::SeqCst);
            tracing::warn!(
                "the Redis publish queue is full; other nodes will repair from the database"
            );
            self.metrics.dropped(BusDrop::QueueFull);
        }
    }
}

impl PadBus for RedisBus {
    fn node(&self) -> &str {
        &self.origin
    }

    fn publish(&self, event: DomainEvent) {
        let _ = self.local.events.send(event.clone());
        self.enqueue(Wire::Event { event });
    }

    fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.local.events.subscribe()
    }

    fn relay(&self, pad: PadId, message: PadMessage) {
        self.enqueue(Wire::relay(pad, &message));
    }

    fn subscribe_relayed(&self) -> broadcast::Receiver<Relayed> {
        self.local.relayed.subscribe()
    }

    fn send(&self, to: Option<&str>, message: NodeMessage) {
        self.enqueue(Wire::Direct {
            to: to.map(str::to_string),
            message,
        });
    }

    fn subscribe_direct(&self) -> broadcast::Receiver<Direct> {
        self.local.direct.subscribe()
    }
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// This node's publishing side of the channel.
struct Publisher {
    redis: redis::aio::ConnectionManager,
    origin: String,
    lost: Arc<AtomicBool>,
    metrics: ClusterMetrics,
}

impl Publisher {
    /// If a message was lost, ask the other nodes to resync (this clears the loss only once the
    /// request itself went out).
    async fn resync(&mut self) {
        if self.lost.swap(false, Ordering::SeqCst) {
            tracing::info!("publishing to Redis works again; asking the other nodes to resync");
            self.publish(vec![Wire::Event {
                event: DomainEvent::Resync,
            }])
            .await;
        }
    }

    /// Publish `bodies` in order, in one pipelined round trip; `false` when it failed (then none
    /// or only some may have reached Redis: the other nodes are asked to resync).
    async fn publish(&mut self, bodies: Vec<Wire>) -> bool {
        let mut pipe = redis::pipe();
        let mut messages = 0;
        for body in bodies {
            match serde_json::to_vec(&Envelope {
                origin: self.origin.clone(),
                body,
            }) {
                Ok(payload) => {
                    pipe.cmd("PUBLISH").arg(BUS_CHANNEL).arg(payload).ignore();
                    messages += 1;
                }
                Err(err) => tracing::error!(error = %err, "encoding a bus message failed"),
            }
        }
        if messages == 0 {
            return true;
        }
        let sent: redis::RedisResult<()> = pipe.query_async(&mut self.redis).await;
        match sent {
            Ok(()) => {
                self.metrics.published(messages);
                true
            }
            Err(err) => {
                tracing::warn!(error = %err, "publishing to Redis failed");
                self.metrics.dropped(BusDrop::PublishFailed);
                self.lost.store(true, Ordering::SeqCst);
                false
            }
        }
    }
}

/// Publishes what this node queued, in order. The connection manager reconnects by itself; a
/// message that fails meanwhile is lost for the other nodes. Their subscriptions may never have
/// noticed (only this node's connection failed), and the lost message may have been a pad's last
/// update, which no later link of its chain would reveal as missing: so once publishing works
/// again (tried with the next message, or every `RECONNECT_CAP`), the node tells everyone to
/// resync.
async fn publish_loop(
    mut publisher: Publisher,
    mut queued: mpsc::Receiver<Wire>,
    shutdown: CancellationToken,
) {
    let mut retry = tokio::time::interval(RECONNECT_CAP);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut bodies = Vec::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = retry.tick(), if publisher.lost.load(Ordering::SeqCst) => publisher.resync().await,
            // Whatever queued meanwhile goes in the same round trip; 0 once the queue closed.
            received = queued.recv_many(&mut bodies, PUBLISH_BATCH) => {
                if received == 0 {
                    return;
                }
                if publisher.publish(std::mem::take(&mut bodies)).await {
                    publisher.resync().await;
                }
            }
        }
    }
}

async fn subscribe_loop(
    client: redis::Client,
    first: redis::aio::PubSub,
    origin: String,
    local: Receivers,
    shutdown: CancellationToken,
    metrics: ClusterMetrics,
) {
    let mut connection = Some(first);
    let mut wait = RECONNECT_FIRST;
    // Set by every failure; only a subscription that follows one has missed anything.
    let mut outage = false;
    loop {
        let mut pubsub = match connection.take() {
            Some(pubsub) => pubsub,
            None => match client.get_async_pubsub().await {
                Ok(pubsub) => pubsub,
                Err(err) => {
                    outage = true;
                    tracing::warn!(error = %err, "Redis unreachable; retrying");
                    if sleep_or_stop(&shutdown, &mut wait).await {
                        return;
                    }
                    continue;
                }
            },
        };
        if let Err(err) = pubsub.subscribe(BUS_CHANNEL).await {
            outage = true;
            tracing::warn!(error = %err, "subscribing to Redis failed; retrying");
            if sleep_or_stop(&shutdown, &mut wait).await {
                return;
            }
            continue;
        }
        if outage {
            // Back after an outage: whatever was published meanwhile is lost.
            tracing::info!("Redis subscription restored; resyncing live state");
            let _ = local.events.send(DomainEvent::Resync);
        }
        wait = RECONNECT_FIRST;
        let mut messages = pubsub.on_message();
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => return,
                message = messages.next() => message,
            };
            let Some(message) = message else { break };
            let envelope = match serde_json::from_slice::<Envelope>(message.get_payload_bytes()) {
                Ok(envelope) if envelope.origin == origin => continue,
                Ok(envelope) => envelope,
                Err(err) => {
                    tracing::warn!(error = %err, "dropping a malformed message on the bus channel");
                    metrics.dropped(BusDrop::Malformed);
                    continue;
                }
            };
            metrics.received();
            // No receiver is fine: nothing of this node listens (yet).
            match decode(envelope.body) {
                Some(Incoming::Event(event)) => drop(local.events.send(event)),
                Some(Incoming::Relayed(relayed)) => drop(local.relayed.send(relayed)),
                Some(Incoming::Direct { to, message }) => {
                    if to.is_none_or(|to| to == origin) {
                        drop(local.direct.send(Direct {
                            from: envelope.origin,
                            message,
                        }));
                    }
                }
                None => {
                    tracing::warn!("dropping a bus message with undecodable bytes");
                    metrics.dropped(BusDrop::Malformed);
                }
            }
        }
        outage = true;
        tracing::warn!("Redis subscription lost; reconnecting");
        if sleep_or_stop(&shutdown, &mut wait).await {
            return;
        }
    }
}

/// Sleep `wait` (then double it, capped); `true` when shutdown came first.
async fn sleep_or_stop(shutdown: &CancellationToken, wait: &mut Duration) -> bool {
    let stopped = tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(*wait) => false,
    };
    *wait = (*wait * 2).min(RECONNECT_CAP);
    stopped
}
