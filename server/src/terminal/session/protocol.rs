//! What a pad terminal says to its sockets: the frames (`Out`), the close reasons, the lifecycle
//! `Status` and the JSON control messages.

use axum::body::Bytes;
use serde_json::{json, Value};

use crate::pads::roles::Role;

/// A message for one terminal socket.
#[derive(Debug, Clone)]
pub enum Out {
    /// Raw terminal output.
    Binary(Bytes),
    /// A JSON control message.
    Text(String),
}

/// Why the server closes a terminal socket: (code, reason).
pub type CloseReason = (u16, &'static str);
pub const CLOSE_FORBIDDEN: CloseReason = (4003, "forbidden");
pub const CLOSE_REVOKED: CloseReason = (4001, "session revoked");
pub const CLOSE_PAD_DELETED: CloseReason = (4004, "pad deleted");
pub const CLOSE_SHUTDOWN: CloseReason = (1001, "server shutting down");
pub const CLOSE_TOO_SLOW: CloseReason = (1013, "connection too slow");
pub const CLOSE_TOO_MANY: CloseReason = (1008, "too many terminal connections");
pub const CLOSE_USER_TOO_MANY: CloseReason = (1008, "too many terminal connections for this user");
/// Another node took the pad over (this one lost its lease): reconnect to reach the new owner's
/// terminal.
pub const CLOSE_MOVED: CloseReason = (1012, "the terminal moved to another node; reconnect");
pub const CLOSE_INTERNAL: CloseReason = (1011, "internal error");

/// Every close reason a pad terminal gives, so one relayed from another node (as a code and a
/// text) is closed with the same words.
pub const CLOSE_REASONS: [CloseReason; 9] = [
    CLOSE_FORBIDDEN,
    CLOSE_REVOKED,
    CLOSE_PAD_DELETED,
    CLOSE_SHUTDOWN,
    CLOSE_TOO_SLOW,
    CLOSE_TOO_MANY,
    CLOSE_USER_TOO_MANY,
    CLOSE_MOVED,
    CLOSE_INTERNAL,
];

/// The lifecycle state clients see in `status` messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Starting,
    Running,
    /// The shell ended (or could not start: `error` says why).
    Exited {
        code: Option<i64>,
        error: Option<String>,
    },
    IdleTimeout,
    MaxLifetime,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Running => "running",
            Status::Exited { .. } => "exited",
            Status::IdleTimeout => "idle_timeout",
            Status::MaxLifetime => "max_lifetime",
        }
    }
}

pub(super) fn text(value: Value) -> Out {
    Out::Text(value.to_string())
}

pub(super) fn error_message(code: &str, message: &str) -> Out {
    text(json!({ "type": "error", "code": code, "message": message }))
}

pub(super) fn role_message(role: Role) -> Out {
    text(json!({ "type": "role", "role": role.as_str(), "canType": role.can_edit() }))
}
