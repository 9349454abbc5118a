//! The runs in progress on this node: what was sent for each so far (so a socket joining mid-run
//! sees the whole run), how to stop it, and the server's ends of its console.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::StopRefusal;
use crate::db::{PadId, UserId};
use crate::exec::repl::RunKind;
use crate::exec::replay::RunReplay;

/// Runs in progress and what was sent for them so far, so a client that joins mid-run sees the
/// whole run. Bounded: a run's replay is one buffer capped by `EXEC_OUTPUT_BYTES`, and the number
/// of runs by admission (at most one per pad).
#[derive(Default)]
pub(super) struct LiveRuns {
    pub(super) runs: Mutex<HashMap<String, LiveRun>>,
}

pub(super) struct LiveRun {
    pub(super) pad: PadId,
    pub(super) kind: RunKind,
    pub(super) started_at_ms: i64,
    /// `run.started`, once broadcast (a run is registered before its task sends it).
    pub(super) started: Option<serde_json::Value>,
    pub(super) output: RunReplay,
    /// `run.finished`, once broadcast: the run stays here until it is stored, so a stop request
    /// in between is told it finished rather than that it never existed.
    pub(super) finished: Option<serde_json::Value>,
    pub(super) stop: CancellationToken,
    /// Why the run was ended before it finished, once someone stopped it or a REPL went idle.
    pub(super) ended: Option<Ended>,
    /// When console input was last accepted (a REPL's idle clock).
    pub(super) last_input: tokio::time::Instant,
    /// The console of an interactive run until its input is closed (`None` from the start for
    /// a run whose input ends after the pre-filled stdin).
    pub(super) console: Option<Console>,
    /// `run.eof`, once someone closed the console input.
    pub(super) input_closed: Option<serde_json::Value>,
}

/// Why a run was ended from outside; the first reason stays.
#[derive(Debug, Clone)]
pub(super) enum Ended {
    /// Someone stopped it.
    StoppedBy { user: UserId, name: String },
    /// A REPL nobody typed into for `REPL_IDLE_MS`.
    Idle,
}

/// The server's ends of a run's console: the program's stdin and the echo of what was typed.
pub(super) struct Console {
    pub(super) input: mpsc::Sender<Vec<u8>>,
    pub(super) echo: mpsc::UnboundedSender<String>,
    /// Console input accepted so far (at most `CONSOLE_RUN_BYTES`).
    pub(super) bytes: usize,
}

/// The run task's ends of its console.
pub(super) struct ConsoleEnds {
    pub(super) input: oc_sandbox::LiveStdin,
    pub(super) echo: mpsc::UnboundedReceiver<String>,
}

impl LiveRun {
    pub(super) fn messages<'a>(
        &'a self,
        run_id: &'a str,
    ) -> impl Iterator<Item = serde_json::Value> + 'a {
        self.started
            .iter()
            .cloned()
            .chain(self.output.messages(run_id))
            .chain(self.input_closed.iter().cloned())
            .chain(self.finished.iter().cloned())
    }
}

impl LiveRuns {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LiveRun>> {
        self.runs
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// A run in progress on this node, as the admin page lists it (and nodes tell each other).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiveRunView {
    pub run_id: String,
    #[schema(value_type = i64)]
    pub pad: PadId,
    /// `run` or `repl`.
    pub kind: String,
    pub started_at_ms: i64,
}

/// The live run `run_id` of `pad`, if it has not finished.
pub(super) fn stoppable<'a>(
    live: &'a mut HashMap<String, LiveRun>,
    pad: PadId,
    run_id: &str,
) -> Result<&'a mut LiveRun, StopRefusal> {
    let run = live
        .get_mut(run_id)
        .filter(|run| run.pad == pad)
        .ok_or(StopRefusal::Unknown)?;
    if run.finished.is_some() {
        return Err(StopRefusal::Finished);
    }
    Ok(run)
}
