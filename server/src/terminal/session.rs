//! One shared terminal per pad (SPEC §6), like a shared tmux: one shell in one session container,
//! every client on the pad sees the same output, only roles that may run code type into it.
//!
//! Each live pad terminal is a task (`PadTerminal::run`) that owns all of its state and is
//! driven by commands: clients joining, leaving, typing and resizing (from their sockets),
//! restarts and file syncs (REST), output and exit (from the session's pump), access changes
//! (domain events), deletion and shutdown. Nothing here blocks on Docker: starting, writing to and
//! closing the session happen in helper tasks that report back with commands.
//!
//! Rules, checked on every message against the client's *current* role (kept current by
//! `DomainEvent::MemberChanged`; re-read from the database after the event bus lagged):
//! - input from a role without `can_edit` is refused with an `error` message (at most one per
//!   second per client), the socket stays open; a kick closes the socket with 4003;
//! - the most recent typist's size wins (before anyone typed: the latest size a typing-capable
//!   client sent); everyone is told with a `size` message;
//! - output passes a per-terminal token bucket (`TERMINAL_OUTPUT_BYTES_PER_SEC`): beyond it
//!   the shell is paused, never buffered; each client has a bounded queue and a client that
//!   falls that far behind is disconnected (1013);
//! - the container starts on the first join of a role that may type (a viewer alone never causes
//!   one: it is told the terminal is not running), and is destroyed `TERMINAL_GRACE_MS` after
//!   the last client left, after `TERMINAL_IDLE_MS` without input, after `TERMINAL_MAX_MS`, on
//!   pad deletion and on shutdown;
//! - every start first claims a container place (`Terminals::claim_container`: the global
//!   terminal cap and the starter's per-user places shared with runs), held until the container
//!   is removed; at most one container creation is in flight per pad (a start wanted meanwhile
//!   waits for it), and restarts asked for by clients come at most once per [`RESTART_DEBOUNCE`];
//! - when someone who typed into the current shell is kicked or loses the right to type, the
//!   shell is replaced at once (debounce or not) so nothing they left running survives.
//!
//! Split by job: `clients` (what each client is told, leaving), `commands` (joins, restarts, file
//! syncs and access changes), `container` (start, stop,
//! restart and replacement of the session container) and `byte_bucket` (the output pump's
//! pace); the actor loop and input stay here.
//!
//! Must not: log or record input.

mod byte_bucket;
mod clients;
mod commands;
mod container;
mod protocol;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use oc_sandbox::{SandboxError, SourceFile, TermSize, TerminalEvent, TerminalSession};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::record::OutputRecorder;
use super::scrollback::Scrollback;
use super::{ContainerSlot, Terminals};
use crate::cluster::PadLease;
use crate::db::{PadId, UserId};
use crate::error::{AppError, AppResult};
use crate::pads::roles::Role;
use crate::AppState;

pub use protocol::*;
use protocol::{error_message, role_message, text};

/// Identifies one terminal socket.
pub type ConnId = u64;

/// Outbound messages queued per client before it counts as too slow (1013).
pub const CLIENT_QUEUE: usize = 128;
/// Terminal sockets per pad.
pub const MAX_CLIENTS_PER_PAD: usize = 64;
/// Terminal sockets per user, across pads.
pub const MAX_SOCKETS_PER_USER: usize = 8;
/// A pad's terminal is (re)started at most once per this long on request (socket or REST);
/// requests in between are refused (`restart_too_soon`) without touching Docker.
pub const RESTART_DEBOUNCE: Duration = Duration::from_secs(2);
/// Input kept while the container is still starting (the first keystrokes after opening).
pub const PENDING_INPUT_BYTES: usize = 4096;
/// Input chunks queued for the shell; beyond it input is refused (`input_busy`).
const INPUT_QUEUE: usize = 64;
/// Commands queued for a pad terminal.
const COMMAND_QUEUE: usize = 256;
/// Refusals (`read_only`, `not_running`) sent to one client at most this often.
const REFUSAL_EVERY: Duration = Duration::from_secs(1);

/// Why a pad's terminal has no container yet, as viewers who open it are told.
const NOT_STARTED: &str =
    "the terminal is not running; it starts when someone who may type opens it";
/// Shown in the shell's output when it is replaced.
const RESTARTED_NOTICE: &[u8] = b"\r\n\x1b[2m[terminal restarted]\x1b[0m\r\n";
const REPLACED_NOTICE: &[u8] =
    b"\r\n\x1b[2m[terminal restarted: someone who typed here lost access]\x1b[0m\r\n";

/// Why a requested restart did not happen.
enum RestartRefused {
    /// Within [`RESTART_DEBOUNCE`] of the last start; retry after this long.
    TooSoon(Duration),
    /// No container place (the message says which cap).
    NoContainer(String),
}

impl RestartRefused {
    fn too_soon_message() -> String {
        format!(
            "the terminal was just (re)started; restart it at most once per {} s",
            RESTART_DEBOUNCE.as_secs()
        )
    }

    fn into_app_error(self) -> AppError {
        match self {
            RestartRefused::TooSoon(wait) => AppError::RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil() as u64,
                message: Self::too_soon_message(),
            },
            RestartRefused::NoContainer(message) => AppError::RateLimited {
                retry_after_secs: 1,
                message,
            },
        }
    }
}

/// Who asked for a restart.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Requester {
    /// A terminal socket (its role is checked by the pad terminal).
    Socket(ConnId),
    /// `POST …/terminal/restart` (the route checked the role).
    Api(UserId),
}

pub(crate) enum Cmd {
    Join {
        conn: ConnId,
        user: UserId,
        role: Role,
        out: mpsc::Sender<Out>,
        close: oneshot::Sender<CloseReason>,
        ack: oneshot::Sender<Result<(), CloseReason>>,
    },
    Leave {
        conn: ConnId,
    },
    Input {
        conn: ConnId,
        bytes: Bytes,
    },
    Resize {
        conn: ConnId,
        size: TermSize,
    },
    Restart {
        by: Requester,
        reply: Option<oneshot::Sender<AppResult<()>>>,
    },
    SyncFiles {
        reply: oneshot::Sender<AppResult<usize>>,
    },
    Started {
        gen: u64,
        result: Result<(TerminalSession, mpsc::Receiver<TerminalEvent>), SandboxError>,
        slot: ContainerSlot,
    },
    Output {
        gen: u64,
        bytes: Bytes,
    },
    Exited {
        gen: u64,
        code: Option<i64>,
    },
    Member {
        user: UserId,
        role: Option<Role>,
    },
    UserRevoked {
        user: UserId,
    },
    RecheckRoles,
    PadDeleted,
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

enum InputItem {
    Bytes(Bytes),
    Resize(TermSize),
}

struct Client {
    user: UserId,
    role: Role,
    role_stale: bool,
    out: mpsc::Sender<Out>,
    close: Option<oneshot::Sender<CloseReason>>,
    size: Option<TermSize>,
    last_refusal: Option<Instant>,
}

enum Phase {
    /// Nothing started yet (the first join starts it).
    New,
    Starting {
        gen: u64,
        since: Instant,
        pending: Vec<u8>,
    },
    Running {
        gen: u64,
        since: Instant,
        session: Arc<TerminalSession>,
        input: mpsc::Sender<InputItem>,
        slot: ContainerSlot,
    },
    Stopped(Status),
}

pub(crate) struct PadTerminal {
    state: AppState,
    terminals: Terminals,
    pad: PadId,
    /// This task's registration id (a pad's next terminal task gets a new one).
    id: u64,
    tx: mpsc::Sender<Cmd>,
    rx: mpsc::Receiver<Cmd>,
    clients: HashMap<ConnId, Client>,
    scrollback: Scrollback,
    size: TermSize,
    typist: Option<ConnId>,
    phase: Phase,
    gen: u64,
    last_input: Instant,
    empty_since: Option<Instant>,
    recorder: OutputRecorder,
    /// A container creation is running (at most one per pad).
    in_flight: bool,
    /// The place of a start wanted while another creation was in flight; it begins when that
    /// one reports.
    queued: Option<ContainerSlot>,
    /// When the current container was asked for (restarts are debounced against it).
    last_start: Option<Instant>,
    /// Users whose input reached the current shell.
    typed: HashSet<UserId>,
    /// This node's ownership of the pad: the terminal ends when another node takes it over, and
    /// its recorded output carries the lease's fence.
    lease: PadLease,
}

pub(crate) fn command_channel() -> (mpsc::Sender<Cmd>, mpsc::Receiver<Cmd>) {
    mpsc::channel(COMMAND_QUEUE)
}

/// The pad's current files, as the session's workspace gets them (names from the file list,
/// contents from the live document).
pub(crate) async fn pad_files(state: &AppState, pad: PadId) -> AppResult<Vec<SourceFile>> {
    let listed = crate::pads::files_store::list(&state.db, pad).await?;
    let doc = state
        .docs
        .open(pad)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let texts = doc.file_texts().await;
    Ok(listed
        .into_iter()
        .map(|f| {
            let content = texts.get(&f.id).cloned().unwrap_or_default().into_bytes();
            SourceFile {
                name: f.name,
                content,
            }
        })
        .collect())
}

fn sandbox_error(err: SandboxError) -> AppError {
    match err {
        SandboxError::Unavailable(message) => AppError::Unavailable {
            code: "terminal_unavailable",
            message,
        },
        SandboxError::TooLarge { what, limit, .. } => {
            AppError::too_large(format!("{what} over {limit} bytes"))
        }
        SandboxError::InvalidFileName(name) => AppError::invalid(
            "invalid_file_name",
            format!("file name {name:?} cannot be placed in the terminal"),
        ),
        SandboxError::InvalidRequest(message) => AppError::invalid("invalid_request", message),
        other => AppError::Internal(anyhow::anyhow!(other.to_string())),
    }
}

impl PadTerminal {
    pub(crate) fn new(
        state: AppState,
        terminals: Terminals,
        pad: PadId,
        id: u64,
        tx: mpsc::Sender<Cmd>,
        rx: mpsc::Receiver<Cmd>,
        lease: PadLease,
    ) -> PadTerminal {
        let recorder = OutputRecorder::new(
            state.db.clone(),
            lease.fence(),
            pad,
            terminals.record_budget(),
            &state.tasks,
        );
        PadTerminal {
            state,
            terminals,
            pad,
            id,
            tx,
            rx,
            clients: HashMap::new(),
            scrollback: Scrollback::default(),
            size: TermSize::default(),
            typist: None,
            phase: Phase::New,
            gen: 0,
            last_input: Instant::now(),
            empty_since: Some(Instant::now()),
            recorder,
            in_flight: false,
            queued: None,
            last_start: None,
            typed: HashSet::new(),
            lease,
        }
    }

    /// The size the current typist (or, before anyone typed, the latest typing-capable client)
    /// asked for.
    fn typist_size(&self) -> Option<TermSize> {
        self.typist
            .and_then(|t| self.clients.get(&t))
            .and_then(|c| c.size)
    }

    async fn current_role(&mut self, conn: ConnId) -> Option<Role> {
        let client = self.clients.get(&conn)?;
        if !client.role_stale {
            return Some(client.role);
        }
        let user = client.user;
        match crate::interviews::switches::terminal_role(&self.state.db, self.pad, user).await {
            Ok(Some(role)) => {
                if let Some(client) = self.clients.get_mut(&conn) {
                    client.role = role;
                    client.role_stale = false;
                }
                Some(role)
            }
            Ok(None) => {
                self.drop_client(conn, Some(CLOSE_FORBIDDEN));
                self.on_typing_right_lost(user);
                None
            }
            Err(err) => {
                tracing::error!(error = %err, "re-reading the role failed");
                None
            }
        }
    }

    fn on_input(&mut self, conn: ConnId, role: Role, bytes: Bytes) {
        if !role.can_edit() {
            self.refuse(
                conn,
                "read_only",
                "your role may watch the terminal but not type in it",
            );
            return;
        }
        if self.typist != Some(conn) {
            self.typist = Some(conn);
            if let Some(size) = self.typist_size() {
                self.apply_size(size);
            }
        }
        self.last_input = Instant::now();
        let Some(user) = self.clients.get(&conn).map(|c| c.user) else {
            return;
        };
        match &mut self.phase {
            Phase::Running { input, .. } => match input.try_send(InputItem::Bytes(bytes)) {
                Ok(()) => {
                    self.typed.insert(user);
                }
                Err(_) => self.refuse(
                    conn,
                    "input_busy",
                    "the terminal is not taking input right now",
                ),
            },
            Phase::Starting { pending, .. } => {
                if pending.len() + bytes.len() <= PENDING_INPUT_BYTES {
                    pending.extend_from_slice(&bytes);
                    self.typed.insert(user);
                } else {
                    self.refuse(conn, "input_busy", "the terminal is still starting");
                }
            }
            Phase::New | Phase::Stopped(_) => self.refuse(
                conn,
                "not_running",
                "the terminal is not running; restart it to get a new shell",
            ),
        }
    }

    fn on_resize(&mut self, conn: ConnId, size: TermSize) {
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        client.size = Some(size);
        let may_drive = client.role.can_edit();
        let typist_present = self.typist.is_some_and(|t| self.clients.contains_key(&t));
        if may_drive && (self.typist == Some(conn) || !typist_present) {
            if !typist_present {
                self.typist = Some(conn);
            }
            self.apply_size(size);
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let settings = self.terminals.settings();
        let mut next = self.recorder.due();
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        match &self.phase {
            Phase::Running { since, .. } | Phase::Starting { since, .. } => {
                consider(self.last_input + settings.idle);
                consider(*since + settings.max_lifetime);
            }
            Phase::New | Phase::Stopped(_) => {}
        }
        if let Some(since) = self.empty_since {
            consider(since + settings.grace);
        }
        next
    }

    /// Returns `true` when the terminal should end (nobody left after the grace period).
    fn on_timer(&mut self, now: Instant) -> bool {
        let settings = self.terminals.settings().clone();
        if self.recorder.due().is_some_and(|d| d <= now) {
            self.recorder.flush();
        }
        if let Phase::Running { since, .. } | Phase::Starting { since, .. } = &self.phase {
            let since = *since;
            if now >= since + settings.max_lifetime {
                tracing::info!(pad = %self.pad, "terminal reached its maximum lifetime");
                self.stop(Status::MaxLifetime);
            } else if now >= self.last_input + settings.idle {
                tracing::info!(pad = %self.pad, "terminal idle; destroying its container");
                self.stop(Status::IdleTimeout);
            }
        }
        self.empty_since
            .is_some_and(|since| self.clients.is_empty() && now >= since + settings.grace)
    }

    /// The task: handle commands and timers until the terminal ends.
    pub(crate) async fn run(mut self) {
        loop {
            let deadline = self.next_deadline();
            let cmd = tokio::select! {
                cmd = self.rx.recv() => cmd,
                _ = self.lease.lost() => {
                    self.close_all(CLOSE_MOVED);
                    break;
                }
                _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)).await }, if deadline.is_some() => {
                    if self.on_timer(Instant::now()) {
                        break;
                    }
                    continue;
                }
            };
            let Some(cmd) = cmd else { break };
            match cmd {
                Cmd::Join {
                    conn,
                    user,
                    role,
                    out,
                    close,
                    ack,
                } => self.on_join(conn, user, role, out, close, ack),
                Cmd::Leave { conn } => self.drop_client(conn, None),
                Cmd::Input { conn, bytes } => {
                    if let Some(role) = self.current_role(conn).await {
                        self.on_input(conn, role, bytes);
                    }
                }
                Cmd::Resize { conn, size } => {
                    if self.current_role(conn).await.is_some() {
                        self.on_resize(conn, size);
                    }
                }
                Cmd::Restart { by, reply } => self.on_restart(by, reply).await,
                Cmd::SyncFiles { reply } => self.on_sync_files(reply),
                Cmd::Started { gen, result, slot } => self.on_started(gen, result, slot),
                Cmd::Output { gen, bytes } => {
                    if matches!(&self.phase, Phase::Running { gen: g, .. } if *g == gen) {
                        self.scrollback.push(&bytes);
                        self.recorder.push(&bytes, Instant::now());
                        self.broadcast(Out::Binary(bytes));
                    }
                }
                Cmd::Exited { gen, code } => {
                    if matches!(&self.phase, Phase::Running { gen: g, .. } if *g == gen) {
                        self.stop(Status::Exited { code, error: None });
                    }
                }
                Cmd::Member { user, role } => self.on_member(user, role),
                Cmd::UserRevoked { user } => self.on_user_revoked(user).await,
                Cmd::RecheckRoles => {
                    for client in self.clients.values_mut() {
                        client.role_stale = true;
                    }
                }
                Cmd::PadDeleted => {
                    self.close_all(CLOSE_PAD_DELETED);
                    break;
                }
                Cmd::Shutdown { done } => {
                    self.close_all(CLOSE_SHUTDOWN);
                    self.finish().await;
                    let _ = done.send(());
                    return;
                }
            }
        }
        self.finish().await;
    }

    /// Unregister, answer whatever is still queued, and remove the container.
    async fn finish(&mut self) {
        self.terminals.unregister(self.pad, self.id);
        self.rx.close();
        while let Ok(cmd) = self.rx.try_recv() {
            match cmd {
                // (The slot is given back after the container is gone.)
                Cmd::Started {
                    result: Ok((session, _)),
                    slot: _slot,
                    ..
                } => session.close().await,
                Cmd::Restart {
                    reply: Some(reply), ..
                } => {
                    let _ = reply.send(Err(AppError::conflict(
                        "terminal_not_open",
                        "nobody has this pad's terminal open",
                    )));
                }
                Cmd::SyncFiles { reply } => {
                    let _ = reply.send(Err(AppError::conflict(
                        "terminal_not_running",
                        "the terminal is not running",
                    )));
                }
                Cmd::Shutdown { done } => {
                    let _ = done.send(());
                }
                // A join that raced the end is retried by the joiner (its ack is dropped).
                _ => {}
            }
        }
        self.recorder.flush();
        self.queued = None;
        if let Phase::Running {
            session,
            slot: _slot,
            ..
        } = std::mem::replace(&mut self.phase, Phase::New)
        {
            session.close().await;
        }
        tracing::debug!(pad = %self.pad, "terminal ended");
    }
}
