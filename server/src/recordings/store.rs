//! Every SQL statement of the recordings module (SPEC §7): recording rows and settings, the
//! `pad_events` log, seek checkpoints, and the reads of the other event sources (`doc_updates`,
//! `chat_messages`, `runs`) that playback needs. Every query is scoped by pad.
//!
//! Time and the update log: `doc_updates.at_ms` is stamped under the document's lock in apply
//! order, so within one pad it does not decrease as `id` grows (short of the wall clock stepping
//! back). The log has no index on `at_ms`; storage per keystroke matters more. Instead, time is
//! found through the checkpoints: the newest checkpoint whose update is at or before `t` and the
//! one after it bracket every update of that instant, and only that bracket is scanned.
//!
//! Must not: write `doc_updates` or `doc_checkpoints` (the collaboration engine owns them).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::FromRow;

use crate::cluster::store::{check_fence, fence_condition, Fence, FencedError};
use crate::db::{on_pool, Backend, Db, PadId, UserId};

/// One recording row, with its creator's current name.
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct Recording {
    pub id: i64,
    pub pad_id: PadId,
    pub name: String,
    pub created_by: Option<UserId>,
    pub created_by_name: Option<String>,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub auto_started: bool,
    pub stopped_by: Option<UserId>,
    pub stop_reason: Option<String>,
}

const RECORDING_COLUMNS: &str = "r.id, r.pad_id, r.name, r.created_by, u.name AS created_by_name, r.started_at_ms, \
     r.ended_at_ms, r.auto_started, r.stopped_by, r.stop_reason";

/// Insert an active recording. A pad that already has one fails with a unique violation
/// (`recordings_one_active`), which the caller turns into 409.
pub async fn insert_recording(
    db: &Db,
    pad: PadId,
    name: &str,
    created_by: Option<UserId>,
    started_at_ms: i64,
    auto_started: bool,
) -> sqlx::Result<i64> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "INSERT INTO recordings (pad_id, name, created_by, started_at_ms, auto_started) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(pad)
    .bind(name)
    .bind(created_by)
    .bind(started_at_ms)
    .bind(auto_started)
    .fetch_one(pool)
    .await)
}

pub async fn find_recording(db: &Db, pad: PadId, id: i64) -> sqlx::Result<Option<Recording>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {RECORDING_COLUMNS} FROM recordings r LEFT JOIN users u ON u.id = r.created_by WHERE r.pad_id = $1 AND r.id = $2"
    ))
    .bind(pad)
    .bind(id)
    .fetch_optional(pool)
    .await)
}

pub async fn active_recording(db: &Db, pad: PadId) -> sqlx::Result<Option<Recording>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {RECORDING_COLUMNS} FROM recordings r LEFT JOIN users u ON u.id = r.created_by \
         WHERE r.pad_id = $1 AND r.ended_at_ms IS NULL"
    ))
    .bind(pad)
    .fetch_optional(pool)
    .await)
}

/// The pad's recordings, newest first.
pub async fn list_recordings(db: &Db, pad: PadId) -> sqlx::Result<Vec<Recording>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {RECORDING_COLUMNS} FROM recordings r LEFT JOIN users u ON u.id = r.created_by \
         WHERE r.pad_id = $1 ORDER BY r.started_at_ms DESC, r.id DESC"
    ))
    .bind(pad)
    .fetch_all(pool)
    .await)
}

/// Every active recording of every pad (seek checkpoints are written for these).
pub async fn all_active_recordings(db: &Db) -> sqlx::Result<Vec<Recording>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {RECORDING_COLUMNS} FROM recordings r LEFT JOIN users u ON u.id = r.created_by WHERE r.ended_at_ms IS NULL"
    ))
    .fetch_all(pool)
    .await)
}

/// End the recording if it is still active; `None` when it was already ended (or is unknown).
/// The row is the only truth about a recording's state: nothing in memory can reopen or re-end it
/// (the original's manual stop left an in-memory recording alive, reference §12.21).
pub async fn end_recording(
    db: &Db,
    pad: PadId,
    id: i64,
    ended_at_ms: i64,
    stopped_by: Option<UserId>,
    reason: &str,
) -> sqlx::Result<bool> {
    let done = on_pool!(db, |pool| sqlx::query(
        "UPDATE recordings SET ended_at_ms = CASE WHEN $1 > started_at_ms THEN $1 ELSE started_at_ms END, \
         stopped_by = $2, stop_reason = $3 \
         WHERE pad_id = $4 AND id = $5 AND ended_at_ms IS NULL",
    )
    .bind(ended_at_ms)
    .bind(stopped_by)
    .bind(reason)
    .bind(pad)
    .bind(id)
    .execute(pool)
    .await.map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Delete the window (never the log). `false` when there was no such recording.
pub async fn delete_recording(db: &Db, pad: PadId, id: i64) -> sqlx::Result<bool> {
    let done = on_pool!(db, |pool| sqlx::query("DELETE FROM recordings WHERE pad_id = $1 AND id = $2").bind(pad).bind(id).execute(pool).await.map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

pub async fn auto_record(db: &Db, pad: PadId) -> sqlx::Result<bool> {
    let on: Option<bool> = on_pool!(db, |pool| sqlx::query_scalar("SELECT auto_record FROM recording_settings WHERE pad_id = $1")
        .bind(pad)
        .fetch_optional(pool)
        .await)?;
    Ok(on.unwrap_or(false))
}

pub async fn set_auto_record(db: &Db, pad: PadId, on: bool) -> sqlx::Result<()> {
    on_pool!(db, |pool| sqlx::query(
        "INSERT INTO recording_settings (pad_id, auto_record) VALUES ($1, $2) \
         ON CONFLICT (pad_id) DO UPDATE SET auto_record = excluded.auto_record",
    )
    .bind(pad)
    .bind(on)
    .execute(pool)
    .await.map(|done| done.rows_affected()))?;
    Ok(())
}

/// The time of the pad's newest logged event of any kind, if any (closing recordings left open
/// by a crash ends them there).
pub async fn last_activity_ms(db: &Db, pad: PadId) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT MAX(t) FROM ( \
            SELECT (SELECT at_ms FROM doc_updates WHERE pad_id = $1 ORDER BY id DESC LIMIT 1) AS t \
            UNION ALL SELECT MAX(at_ms) FROM pad_events WHERE pad_id = $1 \
            UNION ALL SELECT MAX(finished_at_ms) FROM runs WHERE pad_id = $1) AS latest",
    )
    .bind(pad)
    .fetch_one(pool)
    .await)
}

// ---------------------------------------------------------------------------------------------
// pad_events: joins, leaves, file list changes, terminal output (later), …

/// Append one event to the pad's log; with a `fence`, only while it is the pad's lease (`Stale`
/// otherwise: what only the pad's owner logs, like its terminal's output).
pub async fn insert_pad_event(
    db: &Db,
    fence: Option<Fence>,
    pad: PadId,
    at_ms: i64,
    kind: &str,
    user: Option<UserId>,
    data: &Value,
) -> Result<i64, FencedError> {
    let sql = format!(
        "INSERT INTO pad_events (pad_id, at_ms, kind, user_id, data) \
         SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM pads WHERE id = $1){} RETURNING id",
        fenced(fence, "$6"),
    );
    let epoch = fence.map(|f| f.epoch);
    let id: Option<i64> = on_pool!(db, |pool| {
        let query = sqlx::query_scalar(&sql).bind(pad).bind(at_ms).bind(kind).bind(user).bind(data.to_string());
        let query = match epoch {
            Some(epoch) => query.bind(epoch),
            None => query,
        };
        query.fetch_optional(pool).await
    })?;
    if id.is_none() {
        check_fence(db, fence).await?;
    }
    Ok(id.unwrap_or(0))
}

/// The `data` of the newest event of `kind` at or before `at_ms`.
pub async fn latest_pad_event(db: &Db, pad: PadId, kind: &str, at_ms: i64) -> sqlx::Result<Option<Value>> {
    let data: Option<String> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT data FROM pad_events WHERE pad_id = $1 AND at_ms <= $2 AND kind = $3 ORDER BY at_ms DESC, id DESC LIMIT 1",
    )
    .bind(pad)
    .bind(at_ms)
    .bind(kind)
    .fetch_optional(pool)
    .await)?;
    Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
}

/// The data of the pad's `kind` events in `(after_ms, upto_ms]`, oldest first.
pub async fn pad_events_between(db: &Db, pad: PadId, kind: &str, after_ms: i64, upto_ms: i64) -> sqlx::Result<Vec<(i64, Value)>> {
    let rows: Vec<(i64, String)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT at_ms, data FROM pad_events WHERE pad_id = $1 AND kind = $2 AND at_ms > $3 AND at_ms <= $4 ORDER BY at_ms, id",
    )
    .bind(pad)
    .bind(kind)
    .bind(after_ms)
    .bind(upto_ms)
    .fetch_all(pool)
    .await)?;
    Ok(rows.into_iter().filter_map(|(at, data)| serde_json::from_str(&data).ok().map(|d| (at, d))).collect())
}

// ---------------------------------------------------------------------------------------------
// The document log, read for seeking.

/// A seek base: the document state after the pad's update `upto` (0: the empty document).
#[derive(Debug, Clone, Default)]
pub struct SeekBase {
    pub upto: i64,
    /// The engine's checkpoints are Yjs v1 updates; ours are v2 (`v2` set), which is about a
    /// third of the size for a document typed with many cursor moves and deletions.
    pub state: Option<Vec<u8>>,
    pub v2: bool,
    /// The upto of the next checkpoint after this one, bounding the updates to scan.
    pub next_upto: Option<i64>,
}

/// The nearest checkpoint (the engine's or ours) whose update was logged at or before `t_ms`.
pub async fn checkpoint_at_or_before_time(db: &Db, pad: PadId, t_ms: i64) -> sqlx::Result<SeekBase> {
    // Each source is scanned newest-first through its (pad_id, upto) index and stops at the first
    // checkpoint old enough; the checkpoint's time is its update's `at_ms` (a rowid lookup).
    let row: Option<(i64, Vec<u8>, bool)> = on_pool!(db, |pool| sqlx::query_as(
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
    .await)?;
    let (upto, state, v2) = match row {
        Some((upto, state, v2)) => (upto, Some(state), v2),
        None => (0, None, false),
    };
    let next_upto = next_checkpoint_after(db, pad, upto).await?;
    Ok(SeekBase { upto, state, v2, next_upto })
}

/// The nearest checkpoint (the engine's or ours) at or before update `upto_id`.
pub async fn checkpoint_at_or_before_update(db: &Db, pad: PadId, upto_id: i64) -> sqlx::Result<SeekBase> {
    let row: Option<(i64, Vec<u8>, bool)> = on_pool!(db, |pool| sqlx::query_as(
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
    .await)?;
    Ok(match row {
        Some((upto, state, v2)) => SeekBase { upto, state: Some(state), v2, next_upto: None },
        None => SeekBase::default(),
    })
}

async fn next_checkpoint_after(db: &Db, pad: PadId, upto: i64) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT MIN(upto) FROM ( \
            SELECT (SELECT upto_update_id FROM doc_checkpoints WHERE pad_id = $1 AND upto_update_id > $2 \
                    ORDER BY upto_update_id LIMIT 1) AS upto \
            UNION ALL \
            SELECT (SELECT upto_update_id FROM recording_checkpoints WHERE pad_id = $1 AND upto_update_id > $2 \
                    ORDER BY upto_update_id LIMIT 1)) AS nexts",
    )
    .bind(pad)
    .bind(upto)
    .fetch_one(pool)
    .await)
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
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT update_bytes FROM doc_updates WHERE pad_id = $1 AND id > $2 AND id <= $3 AND at_ms <= $4 ORDER BY id",
    )
    .bind(pad)
    .bind(after)
    .bind(upto.unwrap_or(i64::MAX))
    .bind(at_most_ms.unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await)
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

/// The last update id logged at or before `t_ms`, or 0 when there is none. Scans only the
/// checkpoint bracket of `t_ms` (see the module docs).
pub async fn last_update_at_or_before(db: &Db, pad: PadId, t_ms: i64) -> sqlx::Result<i64> {
    let base = checkpoint_at_or_before_time(db, pad, t_ms).await?;
    let last: Option<i64> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT MAX(id) FROM doc_updates WHERE pad_id = $1 AND id > $2 AND id <= $3 AND at_ms <= $4",
    )
    .bind(pad)
    .bind(base.upto)
    .bind(base.next_upto.unwrap_or(i64::MAX))
    .bind(t_ms)
    .fetch_one(pool)
    .await)?;
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
    on_pool!(db, |pool| sqlx::query_as(
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
    .await)
}

// ---------------------------------------------------------------------------------------------
// Our own seek checkpoints.

/// The newest checkpoint written for this recording (0 when none).
pub async fn newest_recording_checkpoint(db: &Db, pad: PadId, recording: i64) -> sqlx::Result<i64> {
    let upto: Option<i64> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT MAX(upto_update_id) FROM recording_checkpoints WHERE pad_id = $1 AND recording_id = $2",
    )
    .bind(pad)
    .bind(recording)
    .fetch_one(pool)
    .await)?;
    Ok(upto.unwrap_or(0))
}

/// The id of the pad's first update after `after`.
pub async fn next_update_after(db: &Db, pad: PadId, after: i64) -> sqlx::Result<Option<i64>> {
    nth_update_after(db, pad, after, 1).await
}

/// The id of the `n`-th update after `after` (1-based), if the log has that many.
pub async fn nth_update_after(db: &Db, pad: PadId, after: i64, n: i64) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| sqlx::query_scalar("SELECT id FROM doc_updates WHERE pad_id = $1 AND id > $2 ORDER BY id LIMIT 1 OFFSET $3")
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
        let query = sqlx::query(&sql).bind(pad).bind(recording).bind(upto).bind(state);
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

/// The fence a guarded write adds after its own conditions (the pad is always bound at `$1`).
fn fenced(fence: Option<Fence>, epoch_param: &str) -> String {
    match fence {
        Some(_) => format!(" AND {}", fence_condition("$1", epoch_param)),
        None => String::new(),
    }
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
    on_pool!(db, |pool| sqlx::query_scalar("SELECT MAX(upto_update_id) FROM recording_segments WHERE pad_id = $1 AND recording_id = $2")
        .bind(pad)
        .bind(recording)
        .fetch_one(pool)
        .await)
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
        let query = sqlx::query(&sql).bind(pad).bind(recording).bind(after).bind(upto).bind(updates);
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
    on_pool!(db, |pool| sqlx::query_as(
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
    .await)
}

/// The bytes `segments_between` would return, without reading them.
pub async fn segment_bytes_between(
    db: &Db,
    pad: PadId,
    after: i64,
    upto: Option<i64>,
    at_most_ms: Option<i64>,
) -> sqlx::Result<u64> {
    let bytes: i64 = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT COALESCE(SUM(length(s.updates)), 0) FROM recording_segments s \
         JOIN doc_updates u ON u.id = s.upto_update_id \
         WHERE s.pad_id = $1 AND s.upto_update_id > $2 AND s.upto_update_id <= $3 AND u.at_ms <= $4",
    )
    .bind(pad)
    .bind(after)
    .bind(upto.unwrap_or(i64::MAX))
    .bind(at_most_ms.unwrap_or(i64::MAX))
    .fetch_one(pool)
    .await)?;
    Ok(bytes.max(0) as u64)
}

/// The end of the first segment ending after update `after` (bounds a scan of single updates).
pub async fn next_segment_end(db: &Db, pad: PadId, after: i64) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT upto_update_id FROM recording_segments WHERE pad_id = $1 AND upto_update_id > $2 ORDER BY upto_update_id LIMIT 1",
    )
    .bind(pad)
    .bind(after)
    .fetch_optional(pool)
    .await)
}

// ---------------------------------------------------------------------------------------------
// The other event sources of the timeline.

/// The position of a source ordered by `(at_ms, id)`: events strictly after it come next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TimePos<I> {
    pub at: i64,
    pub id: I,
}

#[derive(Debug, Clone, FromRow)]
pub struct PadEventRow {
    pub id: i64,
    pub at_ms: i64,
    pub kind: String,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub data: String,
}

/// Up to `limit` pad events after `pos` and at or before `to_ms`, in `(at_ms, id)` order.
pub async fn pad_events_page(db: &Db, pad: PadId, pos: &TimePos<i64>, to_ms: i64, limit: i64) -> sqlx::Result<Vec<PadEventRow>> {
    on_pool!(db, |pool| sqlx::query_as(
        "SELECT e.id, e.at_ms, e.kind, e.user_id, u.name AS user_name, e.data FROM pad_events e \
         LEFT JOIN users u ON u.id = e.user_id \
         WHERE e.pad_id = $1 AND (e.at_ms > $2 OR (e.at_ms = $2 AND e.id > $3)) AND e.at_ms <= $4 \
         ORDER BY e.at_ms, e.id LIMIT $5",
    )
    .bind(pad)
    .bind(pos.at)
    .bind(pos.id)
    .bind(to_ms)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

#[derive(Debug, Clone, FromRow)]
pub struct ChatRow {
    pub id: i64,
    pub at_ms: i64,
    pub user_id: Option<UserId>,
    pub user_name: String,
    pub body: String,
}

/// Chat times are RFC 3339 text; this is their instant in ms.
fn chat_at_ms(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "CAST(ROUND((julianday(c.created_at) - 2440587.5) * 86400000.0) AS INTEGER)",
        Backend::Postgres => "CAST(ROUND(EXTRACT(EPOCH FROM CAST(c.created_at AS TIMESTAMPTZ)) * 1000) AS BIGINT)",
    }
}

/// Up to `limit` chat messages after `pos` and at or before `to_ms`, in `(at_ms, id)` order.
pub async fn chat_page(db: &Db, pad: PadId, pos: &TimePos<i64>, to_ms: i64, limit: i64) -> sqlx::Result<Vec<ChatRow>> {
    let chat_at_ms = chat_at_ms(db.backend());
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT id, at_ms, user_id, user_name, body FROM ( \
            SELECT c.id, {chat_at_ms} AS at_ms, c.user_id, COALESCE(u.name, c.user_name) AS user_name, c.body \
            FROM chat_messages c LEFT JOIN users u ON u.id = c.user_id WHERE c.pad_id = $1) AS chat \
         WHERE (at_ms > $2 OR (at_ms = $2 AND id > $3)) AND at_ms <= $4 ORDER BY at_ms, id LIMIT $5"
    ))
    .bind(pad)
    .bind(pos.at)
    .bind(pos.id)
    .bind(to_ms)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: String,
    pub at_ms: i64,
    pub finished_at_ms: i64,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub language: String,
    pub entry: String,
    pub exit_code: Option<i64>,
    pub signal: Option<String>,
    pub timed_out: bool,
    pub oom_killed: bool,
    pub truncated: bool,
    pub outcome: String,
    pub stdout: String,
    pub stderr: String,
}

/// Up to `limit` finished runs started after `pos` and at or before `to_ms`, in
/// `(started_at_ms, id)` order.
pub async fn runs_page(db: &Db, pad: PadId, pos: &TimePos<String>, to_ms: i64, limit: i64) -> sqlx::Result<Vec<RunRow>> {
    on_pool!(db, |pool| sqlx::query_as(
        "SELECT r.id, r.started_at_ms AS at_ms, r.finished_at_ms, r.user_id, u.name AS user_name, r.language, r.entry, \
                r.exit_code, r.signal, r.timed_out, r.oom_killed, r.truncated, r.outcome, r.stdout, r.stderr \
         FROM runs r LEFT JOIN users u ON u.id = r.user_id \
         WHERE r.pad_id = $1 AND (r.started_at_ms > $2 OR (r.started_at_ms = $2 AND r.id > $3)) AND r.started_at_ms <= $4 \
         ORDER BY r.started_at_ms, r.id LIMIT $5",
    )
    .bind(pad)
    .bind(pos.at)
    .bind(&pos.id)
    .bind(to_ms)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

// ---------------------------------------------------------------------------------------------
// Storage accounting (the playback benchmark and operators).

/// What a pad's history costs in the database.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageReport {
    pub updates: i64,
    /// Bytes of update payloads.
    pub update_bytes: i64,
    pub engine_checkpoints: i64,
    pub engine_checkpoint_bytes: i64,
    pub recording_checkpoints: i64,
    pub recording_checkpoint_bytes: i64,
    pub recording_segments: i64,
    pub recording_segment_bytes: i64,
    /// The whole database: on SQLite the pages in use (free pages excluded) × page size; on
    /// PostgreSQL the database's size on disk.
    pub database_bytes_in_use: i64,
}

pub async fn storage_report(db: &Db, pad: PadId) -> sqlx::Result<StorageReport> {
    let (updates, update_bytes): (i64, Option<i64>) =
        on_pool!(db, |pool| sqlx::query_as("SELECT COUNT(*), SUM(LENGTH(update_bytes)) FROM doc_updates WHERE pad_id = $1")
            .bind(pad)
            .fetch_one(pool)
            .await)?;
    let (engine_checkpoints, engine_bytes): (i64, Option<i64>) = on_pool!(db, |pool| sqlx::query_as(
        "SELECT COUNT(*), SUM(LENGTH(state) + LENGTH(state_vector)) FROM doc_checkpoints WHERE pad_id = $1",
    )
    .bind(pad)
    .fetch_one(pool)
    .await)?;
    let (recording_checkpoints, recording_bytes): (i64, Option<i64>) =
        on_pool!(db, |pool| sqlx::query_as("SELECT COUNT(*), SUM(LENGTH(state)) FROM recording_checkpoints WHERE pad_id = $1")
            .bind(pad)
            .fetch_one(pool)
            .await)?;
    let (recording_segments, segment_bytes): (i64, Option<i64>) =
        on_pool!(db, |pool| sqlx::query_as("SELECT COUNT(*), SUM(LENGTH(updates)) FROM recording_segments WHERE pad_id = $1")
            .bind(pad)
            .fetch_one(pool)
            .await)?;
    let in_use = match db.backend() {
        Backend::Sqlite => {
            "SELECT ((SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count())) \
             * (SELECT page_size FROM pragma_page_size())"
        }
        Backend::Postgres => "SELECT pg_database_size(current_database())",
    };
    let database_bytes_in_use: i64 = on_pool!(db, |pool| sqlx::query_scalar(in_use).fetch_one(pool).await)?;
    Ok(StorageReport {
        updates,
        update_bytes: update_bytes.unwrap_or(0),
        engine_checkpoints,
        engine_checkpoint_bytes: engine_bytes.unwrap_or(0),
        recording_checkpoints,
        recording_checkpoint_bytes: recording_bytes.unwrap_or(0),
        recording_segments,
        recording_segment_bytes: segment_bytes.unwrap_or(0),
        database_bytes_in_use,
    })
}
