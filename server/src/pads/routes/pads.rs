//! `/api/pads`, `/api/pads/{slug}` and `/api/pads/{slug}/fork` (SPEC §3).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{done, Done};
use crate::audit::AuditAction;
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::http::json::ApiJson;
use crate::pads::access::PadAccess;
use crate::pads::files_store::PadFile;
use crate::pads::lifecycle::{self, CreatePad, PadDetails, UpdatePad};
use crate::pads::roles::Role;
use crate::pads::store::{self, Pad};
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pads, create_pad))
        .routes(routes!(get_pad, update_pad, delete_pad))
        .routes(routes!(fork_pad))
}

#[derive(Deserialize, ToSchema)]
pub struct CreatePadRequest {
    /// 1–120 characters after trimming; default "<Language> pad".
    title: Option<String>,
    /// A language id or alias (`python`, `py`, `golang`, …); default python.
    language: Option<String>,
    /// `sandbox` (default) or `interview`.
    kind: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdatePadRequest {
    title: Option<String>,
    language: Option<String>,
    kind: Option<String>,
}

/// A new pad (created or forked) with its files and the caller's role.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PadCreated {
    pad: Pad,
    files: Vec<PadFile>,
    my_role: Role,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PadSummary {
    #[serde(flatten)]
    pad: Pad,
    my_role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct PadList {
    pads: Vec<PadSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct PadBody {
    pad: Pad,
}

/// Every pad the caller belongs to, newest first, each with the caller's role.
#[utoipa::path(get, path = "/api/pads", tag = "pads",
    responses((status = 200, body = PadList), (status = 401)))]
async fn list_pads(
    State(state): State<AppState>,
    current: CurrentUser,
) -> AppResult<Json<PadList>> {
    let pads = store::list_for_user(&state.db, current.user.id).await?;
    Ok(Json(PadList {
        pads: pads
            .into_iter()
            .map(|(pad, my_role)| PadSummary { pad, my_role })
            .collect(),
    }))
}

/// Create a pad owned by the caller, with the language's starter file (§3).
#[utoipa::path(post, path = "/api/pads", tag = "pads", request_body = CreatePadRequest,
    responses((status = 201, body = PadCreated), (status = 400), (status = 401)))]
async fn create_pad(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<CreatePadRequest>,
) -> AppResult<(StatusCode, Json<PadCreated>)> {
    let request = CreatePad {
        title: body.title.as_deref(),
        language: body.language.as_deref(),
        kind: body.kind.as_deref(),
    };
    let (pad, files) = lifecycle::create(&state, current.user.id, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(PadCreated {
            pad,
            files,
            my_role: Role::Owner,
        }),
    ))
}

/// The pad, its files and members, and the caller's role (any member).
#[utoipa::path(get, path = "/api/pads/{slug}", tag = "pads", params(("slug" = String, Path)),
    responses((status = 200, body = PadDetails), (status = 401), (status = 404)))]
async fn get_pad(State(state): State<AppState>, access: PadAccess) -> AppResult<Json<PadDetails>> {
    access.require(Role::can_view, "see this pad")?;
    Ok(Json(
        lifecycle::details(&state, access.pad, access.role).await?,
    ))
}

/// Change title, language and/or kind (owner).
#[utoipa::path(patch, path = "/api/pads/{slug}", tag = "pads", params(("slug" = String, Path)), request_body = UpdatePadRequest,
    responses((status = 200, body = PadBody), (status = 400), (status = 401), (status = 403), (status = 404)))]
async fn update_pad(
    State(state): State<AppState>,
    access: PadAccess,
    ApiJson(body): ApiJson<UpdatePadRequest>,
) -> AppResult<Json<PadBody>> {
    access.require(Role::can_manage, "change this pad")?;
    let request = UpdatePad {
        title: body.title.as_deref(),
        language: body.language.as_deref(),
        kind: body.kind.as_deref(),
    };
    Ok(Json(PadBody {
        pad: lifecycle::update(&state, &access.pad, request).await?,
    }))
}

/// Delete the pad and everything in it (owner; audited `pad.delete`).
#[utoipa::path(delete, path = "/api/pads/{slug}", tag = "pads", params(("slug" = String, Path)),
    responses((status = 200, body = Done), (status = 401), (status = 403), (status = 404)))]
async fn delete_pad(State(state): State<AppState>, access: PadAccess) -> AppResult<Json<Done>> {
    access.require(Role::can_manage, "delete this pad")?;
    lifecycle::delete(
        &state,
        &access.current.actor,
        &access.pad,
        AuditAction::PadDelete,
    )
    .await?;
    Ok(done())
}

/// Copy the pad's files and their current text into a new pad owned by the caller (owner,
/// collaborator, viewer; audited `pad.fork`). 413 `doc_too_large` if the copy would not fit in
/// a document.
#[utoipa::path(post, path = "/api/pads/{slug}/fork", tag = "pads", params(("slug" = String, Path)),
    responses((status = 201, body = PadCreated), (status = 401), (status = 403), (status = 404), (status = 413)))]
async fn fork_pad(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<(StatusCode, Json<PadCreated>)> {
    access.require(Role::can_fork, "fork this pad")?;
    let (pad, files) = lifecycle::fork(
        &state,
        &access.current.actor,
        access.current.user.id,
        &access.pad,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(PadCreated {
            pad,
            files,
            my_role: Role::Owner,
        }),
    ))
}
