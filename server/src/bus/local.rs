//! One process's bus: a broadcast channel. Every subscriber is on this node.

use tokio::sync::broadcast;

use super::{DomainEvent, PadBus};

/// Events buffered per subscriber before it is considered lagging.
pub const EVENT_BUFFER: usize = 1024;

pub struct LocalBus {
    sender: broadcast::Sender<DomainEvent>,
}

impl Default for LocalBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(EVENT_BUFFER);
        LocalBus { sender }
    }
}

impl PadBus for LocalBus {
    fn publish(&self, event: DomainEvent) {
        // No subscriber is fine: nobody is connected.
        let _ = self.sender.send(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.sender.subscribe()
    }
}
