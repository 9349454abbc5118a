//! What the pad bus relays between nodes besides domain events: a pad's document updates and the
//! frames its sockets exchange (awareness, shared app messages).
//!
//! Each local update crosses twice. At once, as [`PadMessage::Live`], so sockets on other nodes
//! see it within a bus hop instead of after the group commit; and after its commit, as
//! [`PadMessage::Update`] with its place in the pad's log: its id and `prev`, the id of the pad's
//! update committed just before it (ids follow commit order within a pad). The chain lets a node
//! tell, per pad, whether it holds every committed update up to some id, and notice a gap (a lost
//! message) at the next update of the pad; it then re-reads the log from the database. The commit
//! also confirms the live copy (see `collab::doc_store` for what a node does with a live update
//! whose commit never comes).

use axum::body::Bytes;
use serde::{Deserialize, Serialize};

use crate::db::{PadId, UserId};

#[derive(Debug, Clone, PartialEq)]
pub enum PadMessage {
    /// A document update as applied on its node, before its commit (Yjs v1), and who wrote it.
    Live { user: Option<UserId>, bytes: Bytes },
    /// A document update as committed to the pad's log (Yjs v1).
    Update { prev: i64, id: i64, bytes: Bytes },
    /// A frame for every socket on the pad, as sent (awareness or an app message). Lossy.
    Frame(Bytes),
    /// Who is connected to the pad on the node `node` (all of them, replacing what it said
    /// before); repeated while anyone is, so a lost one is made good and a dead node's expire.
    Presence {
        node: String,
        users: Vec<NodePresence>,
    },
}

/// One user's connections to a pad on one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePresence {
    pub user_id: UserId,
    pub name: String,
    pub connections: usize,
}

/// A message of another node, for this node's rooms.
#[derive(Debug, Clone, PartialEq)]
pub struct Relayed {
    pub pad: PadId,
    pub message: PadMessage,
}
