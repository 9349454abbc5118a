//! Durability of pad documents (SPEC §4): the group-commit writer of the update log
//! (`doc_updates`) and of checkpoints (`doc_checkpoints`).
//!
//! One writer task per server owns every write to those tables. Documents hand it work in the
//! order they applied it (under each document's lock), so the log's order is the apply order,
//! which is also the order clients were sent the updates. The writer commits everything that
//! arrived within `GROUP_COMMIT_WINDOW` of the first pending item in one transaction, so an
//! accepted update is durable no later than ~`GROUP_COMMIT_WINDOW` + one commit after receipt
//! (the SPEC asks for 100 ms). A checkpoint queued behind updates folds exactly those updates:
//! its `upto_update_id` is the pad's highest log id at that point of the queue.
//!
//! Must not: apply anything to a document, or be bypassed (a row written elsewhere could land
//! between a checkpoint and the updates it claims to fold).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::db::{now_text, Db, PadId, UserId};

/// How long the writer waits for more work after the first pending item before committing.
pub const GROUP_COMMIT_WINDOW: Duration = Duration::from_millis(40);
/// Most items in one transaction (a busy server commits more often instead).
pub const MAX_BATCH: usize = 2_000;
/// Items queued but not yet committed before new document updates are refused as overload.
pub const MAX_PENDING_WRITES: usize = 200_000;
/// Older checkpoints are thinned to about one per this many of the pad's updates (the newest is
/// always kept, so loading never replays more than `CHECKPOINT_EVERY_UPDATES`). Playback seeks
/// from recordings' own segments, so old full checkpoints only bound the scan of unrecorded
/// history; keeping few of them holds storage per keystroke down (the original stored the whole
/// document every few seconds, reference §12.22).
pub const CHECKPOINT_RETAIN_SPACING: i64 = 20_000;
/// Attempts at committing one batch before it is given up (and logged as lost).
const COMMIT_ATTEMPTS: u32 = 5;

enum WriteOp {
    Update { pad: PadId, user: Option<UserId>, at_ms: i64, bytes: Bytes },
    Checkpoint { pad: PadId, state: Vec<u8>, state_vector: Vec<u8> },
    Flush(oneshot::Sender<()>),
}

/// Handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct Persist {
    tx: mpsc::UnboundedSender<WriteOp>,
    pending: Arc<AtomicUsize>,
}

impl Persist {
    /// Start the writer task. It runs until every handle is dropped; `flush` is the shutdown hook.
    pub fn start(db: Db) -> Persist {
        let (tx, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        tokio::spawn(run_writer(db, rx, pending.clone()));
        Persist { tx, pending }
    }

    /// Items waiting to be committed.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Whether the writer is too far behind to accept more document updates.
    pub fn overloaded(&self) -> bool {
        self.pending() >= MAX_PENDING_WRITES
    }

    /// Queue an update for the log. Never blocks; the caller holds the document's lock.
    pub fn append(&self, pad: PadId, user: Option<UserId>, bytes: Bytes) {
        let at_ms = chrono::Utc::now().timestamp_millis();
        self.send(WriteOp::Update { pad, user, at_ms, bytes });
    }

    /// Queue a checkpoint of the document as it is after every update queued so far for `pad`.
    pub fn checkpoint(&self, pad: PadId, state: Vec<u8>, state_vector: Vec<u8>) {
        self.send(WriteOp::Checkpoint { pad, state, state_vector });
    }

    /// Wait until everything queued before this call is committed (or given up).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(WriteOp::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    fn send(&self, op: WriteOp) {
        self.pending.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(op).is_err() {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            tracing::error!("document writer is gone; an update was not persisted");
        }
    }
}

async fn run_writer(db: Db, mut rx: mpsc::UnboundedReceiver<WriteOp>, pending: Arc<AtomicUsize>) {
    let mut batch: Vec<WriteOp> = Vec::new();
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + GROUP_COMMIT_WINDOW;
        let mut flush_now = matches!(first, WriteOp::Flush(_));
        batch.push(first);
        while !flush_now && batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(op)) => {
                    flush_now = matches!(op, WriteOp::Flush(_));
                    batch.push(op);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let mut waiters = Vec::new();
        let mut writes = Vec::with_capacity(batch.len());
        for op in batch.drain(..) {
            match op {
                WriteOp::Flush(done) => waiters.push(done),
                other => writes.push(other),
            }
        }
        if !writes.is_empty() {
            commit_with_retry(&db, &writes).await;
            pending.fetch_sub(writes.len(), Ordering::Relaxed);
        }
        for done in waiters {
            let _ = done.send(());
        }
    }
}

async fn commit_with_retry(db: &Db, writes: &[WriteOp]) {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=COMMIT_ATTEMPTS {
        match commit(db, writes).await {
            Ok(()) => return,
            Err(err) if attempt < COMMIT_ATTEMPTS => {
                tracing::warn!(error = %err, attempt, "document log commit failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(err) => {
                tracing::error!(error = %err, items = writes.len(), "document log commit failed; batch lost");
            }
        }
    }
}

/// One transaction for the whole batch. Rows of a pad deleted meanwhile are skipped (the pad's
/// log went with it), so one deleted pad cannot fail everyone's batch.
async fn commit(db: &Db, writes: &[WriteOp]) -> sqlx::Result<()> {
    let mut tx = db.pool().begin_with("BEGIN IMMEDIATE").await?;
    for op in writes {
        match op {
            WriteOp::Update { pad, user, at_ms, bytes } => {
                sqlx::query(
                    "INSERT INTO doc_updates (pad_id, user_id, at_ms, update_bytes) \
                     SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM pads WHERE id = ?1)",
                )
                .bind(pad)
                .bind(user)
                .bind(at_ms)
                .bind(bytes.as_ref())
                .execute(&mut *tx)
                .await?;
            }
            WriteOp::Checkpoint { pad, state, state_vector } => {
                sqlx::query(
                    "INSERT INTO doc_checkpoints (pad_id, upto_update_id, state, state_vector, created_at) \
                     SELECT ?1, COALESCE((SELECT MAX(id) FROM doc_updates WHERE pad_id = ?1), 0), ?2, ?3, ?4 \
                     WHERE EXISTS (SELECT 1 FROM pads WHERE id = ?1)",
                )
                .bind(pad)
                .bind(state)
                .bind(state_vector)
                .bind(now_text())
                .execute(&mut *tx)
                .await?;
                thin_checkpoints(&mut tx, *pad).await?;
            }
            WriteOp::Flush(_) => {}
        }
    }
    tx.commit().await
}

/// Drop the previous newest checkpoint when fewer than `CHECKPOINT_RETAIN_SPACING` of the pad's
/// updates separate it from the one before it: it is then redundant for seeking.
async fn thin_checkpoints(tx: &mut sqlx::SqliteConnection, pad: PadId) -> sqlx::Result<()> {
    let newest: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, upto_update_id FROM doc_checkpoints WHERE pad_id = ? ORDER BY upto_update_id DESC, id DESC LIMIT 3",
    )
    .bind(pad)
    .fetch_all(&mut *tx)
    .await?;
    let [_, (prev_id, prev_upto), (_, older_upto)] = newest[..] else {
        return Ok(());
    };
    let between: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM doc_updates WHERE pad_id = ? AND id > ? AND id <= ?")
        .bind(pad)
        .bind(older_upto)
        .bind(prev_upto)
        .fetch_one(&mut *tx)
        .await?;
    if between < CHECKPOINT_RETAIN_SPACING {
        sqlx::query("DELETE FROM doc_checkpoints WHERE id = ?").bind(prev_id).execute(&mut *tx).await?;
    }
    Ok(())
}
