//! HTTP handlers of test cases and take-homes (issue 13 §7).
//!
//! Who may call what:
//! - a question's owner or co-editor: make take-homes from it and list them (others: 404);
//! - any signed-in user holding a take-home link: preview and start it (`/api/takehome-links/
//!   {token}`, the token in the path and logged as `[redacted]`);
//! - a pad's members: read its test cases — candidates the visible ones only — and run them;
//!   only interviewers may run the hidden ones (a candidate: 403). Running is refused like a run
//!   when the interview's switches close running to the caller;
//! - a take-home pad's members: read its attempt (interviewers with the graded results); its
//!   candidate: submit it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::super::routes::question_id;
use super::super::switches::{self, Surface};
use super::super::takehomes::{
    self, AttemptView, CreateTakehome, CreatedTakehome, LinkPreview, PadTakehome, StartTakehome,
    SubmittedBy, TakehomeView,
};
use super::super::test_cases;
use super::super::test_cases::run::{run_cases, CaseResult, WhenBusy};
use super::super::test_cases::{for_role, NumberedCase};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::http::json::ApiJson;
use crate::pads::access::PadAccess;
use crate::pads::invites::PublicBase;
use crate::pads::roles::Role;
use crate::pads::routes::PathOr404;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tests))
        .routes(routes!(run_tests))
        .routes(routes!(create_takehome, list_takehomes))
        .routes(routes!(preview_link))
        .routes(routes!(start_link))
        .routes(routes!(pad_takehome))
        .routes(routes!(submit_takehome))
}

#[derive(Deserialize)]
struct QuestionPath {
    id: String,
}

#[derive(Deserialize)]
struct TokenPath {
    token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestCaseList {
    /// Candidates: the visible cases only.
    pub tests: Vec<NumberedCase>,
}

/// The interview's test cases as the caller may see them (candidates: visible ones only). 404
/// when the pad holds no interview.
#[utoipa::path(get, path = "/api/pads/{slug}/tests", tag = "takehomes", params(("slug" = String, Path)),
    responses((status = 200, body = TestCaseList), (status = 401), (status = 403), (status = 404)))]
async fn list_tests(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<TestCaseList>> {
    access.require(Role::can_view, "see this pad")?;
    switches::find(&state, access.pad.id).await?;
    let cases = test_cases::store::for_interview(&state.db, access.pad.id).await?;
    Ok(Json(TestCaseList {
        tests: for_role(cases, access.role),
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunTestsBody {
    /// Also run the hidden cases (interviewers only; a candidate gets 403).
    #[serde(default)]
    pub hidden: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestRun {
    pub results: Vec<CaseResult>,
    pub passed: usize,
    pub total: usize,
}

/// Run the pad's current code against the interview's visible cases (and the hidden ones when
/// an interviewer asks), one sandbox run per case. Everyone on the pad gets the visible cases'
/// results as `tests.finished`; hidden ones only go back to the interviewer who asked.
#[utoipa::path(post, path = "/api/pads/{slug}/tests/run", tag = "takehomes", params(("slug" = String, Path)),
    request_body = RunTestsBody,
    responses((status = 200, body = TestRun), (status = 400), (status = 401),
        (status = 403, description = "a candidate asking for hidden cases; run_disabled; interview_ended"),
        (status = 404), (status = 413), (status = 429)))]
async fn run_tests(
    State(state): State<AppState>,
    access: PadAccess,
    ApiJson(body): ApiJson<RunTestsBody>,
) -> AppResult<Json<TestRun>> {
    access.require(Role::can_run, "run code")?;
    if body.hidden {
        access.require(Role::can_see_interviewer_notes, "run hidden test cases")?;
    }
    access.require_open(&state, Surface::Run).await?;
    let interview = switches::find(&state, access.pad.id).await?;
    let cases: Vec<NumberedCase> = for_role(
        test_cases::store::for_interview(&state.db, access.pad.id).await?,
        access.role,
    )
    .into_iter()
    .filter(|numbered| body.hidden || !numbered.case.hidden)
    .collect();
    let results = run_cases(
        &state,
        access.pad.id,
        access.current.user.id,
        &interview.language,
        cases,
        WhenBusy::Refuse,
    )
    .await?;
    let visible: Vec<&CaseResult> = results.iter().filter(|r| !r.hidden).collect();
    state.rooms.broadcast_app(
        access.pad.id,
        &serde_json::json!({
            "type": "tests.finished",
            "userId": access.current.user.id,
            "name": access.current.user.name,
            "results": visible,
        }),
    );
    Ok(Json(TestRun {
        passed: results.iter().filter(|r| r.passed).count(),
        total: results.len(),
        results,
    }))
}

/// Make a take-home link from the question (owner and co-editors; audited `takehome.create`).
/// The answer holds the link; it is never shown again.
#[utoipa::path(post, path = "/api/questions/{id}/takehomes", tag = "takehomes", params(("id" = i64, Path)),
    request_body = CreateTakehome,
    responses((status = 201, body = CreatedTakehome), (status = 400), (status = 401), (status = 404),
        (status = 409, description = "too_many_takehomes")))]
async fn create_takehome(
    State(state): State<AppState>,
    current: CurrentUser,
    base: PublicBase,
    PathOr404(path): PathOr404<QuestionPath>,
    ApiJson(body): ApiJson<CreateTakehome>,
) -> AppResult<(StatusCode, Json<CreatedTakehome>)> {
    let id = question_id(&path.id)?;
    let created =
        takehomes::create(&state, &current.actor, current.user.id, id, body, &base).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TakehomeList {
    pub takehomes: Vec<TakehomeView>,
}

/// The question's take-homes, newest first, with their attempts (owner and co-editors).
#[utoipa::path(get, path = "/api/questions/{id}/takehomes", tag = "takehomes", params(("id" = i64, Path)),
    responses((status = 200, body = TakehomeList), (status = 401), (status = 404)))]
async fn list_takehomes(
    State(state): State<AppState>,
    current: CurrentUser,
    PathOr404(path): PathOr404<QuestionPath>,
) -> AppResult<Json<TakehomeList>> {
    let id = question_id(&path.id)?;
    Ok(Json(TakehomeList {
        takehomes: takehomes::list(&state, current.user.id, id).await?,
    }))
}

/// What a take-home link offers the signed-in caller: title, rules, window and where it stands
/// for them (no prompt before Start).
#[utoipa::path(get, path = "/api/takehome-links/{token}", tag = "takehomes", params(("token" = String, Path)),
    responses((status = 200, body = LinkPreview), (status = 401), (status = 404)))]
async fn preview_link(
    State(state): State<AppState>,
    current: CurrentUser,
    PathOr404(path): PathOr404<TokenPath>,
) -> AppResult<Json<LinkPreview>> {
    Ok(Json(
        takehomes::preview(&state, &path.token, current.user.id).await?,
    ))
}

/// Start the take-home: the caller's private pad, the deadline stamped now (audited
/// `takehome.start`). Starting again answers the same attempt.
#[utoipa::path(post, path = "/api/takehome-links/{token}/start", tag = "takehomes", params(("token" = String, Path)),
    request_body = StartTakehome,
    responses((status = 201, body = AttemptView), (status = 400), (status = 401), (status = 404),
        (status = 409, description = "takehome_not_open"),
        (status = 410, description = "takehome_closed, takehome_used, takehome_submitted")))]
async fn start_link(
    State(state): State<AppState>,
    current: CurrentUser,
    PathOr404(path): PathOr404<TokenPath>,
    ApiJson(body): ApiJson<StartTakehome>,
) -> AppResult<(StatusCode, Json<AttemptView>)> {
    let attempt =
        takehomes::start(&state, &current.actor, &path.token, current.user.id, body).await?;
    Ok((StatusCode::CREATED, Json(attempt)))
}

/// The pad's take-home attempt: its clock for every member; interviewers also get the graded
/// results and the time taken. 404 when the pad holds none.
#[utoipa::path(get, path = "/api/pads/{slug}/takehome", tag = "takehomes", params(("slug" = String, Path)),
    responses((status = 200, body = PadTakehome), (status = 401), (status = 403), (status = 404)))]
async fn pad_takehome(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<PadTakehome>> {
    access.require(Role::can_view, "see this pad")?;
    Ok(Json(
        takehomes::for_pad(&state, access.pad.id, access.role).await?,
    ))
}

/// Submit the take-home (its candidate; audited `takehome.submit`): the pad becomes read-only
/// for them and every case runs. 409 `takehome_submitted` the second time.
#[utoipa::path(post, path = "/api/pads/{slug}/takehome/submit", tag = "takehomes", params(("slug" = String, Path)),
    responses((status = 200, body = AttemptView), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "takehome_submitted")))]
async fn submit_takehome(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<AttemptView>> {
    access.require(
        |role| role == Role::Candidate,
        "submit this take-home (its candidate does)",
    )?;
    Ok(Json(
        takehomes::submit(
            &state,
            &access.current.actor,
            &access.pad,
            SubmittedBy::Candidate,
        )
        .await?,
    ))
}
