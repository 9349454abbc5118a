//! Output forwarding with the cap shared by both streams.

use tokio::sync::mpsc;

use crate::{OutputChunk, Stream};

/// Largest chunk sent to the channel.
pub(crate) const CHUNK: usize = 16 * 1024;

/// Result of [`OutputSink::push_by`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Push {
    Ok,
    /// The cap was reached (output cut, marker sent): stop the program.
    Capped,
    /// The deadline passed while the receiver was applying backpressure: stop the program.
    Deadline,
}

pub(crate) struct OutputSink {
    tx: mpsc::Sender<OutputChunk>,
    cap: usize,
    written: usize,
    truncated: bool,
    receiver_gone: bool,
}

impl OutputSink {
    pub(crate) fn new(tx: mpsc::Sender<OutputChunk>, cap: usize) -> Self {
        Self {
            tx,
            cap,
            written: 0,
            truncated: false,
            receiver_gone: false,
        }
    }

    #[cfg(test)]
    pub(crate) fn truncated(&self) -> bool {
        self.truncated
    }

    async fn send(&mut self, stream: Stream, data: &[u8]) {
        for piece in data.chunks(CHUNK) {
            if self.receiver_gone {
                return;
            }
            let chunk = OutputChunk {
                stream,
                data: piece.to_vec(),
            };
            if self.tx.send(chunk).await.is_err() {
                // Nobody listens any more; the run still completes.
                self.receiver_gone = true;
            }
        }
    }

    /// Forwards `data`. Returns `false` once the cap is reached: the output has been cut, the
    /// marker sent, and the caller must stop the program.
    pub(crate) async fn push(&mut self, stream: Stream, data: &[u8]) -> bool {
        if self.truncated {
            return false;
        }
        if data.is_empty() {
            return true;
        }
        let room = self.cap - self.written;
        if data.len() <= room {
            self.written += data.len();
            self.send(stream, data).await;
            // Exactly at the cap is fine; the next byte trips it.
            return true;
        }
        let head = &data[..room];
        self.written += head.len();
        self.send(stream, head).await;
        self.truncated = true;
        let marker = format!("\n[output truncated at {} bytes]\n", self.cap);
        self.send(Stream::Stderr, marker.as_bytes()).await;
        false
    }
}

impl OutputSink {
    /// [`Self::push`], but gives up at `deadline` (a slow receiver must not stretch the
    /// program's wall-clock limit).
    pub(crate) async fn push_by(
        &mut self,
        stream: Stream,
        data: &[u8],
        deadline: tokio::time::Instant,
    ) -> Push {
        match tokio::time::timeout_at(deadline, self.push(stream, data)).await {
            Ok(true) => Push::Ok,
            Ok(false) => Push::Capped,
            Err(_) => Push::Deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cap_across_streams() {
        let (tx, mut rx) = mpsc::channel(100);
        let mut s = OutputSink::new(tx, 10);
        assert!(s.push(Stream::Stdout, b"12345").await);
        assert!(s.push(Stream::Stderr, b"6789").await);
        assert!(!s.push(Stream::Stdout, b"abc").await);
        assert!(s.truncated());
        assert!(!s.push(Stream::Stdout, b"more").await);
        drop(s);
        let mut got = Vec::new();
        while let Some(c) = rx.recv().await {
            got.push(c);
        }
        assert_eq!(got[0].data, b"12345");
        assert_eq!(got[1].data, b"6789");
        assert_eq!(got[2].data, b"a");
        assert_eq!(got[3].stream, Stream::Stderr);
        assert_eq!(got[3].data, b"\n[output truncated at 10 bytes]\n");
        assert_eq!(got.len(), 4);
    }

    #[tokio::test]
    async fn receiver_dropped_is_fine() {
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        let mut s = OutputSink::new(tx, 100);
        assert!(s.push(Stream::Stdout, b"x").await);
    }
}
