//! Recordings and playback (SPEC §7).
//!
//! A recording is a named time window `[startedAt, endedAt]` over the pad's event log; deleting
//! it deletes the window, never the log. The log is always written, recorded or not, and is the
//! union of the tables that already hold each kind of event plus one generic table:
//!
//! | kind       | source                                   | written by                      |
//! |------------|------------------------------------------|---------------------------------|
//! | `edit`     | `doc_updates` (one row per update)       | `collab::persist`               |
//! | `run`      | `runs` (finished runs with their output) | `exec::store`                   |
//! | `chat`     | `chat_messages`                          | `collab::chat`                  |
//! | `join`, `leave` | `pad_events`                        | this module (room presence hook)|
//! | `files`    | `pad_events` (file list after a change)  | this module (`FilesChanged`)    |
//! | anything new (`terminal`, …) | `pad_events`           | that feature, via `append_event`|
//!
//! Why a union rather than one events table: edits are the bulk of the log (one row per
//! keystroke) and already stored once by the collaboration engine; copying them would double the
//! cost per keystroke. Runs and chat already have their own tables too. Everything else is rare
//! and goes to `pad_events(kind, data JSON)`, so a new kind of event (the shared terminal's
//! output, SPEC §6 — never its keystrokes, reference §12.14) is one `append_event` call: no
//! migration, and the timeline shows it as it is.
//!
//! - `store`    — all SQL
//! - `seek`     — the document at an instant: nearest checkpoint + segments + single updates
//! - `history`  — recordings' histories held in memory (bounded) so scrubbing does not rebuild
//! - `timeline` — paginated, time-ordered events of a window (cursor over every source)
//! - `service`  — start/stop/delete/settings, audited; auto-record on join/leave
//! - `export`   — the JSON export (documented schema, `version: 1`), streamed page by page
//! - `settings`, `limits` — per-user budgets of export and state, the state's merge bound
//! - `background` — presence and file-list events, idle auto-stop, seek checkpoints and segments
//! - `routes`   — the HTTP API
//!
//! Must not: write the document log, or keep any recording state in memory that the database
//! does not have (the original's manual stop left a live in-memory recording behind, §12.21);
//! the only memory is which pads are empty since when (presence, for the idle grace), and the
//! histories `history` keeps as a cache of what the log holds.

pub mod background;
pub mod export;
pub mod history;
pub mod limits;
pub mod routes;
pub mod seek;
pub mod service;
pub mod settings;
pub mod store;
pub mod timeline;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use crate::db::{Db, PadId, UserId};
use history::HistoryCache;
use limits::PlaybackLimits;
use settings::RecordingSettings;

/// Auto-started recordings stop once nobody has been on the pad for this long (a reload or a
/// short network drop does not cut a recording in two).
pub const IDLE_GRACE: Duration = Duration::from_secs(5 * 60);
/// While a pad is recorded, every this many updates of its log are merged into one segment, so a
/// seek reads fewer than this many single update rows after the last segment (see `seek`).
/// Smaller means faster seeks and more rows; `bench/playback.sh` measures both.
pub const SEGMENT_UPDATES: u64 = 250;
/// How often active recordings are checked for due segments.
pub const CHECKPOINT_SCAN_EVERY: Duration = Duration::from_secs(2);
/// Timeline page size: default and largest.
pub const DEFAULT_PAGE: i64 = 200;
pub const MAX_PAGE: i64 = 1_000;
/// A timeline page stops growing past about this many bytes (runs carry their output), so a page
/// of 1,000 events cannot become a 1 GB reply; it always holds at least one event.
pub const PAGE_BYTE_BUDGET: usize = 4 * 1024 * 1024;
/// Runs read from the database for one page. A run carries up to `EXEC_OUTPUT_BYTES` of output,
/// so reading a page's worth (1,000) of them to take four would load a gigabyte; a page holds at
/// most this many runs and continues with the next page.
pub const MAX_RUNS_PER_PAGE: i64 = 4;
/// Characters in a recording's name.
pub const MAX_NAME_CHARS: usize = 100;

/// Now, in ms since the epoch (the unit of every time in this module and its API).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The recordings module's live part, held in `AppState`: the tunables (constants by default;
/// tests shorten them), which pads are empty and since when, and the per-user playback budgets.
/// Everything else is in the database.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<RecorderInner>,
    pub limits: PlaybackLimits,
}

struct RecorderInner {
    idle_grace_ms: AtomicI64,
    segment_updates: AtomicU64,
    /// One writer of seek data at a time (the scan and an explicit catch-up must not race).
    writer: tokio::sync::Mutex<()>,
    /// Pads whose last connection left, and when (ms). Their auto-started recording stops when
    /// the grace has passed and the room is still empty.
    empty_since: Mutex<HashMap<PadId, i64>>,
    /// Wakes the background task (a recording started, a tunable changed).
    wake: Notify,
    histories: HistoryCache,
}

impl Recorder {
    pub fn new(settings: &RecordingSettings) -> Self {
        Recorder {
            inner: Arc::new(RecorderInner {
                idle_grace_ms: AtomicI64::new(IDLE_GRACE.as_millis() as i64),
                segment_updates: AtomicU64::new(SEGMENT_UPDATES),
                writer: tokio::sync::Mutex::new(()),
                empty_since: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                histories: HistoryCache::new(settings.history_cache_bytes),
            }),
            limits: PlaybackLimits::new(settings),
        }
    }

    /// The recordings' histories held for scrubbing (`RECORDING_HISTORY_CACHE_BYTES`).
    pub fn histories(&self) -> &HistoryCache {
        &self.inner.histories
    }

    pub fn idle_grace(&self) -> Duration {
        Duration::from_millis(self.inner.idle_grace_ms.load(Ordering::Relaxed).max(0) as u64)
    }

    /// Change the idle grace (tests use milliseconds instead of minutes).
    pub fn set_idle_grace(&self, grace: Duration) {
        self.inner
            .idle_grace_ms
            .store(grace.as_millis() as i64, Ordering::Relaxed);
        self.wake();
    }

    pub fn segment_updates(&self) -> u64 {
        self.inner.segment_updates.load(Ordering::Relaxed).max(1)
    }

    /// Change the segment size (tests cross many segments with short traces).
    pub fn set_segment_updates(&self, updates: u64) {
        self.inner
            .segment_updates
            .store(updates.max(1), Ordering::Relaxed);
    }

    pub(crate) async fn writer(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.writer.lock().await
    }

    fn empty(&self) -> MutexGuard<'_, HashMap<PadId, i64>> {
        self.inner
            .empty_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn mark_empty(&self, pad: PadId, since_ms: i64) {
        self.empty().entry(pad).or_insert(since_ms);
        self.wake();
    }

    pub(crate) fn mark_occupied(&self, pad: PadId) {
        self.empty().remove(&pad);
    }

    /// Pads empty for at least the grace, removed from the watch list, with when they emptied.
    pub(crate) fn take_idle(&self, now_ms: i64) -> Vec<(PadId, i64)> {
        let grace = self.idle_grace().as_millis() as i64;
        let mut empty = self.empty();
        let due: Vec<(PadId, i64)> = empty
            .iter()
            .filter(|(_, since)| now_ms - **since >= grace)
            .map(|(pad, since)| (*pad, *since))
            .collect();
        for (pad, _) in &due {
            empty.remove(pad);
        }
        due
    }

    /// When the next pad's grace ends, if any pad is empty.
    pub(crate) fn next_idle_deadline(&self) -> Option<i64> {
        let grace = self.idle_grace().as_millis() as i64;
        self.empty().values().min().map(|since| since + grace)
    }

    pub(crate) fn wake(&self) {
        self.inner.wake.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.inner.wake.notified().await
    }
}

/// Append an event to the pad's log (SPEC §7). This is how a feature adds a kind of event to
/// playback: `kind` is a short lowercase name (`terminal`, …), `data` a JSON object shown as the
/// event's `data` in timelines and exports. Never pass secrets or keystrokes. What only the pad's
/// owner node logs carries its `fence` (refused once another node took the pad over).
pub async fn append_event(
    db: &Db,
    fence: Option<crate::cluster::Fence>,
    pad: PadId,
    kind: &str,
    user: Option<UserId>,
    data: &Value,
) -> anyhow::Result<()> {
    store::insert_pad_event(db, fence, pad, now_ms(), kind, user, data).await?;
    Ok(())
}

pub use background::spawn_background;
