//! File rows (`pad_files`). The only SQL that touches them. Every lookup is scoped by pad, so a file
//! id from another pad is simply not found (the original's cross-pad write, §12 #3).
//!
//! A file's *content* is not here: it lives in the pad's document (`collab::DocStore`), under
//! the root named after the row id, which never changes. Also which pads' documents still key
//! texts by name (`name_keyed_docs`, migration 0007).

use crate::db::{now_text, on_pool, on_tx, Db, FileId, PadId, WriteLock, WriteTx};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PadFile {
    #[schema(value_type = i64)]
    pub id: FileId,
    #[serde(skip)]
    pub pad_id: PadId,
    pub name: String,
    pub language: String,
    pub sort_order: i64,
    pub created_at: String,
    pub updated_at: String,
}

const FILE_COLUMNS: &str = "id, pad_id, name, language, sort_order, created_at, updated_at";

/// A file to create together with its pad (new pads, forks).
#[derive(Debug, Clone)]
pub struct NewFile {
    pub name: String,
    pub language: String,
}

/// Insert a new pad's files in order, inside the caller's transaction.
pub async fn insert_initial(
    tx: &mut WriteTx,
    pad: PadId,
    files: &[NewFile],
) -> sqlx::Result<Vec<PadFile>> {
    let now = now_text();
    let mut created = Vec::with_capacity(files.len());
    for (order, file) in files.iter().enumerate() {
        let row: PadFile = on_tx!(tx, |conn| sqlx::query_as(&format!(
            "INSERT INTO pad_files (pad_id, name, language, sort_order, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {FILE_COLUMNS}"
        ))
        .bind(pad)
        .bind(&file.name)
        .bind(&file.language)
        .bind(order as i64)
        .bind(&now)
        .bind(&now)
        .fetch_one(&mut *conn)
        .await)?;
        created.push(row);
    }
    Ok(created)
}

/// The pad's files in order (bounded by the per-pad file limit; read inline when possible).
pub async fn list(db: &Db, pad: PadId) -> sqlx::Result<Vec<PadFile>> {
    let sql =
        format!("SELECT {FILE_COLUMNS} FROM pad_files WHERE pad_id = $1 ORDER BY sort_order, id");
    let inline = db.inline(|conn| {
        conn.prepare_cached(&sql)?
            .query_map([pad.0], file_from_row)?
            .collect()
    });
    if let Some(files) = inline {
        return files;
    }
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(pad)
        .fetch_all(pool)
        .await)
}

fn file_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PadFile> {
    Ok(PadFile {
        id: FileId(row.get(0)?),
        pad_id: PadId(row.get(1)?),
        name: row.get(2)?,
        language: row.get(3)?,
        sort_order: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

pub async fn find(db: &Db, pad: PadId, file: FileId) -> sqlx::Result<Option<PadFile>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {FILE_COLUMNS} FROM pad_files WHERE id = $1 AND pad_id = $2"
    ))
    .bind(file)
    .bind(pad)
    .fetch_optional(pool)
    .await)
}

/// Create a file at the end of the list unless the pad already has `max_files`. The count check
/// and the insert are one statement under the pad's write lock, so two concurrent creates (on any
/// node) cannot both slip under the cap.
/// `Ok(None)`: the cap is reached. A taken name is a unique violation (`OnUnique`).
pub async fn create(
    db: &Db,
    pad: PadId,
    name: &str,
    language: &str,
    max_files: usize,
) -> sqlx::Result<Option<PadFile>> {
    let now = now_text();
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::Pad(pad)).await?;
    let created = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
        "INSERT INTO pad_files (pad_id, name, language, sort_order, created_at, updated_at)
         SELECT $1, $2, $3, COALESCE((SELECT MAX(sort_order) FROM pad_files WHERE pad_id = $1), -1) + 1, $4, $4
         WHERE (SELECT COUNT(*) FROM pad_files WHERE pad_id = $1) < $5
         RETURNING {FILE_COLUMNS}"
    ))
    .bind(pad)
    .bind(name)
    .bind(language)
    .bind(&now)
    .bind(max_files as i64)
    .fetch_optional(&mut *conn)
    .await
    })?;
    tx.commit().await?;
    Ok(created)
}

/// Change a file's name and/or language. A taken name is a unique violation (`OnUnique`).
pub async fn update(
    db: &Db,
    pad: PadId,
    file: FileId,
    name: &str,
    language: &str,
) -> sqlx::Result<Option<PadFile>> {
    on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "UPDATE pad_files SET name = $1, language = $2, updated_at = $3 WHERE id = $4 AND pad_id = $5 RETURNING {FILE_COLUMNS}"
    ))
    .bind(name)
    .bind(language)
    .bind(now_text())
    .bind(file)
    .bind(pad)
    .fetch_optional(pool)
    .await
    })
}

#[derive(Debug)]
pub enum DeleteOutcome {
    Deleted(PadFile),
    NotFound,
    /// The pad's only file; a pad always keeps one.
    LastFile,
}

/// Delete a file unless it is the pad's last one (checked in the same statement, under the pad's
/// write lock).
pub async fn delete_unless_last(db: &Db, pad: PadId, file: FileId) -> sqlx::Result<DeleteOutcome> {
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::Pad(pad)).await?;
    let deleted: Option<PadFile> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
        "DELETE FROM pad_files WHERE id = $1 AND pad_id = $2 AND (SELECT COUNT(*) FROM pad_files WHERE pad_id = $2) > 1
         RETURNING {FILE_COLUMNS}"
    ))
    .bind(file)
    .bind(pad)
    .fetch_optional(&mut *conn)
    .await
    })?;
    tx.commit().await?;
    if let Some(file) = deleted {
        return Ok(DeleteOutcome::Deleted(file));
    }
    Ok(match find(db, pad, file).await? {
        Some(_) => DeleteOutcome::LastFile,
        None => DeleteOutcome::NotFound,
    })
}

/// Remove a row created a moment ago whose document text could not be written.
pub async fn remove(db: &Db, pad: PadId, file: FileId) -> sqlx::Result<()> {
    on_pool!(db, |pool| sqlx::query(
        "DELETE FROM pad_files WHERE id = $1 AND pad_id = $2"
    )
    .bind(file)
    .bind(pad)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// How a pad's document keys its file texts over time (migration 0007).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKeys {
    /// By file id from the start (pads created since file ids).
    ById,
    /// By name before this instant (ms since the epoch), by id from it on.
    ByIdSince(i64),
    /// By name: the document has not been opened since file ids.
    ByName,
}

pub async fn text_keys(db: &Db, pad: PadId) -> sqlx::Result<TextKeys> {
    let row: Option<(Option<i64>,)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT rekeyed_at_ms FROM name_keyed_docs WHERE pad_id = $1"
    )
    .bind(pad)
    .fetch_optional(pool)
    .await)?;
    Ok(match row {
        None => TextKeys::ById,
        Some((Some(at_ms),)) => TextKeys::ByIdSince(at_ms),
        Some((None,)) => TextKeys::ByName,
    })
}

/// Whether the pad's document still keys file texts by name and must be re-keyed.
pub async fn is_name_keyed(db: &Db, pad: PadId) -> sqlx::Result<bool> {
    Ok(text_keys(db, pad).await? == TextKeys::ByName)
}

/// Record that the pad's document was re-keyed by file id at `at_ms`.
pub async fn mark_keyed_by_id(db: &Db, pad: PadId, at_ms: i64) -> sqlx::Result<()> {
    on_pool!(db, |pool| sqlx::query(
        "UPDATE name_keyed_docs SET rekeyed_at_ms = $1 WHERE pad_id = $2 AND rekeyed_at_ms IS NULL"
    )
    .bind(at_ms)
    .bind(pad)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
