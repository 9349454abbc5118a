//! The loaded documents of this node: load (checkpoint + log), open and unload, the idle sweep,
//! REST edits, and repairing a document from the log after a gap in what the bus relayed.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use yrs::{Transact, TransactionMut};

use super::*;

type Slot = Arc<tokio::sync::OnceCell<Arc<PadDoc>>>;

type Loaded = Arc<Mutex<HashMap<PadId, Slot>>>;

fn loaded_doc(loaded: &Loaded, pad: PadId) -> Option<Arc<PadDoc>> {
    loaded
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .get(&pad)
        .and_then(|slot| slot.get().cloned())
}

#[derive(Clone)]
pub struct DocStore {
    db: Db,
    persist: Persist,
    bus: SharedBus,
    history_budget: u64,
    loaded: Loaded,
    metrics: PersistMetrics,
}

impl DocStore {
    /// Needs a tokio runtime: starts the log writer, whose commits are relayed on `bus`.
    pub fn new(db: Db, settings: &CollabSettings, bus: SharedBus, metrics: PersistMetrics) -> Self {
        let loaded: Loaded = Arc::new(Mutex::new(HashMap::new()));
        let on_commit = {
            let loaded = loaded.clone();
            let bus = bus.clone();
            Arc::new(move |committed: Vec<Committed>| {
                for Committed { place, bytes } in committed {
                    if let Some(doc) = loaded_doc(&loaded, place.pad) {
                        doc.note_logged(place.prev, place.id);
                    }
                    bus.relay(
                        place.pad,
                        PadMessage::Update {
                            prev: place.prev,
                            id: place.id,
                            bytes,
                        },
                    );
                }
            })
        };
        let persist = Persist::start(
            db.clone(),
            settings.persist_queue_bytes,
            on_commit,
            metrics.clone(),
        );
        DocStore {
            db,
            persist,
            bus,
            history_budget: settings.history_bytes,
            loaded,
            metrics,
        }
    }

    /// Another node committed `prev → id` of the pad's log: apply it if the pad is loaded here.
    pub fn apply_relayed(&self, pad: PadId, prev: i64, id: i64, bytes: &Bytes) {
        if let Some(doc) = loaded_doc(&self.loaded, pad) {
            doc.apply_committed(prev, id, bytes);
        }
    }

    /// Another node applied an update it has not committed yet: apply it if the pad is loaded here.
    pub fn apply_live(&self, pad: PadId, user: Option<UserId>, bytes: &Bytes) {
        if let Some(doc) = loaded_doc(&self.loaded, pad) {
            doc.apply_live(user, bytes);
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

    /// Compare every loaded document with the newest id of its pad's log and repair those that
    /// stayed behind since the previous check (`LOG_CHECK_EVERY`, several nodes only).
    pub async fn check_logs(&self) {
        for docs in self.loaded_docs().chunks(LOG_CHECK_BATCH) {
            let pads: Vec<PadId> = docs.iter().map(|doc| doc.pad).collect();
            let latest = match super::super::store::latest_log_ids(&self.db, &pads).await {
                Ok(latest) => latest,
                Err(err) => {
                    tracing::warn!(error = %err, "checking document logs failed");
                    return;
                }
            };
            let latest: HashMap<PadId, i64> = latest
                .into_iter()
                .filter_map(|(pad, id)| Some((pad, id?)))
                .collect();
            for doc in docs {
                if latest.get(&doc.pad).is_some_and(|&id| doc.stuck_behind(id)) {
                    self.repair(doc).await;
                }
            }
        }
    }

    fn loaded_docs(&self) -> Vec<Arc<PadDoc>> {
        self.slots()
            .values()
            .filter_map(|s| s.get().cloned())
            .collect()
    }

    /// Apply the pad's committed updates after the document's `log_upto`, page by page.
    async fn repair(&self, doc: &PadDoc) {
        self.metrics.gap_repaired();
        doc.repairing();
        loop {
            let after = doc.log_upto();
            let page = match super::super::store::log_page(&self.db, doc.pad, after, LOG_READ_PAGE)
                .await
            {
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
        self.loaded
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
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
        if slots
            .get(&pad)
            .and_then(|s| s.get())
            .is_some_and(|d| Arc::ptr_eq(d, doc))
        {
            slots.remove(&pad);
        }
    }

    /// Drop a loaded document from memory (what it logged is durable or queued).
    pub async fn unload(&self, pad: PadId) {
        let slot = self.slots().remove(&pad);
        if let Some(doc) = slot.as_ref().and_then(|s| s.get()) {
            doc.adopt_all_unconfirmed();
            doc.checkpoint_if_dirty();
            doc.lock().unloaded = true;
        }
    }

    async fn load(&self, pad: PadId) -> Result<Arc<PadDoc>, DocError> {
        // Anything this pad queued before an unload must be in the database before we read it.
        self.persist.flush().await;
        let doc = new_doc();
        let checkpoint = super::super::store::latest_checkpoint(&self.db, pad).await?;
        let mut log_upto = checkpoint.as_ref().map(|(id, _)| *id).unwrap_or(0);
        if let Some((_, state)) = &checkpoint {
            apply_stored(pad, &doc, state);
        }
        let mut tail = 0u64;
        loop {
            let page =
                super::super::store::log_page(&self.db, pad, log_upto, LOG_READ_PAGE).await?;
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
        let history_bytes = super::super::store::history_bytes(&self.db, pad).await?;
        let now = Instant::now();
        let approx_len = encoded_len(&doc);
        let loaded = Arc::new(PadDoc {
            pad,
            persist: self.persist.clone(),
            bus: self.bus.clone(),
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
                behind_at: None,
                parked_since: None,
                unconfirmed: VecDeque::new(),
                unconfirmed_bytes: 0,
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
    pub async fn apply_update(
        &self,
        pad: PadId,
        user: Option<UserId>,
        update: &[u8],
    ) -> Result<(), DocError> {
        let doc = self.open(pad).await?;
        doc.apply_update(None, user, update, usize::MAX).map(|_| ())
    }

    /// Run a server-side edit (REST file changes, fork, templates), log it and fan it out to the
    /// pad's open sockets. Returns the update bytes (empty when nothing changed).
    pub async fn edit<F>(
        &self,
        pad: PadId,
        user: Option<UserId>,
        change: F,
    ) -> Result<Vec<u8>, DocError>
    where
        F: FnOnce(&mut TransactionMut),
    {
        self.edit_growing(pad, user, None, change).await
    }

    /// `edit` for a change that adds up to `growth` encoded bytes: refused whole (`TooLarge`,
    /// nothing applied) when that could push the document past `MAX_DOC_BYTES`, the same limit
    /// client updates meet — so REST cannot fill a pad that live edits then cannot touch.
    pub async fn edit_within<F>(
        &self,
        pad: PadId,
        user: Option<UserId>,
        growth: usize,
        change: F,
    ) -> Result<Vec<u8>, DocError>
    where
        F: FnOnce(&mut TransactionMut),
    {
        self.edit_growing(pad, user, Some(growth), change).await
    }

    async fn edit_growing<F>(
        &self,
        pad: PadId,
        user: Option<UserId>,
        growth: Option<usize>,
        change: F,
    ) -> Result<Vec<u8>, DocError>
    where
        F: FnOnce(&mut TransactionMut),
    {
        // A full log queue holds the edit back for a while; past that the caller answers 503.
        tokio::time::timeout(QUEUE_WAIT_TIMEOUT, self.persist.wait_for_room())
            .await
            .map_err(|_| DocError::Overloaded)?;
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
        let docs: Vec<Arc<PadDoc>> = self
            .slots()
            .values()
            .filter_map(|s| s.get().cloned())
            .collect();
        for doc in docs {
            let mut state = doc.lock_for_sweep();
            doc.adopt_unconfirmed(&mut state, |live| {
                now.saturating_duration_since(live.since) >= LIVE_CONFIRM_AFTER
            });
            let observed = state
                .observer
                .as_ref()
                .is_some_and(|o| o.strong_count() > 0);
            if state.poisoned {
                drop(state);
                self.forget(doc.pad, &doc);
                continue;
            }
            if state.since_checkpoint > 0
                && now.saturating_duration_since(state.last_checkpoint) >= CHECKPOINT_EVERY
            {
                doc.checkpoint_locked(&mut state);
            }
            if !observed && now.saturating_duration_since(state.last_used) >= idle_after {
                doc.adopt_unconfirmed(&mut state, |_| true);
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
        let docs: Vec<Arc<PadDoc>> = self
            .slots()
            .values()
            .filter_map(|s| s.get().cloned())
            .collect();
        for doc in docs {
            doc.adopt_all_unconfirmed();
            doc.checkpoint_if_dirty();
        }
        self.persist.flush().await;
    }

    /// Wait until everything queued so far is committed.
    pub async fn flush_log(&self) {
        self.persist.flush().await;
    }
}
