//! Turning the sandbox's byte chunks into text for clients: a chunk may end in the middle of a
//! UTF-8 sequence, so the incomplete tail is carried into the next chunk of the same stream
//! instead of becoming replacement characters; and small chunks are coalesced, so a program that
//! writes one byte at a time costs one message per [`COALESCE_WINDOW`], not one per byte.

use std::time::Duration;

use oc_sandbox::Stream;
use serde::Serialize;
use tokio::time::Instant;

/// What a `run.output` message carries: the program's stdout or stderr, or console input typed by
/// someone on the pad (echoed to everyone, in order with the output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    Stdout,
    Stderr,
    Stdin,
}

impl From<Stream> for OutputKind {
    fn from(stream: Stream) -> Self {
        match stream {
            Stream::Stdout => OutputKind::Stdout,
            Stream::Stderr => OutputKind::Stderr,
        }
    }
}

/// Largest piece of text one `run.output` message carries.
pub const COALESCE_BYTES: usize = 16 * 1024;

/// Longest time output waits to be coalesced before it is sent.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(50);

/// Per-stream decoder that never splits a character across messages.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    carry: Vec<u8>,
}

impl Utf8Stream {
    /// Text decodable so far; invalid bytes become U+FFFD, an incomplete tail waits.
    pub fn push(&mut self, chunk: &[u8]) -> String {
        self.carry.extend_from_slice(chunk);
        let complete = match std::str::from_utf8(&self.carry) {
            Ok(_) => self.carry.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.carry.len(),
        };
        let rest = self.carry.split_off(complete);
        let text = String::from_utf8_lossy(&self.carry).into_owned();
        self.carry = rest;
        text
    }

    /// Whatever is left at the end of the stream.
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.carry).into_owned();
        self.carry.clear();
        text
    }
}

/// Text waiting to be sent, per stream. Both streams are flushed together (oldest first), so
/// output alternating between stdout and stderr is coalesced too.
#[derive(Debug, Default)]
pub struct Coalescer {
    pending: [Pending; 2],
}

#[derive(Debug, Default)]
struct Pending {
    text: String,
    since: Option<Instant>,
}

fn slot(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

impl Coalescer {
    pub fn push(&mut self, stream: Stream, text: &str, now: Instant) {
        if text.is_empty() {
            return;
        }
        let pending = &mut self.pending[slot(stream)];
        pending.since.get_or_insert(now);
        pending.text.push_str(text);
    }

    /// A stream holds a full message: flush now.
    pub fn is_full(&self) -> bool {
        self.pending.iter().any(|p| p.text.len() >= COALESCE_BYTES)
    }

    /// When the oldest pending text must be sent.
    pub fn due(&self) -> Option<Instant> {
        self.pending
            .iter()
            .filter_map(|p| p.since)
            .min()
            .map(|since| since + COALESCE_WINDOW)
    }

    /// Everything pending as messages of at most [`COALESCE_BYTES`] (never splitting a
    /// character), the stream that waited longest first.
    pub fn take(&mut self) -> Vec<(Stream, String)> {
        let mut order = [
            (Stream::Stdout, self.pending[0].since),
            (Stream::Stderr, self.pending[1].since),
        ];
        order.sort_by_key(|(_, since)| *since);
        let mut out = Vec::new();
        for (stream, since) in order {
            if since.is_none() {
                continue;
            }
            let pending = std::mem::take(&mut self.pending[slot(stream)]);
            let mut rest = pending.text.as_str();
            while !rest.is_empty() {
                let mut end = rest.len().min(COALESCE_BYTES);
                while !rest.is_char_boundary(end) {
                    end -= 1;
                }
                out.push((stream, rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_coalesced_within_the_window_and_the_size() {
        let start = Instant::now();
        let mut c = Coalescer::default();
        assert_eq!(c.due(), None);
        c.push(Stream::Stderr, "e", start);
        for _ in 0..COALESCE_BYTES + 10 {
            c.push(Stream::Stdout, "é", start + Duration::from_millis(1));
        }
        assert_eq!(c.due(), Some(start + COALESCE_WINDOW));
        assert!(c.is_full());
        let messages = c.take();
        assert_eq!(messages[0], (Stream::Stderr, "e".to_string()));
        assert!(messages[1..]
            .iter()
            .all(|(s, t)| *s == Stream::Stdout && t.len() <= COALESCE_BYTES));
        assert_eq!(
            messages.len(),
            4,
            "2 * (16 KiB + 10) bytes of stdout in 16 KiB messages"
        );
        assert_eq!(
            messages[1..]
                .iter()
                .map(|(_, t)| t.chars().count())
                .sum::<usize>(),
            COALESCE_BYTES + 10
        );
        assert!(c.take().is_empty() && c.due().is_none());
    }

    #[test]
    fn split_characters_are_joined() {
        let bytes = "héllo €".as_bytes();
        let mut stream = Utf8Stream::default();
        let mut out = String::new();
        for b in bytes {
            out.push_str(&stream.push(std::slice::from_ref(b)));
        }
        out.push_str(&stream.finish());
        assert_eq!(out, "héllo €");
    }

    #[test]
    fn invalid_bytes_do_not_stall() {
        let mut stream = Utf8Stream::default();
        assert_eq!(stream.push(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(stream.push(b"\xe2\x82"), "");
        assert_eq!(stream.finish(), "\u{fffd}");
    }
}
