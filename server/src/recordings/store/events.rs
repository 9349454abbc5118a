//! `pad_events`: joins, leaves, file list changes, terminal output, … — the pad's own event log.

use serde_json::Value;

use super::fenced;
use crate::cluster::store::{check_fence, Fence, FencedError};
use crate::db::{on_pool, on_tx, Db, PadId, UserId, WriteLock};

/// Append a `join` or `leave` of `user` unless it is already the user's latest of the two: with
/// several nodes, a user whose connections span nodes joins once (the first node to log it) and
/// leaves once. Under the pad's presence lock, so two nodes logging at once cannot both append,
/// and ids follow the order of appending (clocks of nodes may differ; ids do not).
///
/// `kind` is asked under that lock (`None`: nothing to log): a caller deciding from connection
/// counts that change meanwhile (news from another node) decides after any entry another node was
/// appending, not before it. Whether it was appended.
pub async fn insert_presence_event(
    db: &Db,
    pad: PadId,
    at_ms: i64,
    user: UserId,
    kind: impl FnOnce() -> Option<&'static str>,
) -> sqlx::Result<bool> {
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::Presence(pad)).await?;
    let Some(kind) = kind() else {
        return Ok(false);
    };
    let id: Option<i64> = on_tx!(tx, |conn| sqlx::query_scalar(
        "INSERT INTO pad_events (pad_id, at_ms, kind, user_id, data) \
         SELECT $1, $2, $3, $4, '{}' WHERE EXISTS (SELECT 1 FROM pads WHERE id = $1) \
         AND COALESCE((SELECT kind FROM pad_events WHERE pad_id = $1 AND user_id = $4 \
                       AND kind IN ('join', 'leave') ORDER BY id DESC LIMIT 1), '') <> $3 \
         RETURNING id"
    )
    .bind(pad)
    .bind(at_ms)
    .bind(kind)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await)?;
    tx.commit().await?;
    Ok(id.is_some())
}

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
        let query = sqlx::query_scalar(&sql)
            .bind(pad)
            .bind(at_ms)
            .bind(kind)
            .bind(user)
            .bind(data.to_string());
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
pub async fn latest_pad_event(
    db: &Db,
    pad: PadId,
    kind: &str,
    at_ms: i64,
) -> sqlx::Result<Option<Value>> {
    let data: Option<String> = on_pool!(db, |pool| {
        sqlx::query_scalar(
        "SELECT data FROM pad_events WHERE pad_id = $1 AND at_ms <= $2 AND kind = $3 ORDER BY at_ms DESC, id DESC LIMIT 1",
    )
    .bind(pad)
    .bind(at_ms)
    .bind(kind)
    .fetch_optional(pool)
    .await
    })?;
    Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
}

/// The data of the pad's `kind` events in `(after_ms, upto_ms]`, oldest first.
pub async fn pad_events_between(
    db: &Db,
    pad: PadId,
    kind: &str,
    after_ms: i64,
    upto_ms: i64,
) -> sqlx::Result<Vec<(i64, Value)>> {
    let rows: Vec<(i64, String)> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT at_ms, data FROM pad_events WHERE pad_id = $1 AND kind = $2 AND at_ms > $3 AND at_ms <= $4 ORDER BY at_ms, id",
    )
    .bind(pad)
    .bind(kind)
    .bind(after_ms)
    .bind(upto_ms)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|(at, data)| serde_json::from_str(&data).ok().map(|d| (at, d)))
        .collect())
}

/// Append one event of `kind` unless the pad already has `cap` of them; `None` when it has.
/// The count and the insert are one statement, so sequential reports never pass the cap.
pub async fn insert_pad_event_capped(
    db: &Db,
    pad: PadId,
    at_ms: i64,
    kind: &str,
    user: Option<UserId>,
    data: &Value,
    cap: i64,
) -> sqlx::Result<Option<i64>> {
    on_pool!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO pad_events (pad_id, at_ms, kind, user_id, data) \
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM pads WHERE id = $1) \
             AND (SELECT COUNT(*) FROM pad_events WHERE pad_id = $1 AND kind = $3) < $6 \
             RETURNING id",
        )
        .bind(pad)
        .bind(at_ms)
        .bind(kind)
        .bind(user)
        .bind(data.to_string())
        .bind(cap)
        .fetch_optional(pool)
        .await
    })
}

/// The pad's events of `kind`, oldest first, at most `limit`, with their author's current name.
pub async fn pad_events_of_kind(
    db: &Db,
    pad: PadId,
    kind: &str,
    limit: i64,
) -> sqlx::Result<Vec<super::PadEventRow>> {
    on_pool!(db, |pool| sqlx::query_as(
        "SELECT e.id, e.at_ms, e.kind, e.user_id, u.name AS user_name, e.data FROM pad_events e \
         LEFT JOIN users u ON u.id = e.user_id \
         WHERE e.pad_id = $1 AND e.kind = $2 ORDER BY e.at_ms, e.id LIMIT $3",
    )
    .bind(pad)
    .bind(kind)
    .bind(limit)
    .fetch_all(pool)
    .await)
}
