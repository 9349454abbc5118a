//! The recordings API (SPEC §7). Every route goes through `PadAccess` (404 for non-members) and
//! checks the SPEC §3 capability (403 otherwise):
//!
//! | method, path                                         | capability            | roles                         |
//! |------------------------------------------------------|-----------------------|-------------------------------|
//! | GET    /api/pads/{slug}/recordings                   | `can_watch_playback`  | owner, collaborator, viewer   |
//! | POST   /api/pads/{slug}/recordings                   | `can_record`          | owner, collaborator           |
//! | POST   /api/pads/{slug}/recordings/{id}/stop         | `can_record`          | owner, collaborator           |
//! | DELETE /api/pads/{slug}/recordings/{id}              | `can_manage`          | owner                         |
//! | GET    /api/pads/{slug}/recordings/{id}/timeline     | `can_watch_playback`  | owner, collaborator, viewer   |
//! | GET    /api/pads/{slug}/recordings/{id}/state        | `can_watch_playback`  | owner, collaborator, viewer   |
//! | GET    /api/pads/{slug}/recordings/{id}/export       | `can_watch_playback`  | owner, collaborator, viewer   |
//! | PATCH  /api/pads/{slug}/recording-settings           | `can_manage`          | owner                         |
//!
//! Candidates may not watch playback (an interview candidate must not replay the interviewer's
//! side); that includes listing recordings. All times are ms since the epoch.

use std::collections::BTreeMap;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::export::{self, RecordingExport};
use super::service::{self, RecordingView, StopReason};
use super::store::Audience;
use super::timeline::{self, TimelinePage, Window};
use super::{now_ms, seek, store, DEFAULT_PAGE, MAX_PAGE};
use crate::error::{AppError, AppResult};
use crate::http::json::ApiJson;
use crate::pads::access::PadAccess;
use crate::pads::roles::Role;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_recordings, start_recording))
        .routes(routes!(stop_recording))
        .routes(routes!(delete_recording))
        .routes(routes!(recording_timeline))
        .routes(routes!(recording_state))
        .routes(routes!(export_recording))
        .routes(routes!(update_recording_settings))
}

#[derive(Deserialize)]
struct RecordingPath {
    id: String,
}

/// A recording id from a path; anything that is not one is as unknown as a missing recording.
fn recording_id(raw: &str) -> AppResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}

/// Path parameters whose malformed values answer 404, in our error shape.
fn path_id(
    path: Result<Path<RecordingPath>, axum::extract::rejection::PathRejection>,
) -> AppResult<i64> {
    let Path(path) = path.map_err(|_| AppError::NotFound)?;
    recording_id(&path.id)
}

/// Query strings are read as text and parsed here, so a bad value gets our 400 shape.
type RawQuery = Query<HashMap<String, String>>;

fn int_param(query: &HashMap<String, String>, name: &'static str) -> AppResult<Option<i64>> {
    query
        .get(name)
        .map(|raw| {
            raw.parse::<i64>().map_err(|_| {
                AppError::invalid("invalid_query", format!("{name} must be an integer"))
            })
        })
        .transpose()
}

#[derive(Deserialize, ToSchema)]
pub struct StartRecordingRequest {
    /// 1–100 characters; default "Recording <date>".
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RecordingBody {
    recording: RecordingView,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordingList {
    /// Newest first.
    recordings: Vec<RecordingView>,
    /// Whether the pad records automatically from the first join.
    auto_record: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordingSettings {
    auto_record: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Deleted {
    ok: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PadState {
    /// The instant shown (the asked `t` moved into the window), ms since the epoch.
    t: i64,
    /// Every file's text at `t`.
    files: BTreeMap<String, String>,
    /// With `yjs=true`: the document at `t` as one Yjs v1 update (base64), to apply the
    /// timeline's edit updates to.
    #[serde(skip_serializing_if = "Option::is_none")]
    yjs_state: Option<String>,
}

/// The pad's recordings, newest first (SPEC §7; `can_watch_playback`).
#[utoipa::path(get, path = "/api/pads/{slug}/recordings", tag = "recordings", params(("slug" = String, Path)),
    responses((status = 200, body = RecordingList), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn list_recordings(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<RecordingList>> {
    access.require(Role::can_watch_playback, "watch playback")?;
    let recordings = store::list_recordings(&state.db, access.pad.id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let auto_record = store::auto_record(&state.db, access.pad.id).await?;
    Ok(Json(RecordingList {
        recordings,
        auto_record,
    }))
}

/// Start recording now (SPEC §7; `can_record`; 409 `already_recording` when one is active;
/// audited `recording.start`).
#[utoipa::path(post, path = "/api/pads/{slug}/recordings", tag = "recordings", params(("slug" = String, Path)),
    request_body = StartRecordingRequest,
    responses((status = 201, body = RecordingBody), (status = 400), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "already_recording")),
    security(("bearer" = [])))]
async fn start_recording(
    State(state): State<AppState>,
    access: PadAccess,
    ApiJson(body): ApiJson<StartRecordingRequest>,
) -> AppResult<(StatusCode, Json<RecordingBody>)> {
    access.require(Role::can_record, "start recordings")?;
    let user = Some(access.current.user.id);
    let recording = service::start(
        &state,
        &access.current.actor,
        &access.pad,
        user,
        body.name.as_deref(),
        false,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RecordingBody {
            recording: recording.into(),
        }),
    ))
}

/// Stop an active recording (SPEC §7; `can_record`; 409 `not_recording` when already stopped;
/// audited `recording.stop`).
#[utoipa::path(post, path = "/api/pads/{slug}/recordings/{id}/stop", tag = "recordings",
    params(("slug" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = RecordingBody), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "not_recording")),
    security(("bearer" = [])))]
async fn stop_recording(
    State(state): State<AppState>,
    access: PadAccess,
    path: Result<Path<RecordingPath>, axum::extract::rejection::PathRejection>,
) -> AppResult<Json<RecordingBody>> {
    access.require(Role::can_record, "stop recordings")?;
    let id = path_id(path)?;
    let recording = service::stop(
        &state,
        &access.current.actor,
        &access.pad,
        id,
        StopReason::Manual,
        now_ms(),
    )
    .await?;
    Ok(Json(RecordingBody {
        recording: recording.into(),
    }))
}

/// Delete a recording: the window, not the pad's history (SPEC §3 owner only; audited
/// `recording.delete`).
#[utoipa::path(delete, path = "/api/pads/{slug}/recordings/{id}", tag = "recordings",
    params(("slug" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Deleted), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn delete_recording(
    State(state): State<AppState>,
    access: PadAccess,
    path: Result<Path<RecordingPath>, axum::extract::rejection::PathRejection>,
) -> AppResult<Json<Deleted>> {
    access.require(Role::can_manage, "delete recordings")?;
    let id = path_id(path)?;
    service::delete(&state, &access.current.actor, &access.pad, id).await?;
    Ok(Json(Deleted { ok: true }))
}

/// One page of the recording's events in time order (SPEC §7: paginated timelines;
/// `can_watch_playback`). Start without `after`; pass `nextCursor` for the next page.
#[utoipa::path(get, path = "/api/pads/{slug}/recordings/{id}/timeline", tag = "recordings",
    params(("slug" = String, Path), ("id" = i64, Path),
        ("after" = Option<String>, Query, description = "nextCursor of the previous page"),
        ("limit" = Option<i64>, Query, description = "1–1000, default 200")),
    responses((status = 200, body = TimelinePage), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn recording_timeline(
    State(state): State<AppState>,
    access: PadAccess,
    path: Result<Path<RecordingPath>, axum::extract::rejection::PathRejection>,
    Query(query): RawQuery,
) -> AppResult<Json<TimelinePage>> {
    access.require(Role::can_watch_playback, "watch playback")?;
    let id = path_id(path)?;
    let limit = int_param(&query, "limit")?.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::invalid(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let recording = service::find(&state, &access.pad, id).await?;
    let window = Window::of(&recording);
    let page = timeline::page(
        &state.db,
        access.pad.id,
        window,
        query.get("after").map(String::as_str),
        limit,
        Audience::of(access.role),
    )
    .await?;
    Ok(Json(page))
}

/// Every file's text at instant `t` (SPEC §7: seeking from the nearest checkpoint, never from
/// the beginning; `can_watch_playback`). `t` outside the window is moved to its nearest end.
/// Per-user budget `RECORDING_STATES_PER_MINUTE` (429); a seek that would merge more than
/// `RECORDING_STATE_MAX_BYTES` is refused with 413.
#[utoipa::path(get, path = "/api/pads/{slug}/recordings/{id}/state", tag = "recordings",
    params(("slug" = String, Path), ("id" = i64, Path),
        ("t" = i64, Query, description = "instant, ms since the epoch"),
        ("yjs" = Option<bool>, Query, description = "also return the Yjs document state")),
    responses((status = 200, body = PadState), (status = 400), (status = 401), (status = 403), (status = 404),
        (status = 413, description = "payload_too_large: more history to merge than RECORDING_STATE_MAX_BYTES"),
        (status = 429, description = "rate_limited, with Retry-After")),
    security(("bearer" = [])))]
async fn recording_state(
    State(state): State<AppState>,
    access: PadAccess,
    path: Result<Path<RecordingPath>, axum::extract::rejection::PathRejection>,
    Query(query): RawQuery,
) -> AppResult<Json<PadState>> {
    access.require(Role::can_watch_playback, "watch playback")?;
    let id = path_id(path)?;
    let t = int_param(&query, "t")?
        .ok_or_else(|| AppError::invalid("invalid_query", "t (ms since the epoch) is required"))?;
    let with_yjs = matches!(query.get("yjs").map(String::as_str), Some("true" | "1"));
    let recording = service::find(&state, &access.pad, id).await?;
    state
        .recordings
        .limits
        .states
        .check(access.current.user.id)?;
    let t = Window::of(&recording).clamp(t);
    let max_merge = state.recordings.limits.state_max_bytes;
    let held = state
        .recordings
        .histories()
        .state_at(
            &state.db,
            &access.pad.slug,
            &recording,
            t,
            max_merge,
            with_yjs,
        )
        .await?;
    let (names, listed) = export::files_at(&state.db, access.pad.id, t).await?;
    let (texts, yjs) = match held {
        Some(held) => (seek::named_texts(held.texts, &names, t), held.yjs),
        // Not held in memory: rebuilt from the nearest checkpoint.
        None => {
            let doc = seek::doc_at_time_within(&state.db, access.pad.id, t, max_merge).await?;
            let yjs = with_yjs.then(|| seek::encode_state(&doc));
            (seek::file_texts(&doc, &names, t), yjs)
        }
    };
    let files = seek::visible_files(texts, listed.as_ref());
    let yjs_state = yjs.map(|bytes| STANDARD.encode(bytes));
    Ok(Json(PadState {
        t,
        files,
        yjs_state,
    }))
}

/// The whole recording as a JSON download (SPEC §7; `can_watch_playback`), streamed; schema in
/// `recordings::export`. Per-user budget `RECORDING_EXPORTS_PER_MINUTE` (429).
#[utoipa::path(get, path = "/api/pads/{slug}/recordings/{id}/export", tag = "recordings",
    params(("slug" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = RecordingExport, description = "Content-Disposition: attachment"),
        (status = 401), (status = 403), (status = 404), (status = 429, description = "rate_limited, with Retry-After")),
    security(("bearer" = [])))]
async fn export_recording(
    State(state): State<AppState>,
    access: PadAccess,
    path: Result<Path<RecordingPath>, axum::extract::rejection::PathRejection>,
) -> AppResult<impl IntoResponse> {
    access.require(Role::can_watch_playback, "export recordings")?;
    let id = path_id(path)?;
    let recording = service::find(&state, &access.pad, id).await?;
    state
        .recordings
        .limits
        .exports
        .check(access.current.user.id)?;
    let body = export::stream(&state.db, &access.pad, recording, Audience::of(access.role)).await?;
    // Slugs are URL-safe; the file name needs no escaping.
    let disposition = format!(
        "attachment; filename=\"recording-{}-{id}.json\"",
        access.pad.slug
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    ))
}

/// Turn auto-record on or off (SPEC §7; owner): recording starts when the first person joins
/// the pad socket (or at once, when people are already on it) and stops once everyone has been
/// gone for the idle grace.
#[utoipa::path(patch, path = "/api/pads/{slug}/recording-settings", tag = "recordings", params(("slug" = String, Path)),
    request_body = RecordingSettings,
    responses((status = 200, body = RecordingSettings), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn update_recording_settings(
    State(state): State<AppState>,
    access: PadAccess,
    ApiJson(body): ApiJson<RecordingSettings>,
) -> AppResult<Json<RecordingSettings>> {
    access.require(Role::can_manage, "change recording settings")?;
    let auto_record =
        service::set_auto_record(&state, &access.current.actor, &access.pad, body.auto_record)
            .await?;
    Ok(Json(RecordingSettings { auto_record }))
}
