//! The pad bus: how a change made through one node reaches the live sockets it concerns.
//!
//! Handlers publish [`DomainEvent`]s (a kick, a role change, a deletion, a revocation); the live
//! state (collaboration rooms, terminals, recordings) subscribes. The bus is a trait so the
//! transport can change without touching either side: [`LocalBus`] is one process's fan-out (one
//! node, the default); [`RedisBus`] (`REDIS_URL`) carries the same events between nodes and
//! delivers each node's subscribers the events of every node.
//!
//! Publishing never blocks or fails. A subscriber that falls behind is told so by its receiver
//! (`RecvError::Lagged`) and must re-check access from the database — the database, not the
//! bus, is the truth.

mod events;
mod local;
pub mod redis;

use std::sync::Arc;

use tokio::sync::broadcast;

pub use events::DomainEvent;
pub use local::{LocalBus, EVENT_BUFFER};
pub use redis::RedisBus;

pub trait PadBus: Send + Sync {
    /// Deliver the event to every subscriber (on every node, for a cluster transport).
    fn publish(&self, event: DomainEvent);

    /// Every event published from now on.
    fn subscribe(&self) -> broadcast::Receiver<DomainEvent>;
}

/// The bus as the application state holds it.
pub type SharedBus = Arc<dyn PadBus>;
