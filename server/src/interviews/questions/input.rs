//! A question as written: the limits, the input and its validation into the fields stored.

use serde::Deserialize;
use utoipa::ToSchema;

use super::store::{QuestionFields, StarterFile};
use crate::error::{AppError, AppResult};
use crate::interviews::scorecards::{self, TemplateInput};
use crate::interviews::test_cases::signature::{self, Signature};
use crate::interviews::test_cases::{self, harness, TestCaseInput};
use crate::pads::files::{validate_file_name, MAX_FILES_PER_PAD};
use crate::pads::{languages, lifecycle};

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
}
