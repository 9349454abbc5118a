//! User rows. The only SQL that touches `users`, besides the operator's flags and listings
//! (`admin::store`) and the account a first single sign-on creates with its link (`oidc::store`).

use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::db::{now_text, on_pool, Db, UserId};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[schema(value_type = i64)]
    pub id: UserId,
    pub name: String,
    #[serde(skip)]
    pub session_epoch: i64,
    pub created_at: String,
    /// An operator (granted only by `opencoder admin grant`); the client shows the admin page.
    pub is_admin: bool,
    /// Disabled by an operator: refused at sign-in and on every request.
    #[serde(skip)]
    pub disabled: bool,
}

pub(crate) const USER_COLUMNS: &str =
    "id, name, session_epoch, created_at, is_admin, disabled_at IS NOT NULL AS disabled";

pub async fn create(db: &Db, name: &str, recovery_hash: &str) -> sqlx::Result<User> {
    let now = now_text();
    on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "INSERT INTO users (name, recovery_hash, created_at, updated_at) VALUES ($1, $2, $3, $4) RETURNING {USER_COLUMNS}"
    ))
    .bind(name)
    .bind(recovery_hash)
    .bind(&now)
    .bind(&now)
    .fetch_one(pool)
    .await
    })
}

/// Every authenticated request and socket reads this: inline when the database allows.
pub async fn find(db: &Db, id: UserId) -> sqlx::Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    if let Some(found) = db.inline(|conn| {
        conn.prepare_cached(&sql)?
            .query_row([id.0], user_from_row)
            .optional()
    }) {
        return found;
    }
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await)
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: UserId(row.get(0)?),
        name: row.get(1)?,
        session_epoch: row.get(2)?,
        created_at: row.get(3)?,
        is_admin: row.get(4)?,
        disabled: row.get(5)?,
    })
}

pub async fn find_by_recovery_hash(db: &Db, hash: &str) -> sqlx::Result<Option<User>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE recovery_hash = $1"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await)
}

pub async fn rename(db: &Db, id: UserId, name: &str) -> sqlx::Result<Option<User>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "UPDATE users SET name = $1, updated_at = $2 WHERE id = $3 RETURNING {USER_COLUMNS}"
    ))
    .bind(name)
    .bind(now_text())
    .bind(id)
    .fetch_optional(pool)
    .await)
}

pub async fn set_recovery_hash(db: &Db, id: UserId, hash: &str) -> sqlx::Result<()> {
    on_pool!(db, |pool| sqlx::query(
        "UPDATE users SET recovery_hash = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(hash)
    .bind(now_text())
    .bind(id)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Invalidate every token issued so far; returns the new epoch.
pub async fn bump_epoch(db: &Db, id: UserId) -> sqlx::Result<i64> {
    on_pool!(db, |pool| {
        sqlx::query_scalar(
        "UPDATE users SET session_epoch = session_epoch + 1, updated_at = $1 WHERE id = $2 RETURNING session_epoch",
    )
    .bind(now_text())
    .bind(id)
    .fetch_one(pool)
    .await
    })
}

/// Delete the user; owned pads, memberships and their data go with it through the foreign keys.
pub async fn delete(db: &Db, id: UserId) -> sqlx::Result<()> {
    on_pool!(db, |pool| sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}
