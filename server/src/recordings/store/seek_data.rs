//! Our own seek data: recording checkpoints and segments, written by the pad's owner (fenced).

use sqlx::FromRow;

use super::fenced;
use crate::cluster::store::{check_fence, Fence, FencedError};
use crate::db::{on_pool, Db, PadId};

/// The newest checkpoint written for this recording (0 when none).
pub async fn newest_recording_checkpoint(db: &Db, pad: PadId, recording: i64) -> sqlx::Result<i64> {
    let upto: Option<i64> = on_pool!(db, |pool| {
        sqlx::query_scalar(
        "SELECT MAX(upto_update_id) FROM recording_checkpoints WHERE pad_id = $1 AND recording_id = $2",
    )
    .bind(pad)
    .bind(recording)
    .fetch_one(pool)
    .await
    })?;
    Ok(upto.unwrap_or(0))
}

/// The id of the pad's first update after `after`.
pub async fn next_update_after(db: &Db, pad: PadId, after: i64) -> sqlx::Result<Option<i64>> {
    nth_update_after(db, pad, after, 1).await
}

/// The id of the `n`-th update after `after` (1-based), if the log has that many.
pub async fn nth_update_after(
    db: &Db,
    pad: PadId,
    after: i64,
    n: i64,
) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM doc_updates WHERE pad_id = $1 AND id > $2 ORDER BY id LIMIT 1 OFFSET $3"
    )
    .bind(pad)
    .bind(after)
    .bind(n - 1)
    .fetch_optional(pool)
    .await)
}

/// Store a checkpoint for `recording`; skipped when the recording was deleted meanwhile, refused
/// (`Stale`) when `fence` is no longer the pad's lease.
pub async fn insert_recording_checkpoint(
    db: &Db,
    fence: Option<Fence>,
    pad: PadId,
    recording: i64,
    upto: i64,
    state: &[u8],
) -> Result<(), FencedError> {
    let sql = format!(
        "INSERT INTO recording_checkpoints (pad_id, recording_id, upto_update_id, state) \
         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM recordings WHERE id = $2 AND pad_id = $1){}",
        fenced(fence, "$5"),
    );
    let epoch = fence.map(|f| f.epoch);
    let written = on_pool!(db, |pool| {
        let query = sqlx::query(&sql)
            .bind(pad)
            .bind(recording)
            .bind(upto)
            .bind(state);
        let query = match epoch {
            Some(epoch) => query.bind(epoch),
            None => query,
        };
        query.execute(pool).await.map(|done| done.rows_affected())
    })?;
    if written == 0 {
        check_fence(db, fence).await?;
    }
    Ok(())
}

/// One merged run of the log: the pad's updates with id in `(after, upto]`, as one Yjs v2 update.
#[derive(Debug, Clone, FromRow)]
pub struct Segment {
    pub after: i64,
    pub upto: i64,
    pub updates: Vec<u8>,
}

/// The newest segment written for this recording (its `upto`), if any.
pub async fn newest_segment(db: &Db, pad: PadId, recording: i64) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| {
        sqlx::query_scalar("SELECT MAX(upto_update_id) FROM recording_segments WHERE pad_id = $1 AND recording_id = $2")
        .bind(pad)
        .bind(recording)
        .fetch_one(pool)
        .await
    })
}

/// Store a segment for `recording`; skipped when the recording was deleted meanwhile, refused
/// (`Stale`) when `fence` is no longer the pad's lease.
pub async fn insert_segment(
    db: &Db,
    fence: Option<Fence>,
    pad: PadId,
    recording: i64,
    after: i64,
    upto: i64,
    updates: &[u8],
) -> Result<(), FencedError> {
    let sql = format!(
        "INSERT INTO recording_segments (pad_id, recording_id, after_update_id, upto_update_id, updates) \
         SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM recordings WHERE id = $2 AND pad_id = $1){}",
        fenced(fence, "$6"),
    );
    let epoch = fence.map(|f| f.epoch);
    let written = on_pool!(db, |pool| {
        let query = sqlx::query(&sql)
            .bind(pad)
            .bind(recording)
            .bind(after)
            .bind(upto)
            .bind(updates);
        let query = match epoch {
            Some(epoch) => query.bind(epoch),
            None => query,
        };
        query.execute(pool).await.map(|done| done.rows_affected())
    })?;
    if written == 0 {
        check_fence(db, fence).await?;
    }
    Ok(())
}

/// Segments ending in `(after, upto]` whose last update was logged at or before `at_most_ms`, in
/// log order.
pub async fn segments_between(
    db: &Db,
    pad: PadId,
    after: i64,
    upto: Option<i64>,
    at_most_ms: Option<i64>,
) -> sqlx::Result<Vec<Segment>> {
    on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT s.after_update_id AS after, s.upto_update_id AS upto, s.updates FROM recording_segments s \
         JOIN doc_updates u ON u.id = s.upto_update_id \
         WHERE s.pad_id = $1 AND s.upto_update_id > $2 AND s.upto_update_id <= $3 AND u.at_ms <= $4 \
         ORDER BY s.upto_update_id",
    )
    .bind(pad)
    .bind(after)
    .bind(upto.unwrap_or(i64::MAX))
    .bind(at_most_ms.unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
    })
}

/// The bytes `segments_between` would return, without reading them.
pub async fn segment_bytes_between(
    db: &Db,
    pad: PadId,
    after: i64,
    upto: Option<i64>,
    at_most_ms: Option<i64>,
) -> sqlx::Result<u64> {
    let bytes: i64 = on_pool!(db, |pool| {
        sqlx::query_scalar(
        "SELECT COALESCE(SUM(length(s.updates)), 0) FROM recording_segments s \
         JOIN doc_updates u ON u.id = s.upto_update_id \
         WHERE s.pad_id = $1 AND s.upto_update_id > $2 AND s.upto_update_id <= $3 AND u.at_ms <= $4",
    )
    .bind(pad)
    .bind(after)
    .bind(upto.unwrap_or(i64::MAX))
    .bind(at_most_ms.unwrap_or(i64::MAX))
    .fetch_one(pool)
    .await
    })?;
    Ok(bytes.max(0) as u64)
}

/// The end of the first segment ending after update `after` whose last update was logged after
/// `t_ms`: it bounds a scan of the single updates of `t_ms` (the log's times do not decrease along
/// its ids). A segment ending at or before `t_ms` is no bound even when it was not chained (it was
/// written while the seek read, or lies past a gap): the updates after it are still `t_ms`'s.
pub async fn next_segment_end(
    db: &Db,
    pad: PadId,
    after: i64,
    t_ms: i64,
) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| {
        sqlx::query_scalar(
        "SELECT s.upto_update_id FROM recording_segments s JOIN doc_updates u ON u.id = s.upto_update_id \
         WHERE s.pad_id = $1 AND s.upto_update_id > $2 AND u.at_ms > $3 ORDER BY s.upto_update_id LIMIT 1",
    )
    .bind(pad)
    .bind(after)
    .bind(t_ms)
    .fetch_optional(pool)
    .await
    })
}
