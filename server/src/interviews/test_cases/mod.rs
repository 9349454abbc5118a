//! Test cases of a question (issue 13 §7): stdin and the stdout expected for it, visible to the
//! candidate or hidden, each compared in one of three modes:
//!
//! | mode | equal when |
//! |---|---|
//! | `exact` | the output is the expected text byte for byte (`\r\n` ≠ `\n`, a missing final newline counts) |
//! | `trimmed` (default) | equal once each line's trailing whitespace (spaces, tabs, `\r`) and the newlines at the very end are removed from both |
//! | `lines` | the lines are equal one by one once each line's leading and trailing whitespace is removed and blank lines (anywhere) are dropped from both |
//!
//! Cases are written through the question API (owner and co-editors), copied into an interview
//! when it starts (like its prompt), and shown to a candidate only when visible: hidden cases'
//! stdin and expected output never leave the server toward a candidate (`for_role`).

pub mod run;
pub mod store;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::pads::roles::Role;

/// Test cases on one question.
pub const MAX_TEST_CASES: usize = 20;
/// Bytes of one case's stdin.
pub const MAX_TEST_STDIN_BYTES: usize = 64 * 1024;
/// Bytes of one case's expected output.
pub const MAX_TEST_EXPECTED_BYTES: usize = 64 * 1024;
/// Characters of a case's name.
pub const MAX_TEST_NAME_CHARS: usize = 80;

/// How a case's output is compared with the expected text (see the module's table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compare {
    Exact,
    #[default]
    Trimmed,
    Lines,
}

impl Compare {
    pub fn as_str(self) -> &'static str {
        match self {
            Compare::Exact => "exact",
            Compare::Trimmed => "trimmed",
            Compare::Lines => "lines",
        }
    }

    /// Whether `actual` passes for `expected`.
    pub fn matches(self, expected: &str, actual: &str) -> bool {
        match self {
            Compare::Exact => expected == actual,
            Compare::Trimmed => trimmed(expected) == trimmed(actual),
            Compare::Lines => significant_lines(expected).eq(significant_lines(actual)),
        }
    }
}

impl TryFrom<String> for Compare {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        match raw.as_str() {
            "exact" => Ok(Compare::Exact),
            "trimmed" => Ok(Compare::Trimmed),
            "lines" => Ok(Compare::Lines),
            _ => Err(format!("unknown comparison {raw}")),
        }
    }
}

fn trimmed(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
    lines.join("\n").trim_end_matches('\n').to_string()
}

fn significant_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .map(str::trim)
        .filter(|line| !line.is_empty())
}

/// A case as its question's owner or a co-editor writes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestCaseInput {
    /// Shown in results; default `Case n`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub stdin: String,
    pub expected: String,
    /// Hidden cases run on submission (and for interviewers); candidates never see them.
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub compare: Compare,
}

/// A stored case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct TestCase {
    pub name: String,
    pub stdin: String,
    pub expected: String,
    pub hidden: bool,
    #[sqlx(try_from = "String")]
    pub compare: Compare,
}

/// Check the cases' limits; names default to `Case n`.
pub fn validate(inputs: Vec<TestCaseInput>) -> AppResult<Vec<TestCase>> {
    if inputs.len() > MAX_TEST_CASES {
        return Err(AppError::invalid(
            "too_many_tests",
            format!("a question has at most {MAX_TEST_CASES} test cases"),
        ));
    }
    inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            let name = match input.name.as_deref().map(str::trim) {
                Some(name) if !name.is_empty() => name.to_string(),
                _ => format!("Case {}", i + 1),
            };
            if name.chars().count() > MAX_TEST_NAME_CHARS {
                return Err(AppError::invalid(
                    "invalid_test_name",
                    format!("a test case's name is at most {MAX_TEST_NAME_CHARS} characters"),
                ));
            }
            if input.stdin.len() > MAX_TEST_STDIN_BYTES {
                return Err(AppError::TooLarge {
                    code: "test_stdin_too_large",
                    message: format!("a test case's stdin holds at most {MAX_TEST_STDIN_BYTES} bytes"),
                });
            }
            if input.expected.len() > MAX_TEST_EXPECTED_BYTES {
                return Err(AppError::TooLarge {
                    code: "test_expected_too_large",
                    message: format!(
                        "a test case's expected output holds at most {MAX_TEST_EXPECTED_BYTES} bytes"
                    ),
                });
            }
            Ok(TestCase {
                name,
                stdin: input.stdin,
                expected: input.expected,
                hidden: input.hidden,
                compare: input.compare,
            })
        })
        .collect()
}

/// A case with its place in the question's list (results name cases by it).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NumberedCase {
    pub index: usize,
    #[serde(flatten)]
    pub case: TestCase,
}

/// The cases `role` may see, numbered in the question's order: interviewers all of them, anyone
/// else the visible ones only.
pub fn for_role(cases: Vec<TestCase>, role: Role) -> Vec<NumberedCase> {
    cases
        .into_iter()
        .enumerate()
        .filter(|(_, case)| role.can_see_interviewer_notes() || !case.hidden)
        .map(|(index, case)| NumberedCase { index, case })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_compares_as_documented() {
        assert!(Compare::Exact.matches("1\n2\n", "1\n2\n"));
        assert!(!Compare::Exact.matches("1\n2\n", "1\n2"));
        assert!(!Compare::Exact.matches("1\n", "1\r\n"));

        assert!(Compare::Trimmed.matches("1\n2\n", "1  \r\n2\t\n\n\n"));
        assert!(Compare::Trimmed.matches("1\n2", "1\n2\n"));
        assert!(!Compare::Trimmed.matches("1\n2\n", " 1\n2\n"));
        assert!(!Compare::Trimmed.matches("1\n2\n", "1\n\n2\n"));

        assert!(Compare::Lines.matches("1\n2\n", "  1\n\n\n2  \n"));
        assert!(!Compare::Lines.matches("1\n2\n", "2\n1\n"));
        assert!(!Compare::Lines.matches("1 2\n", "1\n2\n"));
    }

    #[test]
    fn limits_are_checked_and_names_default() {
        let case = |stdin: usize, expected: usize| TestCaseInput {
            name: None,
            stdin: "x".repeat(stdin),
            expected: "y".repeat(expected),
            hidden: false,
            compare: Compare::default(),
        };
        let ok = validate(vec![case(1, 1), case(1, 1)]).unwrap();
        assert_eq!(ok[1].name, "Case 2");
        assert_eq!(ok[1].compare, Compare::Trimmed);
        assert_eq!(
            validate(vec![case(MAX_TEST_STDIN_BYTES + 1, 1)])
                .unwrap_err()
                .code(),
            "test_stdin_too_large"
        );
        assert_eq!(
            validate(vec![case(1, MAX_TEST_EXPECTED_BYTES + 1)])
                .unwrap_err()
                .code(),
            "test_expected_too_large"
        );
        assert_eq!(
            validate(vec![case(0, 0); MAX_TEST_CASES + 1])
                .unwrap_err()
                .code(),
            "too_many_tests"
        );
    }

    #[test]
    fn candidates_get_visible_cases_only_with_their_numbers() {
        let case = |name: &str, hidden: bool| TestCase {
            name: name.into(),
            stdin: String::new(),
            expected: String::new(),
            hidden,
            compare: Compare::Exact,
        };
        let cases = vec![case("a", true), case("b", false)];
        let seen = for_role(cases.clone(), Role::Candidate);
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].index, seen[0].case.name.as_str()), (1, "b"));
        assert_eq!(for_role(cases, Role::Collaborator).len(), 2);
    }
}
