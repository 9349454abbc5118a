//! The pad bus: how a change made through one node reaches the live sockets it concerns.
//!
//! Handlers publish [`DomainEvent`]s (a kick, a role change, a deletion, a revocation); the live
//! state (collaboration rooms, terminals, recordings) subscribes. The bus is a trait so the
//! transport can change without touching either side: [`LocalBus`] is one process's fan-out (one
//! node, the default); [`RedisBus`] (`REDIS_URL`) carries the same events between nodes and
//! delivers each node's subscribers the events of every node, and relays pads' document updates
//! (live, then committed) and socket frames ([`PadMessage`]) to the other nodes, and messages for one node
//! ([`NodeMessage`]: the shared terminal's relay to the pad's owner, console input).
//!
//! Publishing never blocks or fails. A subscriber that falls behind is told so by its receiver
//! (`RecvError::Lagged`) and must re-check access from the database — the database, not the
//! bus, is the truth.

mod direct;
mod events;
mod local;
pub mod redis;
mod relay;

use std::sync::Arc;

use tokio::sync::broadcast;

pub use direct::{Direct, NodeMessage, Raw};
pub use events::DomainEvent;
pub use local::{LocalBus, EVENT_BUFFER};
pub use redis::RedisBus;
pub use relay::{NodePresence, PadMessage, Relayed};

pub trait PadBus: Send + Sync {
    /// This process's id among the nodes (random per process; the holder of its pad leases).
    fn node(&self) -> &str;

    /// Deliver the event to every subscriber (on every node, for a cluster transport).
    fn publish(&self, event: DomainEvent);

    /// Every event published from now on.
    fn subscribe(&self) -> broadcast::Receiver<DomainEvent>;

    /// Send a pad message to the other nodes (never to this one). Lossy: see `relay`.
    fn relay(&self, pad: crate::db::PadId, message: PadMessage);

    /// Every pad message other nodes relay from now on.
    fn subscribe_relayed(&self) -> broadcast::Receiver<Relayed>;

    /// Send a message to the node with bus id `to`, or to every other node with `None`. Lossy.
    fn send(&self, to: Option<&str>, message: NodeMessage);

    /// Every message other nodes send this one from now on.
    fn subscribe_direct(&self) -> broadcast::Receiver<Direct>;
}

/// The bus as the application state holds it.
pub type SharedBus = Arc<dyn PadBus>;
