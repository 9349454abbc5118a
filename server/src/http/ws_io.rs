//! Socket writes shared by the pad socket and the terminal socket: coalesce what is already
//! queued into one flush, and give the whole write a deadline so a peer that stops reading cannot
//! hold its task (and its queue) forever.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
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
pub async fn write_all(socket: &mut WebSocket, messages: impl IntoIterator<Item = Message>, what: &str) -> Result<(), ()> {
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

/// Send a close frame, waiting at most `CLOSE_TIMEOUT`.
pub async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: reason.to_string().into() };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}
