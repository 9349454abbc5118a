//! The shared terminal across nodes: one shell per pad in the cluster, on the pad's owner
//! (`cluster`). A terminal socket on another node is *linked* to the owner's terminal over the
//! bus (`NodeMessage::Terminal*`): its input, resizes and restarts go to the owner, which joins it
//! to the pad terminal like a socket of its own (reading the role itself) and sends back what that
//! terminal sends it — the socket's protocol does not change.
//!
//! - The socket's node sends a keepalive every [`RENEW_EVERY`]; the owner drops a relayed socket
//!   silent for [`SILENT_AFTER`] (its node died).
//! - Every [`RENEW_EVERY`] a link checks that its owner still holds the pad. When the owner's
//!   lease has expired (it died or hangs), the link takes the pad over (or follows whoever did),
//!   tells its client the terminal restarted, and joins the new owner's terminal: a new shell
//!   starts there as on a first open. The old container is removed by its own node's start-up
//!   sweep when that node comes back (containers carry their node's id).
//! - An owner that loses its lease closes its terminal's sockets with 1012 (`CLOSE_MOVED`); the
//!   clients reconnect and reach the new owner.

use std::time::Duration;

use axum::body::Bytes;
use oc_sandbox::TermSize;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::session::{self, CloseReason, Cmd, Out, Requester, CLOSE_MOVED, CLOSE_REASONS};
use super::{ConnId, Joined, SocketSlot};
use crate::bus::{Direct, NodeMessage, Raw};
use crate::cluster::{Claim, LEASE_TTL, RENEW_EVERY};
use crate::db::{PadId, UserId};
use crate::AppState;

/// A relayed socket the owner has not heard from for this long is dropped.
pub const SILENT_AFTER: Duration = LEASE_TTL;
/// Messages from a relayed socket queued for the owner's terminal; past this, input is dropped
/// (the socket's own rate limit keeps it far below).
const RELAY_QUEUE: usize = 256;
/// Shown to a linked socket when its owner died and the terminal starts over on another node.
const TAKEN_OVER_NOTICE: &[u8] =
    b"\r\n\x1b[2m[terminal restarted: its server went away]\x1b[0m\r\n";

/// What reaches a link (on the socket's node) from the owner.
pub(crate) enum LinkIn {
    Out(Out),
    Close(CloseReason),
}

/// What reaches a relayed socket (on the owner) from the socket's node.
pub(crate) enum RelayIn {
    Input(Bytes),
    Resize(TermSize),
    Restart,
    Keepalive,
    Leave,
}

/// The close reason a relayed code and text stand for.
fn close_reason(code: u16, reason: &str) -> CloseReason {
    CLOSE_REASONS
        .into_iter()
        .find(|known| known.0 == code && known.1 == reason)
        .unwrap_or((code, "closed by the terminal's server"))
}

/// Join a socket of this node to the terminal `owner` runs.
pub(crate) fn join_remote(
    state: &AppState,
    pad: PadId,
    conn: ConnId,
    user: UserId,
    owner: String,
    socket: SocketSlot,
) -> Joined {
    let (tx, commands) = session::command_channel();
    let (out_tx, out) = mpsc::channel(session::CLIENT_QUEUE);
    let (close_tx, close) = oneshot::channel();
    let (link_tx, incoming) = mpsc::channel(session::CLIENT_QUEUE);
    state.terminals.links().insert(conn, link_tx);
    let link = Link {
        state: state.clone(),
        pad,
        conn,
        user,
        out: out_tx,
        close: Some(close_tx),
        at: At::Remote(owner),
    };
    link.join();
    state.tasks.spawn(link.run(commands, incoming));
    Joined {
        conn,
        out,
        close,
        tx,
        _socket: Some(socket),
    }
}

/// Where a link's terminal is.
enum At {
    /// On another node (its bus id).
    Remote(String),
    /// Here, after this node took the pad over: commands go to its terminal task.
    Local {
        tx: mpsc::Sender<Cmd>,
        close: oneshot::Receiver<CloseReason>,
    },
}

struct Link {
    state: AppState,
    pad: PadId,
    conn: ConnId,
    user: UserId,
    out: mpsc::Sender<Out>,
    close: Option<oneshot::Sender<CloseReason>>,
    at: At,
}

impl Link {
    fn send(&self, message: NodeMessage) {
        if let At::Remote(owner) = &self.at {
            self.state.bus.send(Some(owner), message);
        }
    }

    fn join(&self) {
        self.send(NodeMessage::TerminalJoin {
            pad: self.pad,
            conn: self.conn,
            user: self.user,
        });
    }

    fn close(&mut self, reason: CloseReason) {
        if let Some(close) = self.close.take() {
            let _ = close.send(reason);
        }
    }

    /// Pass one command of the socket on; `false` when the socket left.
    async fn forward(&self, cmd: Cmd) -> bool {
        let (pad, conn) = (self.pad, self.conn);
        match &self.at {
            At::Local { tx, .. } => {
                let leaving = matches!(cmd, Cmd::Leave { .. });
                tx.send(cmd).await.is_ok() && !leaving
            }
            At::Remote(_) => {
                match cmd {
                    Cmd::Input { bytes, .. } => self.send(NodeMessage::TerminalInput {
                        pad,
                        conn,
                        data: Raw(bytes),
                    }),
                    Cmd::Resize { size, .. } => self.send(NodeMessage::TerminalResize {
                        pad,
                        conn,
                        cols: size.cols.into(),
                        rows: size.rows.into(),
                    }),
                    Cmd::Restart { .. } => self.send(NodeMessage::TerminalRestart { pad, conn }),
                    Cmd::Leave { .. } => return false,
                    // Access changes reach the owner as domain events; it applies them itself.
                    _ => {}
                }
                true
            }
        }
    }

    /// The owner no longer holds the pad: take it over, or follow whoever did. `false` when the
    /// socket had to be closed.
    async fn follow_owner(&mut self) -> bool {
        let At::Remote(owner) = &self.at else {
            return true;
        };
        match self.state.ownership.owner_of(self.pad).await {
            Ok(Some(current)) if &current == owner => return true,
            Ok(_) => {}
            // The database is unreachable: keep the link and look again at the next round.
            Err(_) => return true,
        }
        let claim = match self.state.ownership.claim(self.pad).await {
            Ok(claim) => claim,
            Err(_) => return true,
        };
        match claim {
            Claim::Elsewhere(next) if next.is_empty() => true,
            Claim::Elsewhere(next) => {
                self.at = At::Remote(next);
                let _ = self
                    .out
                    .try_send(Out::Binary(Bytes::from_static(TAKEN_OVER_NOTICE)));
                self.join();
                true
            }
            Claim::Owned(lease) => {
                let role = match crate::pads::store::member_role(
                    &self.state.db,
                    self.pad,
                    self.user,
                )
                .await
                {
                    Ok(Some(role)) => role,
                    Ok(None) => {
                        self.close(session::CLOSE_FORBIDDEN);
                        return false;
                    }
                    Err(_) => return true,
                };
                let _ = self
                    .out
                    .try_send(Out::Binary(Bytes::from_static(TAKEN_OVER_NOTICE)));
                let terminals = self.state.terminals.clone();
                match terminals
                    .attach(
                        &self.state,
                        self.pad,
                        self.conn,
                        self.user,
                        role,
                        self.out.clone(),
                        lease,
                    )
                    .await
                {
                    Ok((tx, close)) => {
                        self.at = At::Local { tx, close };
                        true
                    }
                    Err(reason) => {
                        self.close(reason);
                        false
                    }
                }
            }
        }
    }

    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Cmd>,
        mut incoming: mpsc::Receiver<LinkIn>,
    ) {
        let mut check = tokio::time::interval_at(Instant::now() + RENEW_EVERY, RENEW_EVERY);
        let shutdown = self.state.shutdown.clone();
        loop {
            let at = &mut self.at;
            let local_close = async move {
                match at {
                    At::Local { close, .. } => close.await.unwrap_or(session::CLOSE_INTERNAL),
                    At::Remote(_) => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = commands.recv() => {
                    let Some(cmd) = cmd else { break };
                    if !self.forward(cmd).await {
                        break;
                    }
                }
                received = incoming.recv() => match received {
                    Some(LinkIn::Out(message)) => {
                        if self.out.try_send(message).is_err() {
                            self.close(session::CLOSE_TOO_SLOW);
                            break;
                        }
                    }
                    Some(LinkIn::Close(reason)) => {
                        self.close(reason);
                        break;
                    }
                    None => break,
                },
                reason = local_close => {
                    self.close(reason);
                    break;
                }
                _ = check.tick() => {
                    self.send(NodeMessage::TerminalKeepalive { pad: self.pad, conn: self.conn });
                    if !self.follow_owner().await {
                        break;
                    }
                }
                _ = shutdown.cancelled() => break,
            }
        }
        self.state.terminals.links().remove(&self.conn);
        match &self.at {
            At::Remote(_) => self.send(NodeMessage::TerminalLeave {
                pad: self.pad,
                conn: self.conn,
            }),
            At::Local { tx, .. } => {
                let _ = tx.send(Cmd::Leave { conn: self.conn }).await;
            }
        }
    }
}

/// On the owner: a socket of node `from` joins this node's terminal of the pad. What the socket
/// sends meanwhile waits in `relayed` (registered by `dispatch` before this starts).
async fn serve_relayed(
    state: AppState,
    from: String,
    pad: PadId,
    conn: ConnId,
    user: UserId,
    mut relayed: mpsc::Receiver<RelayIn>,
) {
    let key = (from.clone(), conn);
    serve_joined(&state, &from, pad, conn, user, &mut relayed).await;
    state.terminals.relayed().remove(&key);
}

async fn serve_joined(
    state: &AppState,
    from: &str,
    pad: PadId,
    conn: ConnId,
    user: UserId,
    relayed: &mut mpsc::Receiver<RelayIn>,
) {
    let reply = |message: NodeMessage| state.bus.send(Some(from), message);
    let refuse = |(code, reason): CloseReason| {
        reply(NodeMessage::TerminalClose {
            conn,
            code,
            reason: reason.into(),
        })
    };
    let role = match crate::pads::store::member_role(&state.db, pad, user).await {
        Ok(Some(role)) => role,
        Ok(None) => return refuse(session::CLOSE_FORBIDDEN),
        Err(_) => return refuse(session::CLOSE_INTERNAL),
    };
    let lease = match state.ownership.claim(pad).await {
        Ok(Claim::Owned(lease)) => lease,
        Ok(Claim::Elsewhere(_)) => return refuse(CLOSE_MOVED),
        Err(_) => return refuse(session::CLOSE_INTERNAL),
    };
    // Its own id here: socket ids of different nodes may collide.
    let local = state.rooms.next_conn_id();
    let (out_tx, mut out) = mpsc::channel(session::CLIENT_QUEUE);
    let (tx, mut close) = match state
        .terminals
        .attach(state, pad, local, user, role, out_tx, lease)
        .await
    {
        Ok(joined) => joined,
        Err(reason) => return refuse(reason),
    };
    let mut silent_since = Instant::now();
    loop {
        tokio::select! {
            biased;
            reason = &mut close => {
                refuse(reason.unwrap_or(session::CLOSE_INTERNAL));
                break;
            }
            message = out.recv() => match message {
                Some(Out::Binary(bytes)) => reply(NodeMessage::TerminalOutput { conn, binary: true, data: Raw(bytes) }),
                Some(Out::Text(text)) => reply(NodeMessage::TerminalOutput { conn, binary: false, data: Raw(Bytes::from(text)) }),
                // The terminal let the socket go: with its reason, sent just before.
                None => {
                    refuse(close.try_recv().unwrap_or(session::CLOSE_INTERNAL));
                    break;
                }
            },
            received = relayed.recv() => {
                silent_since = Instant::now();
                let cmd = match received {
                    Some(RelayIn::Input(bytes)) => Cmd::Input { conn: local, bytes },
                    Some(RelayIn::Resize(size)) => Cmd::Resize { conn: local, size },
                    Some(RelayIn::Restart) => Cmd::Restart { by: Requester::Socket(local), reply: None },
                    Some(RelayIn::Keepalive) => continue,
                    Some(RelayIn::Leave) | None => break,
                };
                if tx.send(cmd).await.is_err() {
                    break;
                }
            }
            _ = tokio::time::sleep_until(silent_since + SILENT_AFTER) => {
                tracing::info!(%pad, "a relayed terminal socket went silent; dropping it");
                break;
            }
        }
    }
    let _ = tx.send(Cmd::Leave { conn: local }).await;
}

/// Route one terminal message of another node to the link or relayed socket it is for.
pub(crate) fn dispatch(state: &AppState, Direct { from, message }: Direct) {
    let to_relayed = |conn: ConnId, input: RelayIn| {
        let sender = state
            .terminals
            .relayed()
            .get(&(from.clone(), conn))
            .cloned();
        let Some(sender) = sender else {
            // Dropped here (silent too long, e.g. while Redis was down) or never joined here:
            // the socket reconnects and joins whoever owns the pad now.
            if !matches!(input, RelayIn::Leave) {
                let (code, reason) = CLOSE_MOVED;
                state.bus.send(
                    Some(&from),
                    NodeMessage::TerminalClose {
                        conn,
                        code,
                        reason: reason.into(),
                    },
                );
            }
            return;
        };
        if sender.try_send(input).is_err() {
            tracing::debug!("a relayed terminal socket's queue is full; its message is dropped");
        }
    };
    let to_link = |conn: ConnId, input: LinkIn| {
        let sender = state.terminals.links().get(&conn).cloned();
        if let Some(sender) = sender {
            if sender.try_send(input).is_err() {
                // Too far behind: the link closes the socket as too slow.
                let _ = sender.try_send(LinkIn::Close(session::CLOSE_TOO_SLOW));
            }
        }
    };
    match message {
        NodeMessage::TerminalJoin { pad, conn, user } => {
            let (relay_tx, relayed) = mpsc::channel(RELAY_QUEUE);
            state
                .terminals
                .relayed()
                .insert((from.clone(), conn), relay_tx);
            state
                .tasks
                .spawn(serve_relayed(state.clone(), from, pad, conn, user, relayed));
        }
        NodeMessage::TerminalInput { conn, data, .. } => to_relayed(conn, RelayIn::Input(data.0)),
        NodeMessage::TerminalResize {
            conn, cols, rows, ..
        } => to_relayed(conn, RelayIn::Resize(TermSize::clamped(cols, rows))),
        NodeMessage::TerminalRestart { conn, .. } => to_relayed(conn, RelayIn::Restart),
        NodeMessage::TerminalKeepalive { conn, .. } => to_relayed(conn, RelayIn::Keepalive),
        NodeMessage::TerminalLeave { conn, .. } => to_relayed(conn, RelayIn::Leave),
        NodeMessage::TerminalOutput {
            conn,
            binary: true,
            data,
        } => to_link(conn, LinkIn::Out(Out::Binary(data.0))),
        NodeMessage::TerminalOutput {
            conn,
            binary: false,
            data,
        } => to_link(
            conn,
            LinkIn::Out(Out::Text(String::from_utf8_lossy(&data.0).into_owned())),
        ),
        NodeMessage::TerminalClose { conn, code, reason } => {
            to_link(conn, LinkIn::Close(close_reason(code, &reason)))
        }
        // Routed to the console and the operator's sandboxes by the caller (`cluster`).
        NodeMessage::ConsoleInput { .. }
        | NodeMessage::ConsoleAnswer { .. }
        | NodeMessage::SandboxesAsk { .. }
        | NodeMessage::SandboxesTell { .. }
        | NodeMessage::RunStop { .. }
        | NodeMessage::TerminalStop { .. } => {}
    }
}
