//! Pad and membership rows. The only SQL that touches `pads` and `pad_members`.
//!
//! Writes that read first (role changes, grants, kicks) run in `Db::write_tx` transactions holding
//! the pad's `WriteLock::Pad`, so two concurrent grants, or a grant and a kick, serialise on every
//! node instead of acting on a stale read.

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::files_store::{self, NewFile, PadFile};
use super::roles::Role;
use crate::db::{now_text, on_pool, on_tx, Db, PadId, UserId, WriteLock, WriteTx};

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

pub const PAD_COLUMNS: &str =
    "id, slug, title, language, kind, owner_id, password_hash IS NOT NULL AS has_password, \
password_role, created_at, updated_at";

/// SQL that ranks a role column like `Role::rank`, for upgrade-only grants.
const RANK_OF_EXISTING: &str =
    "CASE pad_members.role WHEN 'owner' THEN 4 WHEN 'collaborator' THEN 3 WHEN 'candidate' THEN 2 ELSE 1 END";
const RANK_OF_NEW: &str =
    "CASE excluded.role WHEN 'owner' THEN 4 WHEN 'collaborator' THEN 3 WHEN 'candidate' THEN 2 ELSE 1 END";

/// The pad and the user's role on it, in one query: this runs on every pad request and message,
/// inline when the database allows. Like every lookup by slug, it never finds an interview's
/// private notes companion (`interviews::notes`), which is no pad to anyone.
pub async fn find_with_role(
    db: &Db,
    slug: &str,
    user: UserId,
) -> sqlx::Result<Option<(Pad, Option<Role>)>> {
    let sql = format!(
        "SELECT {PAD_COLUMNS}, m.role AS my_role FROM pads \
         LEFT JOIN pad_members m ON m.pad_id = pads.id AND m.user_id = $1 \
         WHERE pads.slug = $2 AND pads.notes_of IS NULL"
    );
    let inline = db.inline(|conn| {
        let mut statement = conn.prepare_cached(&sql)?;
        statement
            .query_row(rusqlite::params![user.0, slug], |row| {
                Ok(PadWithRole {
                    pad: pad_from_row(row)?,
                    my_role: row.get(10)?,
                })
            })
            .optional()
    });
    let row: Option<PadWithRole> = match inline {
        Some(row) => row?,
        None => on_pool!(db, |pool| sqlx::query_as(&sql)
            .bind(user)
            .bind(slug)
            .fetch_optional(pool)
            .await)?,
    };
    Ok(row.map(|r| (r.pad, r.my_role.as_deref().and_then(Role::parse))))
}

/// A `Pad` from the first columns of a row selected with `PAD_COLUMNS`.
fn pad_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Pad> {
    Ok(Pad {
        id: PadId(row.get(0)?),
        slug: row.get(1)?,
        title: row.get(2)?,
        language: row.get(3)?,
        kind: row.get(4)?,
        owner_id: UserId(row.get(5)?),
        has_password: row.get(6)?,
        password_role: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

pub async fn find_by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<Pad>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {PAD_COLUMNS} FROM pads WHERE slug = $1 AND notes_of IS NULL"
    ))
    .bind(slug)
    .fetch_optional(pool)
    .await)
}

pub async fn find(db: &Db, id: PadId) -> sqlx::Result<Option<Pad>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {PAD_COLUMNS} FROM pads WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)
}

/// The caller's current role on the pad, or `None` when they are not a member.
pub async fn member_role(db: &Db, pad: PadId, user: UserId) -> sqlx::Result<Option<Role>> {
    let role: Option<String> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT role FROM pad_members WHERE pad_id = $1 AND user_id = $2"
    )
    .bind(pad)
    .bind(user)
    .fetch_optional(pool)
    .await)?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// Every pad the user belongs to, as `(pad, slug, role)`: what deleting the account takes with it
/// (the pads they own) and whose member lists change (the others).
pub async fn memberships_of(db: &Db, user: UserId) -> sqlx::Result<Vec<(PadId, String, Role)>> {
    let rows: Vec<(PadId, String, String)> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT pads.id, pads.slug, pad_members.role FROM pad_members JOIN pads ON pads.id = pad_members.pad_id
         WHERE pad_members.user_id = $1 ORDER BY pads.id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|(pad, slug, role)| Some((pad, slug, Role::parse(&role)?)))
        .collect())
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
pub async fn create_with_files(
    db: &Db,
    new: &NewPad<'_>,
    files: &[NewFile],
) -> sqlx::Result<(Pad, Vec<PadFile>)> {
    let mut tx = db.write_tx().await?;
    let now = now_text();
    let pad: Pad = on_tx!(tx, |conn| sqlx::query_as(&format!(
        "INSERT INTO pads (slug, title, language, kind, owner_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {PAD_COLUMNS}"
    ))
    .bind(new.slug)
    .bind(new.title)
    .bind(new.language)
    .bind(new.kind)
    .bind(new.owner)
    .bind(&now)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await)?;
    on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO pad_members (pad_id, user_id, role, joined_at) VALUES ($1, $2, 'owner', $3)"
    )
    .bind(pad.id)
    .bind(new.owner)
    .bind(&now)
    .execute(&mut *conn)
    .await
    .map(|done| done.rows_affected()))?;
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
    let rows: Vec<PadWithRole> = on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {PAD_COLUMNS}, (SELECT role FROM pad_members m WHERE m.pad_id = pads.id AND m.user_id = $1) AS my_role
         FROM pads WHERE id IN (SELECT pad_id FROM pad_members WHERE user_id = $1)
         ORDER BY created_at DESC, id DESC"
    ))
    .bind(user)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            row.my_role
                .as_deref()
                .and_then(Role::parse)
                .map(|role| (row.pad, role))
        })
        .collect())
}

/// Change any of title, language and kind (`None` keeps the current value).
pub async fn update(
    db: &Db,
    pad: PadId,
    title: Option<&str>,
    language: Option<&str>,
    kind: Option<&str>,
) -> sqlx::Result<Option<Pad>> {
    on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "UPDATE pads SET title = COALESCE($1, title), language = COALESCE($2, language), kind = COALESCE($3, kind),
         updated_at = $4 WHERE id = $5 RETURNING {PAD_COLUMNS}"
    ))
    .bind(title)
    .bind(language)
    .bind(kind)
    .bind(now_text())
    .bind(pad)
    .fetch_optional(pool)
    .await
    })
}

/// Delete the pad; files, members, invites and its document go with it through the foreign keys.
pub async fn delete(db: &Db, pad: PadId) -> sqlx::Result<bool> {
    let done = on_pool!(db, |pool| sqlx::query("DELETE FROM pads WHERE id = $1")
        .bind(pad)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}

/// The password hash and the role it grants, when the pad has a password.
pub async fn password(db: &Db, pad: PadId) -> sqlx::Result<Option<(String, Role)>> {
    let row: Option<(Option<String>, Option<String>)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT password_hash, password_role FROM pads WHERE id = $1"
    )
    .bind(pad)
    .fetch_optional(pool)
    .await)?;
    Ok(match row {
        Some((Some(hash), Some(role))) => Role::parse(&role).map(|role| (hash, role)),
        _ => None,
    })
}

/// Set (`Some`) or clear (`None`) the password and the role it grants.
pub async fn set_password(
    db: &Db,
    pad: PadId,
    password: Option<(&str, Role)>,
) -> sqlx::Result<Option<Pad>> {
    on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "UPDATE pads SET password_hash = $1, password_role = $2, updated_at = $3 WHERE id = $4 RETURNING {PAD_COLUMNS}"
    ))
    .bind(password.map(|(hash, _)| hash))
    .bind(password.map(|(_, role)| role.as_str()))
    .bind(now_text())
    .bind(pad)
    .fetch_optional(pool)
    .await
    })
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
/// (Read inline when the database allows: every pad page and member change reads it.)
pub async fn members(db: &Db, pad: PadId) -> sqlx::Result<Vec<Member>> {
    let sql = format!(
        "SELECT pad_members.user_id, users.name, pad_members.role, pad_members.joined_at
         FROM pad_members JOIN users ON users.id = pad_members.user_id
         WHERE pad_members.pad_id = $1
         ORDER BY {RANK_OF_EXISTING} DESC, pad_members.joined_at, pad_members.user_id"
    );
    let inline = db.inline(|conn| {
        conn.prepare_cached(&sql)?
            .query_map([pad.0], |row| {
                Ok(Member {
                    user_id: UserId(row.get(0)?),
                    name: row.get(1)?,
                    role: row.get(2)?,
                    joined_at: row.get(3)?,
                })
            })?
            .collect()
    });
    if let Some(members) = inline {
        return members;
    }
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(pad)
        .fetch_all(pool)
        .await)
}

/// Set a non-owner member's role. Returns the previous role, or `None` when the user is not a
/// member or is the owner (the owner row is never touched).
pub async fn change_role(
    db: &Db,
    pad: PadId,
    user: UserId,
    role: Role,
) -> sqlx::Result<Option<Role>> {
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::Pad(pad)).await?;
    let previous = role_in(&mut tx, pad, user).await?;
    let Some(previous) = previous.filter(|r| *r != Role::Owner) else {
        return Ok(None);
    };
    on_tx!(tx, |conn| sqlx::query(
        "UPDATE pad_members SET role = $1 WHERE pad_id = $2 AND user_id = $3 AND role != 'owner'"
    )
    .bind(role.as_str())
    .bind(pad)
    .bind(user)
    .execute(&mut *conn)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(Some(previous))
}

/// Remove a non-owner member who leaves. Returns the role they had, or `None` when they were not a
/// member or are the owner.
pub async fn remove_member(db: &Db, pad: PadId, user: UserId) -> sqlx::Result<Option<Role>> {
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::Pad(pad)).await?;
    let role = delete_member_in(&mut tx, pad, user).await?;
    tx.commit().await?;
    Ok(role)
}

/// Kick a non-owner member: remove them and record the removal in one transaction, so no invite
/// or password grant can slip in between (grants check the removal inside their own transaction).
/// Returns the role they had, or `None` when they were not a member or are the owner.
pub async fn kick_member(
    db: &Db,
    pad: PadId,
    user: UserId,
    by: UserId,
) -> sqlx::Result<Option<Role>> {
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::Pad(pad)).await?;
    let role = delete_member_in(&mut tx, pad, user).await?;
    if role.is_some() {
        on_tx!(tx, |conn| {
            sqlx::query(
            "INSERT INTO pad_removals (pad_id, user_id, removed_by, removed_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (pad_id, user_id) DO UPDATE SET removed_by = excluded.removed_by, removed_at = excluded.removed_at",
        )
        .bind(pad)
        .bind(user)
        .bind(by)
        .bind(now_text())
        .execute(&mut *conn)
        .await.map(|done| done.rows_affected())
        })?;
    }
    tx.commit().await?;
    Ok(role)
}

async fn delete_member_in(
    tx: &mut WriteTx,
    pad: PadId,
    user: UserId,
) -> sqlx::Result<Option<Role>> {
    let role: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
        "DELETE FROM pad_members WHERE pad_id = $1 AND user_id = $2 AND role != 'owner' RETURNING role",
    )
    .bind(pad)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await
    })?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// A user the owner removed, as the owner's list of removed people shows them.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Removal {
    #[schema(value_type = i64)]
    pub user_id: UserId,
    pub name: String,
    pub removed_at: String,
}

/// People removed from the pad, most recent first.
pub async fn removals(db: &Db, pad: PadId) -> sqlx::Result<Vec<Removal>> {
    on_pool!(db, |pool| sqlx::query_as(
        "SELECT pad_removals.user_id, users.name, pad_removals.removed_at
         FROM pad_removals JOIN users ON users.id = pad_removals.user_id
         WHERE pad_removals.pad_id = $1
         ORDER BY pad_removals.removed_at DESC, pad_removals.user_id",
    )
    .bind(pad)
    .fetch_all(pool)
    .await)
}

/// Lift a removal (re-admit); `false` when the user was not removed.
pub async fn readmit(db: &Db, pad: PadId, user: UserId) -> sqlx::Result<bool> {
    let done = on_pool!(db, |pool| sqlx::query(
        "DELETE FROM pad_removals WHERE pad_id = $1 AND user_id = $2"
    )
    .bind(pad)
    .bind(user)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}

/// Whether the owner removed the user from the pad (and has not re-admitted them).
pub async fn is_removed(db: &Db, pad: PadId, user: UserId) -> sqlx::Result<bool> {
    on_pool!(db, |pool| sqlx::query_scalar(IS_REMOVED)
        .bind(pad)
        .bind(user)
        .fetch_one(pool)
        .await)
}

const IS_REMOVED: &str =
    "SELECT EXISTS (SELECT 1 FROM pad_removals WHERE pad_id = $1 AND user_id = $2)";

async fn is_removed_in(tx: &mut WriteTx, pad: PadId, user: UserId) -> sqlx::Result<bool> {
    on_tx!(tx, |conn| sqlx::query_scalar(IS_REMOVED)
        .bind(pad)
        .bind(user)
        .fetch_one(&mut *conn)
        .await)
}

async fn role_in(tx: &mut WriteTx, pad: PadId, user: UserId) -> sqlx::Result<Option<Role>> {
    let role: Option<String> = on_tx!(tx, |conn| sqlx::query_scalar(
        "SELECT role FROM pad_members WHERE pad_id = $1 AND user_id = $2"
    )
    .bind(pad)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await)?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// The result of an upgrade-only grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantOutcome {
    Granted(Grant),
    /// The owner removed this user from the pad and has not re-admitted them: nothing changed.
    Removed,
    /// The user is not a member and the pad already has its most members: nothing changed.
    Full,
}

/// The membership an upgrade-only grant led to.
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

/// Make the user a member with at least `role`, inside the caller's transaction (which holds the
/// pad's `WriteLock::Pad`): a new member gets
/// `role`, a lower one is upgraded, an equal or higher one (and the owner) is left alone. Access
/// granted by invites and passwords only ever goes up (the original never upgraded, §12 #25). A
/// user the owner removed gets nothing until re-admitted. A newcomer is refused once the pad has
/// `max_members` (the count is read under the pad's lock, so concurrent joins cannot overshoot).
pub async fn grant_at_least_in(
    tx: &mut WriteTx,
    pad: PadId,
    user: UserId,
    role: Role,
    max_members: usize,
) -> sqlx::Result<GrantOutcome> {
    if is_removed_in(tx, pad, user).await? {
        return Ok(GrantOutcome::Removed);
    }
    let previous = role_in(tx, pad, user).await?;
    if previous.is_none() {
        let members: i64 = on_tx!(tx, |conn| sqlx::query_scalar(
            "SELECT COUNT(*) FROM pad_members WHERE pad_id = $1"
        )
        .bind(pad)
        .fetch_one(&mut *conn)
        .await)?;
        if members >= max_members as i64 {
            return Ok(GrantOutcome::Full);
        }
    }
    on_tx!(tx, |conn| sqlx::query(&format!(
        "INSERT INTO pad_members (pad_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (pad_id, user_id) DO UPDATE SET role = excluded.role
         WHERE {RANK_OF_EXISTING} < {RANK_OF_NEW}"
    ))
    .bind(pad)
    .bind(user)
    .bind(role.as_str())
    .bind(now_text())
    .execute(&mut *conn)
    .await
    .map(|done| done.rows_affected()))?;
    let current = role_in(tx, pad, user).await?.unwrap_or(role);
    Ok(GrantOutcome::Granted(Grant { previous, current }))
}

/// `grant_at_least_in` in its own transaction (password unlock).
pub async fn grant_at_least(
    db: &Db,
    pad: PadId,
    user: UserId,
    role: Role,
    max_members: usize,
) -> sqlx::Result<GrantOutcome> {
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::Pad(pad)).await?;
    let grant = grant_at_least_in(&mut tx, pad, user, role, max_members).await?;
    tx.commit().await?;
    Ok(grant)
}
