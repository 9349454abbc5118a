//! Decode/encode errors and their coarse classification for close codes.

use std::fmt;

/// Which length-limited payload a [`DecodeError::PayloadTooLarge`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// The awareness update inside a type-1 frame.
    Awareness,
    /// The JSON text of a type-100 app message.
    AppMessage,
}

impl fmt::Display for PayloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PayloadKind::Awareness => "awareness update",
            PayloadKind::AppMessage => "app message",
        })
    }
}

/// Why a frame (or awareness payload) could not be decoded.
///
/// Use [`DecodeError::kind`] to choose a WebSocket close code rather than
/// matching every variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended in the middle of a varuint, or was empty.
    #[error("frame is truncated")]
    Truncated,
    /// A length prefix claims more bytes than the input still holds.
    #[error("declared length {declared} exceeds the {remaining} bytes remaining")]
    LengthOutOfBounds {
        /// The length the sender declared.
        declared: u64,
        /// Bytes actually left after the prefix.
        remaining: usize,
    },
    /// A varuint is longer than 8 bytes or exceeds 2^53 - 1, the largest
    /// integer lib0 can represent faithfully in JavaScript.
    #[error("varuint exceeds 2^53 - 1")]
    VarintOverflow,
    /// A complete message was followed by more bytes. See the crate docs for
    /// why these are rejected rather than ignored.
    #[error("{count} trailing bytes after a complete message")]
    TrailingBytes {
        /// Number of unread bytes.
        count: usize,
    },
    /// The top-level message type is not one this protocol knows.
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    /// A sync (type 0) message with a subtype other than 0, 1 or 2.
    #[error("unknown sync message subtype {0}")]
    UnknownSyncType(u64),
    /// An auth (type 2) message with a subtype other than 0.
    #[error("unknown auth message subtype {0}")]
    UnknownAuthType(u64),
    /// The whole frame exceeds [`Limits::max_frame_bytes`](crate::Limits).
    #[error("frame of {size} bytes exceeds the limit of {limit}")]
    FrameTooLarge {
        /// Size of the frame.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A length-limited payload declares (or has) more bytes than allowed.
    #[error("{payload} of {size} bytes exceeds the limit of {limit}")]
    PayloadTooLarge {
        /// Which payload.
        payload: PayloadKind,
        /// Declared or actual size.
        size: u64,
        /// The limit in force.
        limit: usize,
    },
    /// An awareness update declares more entries than allowed.
    #[error("awareness update with {count} entries exceeds the limit of {limit}")]
    TooManyAwarenessEntries {
        /// Declared entry count.
        count: u64,
        /// The limit in force.
        limit: usize,
    },
    /// A varString is not valid UTF-8 (lib0 decodes strings with a fatal
    /// `TextDecoder`, so JS peers reject these too).
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// An awareness state or app message is not valid JSON.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// An app message's JSON is not an object.
    #[error("app message is not a JSON object")]
    AppNotObject,
    /// An app message object lacks a string `type` field.
    #[error("app message has no string \"type\" field")]
    MissingAppType,
}

/// Coarse class of a [`DecodeError`], for picking a WebSocket close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecodeErrorKind {
    /// The bytes do not follow the format: truncation, bad varuints, bad
    /// lengths, trailing bytes, invalid UTF-8/JSON, app message shape.
    /// Suggested close code 1007 (invalid frame payload data); 1008 (policy
    /// violation) is also reasonable.
    Malformed,
    /// A frame, payload or entry count exceeds the [`Limits`](crate::Limits).
    /// Suggested close code 1009 (message too big).
    TooLarge,
    /// Well-formed so far, but a message type or subtype this protocol does
    /// not handle. Suggested close code 1003 (unsupported data).
    Unsupported,
}

impl DecodeErrorKind {
    /// The WebSocket close code this crate suggests for the class: 1007,
    /// 1009 or 1003. The server is free to map differently.
    pub fn suggested_close_code(self) -> u16 {
        match self {
            DecodeErrorKind::Malformed => 1007,
            DecodeErrorKind::TooLarge => 1009,
            DecodeErrorKind::Unsupported => 1003,
        }
    }
}

impl DecodeError {
    /// Classifies the error; see [`DecodeErrorKind`].
    pub fn kind(&self) -> DecodeErrorKind {
        match self {
            DecodeError::Truncated
            | DecodeError::LengthOutOfBounds { .. }
            | DecodeError::VarintOverflow
            | DecodeError::TrailingBytes { .. }
            | DecodeError::InvalidUtf8
            | DecodeError::InvalidJson(_)
            | DecodeError::AppNotObject
            | DecodeError::MissingAppType => DecodeErrorKind::Malformed,
            DecodeError::FrameTooLarge { .. }
            | DecodeError::PayloadTooLarge { .. }
            | DecodeError::TooManyAwarenessEntries { .. } => DecodeErrorKind::TooLarge,
            DecodeError::UnknownMessageType(_)
            | DecodeError::UnknownSyncType(_)
            | DecodeError::UnknownAuthType(_) => DecodeErrorKind::Unsupported,
        }
    }
}

/// Why a value could not be turned into an app message.
#[derive(Debug, thiserror::Error)]
pub enum AppEncodeError {
    /// The value could not be serialized to JSON (e.g. a map with non-string keys).
    #[error("cannot serialize app message: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The value did not serialize to a JSON object.
    #[error("app message is not a JSON object")]
    NotAnObject,
    /// The object has no string `type` field.
    #[error("app message has no string \"type\" field")]
    MissingType,
}
