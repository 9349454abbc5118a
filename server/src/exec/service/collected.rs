//! Runs whose output is collected rather than broadcast or stored (test cases, judged on it).

use oc_sandbox::{OutputChunk, RunLimits, RunSpec, SandboxError, SourceFile, Stream};
use tokio::sync::mpsc;

use super::{ExecService, Outcome, Refusal, OUTPUT_CHANNEL_CHUNKS};
use crate::db::UserId;

/// What `run_collected` gives back.
pub struct Collected {
    pub result: Result<Outcome, SandboxError>,
    pub stdout: String,
    pub stderr: String,
}

impl ExecService {
    /// One run outside the pad's live runs, its output collected instead of broadcast or stored:
    /// a test case, judged on its output. The same admission (the user's places, the global
    /// slots) and the same limits as an ordinary run with the default timeout.
    pub async fn run_collected(
        &self,
        user: UserId,
        language: String,
        entry: String,
        files: Vec<SourceFile>,
        stdin: Vec<u8>,
    ) -> Result<Collected, Refusal> {
        let reservation = self.queue.reserve(user)?;
        let _ticket = reservation.ready().await;
        let spec = RunSpec {
            language,
            files,
            entry: Some(entry),
            stdin,
            live_stdin: None,
            repl: false,
            limits: RunLimits {
                wall: self.settings.default_timeout,
                output_bytes: self.settings.output_bytes,
                memory_mb: self.settings.memory_mb,
                cpus: self.settings.cpus,
                ..RunLimits::default()
            },
        };
        let (tx, mut rx) = mpsc::channel::<OutputChunk>(OUTPUT_CHANNEL_CHUNKS);
        // Bounded by the sandbox's output cap.
        let collect = async {
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            while let Some(chunk) = rx.recv().await {
                match chunk.stream {
                    Stream::Stdout => stdout.extend_from_slice(&chunk.data),
                    Stream::Stderr => stderr.extend_from_slice(&chunk.data),
                }
            }
            (stdout, stderr)
        };
        let (result, (stdout, stderr)) = tokio::join!(self.backend.run(spec, tx), collect);
        Ok(Collected {
            result,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }
}
