//! The terminal's scrollback: a fixed-size ring of the most recent output bytes, replayed to a
//! client that joins late (SPEC §6). Memory per pad is the capacity, whatever the output.
//!
//! Replaying from an arbitrary byte may start inside an escape sequence or a UTF-8 character;
//! `contents` skips forward to the first character boundary and, when the ring wrapped, to the
//! first line start within a short distance, so the replay usually begins cleanly.

/// Bytes of output kept for late joiners.
pub const SCROLLBACK_BYTES: usize = 64 * 1024;

/// How far `contents` looks for a line start to begin the replay at, after a wrap.
const LINE_SEARCH: usize = 1024;

#[derive(Debug)]
pub struct Scrollback {
    buf: Box<[u8]>,
    /// Index of the next write.
    head: usize,
    /// Whether the ring is full (bytes were overwritten).
    wrapped: bool,
}

impl Default for Scrollback {
    fn default() -> Self {
        Scrollback::new(SCROLLBACK_BYTES)
    }
}

impl Scrollback {
    pub fn new(capacity: usize) -> Scrollback {
        assert!(capacity > 0);
        Scrollback {
            buf: vec![0; capacity].into_boxed_slice(),
            head: 0,
            wrapped: false,
        }
    }

    pub fn len(&self) -> usize {
        if self.wrapped {
            self.buf.len()
        } else {
            self.head
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&mut self) {
        self.head = 0;
        self.wrapped = false;
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        let cap = self.buf.len();
        if bytes.len() >= cap {
            bytes = &bytes[bytes.len() - cap..];
            self.buf.copy_from_slice(bytes);
            self.head = 0;
            self.wrapped = true;
            return;
        }
        let first = bytes.len().min(cap - self.head);
        self.buf[self.head..self.head + first].copy_from_slice(&bytes[..first]);
        let rest = bytes.len() - first;
        self.buf[..rest].copy_from_slice(&bytes[first..]);
        let end = self.head + bytes.len();
        if end >= cap {
            self.wrapped = true;
        }
        self.head = end % cap;
    }

    /// The kept bytes, oldest first, trimmed to a clean start (see the module docs).
    pub fn contents(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        if self.wrapped {
            out.extend_from_slice(&self.buf[self.head..]);
            out.extend_from_slice(&self.buf[..self.head]);
            // Start after the first newline if one is near; else at a character boundary.
            let start = match out.iter().take(LINE_SEARCH).position(|&b| b == b'\n') {
                Some(p) => p + 1,
                None => out
                    .iter()
                    .position(|&b| (b & 0xC0) != 0x80)
                    .unwrap_or(out.len()),
            };
            out.drain(..start);
        } else {
            out.extend_from_slice(&self.buf[..self.head]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_everything_until_full() {
        let mut s = Scrollback::new(8);
        s.push(b"abc");
        s.push(b"de");
        assert_eq!(s.contents(), b"abcde");
        assert_eq!(s.len(), 5);
    }

    #[test]
    fn keeps_the_last_capacity_bytes() {
        let mut s = Scrollback::new(8);
        for chunk in [&b"hello "[..], b"wor", b"ld\n12", b"34"] {
            s.push(chunk);
        }
        // Last 8 bytes are "rld\n1234": replay starts after the newline.
        assert_eq!(s.contents(), b"1234");
        s.push(b"0123456789abcdef");
        assert_eq!(s.len(), 8);
        assert_eq!(s.contents(), b"89abcdef");
    }

    #[test]
    fn wrap_without_newline_starts_at_a_character() {
        let mut s = Scrollback::new(4);
        s.push("xé€".as_bytes()); // 1 + 2 + 3 bytes; the last 4 are é's 2nd byte + €
        assert_eq!(s.contents(), "€".as_bytes());
    }

    #[test]
    fn memory_is_bounded() {
        let mut s = Scrollback::new(SCROLLBACK_BYTES);
        for _ in 0..100 {
            s.push(&[b'x'; 10_000]);
        }
        assert_eq!(s.len(), SCROLLBACK_BYTES);
        s.clear();
        assert!(s.is_empty());
    }
}
