//! Socket writes shared by the pad socket and the terminal socket: coalesce what is already
//! queued into one flush, and give the whole write a deadline so a peer that stops reading cannot
//! hold its task (and its queue) forever.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

/// Most queued messages written before one flush.
pub const WRITE_BATCH: usize = 256;
/// A peer that does not take a write for this long is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a close handshake may take before the socket is dropped.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// `first` plus whatever else is queued right now, up to `WRITE_BATCH`.
pub fn batch<T>(first: T, queue: &mut mpsc::Receiver<T>) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < WRITE_BATCH {
        match queue.try_recv() {
            Ok(more) => batch.push(more),
            Err(_) => break,
        }
    }
    batch
}

/// Write `messages` and flush within `SEND_TIMEOUT`; `Err` means the socket is done for.
pub async fn write_all(
    socket: &mut WebSocket,
    messages: impl IntoIterator<Item = Message>,
    what: &str,
) -> Result<(), ()> {
    let write = async {
        for message in messages {
            socket.feed(message).await?;
        }
        socket.flush().await
    };
    match tokio::time::timeout(SEND_TIMEOUT, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "{what} write failed");
            Err(())
        }
        Err(_) => {
            tracing::warn!("{what} peer stopped reading; dropping it");
            Err(())
        }
    }
}

/// Close with `code`: send the close frame, then read (and drop) whatever the peer still sends
/// until its own close frame or the end of the stream — the closing handshake, all within
/// `CLOSE_TIMEOUT`. Dropping a socket whose peer's frames are still unread makes the kernel answer
/// with a reset, and a reset can destroy the close frame before the peer reads it: the client
/// would see an abnormal 1006 instead of the reason it was closed.
pub async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.to_string().into(),
    };
    let handshake = async {
        if socket.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
        while let Some(Ok(message)) = socket.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, handshake).await;
}
