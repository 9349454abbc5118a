//! Whole frames: the top-level message type and its payload.

use crate::app::AppMessage;
use crate::error::{DecodeError, PayloadKind};
use crate::lib0::{self, Reader};
use crate::limits::Limits;

/// Top-level type of a Yjs sync message (y-protocols `messageSync`).
pub const MSG_SYNC: u64 = 0;
/// Top-level type of an awareness message (`messageAwareness`).
pub const MSG_AWARENESS: u64 = 1;
/// Top-level type of an auth message (`messageAuth`).
pub const MSG_AUTH: u64 = 2;
/// Top-level type of an awareness query (`messageQueryAwareness`).
pub const MSG_QUERY_AWARENESS: u64 = 3;
/// Top-level type of an opencoder app message.
pub const MSG_APP: u64 = 100;

/// Sync subtype: state vector, asking the peer for what it is missing.
pub const SYNC_STEP1: u64 = 0;
/// Sync subtype: the update answering a step 1.
pub const SYNC_STEP2: u64 = 1;
/// Sync subtype: an incremental update.
pub const SYNC_UPDATE: u64 = 2;

/// Auth subtype: permission denied, with a reason.
pub const AUTH_PERMISSION_DENIED: u64 = 0;

/// y-protocols/auth messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMessage {
    /// The peer refused something (for opencoder: a document update from a
    /// read-only user). The reason is free text for humans.
    PermissionDenied(String),
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Sync step 1: an encoded Yjs state vector.
    SyncStep1(Vec<u8>),
    /// Sync step 2: an encoded Yjs update (v1) answering a step 1.
    SyncStep2(Vec<u8>),
    /// An incremental encoded Yjs update (v1).
    Update(Vec<u8>),
    /// An awareness update; decode it with
    /// [`AwarenessUpdate::decode`](crate::AwarenessUpdate::decode).
    Awareness(Vec<u8>),
    /// A request for the current awareness states of everyone.
    QueryAwareness,
    /// A y-protocols/auth message.
    Auth(AuthMessage),
    /// An opencoder app message.
    App(AppMessage),
}

/// A decoded frame that borrows its byte payloads from the input, for hot
/// paths (document updates) that hand the bytes straight to yrs.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageRef<'a> {
    /// See [`Message::SyncStep1`].
    SyncStep1(&'a [u8]),
    /// See [`Message::SyncStep2`].
    SyncStep2(&'a [u8]),
    /// See [`Message::Update`].
    Update(&'a [u8]),
    /// See [`Message::Awareness`].
    Awareness(&'a [u8]),
    /// See [`Message::QueryAwareness`].
    QueryAwareness,
    /// See [`Message::Auth`].
    PermissionDenied(&'a str),
    /// See [`Message::App`].
    App(AppMessage),
}

impl MessageRef<'_> {
    /// Copies the payload into an owned [`Message`].
    pub fn into_owned(self) -> Message {
        match self {
            MessageRef::SyncStep1(b) => Message::SyncStep1(b.to_vec()),
            MessageRef::SyncStep2(b) => Message::SyncStep2(b.to_vec()),
            MessageRef::Update(b) => Message::Update(b.to_vec()),
            MessageRef::Awareness(b) => Message::Awareness(b.to_vec()),
            MessageRef::QueryAwareness => Message::QueryAwareness,
            MessageRef::PermissionDenied(r) => {
                Message::Auth(AuthMessage::PermissionDenied(r.to_owned()))
            }
            MessageRef::App(app) => Message::App(app),
        }
    }
}

/// Decodes one frame into an owned [`Message`]. See [`decode_ref`].
pub fn decode(frame: &[u8], limits: &Limits) -> Result<Message, DecodeError> {
    decode_ref(frame, limits).map(MessageRef::into_owned)
}

/// Decodes one frame, borrowing byte payloads from `frame`.
///
/// Checks, in order: the frame size, the structure (with payload limits
/// checked as soon as a length is read), that nothing follows the message,
/// and only then UTF-8/JSON of app messages, so no parsing work is spent on
/// a frame that is going to be rejected anyway.
pub fn decode_ref<'a>(frame: &'a [u8], limits: &Limits) -> Result<MessageRef<'a>, DecodeError> {
    if frame.len() > limits.max_frame_bytes {
        return Err(DecodeError::FrameTooLarge {
            size: frame.len(),
            limit: limits.max_frame_bytes,
        });
    }
    let mut reader = Reader::new(frame);
    let message = match reader.read_var_uint()? {
        MSG_SYNC => match reader.read_var_uint()? {
            SYNC_STEP1 => MessageRef::SyncStep1(reader.read_var_bytes(None)?),
            SYNC_STEP2 => MessageRef::SyncStep2(reader.read_var_bytes(None)?),
            SYNC_UPDATE => MessageRef::Update(reader.read_var_bytes(None)?),
            other => return Err(DecodeError::UnknownSyncType(other)),
        },
        MSG_AWARENESS => MessageRef::Awareness(
            reader.read_var_bytes(Some((limits.max_awareness_bytes, PayloadKind::Awareness)))?,
        ),
        MSG_AUTH => match reader.read_var_uint()? {
            AUTH_PERMISSION_DENIED => MessageRef::PermissionDenied(reader.read_var_string(None)?),
            other => return Err(DecodeError::UnknownAuthType(other)),
        },
        MSG_QUERY_AWARENESS => MessageRef::QueryAwareness,
        MSG_APP => {
            let json = reader.read_var_string(Some((
                limits.max_app_message_bytes,
                PayloadKind::AppMessage,
            )))?;
            reader.finish()?;
            return Ok(MessageRef::App(AppMessage::parse(json)?));
        }
        other => return Err(DecodeError::UnknownMessageType(other)),
    };
    reader.finish()?;
    Ok(message)
}

impl Message {
    /// Decodes one frame; same as [`decode`].
    pub fn decode(frame: &[u8], limits: &Limits) -> Result<Message, DecodeError> {
        decode(frame, limits)
    }

    /// Encodes the frame. Encoding never fails, but the result may exceed
    /// the receiver's [`Limits`].
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Message::SyncStep1(sv) => encode_sync_step1(sv),
            Message::SyncStep2(update) => encode_sync_step2(update),
            Message::Update(update) => encode_update(update),
            Message::Awareness(update) => encode_awareness(update),
            Message::QueryAwareness => encode_query_awareness(),
            Message::Auth(AuthMessage::PermissionDenied(reason)) => {
                encode_permission_denied(reason)
            }
            Message::App(app) => app.encode(),
        }
    }

    /// A short stable name for logs and metrics, e.g. `"update"`.
    pub fn name(&self) -> &'static str {
        match self {
            Message::SyncStep1(_) => "sync_step1",
            Message::SyncStep2(_) => "sync_step2",
            Message::Update(_) => "update",
            Message::Awareness(_) => "awareness",
            Message::QueryAwareness => "query_awareness",
            Message::Auth(AuthMessage::PermissionDenied(_)) => "permission_denied",
            Message::App(_) => "app",
        }
    }
}

fn frame(msg_type: u64, subtype: Option<u64>, payload: &[u8]) -> Vec<u8> {
    let header = lib0::var_uint_len(msg_type) + subtype.map_or(0, lib0::var_uint_len);
    let mut out = Vec::with_capacity(header.saturating_add(lib0::var_bytes_len(payload.len())));
    lib0::write_var_uint(&mut out, msg_type);
    if let Some(subtype) = subtype {
        lib0::write_var_uint(&mut out, subtype);
    }
    lib0::write_var_bytes(&mut out, payload);
    out
}

/// Sync step 1 frame carrying an encoded state vector.
pub fn encode_sync_step1(state_vector: &[u8]) -> Vec<u8> {
    frame(MSG_SYNC, Some(SYNC_STEP1), state_vector)
}

/// Sync step 2 frame carrying an encoded update.
pub fn encode_sync_step2(update: &[u8]) -> Vec<u8> {
    frame(MSG_SYNC, Some(SYNC_STEP2), update)
}

/// Update frame carrying an encoded update.
pub fn encode_update(update: &[u8]) -> Vec<u8> {
    frame(MSG_SYNC, Some(SYNC_UPDATE), update)
}

/// Awareness frame carrying an already-encoded awareness update
/// (see [`AwarenessUpdate::encode`](crate::AwarenessUpdate::encode)).
pub fn encode_awareness(update: &[u8]) -> Vec<u8> {
    frame(MSG_AWARENESS, None, update)
}

/// Query-awareness frame (a single byte, `03`).
pub fn encode_query_awareness() -> Vec<u8> {
    vec![MSG_QUERY_AWARENESS as u8]
}

/// Auth permission-denied frame.
pub fn encode_permission_denied(reason: &str) -> Vec<u8> {
    frame(MSG_AUTH, Some(AUTH_PERMISSION_DENIED), reason.as_bytes())
}
