//! Awareness updates (the payload of a type-1 frame), as written by
//! y-protocols' `encodeAwarenessUpdate`:
//! `varuint count, count × (varuint clientID, varuint clock, varString JSON state)`.

use serde_json::Value;

use crate::app::json_bytes;
use crate::error::{DecodeError, PayloadKind};
use crate::lib0::{self, Reader};
use crate::limits::Limits;
use crate::message::encode_awareness;

/// Smallest possible encoded entry: one-byte client ID, clock and string
/// length. Used to bound the up-front allocation by what the input can hold.
const MIN_ENTRY_BYTES: usize = 3;

/// One client's awareness state.
#[derive(Debug, Clone, PartialEq)]
pub struct AwarenessEntry {
    /// The Yjs client ID (a random uint32 in practice).
    pub client_id: u64,
    /// Increases with every change of this client's state; peers ignore
    /// entries whose clock is not newer than what they have.
    pub clock: u64,
    /// The JSON state; `None` (wire `null`) means the client went away.
    /// `Some(Value::Null)` is encoded exactly like `None`.
    pub state: Option<Value>,
}

impl AwarenessEntry {
    /// Replaces the state's `user` field with `user` (e.g. `{id, name,
    /// color}` from the session), keeping every other field, so a client
    /// cannot show up under someone else's name.
    ///
    /// Returns `false`, changing nothing, when the state is `None` (a
    /// removal, which carries no identity) or is not a JSON object (y-protocols
    /// tolerates any JSON, but opencoder clients always send objects; what to
    /// do with such an entry is the server's call).
    pub fn stamp_user(&mut self, user: Value) -> bool {
        match &mut self.state {
            Some(Value::Object(fields)) => {
                fields.insert("user".to_owned(), user);
                true
            }
            _ => false,
        }
    }

    /// Whether this entry announces that the client left.
    pub fn is_removal(&self) -> bool {
        matches!(self.state, None | Some(Value::Null))
    }

    fn write(&self, out: &mut Vec<u8>) {
        lib0::write_var_uint(out, self.client_id);
        lib0::write_var_uint(out, self.clock);
        match &self.state {
            Some(state) => lib0::write_var_bytes(out, &json_bytes(state)),
            None => lib0::write_var_bytes(out, b"null"),
        }
    }
}

/// A decoded awareness update.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AwarenessUpdate {
    /// Entries in wire order. Duplicated client IDs are passed through.
    pub entries: Vec<AwarenessEntry>,
}

impl AwarenessUpdate {
    /// Decodes an awareness payload (the bytes inside
    /// [`Message::Awareness`](crate::Message::Awareness)).
    ///
    /// Applies `max_awareness_bytes` to the whole input and
    /// `max_awareness_entries` to the declared count before allocating.
    /// Trailing bytes after the last entry are rejected, as for frames.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        if bytes.len() > limits.max_awareness_bytes {
            return Err(DecodeError::PayloadTooLarge {
                payload: PayloadKind::Awareness,
                size: lib0::usize_to_u64(bytes.len()),
                limit: limits.max_awareness_bytes,
            });
        }
        let mut reader = Reader::new(bytes);
        let count = reader.read_var_uint()?;
        if count > lib0::usize_to_u64(limits.max_awareness_entries) {
            return Err(DecodeError::TooManyAwarenessEntries {
                count,
                limit: limits.max_awareness_entries,
            });
        }
        let fits = reader.remaining() / MIN_ENTRY_BYTES;
        let capacity = usize::try_from(count).map_or(fits, |count| count.min(fits));
        let mut entries = Vec::with_capacity(capacity);
        for _ in 0..count {
            let client_id = reader.read_var_uint()?;
            let clock = reader.read_var_uint()?;
            let json = reader.read_var_string(None)?;
            let state: Value =
                serde_json::from_str(json).map_err(|e| DecodeError::InvalidJson(e.to_string()))?;
            let state = match state {
                Value::Null => None,
                other => Some(other),
            };
            entries.push(AwarenessEntry {
                client_id,
                clock,
                state,
            });
        }
        reader.finish()?;
        Ok(AwarenessUpdate { entries })
    }

    /// Encodes the awareness payload, byte-compatible with
    /// `encodeAwarenessUpdate` (JSON key order aside: see crate docs).
    pub fn encode(&self) -> Vec<u8> {
        encode_awareness_entries(&self.entries)
    }

    /// Encodes a complete type-1 frame carrying this update.
    pub fn encode_frame(&self) -> Vec<u8> {
        encode_awareness(&self.encode())
    }

    /// Stamps `user` into every entry that has an object state; returns how
    /// many were stamped. See [`AwarenessEntry::stamp_user`].
    pub fn stamp_user(&mut self, user: &Value) -> usize {
        let mut stamped = 0;
        for entry in &mut self.entries {
            if entry.stamp_user(user.clone()) {
                stamped += 1;
            }
        }
        stamped
    }
}

/// Encodes an awareness payload from a slice of entries.
pub fn encode_awareness_entries(entries: &[AwarenessEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    lib0::write_var_uint(&mut out, lib0::usize_to_u64(entries.len()));
    for entry in entries {
        entry.write(&mut out);
    }
    out
}
