//! Test cases of a question (issue 13 §7): stdin and the stdout expected for it, visible to the
//! candidate or hidden, each compared in one of three modes:
//!
//! | mode | equal when |
//! |---|---|
//! | `exact` | the output is the expected text byte for byte (`\r\n` ≠ `\n`, a missing final newline counts) |
//! | `trimmed` (default) | equal once each line's trailing whitespace (spaces, tabs, `\r`) and the newlines at the very end are removed from both |
//! | `lines` | the lines are equal one by one once each line's leading and trailing whitespace is removed and blank lines (anywhere) are dropped from both |
//!
//! A `function` case (the question declares a `signature`) runs through a generated harness
//! instead: its `args` (a JSON array, one value per parameter) are passed to the candidate's
//! function and what it returns is compared with `expected` (a JSON value) structurally
//! (`harness` and `harness::compare`); `compare` does not apply to it. Only languages with a
//! harness (`harness::HARNESSES`) run function cases: a question that has one lists no other
//! language.
//!
//! Cases are written through the question API (owner and co-editors), copied into an interview
//! when it starts (like its prompt), and shown to a candidate only when visible: hidden cases'
//! stdin and expected output never leave the server toward a candidate (`for_role`).

pub mod harness;
pub mod run;
pub mod signature;
pub mod store;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use signature::Signature;

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
/// Bytes of a function case's arguments (their JSON text).
pub const MAX_TEST_ARGS_BYTES: usize = 64 * 1024;
/// How deep a function case's arguments and expected value may nest.
pub const MAX_TEST_JSON_DEPTH: usize = 32;

/// What a case feeds the program and how it judges it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CaseKind {
    /// stdin in, stdout compared as text (`Compare`).
    #[default]
    Stdin,
    /// Arguments in, the function's return value compared as JSON (`harness`).
    Function,
}

impl CaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::Stdin => "stdin",
            CaseKind::Function => "function",
        }
    }
}

impl TryFrom<String> for CaseKind {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        match raw.as_str() {
            "stdin" => Ok(CaseKind::Stdin),
            "function" => Ok(CaseKind::Function),
            _ => Err(format!("unknown test case kind {raw}")),
        }
    }
}

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
    /// `stdin` (default) or `function` (the question needs a signature).
    #[serde(default)]
    pub kind: CaseKind,
    /// stdin cases only.
    #[serde(default)]
    pub stdin: String,
    /// Function cases only: the arguments as JSON text, an array with one value per parameter.
    #[serde(default)]
    pub args: Option<String>,
    /// The expected stdout; for a function case the expected return value as JSON text.
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
    #[sqlx(try_from = "String")]
    pub kind: CaseKind,
    pub stdin: String,
    /// Function cases: the arguments (JSON array text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<String>,
    pub expected: String,
    pub hidden: bool,
    #[sqlx(try_from = "String")]
    pub compare: Compare,
    /// Function cases: the function they call (the question's signature when it was written).
    #[serde(skip)]
    pub function_name: Option<String>,
}

/// Check the cases' limits; names default to `Case n`. Function cases need `signature` and a
/// harness for each of the question's `languages` (sandbox ids).
pub fn validate(
    inputs: Vec<TestCaseInput>,
    signature: Option<&Signature>,
    languages: &[String],
) -> AppResult<Vec<TestCase>> {
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
            let (args, function_name) = match input.kind {
                CaseKind::Stdin if input.args.is_some() => {
                    return Err(AppError::invalid(
                        "invalid_test_args",
                        format!("test case {}: args belong to function cases (kind \"function\")", i + 1),
                    ))
                }
                CaseKind::Stdin => (None, None),
                CaseKind::Function => {
                    let args = function_case(i + 1, &input, signature, languages)?;
                    (Some(args), signature.map(|s| s.function.clone()))
                }
            };
            Ok(TestCase {
                name,
                kind: input.kind,
                stdin: input.stdin,
                args,
                expected: input.expected,
                hidden: input.hidden,
                compare: input.compare,
                function_name,
            })
        })
        .collect()
}

/// `text` parsed as JSON within `MAX_TEST_JSON_DEPTH`; a 400 `code` naming case `n`'s `field`.
fn json_field(n: usize, field: &str, code: &'static str, text: &str) -> AppResult<Value> {
    let value: Value = serde_json::from_str(text).map_err(|err| {
        AppError::invalid(
            code,
            format!("test case {n}: {field} is not valid JSON ({err})"),
        )
    })?;
    if harness::compare::depth(&value) > MAX_TEST_JSON_DEPTH {
        return Err(AppError::invalid(
            code,
            format!("test case {n}: {field} nests deeper than {MAX_TEST_JSON_DEPTH} levels"),
        ));
    }
    Ok(value)
}

/// Check function case `n` and answer its arguments' text.
fn function_case(
    n: usize,
    input: &TestCaseInput,
    signature: Option<&Signature>,
    languages: &[String],
) -> AppResult<String> {
    let Some(signature) = signature else {
        return Err(AppError::invalid(
            "signature_required",
            format!(
                "test case {n} is a function case: declare the question's function signature first"
            ),
        ));
    };
    if let Some(language) = languages
        .iter()
        .find(|l| harness::for_language(l).is_none())
    {
        return Err(AppError::invalid(
            "function_tests_unsupported",
            format!(
                "function test cases run only in {}; this question also lists {language}: remove it or use stdin/stdout cases",
                harness::languages().join(", ")
            ),
        ));
    }
    if !input.stdin.is_empty() {
        return Err(AppError::invalid(
            "invalid_test_stdin",
            format!("test case {n}: a function case takes args, not stdin"),
        ));
    }
    let args = input.args.clone().unwrap_or_default();
    if args.len() > MAX_TEST_ARGS_BYTES {
        return Err(AppError::TooLarge {
            code: "test_args_too_large",
            message: format!("a test case's args hold at most {MAX_TEST_ARGS_BYTES} bytes"),
        });
    }
    let count = match json_field(n, "args", "invalid_test_args", &args)? {
        Value::Array(values) => values.len(),
        _ => {
            return Err(AppError::invalid(
                "invalid_test_args",
                format!("test case {n}: args is a JSON array with one value per parameter"),
            ))
        }
    };
    if count != signature.params.len() {
        return Err(AppError::invalid(
            "invalid_test_args",
            format!(
                "test case {n}: args holds {count} values; {}({}) takes {}",
                signature.function,
                signature.params.join(", "),
                signature.params.len()
            ),
        ));
    }
    json_field(n, "expected", "invalid_test_expected", &input.expected)?;
    Ok(args)
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
            kind: CaseKind::Stdin,
            stdin: "x".repeat(stdin),
            args: None,
            expected: "y".repeat(expected),
            hidden: false,
            compare: Compare::default(),
        };
        let validate = |cases| validate(cases, None, &[]);
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
            kind: CaseKind::Stdin,
            stdin: String::new(),
            args: None,
            expected: String::new(),
            hidden,
            compare: Compare::Exact,
            function_name: None,
        };
        let cases = vec![case("a", true), case("b", false)];
        let seen = for_role(cases.clone(), Role::Candidate);
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].index, seen[0].case.name.as_str()), (1, "b"));
        assert_eq!(for_role(cases, Role::Collaborator).len(), 2);
    }

    #[test]
    fn function_cases_need_a_signature_a_harness_and_well_formed_json() {
        let signature = Signature {
            function: "add".into(),
            params: vec!["a".into(), "b".into()],
        };
        let case = |args: &str, expected: &str| TestCaseInput {
            name: None,
            kind: CaseKind::Function,
            stdin: String::new(),
            args: Some(args.into()),
            expected: expected.into(),
            hidden: false,
            compare: Compare::default(),
        };
        let python = vec!["python".to_string()];
        let ok = validate(vec![case("[1, 2]", "3")], Some(&signature), &python).unwrap();
        assert_eq!(ok[0].function_name.as_deref(), Some("add"));
        assert_eq!(ok[0].args.as_deref(), Some("[1, 2]"));
        let code = |cases, signature, languages: &[String]| {
            validate(cases, signature, languages).unwrap_err().code()
        };
        assert_eq!(
            code(vec![case("[1, 2]", "3")], None, &python),
            "signature_required"
        );
        assert_eq!(
            code(
                vec![case("[1, 2]", "3")],
                Some(&signature),
                &["python".into(), "go".into()]
            ),
            "function_tests_unsupported"
        );
        for args in ["[1, 2", "{\"a\": 1}", "[1]", "[1, 2, 3]"] {
            assert_eq!(
                code(vec![case(args, "3")], Some(&signature), &python),
                "invalid_test_args",
                "{args}"
            );
        }
        assert_eq!(
            code(vec![case("[1, 2]", "three")], Some(&signature), &python),
            "invalid_test_expected"
        );
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_TEST_JSON_DEPTH + 1),
            "]".repeat(MAX_TEST_JSON_DEPTH + 1)
        );
        assert_eq!(
            code(vec![case("[1, 2]", &deep)], Some(&signature), &python),
            "invalid_test_expected"
        );
        let big = format!("[\"{}\", 1]", "x".repeat(MAX_TEST_ARGS_BYTES));
        assert_eq!(
            code(vec![case(&big, "3")], Some(&signature), &python),
            "test_args_too_large"
        );
    }
}
