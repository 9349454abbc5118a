//! One live pad (SPEC §4): its document handle, its connections with their outbound queues, and
//! the pad's awareness states. Exists while anyone is connected (plus a grace period).
//!
//! Fan-out is synchronous and never blocks: each connection has a bounded frame queue; a
//! connection whose queue is full is told to close (1013) rather than slowing everyone down.
//! Document updates are fanned out by the document itself calling `DocObserver::on_update` under
//! its lock, so every client receives updates in log order.
//!
//! With several nodes, awareness changes and shared app messages (`share_app`) are also relayed
//! on the bus to the pad's sockets on other nodes (`broadcast` delivers what they relay here).
//! Awareness is lossy there as here: clients refresh their state periodically.
//!
//! Lock order: document lock, then the room lock — never the other way round (code holding the
//! room lock must not call into the document).
//!
//! Must not: decide permissions (the session does) or touch the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::body::Bytes;
use oc_proto::{AwarenessEntry, AwarenessUpdate};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::doc_store::{Applied, ConnId, DocError, DocObserver, PadDoc};
use super::limits::{
    MAX_CLIENT_IDS_PER_CONN, MAX_DOC_BYTES, PRESENCE_EXPIRY, PRESENCE_REFRESH, ROOM_FANOUT_DEPTH,
};
use super::session::{PadPort, SessionError};
use crate::bus::{NodePresence, PadMessage, SharedBus};
use crate::db::{PadId, UserId};
use crate::pads::roles::Role;

/// Out-of-band instructions to one connection; never dropped (unbounded, and rare).
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// Close the socket with the code `error.rs` maps this error to.
    Close(SessionError),
    /// The member's role changed; applies from the next message.
    Role(Role),
    /// Role events may have been missed: re-read the role before the next message.
    RecheckRole,
    /// A frame only for connections whose current role may see interviewer material.
    ForInterviewers(Bytes),
}

/// What a connection receives from its room.
pub struct ConnChannels {
    pub frames: mpsc::Receiver<Bytes>,
    pub control: mpsc::UnboundedReceiver<Control>,
}

/// Who is behind a connection, as shown to others (names and colours come from the server).
#[derive(Debug, Clone)]
pub struct Participant {
    pub user: UserId,
    pub name: String,
    pub color: &'static str,
}

struct Conn {
    who: Participant,
    frames: mpsc::Sender<Bytes>,
    control: mpsc::UnboundedSender<Control>,
    /// Yjs client ids this connection publishes awareness for.
    client_ids: Vec<u64>,
    /// Already told to close for being too slow.
    overflowed: bool,
}

struct AwarenessSlot {
    conn: ConnId,
    clock: u64,
    state: Option<Value>,
}

#[derive(Default)]
struct RoomInner {
    conns: HashMap<ConnId, Conn>,
    awareness: HashMap<u64, AwarenessSlot>,
    /// When the last connection left; `None` while anyone is connected.
    empty_since: Option<Instant>,
    /// Other nodes' connections to the pad, by node, as each last told.
    remote: HashMap<String, RemotePresence>,
    /// When this node last told the others who is connected here.
    told_at: Option<Instant>,
}

/// Connections to a room after a change (`Room::counts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// The user's connections on this node.
    pub user_here: usize,
    /// The user's connections on every node, as last heard from the others.
    pub user_everywhere: usize,
    /// Everyone's connections on this node.
    pub room_here: usize,
}

struct RemotePresence {
    users: Vec<NodePresence>,
    heard_at: Instant,
}

pub struct Room {
    pub pad: PadId,
    pub doc: Arc<PadDoc>,
    bus: SharedBus,
    inner: Mutex<RoomInner>,
}

/// One entry of a `presence` message.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PresenceUser {
    pub user_id: UserId,
    pub name: String,
    pub color: &'static str,
    pub connections: usize,
}

impl Room {
    /// A room for `doc`; becomes the document's observer.
    pub fn new(doc: Arc<PadDoc>, bus: SharedBus) -> Arc<Room> {
        let room = Arc::new(Room {
            pad: doc.pad,
            doc: doc.clone(),
            bus,
            inner: Mutex::new(RoomInner {
                empty_since: Some(Instant::now()),
                ..RoomInner::default()
            }),
        });
        let weak = Arc::downgrade(&room);
        doc.set_observer(Some(weak as std::sync::Weak<dyn DocObserver>));
        room
    }

    fn lock(&self) -> MutexGuard<'_, RoomInner> {
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }

    /// How many connections `user` and everyone have, here and (as last heard) elsewhere. A user
    /// connected through two nodes joins the pad once, and leaves it once.
    pub fn counts(&self, user: UserId) -> Counts {
        let inner = self.lock();
        let elsewhere: usize = inner
            .remote
            .values()
            .flat_map(|node| &node.users)
            .filter(|u| u.user_id == user)
            .map(|u| u.connections)
            .sum();
        let user_here = inner.conns.values().filter(|c| c.who.user == user).count();
        Counts {
            user_here,
            user_everywhere: user_here + elsewhere,
            room_here: inner.conns.len(),
        }
    }

    /// Since when nobody is connected.
    pub fn empty_since(&self) -> Option<Instant> {
        self.lock().empty_since
    }

    /// Register a connection; the caller (the registry) has checked the connection limits.
    pub fn add(&self, conn: ConnId, who: Participant) -> ConnChannels {
        let (frames_tx, frames) = mpsc::channel(ROOM_FANOUT_DEPTH);
        let (control_tx, control) = mpsc::unbounded_channel();
        let mut inner = self.lock();
        inner.conns.insert(
            conn,
            Conn {
                who,
                frames: frames_tx,
                control: control_tx,
                client_ids: Vec::new(),
                overflowed: false,
            },
        );
        inner.empty_since = None;
        ConnChannels { frames, control }
    }

    /// Unregister a connection: its awareness states are removed and the removal broadcast.
    pub fn remove(&self, conn: ConnId) {
        let mut inner = self.lock();
        let Some(gone) = inner.conns.remove(&conn) else {
            return;
        };
        let mut removals = Vec::new();
        for client in gone.client_ids {
            if let Some(slot) = inner.awareness.remove(&client) {
                if slot.state.is_some() {
                    removals.push(AwarenessEntry {
                        client_id: client,
                        clock: slot.clock + 1,
                        state: None,
                    });
                }
            }
        }
        if !removals.is_empty() {
            let frame = Bytes::from(AwarenessUpdate { entries: removals }.encode_frame());
            fan_out(&mut inner, None, &frame);
            self.bus.relay(self.pad, PadMessage::Frame(frame));
        }
        if inner.conns.is_empty() {
            inner.empty_since = Some(Instant::now());
        }
    }

    /// Send a frame to every connection except `except`.
    pub fn broadcast(&self, except: Option<ConnId>, frame: Bytes) {
        fan_out(&mut self.lock(), except, &frame);
    }

    /// Send an app message (`{type, ...}`) to every connection of this node. For what every node
    /// derives by itself (presence, member and file lists after a domain event).
    pub fn broadcast_app(&self, message: &Value) {
        if let Some(frame) = app_frame(message) {
            self.broadcast(None, frame);
        }
    }

    /// Send an app message (`{type, ...}`) to every connection of the pad, on every node.
    pub fn share_app(&self, message: &Value) {
        if let Some(frame) = app_frame(message) {
            self.broadcast(None, frame.clone());
            self.bus.relay(self.pad, PadMessage::Frame(frame));
        }
    }

    /// Send a frame to one connection.
    pub fn send_to(&self, conn: ConnId, frame: Bytes) {
        let mut inner = self.lock();
        if let Some(target) = inner.conns.get_mut(&conn) {
            push(target, &frame);
        }
    }

    /// Tell every connection of `user` (or everyone, with `None`) something out of band.
    pub fn control(&self, user: Option<UserId>, control: Control) {
        let inner = self.lock();
        for conn in inner.conns.values() {
            if user.is_none_or(|u| u == conn.who.user) {
                let _ = conn.control.send(control.clone());
            }
        }
    }

    pub fn has_user(&self, user: UserId) -> bool {
        self.lock().conns.values().any(|c| c.who.user == user)
    }

    /// Who is connected, on every node, one entry per user, ordered by user id.
    pub fn presence(&self) -> Vec<PresenceUser> {
        let inner = self.lock();
        let mut by_user: HashMap<UserId, PresenceUser> = HashMap::new();
        let local = inner
            .conns
            .values()
            .map(|conn| (conn.who.user, conn.who.name.as_str(), 1));
        let remote = inner.remote.values().flat_map(|node| {
            node.users
                .iter()
                .map(|u| (u.user_id, u.name.as_str(), u.connections))
        });
        for (user, name, connections) in local.chain(remote) {
            by_user
                .entry(user)
                .or_insert_with(|| PresenceUser {
                    user_id: user,
                    name: name.to_string(),
                    color: super::ws::color_for(user),
                    connections: 0,
                })
                .connections += connections;
        }
        let mut users: Vec<PresenceUser> = by_user.into_values().collect();
        users.sort_by_key(|u| u.user_id);
        users
    }

    /// Send the current `presence` message to this node's connections.
    fn broadcast_presence(&self) {
        let users = self.presence();
        self.broadcast_app(&json!({ "type": "presence", "users": users }));
    }

    /// Someone joined or left here: tell this node's connections and the other nodes.
    pub fn presence_changed(&self) {
        self.broadcast_presence();
        self.tell_nodes(Instant::now());
    }

    /// Tell the other nodes who is connected to the pad here (nobody, after the last one left).
    fn tell_nodes(&self, now: Instant) {
        let users = {
            let mut inner = self.lock();
            inner.told_at = Some(now);
            let mut by_user: HashMap<UserId, NodePresence> = HashMap::new();
            for conn in inner.conns.values() {
                by_user
                    .entry(conn.who.user)
                    .or_insert_with(|| NodePresence {
                        user_id: conn.who.user,
                        name: conn.who.name.clone(),
                        connections: 0,
                    })
                    .connections += 1;
            }
            by_user.into_values().collect()
        };
        self.bus.relay(
            self.pad,
            PadMessage::Presence {
                node: self.bus.node().to_string(),
                users,
            },
        );
    }

    /// Another node told who is connected to the pad there. A node heard of for the first time is
    /// told who is here in return, so both know each other at once. When a connection joined
    /// there, the awareness states of this node's connections follow, so the newcomer sees their
    /// cursors at once rather than at their clients' next refresh. The users whose connections
    /// there changed in number.
    pub fn on_node_presence(
        &self,
        node: String,
        users: Vec<NodePresence>,
        now: Instant,
    ) -> Vec<UserId> {
        let connections =
            |users: &[NodePresence]| users.iter().map(|u| u.connections).sum::<usize>();
        let (changed, changed_users, new_node, joined, anyone_here) = {
            let mut inner = self.lock();
            let previous = inner.remote.get(&node).map(|p| p.users.clone());
            let new_node = previous.is_none();
            let previous = previous.unwrap_or_default();
            let joined = connections(&users) > connections(&previous);
            let changed = previous != users;
            let changed_users = users_whose_count_differs(&previous, &users);
            if users.is_empty() {
                inner.remote.remove(&node);
            } else {
                inner.remote.insert(
                    node,
                    RemotePresence {
                        users,
                        heard_at: now,
                    },
                );
            }
            (
                changed,
                changed_users,
                new_node,
                joined,
                !inner.conns.is_empty(),
            )
        };
        if changed {
            self.broadcast_presence();
        }
        if new_node && anyone_here {
            self.tell_nodes(now);
        }
        if joined {
            if let Some(frame) = self.awareness_frame() {
                self.bus.relay(self.pad, PadMessage::Frame(frame.into()));
            }
        }
        changed_users
    }

    /// Forget nodes not heard from for `PRESENCE_EXPIRY` (they died), and repeat who is here
    /// every `PRESENCE_REFRESH` while anyone is. The users who were connected through the
    /// forgotten nodes.
    pub fn refresh_presence(&self, now: Instant) -> Vec<UserId> {
        let (expired, tell) = {
            let mut inner = self.lock();
            let silent: Vec<String> = inner
                .remote
                .iter()
                .filter(|(_, node)| now.saturating_duration_since(node.heard_at) >= PRESENCE_EXPIRY)
                .map(|(id, _)| id.clone())
                .collect();
            let expired: Vec<RemotePresence> = silent
                .iter()
                .filter_map(|id| inner.remote.remove(id))
                .collect();
            let due = inner
                .told_at
                .is_none_or(|t| now.saturating_duration_since(t) >= PRESENCE_REFRESH);
            (expired, due && !inner.conns.is_empty())
        };
        if !expired.is_empty() {
            self.broadcast_presence();
        }
        if tell {
            self.tell_nodes(now);
        }
        let mut users: Vec<UserId> = expired
            .iter()
            .flat_map(|node| node.users.iter().map(|u| u.user_id))
            .collect();
        users.sort_unstable_by_key(|u| u.0);
        users.dedup();
        users
    }

    /// Apply awareness entries published by `conn` (already stamped by its session). Entries for
    /// a client id another user's connection owns are dropped and reported back; a connection
    /// that claims too many client ids is a policy violation.
    fn publish_awareness_entries(
        &self,
        conn: ConnId,
        entries: Vec<AwarenessEntry>,
    ) -> Result<usize, SessionError> {
        let mut inner = self.lock();
        let Some(me) = inner.conns.get(&conn) else {
            return Ok(0);
        };
        let my_user = me.who.user;
        let mut accepted = Vec::new();
        let mut refused = 0;
        for entry in entries {
            let owner = inner
                .awareness
                .get(&entry.client_id)
                .map(|slot| (slot.conn, slot.clock, slot.state.is_some()));
            match owner {
                Some((owner, clock, has_state)) => {
                    if owner != conn {
                        let same_user = inner
                            .conns
                            .get(&owner)
                            .is_none_or(|c| c.who.user == my_user);
                        if !same_user {
                            refused += 1;
                            continue;
                        }
                        // The same user's reconnected tab takes its client id over.
                        if let Some(old) = inner.conns.get_mut(&owner) {
                            old.client_ids.retain(|c| *c != entry.client_id);
                        }
                        claim(&mut inner, conn, entry.client_id)?;
                    }
                    // y-protocols' rule: newer clock wins; an equal clock may only remove.
                    let newer = entry.clock > clock
                        || (entry.clock == clock && entry.is_removal() && has_state);
                    if !newer && owner == conn {
                        continue;
                    }
                }
                None => claim(&mut inner, conn, entry.client_id)?,
            }
            let state = if entry.is_removal() {
                None
            } else {
                entry.state.clone()
            };
            inner.awareness.insert(
                entry.client_id,
                AwarenessSlot {
                    conn,
                    clock: entry.clock,
                    state,
                },
            );
            accepted.push(entry);
        }
        if !accepted.is_empty() {
            let frame = Bytes::from(AwarenessUpdate { entries: accepted }.encode_frame());
            fan_out(&mut inner, Some(conn), &frame);
            self.bus.relay(self.pad, PadMessage::Frame(frame));
        }
        Ok(refused)
    }

    /// Every current awareness state as one awareness frame, or `None` when there is none.
    fn awareness_frame(&self) -> Option<Vec<u8>> {
        let inner = self.lock();
        let entries: Vec<AwarenessEntry> = inner
            .awareness
            .iter()
            .filter(|(_, slot)| slot.state.is_some())
            .map(|(client, slot)| AwarenessEntry {
                client_id: *client,
                clock: slot.clock,
                state: slot.state.clone(),
            })
            .collect();
        (!entries.is_empty()).then(|| AwarenessUpdate { entries }.encode_frame())
    }

    /// Close every connection (pad deleted, server shutdown).
    pub fn close_all(&self, reason: SessionError) {
        self.control(None, Control::Close(reason));
    }

    /// Consistency checks for tests: every awareness slot belongs to a live connection that
    /// lists it, and vice versa.
    pub fn check_invariants(&self) {
        let inner = self.lock();
        for (client, slot) in &inner.awareness {
            let conn = inner
                .conns
                .get(&slot.conn)
                .expect("awareness slot of a live connection");
            assert!(
                conn.client_ids.contains(client),
                "connection lists its client id"
            );
        }
        for conn in inner.conns.values() {
            for client in &conn.client_ids {
                assert!(
                    inner.awareness.contains_key(client),
                    "claimed client id has a slot"
                );
            }
        }
        assert_eq!(inner.empty_since.is_some(), inner.conns.is_empty());
    }
}

/// An app message as a frame, or `None` (logged) when it is malformed.
pub(crate) fn app_frame(message: &Value) -> Option<Bytes> {
    match oc_proto::AppMessage::new(message.clone()) {
        Ok(app) => Some(Bytes::from(app.encode())),
        Err(err) => {
            tracing::error!(error = %err, "refusing to broadcast a malformed app message");
            None
        }
    }
}

fn claim(inner: &mut RoomInner, conn: ConnId, client: u64) -> Result<(), SessionError> {
    let me = inner.conns.get_mut(&conn).ok_or(SessionError::Internal)?;
    if !me.client_ids.contains(&client) {
        if me.client_ids.len() >= MAX_CLIENT_IDS_PER_CONN {
            return Err(SessionError::TooManyClientIds);
        }
        me.client_ids.push(client);
    }
    Ok(())
}

fn push(conn: &mut Conn, frame: &Bytes) {
    if conn.overflowed {
        return;
    }
    if conn.frames.try_send(frame.clone()).is_err() {
        conn.overflowed = true;
        let _ = conn.control.send(Control::Close(SessionError::TooSlow));
    }
}

fn fan_out(inner: &mut RoomInner, except: Option<ConnId>, frame: &Bytes) {
    for (id, conn) in inner.conns.iter_mut() {
        if Some(*id) != except {
            push(conn, frame);
        }
    }
}

impl DocObserver for Room {
    fn on_update(&self, origin: Option<ConnId>, update: &Bytes) {
        let frame = Bytes::from(oc_proto::encode_update(update));
        fan_out(&mut self.lock(), origin, &frame);
    }
}

/// The live room is the session's view of the pad.
impl PadPort for Room {
    fn state_vector(&self) -> Vec<u8> {
        self.doc.state_vector_now()
    }
    fn diff_since(&self, state_vector: &[u8]) -> Result<Vec<u8>, DocError> {
        self.doc.diff_since_now(state_vector)
    }
    fn would_change(&self, update: &[u8]) -> Result<bool, DocError> {
        self.doc.would_change(update)
    }
    fn apply_update(&self, conn: ConnId, user: UserId, update: &[u8]) -> Result<Applied, DocError> {
        self.doc
            .apply_update(Some(conn), Some(user), update, MAX_DOC_BYTES)
    }
    fn publish_awareness(
        &self,
        conn: ConnId,
        entries: Vec<AwarenessEntry>,
    ) -> Result<usize, SessionError> {
        self.publish_awareness_entries(conn, entries)
    }
    fn awareness_snapshot(&self) -> Option<Vec<u8>> {
        self.awareness_frame()
    }
}

/// The users whose connection count differs between two presence lists of one node.
fn users_whose_count_differs(before: &[NodePresence], after: &[NodePresence]) -> Vec<UserId> {
    let count = |users: &[NodePresence], user: UserId| {
        users
            .iter()
            .find(|u| u.user_id == user)
            .map_or(0, |u| u.connections)
    };
    let mut changed: Vec<UserId> = before
        .iter()
        .chain(after)
        .map(|u| u.user_id)
        .filter(|&user| count(before, user) != count(after, user))
        .collect();
    changed.sort_unstable_by_key(|u| u.0);
    changed.dedup();
    changed
}
