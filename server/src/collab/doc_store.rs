//! Pad documents (SPEC §4): one loaded `yrs::Doc` per pad, shared by REST reads/edits and the
//! live room, so there is one source of truth. Loading = latest checkpoint + the log after it.
//!
//! Every change, from a socket (`PadDoc::apply_update`) or from REST (`DocStore::edit`), runs
//! under the document's lock and, still under it: is applied, is queued for the durable log
//! (`persist`, group commit), and is handed to the document's observer (the live `Room`, which
//! fans it out). So the log's order, the apply order and the order every client receives updates
//! in are the same, and a REST edit reaches open sockets.
//!
//! Bounds kept here, under the same lock: the document's size (`MAX_DOC_BYTES`, parked content
//! included), what yrs may park for missing dependencies (`MAX_PENDING_BYTES`), and the pad's
//! update-log history (`COLLAB_HISTORY_BYTES`, a running total read at load).
//!
//! Several nodes (`REDIS_URL`): every committed update is relayed to the other nodes, which apply
//! it to their loaded copy of the document without logging it again (`apply_relayed`). Each
//! document knows up to which log id it holds every committed update of its pad (`log_upto`,
//! advanced along the `prev → id` chain of committed updates, its own and relayed ones); its
//! checkpoints claim exactly that. A gap in the chain (a lost message) that is not filled within
//! `GAP_REPAIR_AFTER`, or a bus outage, makes it re-read the log after `log_upto` from the
//! database in pages of `LOG_READ_PAGE` (`repair`).
//!
//! Must not: know about sockets, roles or sessions (the observer does the fan-out), or write the
//! log any other way than through `Persist`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, TransactionMut, Update, WriteTxn,
};

use super::file_roots;
pub use super::file_roots::file_key;
use super::limits::{MAX_DOC_BYTES, MAX_PENDING_BYTES, MAX_UPDATE_BYTES};
use super::persist::{Committed, Persist, QUEUE_WAIT_TIMEOUT};
use super::settings::CollabSettings;
use crate::bus::{PadMessage, SharedBus};
use crate::db::{Db, FileId, PadId, UserId};
use crate::pads::files::MAX_FILE_BYTES;

/// Compact into a checkpoint after this many logged updates …
pub const CHECKPOINT_EVERY_UPDATES: u64 = 500;
/// … or this long after the last checkpoint when anything was logged since.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);
/// A document nobody is connected to stays loaded this long after its last use (REST reads and
/// edits reuse it), then it is unloaded.
pub const DOC_IDLE_UNLOAD: Duration = Duration::from_secs(60);
/// Updates read from the log per query when loading or repairing a document.
pub const LOG_READ_PAGE: i64 = 500;
/// How long a document waits for a missing link of its pad's update chain (a relayed update
/// that may still be in flight) before it re-reads the log from the database.
pub const GAP_REPAIR_AFTER: Duration = Duration::from_secs(1);

/// Identifies one socket connection; the origin of an update, so it is not echoed back.
pub type ConnId = u64;

/// A new document with Yjs-compatible (UTF-16) offsets, so indexes agree with browser clients.
pub fn new_doc() -> Doc {
    Doc::with_options(Options { offset_kind: OffsetKind::Utf16, ..Options::default() })
}

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("the update could not be decoded or applied")]
    BadUpdate,
    #[error("the document would exceed its size limit")]
    TooLarge,
    /// The update depends on content the server never received, beyond `MAX_PENDING_BYTES`.
    #[error("the update depends on too much content the server does not have")]
    MissingDependencies,
    #[error("a file would exceed its size limit")]
    FileTooLarge,
    #[error("the update writes to a root that is not a file of the pad")]
    UnknownRoot,
    #[error("the document log is too far behind; try again later")]
    Overloaded,
    /// The pad used its update-log budget (`COLLAB_HISTORY_BYTES`); it stays readable.
    #[error("this pad's edit history is full; fork the pad to keep editing")]
    HistoryFull,
    #[error("the document failed internally and must be reloaded")]
    Poisoned,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Whether an update changed the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied, logged and fanned out.
    Changed,
    /// Nothing new (already known content, or only stashed as pending); nothing logged.
    Unchanged,
}

/// Who is told about every change of a loaded document: the live room, if any.
pub trait DocObserver: Send + Sync {
    /// Called under the document's lock right after `update` (Yjs v1) was applied and queued for
    /// the log; must not block or touch the document.
    fn on_update(&self, origin: Option<ConnId>, update: &Bytes);
}

/// One pad's loaded document.
pub struct PadDoc {
    pub pad: PadId,
    persist: Persist,
    /// `COLLAB_HISTORY_BYTES`: update-log bytes this pad may accumulate.
    history_budget: u64,
    /// Sync step 1 answers encoded (full-state work done for peers; for tests and health).
    sync_answers: AtomicU64,
    inner: Mutex<DocState>,
}

struct DocState {
    doc: Doc,
    /// Updates logged since the last checkpoint, and when that checkpoint was taken.
    since_checkpoint: u64,
    last_checkpoint: Instant,
    /// Upper bound of the encoded document size (exact at load and checkpoints, then + updates).
    approx_len: usize,
    /// Encoded size of what yrs parked (updates waiting for missing dependencies); counted
    /// against the document size limit too, never logged, never checkpointed.
    pending_len: usize,
    /// Update-log bytes of this pad: committed (read at load) plus queued since.
    history_bytes: u64,
    last_used: Instant,
    observer: Option<Weak<dyn DocObserver>>,
    /// Set when the store dropped this instance; holders must reopen.
    unloaded: bool,
    /// Set when yrs panicked while applying; the instance is unusable.
    poisoned: bool,
    /// The pad's files: the only roots a client update may name (`file_roots`).
    files: HashSet<FileId>,
    /// Every update of the pad's log with an id up to this is in `doc`.
    log_upto: i64,
    /// Committed updates in `doc` past a missing link: `prev → id`.
    beyond_gap: BTreeMap<i64, i64>,
    /// Since when `beyond_gap` is not empty.
    gap_since: Option<Instant>,
}

impl PadDoc {
    fn lock(&self) -> MutexGuard<'_, DocState> {
        // A panic while holding the lock is caught where yrs is called; a poisoned std mutex
        // would only mean a bug elsewhere, and the state stays consistent for reads.
        let mut state = self.inner.lock().unwrap_or_else(|poison| poison.into_inner());
        state.last_used = Instant::now();
        state
    }

    /// The text of every file in the document, by file id.
    pub async fn file_texts(&self) -> BTreeMap<FileId, String> {
        self.file_texts_now()
    }

    pub fn file_texts_now(&self) -> BTreeMap<FileId, String> {
        let state = self.lock();
        let txn = state.doc.transact();
        let files: Vec<FileId> = txn.root_refs().filter_map(|(root, _)| file_roots::parse_file_key(root)).collect();
        files
            .into_iter()
            .map(|file| {
                let text = txn.get_text(file_key(file).as_str()).map(|t| t.get_string(&txn)).unwrap_or_default();
                (file, text)
            })
            .collect()
    }

    pub async fn file_text(&self, file: FileId) -> String {
        let state = self.lock();
        let txn = state.doc.transact();
        txn.get_text(file_key(file).as_str()).map(|t| t.get_string(&txn)).unwrap_or_default()
    }

    /// Set the pad's files: the roots client updates may write to (the pads module calls this
    /// after every file created or deleted).
    pub fn set_files(&self, files: impl IntoIterator<Item = FileId>) {
        self.lock().files = files.into_iter().collect();
    }

    /// Encoded state vector (sync step 1 payload).
    pub async fn state_vector(&self) -> Vec<u8> {
        self.state_vector_now()
    }

    pub fn state_vector_now(&self) -> Vec<u8> {
        self.lock().doc.transact().state_vector().encode_v1()
    }

    /// What a peer with state vector `remote_sv` is missing (sync step 2 payload).
    pub async fn diff_since(&self, remote_sv: &[u8]) -> Result<Vec<u8>, DocError> {
        self.diff_since_now(remote_sv)
    }

    pub fn diff_since_now(&self, remote_sv: &[u8]) -> Result<Vec<u8>, DocError> {
        let sv = decode_state_vector(remote_sv)?;
        self.sync_answers.fetch_add(1, Ordering::Relaxed);
        let state = self.lock();
        // Parked content is not part of the document: peers get only what is integrated.
        let diff = state.doc.transact().encode_diff_v1(&sv);
        Ok(diff)
    }

    /// Size of the whole encoded document, for the document size limit.
    pub async fn encoded_len(&self) -> usize {
        encoded_len(&self.lock().doc)
    }

    /// Upper bound of the encoded document size, without encoding it.
    pub fn approx_len(&self) -> usize {
        self.lock().approx_len
    }

    /// How many sync step 1 requests were answered (each encodes what the peer lacks).
    pub fn sync_answers(&self) -> u64 {
        self.sync_answers.load(Ordering::Relaxed)
    }

    /// Encoded size of the updates yrs holds back for missing dependencies.
    pub fn pending_len(&self) -> usize {
        self.lock().pending_len
    }

    /// Whether applying `update` would change the document (new content or new deletions),
    /// without applying it. Used to tell a read-only client its edit was refused while letting
    /// its no-op sync step 2 pass silently.
    pub fn would_change(&self, update: &[u8]) -> Result<bool, DocError> {
        let decoded = decode_update(update)?;
        let state = self.lock();
        let txn = state.doc.transact();
        if decoded.extends(&txn.state_vector()) {
            return Ok(true);
        }
        let deletes = decoded.delete_set();
        if deletes.is_empty() {
            return Ok(false);
        }
        let mut unknown = deletes.clone();
        unknown.diff_with(&txn.snapshot().delete_set);
        Ok(!unknown.is_empty())
    }

    /// Attach (or detach, with `None`) the observer told about every change.
    pub fn set_observer(&self, observer: Option<Weak<dyn DocObserver>>) {
        self.lock().observer = observer;
    }

    /// Apply a client's update, log it and fan it out (see the module docs for the order).
    /// Garbage is refused before it touches the document; an update that would push the
    /// document past `max_doc_bytes` is refused whole. Content yrs has to park for missing
    /// dependencies is bounded by `MAX_PENDING_BYTES`: an update that would park more has its
    /// parked part dropped (what it integrated is kept and logged) and is refused.
    pub fn apply_update(
        &self,
        origin: Option<ConnId>,
        user: Option<UserId>,
        update: &[u8],
        max_doc_bytes: usize,
    ) -> Result<Applied, DocError> {
        let decoded = decode_update(update)?;
        let mut state = self.lock();
        state.usable()?;
        if state.history_bytes.saturating_add(update.len() as u64) > self.history_budget {
            return Err(DocError::HistoryFull);
        }
        if state.approx_len.saturating_add(state.pending_len).saturating_add(update.len()) > max_doc_bytes {
            // The estimate only grows between checkpoints; recompute before refusing.
            state.approx_len = encoded_len(&state.doc);
            if state.approx_len.saturating_add(state.pending_len).saturating_add(update.len()) > max_doc_bytes {
                return Err(DocError::TooLarge);
            }
        }
        file_roots::check_update(&state.doc, &state.files, update, MAX_FILE_BYTES)?;
        if self.persist.overloaded() {
            return Err(DocError::Overloaded);
        }
        let doc = state.doc.clone();
        let outcome = guarded(move || integrate_bounding_pending(&doc, decoded));
        let integration = match outcome {
            None => {
                state.poisoned = true;
                tracing::error!(pad = %self.pad, "yrs panicked applying an update; the document will be reloaded");
                return Err(DocError::Poisoned);
            }
            Some(Err(err)) => return Err(err),
            Some(Ok(integration)) => integration,
        };
        state.pending_len = integration.pending_len;
        let applied = self.record(&mut state, origin, user, integration.encoded);
        if integration.overflowed {
            tracing::warn!(pad = %self.pad, "refused an update that parks too much content with missing dependencies");
            return Err(DocError::MissingDependencies);
        }
        Ok(applied)
    }

    /// Log and fan out a change that is already applied (under the lock).
    fn record(&self, state: &mut DocState, origin: Option<ConnId>, user: Option<UserId>, encoded: Vec<u8>) -> Applied {
        if is_empty_update(&encoded) {
            return Applied::Unchanged;
        }
        let bytes = Bytes::from(encoded);
        self.persist.append(self.pad, user, bytes.clone());
        self.count_and_fan_out(state, origin, &bytes);
        Applied::Changed
    }

    /// Account for an update now in the document and hand it to the observer.
    fn count_and_fan_out(&self, state: &mut DocState, origin: Option<ConnId>, bytes: &Bytes) {
        state.approx_len = state.approx_len.saturating_add(bytes.len());
        state.history_bytes = state.history_bytes.saturating_add(bytes.len() as u64);
        state.since_checkpoint += 1;
        if let Some(observer) = state.observer.as_ref().and_then(Weak::upgrade) {
            observer.on_update(origin, bytes);
        }
        if state.since_checkpoint >= CHECKPOINT_EVERY_UPDATES {
            self.checkpoint_locked(state);
        }
    }

    /// An update of this node was committed at `prev → id` of the pad's log.
    fn note_logged(&self, prev: i64, id: i64) {
        self.lock_for_sweep().advance(prev, id);
    }

    /// Apply an update another node committed at `prev → id` (not logged again) and fan it out.
    /// One this document already holds is skipped; applying it again would change nothing.
    fn apply_committed(&self, prev: i64, id: i64, bytes: &Bytes) {
        let mut state = self.lock();
        if state.usable().is_err() || id <= state.log_upto || state.beyond_gap.get(&prev) == Some(&id) {
            return;
        }
        let doc = state.doc.clone();
        if !apply_stored(self.pad, &doc, bytes) {
            state.poisoned = true;
            return;
        }
        state.advance(prev, id);
        self.count_and_fan_out(&mut state, None, bytes);
    }

    /// Whether the update chain has had a missing link for `GAP_REPAIR_AFTER` by `now`.
    fn gap_overdue(&self, now: Instant) -> bool {
        self.lock_for_sweep().gap_since.is_some_and(|since| now.saturating_duration_since(since) >= GAP_REPAIR_AFTER)
    }

    /// The log id up to which this document holds every committed update.
    pub fn log_upto(&self) -> i64 {
        self.lock_for_sweep().log_upto
    }

    fn checkpoint_locked(&self, state: &mut DocState) {
        if !state.beyond_gap.is_empty() {
            // The document holds updates past a missing one: no exact checkpoint until repaired.
            return;
        }
        // Only integrated content: parked updates are not part of the state the vector describes,
        // and baking them in would make every load park them again.
        let (full, sv) = {
            let txn = state.doc.transact();
            (txn.encode_diff_v1(&StateVector::default()), txn.state_vector().encode_v1())
        };
        state.approx_len = full.len();
        // Without a gap, the document holds the log up to `log_upto` plus this node's updates
        // still queued for the log, and nothing else.
        self.persist.checkpoint(self.pad, state.log_upto, full, sv);
        state.since_checkpoint = 0;
        state.last_checkpoint = Instant::now();
    }

    /// Checkpoint now if anything was logged since the last one.
    pub fn checkpoint_if_dirty(&self) {
        let mut state = self.lock();
        if state.since_checkpoint > 0 && !state.poisoned {
            self.checkpoint_locked(&mut state);
        }
    }

    pub fn is_poisoned(&self) -> bool {
        self.lock().poisoned
    }
}

impl DocState {
    /// The committed update `prev → id` is in the document: move `log_upto` along the chain as far
    /// as it now reaches.
    fn advance(&mut self, prev: i64, id: i64) {
        if id <= self.log_upto {
            return;
        }
        self.beyond_gap.insert(prev, id);
        while let Some((&prev, &id)) = self.beyond_gap.first_key_value() {
            if prev > self.log_upto {
                break;
            }
            self.beyond_gap.pop_first();
            self.log_upto = self.log_upto.max(id);
        }
        self.gap_since = if self.beyond_gap.is_empty() { None } else { self.gap_since.or(Some(Instant::now())) };
    }

    fn usable(&self) -> Result<(), DocError> {
        if self.poisoned {
            Err(DocError::Poisoned)
        } else if self.unloaded {
            // Holders of an unloaded instance are rooms, which detach before unloading; a REST
            // edit racing an unload reopens (see `DocStore::edit`).
            Err(DocError::Poisoned)
        } else {
            Ok(())
        }
    }
}

/// Run yrs code on untrusted input; `None` when it panicked (yrs is not panic-free on every
/// malformed update), so one client's garbage cannot take the server down.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

/// Decode an untrusted Yjs v1 update (yrs panics on some inputs, e.g. client ids over 2^53).
pub(crate) fn decode_update(update: &[u8]) -> Result<Update, DocError> {
    guarded(|| Update::decode_v1(update)).ok_or(DocError::BadUpdate)?.map_err(|_| DocError::BadUpdate)
}

/// Decode an untrusted encoded state vector.
pub(crate) fn decode_state_vector(state_vector: &[u8]) -> Result<StateVector, DocError> {
    guarded(|| StateVector::decode_v1(state_vector)).ok_or(DocError::BadUpdate)?.map_err(|_| DocError::BadUpdate)
}

/// Apply an update from the log (this node's or another's); `false` when yrs panicked. One that
/// no longer applies would be a bug: it is skipped rather than losing the pad.
fn apply_stored(pad: PadId, doc: &Doc, bytes: &[u8]) -> bool {
    let applied = guarded(|| match Update::decode_v1(bytes) {
        Ok(update) => doc.transact_mut().apply_update(update).map_err(|e| e.to_string()),
        Err(err) => Err(err.to_string()),
    });
    match applied {
        Some(Ok(())) => true,
        Some(Err(err)) => {
            tracing::error!(%pad, error = %err, "stored update failed to apply");
            true
        }
        None => {
            tracing::error!(%pad, "stored update panicked yrs");
            false
        }
    }
}

/// Size of the integrated document (parked content is tracked separately as `pending_len`).
fn encoded_len(doc: &Doc) -> usize {
    doc.transact().encode_diff_v1(&StateVector::default()).len()
}

/// What applying one client update did to the document.
struct Integration {
    /// The integrated changes (Yjs v1), to log and fan out; empty update when none.
    encoded: Vec<u8>,
    /// Encoded size of everything parked after this update.
    pending_len: usize,
    /// The update would have parked more than `MAX_PENDING_BYTES`; its parked part was dropped.
    overflowed: bool,
}

/// Apply `update` and keep what yrs parks (blocks and deletions waiting for content the server
/// never received) within `MAX_PENDING_BYTES`. The parked content from before is set aside and
/// re-applied first (re-parking it changes nothing), so that on overflow exactly what this update
/// parked is dropped and the earlier parked content restored. What the update integrated stays:
/// it is valid content and ends up in the returned `encoded` like any other change.
fn integrate_bounding_pending(doc: &Doc, update: Update) -> Result<Integration, DocError> {
    let mut txn = doc.transact_mut();
    // `Update` cannot be cloned: the earlier parked content is kept encoded to restore it.
    let earlier = txn.prune_pending().map(|parked| parked.encode_v1());
    if let Some(earlier) = &earlier {
        txn.apply_update(decode_update(earlier)?).map_err(|_| DocError::BadUpdate)?;
    }
    txn.apply_update(update).map_err(|_| DocError::BadUpdate)?;
    let mut pending_len = 0;
    let mut overflowed = false;
    if let Some(parked) = txn.prune_pending() {
        let parked_len = parked.encode_v1().len();
        if parked_len <= MAX_PENDING_BYTES {
            pending_len = parked_len;
            txn.apply_update(parked).map_err(|_| DocError::BadUpdate)?;
        } else {
            overflowed = true;
            if let Some(earlier) = earlier {
                pending_len = earlier.len();
                txn.apply_update(decode_update(&earlier)?).map_err(|_| DocError::BadUpdate)?;
            }
        }
    }
    Ok(Integration { encoded: txn.encode_update_v1(), pending_len, overflowed })
}

type Slot = Arc<tokio::sync::OnceCell<Arc<PadDoc>>>;

type Loaded = Arc<Mutex<HashMap<PadId, Slot>>>;

fn loaded_doc(loaded: &Loaded, pad: PadId) -> Option<Arc<PadDoc>> {
    loaded.lock().unwrap_or_else(|poison| poison.into_inner()).get(&pad).and_then(|slot| slot.get().cloned())
}

#[derive(Clone)]
pub struct DocStore {
    db: Db,
    persist: Persist,
    history_budget: u64,
    loaded: Loaded,
}

impl DocStore {
    /// Needs a tokio runtime: starts the log writer, whose commits are relayed on `bus`.
    pub fn new(db: Db, settings: &CollabSettings, bus: SharedBus) -> Self {
        let loaded: Loaded = Arc::new(Mutex::new(HashMap::new()));
        let on_commit = {
            let loaded = loaded.clone();
            Arc::new(move |committed: Vec<Committed>| {
                for Committed { place, bytes } in committed {
                    if let Some(doc) = loaded_doc(&loaded, place.pad) {
                        doc.note_logged(place.prev, place.id);
                    }
                    bus.relay(place.pad, PadMessage::Update { prev: place.prev, id: place.id, bytes });
                }
            })
        };
        let persist = Persist::start(db.clone(), settings.persist_queue_bytes, on_commit);
        DocStore { db, persist, history_budget: settings.history_bytes, loaded }
    }

    /// Another node committed `prev → id` of the pad's log: apply it if the pad is loaded here.
    pub fn apply_relayed(&self, pad: PadId, prev: i64, id: i64, bytes: &Bytes) {
        if let Some(doc) = loaded_doc(&self.loaded, pad) {
            doc.apply_committed(prev, id, bytes);
        }
    }

    /// Re-read the log of every loaded document after what it holds (relayed updates may have
    /// been lost).
    pub async fn repair_all(&self) {
        for doc in self.loaded_docs() {
            self.repair(&doc).await;
        }
    }

    /// Repair the documents whose update chain has missed a link for `GAP_REPAIR_AFTER`.
    pub async fn repair_gaps(&self, now: Instant) {
        for doc in self.loaded_docs() {
            if doc.gap_overdue(now) {
                self.repair(&doc).await;
            }
        }
    }

    fn loaded_docs(&self) -> Vec<Arc<PadDoc>> {
        self.slots().values().filter_map(|s| s.get().cloned()).collect()
    }

    /// Apply the pad's committed updates after the document's `log_upto`, page by page.
    async fn repair(&self, doc: &PadDoc) {
        loop {
            let after = doc.log_upto();
            let page = match super::store::log_page(&self.db, doc.pad, after, LOG_READ_PAGE).await {
                Ok(page) => page,
                Err(err) => {
                    tracing::warn!(error = %err, pad = %doc.pad, "re-reading the document log failed");
                    return;
                }
            };
            let full = page.len() as i64 == LOG_READ_PAGE;
            let mut prev = after;
            for (id, bytes) in page {
                doc.apply_committed(prev, id, &Bytes::from(bytes));
                prev = id;
            }
            if !full || doc.log_upto() <= after {
                return;
            }
        }
    }

    /// Update-log bytes queued for the writer and not yet committed (for tests and health).
    pub fn queued_log_bytes(&self) -> usize {
        self.persist.queued_bytes()
    }

    /// Wait until the update log's queue has room (backpressure for pad sockets).
    pub async fn wait_for_log_room(&self) {
        self.persist.wait_for_room().await;
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<PadId, Slot>> {
        self.loaded.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// The pad's document, loading it from checkpoint + log tail on first use. Concurrent first
    /// opens of one pad share a single load.
    pub async fn open(&self, pad: PadId) -> Result<Arc<PadDoc>, DocError> {
        loop {
            let slot = self.slots().entry(pad).or_default().clone();
            let mut fresh = false;
            let doc = slot
                .get_or_try_init(|| {
                    fresh = true;
                    self.load(pad)
                })
                .await?
                .clone();
            if fresh {
                // Updates other nodes relayed between the load's read and now were dropped (the
                // pad was not loaded yet): they are in the log.
                self.repair(&doc).await;
            }
            let state = doc.lock();
            if state.poisoned {
                drop(state);
                self.forget(pad, &doc);
                continue;
            }
            if state.unloaded {
                continue;
            }
            drop(state);
            return Ok(doc);
        }
    }

    /// Drop the instance from the map if it is still the one loaded.
    fn forget(&self, pad: PadId, doc: &Arc<PadDoc>) {
        let mut slots = self.slots();
        if slots.get(&pad).and_then(|s| s.get()).is_some_and(|d| Arc::ptr_eq(d, doc)) {
            slots.remove(&pad);
        }
    }

    /// Drop a loaded document from memory (what it logged is durable or queued).
    pub async fn unload(&self, pad: PadId) {
        let slot = self.slots().remove(&pad);
        if let Some(doc) = slot.as_ref().and_then(|s| s.get()) {
            doc.checkpoint_if_dirty();
            doc.lock().unloaded = true;
        }
    }

    async fn load(&self, pad: PadId) -> Result<Arc<PadDoc>, DocError> {
        // Anything this pad queued before an unload must be in the database before we read it.
        self.persist.flush().await;
        let doc = new_doc();
        let checkpoint = super::store::latest_checkpoint(&self.db, pad).await?;
        let mut log_upto = checkpoint.as_ref().map(|(id, _)| *id).unwrap_or(0);
        if let Some((_, state)) = &checkpoint {
            apply_stored(pad, &doc, state);
        }
        let mut tail = 0u64;
        loop {
            let page = super::store::log_page(&self.db, pad, log_upto, LOG_READ_PAGE).await?;
            let full = page.len() as i64 == LOG_READ_PAGE;
            for (id, bytes) in page {
                apply_stored(pad, &doc, &bytes);
                log_upto = id;
                tail += 1;
            }
            if !full {
                break;
            }
        }
        let history_bytes = super::store::history_bytes(&self.db, pad).await?;
        let now = Instant::now();
        let approx_len = encoded_len(&doc);
        let loaded = Arc::new(PadDoc {
            pad,
            persist: self.persist.clone(),
            history_budget: self.history_budget,
            sync_answers: AtomicU64::new(0),
            inner: Mutex::new(DocState {
                doc,
                since_checkpoint: tail,
                last_checkpoint: now,
                approx_len,
                pending_len: 0,
                history_bytes,
                last_used: now,
                observer: None,
                unloaded: false,
                poisoned: false,
                files: HashSet::new(),
                log_upto,
                beyond_gap: BTreeMap::new(),
                gap_since: None,
            }),
        });
        self.attach_files(&loaded).await?;
        Ok(loaded)
    }

    /// The root check hook: a loaded document learns the pad's files (the only roots clients may
    /// write), and a document written before texts were keyed by file id is rewritten once
    /// (`file_roots::rekey`), as one logged update, before anyone reads it.
    async fn attach_files(&self, doc: &PadDoc) -> Result<(), DocError> {
        let files = crate::pads::files_store::list(&self.db, doc.pad).await?;
        doc.set_files(files.iter().map(|f| f.id));
        if !crate::pads::files_store::is_name_keyed(&self.db, doc.pad).await? {
            return Ok(());
        }
        // Taken before the update is stamped, so playback reads every instant from here on by id.
        let at_ms = chrono::Utc::now().timestamp_millis();
        let names: Vec<(FileId, String)> = files.into_iter().map(|f| (f.id, f.name)).collect();
        {
            let mut state = doc.lock();
            let encoded = {
                let mut txn = state.doc.transact_mut();
                file_roots::rekey(&mut txn, &names);
                txn.encode_update_v1()
            };
            doc.record(&mut state, None, None, encoded);
        }
        self.persist.flush().await;
        crate::pads::files_store::mark_keyed_by_id(&self.db, doc.pad, at_ms).await?;
        tracing::info!(pad = %doc.pad, "file texts re-keyed from names to file ids");
        Ok(())
    }

    /// Apply an update from outside a live room (tests, imports), log it and fan it out.
    pub async fn apply_update(&self, pad: PadId, user: Option<UserId>, update: &[u8]) -> Result<(), DocError> {
        let doc = self.open(pad).await?;
        doc.apply_update(None, user, update, usize::MAX).map(|_| ())
    }

    /// Run a server-side edit (REST file changes, fork, templates), log it and fan it out to the
    /// pad's open sockets. Returns the update bytes (empty when nothing changed).
    pub async fn edit<F>(&self, pad: PadId, user: Option<UserId>, change: F) -> Result<Vec<u8>, DocError>
    where
        F: FnOnce(&mut TransactionMut),
    {
        self.edit_growing(pad, user, None, change).await
    }

    /// `edit` for a change that adds up to `growth` encoded bytes: refused whole (`TooLarge`,
    /// nothing applied) when that could push the document past `MAX_DOC_BYTES`, the same limit
    /// client updates meet — so REST cannot fill a pad that live edits then cannot touch.
    pub async fn edit_within<F>(&self, pad: PadId, user: Option<UserId>, growth: usize, change: F) -> Result<Vec<u8>, DocError>
    where
        F: FnOnce(&mut TransactionMut),
    {
        self.edit_growing(pad, user, Some(growth), change).await
    }

    async fn edit_growing<F>(&self, pad: PadId, user: Option<UserId>, growth: Option<usize>, change: F) -> Result<Vec<u8>, DocError>
    where
        F: FnOnce(&mut TransactionMut),
    {
        // A full log queue holds the edit back for a while; past that the caller answers 503.
        tokio::time::timeout(QUEUE_WAIT_TIMEOUT, self.persist.wait_for_room()).await.map_err(|_| DocError::Overloaded)?;
        let handle = self.open(pad).await?;
        let mut state = handle.lock();
        state.usable()?;
        // The edit's size is known only once applied, so the budget must still have room for
        // the largest update (REST file contents are smaller): the log never passes the budget.
        if state.history_bytes.saturating_add(MAX_UPDATE_BYTES as u64) > handle.history_budget {
            return Err(DocError::HistoryFull);
        }
        if let Some(growth) = growth {
            if state.approx_len.saturating_add(growth) > MAX_DOC_BYTES {
                // The estimate only grows between checkpoints; recompute before refusing.
                state.approx_len = encoded_len(&state.doc);
                if state.approx_len.saturating_add(growth) > MAX_DOC_BYTES {
                    return Err(DocError::TooLarge);
                }
            }
        }
        let encoded = {
            let mut txn = state.doc.transact_mut();
            change(&mut txn);
            txn.encode_update_v1()
        };
        match handle.record(&mut state, None, user, encoded.clone()) {
            Applied::Changed => Ok(encoded),
            Applied::Unchanged => Ok(Vec::new()),
        }
    }

    /// Periodic maintenance: checkpoint documents whose last checkpoint is older than
    /// `CHECKPOINT_EVERY`, and unload documents without an observer idle for `idle_after`.
    pub fn sweep(&self, now: Instant, idle_after: Duration) {
        let docs: Vec<Arc<PadDoc>> = self.slots().values().filter_map(|s| s.get().cloned()).collect();
        for doc in docs {
            let mut state = doc.lock_for_sweep();
            let observed = state.observer.as_ref().is_some_and(|o| o.strong_count() > 0);
            if state.poisoned {
                drop(state);
                self.forget(doc.pad, &doc);
                continue;
            }
            if state.since_checkpoint > 0 && now.saturating_duration_since(state.last_checkpoint) >= CHECKPOINT_EVERY {
                doc.checkpoint_locked(&mut state);
            }
            if !observed && now.saturating_duration_since(state.last_used) >= idle_after {
                if state.since_checkpoint > 0 {
                    doc.checkpoint_locked(&mut state);
                }
                state.unloaded = true;
                drop(state);
                self.forget(doc.pad, &doc);
            }
        }
    }

    /// Pads whose documents are loaded (for tests and health).
    pub fn loaded_count(&self) -> usize {
        self.slots().len()
    }

    /// Persist everything still in memory: checkpoint every document changed since its last
    /// checkpoint, then wait until the log writer has committed all of it. Shutdown calls this
    /// after the sockets have closed.
    pub async fn flush_all(&self) {
        let docs: Vec<Arc<PadDoc>> = self.slots().values().filter_map(|s| s.get().cloned()).collect();
        for doc in docs {
            doc.checkpoint_if_dirty();
        }
        self.persist.flush().await;
    }

    /// Wait until everything queued so far is committed.
    pub async fn flush_log(&self) {
        self.persist.flush().await;
    }
}

impl PadDoc {
    /// Lock without counting as a use (the sweeper must not keep documents alive).
    fn lock_for_sweep(&self) -> MutexGuard<'_, DocState> {
        self.inner.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

/// An update that carries no inserts and no deletes (lib0 v1: two zero varints).
fn is_empty_update(update: &[u8]) -> bool {
    update == [0, 0]
}

/// Replace a file's whole text inside a transaction.
pub fn set_text(txn: &mut TransactionMut, file: FileId, content: &str) {
    let text = txn.get_or_insert_text(file_key(file).as_str());
    let len = text.len(txn);
    if len > 0 {
        text.remove_range(txn, 0, len);
    }
    if !content.is_empty() {
        text.insert(txn, 0, content);
    }
}

/// The current content of a file's text inside a transaction.
pub fn get_text(txn: &TransactionMut, file: FileId) -> String {
    txn.get_text(file_key(file).as_str()).map(|t| t.get_string(txn)).unwrap_or_default()
}
