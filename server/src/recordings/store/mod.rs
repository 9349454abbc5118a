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
//!
//! By job: recording rows and settings here; `events` (the pad's event log), `log` (reading the
//! document log for seeks), `seek_data` (our checkpoints and segments), `sources` (timeline pages
//! of the other sources), `report` (storage accounting).

mod events;
mod log;
mod report;
mod seek_data;
mod sources;

pub use events::*;
pub use log::*;
pub use report::*;
pub use seek_data::*;
pub use sources::*;

use sqlx::FromRow;

use crate::cluster::store::{fence_condition, Fence};
use crate::db::{on_pool, Db, PadId, UserId};

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

const RECORDING_COLUMNS: &str =
    "r.id, r.pad_id, r.name, r.created_by, u.name AS created_by_name, r.started_at_ms, \
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
    on_pool!(db, |pool| {
        sqlx::query_scalar(
        "INSERT INTO recordings (pad_id, name, created_by, started_at_ms, auto_started) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(pad)
    .bind(name)
    .bind(created_by)
    .bind(started_at_ms)
    .bind(auto_started)
    .fetch_one(pool)
    .await
    })
}

pub async fn find_recording(db: &Db, pad: PadId, id: i64) -> sqlx::Result<Option<Recording>> {
    on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {RECORDING_COLUMNS} FROM recordings r LEFT JOIN users u ON u.id = r.created_by WHERE r.pad_id = $1 AND r.id = $2"
    ))
    .bind(pad)
    .bind(id)
    .fetch_optional(pool)
    .await
    })
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
    on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {RECORDING_COLUMNS} FROM recordings r LEFT JOIN users u ON u.id = r.created_by WHERE r.ended_at_ms IS NULL"
    ))
    .fetch_all(pool)
    .await
    })
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
    let done = on_pool!(db, |pool| {
        sqlx::query(
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
    .await.map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Delete the window (never the log). `false` when there was no such recording.
pub async fn delete_recording(db: &Db, pad: PadId, id: i64) -> sqlx::Result<bool> {
    let done = on_pool!(db, |pool| sqlx::query(
        "DELETE FROM recordings WHERE pad_id = $1 AND id = $2"
    )
    .bind(pad)
    .bind(id)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

pub async fn auto_record(db: &Db, pad: PadId) -> sqlx::Result<bool> {
    let on: Option<bool> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT auto_record FROM recording_settings WHERE pad_id = $1"
    )
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
    .await
    .map(|done| done.rows_affected()))?;
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

/// The fence a guarded write adds after its own conditions (the pad is always bound at `$1`).
fn fenced(fence: Option<Fence>, epoch_param: &str) -> String {
    match fence {
        Some(_) => format!(" AND {}", fence_condition("$1", epoch_param)),
        None => String::new(),
    }
}
