//! `/api/pads/{slug}/invites[/{inviteId}]` (owner) and `/api/invites/{token}[/accept]` (SPEC §3).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{done, Done, PathOr404};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::http::json::ApiJson;
use crate::pads::access::PadAccess;
use crate::pads::invites::{self, CreateInvite, InvitePreview, InviteView, Joined, PublicBase};
use crate::pads::roles::Role;
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_invite, list_invites))
        .routes(routes!(revoke_invite))
        .routes(routes!(preview_invite))
        .routes(routes!(accept_invite))
}

#[derive(Deserialize)]
struct InvitePath {
    #[serde(rename = "inviteId")]
    invite_id: String,
}

#[derive(Deserialize)]
struct TokenPath {
    token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateInviteRequest {
    /// collaborator, candidate or viewer.
    role: String,
    /// 1–720; default 168 (7 days).
    expires_in_hours: Option<i64>,
    /// 1–1000; default unlimited until expiry.
    max_uses: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct InviteBody {
    invite: InviteView,
}

#[derive(Serialize, ToSchema)]
pub struct InviteList {
    invites: Vec<InviteView>,
}

/// Create an invite link (owner; audited `invite.create`).
#[utoipa::path(post, path = "/api/pads/{slug}/invites", tag = "invites", params(("slug" = String, Path)),
    request_body = CreateInviteRequest,
    responses((status = 201, body = InviteBody), (status = 400), (status = 401), (status = 403), (status = 404)))]
async fn create_invite(
    State(state): State<AppState>,
    access: PadAccess,
    base: PublicBase,
    ApiJson(body): ApiJson<CreateInviteRequest>,
) -> AppResult<(StatusCode, Json<InviteBody>)> {
    access.require(Role::can_manage, "invite people")?;
    let request = CreateInvite {
        role: &body.role,
        expires_in_hours: body.expires_in_hours,
        max_uses: body.max_uses,
    };
    let invite = invites::create(
        &state,
        &access.current.actor,
        &access.pad,
        access.current.user.id,
        request,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(InviteBody {
            invite: InviteView::new(invite, &base),
        }),
    ))
}

/// Invites that can still be accepted (owner).
#[utoipa::path(get, path = "/api/pads/{slug}/invites", tag = "invites", params(("slug" = String, Path)),
    responses((status = 200, body = InviteList), (status = 401), (status = 403), (status = 404)))]
async fn list_invites(
    State(state): State<AppState>,
    access: PadAccess,
    base: PublicBase,
) -> AppResult<Json<InviteList>> {
    access.require(Role::can_manage, "see invites")?;
    let list = invites::list(&state, &access.pad).await?;
    Ok(Json(InviteList {
        invites: list
            .into_iter()
            .map(|i| InviteView::new(i, &base))
            .collect(),
    }))
}

/// Revoke an invite (owner; audited `invite.revoke`).
#[utoipa::path(delete, path = "/api/pads/{slug}/invites/{inviteId}", tag = "invites",
    params(("slug" = String, Path), ("inviteId" = i64, Path)),
    responses((status = 200, body = Done), (status = 401), (status = 403), (status = 404)))]
async fn revoke_invite(
    State(state): State<AppState>,
    access: PadAccess,
    PathOr404(path): PathOr404<InvitePath>,
) -> AppResult<Json<Done>> {
    access.require(Role::can_manage, "revoke invites")?;
    invites::revoke(&state, &access.current.actor, &access.pad, &path.invite_id).await?;
    Ok(done())
}

/// Public preview of an invite: only the pad's title, the role and the expiry. 404 unknown or
/// revoked; 410 `invite_expired` / `invite_used_up`.
#[utoipa::path(get, path = "/api/invites/{token}", tag = "invites", params(("token" = String, Path)),
    responses((status = 200, body = InvitePreview), (status = 404), (status = 410)))]
async fn preview_invite(
    State(state): State<AppState>,
    PathOr404(path): PathOr404<TokenPath>,
) -> AppResult<Json<InvitePreview>> {
    Ok(Json(
        invites::preview(&state, &path.token, Utc::now()).await?,
    ))
}

/// Accept an invite: join the pad or be upgraded to the invite's role (never downgraded; audited
/// `invite.accept`).
#[utoipa::path(post, path = "/api/invites/{token}/accept", tag = "invites", params(("token" = String, Path)),
    responses((status = 200, body = Joined), (status = 401), (status = 404), (status = 410)))]
async fn accept_invite(
    State(state): State<AppState>,
    current: CurrentUser,
    PathOr404(path): PathOr404<TokenPath>,
) -> AppResult<Json<Joined>> {
    Ok(Json(
        invites::accept(
            &state,
            &current.actor,
            current.user.id,
            &path.token,
            Utc::now(),
        )
        .await?,
    ))
}
