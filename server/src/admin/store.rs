//! The operator's SQL: the admin and disabled flags of `users`, listings across every account and
//! pad, storage figures, and `server_settings`. The only SQL that touches `server_settings`.

use serde::Serialize;

use crate::db::{now_text, on_pool, Backend, Db, PadId, UserId};

/// One account as the admin page lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRow {
    #[schema(value_type = i64)]
    pub id: UserId,
    pub name: String,
    pub created_at: String,
    pub pads_owned: i64,
    pub is_admin: bool,
    pub disabled: bool,
}

/// One pad as the admin page lists it. Sizes are bytes as stored: `document_bytes` is the latest
/// checkpoint, `history_bytes` the update log after it plus every checkpoint.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PadRow {
    #[schema(value_type = i64)]
    pub id: PadId,
    pub slug: String,
    pub title: String,
    pub kind: String,
    #[schema(value_type = i64)]
    pub owner_id: UserId,
    pub owner_name: String,
    pub document_bytes: i64,
    pub history_bytes: i64,
    /// The last document edit (ms since the epoch), else the pad's last change.
    pub last_edit_at_ms: Option<i64>,
    pub updated_at: String,
}

/// A page of rows and how many match in all.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// `LIKE` pattern for "contains `needle`", case-insensitive, with its wildcards escaped.
fn contains_pattern(needle: &str) -> String {
    let escaped = needle
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub async fn set_admin(db: &Db, user: UserId, admin: bool) -> sqlx::Result<bool> {
    on_pool!(db, |pool| sqlx::query(
        "UPDATE users SET is_admin = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(admin)
    .bind(now_text())
    .bind(user)
    .execute(pool)
    .await
    .map(|done| done.rows_affected() == 1))
}

/// Disable (`true`) or enable an account; `false` when there is no such account.
pub async fn set_disabled(db: &Db, user: UserId, disabled: bool) -> sqlx::Result<bool> {
    let now = now_text();
    on_pool!(db, |pool| sqlx::query(
        "UPDATE users SET disabled_at = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(disabled.then_some(&now))
    .bind(&now)
    .bind(user)
    .execute(pool)
    .await
    .map(|done| done.rows_affected() == 1))
}

const USER_ROW: &str = "SELECT u.id, u.name, u.created_at, \
     (SELECT COUNT(*) FROM pads p WHERE p.owner_id = u.id AND p.notes_of IS NULL) AS pads_owned, \
     u.is_admin, u.disabled_at IS NOT NULL AS disabled FROM users u";

/// Accounts whose name contains `search` (any case), newest first.
pub async fn search_users(
    db: &Db,
    search: &str,
    offset: i64,
    limit: i64,
) -> sqlx::Result<Page<UserRow>> {
    let pattern = contains_pattern(search);
    on_pool!(db, |pool| {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE LOWER(name) LIKE $1 ESCAPE '\\'")
                .bind(&pattern)
                .fetch_one(pool)
                .await?;
        let items = sqlx::query_as(&format!(
            "{USER_ROW} WHERE LOWER(u.name) LIKE $1 ESCAPE '\\' ORDER BY u.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
        Ok(Page { items, total })
    })
}

pub async fn find_user(db: &Db, user: UserId) -> sqlx::Result<Option<UserRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "{USER_ROW} WHERE u.id = $1"
    ))
    .bind(user)
    .fetch_optional(pool)
    .await)
}

/// Accounts named exactly `name` (names are not unique).
pub async fn users_named(db: &Db, name: &str) -> sqlx::Result<Vec<UserRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "{USER_ROW} WHERE u.name = $1 ORDER BY u.id"
    ))
    .bind(name)
    .fetch_all(pool)
    .await)
}

pub async fn admins(db: &Db) -> sqlx::Result<Vec<UserRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "{USER_ROW} WHERE u.is_admin ORDER BY u.id"
    ))
    .fetch_all(pool)
    .await)
}

const PAD_ROW: &str = "SELECT p.id, p.slug, p.title, p.kind, p.owner_id, u.name AS owner_name, \
     COALESCE((SELECT LENGTH(c.state) FROM doc_checkpoints c WHERE c.pad_id = p.id \
               ORDER BY c.upto_update_id DESC LIMIT 1), 0) AS document_bytes, \
     COALESCE((SELECT SUM(LENGTH(d.update_bytes)) FROM doc_updates d WHERE d.pad_id = p.id), 0) \
     + COALESCE((SELECT SUM(LENGTH(c.state)) FROM doc_checkpoints c WHERE c.pad_id = p.id), 0) \
       AS history_bytes, \
     (SELECT MAX(d.at_ms) FROM doc_updates d WHERE d.pad_id = p.id) AS last_edit_at_ms, \
     p.updated_at \
     FROM pads p JOIN users u ON u.id = p.owner_id";

/// How a pad listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadOrder {
    Newest,
    LargestHistory,
}

/// Pads whose title, slug or owner's name contains `search` (any case).
pub async fn search_pads(
    db: &Db,
    search: &str,
    order: PadOrder,
    offset: i64,
    limit: i64,
) -> sqlx::Result<Page<PadRow>> {
    let pattern = contains_pattern(search);
    // An interview's private notes live in a companion pad (`notes_of`): part of that pad, not
    // one of their own.
    let matching = "p.notes_of IS NULL AND (LOWER(p.title) LIKE $1 ESCAPE '\\' \
                    OR LOWER(p.slug) LIKE $1 ESCAPE '\\' OR LOWER(u.name) LIKE $1 ESCAPE '\\')";
    let order = match order {
        PadOrder::Newest => "id DESC",
        PadOrder::LargestHistory => "history_bytes DESC, id DESC",
    };
    // Sums are BIGINT on SQLite and NUMERIC on PostgreSQL: read them as BIGINT on both.
    let wrapped = format!(
        "SELECT id, slug, title, kind, owner_id, owner_name, CAST(document_bytes AS BIGINT) AS document_bytes, \
         CAST(history_bytes AS BIGINT) AS history_bytes, last_edit_at_ms, updated_at \
         FROM ({PAD_ROW} WHERE {matching}) AS listed ORDER BY {order} LIMIT $2 OFFSET $3"
    );
    on_pool!(db, |pool| {
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM pads p JOIN users u ON u.id = p.owner_id WHERE {matching}"
        ))
        .bind(&pattern)
        .fetch_one(pool)
        .await?;
        let items = sqlx::query_as(&wrapped)
            .bind(&pattern)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
        Ok(Page { items, total })
    })
}

/// The database's size on disk: the SQLite file's pages, or `pg_database_size`.
pub async fn database_bytes(db: &Db) -> sqlx::Result<i64> {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        }
        Backend::Postgres => "SELECT pg_database_size(current_database())",
    };
    on_pool!(db, |pool| sqlx::query_scalar(sql).fetch_one(pool).await)
}

/// Bytes kept for recordings: their event log, checkpoints and update segments.
pub async fn recordings_bytes(db: &Db) -> sqlx::Result<i64> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT CAST(COALESCE((SELECT SUM(LENGTH(data)) FROM pad_events), 0) \
         + COALESCE((SELECT SUM(LENGTH(state)) FROM recording_checkpoints), 0) \
         + COALESCE((SELECT SUM(LENGTH(updates)) FROM recording_segments), 0) AS BIGINT)"
    )
    .fetch_one(pool)
    .await)
}

pub async fn setting(db: &Db, key: &str) -> sqlx::Result<Option<String>> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT value FROM server_settings WHERE key = $1"
    )
    .bind(key)
    .fetch_optional(pool)
    .await)
}

pub async fn set_setting(db: &Db, key: &str, value: &str) -> sqlx::Result<()> {
    on_pool!(db, |pool| sqlx::query(
        "INSERT INTO server_settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
    )
    .bind(key)
    .bind(value)
    .bind(now_text())
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
