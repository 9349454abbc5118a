//! Pad and membership rows. The only SQL that touches `pads` and `pad_members`.

use serde::Serialize;

use super::roles::Role;
use crate::db::{Db, PadId, UserId};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pad {
    #[schema(value_type = i64)]
    pub id: PadId,
    pub slug: String,
    pub title: String,
    pub language: String,
    pub kind: String,
    #[schema(value_type = i64)]
    pub owner_id: UserId,
    pub has_password: bool,
    pub password_role: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub const PAD_COLUMNS: &str = "id, slug, title, language, kind, owner_id, password_hash IS NOT NULL AS has_password, \
password_role, created_at, updated_at";

pub async fn find_by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<Pad>> {
    sqlx::query_as(&format!("SELECT {PAD_COLUMNS} FROM pads WHERE slug = ?"))
        .bind(slug)
        .fetch_optional(db.pool())
        .await
}

pub async fn find(db: &Db, id: PadId) -> sqlx::Result<Option<Pad>> {
    sqlx::query_as(&format!("SELECT {PAD_COLUMNS} FROM pads WHERE id = ?")).bind(id).fetch_optional(db.pool()).await
}

/// The caller's current role on the pad, or `None` when they are not a member.
pub async fn member_role(db: &Db, pad: PadId, user: UserId) -> sqlx::Result<Option<Role>> {
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM pad_members WHERE pad_id = ? AND user_id = ?")
        .bind(pad)
        .bind(user)
        .fetch_optional(db.pool())
        .await?;
    Ok(role.as_deref().and_then(Role::parse))
}

pub async fn slugs_owned_by(db: &Db, user: UserId) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT slug FROM pads WHERE owner_id = ? ORDER BY id").bind(user).fetch_all(db.pool()).await
}
