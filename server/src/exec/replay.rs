//! The output of a run in progress, kept for sockets that join mid-run: one capped text buffer
//! and a small index of the `run.output` messages it was broadcast as (seq, stream, end). A
//! joiner gets exactly the messages everyone else got, rebuilt on demand, so the client counts a
//! chunk it then also receives live only once. Output is coalesced before it gets here
//! (`output::Coalescer`), so the index stays small however the program writes.

use serde_json::json;

use super::output::OutputKind;

/// Text grows from the sandbox's bytes by at most this factor (an invalid byte becomes the
/// three-byte U+FFFD), so a buffer of `EXEC_OUTPUT_BYTES` times this never drops a chunk.
pub const MAX_TEXT_EXPANSION: usize = 3;

#[derive(Debug)]
pub struct RunReplay {
    text: String,
    marks: Vec<Mark>,
    cap: usize,
}

#[derive(Debug)]
struct Mark {
    seq: u64,
    stream: OutputKind,
    end: usize,
}

impl RunReplay {
    /// A replay for a run whose output is capped at `output_bytes` and whose console input at
    /// `input_bytes`.
    pub fn new(output_bytes: usize, input_bytes: usize) -> Self {
        RunReplay {
            text: String::new(),
            marks: Vec::new(),
            cap: output_bytes * MAX_TEXT_EXPANSION + input_bytes,
        }
    }

    /// Remembers one broadcast chunk. Past the cap (unreachable for capped output) the chunk is
    /// not kept: a joiner then misses it rather than the server growing without bound.
    pub fn push(&mut self, seq: u64, stream: OutputKind, text: &str) {
        if self.text.len() + text.len() > self.cap {
            return;
        }
        self.text.push_str(text);
        self.marks.push(Mark {
            seq,
            stream,
            end: self.text.len(),
        });
    }

    /// The `run.output` messages sent so far, in order.
    pub fn messages<'a>(&'a self, run_id: &'a str) -> impl Iterator<Item = serde_json::Value> + 'a {
        let starts = std::iter::once(0).chain(self.marks.iter().map(|m| m.end));
        self.marks.iter().zip(starts).map(move |(mark, start)| {
            json!({
                "type": "run.output", "runId": run_id, "seq": mark.seq, "stream": mark.stream,
                "data": &self.text[start..mark.end],
            })
        })
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.marks.capacity() * std::mem::size_of::<Mark>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_rebuilt_as_sent_and_the_buffer_is_capped() {
        let mut replay = RunReplay::new(4, 2);
        replay.push(1, OutputKind::Stdout, "ab");
        replay.push(2, OutputKind::Stderr, "€");
        replay.push(3, OutputKind::Stdin, "x\n");
        replay.push(4, OutputKind::Stdout, "0123456789");
        let messages: Vec<_> = replay.messages("r").collect();
        assert_eq!(
            messages.len(),
            3,
            "the chunk past 3 x 4 + 2 bytes is not kept"
        );
        assert_eq!(
            messages[0],
            json!({"type": "run.output", "runId": "r", "seq": 1, "stream": "stdout", "data": "ab"})
        );
        assert_eq!(messages[1]["data"], "€");
        assert_eq!(messages[1]["stream"], "stderr");
        assert_eq!(
            messages[2],
            json!({"type": "run.output", "runId": "r", "seq": 3, "stream": "stdin", "data": "x\n"})
        );
        assert!(replay.heap_bytes() < 256, "{}", replay.heap_bytes());
    }
}
