//! The question bank (issue 13 §1): the actions on questions (limits and validation in `input`). A question is
//! its owner's; co-editors named by the owner may read, change and start interviews from it.
//! Nobody else learns it exists (404, like a pad they are not on).
//!
//! Guidance (expected solution, hints, what to look for) is interviewer-only: it is returned by
//! these endpoints, which only owners and co-editors reach, copied into an interview when it
//! starts, and never sent to a candidate (`switches::InterviewView`).

mod input;
pub mod store;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scorecards::{self, Section};
use super::test_cases::signature::Signature;
use super::test_cases::{harness, TestCase};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::db::UserId;
use crate::error::{AppError, AppResult};
use crate::pads::languages;
use crate::AppState;
use store::{CreateOutcome, Editor, Question, ShareOutcome, StarterFile};

pub use input::*;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StarterView {
    pub name: String,
    pub content: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LanguageView {
    pub language: String,
    pub files: Vec<StarterView>,
}

/// A question as its owner and co-editors see it (guidance included).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuestionView {
    pub id: i64,
    pub owner: Editor,
    /// The caller owns it (may delete and share it).
    pub mine: bool,
    pub title: String,
    pub prompt: String,
    pub difficulty: String,
    pub tags: Vec<String>,
    pub languages: Vec<LanguageView>,
    pub guidance: String,
    pub scorecard_template: Option<Vec<Section>>,
    pub signature: Option<Signature>,
    /// The question's languages that can run function cases (those with a harness).
    pub function_languages: Vec<String>,
    /// Every case, hidden ones included (owner and co-editors only).
    pub tests: Vec<TestCase>,
    pub editors: Vec<Editor>,
    pub created_at: String,
    pub updated_at: String,
}

/// Starter files grouped by language, in stored order.
pub fn by_language(files: Vec<StarterFile>) -> Vec<LanguageView> {
    let mut languages: Vec<LanguageView> = Vec::new();
    for file in files {
        let starter = StarterView {
            name: file.name,
            content: file.content,
        };
        match languages.iter_mut().find(|l| l.language == file.language) {
            Some(group) => group.files.push(starter),
            None => languages.push(LanguageView {
                language: file.language,
                files: vec![starter],
            }),
        }
    }
    languages
}

fn view(question: Question, caller: UserId) -> AppResult<QuestionView> {
    let row = question.row;
    let scorecard_template = row
        .scorecard_template
        .as_deref()
        .map(scorecards::parse_template)
        .transpose()?;
    let signature = row
        .signature
        .as_deref()
        .map(serde_json::from_str::<Signature>)
        .transpose()
        .map_err(|err| AppError::Internal(err.into()))?;
    let languages = by_language(question.files);
    let function_languages = languages
        .iter()
        .filter(|l| harness::for_language(&l.language).is_some())
        .map(|l| l.language.clone())
        .collect();
    Ok(QuestionView {
        id: row.id,
        owner: Editor {
            id: row.owner_id,
            name: row.owner_name,
        },
        mine: row.owner_id == caller,
        title: row.title,
        prompt: row.prompt,
        difficulty: row.difficulty,
        tags: question.tags,
        languages,
        guidance: row.guidance,
        scorecard_template,
        signature,
        function_languages,
        tests: question.tests,
        editors: question.editors,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The question, if `caller` owns it or co-edits it; 404 otherwise.
pub async fn find(state: &AppState, id: i64, caller: UserId) -> AppResult<Question> {
    store::find(&state.db, id, caller)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn get(state: &AppState, id: i64, caller: UserId) -> AppResult<QuestionView> {
    view(find(state, id, caller).await?, caller)
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    owner: UserId,
    input: QuestionInput,
) -> AppResult<QuestionView> {
    let fields = validate(input)?;
    let id = match store::create(&state.db, owner, &fields, MAX_QUESTIONS_PER_USER).await? {
        CreateOutcome::Created(id) => id,
        CreateOutcome::TooMany => {
            return Err(AppError::conflict(
                "too_many_questions",
                format!("you have {MAX_QUESTIONS_PER_USER} questions; delete one first"),
            ))
        }
    };
    audit(
        state,
        actor,
        AuditAction::QuestionCreate,
        id,
        serde_json::json!({ "title": fields.title }),
    )
    .await;
    get(state, id, owner).await
}

pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: i64,
    caller: UserId,
    input: QuestionInput,
) -> AppResult<QuestionView> {
    let fields = validate(input)?;
    if !store::update(&state.db, id, caller, &fields).await? {
        return Err(AppError::NotFound);
    }
    audit(
        state,
        actor,
        AuditAction::QuestionUpdate,
        id,
        serde_json::json!({ "title": fields.title }),
    )
    .await;
    get(state, id, caller).await
}

/// Delete (owner only: a co-editor gets 403, a stranger 404).
pub async fn delete(state: &AppState, actor: &Actor, id: i64, caller: UserId) -> AppResult<()> {
    let question = find(state, id, caller).await?;
    if question.row.owner_id != caller {
        return Err(AppError::forbidden(
            "only the question's owner may delete it",
        ));
    }
    if !store::delete(&state.db, id, caller).await? {
        return Err(AppError::NotFound);
    }
    audit(
        state,
        actor,
        AuditAction::QuestionDelete,
        id,
        serde_json::json!({ "title": question.row.title }),
    )
    .await;
    Ok(())
}

/// Name a co-editor (owner only).
pub async fn share(
    state: &AppState,
    actor: &Actor,
    id: i64,
    caller: UserId,
    editor: UserId,
) -> AppResult<QuestionView> {
    let question = find(state, id, caller).await?;
    if question.row.owner_id != caller {
        return Err(AppError::forbidden(
            "only the question's owner may share it",
        ));
    }
    match store::add_editor(&state.db, id, caller, editor, MAX_EDITORS_PER_QUESTION).await? {
        ShareOutcome::Added => {
            audit(
                state,
                actor,
                AuditAction::QuestionShare,
                id,
                serde_json::json!({ "editor": editor }),
            )
            .await;
        }
        ShareOutcome::Already => {}
        ShareOutcome::Missing => {
            return Err(AppError::invalid(
                "unknown_user",
                "no such user to share with",
            ))
        }
        ShareOutcome::TooMany => {
            return Err(AppError::conflict(
                "too_many_editors",
                format!("a question has at most {MAX_EDITORS_PER_QUESTION} co-editors"),
            ))
        }
    }
    get(state, id, caller).await
}

/// Remove a co-editor: the owner removes anyone, a co-editor themselves.
pub async fn unshare(
    state: &AppState,
    actor: &Actor,
    id: i64,
    caller: UserId,
    editor: UserId,
) -> AppResult<()> {
    let question = find(state, id, caller).await?;
    if question.row.owner_id != caller && editor != caller {
        return Err(AppError::forbidden(
            "only the question's owner may remove other co-editors",
        ));
    }
    if !store::remove_editor(&state.db, id, caller, editor).await? {
        return Err(AppError::NotFound);
    }
    audit(
        state,
        actor,
        AuditAction::QuestionUnshare,
        id,
        serde_json::json!({ "editor": editor }),
    )
    .await;
    Ok(())
}

async fn audit(
    state: &AppState,
    actor: &Actor,
    action: AuditAction,
    id: i64,
    meta: serde_json::Value,
) {
    state
        .audit
        .record(
            actor,
            AuditEvent::new(action)
                .target(format!("question:{id}"))
                .meta(meta),
        )
        .await;
}

/// The list's narrowing, as the query string gives it.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Text in the title or prompt (case-insensitive).
    pub q: Option<String>,
    pub tag: Option<String>,
    /// A language id or alias.
    pub language: Option<String>,
    pub difficulty: Option<String>,
    /// The previous page's `nextBefore`.
    pub before: Option<i64>,
    /// 1–100, default 20.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuestionSummary {
    pub id: i64,
    pub owner: Editor,
    pub mine: bool,
    pub title: String,
    pub difficulty: String,
    pub tags: Vec<String>,
    pub languages: Vec<String>,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuestionPage {
    pub questions: Vec<QuestionSummary>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

fn split_list(joined: Option<String>) -> Vec<String> {
    joined
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

pub async fn list(state: &AppState, caller: UserId, query: ListQuery) -> AppResult<QuestionPage> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::invalid(
            "invalid_limit",
            format!("limit is 1–{MAX_PAGE}"),
        ));
    }
    let text = query.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > MAX_SEARCH_CHARS) {
        return Err(AppError::invalid(
            "invalid_search",
            format!("search text is at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    let filter = store::Filter {
        text: text.map(str::to_lowercase),
        tag: query.tag.as_deref().map(normalize_tag).transpose()?,
        language: query
            .language
            .as_deref()
            .map(|l| languages::resolve(l).map(|l| l.id.clone()))
            .transpose()?,
        difficulty: query
            .difficulty
            .as_deref()
            .map(parse_difficulty)
            .transpose()?
            .map(str::to_string),
        before: query.before,
    };
    // One more than asked tells whether there is a next page.
    let mut rows = store::list(&state.db, caller, &filter, limit + 1).await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_before = if more {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let questions = rows
        .into_iter()
        .map(|row| QuestionSummary {
            id: row.id,
            mine: row.owner_id == caller,
            owner: Editor {
                id: row.owner_id,
                name: row.owner_name,
            },
            title: row.title,
            difficulty: row.difficulty,
            tags: split_list(row.tags),
            languages: split_list(row.languages),
            updated_at: row.updated_at,
        })
        .collect();
    Ok(QuestionPage {
        questions,
        next_before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_grouped_by_language_in_order() {
        let file = |language: &str, name: &str| StarterFile {
            language: language.into(),
            name: name.into(),
            content: String::new(),
        };
        let grouped = by_language(vec![
            file("go", "main.go"),
            file("python", "main.py"),
            file("go", "util.go"),
        ]);
        let shape: Vec<(String, Vec<String>)> = grouped
            .into_iter()
            .map(|l| (l.language, l.files.into_iter().map(|f| f.name).collect()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("go".into(), vec!["main.go".into(), "util.go".into()]),
                ("python".into(), vec!["main.py".into()])
            ]
        );
    }
}
