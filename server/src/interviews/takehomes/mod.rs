//! Take-homes (issue 13 §7): a question's owner or co-editor makes a link valid for a time window
//! with a time limit; the candidate who opens it (signed in) and presses Start gets a private
//! interview pad — owned by the take-home's creator, the candidate its only candidate, admitted,
//! recorded — and a deadline stamped by the server. Submitting (or the deadline) ends the
//! interview, which makes the pad read-only for the candidate (`switches`), and grades the attempt:
//! every case, hidden ones included, runs in the sandbox (`test_cases::run`).
//!
//! One start per link: a link is made for one candidate, so whoever starts it first owns it and a
//! forwarded link cannot give a second person a second attempt; the candidate opening it again
//! gets their pad back.
//!
//! The deadline survives restarts: it is a column, and every node sweeps for attempts past it
//! every `SWEEP_INTERVAL`. Two nodes (or a Submit racing the sweep) never grade twice: submitting
//! is a conditional update that only one caller wins, and so is claiming the grading; a claim
//! older than `GRADING_STALE_MS` (its node died mid-grading) is taken over by the next sweep.

mod grading;
pub mod routes;
pub mod store;

pub use grading::{
    for_pad, grading, spawn_background, submit, sweep, Grading, PadTakehome, SubmittedBy,
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::questions;
use super::start;
use super::store as interview_store;
use super::switches::now_ms;
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::db::UserId;
use crate::error::{AppError, AppResult};
use crate::pads::invites::{generate_token, looks_like_token, PublicBase};
use crate::pads::languages;
use crate::pads::members::full_error;
use crate::pads::roles::Role;
use crate::pads::store::{self as pad_store, GrantOutcome, Pad};
use crate::AppState;
use store::{AttemptRow, NewAttempt, NewTakehome, TakehomeRow};

/// Shortest time limit: short enough for an automated test of the deadline, not useful otherwise.
pub const MIN_TIME_LIMIT_MS: i64 = 5 * 1000;
/// Longest time limit (a weekend take-home).
pub const MAX_TIME_LIMIT_MS: i64 = 72 * 60 * 60 * 1000;
/// Longest window between opening and closing a link.
pub const MAX_WINDOW_MS: i64 = 90 * 24 * 60 * 60 * 1000;
/// Take-homes made from one question.
pub const MAX_TAKEHOMES_PER_QUESTION: usize = 200;

/// What an interviewer asks for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateTakehome {
    /// Milliseconds since the epoch; default now.
    pub opens_at_ms: Option<i64>,
    /// After `opensAtMs`, in the future, at most 90 days after it.
    pub closes_at_ms: i64,
    /// Time the candidate has once they press Start: 5 s to 72 h.
    pub time_limit_ms: i64,
    /// Languages the candidate may pick (ids or aliases), each one of the question's; default all.
    #[serde(default)]
    pub languages: Vec<String>,
}

/// A take-home as interviewers see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TakehomeView {
    pub id: i64,
    pub question_id: i64,
    pub languages: Vec<String>,
    pub opens_at_ms: i64,
    pub closes_at_ms: i64,
    pub time_limit_ms: i64,
    pub created_at: String,
    /// The pad of its attempt, once started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<AttemptView>,
}

/// A freshly made take-home with its link: the only time the link is shown.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTakehome {
    pub takehome: TakehomeView,
    pub url: String,
}

/// An attempt's clock, on the server's clock.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    pub slug: String,
    pub language: String,
    pub started_at_ms: i64,
    pub deadline_ms: i64,
    pub submitted_at_ms: Option<i64>,
    /// `candidate` or `deadline`.
    pub submitted_by: Option<String>,
    pub graded_at_ms: Option<i64>,
    pub now_ms: i64,
}

fn languages_of(row: &TakehomeRow) -> Vec<String> {
    row.languages.split(',').map(str::to_string).collect()
}

async fn attempt_view(state: &AppState, attempt: AttemptRow) -> AppResult<AttemptView> {
    let pad = pad_store::find(&state.db, attempt.pad_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(AttemptView {
        slug: pad.slug,
        language: attempt.language,
        started_at_ms: attempt.started_at_ms,
        deadline_ms: attempt.deadline_ms,
        submitted_at_ms: attempt.submitted_at_ms,
        submitted_by: attempt.submitted_by,
        graded_at_ms: attempt.graded_at_ms,
        now_ms: now_ms(),
    })
}

async fn view(state: &AppState, row: TakehomeRow) -> AppResult<TakehomeView> {
    let attempt = match store::attempt_of(&state.db, row.id).await? {
        Some(attempt) => Some(attempt_view(state, attempt).await?),
        None => None,
    };
    Ok(TakehomeView {
        id: row.id,
        question_id: row.question_id,
        languages: languages_of(&row),
        opens_at_ms: row.opens_at_ms,
        closes_at_ms: row.closes_at_ms,
        time_limit_ms: row.time_limit_ms,
        created_at: row.created_at,
        attempt,
    })
}

/// Only a hash of a token is stored, so the table is no key store.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn invalid_window() -> AppError {
    AppError::invalid(
        "invalid_window",
        "closesAtMs is after opensAtMs, in the future, and at most 90 days after opensAtMs",
    )
}

/// Make a take-home from a question the caller owns or co-edits. Audited `takehome.create`
/// (without the token).
pub async fn create(
    state: &AppState,
    actor: &Actor,
    caller: UserId,
    question: i64,
    req: CreateTakehome,
    base: &PublicBase,
) -> AppResult<CreatedTakehome> {
    let question = questions::find(state, question, caller).await?;
    let now = now_ms();
    let opens_at_ms = req.opens_at_ms.unwrap_or(now);
    if req.closes_at_ms <= opens_at_ms
        || req.closes_at_ms <= now
        || req.closes_at_ms - opens_at_ms > MAX_WINDOW_MS
    {
        return Err(invalid_window());
    }
    if !(MIN_TIME_LIMIT_MS..=MAX_TIME_LIMIT_MS).contains(&req.time_limit_ms) {
        return Err(AppError::invalid(
            "invalid_time_limit",
            format!("timeLimitMs is {MIN_TIME_LIMIT_MS}–{MAX_TIME_LIMIT_MS}"),
        ));
    }
    let mut offered: Vec<String> = Vec::new();
    for file in &question.files {
        if !offered.contains(&file.language) {
            offered.push(file.language.clone());
        }
    }
    let languages = if req.languages.is_empty() {
        offered
    } else {
        let mut picked: Vec<String> = Vec::new();
        for raw in &req.languages {
            let id = languages::resolve(raw)?.id.clone();
            if !offered.contains(&id) {
                return Err(AppError::invalid(
                    "invalid_language",
                    format!("the question has no starter files for {id}"),
                ));
            }
            if !picked.contains(&id) {
                picked.push(id);
            }
        }
        picked
    };
    let token = generate_token();
    let joined = languages.join(",");
    let new = NewTakehome {
        question: question.row.id,
        created_by: caller,
        token_hash: &token_hash(&token),
        languages: &joined,
        opens_at_ms,
        closes_at_ms: req.closes_at_ms,
        time_limit_ms: req.time_limit_ms,
    };
    let id = store::create(&state.db, &new, MAX_TAKEHOMES_PER_QUESTION)
        .await?
        .ok_or_else(|| {
            AppError::conflict(
                "too_many_takehomes",
                format!("a question has at most {MAX_TAKEHOMES_PER_QUESTION} take-homes"),
            )
        })?;
    let meta = serde_json::json!({ "takehome": id, "timeLimitMs": req.time_limit_ms });
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::TakehomeCreate)
                .target(format!("question:{}", question.row.id))
                .meta(meta),
        )
        .await;
    let row = store::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(CreatedTakehome {
        takehome: view(state, row).await?,
        url: format!("{}/take-home/{token}", base.0),
    })
}

/// A question's take-homes (owner and co-editors).
pub async fn list(state: &AppState, caller: UserId, question: i64) -> AppResult<Vec<TakehomeView>> {
    let question = questions::find(state, question, caller).await?;
    let mut views = Vec::new();
    for row in store::for_question(&state.db, question.row.id).await? {
        views.push(view(state, row).await?);
    }
    Ok(views)
}

/// What the candidate sees before pressing Start: the rules, not the prompt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkPreview {
    pub title: String,
    pub difficulty: String,
    pub languages: Vec<String>,
    pub opens_at_ms: i64,
    pub closes_at_ms: i64,
    pub time_limit_ms: i64,
    /// `not_open`, `open`, `closed`, `started` (by the caller: `slug` is their pad), `submitted`
    /// (by the caller) or `used` (someone else started it).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    pub now_ms: i64,
}

async fn by_token(state: &AppState, token: &str) -> AppResult<TakehomeRow> {
    if !looks_like_token(token) {
        return Err(AppError::NotFound);
    }
    store::find_by_token_hash(&state.db, &token_hash(token))
        .await?
        .ok_or(AppError::NotFound)
}

/// Where the link stands for `caller` now.
async fn status(
    state: &AppState,
    row: &TakehomeRow,
    caller: UserId,
    now: i64,
) -> AppResult<(&'static str, Option<AttemptView>)> {
    if let Some(attempt) = store::attempt_of(&state.db, row.id).await? {
        if attempt.candidate_id != caller {
            return Ok(("used", None));
        }
        let submitted = attempt.submitted_at_ms.is_some();
        let view = attempt_view(state, attempt).await?;
        return Ok((if submitted { "submitted" } else { "started" }, Some(view)));
    }
    Ok(if now < row.opens_at_ms {
        ("not_open", None)
    } else if now >= row.closes_at_ms {
        ("closed", None)
    } else {
        ("open", None)
    })
}

pub async fn preview(state: &AppState, token: &str, caller: UserId) -> AppResult<LinkPreview> {
    let row = by_token(state, token).await?;
    let now = now_ms();
    let (status, attempt) = status(state, &row, caller, now).await?;
    let question = super::questions::store::find(&state.db, row.question_id, row.created_by)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(LinkPreview {
        title: question.row.title,
        difficulty: question.row.difficulty,
        languages: languages_of(&row),
        opens_at_ms: row.opens_at_ms,
        closes_at_ms: row.closes_at_ms,
        time_limit_ms: row.time_limit_ms,
        status: status.to_string(),
        slug: attempt.map(|a| a.slug),
        now_ms: now,
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartTakehome {
    /// One of the take-home's languages; default its first.
    pub language: Option<String>,
}

/// Refusals of a link that cannot be started (any more).
fn unavailable(status: &str) -> AppError {
    match status {
        "not_open" => AppError::conflict("takehome_not_open", "this take-home has not opened yet"),
        "closed" => AppError::gone("takehome_closed", "this take-home's window has closed"),
        "submitted" => AppError::gone("takehome_submitted", "you have submitted this take-home"),
        _ => AppError::gone(
            "takehome_used",
            "this take-home link has already been used by someone else",
        ),
    }
}

/// Start the take-home for `caller`: their pad, their clock. Starting again (same candidate,
/// not submitted) answers the same attempt. Audited `takehome.start`.
pub async fn start(
    state: &AppState,
    actor: &Actor,
    token: &str,
    caller: UserId,
    req: StartTakehome,
) -> AppResult<AttemptView> {
    let row = by_token(state, token).await?;
    let now = now_ms();
    match status(state, &row, caller, now).await? {
        ("started", Some(attempt)) => return Ok(attempt),
        ("open", _) => {}
        (other, _) => return Err(unavailable(other)),
    }
    if caller == row.created_by {
        return Err(AppError::invalid(
            "own_takehome",
            "you made this take-home; send the link to a candidate",
        ));
    }
    let offered = languages_of(&row);
    let language = match req.language.as_deref() {
        Some(raw) => languages::resolve(raw)?.id.clone(),
        None => offered.first().cloned().ok_or(AppError::NotFound)?,
    };
    if !offered.contains(&language) {
        return Err(AppError::invalid(
            "invalid_language",
            format!("this take-home is in {}", offered.join(", ")),
        ));
    }
    let question = super::questions::store::find(&state.db, row.question_id, row.created_by)
        .await?
        .ok_or_else(|| unavailable("closed"))?;
    let (pad, _, language) = start::interview_pad(
        state,
        row.created_by,
        &question,
        Some(&language),
        &question.row.title,
    )
    .await?;
    let deadline_ms = now + row.time_limit_ms;
    let attempt = NewAttempt {
        takehome: row.id,
        pad: pad.id,
        candidate: caller,
        language: &language,
        started_at_ms: now,
        deadline_ms,
    };
    let prepared = async {
        admit_candidate(state, &pad, caller, row.time_limit_ms, now).await?;
        Ok::<_, AppError>(store::insert_attempt(&state.db, &attempt).await?)
    };
    let won = prepared.await;
    if !matches!(won, Ok(true)) {
        // Failed, or someone started it in between: this pad goes, theirs stands (and is the
        // caller's own when they pressed Start twice at once).
        state.docs.unload(pad.id).await;
        pad_store::delete(&state.db, pad.id).await?;
        won?;
        return match status(state, &row, caller, now).await? {
            ("started", Some(attempt)) => Ok(attempt),
            (other, _) => Err(unavailable(other)),
        };
    }
    let meta = serde_json::json!({ "takehome": row.id, "deadlineMs": deadline_ms });
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::TakehomeStart)
                .target(&pad.slug)
                .meta(meta),
        )
        .await;
    start_recording(state, actor, &pad, caller).await;
    let attempt = store::attempt_on_pad(&state.db, pad.id)
        .await?
        .ok_or(AppError::NotFound)?;
    attempt_view(state, attempt).await
}

/// The candidate joins as the pad's candidate, already admitted (nobody is there to let them in),
/// with the countdown of their time limit on the interview's timer.
async fn admit_candidate(
    state: &AppState,
    pad: &Pad,
    candidate: UserId,
    time_limit_ms: i64,
    now: i64,
) -> AppResult<()> {
    match pad_store::grant_at_least(
        &state.db,
        pad.id,
        candidate,
        Role::Candidate,
        state.config.pad_max_members,
    )
    .await?
    {
        GrantOutcome::Granted(_) => {}
        GrantOutcome::Full => return Err(full_error(state.config.pad_max_members)),
        GrantOutcome::Removed => return Err(AppError::NotFound),
    }
    interview_store::knock(&state.db, pad.id, candidate).await?;
    interview_store::decide(
        &state.db,
        pad.id,
        candidate,
        interview_store::ADMITTED,
        candidate,
    )
    .await?;
    let timer = interview_store::SwitchValues {
        locked: false,
        run_disabled: false,
        terminal_disabled: false,
        prompt_hidden: false,
        timer_mode: Some("countdown".into()),
        timer_started_ms: Some(now),
        timer_duration_ms: Some(time_limit_ms),
    };
    interview_store::set_switches(&state.db, pad.id, &timer).await?;
    Ok(())
}

/// Record the attempt from its start; auto-record keeps recording whenever the candidate is on the
/// pad. A recording that cannot start is logged, not a reason to refuse the take-home.
async fn start_recording(state: &AppState, actor: &Actor, pad: &Pad, candidate: UserId) {
    let started = async {
        crate::recordings::store::set_auto_record(&state.db, pad.id, true).await?;
        crate::recordings::service::start(state, actor, pad, Some(candidate), None, true).await?;
        Ok::<_, AppError>(())
    };
    if let Err(err) = started.await {
        tracing::warn!(error = %err, pad = %pad.id, "starting a take-home's recording failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let (a, b) = (generate_token(), generate_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(looks_like_token(&a));
        assert!(!looks_like_token("short"));
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }

    #[test]
    fn every_refusal_names_its_case() {
        assert_eq!(unavailable("not_open").code(), "takehome_not_open");
        assert_eq!(unavailable("closed").code(), "takehome_closed");
        assert_eq!(unavailable("submitted").code(), "takehome_submitted");
        assert_eq!(unavailable("used").code(), "takehome_used");
    }
}
