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
//! Several nodes (`REDIS_URL`): every local update is relayed to the other nodes at once, before
//! its commit (`apply_live`), and again once committed (`apply_relayed`); they apply it to their
//! loaded copy of the document without logging it again, and fan it out only the first time.
//! A live update stays *unconfirmed* until its commit arrives. Another node's later updates may
//! build on it, so it must reach the log even if its own node dies before committing it: a node
//! that logs an update of its own first logs the unconfirmed updates it holds (a duplicate row is
//! harmless, applying an update twice changes nothing), and logs any left unconfirmed after
//! `LIVE_CONFIRM_AFTER` or when the document unloads. Each
//! document knows up to which log id it holds every committed update of its pad (`log_upto`,
//! advanced along the `prev → id` chain of committed updates, its own and relayed ones); its
//! checkpoints claim exactly that. A gap in the chain (a lost message) that is not filled within
//! `GAP_REPAIR_AFTER`, a relayed update that has waited as long for content this node lacks (the
//! lost commit was the pad's last, so no later link reveals it), or a bus outage, makes it re-read
//! the log after `log_upto` from the database in pages of `LOG_READ_PAGE` (`repair`).
//!
//! Here: `PadDoc`, one loaded document and everything done under its lock. `registry`: the
//! node's loaded documents (load, open, unload, sweep, REST edits, repair). `codec`: yrs at the
//! edges (guarded decoding, stored updates, bounded integration, file texts).
//!
//! Must not: know about sockets, roles or sessions (the observer does the fan-out), or write the
//! log any other way than through `Persist`.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Transact};

mod codec;
mod registry;

pub(crate) use codec::{adds_to, decode_state_vector, decode_update, guarded, state_from_log};
use codec::{
    apply_decoded, apply_stored, change_to, encoded_len, integrate_bounding_pending,
    is_empty_update, parked_len, Decoded,
};
pub use codec::{get_text, new_doc, set_text};
pub use registry::DocStore;

use super::file_roots;
pub use super::file_roots::file_key;
use super::limits::{MAX_DOC_BYTES, MAX_UPDATE_BYTES};
use super::persist::{Committed, Persist, QUEUE_WAIT_TIMEOUT};
use super::settings::CollabSettings;
use super::whiteboard;
use crate::bus::{PadMessage, SharedBus};
use crate::db::{Db, FileId, PadId, UserId};
use crate::metrics::PersistMetrics;
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

/// With several nodes, how often each loaded document's log position is compared with the newest
/// id in the database: a pad's last update whose relay was lost (and whose node then went quiet
/// or died) leaves no gap in any later link, so only this notices it.
pub const LOG_CHECK_EVERY: Duration = Duration::from_secs(2);
/// Pads per query of that check.
pub const LOG_CHECK_BATCH: usize = 500;

/// A live update another node relayed stays unconfirmed at most this long (its commit normally
/// follows within a group-commit window); then this node logs it itself.
pub const LIVE_CONFIRM_AFTER: Duration = Duration::from_secs(3);
/// Unconfirmed live updates one document holds, by count and by bytes; past either, the oldest
/// are logged by this node at once. Bounds the memory a slow or dead node's updates take here.
pub const MAX_UNCONFIRMED: usize = 1024;
pub const MAX_UNCONFIRMED_BYTES: usize = 1 << 20;

/// Identifies one socket connection; the origin of an update, so it is not echoed back.
pub type ConnId = u64;

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
    /// Past `MAX_WHITEBOARD_ELEMENTS`, or an element over `MAX_WHITEBOARD_ELEMENT_BYTES`.
    #[error("the whiteboard would exceed its size limit")]
    WhiteboardTooLarge,
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
    /// Where this node's updates are relayed live to the other nodes.
    bus: SharedBus,
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
    /// `log_upto` when the last log check found the database ahead of it; still there at the next
    /// check means the document is stuck behind, not merely waiting for its latest relay.
    behind_at: Option<i64>,
    /// Since when a relayed update waits for content this node lacks: a commit whose relay was
    /// lost and that no later link of the chain reveals (the pad's last update, its node dead).
    parked_since: Option<Instant>,
    /// Live updates of other nodes in `doc` whose commit has not been seen yet, oldest first.
    unconfirmed: VecDeque<Unconfirmed>,
    /// Their bytes in total.
    unconfirmed_bytes: usize,
}

/// A live update of another node, applied here, waiting for its commit.
struct Unconfirmed {
    bytes: Bytes,
    user: Option<UserId>,
    since: Instant,
}

impl PadDoc {
    /// Lock without counting as a use (the sweeper must not keep documents alive).
    fn lock_for_sweep(&self) -> MutexGuard<'_, DocState> {
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn lock(&self) -> MutexGuard<'_, DocState> {
        // A panic while holding the lock is caught where yrs is called; a poisoned std mutex
        // would only mean a bug elsewhere, and the state stays consistent for reads.
        let mut state = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
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
        let files: Vec<FileId> = txn
            .root_refs()
            .filter_map(|(root, _)| file_roots::parse_file_key(root))
            .collect();
        files
            .into_iter()
            .map(|file| {
                let text = txn
                    .get_text(file_key(file).as_str())
                    .map(|t| t.get_string(&txn))
                    .unwrap_or_default();
                (file, text)
            })
            .collect()
    }

    /// The whiteboard's elements as stored (`whiteboard::entries`).
    pub fn whiteboard(&self) -> Vec<(String, yrs::Any)> {
        let state = self.lock();
        let txn = state.doc.transact();
        whiteboard::entries(&txn)
    }

    pub async fn file_text(&self, file: FileId) -> String {
        let state = self.lock();
        let txn = state.doc.transact();
        txn.get_text(file_key(file).as_str())
            .map(|t| t.get_string(&txn))
            .unwrap_or_default()
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
        Ok(adds_to(&self.lock().doc, &decoded))
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
        if state
            .approx_len
            .saturating_add(state.pending_len)
            .saturating_add(update.len())
            > max_doc_bytes
        {
            // The estimate only grows between checkpoints; recompute before refusing.
            state.approx_len = encoded_len(&state.doc);
            if state
                .approx_len
                .saturating_add(state.pending_len)
                .saturating_add(update.len())
                > max_doc_bytes
            {
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
    fn record(
        &self,
        state: &mut DocState,
        origin: Option<ConnId>,
        user: Option<UserId>,
        encoded: Vec<u8>,
    ) -> Applied {
        if is_empty_update(&encoded) {
            return Applied::Unchanged;
        }
        let bytes = Bytes::from(encoded);
        // This update may build on other nodes' unconfirmed ones: they go into the log first.
        self.adopt_unconfirmed(state, |_| true);
        self.persist.append(self.pad, user, bytes.clone());
        self.bus.relay(
            self.pad,
            PadMessage::Live {
                user,
                bytes: bytes.clone(),
            },
        );
        self.count_and_fan_out(state, origin, &bytes);
        Applied::Changed
    }

    /// Log the unconfirmed live updates `which` selects (oldest first), as if they were this
    /// node's own; their commit, if it still comes, adds a harmless duplicate row.
    fn adopt_unconfirmed(&self, state: &mut DocState, which: impl Fn(&Unconfirmed) -> bool) {
        let mut kept = VecDeque::with_capacity(state.unconfirmed.len());
        for live in std::mem::take(&mut state.unconfirmed) {
            if which(&live) {
                self.adopt(state, live);
            } else {
                kept.push_back(live);
            }
        }
        state.unconfirmed = kept;
    }

    /// Log one unconfirmed live update (taken out of `unconfirmed` by the caller).
    fn adopt(&self, state: &mut DocState, live: Unconfirmed) {
        state.unconfirmed_bytes -= live.bytes.len();
        self.persist.append(self.pad, live.user, live.bytes);
    }

    /// Log every unconfirmed live update (the document is going away).
    fn adopt_all_unconfirmed(&self) {
        let mut state = self.lock_for_sweep();
        self.adopt_unconfirmed(&mut state, |_| true);
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
    /// Its live copy, if it came and integrated, was fanned out already: the commit only confirms
    /// it.
    fn apply_committed(&self, prev: i64, id: i64, bytes: &Bytes) {
        let mut state = self.lock();
        state.confirm(bytes);
        if state.usable().is_err()
            || id <= state.log_upto
            || state.beyond_gap.get(&prev) == Some(&id)
        {
            return;
        }
        // Confirmed or not, content still missing (a live copy that parked) is applied again.
        let Some(decoded) = change_to(&state.doc, bytes) else {
            state.advance(prev, id);
            return;
        };
        if self.apply_relayed(&mut state, decoded) {
            state.advance(prev, id);
            self.count_and_fan_out(&mut state, None, bytes);
        }
    }

    /// Apply an update another node sent (not logged here); `false` when yrs failed and the
    /// document is poisoned. Content it parks marks the document for repair from the log.
    fn apply_relayed(&self, state: &mut DocState, decoded: Decoded) -> bool {
        let doc = state.doc.clone();
        let parked_before = parked_len(&doc);
        if !apply_decoded(self.pad, &doc, decoded) {
            state.poisoned = true;
            return false;
        }
        if parked_len(&doc) > parked_before {
            state.parked_since.get_or_insert_with(Instant::now);
        }
        true
    }

    /// Apply an update another node applied and has not committed yet (not logged here unless it
    /// stays unconfirmed; see the module docs) and fan it out.
    fn apply_live(&self, user: Option<UserId>, bytes: &Bytes) {
        let mut state = self.lock();
        if state.usable().is_err() {
            return;
        }
        let Some(decoded) = change_to(&state.doc, bytes) else {
            return;
        };
        if !self.apply_relayed(&mut state, decoded) {
            return;
        }
        state.unconfirmed_bytes += bytes.len();
        state.unconfirmed.push_back(Unconfirmed {
            bytes: bytes.clone(),
            user,
            since: Instant::now(),
        });
        while state.unconfirmed.len() > MAX_UNCONFIRMED
            || state.unconfirmed_bytes > MAX_UNCONFIRMED_BYTES
        {
            let Some(oldest) = state.unconfirmed.pop_front() else {
                break;
            };
            self.adopt(&mut state, oldest);
        }
        self.count_and_fan_out(&mut state, None, bytes);
    }

    /// Whether the update chain has had a missing link, or a relayed update has waited for
    /// missing content, for `GAP_REPAIR_AFTER` by `now`.
    fn gap_overdue(&self, now: Instant) -> bool {
        let state = self.lock_for_sweep();
        [state.gap_since, state.parked_since]
            .into_iter()
            .flatten()
            .any(|since| now.saturating_duration_since(since) >= GAP_REPAIR_AFTER)
    }

    /// The database's log for this pad reaches `latest`: whether the document has stayed behind it
    /// since the previous check (then it needs a repair).
    fn stuck_behind(&self, latest: i64) -> bool {
        let mut state = self.lock_for_sweep();
        if latest <= state.log_upto {
            state.behind_at = None;
            return false;
        }
        let stuck = state.behind_at == Some(state.log_upto);
        state.behind_at = Some(state.log_upto);
        stuck
    }

    /// A repair starts: what parks from now on is noticed again.
    fn repairing(&self) {
        self.lock_for_sweep().parked_since = None;
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
            (
                txn.encode_diff_v1(&StateVector::default()),
                txn.state_vector().encode_v1(),
            )
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
    /// The commit of `bytes` arrived: forget its unconfirmed live copy, if there was one.
    fn confirm(&mut self, bytes: &Bytes) {
        let at = self
            .unconfirmed
            .iter()
            .position(|live| live.bytes == *bytes);
        if let Some(live) = at.and_then(|at| self.unconfirmed.remove(at)) {
            self.unconfirmed_bytes -= live.bytes.len();
        }
    }

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
        self.gap_since = if self.beyond_gap.is_empty() {
            None
        } else {
            self.gap_since.or(Some(Instant::now()))
        };
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
