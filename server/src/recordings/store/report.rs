//! Storage accounting (the playback benchmark and operators).

use serde::Serialize;

use crate::db::{on_pool, Backend, Db, PadId};

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
    let (updates, update_bytes): (i64, Option<i64>) = on_pool!(db, |pool| sqlx::query_as(
        "SELECT COUNT(*), SUM(LENGTH(update_bytes)) FROM doc_updates WHERE pad_id = $1"
    )
    .bind(pad)
    .fetch_one(pool)
    .await)?;
    let (engine_checkpoints, engine_bytes): (i64, Option<i64>) = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT COUNT(*), SUM(LENGTH(state) + LENGTH(state_vector)) FROM doc_checkpoints WHERE pad_id = $1",
    )
    .bind(pad)
    .fetch_one(pool)
    .await
    })?;
    let (recording_checkpoints, recording_bytes): (i64, Option<i64>) =
        on_pool!(db, |pool| sqlx::query_as(
            "SELECT COUNT(*), SUM(LENGTH(state)) FROM recording_checkpoints WHERE pad_id = $1"
        )
        .bind(pad)
        .fetch_one(pool)
        .await)?;
    let (recording_segments, segment_bytes): (i64, Option<i64>) =
        on_pool!(db, |pool| sqlx::query_as(
            "SELECT COUNT(*), SUM(LENGTH(updates)) FROM recording_segments WHERE pad_id = $1"
        )
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
    let database_bytes_in_use: i64 =
        on_pool!(db, |pool| sqlx::query_scalar(in_use).fetch_one(pool).await)?;
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
