//! Pad and membership rows. The only SQL that touches `pads` and `pad_members`.
//!
//! Writes that read first (role upgrades) run in `BEGIN IMMEDIATE` transactions: SQLite then takes
//! the write lock up front, so two concurrent grants serialise instead of failing with a stale
//! snapshot.

use serde::Serialize;
use sqlx::SqliteConnection;

use super::files_store::{self, NewFile, PadFile};
use super::roles::Role;
use crate::db::{now_text, Db, PadId, UserId};

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

/// SQL that ranks a role column like `Role::rank`, for upgrade-only grants.
const RANK_OF_EXISTING: &str =
    "CASE pad_members.role WHEN 'owner' THEN 4 WHEN 'collaborator' THEN 3 WHEN 'candidate' THEN 2 ELSE 1 END";
const RANK_OF_NEW: &str =
    "CASE excluded.role WHEN 'owner' THEN 4 WHEN 'collaborator' THEN 3 WHEN 'candidate' THEN 2 ELSE 1 END";

/// The pad and the user's role on it, in one query: this runs on every pad request and message.
pub async fn find_with_role(db: &Db, slug: &str, user: UserId) -> sqlx::Result<Option<(Pad, Option<Role>)>> {
    let row: Option<PadWithRole> = sqlx::query_as(&format!(
        "SELECT {PAD_COLUMNS}, m.role AS my_role FROM pads \
         LEFT JOIN pad_members m ON m.pad_id = pads.id AND m.user_id = ? WHERE pads.slug = ?"
    ))
    .bind(user)
    .bind(slug)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| (r.pad, r.my_role.as_deref().and_then(Role::parse))))
}

pub async fn find_by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<Pad>> {
    sqlx::query_as(&format!("SELECT {PAD_COLUMNS} FROM pads WHERE slug = ?")).bind(slug).fetch_optional(db.pool()).await
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

pub async fn ids_owned_by(db: &Db, user: UserId) -> sqlx::Result<Vec<PadId>> {
    sqlx::query_scalar("SELECT id FROM pads WHERE owner_id = ? ORDER BY id").bind(user).fetch_all(db.pool()).await
}

/// A pad about to be created.
#[derive(Debug, Clone)]
pub struct NewPad<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub language: &'a str,
    pub kind: &'a str,
    pub owner: UserId,
}

/// Create the pad, its owner's membership and its files in one transaction. A slug collision is a
/// unique violation; the caller draws a new slug.
pub async fn create_with_files(db: &Db, new: &NewPad<'_>, files: &[NewFile]) -> sqlx::Result<(Pad, Vec<PadFile>)> {
    let mut tx = db.pool().begin_with("BEGIN IMMEDIATE").await?;
    let now = now_text();
    let pad: Pad = sqlx::query_as(&format!(
        "INSERT INTO pads (slug, title, language, kind, owner_id, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {PAD_COLUMNS}"
    ))
    .bind(new.slug)
    .bind(new.title)
    .bind(new.language)
    .bind(new.kind)
    .bind(new.owner)
    .bind(&now)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO pad_members (pad_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)")
        .bind(pad.id)
        .bind(new.owner)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    let files = files_store::insert_initial(&mut tx, pad.id, files).await?;
    tx.commit().await?;
    Ok((pad, files))
}

/// A pad plus the caller's role on it (`None`: not a member).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PadWithRole {
    #[sqlx(flatten)]
    pub pad: Pad,
    pub my_role: Option<String>,
}

/// Every pad the user is a member of, newest first.
pub async fn list_for_user(db: &Db, user: UserId) -> sqlx::Result<Vec<(Pad, Role)>> {
    let rows: Vec<PadWithRole> = sqlx::query_as(&format!(
        "SELECT {PAD_COLUMNS}, (SELECT role FROM pad_members m WHERE m.pad_id = pads.id AND m.user_id = ?1) AS my_role
         FROM pads WHERE id IN (SELECT pad_id FROM pad_members WHERE user_id = ?1)
         ORDER BY created_at DESC, id DESC"
    ))
    .bind(user)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().filter_map(|row| row.my_role.as_deref().and_then(Role::parse).map(|role| (row.pad, role))).collect())
}

/// Change any of title, language and kind (`None` keeps the current value).
pub async fn update(
    db: &Db,
    pad: PadId,
    title: Option<&str>,
    language: Option<&str>,
    kind: Option<&str>,
) -> sqlx::Result<Option<Pad>> {
    sqlx::query_as(&format!(
        "UPDATE pads SET title = COALESCE(?, title), language = COALESCE(?, language), kind = COALESCE(?, kind),
         updated_at = ? WHERE id = ? RETURNING {PAD_COLUMNS}"
    ))
    .bind(title)
    .bind(language)
    .bind(kind)
    .bind(now_text())
    .bind(pad)
    .fetch_optional(db.pool())
    .await
}

/// Delete the pad; files, members, invites and its document go with it through the foreign keys.
pub async fn delete(db: &Db, pad: PadId) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM pads WHERE id = ?").bind(pad).execute(db.pool()).await?;
    Ok(done.rows_affected() > 0)
}

/// The password hash and the role it grants, when the pad has a password.
pub async fn password(db: &Db, pad: PadId) -> sqlx::Result<Option<(String, Role)>> {
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT password_hash, password_role FROM pads WHERE id = ?")
            .bind(pad)
            .fetch_optional(db.pool())
            .await?;
    Ok(match row {
        Some((Some(hash), Some(role))) => Role::parse(&role).map(|role| (hash, role)),
        _ => None,
    })
}

/// Set (`Some`) or clear (`None`) the password and the role it grants.
pub async fn set_password(db: &Db, pad: PadId, password: Option<(&str, Role)>) -> sqlx::Result<Option<Pad>> {
    sqlx::query_as(&format!(
        "UPDATE pads SET password_hash = ?, password_role = ?, updated_at = ? WHERE id = ? RETURNING {PAD_COLUMNS}"
    ))
    .bind(password.map(|(hash, _)| hash))
    .bind(password.map(|(_, role)| role.as_str()))
    .bind(now_text())
    .bind(pad)
    .fetch_optional(db.pool())
    .await
}

/// A member as the pad's member list shows them; the name comes from `users`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    #[schema(value_type = i64)]
    pub user_id: UserId,
    pub name: String,
    pub role: String,
    pub joined_at: String,
}

/// Members, owner first, then by role and by when they joined.
pub async fn members(db: &Db, pad: PadId) -> sqlx::Result<Vec<Member>> {
    sqlx::query_as(&format!(
        "SELECT pad_members.user_id, users.name, pad_members.role, pad_members.joined_at
         FROM pad_members JOIN users ON users.id = pad_members.user_id
         WHERE pad_members.pad_id = ?
         ORDER BY {RANK_OF_EXISTING} DESC, pad_members.joined_at, pad_members.user_id"
    ))
    .bind(pad)
    .fetch_all(db.pool())
    .await
}

/// Set a non-owner member's role. Returns the previous role, or `None` when the user is not a
/// member or is the owner (the owner row is never touched).
pub async fn change_role(db: &Db, pad: PadId, user: UserId, role: Role) -> sqlx::Result<Option<Role>> {
    let mut tx = db.pool().begin_with("BEGIN IMMEDIATE").await?;
    let previous = role_in(&mut tx, pad, user).await?;
    let Some(previous) = previous.filter(|r| *r != Role::Owner) else {
        return Ok(None);
    };
    sqlx::query("UPDATE pad_members SET role = ? WHERE pad_id = ? AND user_id = ? AND role != 'owner'")
        .bind(role.as_str())
        .bind(pad)
        .bind(user)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(previous))
}

/// Remove a non-owner member. Returns the role they had, or `None` when they were not a member or
/// are the owner.
pub async fn remove_member(db: &Db, pad: PadId, user: UserId) -> sqlx::Result<Option<Role>> {
    let role: Option<String> = sqlx::query_scalar(
        "DELETE FROM pad_members WHERE pad_id = ? AND user_id = ? AND role != 'owner' RETURNING role",
    )
    .bind(pad)
    .bind(user)
    .fetch_optional(db.pool())
    .await?;
    Ok(role.as_deref().and_then(Role::parse))
}

async fn role_in(conn: &mut SqliteConnection, pad: PadId, user: UserId) -> sqlx::Result<Option<Role>> {
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM pad_members WHERE pad_id = ? AND user_id = ?")
        .bind(pad)
        .bind(user)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// The result of an upgrade-only grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub previous: Option<Role>,
    pub current: Role,
}

impl Grant {
    pub fn changed(&self) -> bool {
        self.previous != Some(self.current)
    }
}

/// Make the user a member with at least `role`, inside the caller's transaction: a new member gets
/// `role`, a lower one is upgraded, an equal or higher one (and the owner) is left alone. Access
/// granted by invites and passwords only ever goes up (the original never upgraded, §12 #25).
pub async fn grant_at_least_in(
    conn: &mut SqliteConnection,
    pad: PadId,
    user: UserId,
    role: Role,
) -> sqlx::Result<Grant> {
    let previous = role_in(conn, pad, user).await?;
    sqlx::query(&format!(
        "INSERT INTO pad_members (pad_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (pad_id, user_id) DO UPDATE SET role = excluded.role
         WHERE {RANK_OF_EXISTING} < {RANK_OF_NEW}"
    ))
    .bind(pad)
    .bind(user)
    .bind(role.as_str())
    .bind(now_text())
    .execute(&mut *conn)
    .await?;
    let current = role_in(conn, pad, user).await?.unwrap_or(role);
    Ok(Grant { previous, current })
}

/// `grant_at_least_in` in its own transaction (password unlock).
pub async fn grant_at_least(db: &Db, pad: PadId, user: UserId, role: Role) -> sqlx::Result<Grant> {
    let mut tx = db.pool().begin_with("BEGIN IMMEDIATE").await?;
    let grant = grant_at_least_in(&mut tx, pad, user, role).await?;
    tx.commit().await?;
    Ok(grant)
}
