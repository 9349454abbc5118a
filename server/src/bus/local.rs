//! One process's bus: a broadcast channel. Every subscriber is on this node.

use tokio::sync::broadcast;

use super::{Direct, DomainEvent, NodeMessage, PadBus, PadMessage, Relayed};
use crate::db::PadId;

/// Events buffered per subscriber before it is considered lagging.
pub const EVENT_BUFFER: usize = 1024;

pub struct LocalBus {
    node: String,
    sender: broadcast::Sender<DomainEvent>,
    /// Never sent on: one node has no other node to hear from.
    relayed: broadcast::Sender<Relayed>,
    direct: broadcast::Sender<Direct>,
}

impl Default for LocalBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(EVENT_BUFFER);
        let (relayed, _) = broadcast::channel(1);
        let (direct, _) = broadcast::channel(1);
        LocalBus {
            node: uuid::Uuid::new_v4().simple().to_string(),
            sender,
            relayed,
            direct,
        }
    }
}

impl PadBus for LocalBus {
    fn node(&self) -> &str {
        &self.node
    }

    fn publish(&self, event: DomainEvent) {
        // No subscriber is fine: nobody is connected.
        let _ = self.sender.send(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.sender.subscribe()
    }

    fn relay(&self, _pad: PadId, _message: PadMessage) {}

    fn subscribe_relayed(&self) -> broadcast::Receiver<Relayed> {
        self.relayed.subscribe()
    }

    fn send(&self, _to: Option<&str>, _message: NodeMessage) {}

    fn subscribe_direct(&self) -> broadcast::Receiver<Direct> {
        self.direct.subscribe()
    }
}
