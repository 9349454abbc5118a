//! The bus across nodes: domain events published on one Redis channel that every node
//! subscribes to (`REDIS_URL`).
//!
//! An event reaches this node's own subscribers at once, without a round trip, and is queued for
//! one publisher task so other nodes see a node's events in the order it published them. Events
//! from Redis that this process published itself are dropped (each process has its own origin id).
//!
//! Redis pub/sub delivers at most once: while the subscription is down, events are lost. Every
//! event here only tells a node to re-read something from the database, so a gap is repaired by
//! re-reading everything: when the subscription comes back, local subscribers get
//! [`DomainEvent::Resync`]. A message delivered twice is harmless for the same reason.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{DomainEvent, PadBus, EVENT_BUFFER};

/// The one channel every node publishes its domain events on.
pub const EVENTS_CHANNEL: &str = "opencoder:events";
/// Events waiting for the publisher task; past this (Redis down for long) the oldest waiting
/// events are dropped and the other nodes resync when the subscription returns.
pub const PUBLISH_QUEUE: usize = EVENT_BUFFER;
/// Waits between reconnection attempts, doubling up to the cap.
pub const RECONNECT_FIRST: Duration = Duration::from_millis(100);
pub const RECONNECT_CAP: Duration = Duration::from_secs(2);

/// What goes over the wire: the event and the process that published it.
#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: String,
    event: DomainEvent,
}

pub struct RedisBus {
    origin: String,
    local: broadcast::Sender<DomainEvent>,
    outgoing: mpsc::Sender<DomainEvent>,
}

impl RedisBus {
    /// Connect to Redis (failing now if it cannot be reached, so a misconfigured node does not
    /// start) and start the publisher and subscriber tasks on `tasks`, stopped by `shutdown`.
    pub async fn connect(url: &str, tasks: &TaskTracker, shutdown: &CancellationToken) -> anyhow::Result<Arc<RedisBus>> {
        let client = redis::Client::open(url)?;
        let publisher = client.get_connection_manager().await?;
        let origin = uuid::Uuid::new_v4().simple().to_string();
        let (local, _) = broadcast::channel(EVENT_BUFFER);
        let (outgoing, queued) = mpsc::channel(PUBLISH_QUEUE);
        let bus = Arc::new(RedisBus { origin: origin.clone(), local: local.clone(), outgoing });
        let first = client.get_async_pubsub().await?;
        tasks.spawn(publish_loop(publisher, origin.clone(), queued, shutdown.clone()));
        tasks.spawn(subscribe_loop(client, first, origin, local, shutdown.clone()));
        Ok(bus)
    }
}

impl PadBus for RedisBus {
    fn publish(&self, event: DomainEvent) {
        let _ = self.local.send(event.clone());
        if let Err(mpsc::error::TrySendError::Full(_)) = self.outgoing.try_send(event) {
            tracing::warn!("the Redis publish queue is full; other nodes will resync when it drains");
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.local.subscribe()
    }
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus").field("origin", &self.origin).finish_non_exhaustive()
    }
}

async fn publish_loop(
    mut redis: redis::aio::ConnectionManager,
    origin: String,
    mut queued: mpsc::Receiver<DomainEvent>,
    shutdown: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = queued.recv() => match event { Some(event) => event, None => return },
        };
        let payload = match serde_json::to_vec(&Envelope { origin: origin.clone(), event }) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(error = %err, "encoding a domain event failed");
                continue;
            }
        };
        // The connection manager reconnects by itself; an event that fails now is lost for the
        // other nodes, which resync once their subscriptions notice the outage.
        let sent: redis::RedisResult<()> =
            redis::cmd("PUBLISH").arg(EVENTS_CHANNEL).arg(payload).query_async(&mut redis).await;
        if let Err(err) = sent {
            tracing::warn!(error = %err, "publishing a domain event to Redis failed");
        }
    }
}

async fn subscribe_loop(
    client: redis::Client,
    first: redis::aio::PubSub,
    origin: String,
    local: broadcast::Sender<DomainEvent>,
    shutdown: CancellationToken,
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
        if let Err(err) = pubsub.subscribe(EVENTS_CHANNEL).await {
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
            let _ = local.send(DomainEvent::Resync);
        }
        wait = RECONNECT_FIRST;
        let mut messages = pubsub.on_message();
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => return,
                message = messages.next() => message,
            };
            let Some(message) = message else { break };
            match serde_json::from_slice::<Envelope>(message.get_payload_bytes()) {
                Ok(envelope) if envelope.origin == origin => {}
                Ok(envelope) => {
                    let _ = local.send(envelope.event);
                }
                Err(err) => tracing::warn!(error = %err, "dropping a malformed message on the events channel"),
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
