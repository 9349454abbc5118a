//! The registry of live rooms, keyed by `PadId` (SPEC §4), plus the connection limits and the
//! bridge from domain events to open sockets (SPEC §3: a kick, downgrade, revocation or deletion
//! reaches open sockets at once).
//!
//! Server-side features broadcast to a pad through `Rooms::broadcast_app(pad, json)`: it reaches
//! the pad's sockets on this node and is relayed to the other nodes. What other nodes relay —
//! committed updates, awareness, app messages — reaches this node's documents and rooms through
//! `on_relayed`.
//!
//! Must not: hold the registry lock across an `.await` or while calling into a document.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use super::app::AppHandlers;
use super::doc_store::{ConnId, DocError, DocStore};
use super::limits::{MAX_CONNECTIONS_PER_PAD, MAX_CONNECTIONS_PER_USER};
use super::room::{app_frame, ConnChannels, Control, Counts, Participant, Room};
use super::session::SessionError;
use super::store;
use super::ws::Channel;
use crate::bus::{DomainEvent, PadMessage, Relayed, SharedBus};
use crate::db::{PadId, UserId};
use crate::AppState;

/// A room nobody is connected to is kept this long (a reload reconnects into it), then unloaded.
pub const ROOM_IDLE_GRACE: Duration = Duration::from_secs(30);
/// How often idle rooms and documents are swept and time-based checkpoints taken.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);
#[derive(Default)]
struct Registry {
    rooms: HashMap<PadId, Arc<Room>>,
    per_user: HashMap<UserId, usize>,
    /// Interview pad → the companion pad holding its private notes, for the notes rooms live
    /// here: access to a notes room follows the interview pad's membership events.
    notes_of: HashMap<PadId, PadId>,
}

#[derive(Clone)]
pub struct Rooms {
    inner: Arc<RoomsInner>,
}

struct RoomsInner {
    docs: DocStore,
    registry: Mutex<Registry>,
    next_conn: AtomicU64,
    handlers: AppHandlers,
    bus: SharedBus,
    presence: tokio::sync::broadcast::Sender<PresenceChange>,
}

/// A connection joined or left a pad's room, with the counts after the change. Recordings log
/// joins and leaves and auto-record from these (SPEC §7); a subscriber that lags re-reads
/// `Room::connection_count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceChange {
    pub pad: PadId,
    pub user: UserId,
    /// A connection joined (or left) here; for news from elsewhere, whether the user has
    /// connections here.
    pub joined: bool,
    pub counts: Counts,
    /// The connection was on this node; otherwise another node told of a change in the user's
    /// connections there (or was forgotten). News from elsewhere may be stale, this node's own
    /// connections are not: of two nodes whose last connections close at once, each may still
    /// count the other's, and the news from the other one decides the leave.
    pub here: bool,
}

impl Rooms {
    /// Every join and leave from now on.
    pub fn subscribe_presence(&self) -> tokio::sync::broadcast::Receiver<PresenceChange> {
        self.inner.presence.subscribe()
    }

    /// Counted right after the change (joins: under the registry lock, so of two simultaneous
    /// first joins exactly one sees a single connection).
    fn presence_change(room: &Room, user: UserId, joined: bool) -> PresenceChange {
        PresenceChange {
            pad: room.pad,
            user,
            joined,
            counts: room.counts(user),
            here: true,
        }
    }

    /// Announce what another node's news changed for `users` (nothing for a notes room: its
    /// comings and goings stay out of the interview's recordings).
    fn notify_remote_presence(&self, room: &Room, users: Vec<UserId>) {
        if users.is_empty() || self.registry().notes_of.values().any(|&n| n == room.pad) {
            return;
        }
        for user in users {
            let counts = room.counts(user);
            self.notify_presence(PresenceChange {
                pad: room.pad,
                user,
                joined: counts.user_here > 0,
                counts,
                here: false,
            });
        }
    }

    fn notify_presence(&self, change: PresenceChange) {
        // No subscriber is fine.
        let _ = self.inner.presence.send(change);
    }
}

/// A connection's place in a room; leaving (on drop) updates awareness, presence and the limits.
pub struct Membership {
    pub room: Arc<Room>,
    pub conn: ConnId,
    user: UserId,
    rooms: Rooms,
    /// Joins and leaves of pad rooms are announced (recordings log them and auto-record); those
    /// of notes rooms are not, so nothing about the notes reaches the interview's recordings.
    announce: bool,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.room.remove(self.conn);
        {
            let mut registry = self.rooms.registry();
            if let Some(count) = registry.per_user.get_mut(&self.user) {
                *count -= 1;
                if *count == 0 {
                    registry.per_user.remove(&self.user);
                }
            }
        }
        self.room.presence_changed();
        if self.announce {
            self.rooms
                .notify_presence(Rooms::presence_change(&self.room, self.user, false));
        }
    }
}

impl Rooms {
    pub fn new(docs: DocStore, handlers: AppHandlers, bus: SharedBus) -> Rooms {
        Rooms {
            inner: Arc::new(RoomsInner {
                docs,
                registry: Mutex::new(Registry::default()),
                next_conn: AtomicU64::new(1),
                handlers,
                bus,
                presence: tokio::sync::broadcast::channel(crate::bus::EVENT_BUFFER).0,
            }),
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub fn handlers(&self) -> &AppHandlers {
        &self.inner.handlers
    }

    pub fn next_conn_id(&self) -> ConnId {
        self.inner.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The live room of a pad, if anyone is (or was just) connected.
    pub fn get(&self, pad: PadId) -> Option<Arc<Room>> {
        self.registry().rooms.get(&pad).cloned()
    }

    /// The pads with a live room on this node.
    pub fn pads(&self) -> Vec<PadId> {
        self.registry().rooms.keys().copied().collect()
    }

    pub fn live_rooms(&self) -> usize {
        self.registry().rooms.len()
    }

    /// Join a pad's room (creating it, and loading the document, on first use), enforcing the
    /// per-user and per-pad connection limits.
    pub async fn join(
        &self,
        pad: PadId,
        conn: ConnId,
        who: Participant,
    ) -> Result<(Membership, ConnChannels), SessionError> {
        self.join_channel(Channel::Pad(pad), conn, who).await
    }

    /// Join the room of the document `channel` carries (`join` for a pad's own document).
    pub async fn join_channel(
        &self,
        channel: Channel,
        conn: ConnId,
        who: Participant,
    ) -> Result<(Membership, ConnChannels), SessionError> {
        let pad = channel.doc_pad();
        let announce = matches!(channel, Channel::Pad(_));
        loop {
            let existing = self.get(pad);
            let room = match existing {
                Some(room) => room,
                None => {
                    let doc = self.inner.docs.open(pad).await.map_err(|err| match err {
                        DocError::Db(e) => {
                            tracing::error!(error = %e, %pad, "loading the pad document failed");
                            SessionError::Internal
                        }
                        other => SessionError::from(other),
                    })?;
                    let mut registry = self.registry();
                    registry
                        .rooms
                        .entry(pad)
                        .or_insert_with(|| Room::new(doc, self.inner.bus.clone()))
                        .clone()
                }
            };
            let mut registry = self.registry();
            // The sweeper may have removed the room between `get` and here.
            if !registry
                .rooms
                .get(&pad)
                .is_some_and(|r| Arc::ptr_eq(r, &room))
            {
                continue;
            }
            if registry.per_user.get(&who.user).copied().unwrap_or(0) >= MAX_CONNECTIONS_PER_USER {
                return Err(SessionError::TooManyConnections("per user"));
            }
            if room.connection_count() >= MAX_CONNECTIONS_PER_PAD {
                return Err(SessionError::TooManyConnections("per pad"));
            }
            *registry.per_user.entry(who.user).or_default() += 1;
            if let Channel::Notes {
                interview, notes, ..
            } = channel
            {
                registry.notes_of.insert(interview, notes);
            }
            let user = who.user;
            let channels = room.add(conn, who);
            let change = Rooms::presence_change(&room, user, true);
            drop(registry);
            if announce {
                self.notify_presence(change);
            }
            return Ok((
                Membership {
                    room,
                    conn,
                    user,
                    rooms: self.clone(),
                    announce,
                },
                channels,
            ));
        }
    }

    /// Send an app message (`{type, ...}`) to everyone on the pad, on every node.
    pub fn broadcast_app(&self, pad: PadId, message: &Value) {
        let Some(frame) = app_frame(message) else {
            return;
        };
        if let Some(room) = self.get(pad) {
            room.broadcast(None, frame.clone());
        }
        self.inner.bus.relay(pad, PadMessage::Frame(frame));
    }

    /// What another node relayed: an update, live or committed, for the pad's loaded document
    /// (which fans it out), or a frame for the pad's sockets here.
    pub fn on_relayed(&self, relayed: Relayed) {
        match relayed.message {
            PadMessage::Live { user, bytes } => {
                self.inner.docs.apply_live(relayed.pad, user, &bytes)
            }
            PadMessage::Update { prev, id, bytes } => {
                self.inner.docs.apply_relayed(relayed.pad, prev, id, &bytes)
            }
            PadMessage::Frame(frame) => {
                if let Some(room) = self.get(relayed.pad) {
                    room.broadcast(None, frame);
                }
            }
            PadMessage::Presence { node, users } => {
                if let Some(room) = self.get(relayed.pad) {
                    let changed = room.on_node_presence(node, users, Instant::now());
                    self.notify_remote_presence(&room, changed);
                }
            }
        }
    }

    /// Unload rooms nobody has been connected to for `ROOM_IDLE_GRACE`, then sweep documents;
    /// refresh presence across nodes.
    pub async fn sweep(&self, now: Instant) {
        let rooms: Vec<Arc<Room>> = self.registry().rooms.values().cloned().collect();
        for room in rooms {
            let forgotten = room.refresh_presence(now);
            self.notify_remote_presence(&room, forgotten);
        }
        let idle: Vec<Arc<Room>> = {
            let mut registry = self.registry();
            let idle: Vec<PadId> = registry
                .rooms
                .iter()
                .filter(|(_, room)| {
                    room.empty_since()
                        .is_some_and(|t| now.saturating_duration_since(t) >= ROOM_IDLE_GRACE)
                })
                .map(|(pad, _)| *pad)
                .collect();
            let idle: Vec<Arc<Room>> = idle
                .iter()
                .filter_map(|pad| registry.rooms.remove(pad))
                .collect();
            let Registry {
                rooms, notes_of, ..
            } = &mut *registry;
            notes_of.retain(|_, notes| rooms.contains_key(notes));
            idle
        };
        for room in idle {
            room.doc.set_observer(None);
            self.inner.docs.unload(room.pad).await;
        }
        self.inner
            .docs
            .sweep(now, super::doc_store::DOC_IDLE_UNLOAD);
        self.inner.docs.repair_gaps(now).await;
    }

    /// Tear a room down whose document failed: every socket closes (1013, reconnect) and the next
    /// join loads the document afresh from the log.
    pub fn discard(&self, room: &Arc<Room>) {
        {
            let mut registry = self.registry();
            if registry
                .rooms
                .get(&room.pad)
                .is_some_and(|r| Arc::ptr_eq(r, room))
            {
                registry.rooms.remove(&room.pad);
            }
        }
        room.doc.set_observer(None);
        room.close_all(SessionError::Overloaded);
    }

    /// Close every socket (shutdown).
    pub fn close_everything(&self, reason: SessionError) {
        let rooms: Vec<Arc<Room>> = self.registry().rooms.values().cloned().collect();
        for room in rooms {
            room.close_all(reason.clone());
        }
    }

    fn rooms_of_user(&self, user: UserId) -> Vec<Arc<Room>> {
        self.registry()
            .rooms
            .values()
            .filter(|r| r.has_user(user))
            .cloned()
            .collect()
    }

    /// The live notes room of an interview pad, if any.
    fn notes_room(&self, interview: PadId) -> Option<Arc<Room>> {
        let registry = self.registry();
        let notes = registry.notes_of.get(&interview)?;
        registry.rooms.get(notes).cloned()
    }

    /// Carry one domain event to the open sockets it concerns.
    pub async fn on_event(&self, state: &AppState, event: DomainEvent) {
        self.notes_event(&event).await;
        match event {
            DomainEvent::UserRevoked { user } => {
                for room in self.rooms_of_user(user) {
                    room.control(Some(user), Control::Close(SessionError::SessionRevoked));
                }
            }
            DomainEvent::MemberChanged { pad, user, role } => {
                let Some(room) = self.get(pad) else { return };
                match role {
                    Some(role) => room.control(Some(user), Control::Role(role)),
                    None => room.control(Some(user), Control::Close(SessionError::AccessRevoked)),
                }
                self.push_members(state, &room).await;
            }
            DomainEvent::PadDeleted { pad } => {
                let room = self.registry().rooms.remove(&pad);
                if let Some(room) = room {
                    room.close_all(SessionError::PadDeleted);
                    room.doc.set_observer(None);
                }
                self.inner.docs.unload(pad).await;
            }
            DomainEvent::PadChanged { pad } => {
                let Some(room) = self.get(pad) else { return };
                match crate::pads::store::find(&state.db, pad).await {
                    Ok(Some(p)) => room.broadcast_app(&json!({
                        "type": "pad.changed",
                        "pad": { "title": p.title, "language": p.language, "kind": p.kind },
                    })),
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, %pad, "reading the pad for pad.changed failed")
                    }
                }
            }
            DomainEvent::FilesChanged { pad } => {
                let Some(room) = self.get(pad) else { return };
                self.push_files(state, &room).await;
            }
            DomainEvent::InterviewChanged { pad } => {
                let Some(room) = self.get(pad) else { return };
                // Before the notice, so a socket that sees it already refuses what the change
                // closed (its control is read ahead of its frames).
                room.control(None, Control::RecheckRole);
                room.broadcast_app(&json!({ "type": "interview.changed" }));
            }
            DomainEvent::IntegrityReported { pad } => {
                let Some(room) = self.get(pad) else { return };
                if let Some(frame) = app_frame(&json!({ "type": "integrity.reported" })) {
                    room.control(None, Control::ForInterviewers(frame));
                }
            }
            DomainEvent::Resync => self.on_lag(state).await,
        }
    }

    /// The interview pad's membership and deletion events, applied to its notes room: the notes
    /// socket closes itself when the role a change carries may not see notes.
    async fn notes_event(&self, event: &DomainEvent) {
        match *event {
            DomainEvent::MemberChanged { pad, user, role } => {
                let Some(room) = self.notes_room(pad) else {
                    return;
                };
                match role {
                    Some(role) => room.control(Some(user), Control::Role(role)),
                    None => room.control(Some(user), Control::Close(SessionError::AccessRevoked)),
                }
            }
            DomainEvent::PadDeleted { pad } => {
                let room = {
                    let mut registry = self.registry();
                    let notes = registry.notes_of.remove(&pad);
                    notes.and_then(|notes| registry.rooms.remove(&notes))
                };
                if let Some(room) = room {
                    room.close_all(SessionError::PadDeleted);
                    room.doc.set_observer(None);
                    self.inner.docs.unload(room.pad).await;
                }
            }
            DomainEvent::UserRevoked { .. }
            | DomainEvent::PadChanged { .. }
            | DomainEvent::FilesChanged { .. }
            | DomainEvent::InterviewChanged { .. }
            | DomainEvent::IntegrityReported { .. }
            | DomainEvent::Resync => {}
        }
    }

    async fn push_members(&self, state: &AppState, room: &Room) {
        match store::members(&state.db, room.pad).await {
            Ok(members) => {
                room.broadcast_app(&json!({ "type": "members.changed", "members": members }))
            }
            Err(err) => {
                tracing::warn!(error = %err, pad = %room.pad, "reading members for members.changed failed")
            }
        }
    }

    async fn push_files(&self, state: &AppState, room: &Room) {
        match store::files(&state.db, room.pad).await {
            Ok(files) => room.broadcast_app(&json!({ "type": "files.changed", "files": files })),
            Err(err) => {
                tracing::warn!(error = %err, pad = %room.pad, "reading files for files.changed failed")
            }
        }
    }

    /// The event bus lagged or its transport reconnected: events and relayed updates were lost.
    /// Every loaded document re-reads its log, every socket re-reads its role before its next
    /// message, and every room gets fresh member and file lists.
    async fn on_lag(&self, state: &AppState) {
        self.inner.docs.repair_all().await;
        let rooms: Vec<(Arc<Room>, bool)> = {
            let registry = self.registry();
            let notes_rooms: HashSet<PadId> = registry.notes_of.values().copied().collect();
            registry
                .rooms
                .values()
                .map(|room| (room.clone(), notes_rooms.contains(&room.pad)))
                .collect()
        };
        for (room, notes) in rooms {
            room.control(None, Control::RecheckRole);
            // A notes room's members and files are the interview pad's business, not its own.
            if notes {
                continue;
            }
            self.push_members(state, &room).await;
            self.push_files(state, &room).await;
        }
    }
}

/// Background work of the collaboration module, on `state.tasks` so shutdown waits for it:
/// domain events → sockets, other nodes' relayed messages → documents and sockets, and the
/// idle/checkpoint/gap sweeper.
pub fn spawn_background(state: &AppState) {
    let relay_state = state.clone();
    let mut relayed = state.bus.subscribe_relayed();
    state.tasks.spawn(async move {
        let state = relay_state;
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                received = relayed.recv() => match received {
                    Ok(message) => state.rooms.on_relayed(message),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "collaboration lagged behind relayed pad messages; re-reading document logs");
                        state.docs.repair_all().await;
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
    });
    let events_state = state.clone();
    let mut events = state.bus.subscribe();
    state.tasks.spawn(async move {
        let state = events_state;
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                received = events.recv() => match received {
                    Ok(event) => state.rooms.on_event(&state, event).await,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "collaboration lagged behind domain events; re-checking access");
                        state.rooms.on_lag(&state).await;
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
    });
    let sweep_state = state.clone();
    state.tasks.spawn(async move {
        let state = sweep_state;
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut owner_checkpoints = tokio::time::interval(super::owner_checkpoints::SCAN_EVERY);
        owner_checkpoints.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut log_check = tokio::time::interval(super::doc_store::LOG_CHECK_EVERY);
        log_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // One node writes every log it holds: nothing to check.
        let cluster = state.redis.is_some();
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                _ = tick.tick() => state.rooms.sweep(Instant::now()).await,
                _ = owner_checkpoints.tick() => super::owner_checkpoints::take_due(&state).await,
                _ = log_check.tick(), if cluster => state.docs.check_logs().await,
            }
        }
    });
}
