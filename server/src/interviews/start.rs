//! "Start interview" (issue 13 §1): one request makes an interview pad from a question — the
//! chosen language's starter files as the pad's files — and links the two. The interview keeps a
//! copy of the question's title, prompt and guidance, so later edits of the question (or its
//! deletion) change no interview already under way.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::questions;
use super::questions::store::Question;
use super::store::{self, NewInterview};
use super::switches::{self, InterviewView};
use super::test_cases;
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::db::UserId;
use crate::error::{AppError, AppResult};
use crate::pads::files_store::{NewFile, PadFile};
use crate::pads::roles::Role;
use crate::pads::store::{self as pad_store, Pad};
use crate::pads::{languages, lifecycle};
use crate::AppState;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartRequest {
    /// One of the question's languages (id or alias); default its first.
    pub language: Option<String>,
    /// The pad's title; default the question's.
    pub title: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub pad: Pad,
    pub files: Vec<PadFile>,
    pub my_role: Role,
    pub interview: InterviewView,
}

/// Create the interview pad for `caller` (the question's owner or a co-editor). Audited
/// `interview.start`.
pub async fn start(
    state: &AppState,
    actor: &Actor,
    caller: UserId,
    question: i64,
    req: StartRequest,
) -> AppResult<Started> {
    let question = questions::find(state, question, caller).await?;
    let title = req
        .title
        .as_deref()
        .unwrap_or(&question.row.title)
        .to_string();
    let (pad, files, language) =
        interview_pad(state, caller, &question, req.language.as_deref(), &title).await?;
    let meta = serde_json::json!({ "question": question.row.id, "language": language });
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::InterviewStart)
                .target(&pad.slug)
                .meta(meta),
        )
        .await;
    let row = switches::find(state, pad.id).await?;
    let interview = switches::view(&state.db, row, Role::Owner).await?;
    Ok(Started {
        pad,
        files,
        my_role: Role::Owner,
        interview,
    })
}

/// A new interview pad owned by `owner` from `question`: the language's starter files (`language`
/// an id or alias, default the question's first), the interview row with its copy of the prompt,
/// guidance and test cases. Answers the pad, its files and the language id.
pub async fn interview_pad(
    state: &AppState,
    owner: UserId,
    question: &Question,
    language: Option<&str>,
    title: &str,
) -> AppResult<(Pad, Vec<PadFile>, String)> {
    let language = match language {
        Some(raw) => languages::resolve(raw)?.id.clone(),
        None => question
            .files
            .first()
            .map(|f| f.language.clone())
            .ok_or(AppError::NotFound)?,
    };
    let files: Vec<(NewFile, String)> = question
        .files
        .iter()
        .filter(|f| f.language == language)
        .map(|f| {
            (
                NewFile {
                    name: f.name.clone(),
                    language: f.language.clone(),
                },
                f.content.clone(),
            )
        })
        .collect();
    if files.is_empty() {
        return Err(AppError::invalid(
            "invalid_language",
            format!("the question has no starter files for {language}"),
        ));
    }
    let title = lifecycle::validate_title(title)?;
    let (pad, files) =
        lifecycle::insert_pad(state, owner, &title, &language, "interview", files).await?;
    let new = NewInterview {
        pad: pad.id,
        question: question.row.id,
        language: &language,
        title: &question.row.title,
        prompt: &question.row.prompt,
        guidance: &question.row.guidance,
        scorecard_template: question.row.scorecard_template.as_deref(),
        created_by: owner,
    };
    let created = async {
        store::create(&state.db, &new).await?;
        test_cases::store::copy_to_interview(&state.db, question.row.id, pad.id).await
    };
    if let Err(err) = created.await {
        // A pad that says it is an interview without one is worse than no pad.
        state.docs.unload(pad.id).await;
        pad_store::delete(&state.db, pad.id).await?;
        return Err(err.into());
    }
    Ok((pad, files, language))
}
