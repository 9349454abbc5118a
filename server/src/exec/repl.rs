//! The REPL after a run (issue 12): `POST /api/pads/{slug}/runs {repl: true}` starts a session of
//! the language's REPL with the pad's files and the entry program loaded first, in the same kind of
//! sandbox as a run. It is a run of its own kind: one per pad at a time with runs, typed into
//! through the run console (`run.stdin` / `run.eof`, the console's roles and limits), stopped like
//! a run, replayed to late joiners and stored. Its own limits are `REPL_IDLE_MS` (closed when
//! nobody typed for that long, outcome [`IDLE`]), `REPL_MAX_MS` (its wall limit: `timedOut`) and
//! `REPL_OUTPUT_BYTES`.

use serde::Serialize;

/// The `outcome` of a REPL closed because nobody typed into it for `REPL_IDLE_MS`.
pub const IDLE: &str = "idle";

/// What a run is: a program run, or a REPL session after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Run,
    Repl,
}

impl RunKind {
    /// As stored in `runs.kind` and sent as `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Run => "run",
            RunKind::Repl => "repl",
        }
    }
}
