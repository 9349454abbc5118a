//! The reads the collaboration module pushes to sockets: member and file lists; and each pad's
//! update-log total for the history budget. (Chat has its own
//! store in `chat.rs`; the document log is `persist.rs`.) File rows are the pads module's; this
//! only shapes them for the `files.changed` message.

use serde::Serialize;

use crate::db::{Db, FileId, PadId, UserId};

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
    sqlx::query_as(
        "SELECT m.user_id, u.name, m.role FROM pad_members m JOIN users u ON u.id = m.user_id \
         WHERE m.pad_id = ? ORDER BY m.joined_at, m.user_id",
    )
    .bind(pad)
    .fetch_all(db.pool())
    .await
}

pub async fn files(db: &Db, pad: PadId) -> sqlx::Result<Vec<FileEntry>> {
    let rows = crate::pads::files_store::list(db, pad).await?;
    Ok(rows.into_iter().map(|f| FileEntry { id: f.id, name: f.name, language: f.language }).collect())
}

/// Bytes of update log the pad has accumulated (`pads.history_bytes`, kept by the log writer).
pub async fn history_bytes(db: &Db, pad: PadId) -> sqlx::Result<u64> {
    let bytes: Option<i64> =
        sqlx::query_scalar("SELECT history_bytes FROM pads WHERE id = ?").bind(pad).fetch_optional(db.pool()).await?;
    Ok(bytes.unwrap_or(0).max(0) as u64)
}
