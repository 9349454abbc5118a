//! `GET /ws/pad/{slug}/terminal`: the byte pump between a terminal socket and the pad's terminal
//! (`session`). Authentication is the pad socket's, by the same function
//! (`collab::ws::upgrade_token`): the `oc.bearer.<jwt>` subprotocol, an `Authorization` header,
//! or the cookie only from a trusted origin; `opencoder.v1` is selected and the token never
//! echoed; non-members and missing pads get the same 404. See `terminal` (mod.rs) for the
//! protocol.
//!
//! Must not: log what is typed (no frame contents in any log line).

use std::time::Instant;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use oc_sandbox::TermSize;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;
use tracing::Instrument;

use super::session::{CloseReason, Cmd, Out, Requester, CLOSE_SHUTDOWN};
use super::{Joined, MAX_INPUT_FRAME};
use crate::auth::extractors::authenticate;
use crate::bus::DomainEvent;
use crate::collab::limits::TokenBucket;
use crate::collab::ws::{upgrade_token, PROTOCOL};
use crate::db::{PadId, UserId};
use crate::error::AppResult;
use crate::http::ws_io;
use crate::interviews::switches::Surface;
use crate::pads::access::load_access;
use crate::pads::roles::Role;
use crate::AppState;

/// Messages (input frames and control messages) per second per socket; beyond → 1008. Typing is
/// tens per second; a paste is one frame.
pub const MESSAGES_PER_SEC: f64 = 500.0;
pub const MESSAGES_BURST: f64 = 1000.0;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Control {
    Resize { cols: u32, rows: u32 },
    Restart,
}

/// `GET /ws/pad/{slug}/terminal`: authenticate, authorize (any member may watch), upgrade.
pub async fn upgrade(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    // Subscribed before the session and the role are read: a revocation or kick that lands
    // between that read and the join is applied right after joining, never missed.
    let missed = state.bus.subscribe();
    let token = upgrade_token(&headers, &state)?;
    let user = authenticate(&state, &token).await?;
    let (pad, role) = load_access(&state, &slug, user.id).await?;
    crate::interviews::switches::require(&state, pad.id, role, Surface::Terminal).await?;
    let tracked = state.tasks.token();
    let ws = ws
        .protocols([PROTOCOL])
        .max_message_size(MAX_INPUT_FRAME)
        .max_frame_size(MAX_INPUT_FRAME);
    Ok(ws.on_upgrade(move |socket| async move {
        let conn = state.rooms.next_conn_id();
        let span = tracing::info_span!("terminal_socket", user_id = %user.id, pad = %pad.id, conn);
        run(state, socket, conn, user.id, role, pad.id, missed)
            .instrument(span)
            .await;
        drop(tracked);
    }))
}

async fn run(
    state: AppState,
    mut socket: WebSocket,
    conn: u64,
    user: UserId,
    role: Role,
    pad: PadId,
    missed: broadcast::Receiver<DomainEvent>,
) {
    let started = Instant::now();
    let mut joined: Joined = match state
        .terminals
        .join(&state, pad, conn, user, role, missed)
        .await
    {
        Ok(joined) => joined,
        Err(reason) => {
            close(&mut socket, reason).await;
            return;
        }
    };
    tracing::info!("terminal socket opened");
    let mut bucket = TokenBucket::new(MESSAGES_PER_SEC, MESSAGES_BURST, Instant::now());
    let mut outcome: Option<CloseReason> = None;
    loop {
        tokio::select! {
            biased;
            reason = &mut joined.close => {
                outcome = Some(reason.unwrap_or((1011, "internal error")));
                break;
            }
            _ = state.shutdown.cancelled() => { outcome = Some(CLOSE_SHUTDOWN); break; }
            message = joined.out.recv() => {
                let Some(message) = message else { break };
                let batch = ws_io::batch(message, &mut joined.out);
                if write_all(&mut socket, batch).await.is_err() { break; }
            }
            incoming = socket.recv() => {
                let message = match incoming {
                    None | Some(Ok(Message::Close(_))) => break,
                    Some(Err(err)) => {
                        if err.to_string().contains("too long") {
                            outcome = Some((1009, "input frame too large"));
                        } else {
                            tracing::debug!(error = %err, "terminal socket read failed");
                        }
                        break;
                    }
                    Some(Ok(message)) => message,
                };
                if matches!(message, Message::Ping(_) | Message::Pong(_)) {
                    continue;
                }
                if !bucket.try_take(Instant::now()) {
                    outcome = Some((1008, "rate limit exceeded"));
                    break;
                }
                let cmd = match message {
                    Message::Binary(bytes) => Cmd::Input { conn, bytes },
                    Message::Text(text) => match serde_json::from_str::<Control>(text.as_str()) {
                        Ok(Control::Resize { cols, rows }) => Cmd::Resize { conn, size: TermSize::clamped(cols, rows) },
                        Ok(Control::Restart) => Cmd::Restart { by: Requester::Socket(conn), reply: None },
                        Err(_) => {
                            let reply = json!({
                                "type": "error",
                                "code": "bad_message",
                                "message": "expected {type:\"resize\", cols, rows} or {type:\"restart\"}",
                            });
                            if write_all(&mut socket, vec![Out::Text(reply.to_string())]).await.is_err() { break; }
                            continue;
                        }
                    },
                    _ => continue,
                };
                if !joined.send(cmd).await {
                    break;
                }
            }
        }
    }
    drop(joined);
    if let Some(reason) = outcome {
        tracing::info!(
            code = reason.0,
            reason = reason.1,
            "closing terminal socket"
        );
        close(&mut socket, reason).await;
    }
    tracing::info!(
        duration_ms = started.elapsed().as_millis() as u64,
        "terminal socket closed"
    );
}

async fn write_all(socket: &mut WebSocket, batch: Vec<Out>) -> Result<(), ()> {
    let messages = batch.into_iter().map(|message| match message {
        Out::Binary(bytes) => Message::Binary(bytes),
        Out::Text(text) => Message::Text(text.into()),
    });
    ws_io::write_all(socket, messages, "terminal socket").await
}

async fn close(socket: &mut WebSocket, (code, reason): CloseReason) {
    ws_io::close(socket, code, reason).await;
}
