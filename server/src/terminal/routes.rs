//! The terminal's routes (SPEC §6): the socket `GET /ws/pad/{slug}/terminal` (not in the OpenAPI
//! description, which cannot describe WebSockets) and two actions for roles that may type:
//! `POST /api/pads/{slug}/terminal/restart` and `POST /api/pads/{slug}/terminal/sync-files`.

use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::AppResult;
use crate::http::json::ApiJson;
use crate::interviews::switches::Surface;
use crate::pads::access::PadAccess;
use crate::pads::roles::Role;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(restart))
        .routes(routes!(sync_files))
        .route("/ws/pad/{slug}/terminal", get(super::ws::upgrade))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Restarted {
    /// Always `starting`: everyone on the terminal is told when it runs.
    pub state: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Synced {
    /// Files written into the workspace (overwriting same-named ones; others are left alone).
    pub files: usize,
}

/// Replace the pad's terminal with a fresh container and shell (everyone connected sees it).
#[utoipa::path(post, path = "/api/pads/{slug}/terminal/restart", tag = "terminal",
    params(("slug" = String, Path)),
    responses((status = 200, body = Restarted), (status = 403, description = "role may not type in the terminal"),
        (status = 404), (status = 409, description = "terminal_not_open: nobody has the terminal open"),
        (status = 429, description = "a restart within 2 s of the last start, or no container place left (the message says which)")))]
async fn restart(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<ApiJson<Restarted>> {
    access.require(Role::can_edit, "restart the terminal")?;
    access.require_open(&state, Surface::Terminal).await?;
    state
        .terminals
        .restart(access.pad.id, access.current.user.id)
        .await?;
    Ok(ApiJson(Restarted { state: "starting" }))
}

/// Write the pad's current files into the running terminal's working directory.
#[utoipa::path(post, path = "/api/pads/{slug}/terminal/sync-files", tag = "terminal",
    params(("slug" = String, Path)),
    responses((status = 200, body = Synced), (status = 403), (status = 404),
        (status = 409, description = "terminal_not_running"), (status = 413), (status = 503)))]
async fn sync_files(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<ApiJson<Synced>> {
    access.require(Role::can_edit, "sync files into the terminal")?;
    access.require_open(&state, Surface::Terminal).await?;
    let files = state.terminals.sync_files(access.pad.id).await?;
    Ok(ApiJson(Synced { files }))
}
