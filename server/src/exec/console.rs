//! The run console (issue 12): console input typed on the pad goes to the program's stdin while
//! it runs. `{type:"run.stdin", runId, data}` sends text, `{type:"run.eof", runId}` closes the
//! input (Ctrl-D). Only roles that may run code may type, checked on every message; everyone on
//! the pad sees the input echoed as `run.output` with `stream:"stdin"`, and `run.eof` when the
//! input is closed.
//!
//! With several nodes a run lives on the node that started it. Input for a run this node does not
//! have goes to every other node (`NodeMessage::ConsoleInput`); the one hosting the run checks the
//! typist's role again and applies it. Its refusals (`input_limit`, `run_finished`, …) stay there:
//! the typist learns of accepted input from the echo every node relays.

use oc_proto::AppMessage;
use serde::Deserialize;

use crate::bus::NodeMessage;
use crate::collab::app::{AppCtx, AppMsgError};
use crate::db::{PadId, UserId};
use crate::AppState;

/// Largest `data` of one `run.stdin` message, in bytes.
pub const CONSOLE_MESSAGE_BYTES: usize = 4 * 1024;
/// Console input one run accepts in total, in bytes.
pub const CONSOLE_RUN_BYTES: usize = 64 * 1024;
/// Console messages (`run.stdin` and `run.eof`) per second one connection may send, and the burst.
pub const CONSOLE_PER_SEC: f64 = 20.0;
pub const CONSOLE_BURST: f64 = 40.0;
/// Console messages the program has not read yet; past this, input is refused as `input_busy`
/// until it reads.
pub const CONSOLE_CHANNEL_CHUNKS: usize = 32;

/// What was typed into a run's console.
#[derive(Debug, Clone, Copy)]
pub enum ConsoleInput<'a> {
    Data(&'a str),
    Eof,
}

/// Why console input was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleRefusal {
    /// No run with that id is in progress on this pad.
    Unknown,
    /// The run (or the program) has finished.
    Finished,
    /// The run's input is closed: it was started with its input ending after the pre-filled
    /// stdin, or someone ended it.
    Closed,
    /// One message over [`CONSOLE_MESSAGE_BYTES`].
    TooLarge,
    /// The run's console input would pass [`CONSOLE_RUN_BYTES`].
    RunLimit,
    /// [`CONSOLE_CHANNEL_CHUNKS`] messages wait for the program to read them.
    Busy,
}

impl From<ConsoleRefusal> for AppMsgError {
    fn from(refusal: ConsoleRefusal) -> Self {
        match refusal {
            ConsoleRefusal::Unknown => {
                AppMsgError::new("unknown_run", "no such run is in progress on this pad")
            }
            ConsoleRefusal::Finished => {
                AppMsgError::new("run_finished", "the run has finished; its input is closed")
            }
            ConsoleRefusal::Closed => {
                AppMsgError::new("input_closed", "this run's input is closed")
            }
            ConsoleRefusal::TooLarge => AppMsgError::new(
                "input_too_large",
                format!("one input message has at most {CONSOLE_MESSAGE_BYTES} bytes"),
            ),
            ConsoleRefusal::RunLimit => AppMsgError::new(
                "input_limit",
                format!("a run accepts at most {CONSOLE_RUN_BYTES} bytes of console input"),
            ),
            ConsoleRefusal::Busy => AppMsgError::new(
                "input_busy",
                "the program has not read the input sent so far; wait",
            ),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StdinIn {
    run_id: String,
    data: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EofIn {
    run_id: String,
}

/// Role first (a viewer learns nothing about runs), then the connection's rate.
fn admit(ctx: &AppCtx) -> Result<(), AppMsgError> {
    if !ctx.role.can_run() {
        return Err(AppMsgError::new(
            "forbidden",
            "your role may not type into a run",
        ));
    }
    ctx.take_token("console", CONSOLE_PER_SEC, CONSOLE_BURST)
}

/// `{type:"run.stdin", runId, data}`.
pub async fn handle_stdin(ctx: AppCtx, message: AppMessage) -> Result<(), AppMsgError> {
    admit(&ctx)?;
    let input: StdinIn = message.deserialize().map_err(|_| {
        AppMsgError::new(
            "invalid_input",
            "expected {type:\"run.stdin\", runId: string, data: string}",
        )
    })?;
    apply_or_relay(&ctx, input.run_id, Some(input.data))
}

/// `{type:"run.eof", runId}`.
pub async fn handle_eof(ctx: AppCtx, message: AppMessage) -> Result<(), AppMsgError> {
    admit(&ctx)?;
    let input: EofIn = message.deserialize().map_err(|_| {
        AppMsgError::new(
            "invalid_input",
            "expected {type:\"run.eof\", runId: string}",
        )
    })?;
    apply_or_relay(&ctx, input.run_id, None)
}

/// Input for a run of this node goes to it; with several nodes, input for a run it does not have
/// goes to the others (`data: None` is the end of input).
fn apply_or_relay(ctx: &AppCtx, run_id: String, data: Option<String>) -> Result<(), AppMsgError> {
    let pad = ctx.room.pad;
    match ctx
        .state
        .exec
        .console_input(pad, &run_id, console_input(data.as_deref()))
    {
        Err(ConsoleRefusal::Unknown) if ctx.state.ownership.is_clustered() => {
            ctx.state.bus.send(
                None,
                NodeMessage::ConsoleInput {
                    pad,
                    user: ctx.user,
                    run_id,
                    data,
                },
            );
            Ok(())
        }
        result => Ok(result?),
    }
}

fn console_input(data: Option<&str>) -> ConsoleInput<'_> {
    data.map_or(ConsoleInput::Eof, ConsoleInput::Data)
}

/// Console input another node relayed: applied when the run is this node's and the typist's role
/// (read again here) may run code.
pub async fn on_relayed(
    state: &AppState,
    pad: PadId,
    user: UserId,
    run_id: &str,
    data: Option<&str>,
) {
    // Most nodes do not have the run: they skip the role read.
    if state.exec.check_stoppable(pad, run_id).is_err() {
        return;
    }
    match crate::pads::store::member_role(&state.db, pad, user).await {
        Ok(Some(role)) if role.can_run() => {
            if let Err(refusal) = state.exec.console_input(pad, run_id, console_input(data)) {
                tracing::debug!(?refusal, %pad, "relayed console input refused");
            }
        }
        Ok(_) => {
            tracing::info!(%pad, "relayed console input from a role that may not run code; dropped")
        }
        Err(err) => {
            tracing::warn!(error = %err, %pad, "reading the typist's role for relayed console input failed")
        }
    }
}
