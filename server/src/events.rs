//! Domain events: what changed, published by the HTTP side (auth, pads) and consumed by live
//! state (collaboration rooms, terminals) so access changes reach open sockets at once (SPEC §3).
//!
//! Publishing never blocks or fails; a consumer that lags is told so by the channel and must
//! re-check access from the database.

use tokio::sync::broadcast;

use crate::db::{PadId, UserId};
use crate::pads::roles::Role;

/// Events buffered per subscriber before it is considered lagging.
pub const EVENT_BUFFER: usize = 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    /// The user was deleted or logged out everywhere: close every socket of theirs.
    UserRevoked { user: UserId },
    /// The user's role on the pad changed; `None` means they lost access (kick, leave).
    MemberChanged { pad: PadId, user: UserId, role: Option<Role> },
    /// The pad is gone: close its sockets.
    PadDeleted { pad: PadId },
    /// The pad's title, language or kind changed.
    PadChanged { pad: PadId },
    /// A file was created, renamed, deleted or changed language.
    FilesChanged { pad: PadId },
}

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<DomainEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(EVENT_BUFFER);
        EventBus { sender }
    }
}

impl EventBus {
    pub fn publish(&self, event: DomainEvent) {
        // No subscriber is fine: nobody is connected.
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.sender.subscribe()
    }
}
