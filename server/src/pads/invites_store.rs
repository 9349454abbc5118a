//! Invite rows. The only SQL that touches `invites`.
//!
//! Times are RFC 3339 UTC text with milliseconds (the format of `db::now_text`), so comparing them
//! as text compares them as instants. "Now" is always an argument, so tests can expire invites.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::roles::Role;
use super::store::{self, Grant, GrantOutcome};
use crate::db::{on_pool, on_tx, Backend, Db, PadId, UserId, WriteLock, WriteTx};

/// The stored form of an instant.
pub fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    pub id: i64,
    #[serde(skip)]
    pub pad_id: PadId,
    pub token: String,
    pub role: String,
    pub created_at: String,
    pub expires_at: String,
    pub max_uses: Option<i64>,
    pub uses: i64,
    #[serde(skip)]
    pub revoked_at: Option<String>,
}

const INVITE_COLUMNS: &str =
    "id, pad_id, token, role, created_at, expires_at, max_uses, uses, revoked_at";

/// Why an invite cannot be used (or that it can).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Live,
    /// Unknown or revoked: indistinguishable to the holder.
    Missing,
    Expired,
    UsedUp,
}

impl Invite {
    pub fn liveness(&self, now: DateTime<Utc>) -> Liveness {
        if self.revoked_at.is_some() {
            Liveness::Missing
        } else if self.expires_at <= time_text(now) {
            Liveness::Expired
        } else if self.max_uses.is_some_and(|max| self.uses >= max) {
            Liveness::UsedUp
        } else {
            Liveness::Live
        }
    }
}

pub struct NewInvite<'a> {
    pub pad: PadId,
    pub token: &'a str,
    pub role: Role,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub max_uses: Option<i64>,
}

pub async fn create(db: &Db, new: &NewInvite<'_>) -> sqlx::Result<Invite> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "INSERT INTO invites (pad_id, token, role, created_by, created_at, expires_at, max_uses)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {INVITE_COLUMNS}"
    ))
    .bind(new.pad)
    .bind(new.token)
    .bind(new.role.as_str())
    .bind(new.created_by)
    .bind(time_text(new.created_at))
    .bind(time_text(new.expires_at))
    .bind(new.max_uses)
    .fetch_one(pool)
    .await)
}

/// Invites of the pad that can still be accepted, newest first.
pub async fn list_live(db: &Db, pad: PadId, now: DateTime<Utc>) -> sqlx::Result<Vec<Invite>> {
    on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {INVITE_COLUMNS} FROM invites
         WHERE pad_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND (max_uses IS NULL OR uses < max_uses)
         ORDER BY id DESC"
    ))
    .bind(pad)
    .bind(time_text(now))
    .fetch_all(pool)
    .await
    })
}

/// Revoke an invite of this pad. The row stays (the audit trail names it); `None` when there is no
/// such unrevoked invite on this pad.
pub async fn revoke(
    db: &Db,
    pad: PadId,
    invite: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<Invite>> {
    on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "UPDATE invites SET revoked_at = $1 WHERE id = $2 AND pad_id = $3 AND revoked_at IS NULL RETURNING {INVITE_COLUMNS}"
    ))
    .bind(time_text(now))
    .bind(invite)
    .bind(pad)
    .fetch_optional(pool)
    .await
    })
}

/// An invite with the title and slug of its pad.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InviteWithPad {
    #[sqlx(flatten)]
    pub invite: Invite,
    pub pad_slug: String,
    pub pad_title: String,
}

const BY_TOKEN: &str = "SELECT invites.id, invites.pad_id, invites.token, invites.role, invites.created_at,
    invites.expires_at, invites.max_uses, invites.uses, invites.revoked_at, pads.slug AS pad_slug, pads.title AS pad_title
    FROM invites JOIN pads ON pads.id = invites.pad_id WHERE invites.token = $1";

pub async fn find_by_token(db: &Db, token: &str) -> sqlx::Result<Option<InviteWithPad>> {
    on_pool!(db, |pool| sqlx::query_as(BY_TOKEN)
        .bind(token)
        .fetch_optional(pool)
        .await)
}

async fn find_by_token_in(tx: &mut WriteTx, token: &str) -> sqlx::Result<Option<InviteWithPad>> {
    on_tx!(tx, |conn| sqlx::query_as(BY_TOKEN)
        .bind(token)
        .fetch_optional(&mut *conn)
        .await)
}

#[derive(Debug)]
pub enum AcceptOutcome {
    /// The membership the invite led to; a use was counted only when the grant changed something.
    Accepted {
        invite: Invite,
        pad_slug: String,
        grant: Grant,
    },
    Refused(Liveness),
    /// The owner removed this user from the pad; the invite was not used.
    Removed,
    /// The pad has its most members; the invite was not used.
    Full,
}

/// Accept an invite as `user`: check it, count a use and grant its role (upgrade only), all under
/// the pad's write lock (`WriteLock::Pad`), so two concurrent accepts of a one-use invite cannot
/// both win, on any node. A member whose
/// role is already at least the invite's keeps it and burns no use.
pub async fn accept(
    db: &Db,
    token: &str,
    user: UserId,
    now: DateTime<Utc>,
    max_members: usize,
) -> sqlx::Result<AcceptOutcome> {
    let mut tx = db.write_tx().await?;
    let mut found = find_by_token_in(&mut tx, token).await?;
    if let Some(pad) = found.as_ref().map(|f| f.invite.pad_id) {
        tx.lock(WriteLock::Pad(pad)).await?;
        // On PostgreSQL the first read came before the lock: another node may have used the
        // invite meanwhile. (SQLite's transaction held the write lock from the start.)
        if db.backend() == Backend::Postgres {
            found = find_by_token_in(&mut tx, token).await?;
        }
    }
    let Some(InviteWithPad {
        invite, pad_slug, ..
    }) = found
    else {
        return Ok(AcceptOutcome::Refused(Liveness::Missing));
    };
    let liveness = invite.liveness(now);
    let role = Role::parse(&invite.role).filter(|r| r.is_grantable());
    let (Liveness::Live, Some(role)) = (liveness, role) else {
        return Ok(AcceptOutcome::Refused(if liveness == Liveness::Live {
            Liveness::Missing
        } else {
            liveness
        }));
    };
    let grant =
        match store::grant_at_least_in(&mut tx, invite.pad_id, user, role, max_members).await? {
            GrantOutcome::Granted(grant) => grant,
            GrantOutcome::Removed => return Ok(AcceptOutcome::Removed),
            GrantOutcome::Full => return Ok(AcceptOutcome::Full),
        };
    let invite = if grant.changed() {
        on_tx!(tx, |conn| sqlx::query_as(&format!(
            "UPDATE invites SET uses = uses + 1 WHERE id = $1 RETURNING {INVITE_COLUMNS}"
        ))
        .bind(invite.id)
        .fetch_one(&mut *conn)
        .await)?
    } else {
        invite
    };
    tx.commit().await?;
    Ok(AcceptOutcome::Accepted {
        invite,
        pad_slug,
        grant,
    })
}
