//! Interactive terminal sessions (SPEC §6): a shell with a TTY inside a long-lived, per-pad
//! **session container** — never on the host, except the explicit local development fallback.
//!
//! A session container gets exactly the controls of a run container: the host configuration is
//! built by the same function (`docker::sandbox_host_config`: no network, private IPC, read-only
//! root, bounded tmpfs `/tmp`, no capabilities, `no-new-privileges` + seccomp, uid 65534, pids /
//! nofile / memory / CPU limits, no mounts, log driver `none`), the same minimal environment and
//! the same labels (so the start-up sweep of a later server removes what a crashed one left).
//! What differs is what runs in it:
//!
//! 1. PID 1 is an idle loop that reaps orphans and **exits by itself after the session's hard
//!    lifetime** (a safety net should the server die without cleaning up: PID 1 gone, the kernel
//!    kills everything else in the container);
//! 2. the pad's files are written into the workspace `/tmp/work` (on the tmpfs) by an exec whose
//!    stdin receives a tar — sources only, never a bind mount; [`TerminalSession::sync_files`]
//!    repeats this at any time;
//! 3. the shell (`bash -i`, `sh -i` if bash is missing) is a second exec with a TTY, uid 65534,
//!    `HOME=/tmp`, cwd the workspace. Its byte stream is taken over by hand (HTTP upgrade on the
//!    daemon socket) rather than through bollard's exec stream: that decoder guesses framing
//!    from the first byte of each read, so a program printing `\x01` would stall the stream and
//!    grow its buffer without limit. Resizes go through the exec resize API.
//!
//! [`TerminalSession::close`] (or dropping the session) force-removes the container.
//!
//! The local fallback ([`TerminalSession::start_local`]) is a PTY on the host running a shell in
//! a private temp dir with an empty environment, its own session and process group, and a few
//! rlimits. It has NO isolation; the caller must only use it when explicitly enabled for
//! development, and say so loudly.
//!
//! Must not: bind-mount anything, pass host environment into a session, or log what is typed.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, ExecConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ResizeExecOptions,
};
use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

use crate::docker::{
    base_env, is_connection_error, load_seccomp_profile, owner_id, remove_container,
    sandbox_host_config, status_of, DEFAULT_IMAGE, INSTANCE_LABEL, OWNER_LABEL, SANDBOX_LABEL,
    SANDBOX_USER,
};
use crate::metrics::Metrics;
use crate::{validate_file_name, RunLimits, SandboxError, SourceFile, MAX_FILES};

/// Label carrying the caller's session key (the server uses `pad-<id>`); lets tests and
/// operators find a pad's terminal container.
pub const TERMINAL_LABEL: &str = "opencoder.terminal";
/// The workspace inside the container (on the tmpfs), where the pad's files are written.
pub const WORKDIR: &str = "/tmp/work";
/// Events buffered between the session's reader and its consumer. The reader waits when the
/// consumer is behind (the shell then blocks on its TTY): memory stays bounded.
pub const EVENT_BUFFER: usize = 32;
/// Largest single read from the shell's output.
const READ_CHUNK: usize = 16 * 1024;
/// Largest response head of the daemon's upgrade answer.
const MAX_UPGRADE_HEAD: usize = 8 * 1024;
/// A write the shell does not take within this long fails (it is not reading its TTY).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

const SHELL_CMD: &str =
    "if [ -x /bin/bash ]; then exec /bin/bash --noprofile --norc -i; fi; exec /bin/sh -i";
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
            max_files_bytes: 16 * 1024 * 1024,
            lifetime: Duration::from_secs(2 * 3600),
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

/// Where the Docker daemon listens (for the hand-made upgrade of the shell's stream).
#[derive(Debug, Clone)]
enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
    Unsupported(String),
}

impl Endpoint {
    fn from_env() -> Endpoint {
        match std::env::var("DOCKER_HOST") {
            Err(_) => Endpoint::Unix(PathBuf::from("/var/run/docker.sock")),
            Ok(h) if h.trim().is_empty() => Endpoint::Unix(PathBuf::from("/var/run/docker.sock")),
            Ok(h) => {
                let h = h.trim();
                if let Some(p) = h.strip_prefix("unix://") {
                    Endpoint::Unix(PathBuf::from(p))
                } else if let Some(a) = h.strip_prefix("tcp://") {
                    if std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty()) {
                        Endpoint::Unsupported(format!(
                            "DOCKER_HOST {h} with TLS is not supported for terminals"
                        ))
                    } else {
                        Endpoint::Tcp(a.trim_end_matches('/').to_string())
                    }
                } else {
                    Endpoint::Unsupported(format!("DOCKER_HOST {h} is not supported for terminals"))
                }
            }
        }
    }
}

/// Configuration of the Docker side of terminals.
#[derive(Debug, Clone)]
pub struct TerminalDockerConfig {
    pub image: String,
    /// Same meaning as `DockerConfig::seccomp_profile` (the runs' profile should be passed here).
    pub seccomp_profile: Option<PathBuf>,
    /// Upper bound of every Docker API call.
    pub call_timeout: Duration,
}

impl Default for TerminalDockerConfig {
    fn default() -> Self {
        Self {
            image: DEFAULT_IMAGE.into(),
            seccomp_profile: None,
            call_timeout: Duration::from_secs(20),
        }
    }
}

/// A connection to the Docker daemon for terminal sessions. Cheap to clone.
#[derive(Clone)]
pub struct TerminalDocker {
    inner: Arc<DockerInner>,
}

struct DockerInner {
    docker: Docker,
    endpoint: Endpoint,
    image: String,
    seccomp: Option<String>,
    instance: String,
    call_timeout: Duration,
    metrics: Metrics,
}

impl std::fmt::Debug for TerminalDocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalDocker")
            .field("instance", &self.inner.instance)
            .finish()
    }
}

fn docker_err(what: &str, e: DockerError) -> SandboxError {
    if is_connection_error(&e) {
        SandboxError::Unavailable(format!("docker daemon unreachable ({what}): {e}"))
    } else {
        SandboxError::Internal(format!("docker {what}: {e}"))
    }
}

impl TerminalDocker {
    /// Builds the client (honouring `DOCKER_HOST`); does not contact the daemon yet.
    pub fn new(cfg: TerminalDockerConfig) -> Result<Self, SandboxError> {
        let docker = Docker::connect_with_defaults()
            .map_err(|e| SandboxError::Internal(format!("docker client: {e}")))?
            .with_timeout(cfg.call_timeout.max(Duration::from_secs(5)));
        let seccomp = load_seccomp_profile(cfg.seccomp_profile.as_deref())?;
        Ok(Self {
            inner: Arc::new(DockerInner {
                docker,
                endpoint: Endpoint::from_env(),
                image: cfg.image,
                seccomp,
                instance: uuid::Uuid::new_v4().simple().to_string(),
                call_timeout: cfg.call_timeout,
                metrics: Metrics::new(),
            }),
        })
    }

    /// The underlying client (tests inspect containers with it).
    pub fn docker(&self) -> &Docker {
        &self.inner.docker
    }

    /// Value of the `opencoder.sandbox.instance` label on this client's containers.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance
    }

    async fn call<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, DockerError>>,
    ) -> Result<T, SandboxError> {
        match tokio::time::timeout(self.inner.call_timeout, fut).await {
            Err(_) => Err(SandboxError::Unavailable(format!(
                "docker {what} timed out after {:?}",
                self.inner.call_timeout
            ))),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(docker_err(what, e)),
        }
    }

    /// Daemon reachable and the image present.
    pub async fn check(&self) -> Result<(), SandboxError> {
        if let Endpoint::Unsupported(m) = &self.inner.endpoint {
            return Err(SandboxError::Unavailable(m.clone()));
        }
        self.call("ping", self.inner.docker.ping()).await?;
        match tokio::time::timeout(
            self.inner.call_timeout,
            self.inner.docker.inspect_image(&self.inner.image),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if status_of(&e) == Some(404) => Err(missing_image(&self.inner.image)),
            Ok(Err(e)) => Err(docker_err("image inspect", e)),
            Err(_) => Err(SandboxError::Unavailable(
                "docker image inspect timed out".into(),
            )),
        }
    }

    /// Ids of the terminal containers this client created that still exist (`key`: only that
    /// session key's).
    pub async fn containers(&self, key: Option<&str>) -> Result<Vec<String>, SandboxError> {
        let mut labels = vec![format!("{INSTANCE_LABEL}={}", self.inner.instance)];
        labels.push(match key {
            Some(k) => format!("{TERMINAL_LABEL}={k}"),
            None => TERMINAL_LABEL.to_string(),
        });
        let filters: HashMap<&str, Vec<&str>> =
            HashMap::from([("label", labels.iter().map(String::as_str).collect())]);
        let opts = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .call("list", self.inner.docker.list_containers(Some(opts)))
            .await?;
        Ok(list.into_iter().filter_map(|c| c.id).collect())
    }

    /// Force-removes every terminal container of this client (shutdown). Returns how many.
    pub async fn remove_all(&self) -> Result<usize, SandboxError> {
        let ids = self.containers(None).await?;
        let n = ids.len();
        futures_util::stream::iter(ids)
            .for_each_concurrent(4, |id| async move { self.remove(&id).await })
            .await;
        Ok(n)
    }

    async fn remove(&self, id: &str) {
        remove_container(
            &self.inner.docker,
            id,
            self.inner.call_timeout,
            &self.inner.metrics,
        )
        .await;
    }

    fn spawn_remove(&self, id: String) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let this = self.clone();
            handle.spawn(async move { this.remove(&id).await });
        }
    }

    /// The create body of a session container: the run containers' host configuration and
    /// environment, an idle PID 1 that exits after `limits.lifetime`.
    fn container_body(&self, limits: &TerminalLimits, key: &str) -> ContainerCreateBody {
        let host = sandbox_host_config(&limits.run_limits(), self.inner.seccomp.as_deref());
        let labels = HashMap::from([
            (SANDBOX_LABEL.to_string(), "1".to_string()),
            (INSTANCE_LABEL.to_string(), self.inner.instance.clone()),
            (OWNER_LABEL.to_string(), owner_id().to_string()),
            (TERMINAL_LABEL.to_string(), key.to_string()),
        ]);
        ContainerCreateBody {
            image: Some(self.inner.image.clone()),
            entrypoint: Some(vec!["/bin/sh".into()]),
            cmd: Some(vec!["-c".into(), idle_script(limits.lifetime)]),
            env: Some(base_env()),
            user: Some(SANDBOX_USER.into()),
            working_dir: Some("/tmp".into()),
            hostname: Some("sandbox".into()),
            stop_signal: Some("SIGKILL".into()),
            stop_timeout: Some(1),
            attach_stdin: Some(false),
            attach_stdout: Some(false),
            attach_stderr: Some(false),
            open_stdin: Some(false),
            tty: Some(false),
            network_disabled: Some(true),
            labels: Some(labels),
            host_config: Some(host),
            ..Default::default()
        }
    }
}

fn missing_image(image: &str) -> SandboxError {
    SandboxError::Unavailable(format!(
        "sandbox image {image:?} not found on the Docker daemon; build it with scripts/build-runner-image.sh"
    ))
}

/// PID 1 of a session container: sleeps (reaping orphans: `wait` collects any child), and exits
/// once the lifetime is over.
fn idle_script(lifetime: Duration) -> String {
    let rounds = lifetime.as_secs().div_ceil(5).max(1) + 1;
    format!("i=0; while [ $i -lt {rounds} ]; do sleep 5 & wait $!; i=$((i+1)); done; exit 0")
}

/// Checks the files (names, count, size) and builds the tar written into the workspace.
fn workspace_tar(files: &[SourceFile], limits: &TerminalLimits) -> Result<Vec<u8>, SandboxError> {
    if files.len() > MAX_FILES {
        return Err(SandboxError::TooLarge {
            what: "file count".into(),
            limit: MAX_FILES as u64,
            actual: files.len() as u64,
        });
    }
    let mut seen = std::collections::HashSet::new();
    for f in files {
        validate_file_name(&f.name)?;
        if !seen.insert(f.name.as_str()) {
            return Err(SandboxError::InvalidRequest(format!(
                "duplicate file name {:?}",
                f.name
            )));
        }
    }
    let total: u64 = files.iter().map(|f| f.content.len() as u64).sum();
    let limit = limits
        .max_files_bytes
        .min(limits.tmpfs_mb * 1024 * 1024 / 2);
    if total > limit {
        return Err(SandboxError::TooLarge {
            what: "files".into(),
            limit,
            actual: total,
        });
    }
    let mtime = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1);
    let mut b = tar::Builder::new(Vec::with_capacity(
        total as usize + files.len() * 1024 + 1024,
    ));
    for f in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(65534);
        h.set_gid(65534);
        h.set_mtime(mtime);
        h.set_size(f.content.len() as u64);
        // Names were validated (single segment, no '..'): every entry stays in the workspace.
        b.append_data(&mut h, &f.name, &f.content[..])
            .map_err(|e| SandboxError::Internal(format!("building the files archive: {e}")))?;
    }
    b.into_inner()
        .map_err(|e| SandboxError::Internal(format!("building the files archive: {e}")))
}

/// The shell's environment: the sandbox's own minimal one plus terminal variables.
fn shell_env() -> Vec<String> {
    let mut env = base_env();
    env.push("TERM=xterm-256color".into());
    env.push("COLORTERM=truecolor".into());
    env.push(format!("PS1={PROMPT}"));
    env
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// `POST /exec/{id}/start` with `Upgrade: tcp`, done by hand so the TTY's bytes arrive
/// untouched. Returns the raw connection and any output that came with the response head.
async fn hijack_exec(
    endpoint: &Endpoint,
    exec_id: &str,
    size: TermSize,
) -> Result<(Box<dyn Io>, Vec<u8>), SandboxError> {
    let mut conn: Box<dyn Io> = match endpoint {
        Endpoint::Unix(path) => {
            Box::new(tokio::net::UnixStream::connect(path).await.map_err(|e| {
                SandboxError::Unavailable(format!("docker socket {}: {e}", path.display()))
            })?)
        }
        Endpoint::Tcp(addr) => Box::new(
            tokio::net::TcpStream::connect(addr.as_str())
                .await
                .map_err(|e| SandboxError::Unavailable(format!("docker at {addr}: {e}")))?,
        ),
        Endpoint::Unsupported(m) => return Err(SandboxError::Unavailable(m.clone())),
    };
    let body = serde_json::json!({
        "Detach": false,
        "Tty": true,
        "ConsoleSize": [size.rows, size.cols],
    })
    .to_string();
    let request = format!(
        "POST /exec/{exec_id}/start HTTP/1.1\r\nHost: docker\r\nUser-Agent: opencoder-terminal\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes())
        .await
        .map_err(|e| SandboxError::Unavailable(format!("docker exec start: {e}")))?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let end = loop {
        if let Some(p) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if head.len() > MAX_UPGRADE_HEAD {
            return Err(SandboxError::Internal(
                "docker exec start: oversized response head".into(),
            ));
        }
        let n = conn
            .read(&mut buf)
            .await
            .map_err(|e| SandboxError::Unavailable(format!("docker exec start: {e}")))?;
        if n == 0 {
            return Err(SandboxError::Internal(
                "docker exec start: connection closed".into(),
            ));
        }
        head.extend_from_slice(&buf[..n]);
    };
    let status_line =
        String::from_utf8_lossy(&head[..head.iter().position(|&b| b == b'\r').unwrap_or(0)])
            .to_string();
    let status = status_line.split(' ').nth(1).unwrap_or("");
    if status != "101" && status != "200" {
        let text = String::from_utf8_lossy(&head[end..])
            .chars()
            .take(300)
            .collect::<String>();
        return Err(SandboxError::Internal(format!(
            "docker exec start answered {status_line:?} {text}"
        )));
    }
    let rest = head[end..].to_vec();
    Ok((conn, rest))
}

/// One interactive shell (see the module docs). Dropping it removes the container.
pub struct TerminalSession {
    kind: Kind,
    closed: AtomicBool,
    reader: JoinHandle<()>,
}

enum Kind {
    Docker(DockerSession),
    Local(LocalSession),
}

struct DockerSession {
    docker: TerminalDocker,
    container: String,
    exec: String,
    input: Mutex<Pin<Box<dyn AsyncWrite + Send>>>,
    limits: TerminalLimits,
}

impl std::fmt::Debug for TerminalSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Docker(d) => f
                .debug_struct("TerminalSession")
                .field("container", &d.container)
                .finish(),
            Kind::Local(l) => f
                .debug_struct("TerminalSession")
                .field("local_pid", &l.pid)
                .finish(),
        }
    }
}

/// Removes the container unless disarmed (failures half-way through `start`).
struct StartGuard<'a> {
    docker: &'a TerminalDocker,
    id: Option<String>,
}

impl Drop for StartGuard<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.docker.spawn_remove(id);
        }
    }
}

/// Writes `tar` into the workspace through an exec's stdin (tar -x as uid 65534).
async fn write_workspace(
    docker: &TerminalDocker,
    container: &str,
    tar: Vec<u8>,
) -> Result<(), SandboxError> {
    let d = &docker.inner.docker;
    let exec = docker
        .call(
            "exec create",
            d.create_exec(
                container,
                ExecConfig {
                    attach_stdin: Some(true),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    tty: Some(false),
                    cmd: Some(vec![
                        "/bin/sh".into(),
                        "-c".into(),
                        format!("mkdir -p {WORKDIR} && tar -x -m -f - -C {WORKDIR}"),
                    ]),
                    env: Some(base_env()),
                    user: Some(SANDBOX_USER.into()),
                    working_dir: Some("/tmp".into()),
                    ..Default::default()
                },
            ),
        )
        .await?;
    let started = docker
        .call(
            "exec start",
            d.start_exec(
                &exec.id,
                Some(StartExecOptions {
                    detach: false,
                    tty: false,
                    output_capacity: None,
                }),
            ),
        )
        .await?;
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = started
    else {
        return Err(SandboxError::Internal("exec start did not attach".into()));
    };
    let work = async {
        let writer = async {
            input.write_all(&tar).await?;
            input.flush().await?;
            input.shutdown().await
        };
        let mut stderr = Vec::new();
        let reader = async {
            while let Some(item) = output.next().await {
                if let Ok(LogOutput::StdErr { message } | LogOutput::StdOut { message }) = item {
                    let room = 2048usize.saturating_sub(stderr.len());
                    stderr.extend_from_slice(&message[..message.len().min(room)]);
                }
            }
        };
        let (w, ()) = tokio::join!(writer, reader);
        (w, stderr)
    };
    let (written, stderr) = tokio::time::timeout(docker.inner.call_timeout, work)
        .await
        .map_err(|_| SandboxError::Unavailable("writing the workspace timed out".into()))?;
    let info = docker
        .call("exec inspect", d.inspect_exec(&exec.id))
        .await?;
    match info.exit_code {
        Some(0) => Ok(()),
        code => Err(SandboxError::Internal(format!(
            "writing the workspace failed (exit {code:?}{}): {}",
            written.err().map(|e| format!(", {e}")).unwrap_or_default(),
            String::from_utf8_lossy(&stderr).trim()
        ))),
    }
}

impl TerminalSession {
    /// Creates and starts a session container labelled `key`, writes `files` into its
    /// workspace and starts the shell at `size`. Events (output, then exit) arrive on the
    /// returned receiver.
    pub async fn start(
        docker: &TerminalDocker,
        limits: &TerminalLimits,
        key: &str,
        files: &[SourceFile],
        size: TermSize,
    ) -> Result<(TerminalSession, mpsc::Receiver<TerminalEvent>), SandboxError> {
        let tar = workspace_tar(files, limits)?;
        if let Endpoint::Unsupported(m) = &docker.inner.endpoint {
            return Err(SandboxError::Unavailable(m.clone()));
        }
        let d = &docker.inner.docker;
        let name = format!("oc-term-{}", uuid::Uuid::new_v4().simple());
        let opts = CreateContainerOptionsBuilder::new().name(&name).build();
        let created = match tokio::time::timeout(
            docker.inner.call_timeout,
            d.create_container(Some(opts), docker.container_body(limits, key)),
        )
        .await
        {
            Err(_) => return Err(SandboxError::Unavailable("docker create timed out".into())),
            Ok(Err(e)) if status_of(&e) == Some(404) => {
                return Err(missing_image(&docker.inner.image))
            }
            Ok(Err(e)) => return Err(docker_err("create", e)),
            Ok(Ok(c)) => c,
        };
        let mut guard = StartGuard {
            docker,
            id: Some(created.id.clone()),
        };
        let container = created.id;
        docker
            .call("start", d.start_container(&container, None))
            .await?;
        write_workspace(docker, &container, tar).await?;

        let exec = docker
            .call(
                "exec create",
                d.create_exec(
                    &container,
                    ExecConfig {
                        attach_stdin: Some(true),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        tty: Some(true),
                        console_size: Some(vec![size.rows as usize, size.cols as usize]),
                        cmd: Some(vec!["/bin/sh".into(), "-c".into(), SHELL_CMD.into()]),
                        env: Some(shell_env()),
                        user: Some(SANDBOX_USER.into()),
                        working_dir: Some(WORKDIR.into()),
                        ..Default::default()
                    },
                ),
            )
            .await?
            .id;
        let (conn, first) = hijack_exec(&docker.inner.endpoint, &exec, size).await?;
        let (mut read, write) = tokio::io::split(conn);
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let reader_docker = docker.clone();
        let reader_exec = exec.clone();
        let reader = tokio::spawn(async move {
            if !first.is_empty() && tx.send(TerminalEvent::Output(first.into())).await.is_err() {
                return;
            }
            let mut buf = bytes::BytesMut::with_capacity(READ_CHUNK);
            loop {
                buf.reserve(READ_CHUNK);
                match read.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let chunk = buf.split().freeze();
                        if tx.send(TerminalEvent::Output(chunk)).await.is_err() {
                            return;
                        }
                    }
                }
            }
            let code = match reader_docker
                .call(
                    "exec inspect",
                    reader_docker.inner.docker.inspect_exec(&reader_exec),
                )
                .await
            {
                Ok(info) => info.exit_code,
                Err(_) => None,
            };
            let _ = tx.send(TerminalEvent::Exited { code }).await;
        });
        guard.id = None;
        let session = TerminalSession {
            kind: Kind::Docker(DockerSession {
                docker: docker.clone(),
                container,
                exec,
                input: Mutex::new(Box::pin(write)),
                limits: limits.clone(),
            }),
            closed: AtomicBool::new(false),
            reader,
        };
        // The daemon applies a resize only once the process runs; the first tries may be early.
        for _ in 0..5 {
            if session.resize(size).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok((session, rx))
    }

    /// The session container's id (`None` for a local session).
    pub fn container_id(&self) -> Option<&str> {
        match &self.kind {
            Kind::Docker(d) => Some(&d.container),
            Kind::Local(_) => None,
        }
    }

    /// Whether this is the unisolated local fallback.
    pub fn is_local(&self) -> bool {
        matches!(self.kind, Kind::Local(_))
    }

    /// Sends raw input (keystrokes, pastes) to the shell's TTY.
    pub async fn write(&self, bytes: &[u8]) -> Result<(), SandboxError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(SandboxError::Unavailable("the terminal is closed".into()));
        }
        match &self.kind {
            Kind::Docker(d) => {
                let mut input = d.input.lock().await;
                let write = async {
                    input.write_all(bytes).await?;
                    input.flush().await
                };
                match tokio::time::timeout(WRITE_TIMEOUT, write).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(SandboxError::Unavailable(format!(
                        "the terminal's input is closed: {e}"
                    ))),
                    Err(_) => Err(SandboxError::Unavailable(
                        "the terminal is not reading its input".into(),
                    )),
                }
            }
            Kind::Local(l) => l.write(bytes).await,
        }
    }

    /// Resizes the TTY.
    pub async fn resize(&self, size: TermSize) -> Result<(), SandboxError> {
        match &self.kind {
            Kind::Docker(d) => {
                d.docker
                    .call(
                        "exec resize",
                        d.docker.inner.docker.resize_exec(
                            &d.exec,
                            ResizeExecOptions {
                                h: size.rows as i32,
                                w: size.cols as i32,
                            },
                        ),
                    )
                    .await
            }
            Kind::Local(l) => l.resize(size),
        }
    }

    /// Writes (overwrites) `files` into the workspace; other files there are left alone.
    pub async fn sync_files(&self, files: &[SourceFile]) -> Result<(), SandboxError> {
        match &self.kind {
            Kind::Docker(d) => {
                let tar = workspace_tar(files, &d.limits)?;
                write_workspace(&d.docker, &d.container, tar).await
            }
            Kind::Local(l) => l.sync_files(files),
        }
    }

    /// Ends the session: force-removes the container (everything in it dies), or kills the
    /// local shell's process group and removes its directory. Idempotent.
    pub async fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.reader.abort();
        match &self.kind {
            Kind::Docker(d) => d.docker.remove(&d.container).await,
            Kind::Local(l) => l.kill(),
        }
    }
}

impl Drop for TerminalSession {
    fn drop(&mut self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.reader.abort();
        match &self.kind {
            Kind::Docker(d) => d.docker.spawn_remove(d.container.clone()),
            Kind::Local(l) => l.kill(),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Local development fallback: a PTY on the host. NO ISOLATION.

/// Configuration of the local fallback.
#[derive(Debug, Clone)]
pub struct LocalTerminalConfig {
    /// PATH of the shell (its only way to find programs).
    pub path: String,
    /// Where the private session directories are created (default: the system temp dir).
    pub temp_root: Option<PathBuf>,
    pub limits: TerminalLimits,
}

impl Default for LocalTerminalConfig {
    fn default() -> Self {
        Self {
            path: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            temp_root: None,
            limits: TerminalLimits::default(),
        }
    }
}

struct LocalSession {
    master: Arc<tokio::io::unix::AsyncFd<OwnedFd>>,
    pid: libc::pid_t,
    dir: tempfile::TempDir,
    limits: TerminalLimits,
}

fn set_nonblocking(fd: i32) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn winsize(size: TermSize) -> libc::winsize {
    libc::winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl LocalSession {
    fn workspace(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    async fn write(&self, bytes: &[u8]) -> Result<(), SandboxError> {
        let mut rest = bytes;
        let deadline = tokio::time::Instant::now() + WRITE_TIMEOUT;
        while !rest.is_empty() {
            let mut guard = tokio::time::timeout_at(deadline, self.master.writable())
                .await
                .map_err(|_| {
                    SandboxError::Unavailable("the terminal is not reading its input".into())
                })?
                .map_err(|e| SandboxError::Unavailable(format!("terminal input: {e}")))?;
            let res = guard.try_io(|fd| {
                // SAFETY: write from a valid buffer to a descriptor we own.
                let n = unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match res {
                Ok(Ok(n)) => rest = &rest[n..],
                Ok(Err(e)) => {
                    return Err(SandboxError::Unavailable(format!("terminal input: {e}")))
                }
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    fn resize(&self, size: TermSize) -> Result<(), SandboxError> {
        let ws = winsize(size);
        // SAFETY: TIOCSWINSZ with a valid winsize on our PTY master.
        if unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
            return Err(SandboxError::Internal(format!(
                "terminal resize: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    fn sync_files(&self, files: &[SourceFile]) -> Result<(), SandboxError> {
        write_local_files(&self.workspace(), files, &self.limits)
    }

    fn kill(&self) {
        // SAFETY: signalling the shell's own process group (it called setsid, pgid == pid).
        unsafe {
            libc::killpg(self.pid, libc::SIGKILL);
        }
    }
}

fn write_local_files(
    dir: &Path,
    files: &[SourceFile],
    limits: &TerminalLimits,
) -> Result<(), SandboxError> {
    // Same checks as the container's workspace.
    workspace_tar(files, limits)?;
    for f in files {
        std::fs::write(dir.join(&f.name), &f.content)
            .map_err(|e| SandboxError::Internal(format!("writing {}: {e}", f.name)))?;
    }
    Ok(())
}

impl TerminalSession {
    /// The local development fallback: a shell on a host PTY in a private temp dir, with an
    /// empty environment (PATH, HOME = the session dir, TERM, LANG), its own session and
    /// process group, and rlimits on core dumps, file size and open files. **No isolation**:
    /// only call this when the operator explicitly enabled it, and flag it loudly.
    pub async fn start_local(
        cfg: &LocalTerminalConfig,
        files: &[SourceFile],
        size: TermSize,
    ) -> Result<(TerminalSession, mpsc::Receiver<TerminalEvent>), SandboxError> {
        use std::os::unix::process::CommandExt;
        let internal =
            |what: &str, e: std::io::Error| SandboxError::Internal(format!("{what}: {e}"));
        let dir = match &cfg.temp_root {
            Some(root) => tempfile::Builder::new().prefix("oc-term-").tempdir_in(root),
            None => tempfile::Builder::new().prefix("oc-term-").tempdir(),
        }
        .map_err(|e| internal("terminal directory", e))?;
        let work = dir.path().join("work");
        std::fs::create_dir(&work).map_err(|e| internal("terminal directory", e))?;
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700));
        }
        write_local_files(&work, files, &cfg.limits)?;

        let mut master: libc::c_int = -1;
        let mut slave: libc::c_int = -1;
        let ws = winsize(size);
        // SAFETY: openpty with valid out-pointers and a winsize; no name buffer, default termios.
        if unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &ws,
            )
        } != 0
        {
            return Err(internal("openpty", std::io::Error::last_os_error()));
        }
        // SAFETY: openpty returned two fresh descriptors that we now own.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        // SAFETY: FD_CLOEXEC on our master so the shell does not inherit it.
        unsafe {
            libc::fcntl(master.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
        }
        let shell = if Path::new("/bin/bash").exists() {
            "/bin/bash"
        } else {
            "/bin/sh"
        };
        let mut cmd = std::process::Command::new(shell);
        if shell == "/bin/bash" {
            cmd.args(["--noprofile", "--norc", "-i"]);
        } else {
            cmd.arg("-i");
        }
        let stdio = |fd: &OwnedFd| fd.try_clone().map(std::process::Stdio::from);
        cmd.env_clear()
            .env("PATH", &cfg.path)
            .env("HOME", dir.path())
            .env("TMPDIR", dir.path())
            .env("LANG", "C.UTF-8")
            .env("TERM", "xterm-256color")
            .env("PS1", PROMPT)
            .current_dir(&work)
            .stdin(stdio(&slave).map_err(|e| internal("pty", e))?)
            .stdout(stdio(&slave).map_err(|e| internal("pty", e))?)
            .stderr(stdio(&slave).map_err(|e| internal("pty", e))?);
        let fsize = cfg.limits.tmpfs_mb * 1024 * 1024;
        // SAFETY: only async-signal-safe calls (setsid, ioctl, setrlimit) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY as _, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                let set = |res, v: u64| {
                    let r = libc::rlimit {
                        rlim_cur: v as libc::rlim_t,
                        rlim_max: v as libc::rlim_t,
                    };
                    libc::setrlimit(res, &r)
                };
                set(libc::RLIMIT_CORE, 0);
                set(libc::RLIMIT_FSIZE, fsize);
                set(libc::RLIMIT_NOFILE, 256);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| internal("starting the local shell", e))?;
        drop(slave);
        let pid = child.id() as libc::pid_t;
        set_nonblocking(master.as_raw_fd()).map_err(|e| internal("pty", e))?;
        // SAFETY: an OwnedFd keeps its descriptor open and unchanged until the AsyncFd drops it.
        let master = Arc::new(
            unsafe { tokio::io::unix::AsyncFd::register(master) }
                .map_err(|e| internal("pty", e.into()))?,
        );
        tracing::warn!(
            pid,
            dir = %dir.path().display(),
            "LOCAL TERMINAL started: a shell on the HOST without isolation (development only)"
        );
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let reader_master = master.clone();
        let reader = tokio::spawn(async move {
            let mut child = child;
            let mut buf = vec![0u8; READ_CHUNK];
            loop {
                let Ok(mut guard) = reader_master.readable().await else {
                    break;
                };
                let res = guard.try_io(|fd| {
                    // SAFETY: read into a valid buffer from a descriptor we own.
                    let n =
                        unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                    if n < 0 {
                        Err(std::io::Error::last_os_error())
                    } else {
                        Ok(n as usize)
                    }
                });
                match res {
                    // EIO: every slave side is closed (the shell and its children are gone).
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => {
                        if tx
                            .send(TerminalEvent::Output(Bytes::copy_from_slice(&buf[..n])))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    Err(_would_block) => continue,
                }
            }
            let code =
                tokio::task::spawn_blocking(move || child.wait().ok().and_then(|s| s.code()))
                    .await
                    .ok()
                    .flatten()
                    .map(i64::from);
            let _ = tx.send(TerminalEvent::Exited { code }).await;
        });
        Ok((
            TerminalSession {
                kind: Kind::Local(LocalSession {
                    master,
                    pid,
                    dir,
                    limits: cfg.limits.clone(),
                }),
                closed: AtomicBool::new(false),
                reader,
            },
            rx,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_containers_get_the_run_containers_controls() {
        let docker = TerminalDocker::new(TerminalDockerConfig::default()).unwrap();
        let limits = TerminalLimits::default();
        let body = docker.container_body(&limits, "pad-1");
        assert_eq!(
            body.host_config,
            Some(sandbox_host_config(&limits.run_limits(), None))
        );
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
        assert!(host.binds.is_none() && host.mounts.is_none());
        assert_eq!(body.user.as_deref(), Some("65534:65534"));
        assert_eq!(body.env, Some(base_env()));
        assert_eq!(body.network_disabled, Some(true));
        let labels = body.labels.unwrap();
        assert_eq!(labels.get(SANDBOX_LABEL).map(String::as_str), Some("1"));
        assert_eq!(
            labels.get(TERMINAL_LABEL).map(String::as_str),
            Some("pad-1")
        );
    }

    #[test]
    fn workspace_tar_checks_names_and_size() {
        let limits = TerminalLimits {
            max_files_bytes: 10,
            ..TerminalLimits::default()
        };
        assert!(workspace_tar(&[SourceFile::new("../x", "a")], &limits).is_err());
        assert!(workspace_tar(&[SourceFile::new("a", "0123456789x")], &limits).is_err());
        let t = workspace_tar(&[SourceFile::new("main.py", "print(1)")], &limits).unwrap();
        let mut a = tar::Archive::new(&t[..]);
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, vec!["main.py"]);
    }

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

    #[test]
    fn idle_script_outlives_the_lifetime() {
        assert!(idle_script(Duration::from_secs(60)).contains("-lt 13 "));
    }

    async fn collect_until(rx: &mut mpsc::Receiver<TerminalEvent>, needle: &str) -> String {
        let mut out = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !out.contains(needle) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(TerminalEvent::Output(b))) => out.push_str(&String::from_utf8_lossy(&b)),
                Ok(Some(TerminalEvent::Exited { code })) => panic!("exited {code:?}: {out}"),
                Ok(None) => panic!("closed: {out}"),
                Err(_) => panic!("timed out waiting for {needle:?}: {out}"),
            }
        }
        out
    }

    #[tokio::test]
    async fn docker_session_runs_a_locked_down_shell() {
        crate::testing::hold_shared_docker_lock();
        let docker = TerminalDocker::new(TerminalDockerConfig::default()).unwrap();
        docker.check().await.expect(
            "docker and the runner image (scripts/ensure-docker.sh, scripts/build-runner-image.sh)",
        );
        let files = [SourceFile::new("hello.txt", "hi from the pad\n")];
        let (session, mut rx) = TerminalSession::start(
            &docker,
            &TerminalLimits::default(),
            "unit-test",
            &files,
            TermSize {
                cols: 100,
                rows: 30,
            },
        )
        .await
        .unwrap();
        session
            .write(b"echo U$(id -u) C$(cat hello.txt | wc -c) S$(stty size | tr ' ' x)\n")
            .await
            .unwrap();
        collect_until(&mut rx, "U65534 C16 S30x100").await;
        // A byte that bollard's exec decoder would take for a frame header.
        session
            .write(b"printf '\\001\\000\\000\\000\\377\\377\\377\\377'; echo; echo AFTER$((1+1))\n")
            .await
            .unwrap();
        collect_until(&mut rx, "AFTER2").await;
        session
            .resize(TermSize { cols: 50, rows: 10 })
            .await
            .unwrap();
        session
            .write(b"stty size | tr ' ' x | sed 's/^/Z/'\n")
            .await
            .unwrap();
        collect_until(&mut rx, "Z10x50").await;
        session
            .sync_files(&[SourceFile::new("new.txt", "x")])
            .await
            .unwrap();
        session
            .write(b"ls | tr '\\n' , | sed 's/^/L/'; echo\n")
            .await
            .unwrap();
        collect_until(&mut rx, "Lhello.txt,new.txt,").await;
        let id = session.container_id().unwrap().to_string();
        assert_eq!(
            docker.containers(Some("unit-test")).await.unwrap(),
            vec![id]
        );
        session.write(b"exit 3\n").await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await.unwrap() {
                Some(TerminalEvent::Exited { code }) => {
                    assert_eq!(code, Some(3));
                    break;
                }
                Some(_) => {}
                None => panic!("no exit event"),
            }
        }
        session.close().await;
        assert!(docker
            .containers(Some("unit-test"))
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn local_session_is_a_pty_in_a_private_dir() {
        let files = [SourceFile::new("a.txt", "local\n")];
        let (session, mut rx) = TerminalSession::start_local(
            &LocalTerminalConfig::default(),
            &files,
            TermSize { cols: 90, rows: 20 },
        )
        .await
        .unwrap();
        assert!(session.is_local());
        session
            .write(b"echo X$(cat a.txt)$(stty size | tr ' ' x) E${JWT_SECRET:-none}\n")
            .await
            .unwrap();
        collect_until(&mut rx, "Xlocal20x90 Enone").await;
        session.close().await;
    }
}
