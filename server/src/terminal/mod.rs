//! The shared terminal (SPEC §6): one shell per pad, inside a sandbox container of that pad
//! (same restrictions as runs, the pad's files in its working directory) — never on the host,
//! except the explicit local development fallback (`TERMINAL_ALLOW_LOCAL`, refused in
//! production). Everyone on the pad sees it; only roles that may run code type into it. Output is
//! recorded for playback; keystrokes never are.
//!
//! - `settings`   — the `TERMINAL_*` variables
//! - `session`    — one pad's terminal: clients, roles, size, lifetimes, the container
//! - `scrollback` — the last 64 KiB of output, replayed to late joiners
//! - `record`     — output → the pad's event log (batched, capped per pad per window)
//! - `ws`         — `GET /ws/pad/{slug}/terminal`: auth (shared with the pad socket) and the byte pump
//! - `relay`      — several nodes: a socket on another node than the pad's owner reaches the
//!   owner's terminal over the bus
//! - `routes`     — the socket route and `POST /api/pads/{slug}/terminal/{restart,sync-files}`
//!
//! ## Protocol of the terminal socket
//!
//! Same handshake as the pad socket: subprotocols `opencoder.v1` + `oc.bearer.<jwt>` (the server
//! selects `opencoder.v1`, never echoes the token), or the cookie from a trusted origin.
//! Binary frames are raw terminal bytes: output server→client, input client→server (at most
//! [`MAX_INPUT_FRAME`] bytes). Text frames are JSON control messages:
//!
//! | direction | message |
//! |---|---|
//! | client → server | `{type:"resize", cols, rows}` — the client's viewport; the latest typist's wins |
//! | client → server | `{type:"restart"}` — a fresh container and shell (typing roles only, at most one per [`session::RESTART_DEBOUNCE`] per pad) |
//! | server → client | `{type:"role", role, canType}` — on join and when the role changes |
//! | server → client | `{type:"status", state, idleMs, maxMs, local, code?, message?}` — `state` ∈ `starting`, `running`, `exited`, `idle_timeout`, `max_lifetime` |
//! | server → client | `{type:"size", cols, rows}` — the TTY's size changed (everyone renders at it) |
//! | server → client | `{type:"error", code, message}` — `read_only`, `not_running`, `input_busy`, `bad_message`, `terminal_unavailable`, `start_failed`, `restart_too_soon`, `too_many_containers` (the socket stays open) |
//!
//! On join a client gets `role`, `status`, `size`, then the scrollback as one binary frame.
//! Close codes: 4001 session revoked, 4003 kicked / lost access, 4004 pad deleted, 1001 server
//! shutting down, 1008 message rate or too many terminal sockets on the pad or of the user,
//! 1009 input frame too large, 1012 the terminal moved to another node (reconnect), 1013 too
//! slow to keep up with the output. Upgrades refused before
//! the handshake get the HTTP status of their error (401 anonymous, 403 foreign-origin cookie,
//! 404 not a member).
//!
//! ## Containers
//!
//! Only a role that may type causes a container start (its first join, a restart); a viewer
//! who opens a pad's terminal when none runs is told so and waits. A session container holds,
//! for as long as it may exist, a place of the global `TERMINAL_MAX_CONTAINERS` and one of its
//! starter's `EXEC_PER_USER_CONCURRENCY` places, the same places runs take
//! (`exec::queue::RunQueue::hold_user_slot`): a user never has more containers, runs and
//! terminals together, than that. A start beyond either cap is refused (`too_many_containers`).
//!
//! Access changes: a socket subscribes to domain events before its role is read, and applies
//! what arrived meanwhile right after joining, so a kick or revocation that lands during the
//! join is never missed. When someone who typed into the current shell loses the right to (a
//! kick, a downgrade, their account deleted), the shell is replaced by a fresh one so nothing
//! they left running survives.

pub mod record;
pub mod relay;
pub mod routes;
pub mod scrollback;
pub mod session;
pub mod settings;
pub mod ws;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use oc_sandbox::{
    BackendKind, SandboxError, SourceFile, TermSize, TerminalEvent, TerminalLimits, TerminalSession,
};
use tokio::sync::{
    broadcast, broadcast::error::RecvError, mpsc, oneshot, OwnedSemaphorePermit, Semaphore,
};

pub use routes::router;
pub use session::ConnId;
pub use settings::TerminalSettings;

use self::record::RecordBudget;
use self::relay::{LinkIn, RelayIn};
use self::session::{
    CloseReason, Cmd, Out, PadTerminal, CLOSE_USER_TOO_MANY, MAX_SOCKETS_PER_USER,
};
use crate::bus::DomainEvent;
use crate::cluster::{Claim, PadLease};
use crate::config::Config;
use crate::db::{PadId, UserId};
use crate::error::{AppError, AppResult};
use crate::exec::queue::UserSlot;
pub use crate::exec::TerminalChoice;
use crate::pads::roles::Role;
use crate::AppState;

/// Largest input frame (a paste); larger frames close the socket with 1009.
pub const MAX_INPUT_FRAME: usize = 64 * 1024;
/// Upper bound of the pad's files written into the workspace.
pub const MAX_WORKSPACE_FILES_BYTES: u64 = 32 * 1024 * 1024;

/// The live pad terminals and where their shells run. Cheap to clone; part of `AppState`.
#[derive(Clone)]
pub struct Terminals {
    inner: Arc<TerminalsInner>,
}

struct TerminalsInner {
    settings: TerminalSettings,
    backend: TerminalChoice,
    limits: TerminalLimits,
    registry: Mutex<HashMap<PadId, (u64, mpsc::Sender<Cmd>)>>,
    next_id: AtomicU64,
    /// `TERMINAL_MAX_CONTAINERS` places; a session container holds one while it may exist.
    containers: Arc<Semaphore>,
    /// Open terminal sockets per user (at most [`MAX_SOCKETS_PER_USER`]).
    sockets: Arc<Mutex<HashMap<UserId, usize>>>,
    record_budget: RecordBudget,
    /// Sockets of this node joined to a terminal another node owns (`relay`), by socket.
    links: Mutex<HashMap<ConnId, mpsc::Sender<LinkIn>>>,
    /// Sockets of other nodes joined to a terminal this node owns, by (their node, their socket).
    relayed: Mutex<HashMap<(String, ConnId), mpsc::Sender<RelayIn>>>,
}

/// What one session container holds from before its creation until after its removal: a place
/// of the global terminal cap and one of its starter's per-user places (shared with runs).
pub(crate) struct ContainerSlot {
    _global: OwnedSemaphorePermit,
    _user: UserSlot,
}

/// One open terminal socket of a user; dropping it gives the place back.
pub(crate) struct SocketSlot {
    sockets: Arc<Mutex<HashMap<UserId, usize>>>,
    user: UserId,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut sockets = self
            .sockets
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(n) = sockets.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                sockets.remove(&self.user);
            }
        }
    }
}

/// A socket's membership in a pad terminal.
pub struct Joined {
    pub conn: ConnId,
    pub out: mpsc::Receiver<Out>,
    pub close: oneshot::Receiver<CloseReason>,
    tx: mpsc::Sender<Cmd>,
    /// The user's socket place on the node the socket is open on (none for a relayed socket on
    /// the owner: its own node counts it).
    _socket: Option<SocketSlot>,
}

impl Joined {
    pub(crate) async fn send(&self, cmd: Cmd) -> bool {
        self.tx.send(cmd).await.is_ok()
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        let tx = self.tx.clone();
        let conn = self.conn;
        if tx.try_send(Cmd::Leave { conn }).is_err() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let _ = tx.send(Cmd::Leave { conn }).await;
                });
            }
        }
    }
}

impl Terminals {
    /// The pad terminals of this server, their shells started by `backend` (chosen with the
    /// run backend in `exec::build_sandboxes`).
    pub fn new(config: &Config, backend: TerminalChoice) -> Terminals {
        let settings = config.terminal.clone();
        let limits = TerminalLimits {
            memory_mb: config.exec.memory_mb,
            cpus: config.exec.cpus,
            tmpfs_mb: settings.disk_mb,
            max_files_bytes: MAX_WORKSPACE_FILES_BYTES,
            // A little past the server's own limit: the server ends it first, this is the net.
            lifetime: settings.max_lifetime + Duration::from_secs(60),
            ..TerminalLimits::default()
        };
        let containers = Arc::new(Semaphore::new(settings.max_containers));
        let record_budget = RecordBudget::new(settings.record_bytes);
        Terminals {
            inner: Arc::new(TerminalsInner {
                settings,
                backend,
                limits,
                registry: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                containers,
                sockets: Arc::new(Mutex::new(HashMap::new())),
                record_budget,
                links: Mutex::new(HashMap::new()),
                relayed: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn settings(&self) -> &TerminalSettings {
        &self.inner.settings
    }

    pub(crate) fn record_budget(&self) -> RecordBudget {
        self.inner.record_budget.clone()
    }

    /// Session containers that exist or are being created or removed.
    pub fn containers_held(&self) -> usize {
        self.inner.settings.max_containers - self.inner.containers.available_permits()
    }

    /// A place for one session container started by `user`, or why there is none (a message
    /// for the `too_many_containers` error).
    pub(crate) fn claim_container(
        &self,
        state: &AppState,
        user: UserId,
    ) -> Result<ContainerSlot, String> {
        let global = self
            .inner
            .containers
            .clone()
            .try_acquire_owned()
            .map_err(|_| {
                "every terminal container of this server is in use; try again when one is closed"
                    .to_string()
            })?;
        let user_slot = state.exec.queue().hold_user_slot(user).map_err(|_| {
            "you already have as many runs and terminals going as one person may; close a terminal or wait for a run"
                .to_string()
        })?;
        Ok(ContainerSlot {
            _global: global,
            _user: user_slot,
        })
    }

    fn claim_socket(&self, user: UserId) -> Option<SocketSlot> {
        let mut sockets = self
            .inner
            .sockets
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let open = sockets.entry(user).or_default();
        if *open >= MAX_SOCKETS_PER_USER {
            return None;
        }
        *open += 1;
        Some(SocketSlot {
            sockets: self.inner.sockets.clone(),
            user,
        })
    }

    pub fn backend(&self) -> &TerminalChoice {
        &self.inner.backend
    }

    /// Whether shells run on the host without isolation (the development fallback).
    pub fn is_local(&self) -> bool {
        matches!(&self.inner.backend, TerminalChoice::Ready(b) if b.kind() == BackendKind::Local)
    }

    /// `docker`, `local` (unisolated) or `unavailable`, for health reports.
    pub fn backend_label(&self) -> &'static str {
        match &self.inner.backend {
            TerminalChoice::Ready(b) => b.kind().as_str(),
            TerminalChoice::Unavailable(_) => "unavailable",
        }
    }

    /// Pads with a live terminal.
    pub fn live_count(&self) -> usize {
        self.registry().len()
    }

    /// Pads whose terminal runs on this node.
    pub fn live_pads(&self) -> Vec<PadId> {
        let mut pads: Vec<PadId> = self.registry().keys().copied().collect();
        pads.sort();
        pads
    }

    /// End the pad's terminal on this node as shutdown does (sockets closed, container removed);
    /// `false` when none runs here.
    pub async fn stop(&self, pad: PadId) -> bool {
        let Some(tx) = self.existing(pad) else {
            return false;
        };
        let (done, wait) = oneshot::channel();
        if tx.send(Cmd::Shutdown { done }).await.is_err() {
            return false;
        }
        wait.await.is_ok()
    }

    fn registry(&self) -> MutexGuard<'_, HashMap<PadId, (u64, mpsc::Sender<Cmd>)>> {
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Label value (`opencoder.terminal`) of a pad's session container.
    pub fn container_key(pad: PadId) -> String {
        format!("pad-{pad}")
    }

    pub(crate) async fn start_session(
        &self,
        pad: PadId,
        files: &[SourceFile],
        size: TermSize,
    ) -> Result<(TerminalSession, mpsc::Receiver<TerminalEvent>), SandboxError> {
        match &self.inner.backend {
            TerminalChoice::Ready(backend) => {
                if backend.kind() == BackendKind::Local {
                    tracing::warn!(%pad, "starting a LOCAL terminal: a shell on the host without isolation");
                }
                backend
                    .start(&self.inner.limits, &Self::container_key(pad), files, size)
                    .await
            }
            TerminalChoice::Unavailable(why) => Err(SandboxError::Unavailable(why.clone())),
        }
    }

    /// The pad's terminal task, started (holding `lease`) if there is none.
    fn get_or_spawn(&self, state: &AppState, pad: PadId, lease: PadLease) -> mpsc::Sender<Cmd> {
        let mut registry = self.registry();
        if let Some((_, tx)) = registry.get(&pad) {
            if !tx.is_closed() {
                return tx.clone();
            }
        }
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = session::command_channel();
        registry.insert(pad, (id, tx.clone()));
        let terminal =
            PadTerminal::new(state.clone(), self.clone(), pad, id, tx.clone(), rx, lease);
        state.tasks.spawn(terminal.run());
        tx
    }

    pub(crate) fn links(&self) -> MutexGuard<'_, HashMap<ConnId, mpsc::Sender<LinkIn>>> {
        self.inner
            .links
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn relayed(
        &self,
    ) -> MutexGuard<'_, HashMap<(String, ConnId), mpsc::Sender<RelayIn>>> {
        self.inner
            .relayed
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn unregister(&self, pad: PadId, id: u64) {
        let mut registry = self.registry();
        if registry
            .get(&pad)
            .is_some_and(|(current, _)| *current == id)
        {
            registry.remove(&pad);
        }
    }

    fn existing(&self, pad: PadId) -> Option<mpsc::Sender<Cmd>> {
        self.registry().get(&pad).map(|(_, tx)| tx.clone())
    }

    /// Join the pad's terminal (starting it on first use by a role that may type). `missed` is
    /// the socket's subscription to domain events, taken before its role was read: whatever
    /// concerning it arrived since is applied once the socket has joined.
    pub async fn join(
        &self,
        state: &AppState,
        pad: PadId,
        conn: ConnId,
        user: UserId,
        role: Role,
        missed: broadcast::Receiver<DomainEvent>,
    ) -> Result<Joined, CloseReason> {
        let socket = self.claim_socket(user).ok_or(CLOSE_USER_TOO_MANY)?;
        let joined = self
            .join_terminal(state, pad, conn, user, role, socket)
            .await?;
        self.apply_missed(&joined, pad, user, missed).await;
        Ok(joined)
    }

    /// Forward the access changes that reached `missed` while the socket was joining; the pad's
    /// terminal applies them as it would have, had the socket already been there.
    async fn apply_missed(
        &self,
        joined: &Joined,
        pad: PadId,
        user: UserId,
        mut missed: broadcast::Receiver<DomainEvent>,
    ) {
        loop {
            let cmd = match missed.try_recv() {
                Ok(DomainEvent::MemberChanged {
                    pad: p,
                    user: u,
                    role,
                }) if p == pad && u == user => Cmd::Member { user, role },
                Ok(DomainEvent::UserRevoked { user: u }) if u == user => Cmd::UserRevoked { user },
                Ok(DomainEvent::PadDeleted { pad: p }) if p == pad => Cmd::PadDeleted,
                Ok(DomainEvent::Resync) => Cmd::RecheckRoles,
                Ok(_) => continue,
                Err(broadcast::error::TryRecvError::Lagged(_)) => Cmd::RecheckRoles,
                Err(_) => return,
            };
            if !joined.send(cmd).await {
                return;
            }
        }
    }

    /// Join the pad's terminal where it runs: here when this node owns the pad (or takes it now),
    /// else through the owner over the bus (`relay`).
    async fn join_terminal(
        &self,
        state: &AppState,
        pad: PadId,
        conn: ConnId,
        user: UserId,
        role: Role,
        socket: SocketSlot,
    ) -> Result<Joined, CloseReason> {
        let claim = state.ownership.claim(pad).await.map_err(|err| {
            tracing::error!(error = %err, %pad, "reading the pad's lease failed");
            session::CLOSE_INTERNAL
        })?;
        match claim {
            Claim::Owned(lease) => {
                let (out_tx, out) = mpsc::channel(session::CLIENT_QUEUE);
                let (tx, close) = self
                    .attach(state, pad, conn, user, role, out_tx, lease)
                    .await?;
                Ok(Joined {
                    conn,
                    out,
                    close,
                    tx,
                    _socket: Some(socket),
                })
            }
            Claim::Elsewhere(owner) => {
                Ok(relay::join_remote(state, pad, conn, user, owner, socket))
            }
        }
    }

    /// Join the socket `conn` to this node's terminal of the pad (spawned holding `lease` if
    /// there is none): its commands go to the returned sender, its output to `out`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn attach(
        &self,
        state: &AppState,
        pad: PadId,
        conn: ConnId,
        user: UserId,
        role: Role,
        out: mpsc::Sender<Out>,
        lease: PadLease,
    ) -> Result<(mpsc::Sender<Cmd>, oneshot::Receiver<CloseReason>), CloseReason> {
        let mut lease = Some(lease);
        for _ in 0..5 {
            let tx = match lease.take() {
                Some(lease) => self.get_or_spawn(state, pad, lease),
                // A retry: the terminal that ended gave its lease back with it.
                None => match state.ownership.claim(pad).await {
                    Ok(Claim::Owned(lease)) => self.get_or_spawn(state, pad, lease),
                    Ok(Claim::Elsewhere(_)) => return Err(session::CLOSE_MOVED),
                    Err(_) => return Err(session::CLOSE_INTERNAL),
                },
            };
            let (close_tx, close) = oneshot::channel();
            let (ack_tx, ack) = oneshot::channel();
            let cmd = Cmd::Join {
                conn,
                user,
                role,
                out: out.clone(),
                close: close_tx,
                ack: ack_tx,
            };
            if tx.send(cmd).await.is_err() {
                continue;
            }
            match ack.await {
                Ok(Ok(())) => return Ok((tx, close)),
                Ok(Err(reason)) => return Err(reason),
                Err(_) => continue, // the terminal was ending; a fresh one is spawned
            }
        }
        Err(session::CLOSE_INTERNAL)
    }

    /// `POST …/terminal/restart` by `user`: a fresh container for the pad's open terminal.
    pub async fn restart(&self, pad: PadId, user: UserId) -> AppResult<()> {
        let not_open =
            || AppError::conflict("terminal_not_open", "nobody has this pad's terminal open");
        let tx = self.existing(pad).ok_or_else(not_open)?;
        let (reply, answer) = oneshot::channel();
        let by = session::Requester::Api(user);
        tx.send(Cmd::Restart {
            by,
            reply: Some(reply),
        })
        .await
        .map_err(|_| not_open())?;
        answer.await.map_err(|_| not_open())?
    }

    /// `POST …/terminal/sync-files`: write the pad's current files into the running workspace.
    pub async fn sync_files(&self, pad: PadId) -> AppResult<usize> {
        let not_running =
            || AppError::conflict("terminal_not_running", "the terminal is not running");
        let tx = self.existing(pad).ok_or_else(not_running)?;
        let (reply, answer) = oneshot::channel();
        tx.send(Cmd::SyncFiles { reply })
            .await
            .map_err(|_| not_running())?;
        answer.await.map_err(|_| not_running())?
    }

    fn all(&self) -> Vec<mpsc::Sender<Cmd>> {
        self.registry().values().map(|(_, tx)| tx.clone()).collect()
    }

    /// Carry one domain event to the terminals it concerns (SPEC §3: at once).
    pub(crate) async fn on_event(&self, event: DomainEvent) {
        match event {
            DomainEvent::MemberChanged { pad, user, role } => {
                if let Some(tx) = self.existing(pad) {
                    let _ = tx.send(Cmd::Member { user, role }).await;
                }
            }
            DomainEvent::UserRevoked { user } => {
                for tx in self.all() {
                    let _ = tx.send(Cmd::UserRevoked { user }).await;
                }
            }
            DomainEvent::PadDeleted { pad } => {
                if let Some(tx) = self.existing(pad) {
                    let _ = tx.send(Cmd::PadDeleted).await;
                }
            }
            // A switch may have closed the terminal to candidates: roles are re-read on next input.
            DomainEvent::InterviewChanged { pad } => {
                if let Some(tx) = self.existing(pad) {
                    let _ = tx.send(Cmd::RecheckRoles).await;
                }
            }
            DomainEvent::Resync => self.recheck_all_roles().await,
            DomainEvent::PadChanged { .. }
            | DomainEvent::FilesChanged { .. }
            | DomainEvent::IntegrityReported { .. } => {}
        }
    }

    /// Events may have been missed: every terminal re-reads its sockets' roles.
    async fn recheck_all_roles(&self) {
        for tx in self.all() {
            let _ = tx.send(Cmd::RecheckRoles).await;
        }
    }

    /// Ends every terminal (closing sockets with 1001) and removes every session container.
    pub async fn shutdown(&self) {
        let mut waits = Vec::new();
        for tx in self.all() {
            let (done, wait) = oneshot::channel();
            if tx.send(Cmd::Shutdown { done }).await.is_ok() {
                waits.push(wait);
            }
        }
        for wait in waits {
            let _ = tokio::time::timeout(Duration::from_secs(15), wait).await;
        }
        if let TerminalChoice::Ready(backend) = &self.inner.backend {
            if let Err(err) = backend.remove_all().await {
                tracing::warn!(error = %err, "could not remove terminal containers at shutdown");
            }
        }
    }
}

/// Domain events → terminals, and the shutdown clean-up; on `state.tasks` so shutdown waits.
pub fn spawn_background(state: &AppState) {
    let state = state.clone();
    let mut events = state.bus.subscribe();
    let tasks = state.tasks.clone();
    tasks.spawn(async move {
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                received = events.recv() => match received {
                    Ok(event) => state.terminals.on_event(event).await,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "terminals lagged behind domain events; re-checking roles");
                        state.terminals.recheck_all_roles().await;
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
        state.terminals.shutdown().await;
    });
}
