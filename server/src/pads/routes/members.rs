//! `/api/pads/{slug}/members[/{userId}]` and `/api/pads/{slug}/leave` (SPEC §3).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{done, Done, PathOr404};
use crate::db::UserId;
use crate::error::AppResult;
use crate::http::json::ApiJson;
use crate::pads::access::PadAccess;
use crate::pads::members::{self, parse_grantable_role, parse_user_id};
use crate::pads::roles::Role;
use crate::pads::store::{self, Member, Removal};
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(change_member_role, kick_member))
        .routes(routes!(leave_pad))
        .routes(routes!(list_removals))
        .routes(routes!(readmit_removed))
}

#[derive(Deserialize)]
struct MemberPath {
    #[serde(rename = "userId")]
    user_id: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeRoleRequest {
    /// collaborator, candidate or viewer.
    role: String,
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    members: Vec<Member>,
}

#[derive(Serialize, ToSchema)]
pub struct RemovalList {
    removed: Vec<Removal>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleChanged {
    #[schema(value_type = i64)]
    user_id: UserId,
    role: Role,
}

/// Members with their names and roles (any member).
#[utoipa::path(get, path = "/api/pads/{slug}/members", tag = "members", params(("slug" = String, Path)),
    responses((status = 200, body = MemberList), (status = 401), (status = 404)))]
async fn list_members(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<MemberList>> {
    access.require(Role::can_view, "see this pad's members")?;
    Ok(Json(MemberList {
        members: store::members(&state.db, access.pad.id).await?,
    }))
}

/// Change a member's role (owner; never the owner's, never to owner; audited `member.role.change`).
#[utoipa::path(patch, path = "/api/pads/{slug}/members/{userId}", tag = "members",
    params(("slug" = String, Path), ("userId" = i64, Path)), request_body = ChangeRoleRequest,
    responses((status = 200, body = RoleChanged), (status = 400), (status = 401), (status = 403), (status = 404)))]
async fn change_member_role(
    State(state): State<AppState>,
    access: PadAccess,
    PathOr404(path): PathOr404<MemberPath>,
    ApiJson(body): ApiJson<ChangeRoleRequest>,
) -> AppResult<Json<RoleChanged>> {
    access.require(Role::can_manage, "change roles")?;
    let target = parse_user_id(&path.user_id)?;
    let role = parse_grantable_role(&body.role)?;
    let role =
        members::change_role(&state, &access.current.actor, &access.pad, target, role).await?;
    Ok(Json(RoleChanged {
        user_id: target,
        role,
    }))
}

/// Remove a member (owner; not the owner; audited `member.kick`). Their sockets close at once.
#[utoipa::path(delete, path = "/api/pads/{slug}/members/{userId}", tag = "members",
    params(("slug" = String, Path), ("userId" = i64, Path)),
    responses((status = 200, body = Done), (status = 400), (status = 401), (status = 403), (status = 404)))]
async fn kick_member(
    State(state): State<AppState>,
    access: PadAccess,
    PathOr404(path): PathOr404<MemberPath>,
) -> AppResult<Json<Done>> {
    access.require(Role::can_manage, "remove members")?;
    members::kick(
        &state,
        &access.current.actor,
        &access.pad,
        parse_user_id(&path.user_id)?,
    )
    .await?;
    Ok(done())
}

/// Leave the pad (any member but the owner: 400 `owner_cannot_leave`; audited `member.leave`).
#[utoipa::path(post, path = "/api/pads/{slug}/leave", tag = "members", params(("slug" = String, Path)),
    responses((status = 200, body = Done), (status = 400), (status = 401), (status = 404)))]
async fn leave_pad(State(state): State<AppState>, access: PadAccess) -> AppResult<Json<Done>> {
    access.require(Role::can_view, "leave this pad")?;
    members::leave(
        &state,
        &access.current.actor,
        &access.pad,
        access.current.user.id,
    )
    .await?;
    Ok(done())
}

/// People the owner removed, who cannot rejoin through invites or the password (owner).
#[utoipa::path(get, path = "/api/pads/{slug}/removed", tag = "members", params(("slug" = String, Path)),
    responses((status = 200, body = RemovalList), (status = 401), (status = 403), (status = 404)))]
async fn list_removals(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<RemovalList>> {
    access.require(Role::can_manage, "see who was removed")?;
    Ok(Json(RemovalList {
        removed: store::removals(&state.db, access.pad.id).await?,
    }))
}

/// Re-admit a removed user: invites and the password work for them again (owner; audited
/// `member.readmit`). Grants no role by itself.
#[utoipa::path(delete, path = "/api/pads/{slug}/removed/{userId}", tag = "members",
    params(("slug" = String, Path), ("userId" = i64, Path)),
    responses((status = 200, body = Done), (status = 401), (status = 403), (status = 404)))]
async fn readmit_removed(
    State(state): State<AppState>,
    access: PadAccess,
    PathOr404(path): PathOr404<MemberPath>,
) -> AppResult<Json<Done>> {
    access.require(Role::can_manage, "re-admit removed people")?;
    members::readmit(
        &state,
        &access.current.actor,
        &access.pad,
        parse_user_id(&path.user_id)?,
    )
    .await?;
    Ok(done())
}
