//! `/api/pads/{slug}/files[/{fileId}]` (SPEC §3). Reading needs `can_view`; creating, renaming,
//! re-languaging and deleting need `can_edit`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{done, Done, PathOr404};
use crate::error::AppResult;
use crate::http::json::ApiJson;
use crate::interviews::switches::Surface;
use crate::pads::access::PadAccess;
use crate::pads::files::{self, parse_file_id, FileWithContent, NewFileRequest};
use crate::pads::files_store::PadFile;
use crate::pads::roles::Role;
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_files, create_file))
        .routes(routes!(get_file, update_file, delete_file))
}

#[derive(Deserialize)]
struct FilePath {
    #[serde(rename = "fileId")]
    file_id: String,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateFileRequest {
    /// One path segment: `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$`, no `..`.
    name: String,
    /// Default: inferred from the extension, else the pad's language.
    language: Option<String>,
    /// Initial text, at most 512 KiB.
    content: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateFileRequest {
    name: Option<String>,
    language: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FileList {
    files: Vec<PadFile>,
}

#[derive(Serialize, ToSchema)]
pub struct FileBody {
    file: PadFile,
}

#[utoipa::path(get, path = "/api/pads/{slug}/files", tag = "files", params(("slug" = String, Path)),
    responses((status = 200, body = FileList), (status = 401), (status = 404)))]
async fn list_files(State(state): State<AppState>, access: PadAccess) -> AppResult<Json<FileList>> {
    access.require(Role::can_view, "see this pad's files")?;
    Ok(Json(FileList {
        files: files::list(&state, &access.pad).await?,
    }))
}

/// Create a file (409 `name_taken`, 409 `too_many_files`, 413 over 512 KiB or `doc_too_large`
/// when the pad's document would pass its size limit).
#[utoipa::path(post, path = "/api/pads/{slug}/files", tag = "files", params(("slug" = String, Path)), request_body = CreateFileRequest,
    responses((status = 201, body = FileBody), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409), (status = 413)))]
async fn create_file(
    State(state): State<AppState>,
    access: PadAccess,
    ApiJson(body): ApiJson<CreateFileRequest>,
) -> AppResult<(StatusCode, Json<FileBody>)> {
    access.require(Role::can_edit, "manage files")?;
    access.require_open(&state, Surface::Edit).await?;
    let request = NewFileRequest {
        name: &body.name,
        language: body.language.as_deref(),
        content: body.content.as_deref().unwrap_or(""),
    };
    let file = files::create(&state, &access.pad, access.current.user.id, request).await?;
    Ok((StatusCode::CREATED, Json(FileBody { file })))
}

/// A file and its current text in the pad's document.
#[utoipa::path(get, path = "/api/pads/{slug}/files/{fileId}", tag = "files",
    params(("slug" = String, Path), ("fileId" = i64, Path)),
    responses((status = 200, body = FileWithContent), (status = 401), (status = 404)))]
async fn get_file(
    State(state): State<AppState>,
    access: PadAccess,
    PathOr404(path): PathOr404<FilePath>,
) -> AppResult<Json<FileWithContent>> {
    access.require(Role::can_view, "see this pad's files")?;
    Ok(Json(
        files::read(&state, &access.pad, parse_file_id(&path.file_id)?).await?,
    ))
}

/// Rename (409 on collision; the text moves with it) and/or change the language.
#[utoipa::path(patch, path = "/api/pads/{slug}/files/{fileId}", tag = "files",
    params(("slug" = String, Path), ("fileId" = i64, Path)), request_body = UpdateFileRequest,
    responses((status = 200, body = FileBody), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)))]
async fn update_file(
    State(state): State<AppState>,
    access: PadAccess,
    PathOr404(path): PathOr404<FilePath>,
    ApiJson(body): ApiJson<UpdateFileRequest>,
) -> AppResult<Json<FileBody>> {
    access.require(Role::can_edit, "manage files")?;
    access.require_open(&state, Surface::Edit).await?;
    let id = parse_file_id(&path.file_id)?;
    let file = files::update(
        &state,
        &access.pad,
        id,
        body.name.as_deref(),
        body.language.as_deref(),
    )
    .await?;
    Ok(Json(FileBody { file }))
}

/// Delete a file and clear its text (400 `last_file` for the pad's only file).
#[utoipa::path(delete, path = "/api/pads/{slug}/files/{fileId}", tag = "files",
    params(("slug" = String, Path), ("fileId" = i64, Path)),
    responses((status = 200, body = Done), (status = 400), (status = 401), (status = 403), (status = 404)))]
async fn delete_file(
    State(state): State<AppState>,
    access: PadAccess,
    PathOr404(path): PathOr404<FilePath>,
) -> AppResult<Json<Done>> {
    access.require(Role::can_edit, "manage files")?;
    access.require_open(&state, Surface::Edit).await?;
    files::delete(
        &state,
        &access.pad,
        access.current.user.id,
        parse_file_id(&path.file_id)?,
    )
    .await?;
    Ok(done())
}
