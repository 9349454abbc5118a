//! The end-of-program frame. Once the program exited, PID 1 of its container writes
//! `\x1eOCSB1 E <token> <status>\n` to stdout and then to stderr. Each stream is a pipe that
//! keeps its order, so when both frames are in, every byte the program wrote is in too, and the
//! run's outcome is known without waiting for the container to exit — which costs the engine
//! about as long again as a warm hello world.
//!
//! The token is random per run, so no program prints a frame by accident. A program can read it
//! (it is in its own container) and forge the frame: that only ends its own run early with the
//! status it chose, which it could have exited with anyway; the container is removed either way.

/// Longest status text after the token (`-1`, `255`, …).
const MAX_STATUS_CHARS: usize = 12;
/// The frame's first byte: ASCII RS, which text output practically never contains, so output
/// is almost never held back waiting to see whether a frame starts.
const FRAME_START: u8 = 0x1e;

/// One run's end-frame token.
#[derive(Debug, Clone)]
pub(crate) struct EndToken(String);

impl EndToken {
    pub(crate) fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Shell lines that write the frame for the status in `$rc` to stdout, then stderr.
    pub(crate) fn shell_lines(&self) -> String {
        format!(
            "printf '\\036OCSB1 E %s %d\\n' {t} \"$rc\"\nprintf '\\036OCSB1 E %s %d\\n' {t} \"$rc\" >&2\n",
            t = self.0
        )
    }

    fn marker(&self) -> Vec<u8> {
        let mut m = vec![FRAME_START];
        m.extend_from_slice(format!("OCSB1 E {} ", self.0).as_bytes());
        m
    }
}

/// What one stream's bytes turned out to be.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// The program's output, to deliver now.
    pub(crate) output: Vec<u8>,
    /// The frame is complete: the program's exit status (`Err`: a garbled frame).
    pub(crate) status: Option<Result<i64, ()>>,
}

/// Finds the end frame in one output stream, holding back only bytes that may start it.
#[derive(Debug)]
pub(crate) struct EndScanner {
    marker: Vec<u8>,
    /// Output bytes that match the marker's beginning, held until the next bytes tell.
    held: Vec<u8>,
    /// The marker was seen: the status text so far.
    status: Option<Vec<u8>>,
    done: bool,
}

impl EndScanner {
    pub(crate) fn new(token: &EndToken) -> Self {
        Self {
            marker: token.marker(),
            held: Vec::new(),
            status: None,
            done: false,
        }
    }

    pub(crate) fn feed(&mut self, data: &[u8]) -> Scanned {
        let mut out = Scanned::default();
        if self.done {
            return out;
        }
        let after_marker;
        let status_bytes = match self.status {
            Some(_) => data,
            None => {
                let mut buf = std::mem::take(&mut self.held);
                buf.extend_from_slice(data);
                let Some(at) = find(&buf, &self.marker) else {
                    let keep = partial_start(&buf, &self.marker);
                    self.held = buf.split_off(buf.len() - keep);
                    out.output = buf;
                    return out;
                };
                after_marker = buf.split_off(at + self.marker.len());
                buf.truncate(at);
                out.output = buf;
                self.status = Some(Vec::new());
                &after_marker[..]
            }
        };
        let status = self.status.as_mut().expect("the marker was seen");
        for &b in status_bytes {
            if b == b'\n' {
                self.done = true;
                let parsed = std::str::from_utf8(status)
                    .ok()
                    .and_then(|t| t.parse().ok());
                out.status = Some(parsed.ok_or(()));
                return out;
            }
            status.push(b);
            if status.len() > MAX_STATUS_CHARS {
                self.done = true;
                out.status = Some(Err(()));
                return out;
            }
        }
        out
    }

    /// The stream ended without a frame: the bytes held back are output after all.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.held)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == FRAME_START)
        .map(|(i, _)| i)
        .find(|&i| haystack[i..].starts_with(needle))
}

/// Length of the longest tail of `buf` that is a proper beginning of `marker`.
fn partial_start(buf: &[u8], marker: &[u8]) -> usize {
    let from = buf.len().saturating_sub(marker.len() - 1);
    (from..buf.len())
        .find(|&i| buf[i] == FRAME_START && marker.starts_with(&buf[i..]))
        .map_or(0, |i| buf.len() - i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(token: &EndToken, status: &str) -> Vec<u8> {
        let mut f = token.marker();
        f.extend_from_slice(status.as_bytes());
        f.push(b'\n');
        f
    }

    #[test]
    fn output_then_the_frame_in_one_piece() {
        let token = EndToken::new();
        let mut s = EndScanner::new(&token);
        let mut data = b"hello\n".to_vec();
        data.extend(frame(&token, "3"));
        data.extend_from_slice(b"after the end");
        let got = s.feed(&data);
        assert_eq!(got.output, b"hello\n");
        assert_eq!(got.status, Some(Ok(3)));
        assert_eq!(s.feed(b"more"), Scanned::default());
    }

    #[test]
    fn a_frame_split_anywhere_is_found_and_nothing_else_is_held() {
        let token = EndToken::new();
        let mut data = b"no newline at the end".to_vec();
        let out_len = data.len();
        data.extend(frame(&token, "0"));
        for cut in 0..data.len() {
            let mut s = EndScanner::new(&token);
            let a = s.feed(&data[..cut]);
            let b = s.feed(&data[cut..]);
            let mut output = a.output;
            output.extend(b.output);
            assert_eq!(output, &data[..out_len], "cut at {cut}");
            assert_eq!(a.status.or(b.status), Some(Ok(0)), "cut at {cut}");
        }
    }

    #[test]
    fn look_alikes_are_output() {
        let token = EndToken::new();
        let other = EndToken::new();
        let mut s = EndScanner::new(&token);
        let mut data = frame(&other, "0");
        data.extend_from_slice(b"OCSB1 E x 0\n\x1e");
        let got = s.feed(&data);
        // Only the last byte could start a frame: it is held until the stream says more.
        assert_eq!(got.output, &data[..data.len() - 1]);
        assert_eq!(got.status, None);
        assert_eq!(s.finish(), vec![FRAME_START]);
    }

    #[test]
    fn a_garbled_status_is_an_error() {
        let token = EndToken::new();
        let mut s = EndScanner::new(&token);
        assert_eq!(s.feed(&frame(&token, "x1")).status, Some(Err(())));
        let mut s = EndScanner::new(&token);
        assert_eq!(
            s.feed(&frame(&token, &"9".repeat(40))).status,
            Some(Err(()))
        );
    }
}
