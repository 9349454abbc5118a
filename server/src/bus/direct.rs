//! Messages for one node rather than every node: the shared terminal's relay between a socket's
//! node and the pad's owner, console input for the node that hosts a run, and the operator's
//! view of every node's sandboxes.
//!
//! Addressed by the receiver's bus id (`PadBus::node`, the holder of its pad leases). Lossy like
//! every relayed message: the terminal relay keeps a socket alive with keepalives and ends it when
//! the owner is gone (see `terminal::relay`); console input that is lost is lost, as a keystroke
//! on a dropped connection would be.

use axum::body::Bytes;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::db::{PadId, UserId};

/// Raw bytes, base64 in the JSON that crosses nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Raw(pub Bytes);

impl Serialize for Raw {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&BASE64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        BASE64
            .decode(text)
            .map(|bytes| Raw(Bytes::from(bytes)))
            .map_err(serde::de::Error::custom)
    }
}

/// What one node tells another. `conn` is the terminal socket's id on the node it is open on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum NodeMessage {
    /// Socket node → owner: a terminal socket joins the pad's terminal (its role is read by the
    /// owner).
    TerminalJoin {
        pad: PadId,
        conn: u64,
        user: UserId,
    },
    /// Socket node → owner: what the socket sent.
    TerminalInput {
        pad: PadId,
        conn: u64,
        data: Raw,
    },
    TerminalResize {
        pad: PadId,
        conn: u64,
        cols: u32,
        rows: u32,
    },
    TerminalRestart {
        pad: PadId,
        conn: u64,
    },
    /// Socket node → owner: the socket is still there (the owner drops one silent for
    /// `terminal::relay::SILENT_AFTER`).
    TerminalKeepalive {
        pad: PadId,
        conn: u64,
    },
    TerminalLeave {
        pad: PadId,
        conn: u64,
    },
    /// Owner → socket node: terminal output (`binary`) or a JSON control message for the socket.
    TerminalOutput {
        conn: u64,
        binary: bool,
        data: Raw,
    },
    /// Owner → socket node: close the socket with this code.
    TerminalClose {
        conn: u64,
        code: u16,
        reason: String,
    },
    /// Any node → every node: console input for a run another node may host (`exec::console`).
    /// `request` is the sender's: the node hosting the run answers it.
    ConsoleInput {
        pad: PadId,
        user: UserId,
        run_id: String,
        data: Option<String>,
        request: u64,
    },
    /// Hosting node → sender of `ConsoleInput`: accepted (`None`) or why not.
    ConsoleAnswer {
        request: u64,
        refusal: Option<crate::exec::console::ConsoleRefusal>,
    },
    /// Admin's node → every node: which runs and terminals do you host (`admin::sandboxes`)?
    SandboxesAsk {
        request: u64,
    },
    /// Answer to `SandboxesAsk`, to the asking node.
    SandboxesTell {
        request: u64,
        hosted: crate::admin::sandboxes::Hosted,
    },
    /// Admin's node → every node: an operator stops this run wherever it runs.
    RunStop {
        run_id: String,
        by: UserId,
        name: String,
    },
    /// Admin's node → the pad's owner: an operator stops the pad's terminal.
    TerminalStop {
        pad: PadId,
    },
}

/// A message another node sent this one.
#[derive(Debug, Clone, PartialEq)]
pub struct Direct {
    /// The sender's bus id.
    pub from: String,
    pub message: NodeMessage,
}
