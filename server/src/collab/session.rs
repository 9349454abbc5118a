//! One pad socket's protocol decisions (SPEC §3, §4), sans-IO: a frame's bytes go in, the frames
//! to send back, an app message to dispatch, or a reason to close come out. No sockets, no
//! database, no clock of its own (`now` is an argument), so every rule is unit-testable.
//!
//! Rules enforced here, on every message:
//! - the frame must decode (oc-proto, with its limits); otherwise the socket closes;
//! - the cached *current* role decides, with the pad's interview lock (a locked or ended interview
//!   makes candidates read-only): a read-only member's document update is refused — not
//!   applied, not logged, not relayed — and the client is told twice: a y-protocols
//!   permission-denied message and an app `{type:"error", code:"read_only"}`; the socket stays
//!   open. A no-op update (a read-only client's sync step 2 with nothing new) passes silently;
//! - per-connection token buckets for updates, full-state requests (sync step 1), awareness and
//!   app messages. Updates and sync step 1 over their rate are not refused: the session asks the
//!   pump to stop reading for a while (backpressure), and closes only a connection that stays
//!   over the rate for the whole flood window (`COLLAB_FLOOD_CLOSE_MS`);
//! - awareness states are stamped with the real user (id, name from the database, colour) and a
//!   connection may only publish its own client ids (the room enforces ownership).
//!
//! Must not: do I/O, or trust anything identity-related in a frame.

use std::time::{Duration, Instant};

use oc_proto::{AppMessage, AwarenessUpdate, DecodeError, Limits, MessageRef};
use serde_json::{json, Value};

use super::doc_store::{Applied, ConnId, DocError};
use super::limits::{
    TokenBucket, APP_MESSAGES_BURST, APP_MESSAGES_PER_SEC, AWARENESS_BURST, AWARENESS_PER_SEC,
    MAX_UPDATE_BYTES, SYNC_REQUESTS_BURST, SYNC_REQUESTS_PER_SEC, UPDATES_BURST, UPDATES_PER_SEC,
};
use super::settings::DEFAULT_FLOOD_CLOSE;
use crate::db::UserId;
use crate::pads::access::AccessLost;
use crate::pads::roles::Role;

/// Why a pad socket is closed by the server. `error.rs` maps each to a close code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SessionError {
    /// The frame does not decode (oc-proto's classification picks 1007/1009/1003).
    #[error("bad frame: {0}")]
    Decode(#[from] DecodeError),
    /// Text frames are not part of the protocol.
    #[error("text frames are not accepted; send binary frames")]
    TextFrame,
    /// Over the WebSocket frame/message size limit before decoding.
    #[error("frame too large")]
    FrameTooLarge,
    /// yrs refused the update (garbage that still decoded as a frame).
    #[error("the document update is invalid")]
    BadUpdate,
    /// The update would grow the document past `MAX_DOC_BYTES`.
    #[error("the document would exceed its size limit")]
    DocTooLarge,
    /// One update over `MAX_UPDATE_BYTES`.
    #[error("the document update is too large")]
    UpdateTooLarge,
    /// The update depends on more content the server never received than `MAX_PENDING_BYTES`.
    #[error("the update depends on content the server does not have")]
    MissingDependencies,
    /// The update would grow a file past `pads::files::MAX_FILE_BYTES`.
    #[error("a file would exceed its size limit")]
    FileTooLarge,
    /// The update writes to a root that is not one of the pad's files (`file:<id>`).
    #[error("the update writes to a root that is not a file of this pad")]
    UnknownRoot,
    /// The update would take the whiteboard past `collab::whiteboard`'s limits.
    #[error("the whiteboard would exceed its size limit")]
    WhiteboardTooLarge,
    /// A per-connection message rate was exceeded.
    #[error("too many {0} messages")]
    RateLimited(&'static str),
    /// The connection published awareness for too many client ids.
    #[error("too many awareness client ids on one connection")]
    TooManyClientIds,
    /// Connection limit per user or per pad reached.
    #[error("too many connections ({0})")]
    TooManyConnections(&'static str),
    /// The connection's outbound queue overflowed.
    #[error("the connection is too slow to keep up")]
    TooSlow,
    /// The document log is overloaded.
    #[error("the server is overloaded; reconnect later")]
    Overloaded,
    /// The member lost access to the pad (kick, leave).
    #[error("you no longer have access to this pad")]
    AccessRevoked,
    /// The user's sessions were revoked (logout everywhere, account deleted).
    #[error("your session was revoked; sign in again")]
    SessionRevoked,
    /// The pad was deleted.
    #[error("the pad was deleted")]
    PadDeleted,
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ServerShutdown,
    /// A bug or an I/O failure.
    #[error("internal error")]
    Internal,
}

impl From<AccessLost> for SessionError {
    fn from(lost: AccessLost) -> Self {
        match lost {
            AccessLost::SessionRevoked => SessionError::SessionRevoked,
            AccessLost::NotAMember => SessionError::AccessRevoked,
            AccessLost::PadDeleted => SessionError::PadDeleted,
        }
    }
}

impl From<DocError> for SessionError {
    fn from(err: DocError) -> Self {
        match err {
            DocError::BadUpdate => SessionError::BadUpdate,
            DocError::TooLarge => SessionError::DocTooLarge,
            DocError::MissingDependencies => SessionError::MissingDependencies,
            DocError::FileTooLarge => SessionError::FileTooLarge,
            DocError::UnknownRoot => SessionError::UnknownRoot,
            DocError::WhiteboardTooLarge => SessionError::WhiteboardTooLarge,
            DocError::Overloaded => SessionError::Overloaded,
            // A full history is answered by the session (a `history_full` error), never a close.
            DocError::Poisoned | DocError::Db(_) | DocError::HistoryFull => SessionError::Internal,
        }
    }
}

/// The pad as a session sees it: the live `Room` in production, an in-memory double in tests.
pub trait PadPort {
    fn state_vector(&self) -> Vec<u8>;
    fn diff_since(&self, state_vector: &[u8]) -> Result<Vec<u8>, DocError>;
    fn would_change(&self, update: &[u8]) -> Result<bool, DocError>;
    /// Apply, log and relay to the others (role already checked).
    fn apply_update(&self, conn: ConnId, user: UserId, update: &[u8]) -> Result<Applied, DocError>;
    /// Publish stamped awareness entries; returns how many were refused (client id of another user).
    fn publish_awareness(
        &self,
        conn: ConnId,
        entries: Vec<oc_proto::AwarenessEntry>,
    ) -> Result<usize, SessionError>;
    /// Every current awareness state as one frame.
    fn awareness_snapshot(&self) -> Option<Vec<u8>>;
}

/// What handling one frame produced.
#[derive(Debug, Default)]
pub struct Step {
    /// Frames for this socket only, in order.
    pub replies: Vec<Vec<u8>>,
    /// An app message for the dispatcher.
    pub app: Option<AppMessage>,
    /// Close the socket for this reason (after sending `replies`).
    pub close: Option<SessionError>,
    /// A sync step 1 to answer (the peer's state vector): the pump encodes the answer with
    /// `sync_step2_for`, off the async workers when the document is large.
    pub sync_request: Option<Vec<u8>>,
    /// Stop reading this socket for this long before the next frame (backpressure).
    pub pause: Duration,
}

impl Step {
    fn close(reason: SessionError) -> Step {
        Step {
            close: Some(reason),
            ..Step::default()
        }
    }
}

/// The reason string of the y-protocols permission-denied message.
pub const READ_ONLY_REASON: &str = "read-only: your role may not edit this pad";

/// The reason string of the permission-denied message when an interviewer locked the pad.
pub const LOCKED_REASON: &str = "locked: the interviewer locked the pad";

/// The reason string of the permission-denied message when the pad's history budget is used.
pub const HISTORY_FULL_REASON: &str = "history-full: this pad's edit history budget is used";

/// An app `error` message for the client.
pub fn app_error(code: &str, message: &str) -> Value {
    json!({ "type": "error", "code": code, "message": message })
}

pub fn encode_app_value(value: &Value) -> Vec<u8> {
    match AppMessage::new(value.clone()) {
        Ok(app) => app.encode(),
        // Only reachable with a server bug (a value without a string `type`).
        Err(_) => AppMessage::new(app_error("internal", "internal error"))
            .map(|a| a.encode())
            .unwrap_or_default(),
    }
}

pub struct Session {
    pub conn: ConnId,
    pub user: UserId,
    pub name: String,
    pub color: &'static str,
    role: Role,
    role_stale: bool,
    /// The pad's interview refuses candidates' edits (locked or ended); re-read with the role.
    edits_locked: bool,
    updates: TokenBucket,
    sync_requests: TokenBucket,
    awareness: TokenBucket,
    app: TokenBucket,
    /// Since when every paced message had to wait (`None` while the client is within its rates).
    throttled_since: Option<Instant>,
    /// Continuous throttling for this long closes the socket (1008).
    flood_close_after: Duration,
}

/// The sync step 2 frame answering a peer's state vector: what the pad has that the peer lacks.
pub fn sync_step2_for(pad: &impl PadPort, state_vector: &[u8]) -> Result<Vec<u8>, SessionError> {
    Ok(oc_proto::encode_sync_step2(&pad.diff_since(state_vector)?))
}

impl Session {
    pub fn new(
        conn: ConnId,
        user: UserId,
        name: String,
        color: &'static str,
        role: Role,
        now: Instant,
    ) -> Session {
        Session {
            conn,
            user,
            name,
            color,
            role,
            role_stale: false,
            edits_locked: false,
            updates: TokenBucket::new(UPDATES_PER_SEC, UPDATES_BURST, now),
            sync_requests: TokenBucket::new(SYNC_REQUESTS_PER_SEC, SYNC_REQUESTS_BURST, now),
            awareness: TokenBucket::new(AWARENESS_PER_SEC, AWARENESS_BURST, now),
            app: TokenBucket::new(APP_MESSAGES_PER_SEC, APP_MESSAGES_BURST, now),
            throttled_since: None,
            flood_close_after: DEFAULT_FLOOD_CLOSE,
        }
    }

    /// How long a connection may stay over its update or sync rate before it is closed
    /// (`COLLAB_FLOOD_CLOSE_MS`).
    pub fn close_floods_after(&mut self, window: Duration) {
        self.flood_close_after = window;
    }

    /// Charge one paced message (update or sync step 1) to `bucket`: how long to pause reading,
    /// or the close reason once the client has been over the rate for the whole flood window.
    fn pace(&mut self, kind: &'static str, now: Instant) -> Result<Duration, SessionError> {
        let bucket = if kind == "sync" {
            &mut self.sync_requests
        } else {
            &mut self.updates
        };
        let pause = bucket.reserve(now);
        if pause.is_zero() {
            self.throttled_since = None;
            return Ok(pause);
        }
        let since = *self.throttled_since.get_or_insert(now);
        if now.saturating_duration_since(since) >= self.flood_close_after {
            return Err(SessionError::RateLimited(kind));
        }
        Ok(pause)
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// A role change from the event bus; applies from the next message.
    pub fn set_role(&mut self, role: Role) {
        self.role = role;
        self.role_stale = false;
    }

    /// The interview lock as just read (`interviews::switches::edits_locked`); applies from the
    /// next message.
    pub fn set_edits_locked(&mut self, locked: bool) {
        self.edits_locked = locked;
    }

    /// Whether this connection's document updates are applied: the role may edit and no
    /// interview switch holds it.
    pub fn may_edit(&self) -> bool {
        self.role.can_edit() && !(self.edits_locked && self.role.bound_by_interview_switches())
    }

    /// Role events may have been missed: the caller must re-read the role before the next frame.
    pub fn mark_role_stale(&mut self) {
        self.role_stale = true;
    }

    pub fn role_is_stale(&self) -> bool {
        self.role_stale
    }

    /// The user as stamped into awareness states and shown in presence.
    pub fn identity(&self) -> Value {
        json!({ "id": self.user, "name": self.name, "color": self.color, "colorLight": format!("{}33", self.color) })
    }

    /// Frames sent right after the socket opens: the server's sync step 1 (so the client
    /// answers with what the server lacks), everyone's awareness, and a `hello`.
    pub fn opening_frames(&self, pad: &impl PadPort) -> Vec<Vec<u8>> {
        let mut frames = vec![oc_proto::encode_sync_step1(&pad.state_vector())];
        if let Some(awareness) = pad.awareness_snapshot() {
            frames.push(awareness);
        }
        frames.push(encode_app_value(&json!({
            "type": "hello",
            "connId": self.conn,
            "user": self.identity(),
            "role": self.role.as_str(),
            "readOnly": !self.may_edit(),
        })));
        frames
    }

    /// Handle one binary frame.
    pub fn handle_frame(&mut self, frame: &[u8], now: Instant, pad: &impl PadPort) -> Step {
        let message = match oc_proto::decode_ref(frame, &Limits::DEFAULT) {
            Ok(message) => message,
            Err(err) => return Step::close(err.into()),
        };
        match message {
            MessageRef::SyncStep1(state_vector) => match self.pace("sync", now) {
                Ok(pause) => Step {
                    sync_request: Some(state_vector.to_vec()),
                    pause,
                    ..Step::default()
                },
                Err(reason) => Step::close(reason),
            },
            MessageRef::SyncStep2(update) | MessageRef::Update(update) => {
                match self.pace("update", now) {
                    Ok(pause) => Step {
                        pause,
                        ..self.handle_update(update, pad)
                    },
                    Err(reason) => Step::close(reason),
                }
            }
            MessageRef::Awareness(payload) => {
                if !self.awareness.try_take(now) {
                    return Step::close(SessionError::RateLimited("awareness"));
                }
                self.handle_awareness(payload, pad)
            }
            MessageRef::QueryAwareness => {
                if !self.awareness.try_take(now) {
                    return Step::close(SessionError::RateLimited("awareness"));
                }
                Step {
                    replies: pad.awareness_snapshot().into_iter().collect(),
                    ..Step::default()
                }
            }
            // A client telling the server it was refused something: nothing to do.
            MessageRef::PermissionDenied(_) => Step::default(),
            MessageRef::App(app) => {
                if !self.app.try_take(now) {
                    return Step::close(SessionError::RateLimited("app"));
                }
                Step {
                    app: Some(app),
                    ..Step::default()
                }
            }
        }
    }

    fn handle_update(&mut self, update: &[u8], pad: &impl PadPort) -> Step {
        if update.len() > MAX_UPDATE_BYTES {
            return Step::close(SessionError::UpdateTooLarge);
        }
        if self.may_edit() {
            return match pad.apply_update(self.conn, self.user, update) {
                Ok(_) => Step::default(),
                // The pad stays readable; like a read-only member, the client is told and kept.
                Err(DocError::HistoryFull) => Step {
                    replies: vec![
                        oc_proto::encode_permission_denied(HISTORY_FULL_REASON),
                        encode_app_value(&app_error(
                            "history_full",
                            "this pad's edit history is full; the change was not saved (fork the pad to keep editing)",
                        )),
                    ],
                    ..Step::default()
                },
                Err(err) => Step::close(err.into()),
            };
        }
        match pad.would_change(update) {
            Ok(false) => Step::default(),
            Ok(true) if self.role.can_edit() => Step {
                replies: vec![
                    oc_proto::encode_permission_denied(LOCKED_REASON),
                    encode_app_value(&app_error(
                        "pad_locked",
                        "the interviewer locked the pad; the change was not saved",
                    )),
                ],
                ..Step::default()
            },
            Ok(true) => Step {
                replies: vec![
                    oc_proto::encode_permission_denied(READ_ONLY_REASON),
                    encode_app_value(&app_error(
                        "read_only",
                        &format!(
                            "your role ({}) may not edit this pad; the change was not saved",
                            self.role.as_str()
                        ),
                    )),
                ],
                ..Step::default()
            },
            Err(err) => Step::close(err.into()),
        }
    }

    fn handle_awareness(&mut self, payload: &[u8], pad: &impl PadPort) -> Step {
        let mut update = match AwarenessUpdate::decode(payload, &Limits::DEFAULT) {
            Ok(update) => update,
            Err(err) => return Step::close(err.into()),
        };
        let identity = self.identity();
        // States that are not objects cannot carry the stamp; they are dropped.
        update
            .entries
            .retain_mut(|entry| entry.is_removal() || entry.stamp_user(identity.clone()));
        if update.entries.is_empty() {
            return Step::default();
        }
        match pad.publish_awareness(self.conn, update.entries) {
            Ok(0) => Step::default(),
            Ok(_) => Step {
                replies: vec![encode_app_value(&app_error(
                    "awareness_refused",
                    "awareness for a client id of another user's connection was ignored",
                ))],
                ..Step::default()
            },
            Err(err) => Step::close(err),
        }
    }
}

#[cfg(test)]
mod tests;
