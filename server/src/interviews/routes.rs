//! HTTP handlers of interviews (issue 13 §1–§2). Handlers stay thin: extract, check the role, call
//! one function of the domain module.
//!
//! Who may call what:
//! - any signed-in user: list and create their questions; read and set their scorecard template;
//! - a question's owner or co-editor: read, change and start interviews from it (others: 404);
//!   its owner only: delete and share it (a co-editor: 403; a co-editor may remove themselves);
//! - a pad's members (admitted candidates included): read its interview, without guidance or the
//!   waiting room unless they are interviewers (`can_see_interviewer_notes`);
//! - interviewers: change the switches, end the interview, admit or turn away; fill their own
//!   scorecard and, once it is submitted, read the others' (`scorecards`); read the summary and
//!   export it as Markdown (`summary`); read the integrity timeline (`integrity`);
//! - any member, before the waiting room: knock;
//! - interviewers only: the private notes socket `/ws/pad/{slug}/notes` (`notes`).

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::integrity::{self, IntegrityTimeline};
use super::questions::{self, ListQuery, QuestionInput, QuestionPage, QuestionView};
use super::scorecards::{self, ScorecardInput, ScorecardsView, TemplateInput, TemplateView};
use super::start::{self, StartRequest, Started};
use super::summary::{self, InterviewSummary};
use super::switches::{self, InterviewView, SwitchesPatch};
use super::waiting_room::{self, Decision, Knocked};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::http::json::ApiJson;
use crate::pads::access::{PadAccess, PadMembership};
use crate::pads::members::parse_user_id;
use crate::pads::roles::Role;
use crate::pads::routes::{done, Done, PathOr404};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_questions, create_question))
        .routes(routes!(get_question, update_question, delete_question))
        .routes(routes!(add_editor, remove_editor))
        .routes(routes!(start_interview))
        .routes(routes!(get_interview, change_switches))
        .routes(routes!(end_interview))
        .routes(routes!(knock))
        .routes(routes!(decide))
        .routes(routes!(list_scorecards))
        .routes(routes!(save_scorecard))
        .routes(routes!(submit_scorecard))
        .routes(routes!(get_template, set_template))
        .routes(routes!(interview_summary))
        .routes(routes!(summary_markdown))
        .routes(routes!(integrity_timeline))
        // Not in the OpenAPI description, which cannot describe WebSockets.
        .route(
            "/ws/pad/{slug}/notes",
            axum::routing::get(super::notes::upgrade),
        )
        .merge(super::takehomes::routes::router())
}

#[derive(Deserialize)]
struct QuestionPath {
    id: String,
}

#[derive(Deserialize)]
struct EditorPath {
    id: String,
    #[serde(rename = "userId")]
    user_id: String,
}

#[derive(Deserialize)]
struct AdmissionPath {
    #[serde(rename = "userId")]
    user_id: String,
}

/// An id from a path; anything that is not one is as unknown as a missing question.
pub(super) fn question_id(raw: &str) -> AppResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}

/// The caller's questions (owned and shared with them), newest first; search and filters combine.
#[utoipa::path(get, path = "/api/questions", tag = "questions", params(ListQuery),
    responses((status = 200, body = QuestionPage), (status = 400), (status = 401)))]
async fn list_questions(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<QuestionPage>> {
    Ok(Json(questions::list(&state, current.user.id, query).await?))
}

/// Add a question to the caller's bank (audited `question.create`).
#[utoipa::path(post, path = "/api/questions", tag = "questions", request_body = QuestionInput,
    responses((status = 201, body = QuestionView), (status = 400), (status = 401),
        (status = 409, description = "too_many_questions"), (status = 413)))]
async fn create_question(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<QuestionInput>,
) -> AppResult<(StatusCode, Json<QuestionView>)> {
    let created = questions::create(&state, &current.actor, current.user.id, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The whole question, guidance included (owner and co-editors).
#[utoipa::path(get, path = "/api/questions/{id}", tag = "questions", params(("id" = i64, Path)),
    responses((status = 200, body = QuestionView), (status = 401), (status = 404)))]
async fn get_question(
    State(state): State<AppState>,
    current: CurrentUser,
    PathOr404(path): PathOr404<QuestionPath>,
) -> AppResult<Json<QuestionView>> {
    Ok(Json(
        questions::get(&state, question_id(&path.id)?, current.user.id).await?,
    ))
}

/// Replace the question (owner and co-editors; audited `question.update`).
#[utoipa::path(put, path = "/api/questions/{id}", tag = "questions", params(("id" = i64, Path)), request_body = QuestionInput,
    responses((status = 200, body = QuestionView), (status = 400), (status = 401), (status = 404), (status = 413)))]
async fn update_question(
    State(state): State<AppState>,
    current: CurrentUser,
    PathOr404(path): PathOr404<QuestionPath>,
    ApiJson(body): ApiJson<QuestionInput>,
) -> AppResult<Json<QuestionView>> {
    let id = question_id(&path.id)?;
    Ok(Json(
        questions::update(&state, &current.actor, id, current.user.id, body).await?,
    ))
}

/// Delete the question (owner; audited `question.delete`). Interviews started from it keep their
/// copy of the prompt.
#[utoipa::path(delete, path = "/api/questions/{id}", tag = "questions", params(("id" = i64, Path)),
    responses((status = 200, body = Done), (status = 401), (status = 403), (status = 404)))]
async fn delete_question(
    State(state): State<AppState>,
    current: CurrentUser,
    PathOr404(path): PathOr404<QuestionPath>,
) -> AppResult<Json<Done>> {
    questions::delete(
        &state,
        &current.actor,
        question_id(&path.id)?,
        current.user.id,
    )
    .await?;
    Ok(done())
}

/// Name a co-editor (owner; audited `question.share`). Naming one twice changes nothing.
#[utoipa::path(put, path = "/api/questions/{id}/editors/{userId}", tag = "questions",
    params(("id" = i64, Path), ("userId" = i64, Path)),
    responses((status = 200, body = QuestionView), (status = 400, description = "unknown_user"), (status = 401),
        (status = 403), (status = 404), (status = 409, description = "too_many_editors")))]
async fn add_editor(
    State(state): State<AppState>,
    current: CurrentUser,
    PathOr404(path): PathOr404<EditorPath>,
) -> AppResult<Json<QuestionView>> {
    let (id, editor) = (question_id(&path.id)?, parse_user_id(&path.user_id)?);
    Ok(Json(
        questions::share(&state, &current.actor, id, current.user.id, editor).await?,
    ))
}

/// Remove a co-editor (owner; a co-editor may remove themselves; audited `question.unshare`).
#[utoipa::path(delete, path = "/api/questions/{id}/editors/{userId}", tag = "questions",
    params(("id" = i64, Path), ("userId" = i64, Path)),
    responses((status = 200, body = Done), (status = 401), (status = 403), (status = 404)))]
async fn remove_editor(
    State(state): State<AppState>,
    current: CurrentUser,
    PathOr404(path): PathOr404<EditorPath>,
) -> AppResult<Json<Done>> {
    let (id, editor) = (question_id(&path.id)?, parse_user_id(&path.user_id)?);
    questions::unshare(&state, &current.actor, id, current.user.id, editor).await?;
    Ok(done())
}

/// Start an interview: a new interview pad owned by the caller with the language's starter files,
/// linked to the question (owner and co-editors; audited `interview.start`).
#[utoipa::path(post, path = "/api/questions/{id}/interviews", tag = "questions", params(("id" = i64, Path)),
    request_body = StartRequest,
    responses((status = 201, body = Started), (status = 400), (status = 401), (status = 404), (status = 413)))]
async fn start_interview(
    State(state): State<AppState>,
    current: CurrentUser,
    PathOr404(path): PathOr404<QuestionPath>,
    ApiJson(body): ApiJson<StartRequest>,
) -> AppResult<(StatusCode, Json<Started>)> {
    let id = question_id(&path.id)?;
    let started = start::start(&state, &current.actor, current.user.id, id, body).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// The pad's interview as the caller may see it: prompt (unless hidden from them), switches, timer
/// on the server's clock; interviewers also get the guidance and the waiting room. 404 when the pad
/// holds no interview.
#[utoipa::path(get, path = "/api/pads/{slug}/interview", tag = "interviews", params(("slug" = String, Path)),
    responses((status = 200, body = InterviewView), (status = 401), (status = 403, description = "waiting_room"), (status = 404)))]
async fn get_interview(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<InterviewView>> {
    access.require(Role::can_view, "see this pad")?;
    let row = switches::find(&state, access.pad.id).await?;
    Ok(Json(switches::view(&state.db, row, access.role).await?))
}

/// Change switches: lock, run, terminal, prompt, timer (interviewers; audited `interview.switch`).
/// 409 `interview_ended` once the interview has ended.
#[utoipa::path(patch, path = "/api/pads/{slug}/interview", tag = "interviews", params(("slug" = String, Path)),
    request_body = SwitchesPatch,
    responses((status = 200, body = InterviewView), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)))]
async fn change_switches(
    State(state): State<AppState>,
    access: PadAccess,
    ApiJson(body): ApiJson<SwitchesPatch>,
) -> AppResult<Json<InterviewView>> {
    access.require(Role::can_see_interviewer_notes, "run this interview")?;
    let row = switches::change(
        &state,
        &access.current.actor,
        access.pad.id,
        &access.pad.slug,
        &body,
    )
    .await?;
    Ok(Json(switches::view(&state.db, row, access.role).await?))
}

/// End the interview: candidates become read-only, an active recording stops, the pad keeps its
/// history (interviewers; audited `interview.end`). 409 `interview_ended` the second time.
#[utoipa::path(post, path = "/api/pads/{slug}/interview/end", tag = "interviews", params(("slug" = String, Path)),
    responses((status = 200, body = InterviewView), (status = 401), (status = 403), (status = 404), (status = 409)))]
async fn end_interview(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<InterviewView>> {
    access.require(Role::can_see_interviewer_notes, "end this interview")?;
    let row = switches::end(
        &state,
        &access.current.actor,
        &access.pad,
        access.current.user.id,
    )
    .await?;
    Ok(Json(switches::view(&state.db, row, access.role).await?))
}

/// Ask to be let in (any member; a candidate waits until an interviewer decides, everyone else is
/// in already). Answers the caller's status; knocking again changes nothing.
#[utoipa::path(post, path = "/api/pads/{slug}/interview/knock", tag = "interviews", params(("slug" = String, Path)),
    responses((status = 200, body = Knocked), (status = 401), (status = 404)))]
async fn knock(
    State(state): State<AppState>,
    PadMembership(access): PadMembership,
) -> AppResult<Json<Knocked>> {
    Ok(Json(
        waiting_room::knock(&state, &access.pad, access.current.user.id, access.role).await?,
    ))
}

/// Admit (`{admit: true}`) or turn away someone who knocked (interviewers; audited
/// `interview.admit` / `interview.refuse`). 404 when they never knocked.
#[utoipa::path(post, path = "/api/pads/{slug}/interview/admissions/{userId}", tag = "interviews",
    params(("slug" = String, Path), ("userId" = i64, Path)), request_body = Decision,
    responses((status = 200, body = Done), (status = 401), (status = 403), (status = 404)))]
async fn decide(
    State(state): State<AppState>,
    access: PadAccess,
    PathOr404(path): PathOr404<AdmissionPath>,
    ApiJson(body): ApiJson<Decision>,
) -> AppResult<Json<Done>> {
    access.require(Role::can_see_interviewer_notes, "admit candidates")?;
    let user = parse_user_id(&path.user_id)?;
    waiting_room::decide(
        &state,
        &access.current.actor,
        &access.pad,
        access.current.user.id,
        user,
        body.admit,
    )
    .await?;
    Ok(done())
}

/// The caller's scorecard and, once they have submitted it, the others' submitted ones
/// (interviewers). 404 when the pad holds no interview.
#[utoipa::path(get, path = "/api/pads/{slug}/interview/scorecards", tag = "interviews", params(("slug" = String, Path)),
    responses((status = 200, body = ScorecardsView), (status = 401), (status = 403), (status = 404)))]
async fn list_scorecards(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<ScorecardsView>> {
    access.require(Role::can_see_interviewer_notes, "see scorecards")?;
    Ok(Json(
        scorecards::list(&state, access.pad.id, access.current.user.id).await?,
    ))
}

/// Save the caller's scorecard as a draft (interviewers). 409 `scorecard_submitted` once submitted.
#[utoipa::path(put, path = "/api/pads/{slug}/interview/scorecards/mine", tag = "interviews", params(("slug" = String, Path)),
    request_body = ScorecardInput,
    responses((status = 200, body = ScorecardsView), (status = 400), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "scorecard_submitted"), (status = 413)))]
async fn save_scorecard(
    State(state): State<AppState>,
    access: PadAccess,
    ApiJson(body): ApiJson<ScorecardInput>,
) -> AppResult<Json<ScorecardsView>> {
    access.require(Role::can_see_interviewer_notes, "fill a scorecard")?;
    Ok(Json(
        scorecards::write(
            &state,
            &access.current.actor,
            &access.pad,
            access.current.user.id,
            body,
            false,
        )
        .await?,
    ))
}

/// Submit the caller's scorecard: every criterion rated and a recommendation given (400
/// `scorecard_incomplete`), final from now on; the answer includes the others' submitted ones
/// (interviewers; audited `interview.scorecard.submit`).
#[utoipa::path(post, path = "/api/pads/{slug}/interview/scorecards/mine/submit", tag = "interviews", params(("slug" = String, Path)),
    request_body = ScorecardInput,
    responses((status = 200, body = ScorecardsView), (status = 400), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "scorecard_submitted"), (status = 413)))]
async fn submit_scorecard(
    State(state): State<AppState>,
    access: PadAccess,
    ApiJson(body): ApiJson<ScorecardInput>,
) -> AppResult<Json<ScorecardsView>> {
    access.require(Role::can_see_interviewer_notes, "submit a scorecard")?;
    Ok(Json(
        scorecards::write(
            &state,
            &access.current.actor,
            &access.pad,
            access.current.user.id,
            body,
            true,
        )
        .await?,
    ))
}

/// The debrief (interviewers): the scorecards the caller may see (as in `…/scorecards`), the files'
/// current text, the last runs and the recordings with their playback pages. 404 when the pad
/// holds no interview.
#[utoipa::path(get, path = "/api/pads/{slug}/interview/summary", tag = "interviews", params(("slug" = String, Path)),
    responses((status = 200, body = InterviewSummary), (status = 401), (status = 403), (status = 404)))]
async fn interview_summary(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<InterviewSummary>> {
    access.require(Role::can_see_interviewer_notes, "see the interview summary")?;
    Ok(Json(
        summary::summary(&state, &access.pad, access.current.user.id).await?,
    ))
}

/// The summary as a Markdown download (interviewers).
#[utoipa::path(get, path = "/api/pads/{slug}/interview/summary/markdown", tag = "interviews", params(("slug" = String, Path)),
    responses((status = 200, content_type = "text/markdown", description = "Content-Disposition: attachment"),
        (status = 401), (status = 403), (status = 404)))]
async fn summary_markdown(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<impl IntoResponse> {
    access.require(
        Role::can_see_interviewer_notes,
        "export the interview summary",
    )?;
    let body =
        summary::markdown(&summary::summary(&state, &access.pad, access.current.user.id).await?);
    // Slugs are URL-safe; the file name needs no escaping.
    let disposition = format!("attachment; filename=\"interview-{}.md\"", access.pad.slug);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_string(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    ))
}

/// The caller's scorecard template (the built-in one until they save their own).
#[utoipa::path(get, path = "/api/scorecard-template", tag = "interviews",
    responses((status = 200, body = TemplateView), (status = 401)))]
async fn get_template(
    State(state): State<AppState>,
    current: CurrentUser,
) -> AppResult<Json<TemplateView>> {
    Ok(Json(scorecards::template(&state, current.user.id).await?))
}

/// Save the caller's scorecard template: what their new scorecards start from. The limits of a
/// scorecard apply; ratings are dropped.
#[utoipa::path(put, path = "/api/scorecard-template", tag = "interviews", request_body = TemplateInput,
    responses((status = 200, body = TemplateView), (status = 400), (status = 401), (status = 413)))]
async fn set_template(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<TemplateInput>,
) -> AppResult<Json<TemplateView>> {
    Ok(Json(
        scorecards::set_template(&state, current.user.id, body).await?,
    ))
}

/// The candidate client's integrity reports (interviewers): pastes and large insertions with
/// their size and file, focus lost and regained, oldest first.
#[utoipa::path(get, path = "/api/pads/{slug}/interview/integrity", tag = "interviews", params(("slug" = String, Path)),
    responses((status = 200, body = IntegrityTimeline), (status = 401), (status = 403), (status = 404)))]
async fn integrity_timeline(
    State(state): State<AppState>,
    access: PadAccess,
) -> AppResult<Json<IntegrityTimeline>> {
    access.require(
        Role::can_see_interviewer_notes,
        "see the integrity timeline",
    )?;
    Ok(Json(integrity::timeline(&state.db, access.pad.id).await?))
}
