//! The document log, read for seeking (the collaboration engine writes it; this only reads).

use sqlx::FromRow;

use crate::db::{on_pool, Db, PadId, UserId};

/// A seek base: the document state after the pad's update `upto` (0: the empty document).
#[derive(Debug, Clone, Default)]
pub struct SeekBase {
    pub upto: i64,
    /// The engine's checkpoints are Yjs v1 updates; ours are v2 (`v2` set), which is about a
    /// third of the size for a document typed with many cursor moves and deletions.
    pub state: Option<Vec<u8>>,
    pub v2: bool,
    /// The upto of the first checkpoint after this one whose update was logged after the instant
    /// sought (none for a seek by update), bounding the updates to scan: the log's times do not
    /// decrease along its ids, so no update of the instant lies past it. A checkpoint written
    /// while the seek reads (logged at or before the instant, yet not the base) is no bound: the
    /// updates after it are still the instant's.
    pub next_upto: Option<i64>,
}

/// The nearest checkpoint (the engine's or ours) whose update was logged at or before `t_ms`.
pub async fn checkpoint_at_or_before_time(
    db: &Db,
    pad: PadId,
    t_ms: i64,
) -> sqlx::Result<SeekBase> {
    // Each source is scanned newest-first through its (pad_id, upto) index and stops at the first
    // checkpoint old enough; the checkpoint's time is its update's `at_ms` (a rowid lookup).
    let row: Option<(i64, Vec<u8>, bool)> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT upto, state, v2 FROM ( \
            SELECT * FROM (SELECT c.upto_update_id AS upto, c.state, FALSE AS v2 FROM doc_checkpoints c \
                JOIN doc_updates u ON u.id = c.upto_update_id \
                WHERE c.pad_id = $1 AND u.at_ms <= $2 ORDER BY c.upto_update_id DESC LIMIT 1) AS engine \
            UNION ALL \
            SELECT * FROM (SELECT c.upto_update_id AS upto, c.state, TRUE AS v2 FROM recording_checkpoints c \
                JOIN doc_updates u ON u.id = c.upto_update_id \
                WHERE c.pad_id = $1 AND u.at_ms <= $2 ORDER BY c.upto_update_id DESC LIMIT 1) AS ours) AS bases \
         ORDER BY upto DESC, v2 DESC LIMIT 1",
    )
    .bind(pad)
    .bind(t_ms)
    .fetch_optional(pool)
    .await
    })?;
    let (upto, state, v2) = match row {
        Some((upto, state, v2)) => (upto, Some(state), v2),
        None => (0, None, false),
    };
    let next_upto = next_checkpoint_logged_after(db, pad, upto, t_ms).await?;
    Ok(SeekBase {
        upto,
        state,
        v2,
        next_upto,
    })
}

/// The nearest checkpoint (the engine's or ours) at or before update `upto_id`.
pub async fn checkpoint_at_or_before_update(
    db: &Db,
    pad: PadId,
    upto_id: i64,
) -> sqlx::Result<SeekBase> {
    let row: Option<(i64, Vec<u8>, bool)> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT upto, state, v2 FROM ( \
            SELECT * FROM (SELECT upto_update_id AS upto, state, FALSE AS v2 FROM doc_checkpoints \
                WHERE pad_id = $1 AND upto_update_id <= $2 ORDER BY upto_update_id DESC LIMIT 1) AS engine \
            UNION ALL \
            SELECT * FROM (SELECT upto_update_id AS upto, state, TRUE AS v2 FROM recording_checkpoints \
                WHERE pad_id = $1 AND upto_update_id <= $2 ORDER BY upto_update_id DESC LIMIT 1) AS ours) AS bases \
         ORDER BY upto DESC, v2 DESC LIMIT 1",
    )
    .bind(pad)
    .bind(upto_id)
    .fetch_optional(pool)
    .await
    })?;
    Ok(match row {
        Some((upto, state, v2)) => SeekBase {
            upto,
            state: Some(state),
            v2,
            next_upto: None,
        },
        None => SeekBase::default(),
    })
}

/// The first checkpoint after update `upto` whose update was logged after `t_ms` (see
/// `SeekBase::next_upto`).
async fn next_checkpoint_logged_after(
    db: &Db,
    pad: PadId,
    upto: i64,
    t_ms: i64,
) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT MIN(upto) FROM ( \
            SELECT (SELECT c.upto_update_id FROM doc_checkpoints c \
                    JOIN doc_updates u ON u.id = c.upto_update_id \
                    WHERE c.pad_id = $1 AND c.upto_update_id > $2 AND u.at_ms > $3 \
                    ORDER BY c.upto_update_id LIMIT 1) AS upto \
            UNION ALL \
            SELECT (SELECT c.upto_update_id FROM recording_checkpoints c \
                    JOIN doc_updates u ON u.id = c.upto_update_id \
                    WHERE c.pad_id = $1 AND c.upto_update_id > $2 AND u.at_ms > $3 \
                    ORDER BY c.upto_update_id LIMIT 1)) AS nexts",
        )
        .bind(pad)
        .bind(upto)
        .bind(t_ms)
        .fetch_one(pool)
        .await
    })
}

/// The update bytes with id in `(after, upto]` (no upper bound with `None`) and logged at or
/// before `at_most_ms`, in log order.
pub async fn updates_between(
    db: &Db,
    pad: PadId,
    after: i64,
    upto: Option<i64>,
    at_most_ms: Option<i64>,
) -> sqlx::Result<Vec<Vec<u8>>> {
    on_pool!(db, |pool| {
        sqlx::query_scalar(
        "SELECT update_bytes FROM doc_updates WHERE pad_id = $1 AND id > $2 AND id <= $3 AND at_ms <= $4 ORDER BY id",
    )
    .bind(pad)
    .bind(after)
    .bind(upto.unwrap_or(i64::MAX))
    .bind(at_most_ms.unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
    })
}

/// The bytes `updates_between` would return, without reading them.
pub async fn update_bytes_between(
    db: &Db,
    pad: PadId,
    after: i64,
    upto: Option<i64>,
    at_most_ms: Option<i64>,
) -> sqlx::Result<u64> {
    let bytes: i64 = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COALESCE(SUM(length(update_bytes)), 0) FROM doc_updates \
         WHERE pad_id = $1 AND id > $2 AND id <= $3 AND at_ms <= $4",
    )
    .bind(pad)
    .bind(after)
    .bind(upto.unwrap_or(i64::MAX))
    .bind(at_most_ms.unwrap_or(i64::MAX))
    .fetch_one(pool)
    .await)?;
    Ok(bytes.max(0) as u64)
}

/// One update of the log with its id and time.
#[derive(Debug, Clone, FromRow)]
pub struct LoggedUpdate {
    pub id: i64,
    pub at_ms: i64,
    pub update_bytes: Vec<u8>,
}

/// The pad's updates after `after` logged at or before `at_most_ms`, in log order (a recording's
/// history in memory reads its log with this; see `recordings::history`).
pub async fn logged_updates_after(
    db: &Db,
    pad: PadId,
    after: i64,
    at_most_ms: i64,
) -> sqlx::Result<Vec<LoggedUpdate>> {
    on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT id, at_ms, update_bytes FROM doc_updates WHERE pad_id = $1 AND id > $2 AND at_ms <= $3 ORDER BY id",
    )
    .bind(pad)
    .bind(after)
    .bind(at_most_ms)
    .fetch_all(pool)
    .await
    })
}

/// The bytes and the number of the updates `logged_updates_after` would return, without reading
/// them.
pub async fn update_bytes_and_count_after(
    db: &Db,
    pad: PadId,
    after: i64,
    at_most_ms: i64,
) -> sqlx::Result<(u64, u64)> {
    let (bytes, count): (i64, i64) = on_pool!(db, |pool| sqlx::query_as(
        "SELECT COALESCE(SUM(length(update_bytes)), 0), COUNT(*) FROM doc_updates \
         WHERE pad_id = $1 AND id > $2 AND at_ms <= $3",
    )
    .bind(pad)
    .bind(after)
    .bind(at_most_ms)
    .fetch_one(pool)
    .await)?;
    Ok((bytes.max(0) as u64, count.max(0) as u64))
}

/// The last update id logged at or before `t_ms`, or 0 when there is none. Scans only the
/// checkpoint bracket of `t_ms` (see the module docs).
pub async fn last_update_at_or_before(db: &Db, pad: PadId, t_ms: i64) -> sqlx::Result<i64> {
    let base = checkpoint_at_or_before_time(db, pad, t_ms).await?;
    let last: Option<i64> = on_pool!(db, |pool| {
        sqlx::query_scalar(
        "SELECT MAX(id) FROM doc_updates WHERE pad_id = $1 AND id > $2 AND id <= $3 AND at_ms <= $4",
    )
    .bind(pad)
    .bind(base.upto)
    .bind(base.next_upto.unwrap_or(i64::MAX))
    .bind(t_ms)
    .fetch_one(pool)
    .await
    })?;
    Ok(last.unwrap_or(base.upto))
}

/// One edit of the timeline.
#[derive(Debug, Clone, FromRow)]
pub struct EditRow {
    pub id: i64,
    pub at_ms: i64,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub update_bytes: Vec<u8>,
}

/// Up to `limit` edits with id in `(after, upto]`, logged within `[from_ms, to_ms]`, in log order.
pub async fn edits_page(
    db: &Db,
    pad: PadId,
    after: i64,
    upto: i64,
    from_ms: i64,
    to_ms: i64,
    limit: i64,
) -> sqlx::Result<Vec<EditRow>> {
    on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT d.id, d.at_ms, d.user_id, u.name AS user_name, d.update_bytes FROM doc_updates d \
         LEFT JOIN users u ON u.id = d.user_id \
         WHERE d.pad_id = $1 AND d.id > $2 AND d.id <= $3 AND d.at_ms BETWEEN $4 AND $5 ORDER BY d.id LIMIT $6",
    )
    .bind(pad)
    .bind(after)
    .bind(upto)
    .bind(from_ms)
    .bind(to_ms)
    .bind(limit)
    .fetch_all(pool)
    .await
    })
}
