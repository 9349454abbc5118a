//! Size limits applied while decoding untrusted frames.

/// Largest whole WebSocket frame accepted: 1 MiB.
///
/// Sync step 2 carries a whole document, so this is the ceiling on what a
/// client can push in one message, not on document size.
pub const MAX_FRAME_BYTES: usize = 1 << 20;

/// Largest awareness payload (the `varUint8Array` of a type-1 frame): 16 KiB.
///
/// A browser sends only its own cursor/selection/user state, which is well
/// under 1 KiB; anything near this limit is abuse of a message that the
/// server fans out to every peer.
pub const MAX_AWARENESS_BYTES: usize = 16 << 10;

/// Most entries accepted in one awareness update: 64.
///
/// A client legitimately reports only itself (one entry); the allowance
/// covers clients that relay removals of several stale IDs at once.
pub const MAX_AWARENESS_ENTRIES: usize = 64;

/// Largest opencoder app message JSON text (type 100): 64 KiB.
pub const MAX_APP_MESSAGE_BYTES: usize = 64 << 10;

/// Limits enforced by [`decode`](crate::decode) and
/// [`AwarenessUpdate::decode`](crate::AwarenessUpdate::decode).
///
/// Every declared length is compared with these limits and with the bytes
/// actually left in the frame *before* anything is allocated, so a hostile
/// length prefix can never make the decoder reserve memory it was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of a whole frame in bytes.
    pub max_frame_bytes: usize,
    /// Maximum size of an awareness payload in bytes.
    pub max_awareness_bytes: usize,
    /// Maximum number of entries in one awareness update.
    pub max_awareness_entries: usize,
    /// Maximum size of an app message's JSON text in bytes.
    pub max_app_message_bytes: usize,
}

impl Limits {
    /// The documented defaults ([`MAX_FRAME_BYTES`], [`MAX_AWARENESS_BYTES`],
    /// [`MAX_AWARENESS_ENTRIES`], [`MAX_APP_MESSAGE_BYTES`]), meant for the
    /// server reading client frames.
    pub const DEFAULT: Limits = Limits {
        max_frame_bytes: MAX_FRAME_BYTES,
        max_awareness_bytes: MAX_AWARENESS_BYTES,
        max_awareness_entries: MAX_AWARENESS_ENTRIES,
        max_app_message_bytes: MAX_APP_MESSAGE_BYTES,
    };

    /// No size limits, for a client reading frames from a trusted server:
    /// the server's awareness snapshot of a busy pad legitimately exceeds the
    /// per-client defaults. Lengths are still checked against the bytes
    /// actually present, so this stays allocation-safe.
    pub const UNLIMITED: Limits = Limits {
        max_frame_bytes: usize::MAX,
        max_awareness_bytes: usize::MAX,
        max_awareness_entries: usize::MAX,
        max_app_message_bytes: usize::MAX,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
