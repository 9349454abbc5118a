//! The operator's view of sandboxes across the cluster. A run lives only in the memory of the
//! node that hosts it and a terminal on its pad's owner, so the node answering the admin asks the
//! others over the bus (`NodeMessage::SandboxesAsk`) and takes the answers that arrive within
//! [`ANSWER_WINDOW`]; a stop goes to the node that hosts the run or terminal, as console input
//! does (`exec::console`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::bus::{Direct, NodeMessage};
use crate::db::{PadId, UserId};
use crate::exec::service::LiveRunView;
use crate::AppState;

/// How long the node answering the admin waits for the other nodes' sandboxes.
pub const ANSWER_WINDOW: Duration = Duration::from_millis(500);

/// What one node hosts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hosted {
    /// The node's bus id.
    pub node: String,
    pub runs: Vec<LiveRunView>,
    /// Pads whose terminal runs there.
    pub terminals: Vec<PadId>,
}

fn hosted_here(state: &AppState) -> Hosted {
    Hosted {
        node: state.bus.node().to_string(),
        runs: state.exec.live_runs(),
        terminals: state.terminals.live_pads(),
    }
}

/// Questions this node asked the others and has not stopped listening to.
#[derive(Clone, Default)]
pub struct SandboxQueries {
    inner: Arc<QueriesInner>,
}

#[derive(Default)]
struct QueriesInner {
    next: AtomicU64,
    pending: Mutex<HashMap<u64, mpsc::UnboundedSender<Hosted>>>,
}

impl SandboxQueries {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, mpsc::UnboundedSender<Hosted>>> {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn open(&self) -> (u64, mpsc::UnboundedReceiver<Hosted>) {
        let request = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        self.pending().insert(request, tx);
        (request, rx)
    }

    fn close(&self, request: u64) {
        self.pending().remove(&request);
    }

    fn deliver(&self, request: u64, hosted: Hosted) {
        if let Some(tx) = self.pending().get(&request) {
            let _ = tx.send(hosted);
        }
    }
}

/// Every node's sandboxes, this node's first: with several nodes, those that answer within
/// [`ANSWER_WINDOW`].
pub async fn across_cluster(state: &AppState) -> Vec<Hosted> {
    let mut all = vec![hosted_here(state)];
    if !state.ownership.is_clustered() {
        return all;
    }
    let (request, mut answers) = state.admin_queries.open();
    state.bus.send(None, NodeMessage::SandboxesAsk { request });
    let deadline = tokio::time::Instant::now() + ANSWER_WINDOW;
    while let Ok(Some(hosted)) = tokio::time::timeout_at(deadline, answers.recv()).await {
        all.push(hosted);
    }
    state.admin_queries.close(request);
    all
}

/// Stop run `run_id` of `pad` on the node that hosts it, as `by` (`name`).
pub fn stop_run(state: &AppState, host: &str, pad: PadId, run_id: &str, by: UserId, name: &str) {
    if host == state.bus.node() {
        // Finished meanwhile: nothing left to stop.
        let _ = state.exec.stop(pad, run_id, by, name);
    } else {
        state.bus.send(
            Some(host),
            NodeMessage::RunStop {
                run_id: run_id.to_string(),
                by,
                name: name.to_string(),
            },
        );
    }
}

/// End the pad's terminal on the node that hosts it.
pub async fn stop_terminal(state: &AppState, host: &str, pad: PadId) {
    if host == state.bus.node() {
        state.terminals.stop(pad).await;
    } else {
        state
            .bus
            .send(Some(host), NodeMessage::TerminalStop { pad });
    }
}

pub fn is_for_admin(message: &NodeMessage) -> bool {
    matches!(
        message,
        NodeMessage::SandboxesAsk { .. }
            | NodeMessage::SandboxesTell { .. }
            | NodeMessage::RunStop { .. }
            | NodeMessage::TerminalStop { .. }
    )
}

/// What another node asked or answered (`cluster` routes the messages `is_for_admin` picks).
pub fn on_message(state: &AppState, direct: Direct) {
    match direct.message {
        NodeMessage::SandboxesAsk { request } => state.bus.send(
            Some(&direct.from),
            NodeMessage::SandboxesTell {
                request,
                hosted: hosted_here(state),
            },
        ),
        NodeMessage::SandboxesTell { request, hosted } => {
            state.admin_queries.deliver(request, hosted)
        }
        NodeMessage::RunStop { run_id, by, name } => {
            let pad = state
                .exec
                .live_runs()
                .into_iter()
                .find(|run| run.run_id == run_id)
                .map(|run| run.pad);
            if let Some(pad) = pad {
                stop_run(state, state.bus.node(), pad, &run_id, by, &name);
            }
        }
        NodeMessage::TerminalStop { pad } => {
            // Ending a terminal waits for its container; the router must not.
            let state_for_stop = state.clone();
            state.tasks.spawn(async move {
                state_for_stop.terminals.stop(pad).await;
            });
        }
        _ => {}
    }
}
