//! `POST /api/pads/{slug}/runs` (a run, or a REPL session: `super::repl`), stopping one, the
//! pad's last run, `GET /api/languages` (SPEC §5).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use oc_sandbox::SourceFile;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::queue::Refusal;
use super::repl::RunKind;
use super::service::{RunRequest, StartRefusal, StopRefusal};
use super::settings::MAX_TIMEOUT;
use super::store;
use crate::audit::{AuditAction, AuditEvent};
use crate::db::PadId;
use crate::error::{AppError, AppResult};
use crate::http::json::ApiJson;
use crate::interviews::switches::Surface;
use crate::interviews::test_cases::harness;
use crate::pads::access::PadAccess;
use crate::pads::files_store;
use crate::pads::roles::Role;
use crate::AppState;

/// Seconds a refused caller is told to wait: about one short run.
const RETRY_AFTER_SECS: u64 = 2;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_run))
        .routes(routes!(stop_run))
        .routes(routes!(last_run))
        .routes(routes!(list_languages))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunBody {
    /// File to run; defaults to the language's default file, else the first file of that language.
    entry: Option<String>,
    /// Language id or alias; defaults to the entry file's language, else the pad's.
    language: Option<String>,
    stdin: Option<String>,
    /// `true`: after `stdin`, the program reads console input typed on the pad (`run.stdin` app
    /// messages) until someone sends `run.eof`. Default `false`: EOF right after `stdin`.
    interactive: Option<bool>,
    /// Wall timeout in milliseconds (100–30000; default EXEC_TIMEOUT_MS). Not for a REPL.
    timeout_ms: Option<u64>,
    /// `true`: a REPL session of the language (Python, JavaScript, Ruby) with the entry loaded
    /// first, typed into like a console (always interactive), within REPL_IDLE_MS / REPL_MAX_MS /
    /// REPL_OUTPUT_BYTES. 400 `no_repl` for a language without one.
    repl: Option<bool>,
}

#[derive(Deserialize)]
pub struct RunQuery {
    wait: Option<String>,
}

/// Run the pad's current files, or open a REPL with them (`repl: true`). Output streams to
/// everyone on the pad as `run.*` messages; `?wait=1` also returns the finished run.
#[utoipa::path(post, path = "/api/pads/{slug}/runs", tag = "runs", request_body = RunBody,
    params(("slug" = String, Path), ("wait" = Option<String>, Query, description = "1 to wait for the result")),
    responses((status = 202, description = "{runId}"), (status = 200, description = "{run} with ?wait=1"),
        (status = 400, description = "no_repl: the language has no REPL; invalid_timeout"), (status = 403), (status = 404),
        (status = 409, description = "run_in_progress: the pad already has a run going; repl_open: a REPL is open on it"),
        (status = 413), (status = 429), (status = 503)))]
async fn start_run(
    State(state): State<AppState>,
    access: PadAccess,
    Query(query): Query<RunQuery>,
    ApiJson(body): ApiJson<RunBody>,
) -> AppResult<Response> {
    access.require(Role::can_run, "run code")?;
    access.require_open(&state, Surface::Run).await?;
    let exec = &state.exec;
    let settings = exec.settings();
    let stdin = body.stdin.unwrap_or_default().into_bytes();
    if stdin.len() > settings.max_stdin_bytes {
        return Err(AppError::too_large(format!(
            "stdin is over {} bytes",
            settings.max_stdin_bytes
        )));
    }
    let kind = if body.repl == Some(true) {
        RunKind::Repl
    } else {
        RunKind::Run
    };
    let timeout = match (kind, body.timeout_ms) {
        (RunKind::Repl, None) => settings.repl_max,
        (RunKind::Repl, Some(_)) => {
            return Err(AppError::invalid(
                "invalid_timeout",
                "a REPL's lifetime is the server's REPL_MAX_MS; leave out timeoutMs",
            ))
        }
        (RunKind::Run, None) => settings.default_timeout,
        (RunKind::Run, Some(ms)) if (100..=MAX_TIMEOUT.as_millis() as u64).contains(&ms) => {
            Duration::from_millis(ms)
        }
        (RunKind::Run, Some(_)) => {
            return Err(AppError::invalid(
                "invalid_timeout",
                "timeoutMs must be between 100 and 30000",
            ))
        }
    };

    let (pad_files, files) = pad_sources(&state, access.pad.id).await?;

    let entry_file = match &body.entry {
        Some(name) => Some(pad_files.iter().find(|f| &f.name == name).ok_or_else(|| {
            AppError::invalid("unknown_entry", "entry is not a file of this pad")
        })?),
        None => None,
    };
    let language_input = body
        .language
        .clone()
        .or_else(|| entry_file.map(|f| f.language.clone()))
        .unwrap_or_else(|| access.pad.language.clone());
    let language = state
        .languages
        .get(&language_input)
        .ok_or_else(|| AppError::invalid("unknown_language", "that language cannot be run here"))?;
    if kind == RunKind::Repl && language.repl.is_none() {
        let with_repl: Vec<&str> = state
            .languages
            .languages()
            .iter()
            .filter(|l| l.repl.is_some())
            .map(|l| l.name.as_str())
            .collect();
        return Err(AppError::invalid(
            "no_repl",
            format!(
                "{} has no REPL here; these languages have one: {}",
                language.name,
                with_repl.join(", ")
            ),
        ));
    }
    let entry = match entry_file {
        Some(f) => f.name.clone(),
        None => language
            .pick_entry(pad_files.iter().map(|f| f.name.as_str()))
            .ok_or_else(|| {
                AppError::invalid("no_entry", format!("no {} file to run", language.name))
            })?,
    };

    let request = RunRequest {
        kind,
        pad: access.pad.id,
        user: access.current.user.id,
        user_name: access.current.user.name.clone(),
        language: language.id.clone(),
        entry,
        files,
        stdin,
        interactive: kind == RunKind::Repl || body.interactive.unwrap_or(false),
        timeout,
    };
    let started = exec
        .start(request, &state.tasks)
        .map_err(|refusal| match refusal {
            StartRefusal::RunInProgress {
                run_id,
                kind: RunKind::Run,
            } => AppError::conflict(
                "run_in_progress",
                format!("run {run_id} is still going on this pad; stop it first"),
            ),
            StartRefusal::RunInProgress {
                run_id,
                kind: RunKind::Repl,
            } => AppError::conflict(
                "repl_open",
                format!("a REPL ({run_id}) is open on this pad; close it (Stop) first"),
            ),
            StartRefusal::Queue(refusal) => queue_refused(refusal),
        })?;
    if matches!(query.wait.as_deref(), Some("1" | "true")) {
        let run = started.finished.await.map_err(|_| AppError::Unavailable {
            code: "run_aborted",
            message: "the run was aborted (server shutting down)".into(),
        })?;
        return Ok((StatusCode::OK, axum::Json(json!({ "run": run }))).into_response());
    }
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({ "runId": started.run_id })),
    )
        .into_response())
}

/// 429 for a run the admission queue refused, with how long to wait.
pub fn queue_refused(refusal: Refusal) -> AppError {
    AppError::RateLimited {
        retry_after_secs: RETRY_AFTER_SECS,
        message: match refusal {
            Refusal::UserBusy => "you already have the maximum number of runs in progress".into(),
            Refusal::QueueFull => "the server is busy running code; retry shortly".into(),
        },
    }
}

/// The pad's files as stored and their current text from the document, as a run takes them;
/// 413 when the sources together are over `EXEC_MAX_SOURCE_BYTES`.
pub async fn pad_sources(
    state: &AppState,
    pad: PadId,
) -> AppResult<(Vec<files_store::PadFile>, Vec<SourceFile>)> {
    let pad_files = files_store::list(&state.db, pad).await?;
    let doc = state
        .docs
        .open(pad)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let texts = doc.file_texts().await;
    let mut files = Vec::with_capacity(pad_files.len());
    let mut total = 0usize;
    for file in &pad_files {
        let content = texts
            .get(&file.id)
            .cloned()
            .unwrap_or_default()
            .into_bytes();
        total += content.len();
        files.push(SourceFile {
            name: file.name.clone(),
            content,
        });
    }
    let max = state.exec.settings().max_source_bytes;
    if total > max {
        return Err(AppError::too_large(format!(
            "the pad's sources are over {max} bytes"
        )));
    }
    Ok((pad_files, files))
}

#[derive(Deserialize)]
pub struct RunPath {
    id: String,
}

/// Stop a run in progress: its container is removed and `run.finished` (outcome `stopped`) names
/// who stopped it. Idempotent while the run winds down; 409 `run_finished` once it is over.
#[utoipa::path(post, path = "/api/pads/{slug}/runs/{id}/stop", tag = "runs",
    params(("slug" = String, Path), ("id" = String, Path)),
    responses((status = 202, description = "{runId, stopping: true}"), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "run_finished")))]
async fn stop_run(
    State(state): State<AppState>,
    access: PadAccess,
    path: Result<Path<RunPath>, axum::extract::rejection::PathRejection>,
) -> AppResult<Response> {
    access.require(Role::can_run, "stop runs")?;
    let Path(RunPath { id }) = path.map_err(|_| AppError::NotFound)?;
    if let Err(refusal) = state.exec.check_stoppable(access.pad.id, &id) {
        return Err(stop_refused(&state, &access, &id, refusal).await);
    }
    state
        .audit
        .require(
            &access.current.actor,
            AuditEvent::new(AuditAction::RunStop)
                .target(&access.pad.slug)
                .meta(json!({ "runId": id })),
        )
        .await?;
    if let Err(refusal) = state.exec.stop(
        access.pad.id,
        &id,
        access.current.user.id,
        &access.current.user.name,
    ) {
        return Err(stop_refused(&state, &access, &id, refusal).await);
    }
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({ "runId": id, "stopping": true })),
    )
        .into_response())
}

async fn stop_refused(
    state: &AppState,
    access: &PadAccess,
    run_id: &str,
    refusal: StopRefusal,
) -> AppError {
    let finished = || AppError::conflict("run_finished", "that run has already finished");
    match refusal {
        StopRefusal::Finished => finished(),
        // Gone from the live list: finished and stored, or never a run of this pad.
        StopRefusal::Unknown => match store::find(&state.db, access.pad.id, Some(run_id)).await {
            Ok(Some(_)) => finished(),
            Ok(None) => AppError::NotFound,
            Err(err) => err.into(),
        },
    }
}

/// The pad's most recent finished run or REPL session (null when none), so its output survives a
/// reload, with the limits runs get by default and those of a REPL session.
#[utoipa::path(get, path = "/api/pads/{slug}/runs/last", tag = "runs", params(("slug" = String, Path)),
    responses((status = 200, description = "{run, limits, replLimits}"), (status = 401), (status = 404)))]
async fn last_run(State(state): State<AppState>, access: PadAccess) -> AppResult<Response> {
    let run = store::find(&state.db, access.pad.id, None).await?;
    let settings = state.exec.settings();
    let limits = state
        .exec
        .limits_shown(RunKind::Run, settings.default_timeout);
    let repl_limits = state.exec.limits_shown(RunKind::Repl, settings.repl_max);
    Ok(
        axum::Json(json!({ "run": run, "limits": limits, "replLimits": repl_limits }))
            .into_response(),
    )
}

/// The languages this server can run, with their starter files, whether they have a REPL and
/// whether they run function test cases (a harness, `interviews::test_cases::harness`).
#[utoipa::path(get, path = "/api/languages", tag = "runs", responses((status = 200, description = "{languages}")))]
async fn list_languages(State(state): State<AppState>) -> impl IntoResponse {
    let languages: Vec<_> = state
        .languages
        .languages()
        .iter()
        .map(|l| {
            json!({
                "id": l.id, "name": l.name, "aliases": l.aliases, "extensions": l.extensions,
                "editorMode": l.editor_mode, "defaultFile": l.default_file, "template": l.template, "repl": l.repl.is_some(),
                "functionTests": harness::for_language(&l.id).is_some(),
            })
        })
        .collect();
    axum::Json(json!({ "languages": languages }))
}
