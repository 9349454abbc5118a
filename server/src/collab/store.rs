//! The collaboration module's SQL: the document log (`doc_updates`, `doc_checkpoints`), written
//! only through `commit_log` by the writer in `persist.rs` and read back to load a document; the
//! reads pushed to sockets (member and file lists); and each pad's update-log total for the
//! history budget. (Chat has its own store, `chat_store.rs`.) File rows are the pads module's;
//! this only shapes them for the `files.changed` message.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::persist::CHECKPOINT_RETAIN_SPACING;
use crate::cluster::store::{check_fence, fence_condition, Fence, FencedError};
use crate::db::{now_text, on_pool, on_tx, Db, FileId, PadId, UserId, WriteLock, WriteTx};

/// One entry of a `members.changed` message.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MemberEntry {
    pub user_id: UserId,
    pub name: String,
    pub role: String,
}

/// One entry of a `files.changed` message.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub id: FileId,
    pub name: String,
    pub language: String,
}

pub async fn members(db: &Db, pad: PadId) -> sqlx::Result<Vec<MemberEntry>> {
    on_pool!(db, |pool| sqlx::query_as(
        "SELECT m.user_id, u.name, m.role FROM pad_members m JOIN users u ON u.id = m.user_id \
         WHERE m.pad_id = $1 ORDER BY m.joined_at, m.user_id",
    )
    .bind(pad)
    .fetch_all(pool)
    .await)
}

pub async fn files(db: &Db, pad: PadId) -> sqlx::Result<Vec<FileEntry>> {
    let rows = crate::pads::files_store::list(db, pad).await?;
    Ok(rows
        .into_iter()
        .map(|f| FileEntry {
            id: f.id,
            name: f.name,
            language: f.language,
        })
        .collect())
}

/// Bytes of update log the pad has accumulated (`pads.history_bytes`, kept by the log writer).
pub async fn history_bytes(db: &Db, pad: PadId) -> sqlx::Result<u64> {
    let bytes: Option<i64> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT history_bytes FROM pads WHERE id = $1"
    )
    .bind(pad)
    .fetch_optional(pool)
    .await)?;
    Ok(bytes.unwrap_or(0).max(0) as u64)
}

/// One item of a log writer batch.
#[derive(Debug, Clone, Copy)]
pub enum LogWrite<'a> {
    Update {
        pad: PadId,
        user: Option<UserId>,
        at_ms: i64,
        bytes: &'a [u8],
    },
    /// A document that holds exactly the pad's log up to id `held` plus the updates queued before
    /// it in the same writer's batches. Written, covering up to the last of those, only when no
    /// other writer added to the pad's log after `held` before this batch; otherwise it would hold
    /// less than its claim, and it is dropped (playback seeks from checkpoints and needs them
    /// exact).
    Checkpoint {
        pad: PadId,
        held: i64,
        state: &'a [u8],
        state_vector: &'a [u8],
    },
}

/// Where a committed update landed in its pad's log: its id and the id of the pad's update
/// committed just before it (0 for the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPlace {
    pub pad: PadId,
    pub prev: i64,
    pub id: i64,
}

impl LogWrite<'_> {
    fn pad(&self) -> PadId {
        match *self {
            LogWrite::Update { pad, .. } | LogWrite::Checkpoint { pad, .. } => pad,
        }
    }
}

/// Commit a batch of the log writer in one transaction. Rows of a pad deleted meanwhile are
/// skipped (the pad's log went with it), so one deleted pad cannot fail everyone's batch. Each
/// update adds its size to the pad's `history_bytes` in the same transaction. The batch holds
/// each of its pads' `WriteLock::DocLog`, so the pad's newest id read here is the update just
/// before the batch's first, even with several nodes writing. Returns, for each write in order,
/// where the update landed (`None` for checkpoints and skipped rows).
pub async fn commit_log(db: &Db, writes: &[LogWrite<'_>]) -> sqlx::Result<Vec<Option<LogPlace>>> {
    let mut tx = db.write_tx().await?;
    let pads: BTreeSet<PadId> = writes.iter().map(LogWrite::pad).collect();
    let mut newest: HashMap<PadId, i64> = HashMap::new();
    let mut before_batch: HashMap<PadId, i64> = HashMap::new();
    for pad in pads {
        tx.lock(WriteLock::DocLog(pad)).await?;
        let id: i64 = on_tx!(tx, |conn| sqlx::query_scalar(
            "SELECT COALESCE(MAX(id), 0) FROM doc_updates WHERE pad_id = $1"
        )
        .bind(pad)
        .fetch_one(&mut *conn)
        .await)?;
        newest.insert(pad, id);
        before_batch.insert(pad, id);
    }
    let mut history: HashMap<PadId, i64> = HashMap::new();
    let mut places = Vec::new();
    for write in writes {
        match *write {
            LogWrite::Update {
                pad,
                user,
                at_ms,
                bytes,
            } => {
                let id: Option<i64> = on_tx!(tx, |conn| {
                    sqlx::query_scalar(
                    "INSERT INTO doc_updates (pad_id, user_id, at_ms, update_bytes) \
                     SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM pads WHERE id = $1) RETURNING id",
                )
                .bind(pad)
                .bind(user)
                .bind(at_ms)
                .bind(bytes)
                .fetch_optional(&mut *conn)
                .await
                })?;
                places.push(id.map(|id| LogPlace {
                    pad,
                    prev: newest.insert(pad, id).unwrap_or(0),
                    id,
                }));
                *history.entry(pad).or_default() += bytes.len() as i64;
            }
            LogWrite::Checkpoint {
                pad,
                held,
                state,
                state_vector,
            } => {
                // Nothing between `held` and this batch: the log up to here is `held` plus this
                // batch's updates of the pad before the checkpoint, exactly the document.
                let upto = match (before_batch.get(&pad), newest.get(&pad)) {
                    (Some(&start), Some(&reached)) if start == held => reached,
                    _ => {
                        tracing::debug!(%pad, "checkpoint dropped: the log moved on past what the document held");
                        places.push(None);
                        continue;
                    }
                };
                on_tx!(tx, |conn| {
                    sqlx::query(
                    "INSERT INTO doc_checkpoints (pad_id, upto_update_id, state, state_vector, created_at) \
                     SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM pads WHERE id = $1)",
                )
                .bind(pad)
                .bind(upto)
                .bind(state)
                .bind(state_vector)
                .bind(now_text())
                .execute(&mut *conn)
                .await.map(|done| done.rows_affected())
                })?;
                thin_checkpoints(&mut tx, pad).await?;
                places.push(None);
            }
        }
    }
    for (pad, bytes) in history {
        on_tx!(tx, |conn| sqlx::query(
            "UPDATE pads SET history_bytes = history_bytes + $1 WHERE id = $2"
        )
        .bind(bytes)
        .bind(pad)
        .execute(&mut *conn)
        .await
        .map(|done| done.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(places)
}

/// A checkpoint the pad's owner built from the log (`owner_checkpoints`): exactly the pad's log up
/// to `upto`, written only while `fence` is the pad's lease.
pub async fn insert_owner_checkpoint(
    db: &Db,
    fence: Fence,
    upto: i64,
    state: &[u8],
    state_vector: &[u8],
) -> Result<(), FencedError> {
    let pad = fence.pad;
    let sql = format!(
        "INSERT INTO doc_checkpoints (pad_id, upto_update_id, state, state_vector, created_at) \
         SELECT $1, $2, $3, $4, $5 WHERE {}",
        fence_condition("$1", "$6"),
    );
    let mut tx = db.write_tx().await?;
    let written = on_tx!(tx, |conn| sqlx::query(&sql)
        .bind(pad)
        .bind(upto)
        .bind(state)
        .bind(state_vector)
        .bind(now_text())
        .bind(fence.epoch)
        .execute(&mut *conn)
        .await
        .map(|done| done.rows_affected()))?;
    if written == 0 {
        drop(tx);
        return check_fence(db, Some(fence)).await;
    }
    thin_checkpoints(&mut tx, pad).await?;
    tx.commit().await?;
    Ok(())
}

/// Drop the previous newest checkpoint when fewer than `CHECKPOINT_RETAIN_SPACING` of the pad's
/// updates separate it from the one before it: it is then redundant for seeking.
async fn thin_checkpoints(tx: &mut WriteTx, pad: PadId) -> sqlx::Result<()> {
    let newest: Vec<(i64, i64)> = on_tx!(tx, |conn| {
        sqlx::query_as(
        "SELECT id, upto_update_id FROM doc_checkpoints WHERE pad_id = $1 ORDER BY upto_update_id DESC, id DESC LIMIT 3",
    )
    .bind(pad)
    .fetch_all(&mut *conn)
    .await
    })?;
    let [_, (prev_id, prev_upto), (_, older_upto)] = newest[..] else {
        return Ok(());
    };
    let between: i64 = on_tx!(tx, |conn| sqlx::query_scalar(
        "SELECT COUNT(*) FROM doc_updates WHERE pad_id = $1 AND id > $2 AND id <= $3",
    )
    .bind(pad)
    .bind(older_upto)
    .bind(prev_upto)
    .fetch_one(&mut *conn)
    .await)?;
    if between < CHECKPOINT_RETAIN_SPACING {
        on_tx!(tx, |conn| sqlx::query(
            "DELETE FROM doc_checkpoints WHERE id = $1"
        )
        .bind(prev_id)
        .execute(&mut *conn)
        .await
        .map(|done| done.rows_affected()))?;
    }
    Ok(())
}

/// The pad's newest checkpoint as `(upto_update_id, state)`, if any.
pub async fn latest_checkpoint(db: &Db, pad: PadId) -> sqlx::Result<Option<(i64, Vec<u8>)>> {
    on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT upto_update_id, state FROM doc_checkpoints WHERE pad_id = $1 ORDER BY upto_update_id DESC, id DESC LIMIT 1",
    )
    .bind(pad)
    .fetch_optional(pool)
    .await
    })
}

/// At most `limit` of the pad's logged updates after update `after`, in log order, with their ids.
/// The newest update-log id of each pad (`None`: no update logged), for up to a few hundred pads
/// per call (one bound parameter each). Each pad costs one index lookup, however long its log.
pub async fn latest_log_ids(db: &Db, pads: &[PadId]) -> sqlx::Result<Vec<(PadId, Option<i64>)>> {
    if pads.is_empty() {
        return Ok(Vec::new());
    }
    let values = (1..=pads.len())
        .map(|n| format!("(${n})"))
        .collect::<Vec<_>>()
        .join(", ");
    // `column1` is what both SQLite and PostgreSQL name a VALUES list's column.
    let sql = format!(
        "SELECT v.column1, (SELECT MAX(u.id) FROM doc_updates u WHERE u.pad_id = v.column1) \
         FROM (VALUES {values}) AS v"
    );
    on_pool!(db, |pool| {
        let mut query = sqlx::query_as(&sql);
        for pad in pads {
            query = query.bind(*pad);
        }
        query.fetch_all(pool).await
    })
}

pub async fn log_page(
    db: &Db,
    pad: PadId,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<(i64, Vec<u8>)>> {
    on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT id, update_bytes FROM doc_updates WHERE pad_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(pad)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
    })
}
