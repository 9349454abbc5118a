//! What changed, as the live state needs to hear it (SPEC §3: access changes reach open sockets
//! at once).

use serde::{Deserialize, Serialize};

use crate::db::{PadId, UserId};
use crate::pads::roles::Role;

/// Serialised for transports that cross processes (`bus::redis`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum DomainEvent {
    /// The user was deleted or logged out everywhere: close every socket of theirs.
    UserRevoked { user: UserId },
    /// The user's role on the pad changed; `None` means they lost access (kick, leave).
    MemberChanged {
        pad: PadId,
        user: UserId,
        role: Option<Role>,
    },
    /// The pad is gone: close its sockets.
    PadDeleted { pad: PadId },
    /// The pad's title, language or kind changed.
    PadChanged { pad: PadId },
    /// A file was created, renamed, deleted or changed language.
    FilesChanged { pad: PadId },
    /// The pad's interview changed: a switch, the timer, its end, or the waiting room.
    InterviewChanged { pad: PadId },
    /// A candidate's client reported an integrity event (interviewers re-read the list).
    IntegrityReported { pad: PadId },
    /// The transport may have lost events (it reconnected): re-check every live socket's access
    /// and refresh what events would have pushed, as after a lag.
    Resync,
}
