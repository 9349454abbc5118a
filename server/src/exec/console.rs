//! The run console (issue 12): console input typed on the pad goes to the program's stdin while
//! it runs. `{type:"run.stdin", runId, data}` sends text, `{type:"run.eof", runId}` closes the
//! input (Ctrl-D). Only roles that may run code may type, checked on every message; everyone on
//! the pad sees the input echoed as `run.output` with `stream:"stdin"`, and `run.eof` when the
//! input is closed.
//!
//! With several nodes a run lives on the node that started it. Input for a run this node does not
//! have goes to every other node (`NodeMessage::ConsoleInput`); the one hosting the run checks the
//! typist's role again, applies it and answers (`NodeMessage::ConsoleAnswer`), so the typist gets
//! the same refusals (`input_limit`, `run_finished`, …) wherever the run is. No answer within
//! `CONSOLE_RELAY_TIMEOUT` means no node has the run: `unknown_run`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use oc_proto::AppMessage;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

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
/// How long console input relayed to other nodes waits for the answer of the node hosting its run.
pub const CONSOLE_RELAY_TIMEOUT: Duration = Duration::from_secs(1);
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleRefusal {
    /// The typist's role (read again by the node hosting the run) may not run code.
    Forbidden,
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
            ConsoleRefusal::Forbidden => FORBIDDEN.into(),
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

const FORBIDDEN: (&str, &str) = ("forbidden", "your role may not type into a run");

impl From<(&'static str, &'static str)> for AppMsgError {
    fn from((code, message): (&'static str, &'static str)) -> Self {
        AppMsgError::new(code, message)
    }
}

/// Role first (a viewer learns nothing about runs), then the connection's rate.
fn admit(ctx: &AppCtx) -> Result<(), AppMsgError> {
    if !ctx.role.can_run() {
        return Err(FORBIDDEN.into());
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
    apply_or_relay(&ctx, input.run_id, Some(input.data)).await
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
    apply_or_relay(&ctx, input.run_id, None).await
}

/// Input for a run of this node goes to it; with several nodes, input for a run it does not have
/// goes to the others, and the answer of the one hosting it comes back (`data: None` is the end
/// of input).
async fn apply_or_relay(
    ctx: &AppCtx,
    run_id: String,
    data: Option<String>,
) -> Result<(), AppMsgError> {
    let pad = ctx.room.pad;
    match ctx
        .state
        .exec
        .console_input(pad, &run_id, console_input(data.as_deref()))
    {
        Err(ConsoleRefusal::Unknown) if ctx.state.ownership.is_clustered() => {
            let answers = ctx.state.exec.console_answers();
            let (request, answer) = answers.expect();
            ctx.state.bus.send(
                None,
                NodeMessage::ConsoleInput {
                    pad,
                    user: ctx.user,
                    run_id,
                    data,
                    request,
                },
            );
            let answered = tokio::time::timeout(CONSOLE_RELAY_TIMEOUT, answer).await;
            answers.forget(request);
            match answered {
                Ok(Ok(None)) => Ok(()),
                Ok(Ok(Some(refusal))) => Err(refusal.into()),
                Ok(Err(_)) | Err(_) => Err(ConsoleRefusal::Unknown.into()),
            }
        }
        result => Ok(result?),
    }
}

fn console_input(data: Option<&str>) -> ConsoleInput<'_> {
    data.map_or(ConsoleInput::Eof, ConsoleInput::Data)
}

/// Console input this node relayed and the answers it waits for, by request id.
#[derive(Default)]
pub struct PendingAnswers {
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Option<ConsoleRefusal>>>>,
}

impl PendingAnswers {
    fn waiting(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Option<ConsoleRefusal>>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// A new request id and where its answer will arrive.
    fn expect(&self) -> (u64, oneshot::Receiver<Option<ConsoleRefusal>>) {
        // From 1: 0 is never a live request.
        let request = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        self.waiting().insert(request, tx);
        (request, rx)
    }

    fn forget(&self, request: u64) {
        self.waiting().remove(&request);
    }

    /// The answer to `request` arrived (late ones find nobody waiting and are dropped).
    pub fn answer(&self, request: u64, refusal: Option<ConsoleRefusal>) {
        if let Some(waiting) = self.waiting().remove(&request) {
            let _ = waiting.send(refusal);
        }
    }
}

/// Console input another node relayed (see [`on_relayed`]).
pub struct RelayedInput<'a> {
    /// The sending node's bus id, and its request id, to answer.
    pub from: &'a str,
    pub request: u64,
    pub pad: PadId,
    pub user: UserId,
    pub run_id: &'a str,
    pub data: Option<&'a str>,
}

/// Console input another node relayed: applied when the run is this node's and the typist's role
/// (read again here) may run code; the sender is told the outcome. Nodes without the run stay
/// silent.
pub async fn on_relayed(state: &AppState, input: RelayedInput<'_>) {
    // Most nodes do not have the run: they skip the role read.
    if state.exec.check_stoppable(input.pad, input.run_id).is_err() {
        return;
    }
    let refusal = match crate::pads::store::member_role(&state.db, input.pad, input.user).await {
        Ok(Some(role)) if role.can_run() => state
            .exec
            .console_input(input.pad, input.run_id, console_input(input.data))
            .err(),
        Ok(_) => Some(ConsoleRefusal::Forbidden),
        Err(err) => {
            tracing::warn!(error = %err, pad = %input.pad, "reading the typist's role for relayed console input failed");
            return;
        }
    };
    state.bus.send(
        Some(input.from),
        NodeMessage::ConsoleAnswer {
            request: input.request,
            refusal,
        },
    );
}
