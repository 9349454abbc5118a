//! The question bank (issue 13 §1): validation, limits and the actions on questions. A question is
//! its owner's; co-editors named by the owner may read, change and start interviews from it.
//! Nobody else learns it exists (404, like a pad they are not on).
//!
//! Guidance (expected solution, hints, what to look for) is interviewer-only: it is returned by
//! these endpoints, which only owners and co-editors reach, copied into an interview when it
//! starts, and never sent to a candidate (`switches::InterviewView`).

pub mod store;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scorecards::{self, Section, TemplateInput};
use super::test_cases::signature::{self, Signature};
use super::test_cases::{self, harness, TestCase, TestCaseInput};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::db::UserId;
use crate::error::{AppError, AppResult};
use crate::pads::files::{validate_file_name, MAX_FILES_PER_PAD};
use crate::pads::{languages, lifecycle};
use crate::AppState;
use store::{CreateOutcome, Editor, Question, QuestionFields, ShareOutcome, StarterFile};

/// Bytes of a question's Markdown prompt.
pub const MAX_PROMPT_BYTES: usize = 32 * 1024;
/// Bytes of a question's interviewer-only guidance.
pub const MAX_GUIDANCE_BYTES: usize = 32 * 1024;
/// Tags on one question.
pub const MAX_TAGS: usize = 10;
/// Characters of one tag (lowercase letters, digits, `+`, `#`, `.`, `-`).
pub const MAX_TAG_CHARS: usize = 32;
/// Starter files on one question, all languages together.
pub const MAX_STARTER_FILES: usize = 20;
/// Bytes of one starter file.
pub const MAX_STARTER_FILE_BYTES: usize = 64 * 1024;
/// Questions one user may own.
pub const MAX_QUESTIONS_PER_USER: usize = 500;
/// Co-editors of one question.
pub const MAX_EDITORS_PER_QUESTION: usize = 20;
/// Characters of the list's search text.
pub const MAX_SEARCH_CHARS: usize = 100;
/// Questions per list page when the request does not say, and at most.
pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 100;

// A started interview puts every starter file of one language in one pad.
const _: () = assert!(MAX_STARTER_FILES <= MAX_FILES_PER_PAD);

pub const DIFFICULTIES: [&str; 3] = ["easy", "medium", "hard"];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StarterInput {
    pub name: String,
    #[serde(default)]
    pub content: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LanguageInput {
    /// A language id or alias.
    pub language: String,
    /// Starter files; none: the language's own starter file.
    #[serde(default)]
    pub files: Vec<StarterInput>,
}

/// A question as written by its owner or a co-editor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuestionInput {
    pub title: String,
    /// Markdown; rendered without raw HTML.
    #[serde(default)]
    pub prompt: String,
    /// `easy`, `medium` or `hard`.
    pub difficulty: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// At least one.
    pub languages: Vec<LanguageInput>,
    /// Interviewer-only: expected solution, hints, what to look for.
    #[serde(default)]
    pub guidance: String,
    /// The scorecard template its interviews use (instead of each interviewer's own); none: theirs.
    #[serde(default)]
    pub scorecard_template: Option<TemplateInput>,
    /// The function its candidates write; languages with a harness given no files get a
    /// starter generated from it, and `function` test cases call it.
    #[serde(default)]
    pub signature: Option<Signature>,
    /// stdin / expected-stdout pairs or function calls, visible or hidden (`test_cases`).
    #[serde(default)]
    pub tests: Vec<TestCaseInput>,
}

pub fn parse_difficulty(raw: &str) -> AppResult<&'static str> {
    DIFFICULTIES
        .iter()
        .copied()
        .find(|d| *d == raw.trim())
        .ok_or_else(|| {
            AppError::invalid("invalid_difficulty", "difficulty is easy, medium or hard")
        })
}

/// Tags are compared lowercased; the same tag twice counts once.
pub fn normalize_tag(raw: &str) -> AppResult<String> {
    let tag = raw.trim().to_lowercase();
    let chars = tag.chars().count();
    let allowed = tag.chars().all(|c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '#' | '.' | '-')
    });
    if chars == 0 || chars > MAX_TAG_CHARS || !allowed {
        return Err(AppError::invalid(
            "invalid_tags",
            format!("a tag is 1–{MAX_TAG_CHARS} characters of a–z, 0–9, '+', '#', '.', '-'"),
        ));
    }
    Ok(tag)
}

fn too_large(code: &'static str, what: &str, max: usize) -> AppError {
    AppError::TooLarge {
        code,
        message: format!("{what} holds at most {max} bytes"),
    }
}

/// Check every field and limit; the result is what the store writes.
pub fn validate(input: QuestionInput) -> AppResult<QuestionFields> {
    let title = lifecycle::validate_title(&input.title)?;
    if input.prompt.len() > MAX_PROMPT_BYTES {
        return Err(too_large("prompt_too_large", "a prompt", MAX_PROMPT_BYTES));
    }
    if input.guidance.len() > MAX_GUIDANCE_BYTES {
        return Err(too_large(
            "guidance_too_large",
            "the guidance",
            MAX_GUIDANCE_BYTES,
        ));
    }
    let difficulty = parse_difficulty(&input.difficulty)?.to_string();
    let mut tags = Vec::new();
    for raw in &input.tags {
        let tag = normalize_tag(raw)?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(AppError::invalid(
            "invalid_tags",
            format!("a question has at most {MAX_TAGS} tags"),
        ));
    }
    tags.sort();
    let signature = input.signature.map(signature::validate).transpose()?;
    if input.languages.is_empty() {
        return Err(AppError::invalid(
            "invalid_languages",
            "a question needs at least one language",
        ));
    }
    let mut files: Vec<StarterFile> = Vec::new();
    let mut seen_languages: Vec<&str> = Vec::new();
    for entry in &input.languages {
        let language = languages::resolve(&entry.language)?;
        if seen_languages.contains(&language.id.as_str()) {
            return Err(AppError::invalid(
                "invalid_languages",
                format!("{} is listed twice", language.id),
            ));
        }
        seen_languages.push(&language.id);
        if entry.files.is_empty() {
            let generated = signature
                .as_ref()
                .zip(harness::for_language(&language.id))
                .map(|(signature, harness)| harness.starter(signature));
            files.push(StarterFile {
                language: language.id.clone(),
                name: language.default_file.clone(),
                content: generated.unwrap_or_else(|| language.template.clone()),
            });
        }
        for file in &entry.files {
            validate_file_name(&file.name)?;
            if file.content.len() > MAX_STARTER_FILE_BYTES {
                return Err(too_large(
                    "starter_too_large",
                    "a starter file",
                    MAX_STARTER_FILE_BYTES,
                ));
            }
            if files
                .iter()
                .any(|f| f.language == language.id && f.name == file.name)
            {
                return Err(AppError::invalid(
                    "invalid_file_name",
                    format!("{} is listed twice", file.name),
                ));
            }
            files.push(StarterFile {
                language: language.id.clone(),
                name: file.name.clone(),
                content: file.content.clone(),
            });
        }
        if files.len() > MAX_STARTER_FILES {
            return Err(AppError::invalid(
                "too_many_starter_files",
                format!("a question has at most {MAX_STARTER_FILES} starter files"),
            ));
        }
    }
    let scorecard_template = input
        .scorecard_template
        .map(scorecards::template_body)
        .transpose()?;
    let languages: Vec<String> = seen_languages.iter().map(|l| l.to_string()).collect();
    let tests = test_cases::validate(input.tests, signature.as_ref(), &languages)?;
    Ok(QuestionFields {
        title,
        prompt: input.prompt,
        difficulty,
        guidance: input.guidance,
        tags,
        files,
        scorecard_template,
        signature,
        tests,
    })
}

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

    fn input(languages: Vec<LanguageInput>) -> QuestionInput {
        QuestionInput {
            title: " Two sum ".into(),
            prompt: "Find *two* numbers.".into(),
            difficulty: "easy".into(),
            tags: vec!["Arrays".into(), "arrays".into(), "hash-map".into()],
            languages,
            guidance: "Use a map.".into(),
            scorecard_template: None,
            signature: None,
            tests: vec![],
        }
    }

    #[test]
    fn a_language_without_files_gets_its_starter_and_tags_are_normalised() {
        let fields = validate(input(vec![LanguageInput {
            language: "py".into(),
            files: vec![],
        }]))
        .unwrap();
        assert_eq!(fields.title, "Two sum");
        assert_eq!(fields.tags, vec!["arrays", "hash-map"]);
        assert_eq!(fields.files.len(), 1);
        assert_eq!(
            (
                fields.files[0].language.as_str(),
                fields.files[0].name.as_str()
            ),
            ("python", "main.py")
        );
    }

    #[test]
    fn duplicates_and_unknowns_are_refused() {
        let twice = vec![
            LanguageInput {
                language: "python".into(),
                files: vec![],
            },
            LanguageInput {
                language: "py".into(),
                files: vec![],
            },
        ];
        assert_eq!(
            validate(input(twice)).unwrap_err().code(),
            "invalid_languages"
        );
        assert_eq!(
            validate(input(vec![])).unwrap_err().code(),
            "invalid_languages"
        );
        let bad_name = vec![LanguageInput {
            language: "python".into(),
            files: vec![StarterInput {
                name: "../x.py".into(),
                content: String::new(),
            }],
        }];
        assert_eq!(
            validate(input(bad_name)).unwrap_err().code(),
            "invalid_file_name"
        );
        assert_eq!(
            parse_difficulty("impossible").unwrap_err().code(),
            "invalid_difficulty"
        );
        assert_eq!(
            normalize_tag("no spaces").unwrap_err().code(),
            "invalid_tags"
        );
    }

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
