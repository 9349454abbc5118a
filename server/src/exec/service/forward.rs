//! A run's output on its way to the pad: decoded, coalesced, broadcast in order with the console
//! input typed meanwhile, and kept for the record.

use oc_sandbox::{OutputChunk, Stream};
use tokio::sync::mpsc;

use super::record::Captured;
use super::ExecService;
use crate::db::PadId;
use crate::exec::output::{Coalescer, OutputKind, Utf8Stream};

impl ExecService {
    /// Broadcast output, coalesced into messages of at most `COALESCE_BYTES` sent within
    /// `COALESCE_WINDOW`, and keep the (already capped) copy for the record. Console input is
    /// echoed between the output sent before and after it, and kept in the record's stdout, where
    /// a terminal would show it.
    pub(super) async fn forward_output(
        &self,
        pad: PadId,
        run_id: String,
        mut rx: mpsc::Receiver<OutputChunk>,
        mut echo: Option<mpsc::UnboundedReceiver<String>>,
    ) -> Captured {
        let (mut out_decoder, mut err_decoder) = (Utf8Stream::default(), Utf8Stream::default());
        let mut captured = Captured::default();
        let mut coalescer = Coalescer::default();
        let mut seq = 0u64;
        // Sends what is pending, then the console input `typed` if any.
        let mut flush =
            |coalescer: &mut Coalescer, captured: &mut Captured, typed: Option<String>| {
                let pending = coalescer
                    .take()
                    .into_iter()
                    .map(|(stream, text)| (OutputKind::from(stream), text));
                for (kind, text) in pending.chain(typed.map(|t| (OutputKind::Stdin, t))) {
                    match kind {
                        OutputKind::Stdout | OutputKind::Stdin => captured.stdout.push_str(&text),
                        OutputKind::Stderr => captured.stderr.push_str(&text),
                    }
                    captured.layout.push(kind, &text);
                    seq += 1;
                    self.publish_output(pad, &run_id, seq, kind, &text);
                }
            };
        loop {
            let due = coalescer.due();
            tokio::select! {
                // Input typed after the output that is already here is shown after it.
                biased;
                typed = recv_echo(&mut echo) => match typed {
                    Some(typed) => flush(&mut coalescer, &mut captured, Some(typed)),
                    None => echo = None,
                },
                chunk = rx.recv() => {
                    let Some(chunk) = chunk else { break };
                    let text = match chunk.stream {
                        Stream::Stdout => out_decoder.push(&chunk.data),
                        Stream::Stderr => err_decoder.push(&chunk.data),
                    };
                    coalescer.push(chunk.stream, &text, tokio::time::Instant::now());
                    if coalescer.is_full() {
                        flush(&mut coalescer, &mut captured, None);
                    }
                }
                _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                    flush(&mut coalescer, &mut captured, None);
                }
            }
        }
        let now = tokio::time::Instant::now();
        coalescer.push(Stream::Stdout, &out_decoder.finish(), now);
        coalescer.push(Stream::Stderr, &err_decoder.finish(), now);
        flush(&mut coalescer, &mut captured, None);
        // Input accepted while the program was exiting still belongs to the transcript.
        while let Some(typed) = echo.as_mut().and_then(|echo| echo.try_recv().ok()) {
            flush(&mut coalescer, &mut captured, Some(typed));
        }
        captured
    }
}

/// The next echo of console input; pending forever for a run without (or no longer with) a console.
async fn recv_echo(echo: &mut Option<mpsc::UnboundedReceiver<String>>) -> Option<String> {
    match echo {
        Some(echo) => echo.recv().await,
        None => std::future::pending().await,
    }
}
