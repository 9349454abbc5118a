//! `/api/pads/{slug}/password` (owner), `/preview` and `/unlock` (any signed-in user) (SPEC §3).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::PathOr404;
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::http::client_ip::ClientIp;
use crate::http::json::ApiJson;
use crate::pads::access::PadAccess;
use crate::pads::invites::Joined;
use crate::pads::passwords::{self, PadPreview};
use crate::pads::roles::Role;
use crate::pads::store::Pad;
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_password, clear_password))
        .routes(routes!(preview_pad))
        .routes(routes!(unlock_pad))
}

#[derive(Deserialize)]
struct SlugPath {
    slug: String,
}

#[derive(Deserialize, ToSchema)]
pub struct SetPasswordRequest {
    /// 1–200 characters.
    password: String,
    /// The role the password grants: collaborator, candidate or viewer.
    role: String,
}

#[derive(Deserialize, ToSchema)]
pub struct UnlockRequest {
    password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordState {
    pad: Pad,
    has_password: bool,
}

/// Set or replace the pad's password and the role it grants (owner; audited `pad.password.set`
/// with the role, never the password).
#[utoipa::path(put, path = "/api/pads/{slug}/password", tag = "passwords", params(("slug" = String, Path)),
    request_body = SetPasswordRequest,
    responses((status = 200, body = PasswordState), (status = 400), (status = 401), (status = 403), (status = 404)))]
async fn set_password(
    State(state): State<AppState>,
    access: PadAccess,
    ApiJson(body): ApiJson<SetPasswordRequest>,
) -> AppResult<Json<PasswordState>> {
    access.require(Role::can_manage, "set the password")?;
    let pad = passwords::set(
        &state,
        &access.current.actor,
        &access.pad,
        body.password,
        &body.role,
    )
    .await?;
    Ok(Json(PasswordState {
        has_password: pad.has_password,
        pad,
    }))
}

/// Remove the password (owner; audited `pad.password.clear`).
#[utoipa::path(delete, path = "/api/pads/{slug}/password", tag = "passwords", params(("slug" = String, Path)),
    responses((status = 200, body = PasswordState), (status = 401), (status = 403), (status = 404)))]
async fn clear_password(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<PasswordState>> {
    access.require(Role::can_manage, "clear the password")?;
    let pad = passwords::clear(&state, &access.current.actor, &access.pad).await?;
    Ok(Json(PasswordState {
        has_password: pad.has_password,
        pad,
    }))
}

/// What the unlock screen shows: title and `hasPassword` for password pads and for members; 404
/// for anyone else, exactly like a missing pad.
#[utoipa::path(get, path = "/api/pads/{slug}/preview", tag = "passwords", params(("slug" = String, Path)),
    responses((status = 200, body = PadPreview), (status = 401), (status = 404)))]
async fn preview_pad(
    State(state): State<AppState>,
    current: CurrentUser,
    PathOr404(path): PathOr404<SlugPath>,
) -> AppResult<Json<PadPreview>> {
    Ok(Json(
        passwords::preview(&state, &path.slug, current.user.id).await?,
    ))
}

/// Join a password pad with its configured role (or be upgraded to it). Throttled per pad and per
/// client: 429 with `Retry-After` before any bcrypt work; 401 `wrong_password` (audited
/// `pad.unlock.fail`); success audited `pad.unlock`.
#[utoipa::path(post, path = "/api/pads/{slug}/unlock", tag = "passwords", params(("slug" = String, Path)),
    request_body = UnlockRequest,
    responses((status = 200, body = Joined), (status = 400), (status = 401), (status = 404), (status = 429)))]
async fn unlock_pad(
    State(state): State<AppState>,
    current: CurrentUser,
    ClientIp(ip): ClientIp,
    PathOr404(path): PathOr404<SlugPath>,
    ApiJson(body): ApiJson<UnlockRequest>,
) -> AppResult<Json<Joined>> {
    Ok(Json(
        passwords::unlock(
            &state,
            &current.actor,
            current.user.id,
            ip,
            &path.slug,
            body.password,
        )
        .await?,
    ))
}
