//! The pad socket's limits (SPEC §4 "Limits"), each a named constant documented in the README,
//! and the token bucket that enforces the per-connection message rates.
//!
//! Frame-shape limits (frame bytes, awareness payload bytes and entries, app message bytes) are
//! oc-proto's and enforced by its decoder; they are re-exported here so this file lists them all.

use std::time::{Duration, Instant};

pub use oc_proto::{
    MAX_APP_MESSAGE_BYTES, MAX_AWARENESS_BYTES, MAX_AWARENESS_ENTRIES, MAX_FRAME_BYTES,
};

/// Largest encoded document (Yjs v1 state) a pad may grow to: an update that would push it past
/// this closes the socket with 1009 and is not applied.
pub const MAX_DOC_BYTES: usize = 8 << 20;

/// Largest single document update (sync step 2 or update) a socket may send; below the frame
/// limit, above the largest file a REST write accepts (`pads::files::MAX_FILE_BYTES`), so pasting
/// a whole file fits. Over it the socket closes with 1009 and nothing is applied or logged.
pub const MAX_UPDATE_BYTES: usize = 768 << 10;

/// Content yrs may hold back for missing dependencies (an update whose predecessors the server
/// never received), per document. A relaying client (a second tab, y-webrtc) can briefly be ahead
/// of another connection, so a little is allowed; an update that would park more is refused with
/// 1008 and its parked part dropped, so a clock gap can neither grow memory nor reach a checkpoint.
pub const MAX_PENDING_BYTES: usize = 64 << 10;

/// Sync messages (update / sync step 2) per second per connection, and the burst allowed.
/// Typing is ~10/s; paste and undo bursts stay well inside the burst. Over it the socket is not
/// closed: reading pauses until the budget refills (backpressure), see `COLLAB_FLOOD_CLOSE_MS`.
pub const UPDATES_PER_SEC: f64 = 60.0;
pub const UPDATES_BURST: f64 = 240.0;

/// Sync step 1 (full-state requests) per second per connection, and the burst. A 2-byte request
/// can ask for the whole document, so these get their own, low budget; a client needs one per
/// (re)connection. Over it reading pauses, like updates.
pub const SYNC_REQUESTS_PER_SEC: f64 = 2.0;
pub const SYNC_REQUESTS_BURST: f64 = 5.0;

/// Documents whose encoded size is above this answer sync step 1 from the blocking thread pool,
/// so encoding a large state never stalls an async worker (and every socket it serves).
pub const OFFLOAD_ENCODE_BYTES: usize = 256 << 10;

/// Awareness and query-awareness messages per second per connection, and the burst allowed.
pub const AWARENESS_PER_SEC: f64 = 30.0;
pub const AWARENESS_BURST: f64 = 90.0;

/// Chat messages per second per connection, and the burst (over it: `rate_limited` error, not a close).
pub const CHAT_PER_SEC: f64 = 5.0;
pub const CHAT_BURST: f64 = 10.0;

/// App messages of any type per second per connection, and the burst (over it: close 1008).
pub const APP_MESSAGES_PER_SEC: f64 = 50.0;
pub const APP_MESSAGES_BURST: f64 = 200.0;

/// Yjs client ids one connection may publish awareness for (a tab usually has exactly one; a
/// reloaded document gets a new one).
pub const MAX_CLIENT_IDS_PER_CONN: usize = 8;

/// Open pad sockets per user (all pads), and per pad (all users).
pub const MAX_CONNECTIONS_PER_USER: usize = 20;
pub const MAX_CONNECTIONS_PER_PAD: usize = 300;

/// Chat body length in characters (after trimming).
pub const MAX_CHAT_CHARS: usize = 2_000;

/// Frames queued towards one socket before it is considered too slow and closed (1013); a live
/// room fans out through a broadcast channel of this depth.
pub const ROOM_FANOUT_DEPTH: usize = 4096;

/// A token bucket: `rate` tokens per second up to `burst`. Time is an argument so tests need no
/// sleeping (STYLE habit 12).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Take one token; `false` when the bucket is empty.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Take one token even when there is none, going into debt; returns how long until the debt
    /// is paid. The caller pauses that long before taking the next, which is backpressure: the
    /// sender is slowed to `rate` without being refused, and the debt never exceeds one token.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 || self.rate <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }

    /// How long until a token is available (for `retryAfterMs` hints).
    pub fn wait_time(&self) -> Duration {
        if self.tokens >= 1.0 || self.rate <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.rate)
        }
    }
}

/// With several nodes, each repeats who is connected to a pad on it this often while anyone is
/// (`Room::refresh_presence`), and forgets another node's connections not repeated for
/// `PRESENCE_EXPIRY` (the node died).
pub const PRESENCE_REFRESH: Duration = Duration::from_secs(2);
pub const PRESENCE_EXPIRY: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills_at_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(5.0, 10.0, t0);
        for _ in 0..10 {
            assert!(bucket.try_take(t0));
        }
        assert!(!bucket.try_take(t0));
        assert!(bucket.wait_time() > Duration::ZERO);
        assert!(bucket.try_take(t0 + Duration::from_millis(200)));
        assert!(!bucket.try_take(t0 + Duration::from_millis(200)));
        // Never refills past the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..10 {
            assert!(bucket.try_take(later));
        }
        assert!(!bucket.try_take(later));
    }

    #[test]
    fn reserve_goes_into_debt_of_at_most_one_token_and_says_how_long_to_pause() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 2.0, t0);
        assert_eq!(bucket.reserve(t0), Duration::ZERO);
        assert_eq!(bucket.reserve(t0), Duration::ZERO);
        let pause = bucket.reserve(t0);
        assert!((pause.as_secs_f64() - 0.1).abs() < 1e-9, "{pause:?}");
        // After pausing as told, the next one waits one token's worth again, not more.
        let pause = bucket.reserve(t0 + Duration::from_millis(100));
        assert!((pause.as_secs_f64() - 0.1).abs() < 1e-9, "{pause:?}");
    }
}
