//! Running a pad's code against its interview's test cases in the sandbox (issue 13 §7).
//!
//! Each case is one sandbox run of the pad's current files with the case's stdin, under the
//! limits of an ordinary run (`EXEC_TIMEOUT_MS`, `EXEC_OUTPUT_BYTES`, `EXEC_MEMORY_MB`) and through
//! the same admission queue, on behalf of the caller. Cases run one at a time: each holds one of
//! the caller's `EXEC_PER_USER_CONCURRENCY` places, so a test run leaves the caller a place for an
//! ordinary run and never takes more than one of the server's global slots; a case is a short
//! program, so the whole run takes about the sum of a few short runs.
//!
//! A stdin case passes when the program ends normally with status 0 and its stdout matches as
//! the case's comparison says (`test_cases::Compare`). A function case runs the language's
//! generated harness as the entry, beside the pad's files (a pad file of the harness's name is
//! left out), with a fresh marker and the arguments on stdin; it passes when the program ends
//! normally and the harness reports a value structurally equal to the expected one
//! (`harness::compare`). What the candidate printed stays the case's output either way.

use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;

use super::harness::{self, compare::json_equal, Report};
use super::{CaseKind, NumberedCase, TestCase};
use crate::db::{PadId, UserId};
use crate::error::{AppError, AppResult};
use crate::exec::routes::{pad_sources, queue_refused};
use crate::AppState;
use oc_sandbox::SourceFile;

/// Bytes of a case's stdout (and of its stderr) kept in a result; the comparison sees all of it.
pub const RESULT_OUTPUT_BYTES: usize = 4 * 1024;
/// How long a refused case waits before asking the admission queue again when it must run
/// (grading); an interactive test run is refused at once instead (429).
const ADMISSION_RETRY: Duration = Duration::from_secs(1);
/// Tries before grading gives up for now (the sweep grades it again once its claim is stale).
const ADMISSION_TRIES: u32 = 120;

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaseResult {
    /// The case's place in the question's list.
    pub index: usize,
    pub name: String,
    pub hidden: bool,
    pub passed: bool,
    /// The run's outcome: `ok`, `error`, `timeout`, `oom`, `truncated`, `signal`, or why the
    /// sandbox could not run it.
    pub outcome: String,
    /// stdout, cut at `RESULT_OUTPUT_BYTES`.
    pub actual: String,
    /// stderr, cut at `RESULT_OUTPUT_BYTES`.
    pub stderr: String,
    pub duration_ms: u64,
    /// Function cases: what the function returned, as canonical JSON cut at
    /// `RESULT_OUTPUT_BYTES`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returned: Option<String>,
    /// Function cases: why no value was judged (the exception it raised, no result, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `text` cut to at most `max` bytes at a character boundary.
fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Whether a refused case waits for a place (grading) or the request is refused (429).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBusy {
    Refuse,
    Wait,
}

/// Run `cases` against the pad's current files in `language`, one after another, as `user`.
pub async fn run_cases(
    state: &AppState,
    pad: PadId,
    user: UserId,
    language: &str,
    cases: Vec<NumberedCase>,
    when_busy: WhenBusy,
) -> AppResult<Vec<CaseResult>> {
    let (pad_files, files) = pad_sources(state, pad).await?;
    let language = state
        .languages
        .get(language)
        .ok_or_else(|| AppError::invalid("unknown_language", "that language cannot be run here"))?;
    let entry = language
        .pick_entry(pad_files.iter().map(|f| f.name.as_str()))
        .ok_or_else(|| {
            AppError::invalid("no_entry", format!("no {} file to run", language.name))
        })?;
    let mut results = Vec::with_capacity(cases.len());
    for numbered in cases {
        let case = numbered.case;
        let run = match case.kind {
            CaseKind::Stdin => Ok(CaseRun {
                entry: entry.clone(),
                files: files.clone(),
                stdin: case.stdin.clone().into_bytes(),
                marker: None,
            }),
            CaseKind::Function => function_run(&language.id, &entry, &files, &case),
        };
        let run = match run {
            Ok(run) => run,
            Err(error) => {
                results.push(unrunnable(
                    numbered.index,
                    case,
                    "unsupported_language",
                    error,
                ));
                continue;
            }
        };
        let clock = Instant::now();
        let mut tries = 0;
        let collected = loop {
            let attempt = state
                .exec
                .run_collected(
                    user,
                    language.id.clone(),
                    run.entry.clone(),
                    run.files.clone(),
                    run.stdin.clone(),
                )
                .await;
            match (attempt, when_busy) {
                (Ok(collected), _) => break collected,
                (Err(refusal), WhenBusy::Refuse) => return Err(queue_refused(refusal)),
                (Err(refusal), WhenBusy::Wait) => {
                    tries += 1;
                    if tries >= ADMISSION_TRIES {
                        return Err(queue_refused(refusal));
                    }
                    tokio::time::sleep(ADMISSION_RETRY).await;
                }
            }
        };
        let (stdout, report) = match &run.marker {
            Some(marker) => {
                let (printed, report) = harness::read_report(&collected.stdout, marker);
                (printed, Some(report))
            }
            None => (collected.stdout, None),
        };
        let judged = match &report {
            None => case.compare.matches(&case.expected, &stdout),
            Some(Report::Returned(value)) => serde_json::from_str(&case.expected)
                .is_ok_and(|expected| json_equal(&expected, value)),
            Some(_) => false,
        };
        let (passed, outcome, duration_ms) = match &collected.result {
            Ok(outcome) => (
                outcome.success() && judged,
                outcome.label().to_string(),
                outcome.duration.as_millis() as u64,
            ),
            Err(err) => (
                false,
                err.label().to_string(),
                clock.elapsed().as_millis() as u64,
            ),
        };
        let returned = match &report {
            Some(Report::Returned(value)) => Some(bounded(value.to_string(), RESULT_OUTPUT_BYTES)),
            _ => None,
        };
        results.push(CaseResult {
            index: numbered.index,
            name: case.name,
            hidden: case.hidden,
            passed,
            outcome,
            actual: bounded(stdout, RESULT_OUTPUT_BYTES),
            stderr: bounded(collected.stderr, RESULT_OUTPUT_BYTES),
            duration_ms,
            returned,
            error: report
                .and_then(|r| r.error())
                .map(|e| bounded(e, RESULT_OUTPUT_BYTES)),
        });
    }
    Ok(results)
}

/// What one case's sandbox run is given.
struct CaseRun {
    entry: String,
    files: Vec<SourceFile>,
    stdin: Vec<u8>,
    /// Function cases: the marker of the harness's result line.
    marker: Option<String>,
}

/// The run of a function case: the pad's files and the language's harness as the entry.
fn function_run(
    language: &str,
    entry: &str,
    files: &[SourceFile],
    case: &TestCase,
) -> Result<CaseRun, String> {
    let harness = harness::for_language(language).ok_or_else(|| {
        format!(
            "function test cases run only in {}; this pad is in {language}",
            harness::languages().join(", ")
        )
    })?;
    let function = case.function_name.as_deref().unwrap_or_default();
    let mut files: Vec<SourceFile> = files
        .iter()
        .filter(|f| f.name != harness.file)
        .cloned()
        .collect();
    files.push(SourceFile {
        name: harness.file.to_string(),
        content: harness.source(entry, function).into_bytes(),
    });
    let marker = harness::new_marker();
    Ok(CaseRun {
        entry: harness.file.to_string(),
        files,
        stdin: harness::stdin(&marker, case.args.as_deref().unwrap_or("[]")),
        marker: Some(marker),
    })
}

/// The result of a case that could not be run at all.
pub fn unrunnable(index: usize, case: TestCase, outcome: &str, error: String) -> CaseResult {
    CaseResult {
        index,
        name: case.name,
        hidden: case.hidden,
        passed: false,
        outcome: outcome.to_string(),
        actual: String::new(),
        stderr: error.clone(),
        duration_ms: 0,
        returned: None,
        error: (case.kind == CaseKind::Function).then_some(error),
    }
}

#[cfg(test)]
mod tests {
    use super::bounded;

    #[test]
    fn output_is_cut_at_a_character_boundary() {
        assert_eq!(bounded("abc".into(), 5), "abc");
        assert_eq!(bounded("abcdef".into(), 4), "abcd");
        // 'é' is two bytes: cutting inside it keeps the character out.
        assert_eq!(bounded("aé".into(), 2), "a");
    }
}
