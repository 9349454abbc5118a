//! Pad documents and their durability: a loaded `yrs::Doc` per pad, an append-only update log
//! (`doc_updates`) and compacted checkpoints (`doc_checkpoints`). Loading = latest checkpoint +
//! the log after it. The log is kept (playback replays it); checkpoints only bound load time.
//!
//! Every change, from a socket or from REST, goes through `apply_update` or `edit`, so the
//! document, the log and what is broadcast can never disagree.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::Mutex;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, TransactionMut, Update, WriteTxn};

use crate::db::{Db, PadId, UserId};

/// Compact into a checkpoint after this many logged updates.
pub const CHECKPOINT_EVERY_UPDATES: i64 = 500;
const FILE_PREFIX: &str = "file:";

/// The root text name of a file (SPEC §4).
pub fn file_key(name: &str) -> String {
    format!("{FILE_PREFIX}{name}")
}

/// A new document with Yjs-compatible (UTF-16) offsets, so indexes agree with browser clients.
pub fn new_doc() -> Doc {
    Doc::with_options(Options { offset_kind: OffsetKind::Utf16, ..Options::default() })
}

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("the update could not be decoded or applied")]
    BadUpdate,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// One pad's loaded document. The mutex orders edits: log order equals apply order.
pub struct PadDoc {
    pub pad: PadId,
    inner: Mutex<DocState>,
}

struct DocState {
    doc: Doc,
    /// Updates logged since the last checkpoint.
    since_checkpoint: i64,
}

impl PadDoc {
    /// The text of every file in the document, by file name.
    pub async fn file_texts(&self) -> BTreeMap<String, String> {
        let state = self.inner.lock().await;
        let txn = state.doc.transact();
        txn.root_refs()
            .filter_map(|(name, _)| name.strip_prefix(FILE_PREFIX).map(str::to_string))
            .map(|file| {
                let text = txn.get_text(file_key(&file).as_str()).map(|t| t.get_string(&txn)).unwrap_or_default();
                (file, text)
            })
            .collect()
    }

    pub async fn file_text(&self, name: &str) -> String {
        let state = self.inner.lock().await;
        let txn = state.doc.transact();
        txn.get_text(file_key(name).as_str()).map(|t| t.get_string(&txn)).unwrap_or_default()
    }

    /// Encoded state vector (sync step 1 payload).
    pub async fn state_vector(&self) -> Vec<u8> {
        self.inner.lock().await.doc.transact().state_vector().encode_v1()
    }

    /// What a peer with state vector `remote_sv` is missing (sync step 2 payload).
    pub async fn diff_since(&self, remote_sv: &[u8]) -> Result<Vec<u8>, DocError> {
        let sv = StateVector::decode_v1(remote_sv).map_err(|_| DocError::BadUpdate)?;
        Ok(self.inner.lock().await.doc.transact().encode_state_as_update_v1(&sv))
    }

    /// Size of the whole encoded document, for the document size limit.
    pub async fn encoded_len(&self) -> usize {
        self.inner.lock().await.doc.transact().encode_state_as_update_v1(&StateVector::default()).len()
    }
}

#[derive(Clone)]
pub struct DocStore {
    db: Db,
    loaded: Arc<Mutex<HashMap<PadId, Arc<PadDoc>>>>,
}

impl DocStore {
    pub fn new(db: Db) -> Self {
        DocStore { db, loaded: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// The pad's document, loading it from checkpoint + log tail on first use.
    pub async fn open(&self, pad: PadId) -> Result<Arc<PadDoc>, DocError> {
        let mut loaded = self.loaded.lock().await;
        if let Some(doc) = loaded.get(&pad) {
            return Ok(doc.clone());
        }
        let doc = Arc::new(self.load(pad).await?);
        loaded.insert(pad, doc.clone());
        Ok(doc)
    }

    /// Drop a loaded document from memory (it is durable already).
    pub async fn unload(&self, pad: PadId) {
        self.loaded.lock().await.remove(&pad);
    }

    async fn load(&self, pad: PadId) -> Result<PadDoc, DocError> {
        let doc = new_doc();
        let checkpoint: Option<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT upto_update_id, state FROM doc_checkpoints WHERE pad_id = ? ORDER BY upto_update_id DESC LIMIT 1",
        )
        .bind(pad)
        .fetch_optional(self.db.pool())
        .await?;
        let upto = checkpoint.as_ref().map(|(id, _)| *id).unwrap_or(0);
        let tail: Vec<Vec<u8>> =
            sqlx::query_scalar("SELECT update_bytes FROM doc_updates WHERE pad_id = ? AND id > ? ORDER BY id")
                .bind(pad)
                .bind(upto)
                .fetch_all(self.db.pool())
                .await?;
        {
            let mut txn = doc.transact_mut();
            for bytes in checkpoint.iter().map(|(_, s)| s).chain(tail.iter()) {
                // A stored update that no longer decodes would be a bug; skip it rather than lose the pad.
                match Update::decode_v1(bytes) {
                    Ok(update) => {
                        if let Err(err) = txn.apply_update(update) {
                            tracing::error!(%pad, error = %err, "stored update failed to apply");
                        }
                    }
                    Err(err) => tracing::error!(%pad, error = %err, "stored update failed to decode"),
                }
            }
        }
        Ok(PadDoc { pad, inner: Mutex::new(DocState { doc, since_checkpoint: tail.len() as i64 }) })
    }

    /// Apply a client's update, log it, and return it for broadcast. Garbage is refused before it
    /// touches the document.
    pub async fn apply_update(&self, pad: PadId, user: Option<UserId>, update: &[u8]) -> Result<(), DocError> {
        let decoded = Update::decode_v1(update).map_err(|_| DocError::BadUpdate)?;
        let handle = self.open(pad).await?;
        let mut state = handle.inner.lock().await;
        state.doc.transact_mut().apply_update(decoded).map_err(|_| DocError::BadUpdate)?;
        self.log(pad, user, update, &mut state).await
    }

    /// Run a server-side edit (REST file changes, fork, templates) and log it. Returns the update
    /// bytes (empty when nothing changed) so live rooms can broadcast them.
    pub async fn edit<F>(&self, pad: PadId, user: Option<UserId>, change: F) -> Result<Vec<u8>, DocError>
    where
        F: FnOnce(&mut TransactionMut),
    {
        let handle = self.open(pad).await?;
        let mut state = handle.inner.lock().await;
        let update = {
            let mut txn = state.doc.transact_mut();
            change(&mut txn);
            txn.encode_update_v1()
        };
        if is_empty_update(&update) {
            return Ok(Vec::new());
        }
        self.log(pad, user, &update, &mut state).await?;
        Ok(update)
    }

    async fn log(&self, pad: PadId, user: Option<UserId>, update: &[u8], state: &mut DocState) -> Result<(), DocError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO doc_updates (pad_id, user_id, at_ms, update_bytes) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(pad)
        .bind(user)
        .bind(now_ms)
        .bind(update)
        .fetch_one(self.db.pool())
        .await?;
        state.since_checkpoint += 1;
        if state.since_checkpoint >= CHECKPOINT_EVERY_UPDATES {
            self.checkpoint(pad, id, &state.doc).await?;
            state.since_checkpoint = 0;
        }
        Ok(())
    }

    async fn checkpoint(&self, pad: PadId, upto_update_id: i64, doc: &Doc) -> Result<(), DocError> {
        let (full, sv) = {
            let txn = doc.transact();
            (txn.encode_state_as_update_v1(&StateVector::default()), txn.state_vector().encode_v1())
        };
        sqlx::query(
            "INSERT INTO doc_checkpoints (pad_id, upto_update_id, state, state_vector, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(pad)
        .bind(upto_update_id)
        .bind(full)
        .bind(sv)
        .bind(crate::db::now_text())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Persist everything still in memory. Updates are logged synchronously today, so this only
    /// drops the loaded documents; it is the hook shutdown calls.
    pub async fn flush_all(&self) {
        self.loaded.lock().await.clear();
    }
}

/// An update that carries no inserts and no deletes (lib0 v1: two zero varints).
fn is_empty_update(update: &[u8]) -> bool {
    update == [0, 0]
}

/// Replace a text's whole content inside a transaction.
pub fn set_text(txn: &mut TransactionMut, name: &str, content: &str) {
    let text = txn.get_or_insert_text(file_key(name).as_str());
    let len = text.len(txn);
    if len > 0 {
        text.remove_range(txn, 0, len);
    }
    if !content.is_empty() {
        text.insert(txn, 0, content);
    }
}

/// The current content of a file's text inside a transaction.
pub fn get_text(txn: &TransactionMut, name: &str) -> String {
    txn.get_text(file_key(name).as_str()).map(|t| t.get_string(txn)).unwrap_or_default()
}
