//! `PadAccess`: the pad named in the path plus the caller's *current* role, loaded from the
//! database on every request and every WebSocket message (SPEC §3). A non-member gets exactly the
//! answer a missing pad gets: 404.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::Deserialize;

use super::roles::Role;
use super::store::{self, Pad};
use crate::auth::CurrentUser;
use crate::db::{PadId, UserId};
use crate::error::{AppError, AppResult};
use crate::interviews::switches::Surface;
use crate::AppState;

#[derive(Debug, Clone)]
pub struct PadAccess {
    pub pad: Pad,
    pub role: Role,
    pub current: CurrentUser,
}

/// The pad and the user's role on it; 404 when either is missing, 403 `waiting_room` for a
/// candidate an interviewer has not let in yet (`interviews::waiting_room`).
pub async fn load_access(state: &AppState, slug: &str, user: UserId) -> AppResult<(Pad, Role)> {
    let (pad, role) = load_membership(state, slug, user).await?;
    crate::interviews::waiting_room::require_admitted(state, pad.id, user, role).await?;
    Ok((pad, role))
}

/// `load_access` without the waiting room: only for the waiting room's own knock.
pub async fn load_membership(state: &AppState, slug: &str, user: UserId) -> AppResult<(Pad, Role)> {
    match store::find_with_role(&state.db, slug, user).await? {
        Some((pad, Some(role))) => Ok((pad, role)),
        _ => Err(AppError::NotFound),
    }
}

/// Why a live socket no longer has access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessLost {
    /// The user's sessions were revoked (logout everywhere, account deleted).
    SessionRevoked,
    /// The user is no longer a member (kicked, left).
    NotAMember,
    /// The pad is gone.
    PadDeleted,
}

/// The role a live socket has *now*, re-read from the database. Sockets read the role at the
/// upgrade, but access changes reach them only once they have joined their pad's live state; a
/// kick, downgrade, revocation or deletion that lands in between would be missed. Reading again
/// right after joining closes that window: anything earlier is in the database, anything later
/// arrives as an event. `session_epoch` is the one the socket's token was checked against.
pub async fn live_role(
    state: &AppState,
    pad: PadId,
    user: UserId,
    session_epoch: i64,
) -> AppResult<Result<Role, AccessLost>> {
    match crate::auth::store::find(&state.db, user).await? {
        Some(found) if found.session_epoch == session_epoch => {}
        _ => return Ok(Err(AccessLost::SessionRevoked)),
    }
    if let Some(role) = store::member_role(&state.db, pad, user).await? {
        return Ok(Ok(role));
    }
    Ok(Err(if store::find(&state.db, pad).await?.is_some() {
        AccessLost::NotAMember
    } else {
        AccessLost::PadDeleted
    }))
}

impl PadAccess {
    /// Fail with 403 unless the role has the capability (the caller is a member, so the pad's
    /// existence is no secret to them).
    pub fn require(&self, allowed: fn(Role) -> bool, what: &str) -> AppResult<()> {
        if allowed(self.role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "your role ({}) may not {what}",
                self.role.as_str()
            )))
        }
    }

    /// Fail with 403 (the switch's code) when the pad's interview switches close `surface` to
    /// this role (`interviews::switches`).
    pub async fn require_open(&self, state: &AppState, surface: Surface) -> AppResult<()> {
        crate::interviews::switches::require(state, self.pad.id, self.role, surface).await
    }
}

#[derive(Deserialize)]
struct SlugParam {
    slug: String,
}

/// The caller and the pad slug of a request, before any access is decided.
async fn caller_and_slug(parts: &mut Parts, state: &AppState) -> AppResult<(CurrentUser, String)> {
    let current = CurrentUser::from_request_parts(parts, state).await?;
    let Path(params) = Path::<SlugParam>::from_request_parts(parts, state)
        .await
        .map_err(|_| AppError::NotFound)?;
    Ok((current, params.slug))
}

impl FromRequestParts<AppState> for PadAccess {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (current, slug) = caller_and_slug(parts, state).await?;
        let (pad, role) = load_access(state, &slug, current.user.id).await?;
        Ok(PadAccess { pad, role, current })
    }
}

/// A member's access before the waiting room decided on them (`load_membership`): only for the
/// waiting room's knock, which a candidate must reach while they wait.
#[derive(Debug, Clone)]
pub struct PadMembership(pub PadAccess);

impl FromRequestParts<AppState> for PadMembership {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (current, slug) = caller_and_slug(parts, state).await?;
        let (pad, role) = load_membership(state, &slug, current.user.id).await?;
        Ok(PadMembership(PadAccess { pad, role, current }))
    }
}
