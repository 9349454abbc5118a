//! Interactive terminal sessions (SPEC §6): a shell with a TTY, started by a [`TerminalBackend`].
//! Two implementations of the same thing:
//!
//! - [`DockerTerminals`] (`docker.rs`): the shell lives inside a long-lived, per-pad **session
//!   container** on a [`crate::DockerHost`] — the same engine connection, controls and labels as
//!   run containers; what differs is what runs in it (see that module);
//! - [`LocalTerminals`] (`local.rs`): a PTY on the host, for development only — NO isolation;
//!   the caller must only use it when explicitly enabled, and say so loudly.
//!
//! The other modules: `workspace` (which files may be placed in a session, as a tar) and
//! `exec_io` (the Docker exec plumbing: the hand-made stream upgrade and workspace writes).
//!
//! Must not: bind-mount anything, pass host environment into a session, or log what is typed.

mod docker;
mod exec_io;
mod local;
mod workspace;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use docker::{DockerTerminals, TERMINAL_LABEL, WORKDIR};
pub use local::{LocalTerminalConfig, LocalTerminals};

use crate::docker::DockerHost;
use crate::{BackendKind, RunLimits, SandboxError, SourceFile};

/// Events buffered between the session's reader and its consumer. The reader waits when the
/// consumer is behind (the shell then blocks on its TTY): memory stays bounded.
pub const EVENT_BUFFER: usize = 32;
/// Largest single read from the shell's output.
const READ_CHUNK: usize = 16 * 1024;
/// A write the shell does not take within this long fails (it is not reading its TTY).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound of the files written into a workspace at once (default of
/// [`TerminalLimits::max_files_bytes`]).
pub const DEFAULT_MAX_FILES_BYTES: u64 = 16 * 1024 * 1024;
/// Default hard lifetime of a session ([`TerminalLimits::lifetime`]).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(2 * 3600);

/// The prompt of every session's shell.
const PROMPT: &str = r"\w \$ ";

/// Resource limits of one session container (and of the local fallback, where they apply).
#[derive(Debug, Clone, PartialEq)]
pub struct TerminalLimits {
    /// Memory (and memory+swap), MiB.
    pub memory_mb: u64,
    /// CPU quota in cores.
    pub cpus: f64,
    /// Processes/threads in the container.
    pub pids: i64,
    /// Size of the writable `/tmp` (workspace included), MiB.
    pub tmpfs_mb: u64,
    /// Upper bound of the files written into the workspace at once.
    pub max_files_bytes: u64,
    /// Hard lifetime: PID 1 of the container exits by itself after this (the server normally
    /// closes the session earlier; this is the safety net).
    pub lifetime: Duration,
}

impl Default for TerminalLimits {
    fn default() -> Self {
        let run = RunLimits::default();
        Self {
            memory_mb: run.memory_mb,
            cpus: run.cpus,
            pids: run.pids,
            tmpfs_mb: run.tmpfs_mb,
            max_files_bytes: DEFAULT_MAX_FILES_BYTES,
            lifetime: DEFAULT_LIFETIME,
        }
    }
}

impl TerminalLimits {
    /// The run limits whose container-level controls a session container gets.
    pub fn run_limits(&self) -> RunLimits {
        RunLimits {
            memory_mb: self.memory_mb,
            cpus: self.cpus,
            pids: self.pids,
            tmpfs_mb: self.tmpfs_mb,
            ..RunLimits::default()
        }
    }
}

/// Terminal size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermSize {
    pub cols: u16,
    pub rows: u16,
}

impl TermSize {
    pub const MIN: TermSize = TermSize { cols: 2, rows: 1 };
    pub const MAX: TermSize = TermSize {
        cols: 1000,
        rows: 500,
    };

    /// Clamped into [`TermSize::MIN`]..=[`TermSize::MAX`].
    pub fn clamped(cols: u32, rows: u32) -> TermSize {
        TermSize {
            cols: cols.clamp(Self::MIN.cols as u32, Self::MAX.cols as u32) as u16,
            rows: rows.clamp(Self::MIN.rows as u32, Self::MAX.rows as u32) as u16,
        }
    }
}

impl Default for TermSize {
    fn default() -> Self {
        TermSize { cols: 80, rows: 24 }
    }
}

/// What a session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalEvent {
    /// Raw bytes the TTY produced.
    Output(Bytes),
    /// The shell ended (the last event). `code` when known.
    Exited { code: Option<i64> },
}

/// Starts shells (see the module docs). The server picks one implementation at start.
#[async_trait]
pub trait TerminalBackend: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> BackendKind;
    /// Whether a session can start now (for Docker: the daemon answers and the image is there).
    async fn check(&self) -> Result<(), SandboxError>;
    /// Starts a shell labelled `key` with `files` in its workspace, at `size`. Events (output,
    /// then exit) arrive on the returned receiver.
    async fn start(
        &self,
        limits: &TerminalLimits,
        key: &str,
        files: &[SourceFile],
        size: TermSize,
    ) -> Result<(TerminalSession, mpsc::Receiver<TerminalEvent>), SandboxError>;
    /// Session containers of this backend that still exist (`key`: only that session key's).
    async fn containers(&self, key: Option<&str>) -> Result<Vec<String>, SandboxError>;
    /// Removes every session container of this backend (shutdown). Returns how many.
    async fn remove_all(&self) -> Result<usize, SandboxError>;
    /// The engines sessions live on (none: the server's own host, unisolated).
    fn hosts(&self) -> Vec<&DockerHost>;
}

/// What each implementation does to its running shell.
#[async_trait]
trait Shell: Send + Sync {
    async fn write(&self, bytes: &[u8]) -> Result<(), SandboxError>;
    async fn resize(&self, size: TermSize) -> Result<(), SandboxError>;
    async fn sync_files(&self, files: &[SourceFile]) -> Result<(), SandboxError>;
    /// Ends the shell and everything it started, waiting for it.
    async fn end(&self);
    /// Ends the shell without waiting (the session is being dropped).
    fn end_in_background(&self);
    fn container_id(&self) -> Option<&str>;
}

/// One interactive shell. Dropping it ends the shell (and removes its container).
pub struct TerminalSession {
    shell: Box<dyn Shell>,
    kind: BackendKind,
    closed: AtomicBool,
    reader: JoinHandle<()>,
    /// What the session keeps while it lives (its place in a host's load).
    held: Option<Box<dyn Send + Sync>>,
}

impl std::fmt::Debug for TerminalSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalSession")
            .field("kind", &self.kind)
            .field("container", &self.shell.container_id())
            .finish()
    }
}

impl TerminalSession {
    fn new(shell: Box<dyn Shell>, kind: BackendKind, reader: JoinHandle<()>) -> Self {
        Self {
            shell,
            kind,
            closed: AtomicBool::new(false),
            reader,
            held: None,
        }
    }

    /// The session keeps `held` until it is dropped.
    pub(crate) fn holding(mut self, held: Box<dyn Send + Sync>) -> Self {
        self.held = Some(held);
        self
    }

    /// The session container's id (`None` for a local session).
    pub fn container_id(&self) -> Option<&str> {
        self.shell.container_id()
    }

    /// Whether this is the unisolated local fallback.
    pub fn is_local(&self) -> bool {
        self.kind == BackendKind::Local
    }

    /// Sends raw input (keystrokes, pastes) to the shell's TTY.
    pub async fn write(&self, bytes: &[u8]) -> Result<(), SandboxError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(SandboxError::Unavailable("the terminal is closed".into()));
        }
        self.shell.write(bytes).await
    }

    /// Resizes the TTY.
    pub async fn resize(&self, size: TermSize) -> Result<(), SandboxError> {
        self.shell.resize(size).await
    }

    /// Writes (overwrites) `files` into the workspace; other files there are left alone.
    pub async fn sync_files(&self, files: &[SourceFile]) -> Result<(), SandboxError> {
        self.shell.sync_files(files).await
    }

    /// Ends the session: force-removes the container (everything in it dies), or kills the
    /// local shell's process group and removes its directory. Idempotent.
    pub async fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.reader.abort();
        self.shell.end().await;
    }
}

impl Drop for TerminalSession {
    fn drop(&mut self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.reader.abort();
        self.shell.end_in_background();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn sizes_are_clamped() {
        assert_eq!(TermSize::clamped(0, 0), TermSize::MIN);
        assert_eq!(TermSize::clamped(100_000, 100_000), TermSize::MAX);
        assert_eq!(
            TermSize::clamped(120, 40),
            TermSize {
                cols: 120,
                rows: 40
            }
        );
    }

    /// Output of the session until it contains `needle` (fails after 20 s, or on exit).
    pub(crate) async fn collect_until(
        rx: &mut mpsc::Receiver<TerminalEvent>,
        needle: &str,
    ) -> String {
        let mut out = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !out.contains(needle) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(TerminalEvent::Output(b))) => out.push_str(&String::from_utf8_lossy(&b)),
                Ok(Some(TerminalEvent::Exited { code })) => panic!("exited {code:?}: {out}"),
                Ok(None) => panic!("closed: {out}"),
                Err(_) => panic!("timed out waiting for {code}: {out}", code = needle),
            }
        }
        out
    }
}
