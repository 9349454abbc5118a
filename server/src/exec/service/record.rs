//! A finished run as stored, as returned by `?wait=1` and as announced in `run.finished`.

use std::time::Duration;

use oc_sandbox::{BackendKind, Outcome, SandboxError};
use serde::Serialize;
use serde_json::json;

use crate::db::UserId;
use crate::exec::repl::RunKind;
use crate::exec::transcript::Layout;

/// A finished run, as stored and as returned by `?wait=1`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub run_id: String,
    pub kind: RunKind,
    pub language: String,
    pub entry: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub exit_code: Option<i64>,
    pub signal: Option<String>,
    pub timed_out: bool,
    pub oom_killed: bool,
    pub truncated: bool,
    pub duration_ms: u64,
    pub backend: String,
    pub pooled: bool,
    pub compile_cache: Option<String>,
    pub outcome: String,
    /// Display name of whoever stopped the run (outcome `stopped`); the stored run keeps their
    /// id (`stopped_by_user`) and shows their current name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    #[serde(skip)]
    pub stopped_by_user: Option<UserId>,
    /// Set when the sandbox itself failed (Docker down, …) rather than the program.
    pub error: Option<String>,
    pub stdout: String,
    pub stderr: String,
    /// How stdout, stderr and console input interleaved (stored beside them).
    #[serde(skip)]
    pub layout: Layout,
}

/// A run's output as it went to clients: each stream's text and how they interleaved.
#[derive(Default)]
pub(super) struct Captured {
    pub(super) stdout: String,
    pub(super) stderr: String,
    pub(super) layout: Layout,
}

/// The limits a run ran under, sent with `run.finished` so clients can say which one ended it.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunLimitsShown {
    pub timeout_ms: u64,
    pub output_bytes: usize,
    pub memory_mb: u64,
    /// A REPL's `REPL_IDLE_MS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_ms: Option<u64>,
}

/// The `outcome` of a run someone stopped.
pub const STOPPED: &str = "stopped";

/// What every record of a run shares, whatever became of it.
pub(super) struct RunInfo<'a> {
    pub(super) run_id: String,
    pub(super) kind: RunKind,
    pub(super) language: &'a str,
    pub(super) entry: &'a str,
    pub(super) started_at_ms: i64,
    pub(super) finished_at_ms: i64,
    pub(super) elapsed: Duration,
}

pub(super) fn base_record(run: RunInfo<'_>, backend: BackendKind, captured: Captured) -> RunRecord {
    RunRecord {
        run_id: run.run_id,
        kind: run.kind,
        language: run.language.to_string(),
        entry: run.entry.to_string(),
        started_at_ms: run.started_at_ms,
        finished_at_ms: run.finished_at_ms,
        exit_code: None,
        signal: None,
        timed_out: false,
        oom_killed: false,
        truncated: false,
        duration_ms: run.elapsed.as_millis() as u64,
        backend: backend.as_str().to_string(),
        pooled: false,
        compile_cache: None,
        outcome: String::new(),
        stopped_by: None,
        stopped_by_user: None,
        error: None,
        stdout: captured.stdout,
        stderr: captured.stderr,
        layout: captured.layout,
    }
}

pub(super) fn record_of(
    run: RunInfo<'_>,
    result: Result<Outcome, SandboxError>,
    backend: BackendKind,
    captured: Captured,
) -> RunRecord {
    let base = base_record(run, backend, captured);
    match result {
        Ok(outcome) => RunRecord {
            exit_code: outcome.exit_code,
            signal: outcome.signal.clone(),
            timed_out: outcome.timed_out,
            oom_killed: outcome.oom_killed,
            truncated: outcome.truncated,
            duration_ms: outcome.duration.as_millis() as u64,
            backend: outcome.backend.as_str().to_string(),
            pooled: outcome.pooled,
            compile_cache: outcome
                .compile_cache
                .map(|c| format!("{c:?}").to_ascii_lowercase()),
            outcome: outcome.label().to_string(),
            ..base
        },
        Err(err) => {
            tracing::warn!(error = %err, "sandbox run failed");
            RunRecord {
                outcome: err.label().to_string(),
                error: Some(err.to_string()),
                ..base
            }
        }
    }
}

pub(super) fn finished_message(record: &RunRecord, limits: RunLimitsShown) -> serde_json::Value {
    json!({
        "type": "run.finished", "runId": record.run_id, "kind": record.kind, "exitCode": record.exit_code, "signal": record.signal,
        "timedOut": record.timed_out, "oomKilled": record.oom_killed, "truncated": record.truncated,
        "durationMs": record.duration_ms, "backend": record.backend, "pooled": record.pooled,
        "compileCache": record.compile_cache, "outcome": record.outcome, "stoppedBy": record.stopped_by,
        "error": record.error, "limits": limits,
    })
}
