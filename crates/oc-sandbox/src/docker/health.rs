//! What is known of one daemon's reachability: up or down and why, when it was last checked,
//! and whether a daemon that comes back has settled enough to take work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::host::REJOIN_SETTLE;

/// Daemon reachability as last observed.
#[derive(Debug)]
pub(super) struct HealthState {
    up: AtomicBool,
    detail: Mutex<String>,
    last_check: Mutex<Option<Instant>>,
    /// Has been up at least once: a later down → up is a return, which settles first.
    ever_up: AtomicBool,
    /// When a returning daemon first answered again (cleared when it goes down).
    answering_since: Mutex<Option<Instant>>,
}

impl HealthState {
    pub(super) fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }
    pub(super) fn detail(&self) -> String {
        self.detail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    pub(super) fn set(&self, up: bool, detail: String) {
        if up {
            self.ever_up.store(true, Ordering::SeqCst);
        } else {
            *self
                .answering_since
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = None;
        }
        self.record(up, detail);
    }
    /// A returning daemon that has not settled yet: down, keeping when it started answering.
    pub(super) fn settling(&self) {
        self.record(
            false,
            format!("docker daemon answering again; taking work once it has for {REJOIN_SETTLE:?}"),
        );
    }
    fn record(&self, up: bool, detail: String) {
        self.up.store(up, Ordering::SeqCst);
        *self.detail.lock().unwrap_or_else(|e| e.into_inner()) = detail;
        *self.last_check.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
    /// For a daemon answering a ping while marked down: `true` once it may take work again (at
    /// once on first contact; after `REJOIN_SETTLE` when it is coming back).
    pub(super) fn settled(&self) -> bool {
        if !self.ever_up.load(Ordering::SeqCst) {
            return true;
        }
        let mut since = self
            .answering_since
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        since.get_or_insert_with(Instant::now).elapsed() >= REJOIN_SETTLE
    }

    pub(super) fn checked_within(&self, d: Duration) -> bool {
        matches!(*self.last_check.lock().unwrap_or_else(|e| e.into_inner()), Some(t) if t.elapsed() < d)
    }
}

impl Default for HealthState {
    fn default() -> Self {
        HealthState {
            up: AtomicBool::new(false),
            detail: Mutex::new("not checked yet".into()),
            last_check: Mutex::new(None),
            ever_up: AtomicBool::new(false),
            answering_since: Mutex::new(None),
        }
    }
}
