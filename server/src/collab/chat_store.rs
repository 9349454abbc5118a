//! Chat rows (`chat_messages`). The only SQL that touches them.

use serde::Serialize;

use crate::db::{now_text, on_pool, on_tx, Db, PadId, UserId, WriteLock};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    pub id: i64,
    #[schema(value_type = Option<i64>)]
    pub user_id: Option<UserId>,
    pub name: String,
    pub body: String,
    /// RFC 3339 UTC.
    pub at: String,
}

/// Store a message; the author's name comes from `users`. Under the pad's chat lock, so a message
/// committed later always has a higher id (history pages by id).
pub async fn insert(db: &Db, pad: PadId, user: UserId, body: &str) -> sqlx::Result<ChatMessage> {
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::Chat(pad)).await?;
    let stored = on_tx!(tx, |conn| sqlx::query_as(
        "INSERT INTO chat_messages (pad_id, user_id, user_name, body, created_at) \
         SELECT $1, id, name, $2, $3 FROM users WHERE id = $4 \
         RETURNING id, user_id, user_name AS name, body, created_at AS at",
    )
    .bind(pad)
    .bind(body)
    .bind(now_text())
    .bind(user)
    .fetch_one(&mut *conn)
    .await)?;
    tx.commit().await?;
    Ok(stored)
}

/// The newest `limit` messages with id below `before` (all when `None`), oldest first.
pub async fn page(
    db: &Db,
    pad: PadId,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<ChatMessage>> {
    let mut rows: Vec<ChatMessage> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT c.id, c.user_id, COALESCE(u.name, c.user_name) AS name, c.body, c.created_at AS at \
         FROM chat_messages c LEFT JOIN users u ON u.id = c.user_id \
         WHERE c.pad_id = $1 AND c.id < $2 ORDER BY c.id DESC LIMIT $3",
    )
    .bind(pad)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await
    })?;
    rows.reverse();
    Ok(rows)
}
