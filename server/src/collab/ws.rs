//! The byte pump of the pad socket (SPEC §2 WebSocket auth, §4): authenticate the upgrade, join
//! the room, then move frames between the socket and the session/room until either side ends.
//! Protocol decisions are the session's; this file only does I/O.
//!
//! Auth, in order: a `oc.bearer.<jwt>` subprotocol entry (any origin: a foreign page cannot read
//! the token, so offering it proves nothing is being hijacked); an `Authorization: Bearer`
//! header (non-browser clients); the `oc_token` cookie, only from a trusted browser origin (same
//! origin or `ALLOWED_ORIGINS`), which blocks cross-site WebSocket hijacking. The server selects
//! only the `opencoder.v1` subprotocol and never echoes the token. Tokens in the query string are
//! refused before routing (`http::url_tokens`). Non-members and missing pads get the same 404.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use tracing::Instrument;

use super::app::{AppCtx, AppMsgError, ConnBuckets};
use super::limits::{MAX_FRAME_BYTES, OFFLOAD_ENCODE_BYTES};
use super::room::{Control, Participant, Room};
use super::session::{sync_step2_for, Session, SessionError};
use crate::auth::extractors::{authenticate, token_from_headers, TokenSource};
use crate::db::{FileId, PadId};
use crate::error::{ws_close, AppError, AppResult};
use crate::http::{origin, ws_io};
use crate::pads::access::{live_role, load_access, AccessLost};
use crate::pads::roles::Role;
use crate::AppState;

/// The subprotocol the server speaks and selects.
pub const PROTOCOL: &str = "opencoder.v1";
/// Prefix of the subprotocol entry carrying the bearer token.
pub const BEARER_PREFIX: &str = "oc.bearer.";
/// The socket accepts messages up to twice the frame limit so that a frame just over the limit
/// is closed with a clean 1009 by the decoder; beyond this the WebSocket layer refuses it.
const SOCKET_MESSAGE_LIMIT: usize = 2 * MAX_FRAME_BYTES;
/// Small socket buffers: most pad sockets are idle, and thousands of them must stay cheap.
const SOCKET_BUFFER_BYTES: usize = 8 * 1024;

/// Stable colours for presence and cursors, picked by user id.
const PALETTE: [&str; 12] = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
    "#469990", "#800000", "#808000", "#000075",
];

/// A colour derived from the user id only, so it is the same on every socket and every server.
pub fn color_for(user: crate::db::UserId) -> &'static str {
    // SplitMix64 finaliser: neighbouring ids get unrelated colours.
    let mut x = user.0 as u64;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    PALETTE[(x % PALETTE.len() as u64) as usize]
}

/// The bearer token of an upgrade request; see the module docs for the order. Shared with the
/// terminal socket (`terminal::ws`), which follows the same rules.
pub(crate) fn upgrade_token(headers: &HeaderMap, state: &AppState) -> AppResult<String> {
    let offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(BEARER_PREFIX).map(str::to_string));
    if let Some(token) = offered.filter(|t| !t.is_empty()) {
        return Ok(token);
    }
    match token_from_headers(headers) {
        Some((token, TokenSource::Cookie)) => {
            let trusted = origin::browser_origin(headers)
                .is_some_and(|o| origin::is_trusted_origin(&o, headers, &state.config));
            if trusted {
                Ok(token)
            } else {
                Err(AppError::Forbidden {
                    code: "cross_origin_refused",
                    message:
                        "cookie-authenticated sockets are accepted only from this site's origin"
                            .into(),
                })
            }
        }
        Some((token, _)) => Ok(token),
        None => Err(AppError::Unauthenticated("unauthenticated")),
    }
}

/// `GET /ws/pad/{slug}`: authenticate, authorize, upgrade.
pub async fn upgrade(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    let token = upgrade_token(&headers, &state)?;
    let user = authenticate(&state, &token).await?;
    // Non-members get their 404 here; the role itself is read again once the socket has joined.
    let (pad, _) = load_access(&state, &slug, user.id).await?;
    Ok(accept(state, ws, user, Channel::Pad(pad.id)))
}

/// What a socket carries. The pad socket carries the pad's own document. The notes socket
/// (`interviews::notes`) carries an interview's private notes: a hidden companion pad's document,
/// joined under the companion's id while access is decided by the role on the interview pad, so
/// nothing of the notes ever enters the interview pad's document, log or room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Pad(PadId),
    Notes {
        interview: PadId,
        notes: PadId,
        /// The companion's one file: the notes text is its root.
        file: FileId,
    },
}

impl Channel {
    /// The pad whose membership decides access.
    pub fn access_pad(self) -> PadId {
        match self {
            Channel::Pad(pad) => pad,
            Channel::Notes { interview, .. } => interview,
        }
    }

    /// The pad whose document and room the socket joins.
    pub fn doc_pad(self) -> PadId {
        match self {
            Channel::Pad(pad) => pad,
            Channel::Notes { notes, .. } => notes,
        }
    }

    /// Whether a member with `role` may keep this socket open; checked at the join, at every
    /// role change and at every re-read of the role.
    pub fn admits(self, role: Role) -> bool {
        match self {
            Channel::Pad(_) => true,
            Channel::Notes { .. } => role.can_see_interviewer_notes(),
        }
    }
}

/// Upgrade an authenticated, authorized request to a socket on `channel`.
pub(crate) fn accept(
    state: AppState,
    ws: WebSocketUpgrade,
    user: crate::auth::User,
    channel: Channel,
) -> Response {
    // Shutdown waits for this socket (it counts as a tracked task until it ends).
    let tracked = state.tasks.token();
    let ws = ws
        .protocols([PROTOCOL])
        .max_message_size(SOCKET_MESSAGE_LIMIT)
        .max_frame_size(SOCKET_MESSAGE_LIMIT)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES);
    ws.on_upgrade(move |socket| async move {
        let conn = state.rooms.next_conn_id();
        let span = match channel {
            Channel::Pad(pad) => {
                tracing::info_span!("pad_socket", user_id = %user.id, pad = %pad, conn)
            }
            Channel::Notes {
                interview, notes, ..
            } => {
                tracing::info_span!("notes_socket", user_id = %user.id, pad = %interview, notes = %notes, conn)
            }
        };
        let who = Participant {
            user: user.id,
            name: user.name.clone(),
            color: color_for(user.id),
        };
        run(state, socket, conn, who, channel, user.session_epoch)
            .instrument(span)
            .await;
        drop(tracked);
    })
}

/// The role the socket's user has on `channel` now, or why they lost it (a role the channel does
/// not admit counts as no longer having access).
async fn current_role(
    state: &AppState,
    channel: Channel,
    user: crate::db::UserId,
    epoch: i64,
) -> AppResult<Result<Role, AccessLost>> {
    Ok(live_role(state, channel.access_pad(), user, epoch)
        .await?
        .and_then(|role| {
            if channel.admits(role) {
                Ok(role)
            } else {
                Err(AccessLost::NotAMember)
            }
        }))
}

async fn run(
    state: AppState,
    mut socket: WebSocket,
    conn: u64,
    who: Participant,
    channel: Channel,
    epoch: i64,
) {
    let started = Instant::now();
    // Leaving the room happens when `membership` drops, whichever way this function returns.
    let (membership, mut channels) =
        match state.rooms.join_channel(channel, conn, who.clone()).await {
            Ok(joined) => joined,
            Err(reason) => {
                tracing::warn!(reason = %reason, "pad socket refused");
                close(&state, &mut socket, &reason).await;
                return;
            }
        };
    // The role was read at the upgrade; from the join on, access changes arrive as room controls.
    // One more read closes the window between the two (see `live_role`).
    let role = match current_role(&state, channel, who.user, epoch).await {
        Ok(Ok(current)) => current,
        Ok(Err(lost)) => {
            drop(membership);
            tracing::info!(?lost, "access changed while the pad socket was joining");
            close(&state, &mut socket, &SessionError::from(lost)).await;
            return;
        }
        Err(err) => {
            drop(membership);
            tracing::error!(error = %err, "re-reading access after joining failed");
            close(&state, &mut socket, &SessionError::Internal).await;
            return;
        }
    };
    tracing::info!("pad socket opened");
    let room = membership.room.clone();
    let mut session = Session::new(
        conn,
        who.user,
        who.name.clone(),
        who.color,
        role,
        Instant::now(),
    );
    session.close_floods_after(state.config.collab.flood_close_after);
    match edits_locked(&state, channel).await {
        Ok(locked) => session.set_edits_locked(locked),
        Err(reason) => {
            drop(membership);
            close(&state, &mut socket, &reason).await;
            return;
        }
    }
    let buckets = ConnBuckets::default();
    // Backpressure: while the client is over its update or sync rate, its socket is not read.
    let mut reading_paused = false;
    let mut resume_reading_at = tokio::time::Instant::now();
    room.presence_changed();
    let mut outcome: Option<SessionError> = None;
    let mut opening: Vec<Bytes> = session
        .opening_frames(&*room)
        .into_iter()
        .map(Bytes::from)
        .collect();
    opening.extend(opening_extras(&state, channel).await);
    if write_all(&mut socket, opening).await.is_err() {
        state.metrics.pad_socket_closed(None);
        return;
    }
    loop {
        tokio::select! {
            biased;
            control = channels.control.recv() => match control {
                Some(Control::Close(reason)) => { outcome = Some(reason); break; }
                Some(Control::Role(role)) if !channel.admits(role) => {
                    outcome = Some(SessionError::AccessRevoked);
                    break;
                }
                Some(Control::Role(role)) => session.set_role(role),
                Some(Control::RecheckRole) => session.mark_role_stale(),
                // A role being re-read may no longer see interviewer material: it waits for the
                // next notice rather than risk one reaching a candidate.
                Some(Control::ForInterviewers(frame)) => {
                    if !session.role_is_stale()
                        && session.role().can_see_interviewer_notes()
                        && write_all(&mut socket, vec![frame]).await.is_err()
                    {
                        break;
                    }
                }
                None => break,
            },
            _ = state.shutdown.cancelled() => { outcome = Some(SessionError::ServerShutdown); break; }
            frame = channels.frames.recv() => {
                let Some(frame) = frame else { break };
                let batch = ws_io::batch(frame, &mut channels.frames);
                if write_all(&mut socket, batch).await.is_err() { break; }
            }
            _ = tokio::time::sleep_until(resume_reading_at), if reading_paused => reading_paused = false,
            incoming = socket.recv(), if !reading_paused => {
                let message = match incoming {
                    None | Some(Ok(Message::Close(_))) => break,
                    Some(Err(err)) => {
                        if err.to_string().contains("too long") {
                            outcome = Some(SessionError::FrameTooLarge);
                        } else {
                            tracing::debug!(error = %err, "pad socket read failed");
                        }
                        break;
                    }
                    Some(Ok(message)) => message,
                };
                let bytes = match message {
                    Message::Binary(bytes) => bytes,
                    Message::Text(_) => { outcome = Some(SessionError::TextFrame); break; }
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Close(_) => break,
                };
                if session.role_is_stale() {
                    match current_role(&state, channel, who.user, epoch).await {
                        Ok(Ok(role)) => session.set_role(role),
                        Ok(Err(lost)) => { outcome = Some(lost.into()); break; }
                        Err(err) => {
                            tracing::error!(error = %err, "re-reading the role failed");
                            outcome = Some(SessionError::Internal);
                            break;
                        }
                    }
                    // Interview switches are re-read with the role (`InterviewChanged` asks for both).
                    match edits_locked(&state, channel).await {
                        Ok(locked) => session.set_edits_locked(locked),
                        Err(reason) => { outcome = Some(reason); break; }
                    }
                }
                let received = Instant::now();
                // The update log's queue is bounded in bytes: wait for the writer rather than queue more.
                state.docs.wait_for_log_room().await;
                let mut step = session.handle_frame(&bytes, Instant::now(), &*room);
                state.metrics.pad_frame(&bytes, received.elapsed());
                if let Some(state_vector) = step.sync_request.take() {
                    match answer_sync_request(&room, state_vector).await {
                        Ok(frame) => step.replies.push(frame),
                        Err(reason) => step.close = Some(reason),
                    }
                }
                if !step.pause.is_zero() {
                    reading_paused = true;
                    resume_reading_at = tokio::time::Instant::now() + step.pause;
                }
                let replies = step.replies.into_iter().map(Bytes::from).collect();
                if write_all(&mut socket, replies).await.is_err() { break; }
                if let Some(app) = step.app {
                    let ctx = AppCtx {
                        state: state.clone(),
                        room: room.clone(),
                        conn,
                        user: who.user,
                        role: session.role(),
                        buckets: buckets.clone(),
                    };
                    match channel {
                        Channel::Pad(_) => {
                            if let Some(reason) = state.rooms.handlers().dispatch(ctx, app).await {
                                outcome = Some(reason);
                                break;
                            }
                        }
                        // Chat, run input and every other app message belong to the pad socket.
                        Channel::Notes { .. } => ctx.reply(
                            &AppMsgError::new(
                                "unknown_type",
                                "the notes socket carries only the notes document and presence",
                            )
                            .to_message(app.msg_type()),
                        ),
                    }
                }
                if let Some(reason) = step.close {
                    if room.doc.is_poisoned() {
                        // yrs failed internally: everyone reconnects to a freshly loaded document.
                        state.rooms.discard(&room);
                    }
                    outcome = Some(reason);
                    break;
                }
            }
        }
    }
    drop(membership);
    if let Some(reason) = &outcome {
        let (code, _) = ws_close(reason);
        if code >= 4000 || code == 1001 {
            tracing::info!(code, reason = %reason, "closing pad socket");
        } else {
            tracing::warn!(code, reason = %reason, "closing pad socket");
        }
        close(&state, &mut socket, reason).await;
    } else {
        state.metrics.pad_socket_closed(None);
    }
    tracing::info!(
        duration_ms = started.elapsed().as_millis() as u64,
        "pad socket closed"
    );
}

/// What a joiner gets after the sync and presence frames. On the pad socket: whether the session
/// is being recorded (whatever the role) and the runs in progress, so their output shows from the
/// start. On the notes socket: which root holds the notes.
async fn opening_extras(state: &AppState, channel: Channel) -> Vec<Bytes> {
    let messages = match channel {
        Channel::Pad(pad) => {
            let mut messages =
                vec![crate::recordings::service::recording_status_for_joiner(state, pad).await];
            messages.extend(state.exec.replay_for(pad));
            messages
        }
        Channel::Notes { file, .. } => vec![serde_json::json!({
            "type": "notes.ready",
            "root": crate::collab::file_key(file),
            "maxBytes": crate::pads::files::MAX_FILE_BYTES,
        })],
    };
    messages
        .into_iter()
        .filter_map(|message| oc_proto::AppMessage::new(message).ok())
        .map(|app| Bytes::from(app.encode()))
        .collect()
}

/// The sync step 2 answering a peer's state vector. A large document is encoded on the blocking
/// pool: encoding it on an async worker would stall every socket that worker serves.
async fn answer_sync_request(
    room: &Arc<Room>,
    state_vector: Vec<u8>,
) -> Result<Vec<u8>, SessionError> {
    if room.doc.approx_len() <= OFFLOAD_ENCODE_BYTES {
        return sync_step2_for(&**room, &state_vector);
    }
    let room = room.clone();
    tokio::task::spawn_blocking(move || sync_step2_for(&*room, &state_vector))
        .await
        .unwrap_or(Err(SessionError::Internal))
}

/// Whether the pad's interview refuses candidates' edits now (read at the join and with every
/// role re-read). The notes socket admits no candidate, so no switch applies to it.
async fn edits_locked(state: &AppState, channel: Channel) -> Result<bool, SessionError> {
    let Channel::Pad(pad) = channel else {
        return Ok(false);
    };
    crate::interviews::switches::edits_locked(&state.db, pad)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "reading the interview switches failed");
            SessionError::Internal
        })
}

/// Write frames and flush once; a peer that does not read for `ws_io::SEND_TIMEOUT` is dropped.
async fn write_all(socket: &mut WebSocket, frames: Vec<Bytes>) -> Result<(), ()> {
    ws_io::write_all(
        socket,
        frames.into_iter().map(Message::Binary),
        "pad socket",
    )
    .await
}

async fn close(state: &AppState, socket: &mut WebSocket, reason: &SessionError) {
    let (code, text) = ws_close(reason);
    state.metrics.pad_socket_closed(Some(code));
    ws_io::close(socket, code, text).await;
}
