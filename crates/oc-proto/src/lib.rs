//! Sans-IO codec for the opencoder pad WebSocket.
//!
//! Bytes in, typed messages out, and back: no sockets, no async runtime, no
//! CRDT. The server's collaboration module and the benchmark client share
//! it. Document updates and state vectors stay opaque byte strings here; the
//! server hands them to yrs itself.
//!
//! # Frame format
//!
//! Every binary WebSocket message is one frame in the standard Yjs protocol
//! ([y-protocols] on [lib0] encoding), plus one opencoder extension. A frame
//! starts with a varuint message type:
//!
//! | type | name | rest of the frame | [`Message`] |
//! |-----:|------|-------------------|-------------|
//! | 0 | sync | varuint `0`, varUint8Array state vector | [`Message::SyncStep1`] |
//! | 0 | sync | varuint `1`, varUint8Array update | [`Message::SyncStep2`] |
//! | 0 | sync | varuint `2`, varUint8Array update | [`Message::Update`] |
//! | 1 | awareness | varUint8Array awareness update | [`Message::Awareness`] |
//! | 2 | auth | varuint `0`, varString reason | [`Message::Auth`] ([`AuthMessage::PermissionDenied`]) |
//! | 3 | query awareness | nothing | [`Message::QueryAwareness`] |
//! | 100 | opencoder app | varString JSON object with a string `type` | [`Message::App`] |
//!
//! An awareness update is `varuint count`, then per entry `varuint clientID,
//! varuint clock, varString JSON state`, where the state `null` means the
//! client left ([`AwarenessUpdate`]).
//!
//! lib0 primitives:
//! - **varuint**: 7 bits per byte, least significant group first, high bit
//!   set on every byte except the last (`300` → `ac 02`). lib0 reads at
//!   most 2^53 - 1 (`Number.MAX_SAFE_INTEGER`); larger values, or encodings
//!   longer than 8 bytes, are [`DecodeError::VarintOverflow`]. Non-minimal
//!   encodings (`80 00`) are accepted, as lib0 accepts them.
//! - **varUint8Array**: varuint length, then that many bytes.
//! - **varString**: varUint8Array of UTF-8. lib0 decodes with a fatal
//!   `TextDecoder`, so invalid UTF-8 is an error on both sides.
//!
//! ## Trailing bytes are rejected
//!
//! A frame holds exactly one message. y-websocket's handlers read one message
//! per frame and silently ignore whatever follows; they never batch several
//! messages into one frame. No lib0 encoder produces trailing bytes, so this
//! crate rejects them ([`DecodeError::TrailingBytes`]) instead of letting a
//! client smuggle unaccounted data past the limits. The same applies to
//! bytes after the last entry of an awareness update.
//!
//! ## JSON re-encoding
//!
//! Awareness states and app messages are parsed into [`serde_json::Value`]
//! and re-serialized by serde_json, so re-encoding is equal in meaning, not
//! necessarily in bytes, to what a JS peer sent: without serde_json's
//! `preserve_order` feature object keys come out sorted (JS keeps insertion
//! order), and numbers may be spelled differently (`1e3` → `1000.0`).
//!
//! # Limits
//!
//! [`decode`] and [`AwarenessUpdate::decode`] take a [`Limits`]; the defaults
//! ([`Limits::DEFAULT`]) are meant for a server reading client frames:
//!
//! | constant | default | applies to |
//! |----------|--------:|------------|
//! | [`MAX_FRAME_BYTES`] | 1 MiB | whole frame |
//! | [`MAX_AWARENESS_BYTES`] | 16 KiB | the awareness update inside a type-1 frame |
//! | [`MAX_AWARENESS_ENTRIES`] | 64 | entries in one awareness update |
//! | [`MAX_APP_MESSAGE_BYTES`] | 64 KiB | the JSON text of a type-100 frame |
//!
//! A client reading a trusted server can use [`Limits::UNLIMITED`]. Under any
//! limits, every length prefix is checked against the bytes actually present
//! before anything is allocated, and no input makes the decoder panic.
//!
//! # Errors and close codes
//!
//! [`DecodeError::kind`] sorts errors into three classes; the server maps
//! them to close codes (suggested by [`DecodeErrorKind::suggested_close_code`]):
//!
//! | [`DecodeErrorKind`] | meaning | suggested close code |
//! |---------------------|---------|---------------------:|
//! | `Malformed` | not valid per the format | 1007 (or 1008) |
//! | `TooLarge` | exceeds a [`Limits`] value | 1009 |
//! | `Unsupported` | unknown message type or subtype | 1003 |
//!
//! # Not in scope
//!
//! This crate makes no decisions about permissions or identity: it does not
//! know who may edit, it does not drop updates from read-only users and it
//! does not check awareness client IDs. The server does all of that, using
//! helpers such as [`AwarenessEntry::stamp_user`] and
//! [`encode_permission_denied`].
//!
//! # Example
//!
//! ```
//! use oc_proto::{decode, AwarenessUpdate, Limits, Message};
//! use serde_json::json;
//!
//! // What a browser sends when its cursor moves (lib0-encoded by y-protocols).
//! let entry = oc_proto::AwarenessEntry {
//!     client_id: 7,
//!     clock: 3,
//!     state: Some(json!({"cursor": 12, "user": {"name": "mallory"}})),
//! };
//! let frame = AwarenessUpdate { entries: vec![entry] }.encode_frame();
//!
//! let limits = Limits::DEFAULT;
//! match decode(&frame, &limits) {
//!     Ok(Message::Awareness(payload)) => {
//!         let mut update = AwarenessUpdate::decode(&payload, &limits).unwrap();
//!         update.stamp_user(&json!({"id": 1, "name": "alice", "color": "#f00"}));
//!         let rebroadcast = update.encode_frame();
//!         # assert!(decode(&rebroadcast, &limits).is_ok());
//!     }
//!     Ok(other) => println!("{}", other.name()),
//!     Err(e) => println!("close with {}", e.kind().suggested_close_code()),
//! }
//! ```
//!
//! [y-protocols]: https://github.com/yjs/y-protocols
//! [lib0]: https://github.com/dmonad/lib0

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod app;
mod awareness;
mod error;
mod integrity;
mod lib0;
mod limits;
mod message;

pub use app::{encode_app, AppMessage};
pub use awareness::{encode_awareness_entries, AwarenessEntry, AwarenessUpdate};
pub use error::{AppEncodeError, DecodeError, DecodeErrorKind, PayloadKind};
pub use integrity::{IntegrityKind, IntegrityReport, InvalidReport, INTEGRITY_TYPE};
pub use limits::{
    Limits, MAX_APP_MESSAGE_BYTES, MAX_AWARENESS_BYTES, MAX_AWARENESS_ENTRIES, MAX_FRAME_BYTES,
};
pub use message::{
    decode, decode_ref, encode_awareness, encode_permission_denied, encode_query_awareness,
    encode_sync_step1, encode_sync_step2, encode_update, AuthMessage, Message, MessageRef,
    AUTH_PERMISSION_DENIED, MSG_APP, MSG_AUTH, MSG_AWARENESS, MSG_QUERY_AWARENESS, MSG_SYNC,
    SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE,
};

/// Largest integer a varuint may carry: 2^53 - 1, JavaScript's
/// `Number.MAX_SAFE_INTEGER`.
pub const MAX_VARUINT: u64 = lib0::MAX_SAFE_INTEGER;
