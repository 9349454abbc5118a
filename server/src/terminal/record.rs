//! Terminal output → the pad's event log, for playback (SPEC §6, §7). Keystrokes are never
//! recorded (the original recorded them, passwords included: reference §12.14); only what the
//! terminal printed.
//!
//! Output is batched: at most one `terminal` event per [`BATCH_EVERY`] per pad, each at most
//! [`MAX_EVENT_BYTES`], and at most `TERMINAL_RECORD_BYTES` per pad per [`RECORD_WINDOW`]
//! ([`RecordBudget`], shared by every container and terminal task the pad has in that window, so
//! neither a restart nor a reconnect starts it over); past that cap one event says `truncated`
//! and nothing more is recorded until the window ends. Events are written in order by one
//! writer task per pad behind a bounded queue; a batch that finds the queue full is counted as
//! dropped rather than buffered.
//!
//! Event data: `{"text": <output as UTF-8, invalid bytes replaced>, "bytes": <raw byte count>}`,
//! plus `"dropped": n` when bytes were skipped and `"truncated": true` on the cap marker.
//! Lifecycle changes are `terminal.status` events: `{"state": "running" | "exited" | ...}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::cluster::Fence;
use crate::db::{Db, PadId};

/// At most one output event per this long per pad.
pub const BATCH_EVERY: Duration = Duration::from_millis(100);
/// Largest output event; the rest of a batch is counted as dropped.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Events waiting for the database per pad.
const QUEUE: usize = 32;
/// The window of the recording budget: `TERMINAL_RECORD_BYTES` per pad per this long.
pub const RECORD_WINDOW: Duration = Duration::from_secs(3600);

/// Kind of the output events.
pub const OUTPUT_KIND: &str = "terminal";
/// Kind of the lifecycle events.
pub const STATUS_KIND: &str = "terminal.status";

/// Output bytes recorded per pad in its current window. Part of `Terminals`, so the budget
/// outlives any one container or terminal task; a pad's entry is dropped once its window ended.
#[derive(Clone)]
pub struct RecordBudget {
    cap: u64,
    pads: Arc<Mutex<HashMap<PadId, Window>>>,
}

struct Window {
    started: Instant,
    used: u64,
}

impl RecordBudget {
    pub fn new(cap: u64) -> RecordBudget {
        RecordBudget {
            cap,
            pads: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn pads(&self) -> std::sync::MutexGuard<'_, HashMap<PadId, Window>> {
        self.pads
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Bytes the pad may still record in its current window (a new window when the last ended).
    pub fn remaining(&self, pad: PadId, now: Instant) -> u64 {
        let mut pads = self.pads();
        if !pads.contains_key(&pad) {
            pads.retain(|_, w| now < w.started + RECORD_WINDOW);
        }
        let window = pads.entry(pad).or_insert(Window {
            started: now,
            used: 0,
        });
        if now >= window.started + RECORD_WINDOW {
            *window = Window {
                started: now,
                used: 0,
            };
        }
        self.cap.saturating_sub(window.used)
    }

    /// Count `n` recorded bytes; `true` when this spent the window's last byte.
    pub fn consume(&self, pad: PadId, n: u64) -> bool {
        let mut pads = self.pads();
        let Some(window) = pads.get_mut(&pad) else {
            return false;
        };
        let before = window.used;
        window.used = window.used.saturating_add(n);
        before < self.cap && window.used >= self.cap
    }
}

/// Batches one pad's terminal output (owned by the pad's terminal task).
pub struct OutputRecorder {
    pad: PadId,
    budget: RecordBudget,
    batch: Vec<u8>,
    batch_bytes: usize,
    dropped: u64,
    due: Option<Instant>,
    /// Bytes of a UTF-8 character split across batches.
    carry: Vec<u8>,
    queue: mpsc::Sender<(&'static str, Value)>,
}

impl OutputRecorder {
    /// Starts the pad's writer task (ends when the recorder is dropped).
    /// Writes carry `fence` (the pad's lease of this node's terminal): once another node took the
    /// pad over, they are refused.
    pub fn new(
        db: Db,
        fence: Option<Fence>,
        pad: PadId,
        budget: RecordBudget,
        tasks: &tokio_util::task::TaskTracker,
    ) -> OutputRecorder {
        let (queue, mut rx) = mpsc::channel::<(&'static str, Value)>(QUEUE);
        tasks.spawn(async move {
            while let Some((kind, data)) = rx.recv().await {
                if let Err(err) =
                    crate::recordings::append_event(&db, fence, pad, kind, None, &data).await
                {
                    tracing::warn!(error = %err, %pad, "recording terminal output failed");
                }
            }
        });
        OutputRecorder {
            pad,
            budget,
            batch: Vec::new(),
            batch_bytes: 0,
            dropped: 0,
            due: None,
            carry: Vec::new(),
            queue,
        }
    }

    /// A new session container: a character split at the old one's end is not continued.
    pub fn new_session(&mut self) {
        self.flush();
        self.carry.clear();
    }

    pub fn status(&mut self, data: Value) {
        self.flush();
        if self.queue.try_send((STATUS_KIND, data)).is_err() {
            tracing::debug!("terminal status event dropped (queue full)");
        }
    }

    pub fn push(&mut self, bytes: &[u8], now: Instant) {
        if bytes.is_empty() {
            return;
        }
        // Spent in this window: the `truncated` marker went out when it ran out.
        let room_budget = self.budget.remaining(self.pad, now);
        if room_budget == 0 {
            return;
        }
        let room_event = MAX_EVENT_BYTES.saturating_sub(self.batch.len());
        let take = bytes
            .len()
            .min(usize::try_from(room_budget).unwrap_or(usize::MAX))
            .min(room_event);
        self.batch.extend_from_slice(&bytes[..take]);
        self.batch_bytes += take;
        self.dropped += (bytes.len() - take) as u64;
        if self.due.is_none() {
            self.due = Some(now + BATCH_EVERY);
        }
        if self.budget.consume(self.pad, take as u64) {
            self.flush();
            let _ = self.queue.try_send((
                OUTPUT_KIND,
                json!({ "text": "", "bytes": 0, "truncated": true }),
            ));
        }
    }

    /// When the pending batch is due, if any.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Writes the pending batch (call when `due` has passed, and before status changes).
    pub fn flush(&mut self) {
        self.due = None;
        if self.batch.is_empty() && self.dropped == 0 {
            return;
        }
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.append(&mut self.batch);
        let text = utf8_with_carry(&mut bytes, &mut self.carry);
        let mut data = json!({ "text": text, "bytes": self.batch_bytes });
        if self.dropped > 0 {
            data["dropped"] = json!(self.dropped);
        }
        self.batch_bytes = 0;
        self.dropped = 0;
        if self.queue.try_send((OUTPUT_KIND, data)).is_err() {
            tracing::debug!("terminal output event dropped (queue full)");
        }
    }
}

/// Decodes `bytes` as UTF-8 (invalid sequences replaced) except an incomplete character at the
/// end, which is moved to `carry` for the next batch.
fn utf8_with_carry(bytes: &mut Vec<u8>, carry: &mut Vec<u8>) -> String {
    let keep = incomplete_tail(bytes);
    if keep > 0 {
        *carry = bytes.split_off(bytes.len() - keep);
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// Length of an incomplete (but so far valid) UTF-8 sequence at the end of `bytes`.
fn incomplete_tail(bytes: &[u8]) -> usize {
    for back in 1..=3.min(bytes.len()) {
        let b = bytes[bytes.len() - back];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte: look further back
        }
        let need = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0,
        };
        return if need > back { back } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_characters_are_carried() {
        let euro = "€".as_bytes();
        let mut carry = Vec::new();
        let mut first = b"a".to_vec();
        first.extend_from_slice(&euro[..2]);
        assert_eq!(utf8_with_carry(&mut first, &mut carry), "a");
        assert_eq!(carry, &euro[..2]);
        let mut second = std::mem::take(&mut carry);
        second.extend_from_slice(&euro[2..]);
        assert_eq!(utf8_with_carry(&mut second, &mut carry), "€");
        assert!(carry.is_empty());
        assert_eq!(incomplete_tail(b"abc"), 0);
        assert_eq!(incomplete_tail(&[0xff]), 0);
    }

    #[test]
    fn the_budget_is_per_pad_and_window() {
        let budget = RecordBudget::new(100);
        let (a, b) = (PadId(1), PadId(2));
        let start = Instant::now();
        assert_eq!(budget.remaining(a, start), 100);
        assert!(!budget.consume(a, 60));
        assert!(budget.consume(a, 40), "the last byte is reported once");
        assert!(!budget.consume(a, 1));
        assert_eq!(budget.remaining(a, start + Duration::from_secs(1)), 0);
        assert_eq!(
            budget.remaining(b, start),
            100,
            "pads have their own budget"
        );
        assert_eq!(
            budget.remaining(a, start + RECORD_WINDOW),
            100,
            "a new window starts over"
        );
    }
}
