//! oc-sandbox: runs untrusted code for opencoder.
//!
//! The crate knows nothing about HTTP, users or databases. The server builds a [`RunSpec`]
//! (language id, files, entry, stdin, limits), hands it to a [`SandboxBackend`] together with a
//! channel for [`OutputChunk`]s, and gets an [`Outcome`] back.
//!
//! Backends:
//! * [`DockerBackend`] (`docker/`): one single-use, locked-down container per run (no network,
//!   read-only root, tmpfs `/tmp`, no capabilities, `no-new-privileges`, uid 65534, pids / nofile /
//!   memory / CPU limits, no mounts). Sources are streamed in as a tar over the attach stream,
//!   then the program's stdin (pre-filled, then live console input) over the same stream. Optional warm pool ([`pool`]) and compile cache ([`cache`]). It runs on a
//!   [`DockerHost`]: one engine connection (health, images, labels, the leftover sweep) that
//!   terminal sessions share.
//! * [`LocalBackend`] (`local.rs`): subprocesses on the host, for development only (rlimits, empty
//!   environment, private temp dir, process-group kill — but no kernel isolation).
//!
//! Terminals ([`terminal`]) are the same two things behind [`TerminalBackend`]:
//! [`DockerTerminals`] (a session container on a [`DockerHost`]) and [`LocalTerminals`].
//!
//! Languages are a built-in table ([`languages()`], [`language()`]) that an operator may extend or
//! override with a TOML file ([`LanguageTable::load_with_overrides`]).

pub mod cache;
pub mod docker;
mod end_frame;
pub mod hosts;
pub mod languages;
pub mod local;
pub mod metrics;
mod output;
pub mod pool;
mod prestart;
mod repl;
mod script;
pub mod terminal;
pub mod testing;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use cache::{CacheStats, CompileCache};
pub use docker::{
    ContainerKind, DockerBackend, DockerConfig, DockerHost, HostConfig, SANDBOX_LABEL,
};
pub use languages::{language, languages, Language, LanguageTable};
pub use local::{LocalBackend, LocalConfig};
pub use metrics::{Metrics, MetricsSnapshot};
pub use pool::{parse_pool_spec, PoolConfig, PoolLanguageStats, PoolStats};
pub use script::IN_CONTAINER_GRACE;
pub use terminal::{
    DockerTerminals, LocalTerminalConfig, LocalTerminals, TermSize, TerminalBackend, TerminalEvent,
    TerminalLimits, TerminalSession,
};

/// One source file of a run. `name` must pass [`validate_file_name`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    pub name: String,
    pub content: Vec<u8>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            content: content.into(),
        }
    }
}

/// Console input of a run, chunk by chunk: the program reads each chunk as it arrives and sees
/// EOF once every sender is dropped.
pub type LiveStdin = tokio::sync::mpsc::Receiver<Vec<u8>>;

/// What to run.
#[derive(Debug)]
pub struct RunSpec {
    /// Language id or alias (see [`languages()`]).
    pub language: String,
    pub files: Vec<SourceFile>,
    /// The file to run/compile; must be one of `files`. `None`: the language's default file name if
    /// present, else the first file with one of the language's extensions.
    pub entry: Option<String>,
    /// What the program reads first on stdin.
    pub stdin: Vec<u8>,
    /// `None`: EOF right after `stdin`. `Some`: after `stdin`, whatever arrives here, then EOF when
    /// the senders are gone.
    pub live_stdin: Option<LiveStdin>,
    /// Run the language's REPL ([`Language::repl`]) instead of its run step: the entry runs, then
    /// the session reads expressions from stdin in its context. Refused as `InvalidRequest` for a
    /// language without one.
    pub repl: bool,
    pub limits: RunLimits,
}

/// A copy of the request without its live stdin: a stream has one reader, so a clone runs with
/// EOF after the pre-filled stdin.
impl Clone for RunSpec {
    fn clone(&self) -> Self {
        Self {
            language: self.language.clone(),
            files: self.files.clone(),
            entry: self.entry.clone(),
            stdin: self.stdin.clone(),
            live_stdin: None,
            repl: self.repl,
            limits: self.limits.clone(),
        }
    }
}

impl RunSpec {
    /// Sources plus pre-filled stdin, in bytes.
    pub fn input_bytes(&self) -> u64 {
        self.files
            .iter()
            .map(|f| f.content.len() as u64)
            .sum::<u64>()
            + self.stdin.len() as u64
    }

    /// A single-file run with default limits (handy in tests and for the server's "run template").
    pub fn single(language: &str, name: &str, content: impl Into<Vec<u8>>) -> Self {
        Self {
            language: language.to_string(),
            files: vec![SourceFile::new(name, content)],
            entry: Some(name.to_string()),
            stdin: Vec::new(),
            live_stdin: None,
            repl: false,
            limits: RunLimits::default(),
        }
    }
}

/// Resource limits of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunLimits {
    /// Wall-clock limit of the program itself (from the moment it starts; compile time is not
    /// counted against it).
    pub wall: Duration,
    /// Wall-clock limit of the compile step (compiled languages only).
    pub compile_wall: Duration,
    /// Memory limit (the container's memory and memory+swap; RLIMIT_DATA locally), MiB.
    pub memory_mb: u64,
    /// CPU quota in cores (Docker `NanoCpus`).
    pub cpus: f64,
    /// Output cap across stdout+stderr; the output is cut there with a visible marker.
    pub output_bytes: usize,
    /// Maximum number of processes/threads (Docker `PidsLimit`; RLIMIT_NPROC locally).
    pub pids: i64,
    /// Size of the writable `/tmp` (sources, build outputs, caches), MiB.
    pub tmpfs_mb: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            wall: Duration::from_secs(10),
            compile_wall: Duration::from_secs(30),
            memory_mb: 512,
            cpus: 1.0,
            output_bytes: 1024 * 1024,
            pids: 256,
            tmpfs_mb: 128,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A piece of output, streamed while the program runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    pub stream: Stream,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Docker,
    Local,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Docker => "docker",
            BackendKind::Local => "local",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStatus {
    Hit,
    Miss,
}

/// Which step ended the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Compile,
    Run,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Exit status of the step that ended the run (`None` when the sandbox killed it: timeout,
    /// output cap).
    pub exit_code: Option<i64>,
    /// Signal name (`SIGKILL`, `SIGSEGV`, ...) when the program died of a signal (exit status
    /// 128+n as reported by the shell) or was killed by the sandbox.
    pub signal: Option<String>,
    pub timed_out: bool,
    pub oom_killed: bool,
    /// Wall time from the start of the run request to its end (setup, compile and run).
    pub duration: Duration,
    /// Output hit `output_bytes` and was cut (the program was killed).
    pub truncated: bool,
    pub backend: BackendKind,
    /// A warm-pool container served the run (Docker only).
    pub pooled: bool,
    /// `Some` for languages with a compile step when the compile cache is enabled.
    pub compile_cache: Option<CacheStatus>,
    pub phase: Phase,
}

impl Outcome {
    /// Finished normally with status 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.oom_killed && !self.truncated
    }

    /// Short label for metrics and logs: `ok`, `error`, `compile_error`, `timeout`, `oom`,
    /// `truncated`, `signal`.
    pub fn label(&self) -> &'static str {
        if self.timed_out {
            "timeout"
        } else if self.oom_killed {
            "oom"
        } else if self.truncated {
            "truncated"
        } else if self.phase == Phase::Compile {
            "compile_error"
        } else if self.exit_code == Some(0) {
            "ok"
        } else if self.signal.is_some() {
            "signal"
        } else {
            "error"
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The backend can't run anything right now (Docker daemon down, image missing, toolchain not
    /// installed locally, backend shut down). Safe to retry later.
    #[error("sandbox unavailable: {0}")]
    Unavailable(String),
    #[error("unknown language: {0}")]
    UnknownLanguage(String),
    #[error("invalid file name: {0:?}")]
    InvalidFileName(String),
    /// The request itself is wrong (no files, entry not among the files, ...).
    #[error("invalid run request: {0}")]
    InvalidRequest(String),
    #[error("{what} too large: {actual} bytes (limit {limit})")]
    TooLarge {
        what: String,
        limit: u64,
        actual: u64,
    },
    #[error("sandbox internal error: {0}")]
    Internal(String),
    /// The Docker host the run (or terminal) was placed on went away (several hosts: see
    /// [`hosts`]). New runs go to the other hosts.
    #[error("docker host unavailable: {0}")]
    HostUnavailable(String),
}

impl SandboxError {
    /// Short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            SandboxError::Unavailable(_) => "unavailable",
            SandboxError::UnknownLanguage(_) => "unknown_language",
            SandboxError::InvalidFileName(_) => "invalid_file_name",
            SandboxError::InvalidRequest(_) => "invalid_request",
            SandboxError::TooLarge { .. } => "too_large",
            SandboxError::Internal(_) => "internal",
            SandboxError::HostUnavailable(_) => "host_unavailable",
        }
    }
}

/// Health of a backend, for `/api/health` and the admin page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackendHealth {
    pub kind: BackendKind,
    pub available: bool,
    /// Human-readable state ("docker 20.10.24 (API 1.41)", "daemon unreachable: ...").
    pub detail: String,
    /// `false` for the local fallback: no kernel-level isolation.
    pub isolated: bool,
    pub pool: Option<PoolStats>,
    pub cache: Option<CacheStats>,
    /// Every Docker engine the backend uses (empty for the local fallback).
    pub hosts: Vec<HostHealth>,
}

/// One Docker engine, for `/api/health` and `opencoder doctor`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostHealth {
    /// Its address without credentials (`default`: `DOCKER_HOST` or the local socket).
    pub address: String,
    /// Reached over TLS with client certificates (`tcp://` with a certificate directory).
    pub tls: bool,
    pub available: bool,
    /// The daemon's version, or why it is unavailable.
    pub detail: String,
    /// Whether the runner image is there.
    pub image: bool,
    pub pool: PoolStats,
    /// Runs in flight there.
    pub load: usize,
    /// Its share of runs (several hosts only).
    pub capacity: Option<usize>,
}

/// A code-execution backend.
#[async_trait]
pub trait SandboxBackend: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// Runs `spec`, streaming output to `output` as it is produced. The receiver may be dropped;
    /// the run still completes. Dropping the returned future cancels the run and cleans up.
    async fn run(
        &self,
        spec: RunSpec,
        output: tokio::sync::mpsc::Sender<OutputChunk>,
    ) -> Result<Outcome, SandboxError>;
    async fn health(&self) -> BackendHealth;
    /// Stops background work and removes what the backend created (server exit). Runs started
    /// afterwards fail with `Unavailable`. Backends without background work need nothing.
    async fn shutdown(&self) {}
}

/// Largest number of files in one run.
pub const MAX_FILES: usize = 256;

/// File names accepted in a run: `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$` and no `..`.
/// No directories, no leading dot, no NUL, no shell metacharacters.
pub fn validate_file_name(name: &str) -> Result<(), SandboxError> {
    let bytes = name.as_bytes();
    let ok_first = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let ok_rest = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-';
    let valid = !bytes.is_empty()
        && bytes.len() <= 100
        && ok_first(bytes[0])
        && bytes[1..].iter().all(|&b| ok_rest(b))
        && !name.contains("..");
    if valid {
        Ok(())
    } else {
        Err(SandboxError::InvalidFileName(
            name.chars().take(120).collect(),
        ))
    }
}

/// Checks names, duplicates and the entry; returns the resolved entry file name.
fn validate_spec(spec: &RunSpec, lang: &Language) -> Result<String, SandboxError> {
    if spec.files.is_empty() {
        return Err(SandboxError::InvalidRequest("no files to run".into()));
    }
    if spec.files.len() > MAX_FILES {
        return Err(SandboxError::TooLarge {
            what: "file count".into(),
            limit: MAX_FILES as u64,
            actual: spec.files.len() as u64,
        });
    }
    let mut seen = std::collections::HashSet::new();
    for f in &spec.files {
        validate_file_name(&f.name)?;
        if !seen.insert(f.name.as_str()) {
            return Err(SandboxError::InvalidRequest(format!(
                "duplicate file name {:?}",
                f.name
            )));
        }
    }
    let entry = match &spec.entry {
        Some(e) => {
            validate_file_name(e)?;
            if !seen.contains(e.as_str()) {
                return Err(SandboxError::InvalidRequest(format!(
                    "entry {e:?} is not one of the files"
                )));
            }
            e.clone()
        }
        None => lang
            .pick_entry(spec.files.iter().map(|f| f.name.as_str()))
            .ok_or_else(|| {
                SandboxError::InvalidRequest(format!(
                    "no {} file to run (expected {})",
                    lang.name, lang.default_file
                ))
            })?,
    };
    if spec.limits.output_bytes == 0 || spec.limits.memory_mb == 0 || spec.limits.tmpfs_mb == 0 {
        return Err(SandboxError::InvalidRequest(
            "limits must be positive".into(),
        ));
    }
    if spec.limits.pids <= 0 || !spec.limits.cpus.is_finite() || spec.limits.cpus <= 0.0 {
        return Err(SandboxError::InvalidRequest(
            "limits must be positive".into(),
        ));
    }
    // Everything lands on the run's tmpfs: leave room for build outputs.
    let input = spec.input_bytes();
    let limit = spec.limits.tmpfs_mb * 1024 * 1024 / 2;
    if input > limit {
        return Err(SandboxError::TooLarge {
            what: "sources and stdin".into(),
            limit,
            actual: input,
        });
    }
    Ok(entry)
}

/// The language of `spec` (with its REPL as the run step for a REPL) and its entry file, once
/// the request passed every check of [`validate_spec`] and its input fits `max_input_bytes`.
pub(crate) fn resolve_run(
    spec: &RunSpec,
    languages: &LanguageTable,
    max_input_bytes: u64,
) -> Result<(Language, String), SandboxError> {
    let lang = languages
        .get(&spec.language)
        .ok_or_else(|| SandboxError::UnknownLanguage(spec.language.clone()))?;
    let lang = match spec.repl {
        false => lang.clone(),
        true => lang
            .for_repl()
            .ok_or_else(|| SandboxError::InvalidRequest(format!("{} has no REPL", lang.name)))?,
    };
    let entry = validate_spec(spec, &lang)?;
    let input = spec.input_bytes();
    if input > max_input_bytes {
        return Err(SandboxError::TooLarge {
            what: "sources and stdin".into(),
            limit: max_input_bytes,
            actual: input,
        });
    }
    Ok((lang, entry))
}

/// `128+n` exit statuses as signal names.
pub fn signal_name(n: i64) -> Option<&'static str> {
    Some(match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        16 => "SIGSTKFLT",
        17 => "SIGCHLD",
        18 => "SIGCONT",
        19 => "SIGSTOP",
        20 => "SIGTSTP",
        21 => "SIGTTIN",
        22 => "SIGTTOU",
        23 => "SIGURG",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        26 => "SIGVTALRM",
        27 => "SIGPROF",
        28 => "SIGWINCH",
        29 => "SIGIO",
        30 => "SIGPWR",
        31 => "SIGSYS",
        _ => return None,
    })
}

/// Signal implied by a shell-style exit status (`128+n`).
pub(crate) fn signal_from_status(code: i64) -> Option<String> {
    if code > 128 && code < 128 + 32 {
        signal_name(code - 128).map(str::to_string)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        for ok in [
            "main.py",
            "Main.java",
            "a",
            "_x",
            "a-b.c",
            "A1_.tar.gz",
            &"x".repeat(100),
        ] {
            validate_file_name(ok).unwrap();
        }
        for bad in [
            "",
            "../x",
            "a/b",
            ".env",
            "..",
            "a..b",
            "a\0b",
            "-rf",
            "a b",
            "a;b",
            "$(x)",
            "a'b",
            "é.py",
            "/etc/passwd",
            "a\\b",
            &"x".repeat(101),
        ] {
            assert!(validate_file_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn signals() {
        assert_eq!(signal_from_status(137).as_deref(), Some("SIGKILL"));
        assert_eq!(signal_from_status(139).as_deref(), Some("SIGSEGV"));
        assert_eq!(signal_from_status(1), None);
        assert_eq!(signal_from_status(128), None);
        assert_eq!(signal_from_status(255), None);
    }
}
