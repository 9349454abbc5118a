//! Recording histories kept in memory for scrubbing (SPEC §7): the state at an instant read from
//! a recording's history document (`doc`) instead of rebuilt from a checkpoint each time.
//!
//! A scrubbing client asks for instant after instant of the same recording; rebuilding each one
//! decodes a checkpoint and applies up to ~`CHECKPOINT_RETAIN_SPACING / SEGMENT_UPDATES`
//! segments and `SEGMENT_UPDATES` updates. Built once, a history answers any instant of its
//! recording in one pass over the document (see `doc`).
//!
//! Bounds: the histories held together are estimated at most `RECORDING_HISTORY_CACHE_BYTES`;
//! the least recently used ones are dropped to stay under it. A recording whose history alone
//! would be over it, or would merge more than one state request may (`RECORDING_STATE_MAX_BYTES`),
//! is never held: its states are rebuilt from checkpoints as before (`seek`). 0 turns the cache
//! off.
//!
//! Correctness: entries are keyed by pad (id and slug: ids of deleted rows can come back) and
//! recording (id and start), so one never answers for another pad or recording. The log is
//! append-only, so a history is extended with the updates logged since it was read, on every
//! request, before answering: it is never behind what the database holds. Deleting a recording or
//! its pad drops its history.
//!
//! Must not: hold a history without counting it against the budget, or answer without reading the
//! log's newest updates first.

mod doc;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use doc::History;
pub use doc::StateAt;

use super::store::{self, Recording};
use crate::db::{Db, PadId};
use crate::error::{AppError, AppResult};

/// Which recording a history is of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    pad: PadId,
    slug: String,
    recording: i64,
    started_at_ms: i64,
}

type Shared = Arc<tokio::sync::Mutex<Option<History>>>;

struct Slot {
    history: Shared,
    /// Estimated memory of the history (0 until it is built).
    bytes: u64,
    /// When it was last used (a counter: least recently used goes first).
    used: u64,
}

#[derive(Default)]
struct Slots {
    map: HashMap<Key, Slot>,
    tick: u64,
}

impl Slots {
    fn total(&self) -> u64 {
        self.map.values().map(|slot| slot.bytes).sum()
    }
}

/// What the cache holds: for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub histories: usize,
    pub bytes: u64,
    pub budget: u64,
}

pub struct HistoryCache {
    budget: u64,
    slots: Mutex<Slots>,
}

impl HistoryCache {
    /// A cache of at most `budget` bytes of histories (`RECORDING_HISTORY_CACHE_BYTES`).
    pub fn new(budget: u64) -> Self {
        HistoryCache {
            budget,
            slots: Mutex::new(Slots::default()),
        }
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn usage(&self) -> Usage {
        let slots = self.slots();
        Usage {
            histories: slots.map.values().filter(|slot| slot.bytes > 0).count(),
            bytes: slots.total(),
            budget: self.budget,
        }
    }

    /// The state of `recording` (of the pad `pad`/`slug`) at `t_ms`, which lies in its window:
    /// every update logged at or before it. `None` when the recording's history is not to be held
    /// (over the budget or `max_merge`): the caller rebuilds the state from checkpoints.
    pub async fn state_at(
        &self,
        db: &Db,
        slug: &str,
        recording: &Recording,
        t_ms: i64,
        max_merge: u64,
        with_yjs: bool,
    ) -> AppResult<Option<StateAt>> {
        if self.budget == 0 {
            return Ok(None);
        }
        let key = Key {
            pad: recording.pad_id,
            slug: slug.to_string(),
            recording: recording.id,
            started_at_ms: recording.started_at_ms,
        };
        let shared = self.slot(&key);
        let mut held = shared.lock().await;
        let pad = recording.pad_id;
        let history = match held.take() {
            Some(history) => {
                // Whatever was logged since it was read (the log only grows): one query, usually
                // answered with nothing. What came since is bounded by the pad's log limits.
                let updates = store::logged_updates_after(db, pad, history.upto(), t_ms).await?;
                let extra: u64 = updates.iter().map(|u| u.update_bytes.len() as u64).sum();
                if !self.fits(history.merged_bytes() + extra, 0, max_merge) {
                    drop(held);
                    self.remove(&key, &shared);
                    return Ok(None);
                }
                if updates.is_empty() {
                    history
                } else {
                    blocking(move || {
                        let mut history = history;
                        history.extend(updates);
                        history
                    })
                    .await?
                }
            }
            None => {
                let base =
                    store::checkpoint_at_or_before_time(db, pad, recording.started_at_ms).await?;
                let base_bytes = base.state.as_ref().map_or(0, |s| s.len() as u64);
                let (bytes, count) =
                    store::update_bytes_and_count_after(db, pad, base.upto, t_ms).await?;
                if !self.fits(base_bytes + bytes, count, max_merge) {
                    drop(held);
                    self.remove(&key, &shared);
                    return Ok(None);
                }
                let updates = store::logged_updates_after(db, pad, base.upto, t_ms).await?;
                blocking(move || History::new(&base, updates)).await?
            }
        };
        let (history, state) = blocking(move || {
            let state = history.state_at(history.position(t_ms), with_yjs);
            (history, state)
        })
        .await?;
        let bytes = history.estimated_bytes();
        *held = Some(history);
        drop(held);
        self.account(&key, &shared, bytes);
        Ok(Some(state))
    }

    /// Whether a history merging `merged` bytes from `updates` updates may be held.
    fn fits(&self, merged: u64, updates: u64, max_merge: u64) -> bool {
        merged <= max_merge && doc::estimate(merged, updates) <= self.budget
    }

    /// The slot of `key`, created empty if missing, marked as just used.
    fn slot(&self, key: &Key) -> Shared {
        let mut slots = self.slots();
        slots.tick += 1;
        let tick = slots.tick;
        let slot = slots.map.entry(key.clone()).or_insert_with(|| Slot {
            history: Arc::default(),
            bytes: 0,
            used: tick,
        });
        slot.used = tick;
        slot.history.clone()
    }

    /// Drop `key`'s slot if it is still `shared` (it may have been replaced meanwhile).
    fn remove(&self, key: &Key, shared: &Shared) {
        let mut slots = self.slots();
        if slots
            .map
            .get(key)
            .is_some_and(|slot| Arc::ptr_eq(&slot.history, shared))
        {
            slots.map.remove(key);
        }
    }

    /// Record the size of `key`'s history, then drop the least recently used others until the
    /// whole is within the budget; `key` itself goes if it alone is over it.
    fn account(&self, key: &Key, shared: &Shared, bytes: u64) {
        let mut slots = self.slots();
        match slots.map.get_mut(key) {
            Some(slot) if Arc::ptr_eq(&slot.history, shared) => slot.bytes = bytes,
            // Evicted or forgotten while it was read: it is not kept.
            _ => return,
        }
        while slots.total() > self.budget {
            let oldest = slots
                .map
                .iter()
                .filter(|(k, slot)| *k != key && slot.bytes > 0)
                .min_by_key(|(_, slot)| slot.used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(oldest) => slots.map.remove(&oldest),
                None => slots.map.remove(key),
            };
        }
    }

    /// Drop the history of a deleted recording.
    pub fn forget_recording(&self, pad: PadId, recording: i64) {
        self.slots()
            .map
            .retain(|key, _| !(key.pad == pad && key.recording == recording));
    }

    /// Drop every history of a deleted pad.
    pub fn forget_pad(&self, pad: PadId) {
        self.slots().map.retain(|key, _| key.pad != pad);
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|err| AppError::Internal(err.into()))
}
