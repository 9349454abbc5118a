//! Terminal sessions in Docker: a shell with a TTY inside a long-lived, per-pad **session
//! container** — never on the host.
//!
//! A session container gets exactly the controls of a run container (the host configuration,
//! environment and labels come from the same functions, so the start-up sweep of a later server
//! removes what a crashed one left). What differs is what runs in it:
//!
//! 1. PID 1 is an idle loop that reaps orphans and **exits by itself after the session's hard
//!    lifetime** (a safety net should the server die without cleaning up: PID 1 gone, the kernel
//!    kills everything else in the container);
//! 2. the pad's files are written into the workspace [`WORKDIR`] (on the tmpfs) by an exec whose
//!    stdin receives a tar — sources only, never a bind mount; `sync_files` repeats this;
//! 3. the shell (`bash -i`, `sh -i` if bash is missing) is a second exec with a TTY, uid 65534,
//!    `HOME=/tmp`, cwd the workspace, its byte stream taken over by hand (`exec_io`). Resizes go
//!    through the exec resize API.
//!
//! Closing the session (or dropping it) force-removes the container.

use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::ResizeExecOptions;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Mutex};

use super::exec_io::{hijack_exec, sandbox_exec, write_workspace, Endpoint};
use super::workspace::workspace_tar;
use super::{
    Shell, TermSize, TerminalBackend, TerminalEvent, TerminalLimits, TerminalSession, EVENT_BUFFER,
    PROMPT, READ_CHUNK, WRITE_TIMEOUT,
};
use crate::docker::lockdown::{base_env, load_seccomp_profile, sandbox_host_config, SANDBOX_USER};
use crate::docker::{ContainerKind, DockerHost};
use crate::{BackendKind, SandboxError, SourceFile};

/// Label carrying the caller's session key (the server uses `pad-<id>`); lets tests and
/// operators find a pad's terminal container.
pub const TERMINAL_LABEL: &str = "opencoder.terminal";
/// The workspace inside the container (on the tmpfs), where the pad's files are written.
pub const WORKDIR: &str = "/tmp/work";
/// Name prefix of session containers.
const NAME_PREFIX: &str = "oc-term";
/// PID 1 checks whether its lifetime is over this often.
const IDLE_TICK_SECS: u64 = 5;
/// Resize attempts right after the start: the daemon applies a resize only once the process
/// runs, so the first tries may be early.
const START_RESIZE_ATTEMPTS: u32 = 5;
const START_RESIZE_PAUSE: Duration = Duration::from_millis(20);

const SHELL_CMD: &str =
    "if [ -x /bin/bash ]; then exec /bin/bash --noprofile --norc -i; fi; exec /bin/sh -i";

/// Terminal sessions on one [`DockerHost`]. Cheap to clone.
#[derive(Clone)]
pub struct DockerTerminals {
    host: DockerHost,
    endpoint: Endpoint,
    image: String,
    seccomp: Option<String>,
}

impl std::fmt::Debug for DockerTerminals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerTerminals")
            .field("host", &self.host)
            .finish()
    }
}

impl DockerTerminals {
    /// Sessions on `host` in `image`, under the same seccomp profile as runs (`None`: the
    /// daemon's default; `unconfined` is refused). Does not contact the daemon.
    pub fn new(
        host: DockerHost,
        image: String,
        seccomp_profile: Option<&Path>,
    ) -> Result<Self, SandboxError> {
        Ok(Self {
            endpoint: Endpoint::of(&host),
            seccomp: load_seccomp_profile(seccomp_profile)?,
            host,
            image,
        })
    }

    /// The image sessions run in.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The create body of a session container: the run containers' host configuration and
    /// environment, an idle PID 1 that exits after `limits.lifetime`.
    fn container_body(&self, limits: &TerminalLimits, key: &str) -> ContainerCreateBody {
        let host = sandbox_host_config(
            &limits.run_limits(),
            self.seccomp.as_deref(),
            self.host.runtime(),
        );
        let mut labels = self.host.labels(ContainerKind::Terminal);
        labels.insert(TERMINAL_LABEL.to_string(), key.to_string());
        ContainerCreateBody {
            image: Some(self.image.clone()),
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

    /// The shell's exec in `container`, its stream taken over; the reader task relays its
    /// output and, once it ends, its exit code.
    async fn start_shell(
        &self,
        container: &str,
        size: TermSize,
    ) -> Result<
        (
            String,
            Pin<Box<dyn AsyncWrite + Send>>,
            tokio::task::JoinHandle<()>,
            mpsc::Receiver<TerminalEvent>,
        ),
        SandboxError,
    > {
        let d = self.host.docker()?;
        let exec = self
            .host
            .call(
                "exec create",
                d.create_exec(
                    container,
                    sandbox_exec(SHELL_CMD, shell_env(), WORKDIR, Some(size)),
                ),
            )
            .await?
            .id;
        let (conn, first) = hijack_exec(&self.endpoint, &exec, size).await?;
        let (mut read, write) = tokio::io::split(conn);
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let host = self.host.clone();
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
            let code = match host.docker() {
                Ok(d) => host
                    .call("exec inspect", d.inspect_exec(&reader_exec))
                    .await
                    .ok()
                    .and_then(|i| i.exit_code),
                Err(_) => None,
            };
            let _ = tx.send(TerminalEvent::Exited { code }).await;
        });
        Ok((exec, Box::pin(write), reader, rx))
    }
}

#[async_trait]
impl TerminalBackend for DockerTerminals {
    fn kind(&self) -> BackendKind {
        BackendKind::Docker
    }

    async fn check(&self) -> Result<(), SandboxError> {
        if let Endpoint::Unsupported(m) = &self.endpoint {
            return Err(SandboxError::Unavailable(m.clone()));
        }
        if !self.host.check_health().await {
            return Err(SandboxError::Unavailable(self.host.detail()));
        }
        self.host.image_id(&self.image).await.map(drop)
    }

    /// Creates and starts a session container labelled `key`, writes `files` into its
    /// workspace and starts the shell at `size`.
    async fn start(
        &self,
        limits: &TerminalLimits,
        key: &str,
        files: &[SourceFile],
        size: TermSize,
    ) -> Result<(TerminalSession, mpsc::Receiver<TerminalEvent>), SandboxError> {
        let tar = workspace_tar(files, limits)?;
        if let Endpoint::Unsupported(m) = &self.endpoint {
            return Err(SandboxError::Unavailable(m.clone()));
        }
        let container = self
            .host
            .create_started(NAME_PREFIX, self.container_body(limits, key))
            .await?;
        let mut guard = StartGuard {
            host: &self.host,
            id: Some(container.clone()),
        };
        write_workspace(&self.host, &container, tar).await?;
        let (exec, input, reader, rx) = self.start_shell(&container, size).await?;
        guard.id = None;
        let shell = DockerShell {
            host: self.host.clone(),
            container,
            exec,
            input: Mutex::new(input),
            limits: limits.clone(),
        };
        let session = TerminalSession::new(Box::new(shell), BackendKind::Docker, reader);
        for _ in 0..START_RESIZE_ATTEMPTS {
            if session.resize(size).await.is_ok() {
                break;
            }
            tokio::time::sleep(START_RESIZE_PAUSE).await;
        }
        Ok((session, rx))
    }

    async fn containers(&self, key: Option<&str>) -> Result<Vec<String>, SandboxError> {
        let label = match key {
            Some(k) => format!("{TERMINAL_LABEL}={k}"),
            None => TERMINAL_LABEL.to_string(),
        };
        self.host
            .own_ids(ContainerKind::Terminal, Some(label), false)
            .await
    }

    async fn remove_all(&self) -> Result<usize, SandboxError> {
        let ids = self.containers(None).await?;
        Ok(DockerHost::remove_each(ids, |id| async move {
            self.host.remove(&id).await;
        })
        .await)
    }

    fn hosts(&self) -> Vec<&DockerHost> {
        vec![&self.host]
    }
}

/// Removes the container unless disarmed (failures half-way through `start`).
struct StartGuard<'a> {
    host: &'a DockerHost,
    id: Option<String>,
}

impl Drop for StartGuard<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.host.spawn_remove(id);
        }
    }
}

struct DockerShell {
    host: DockerHost,
    container: String,
    exec: String,
    input: Mutex<Pin<Box<dyn AsyncWrite + Send>>>,
    limits: TerminalLimits,
}

#[async_trait]
impl Shell for DockerShell {
    async fn write(&self, bytes: &[u8]) -> Result<(), SandboxError> {
        let mut input = self.input.lock().await;
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

    async fn resize(&self, size: TermSize) -> Result<(), SandboxError> {
        let d = self.host.docker()?;
        let opts = ResizeExecOptions {
            h: size.rows as i32,
            w: size.cols as i32,
        };
        Ok(self
            .host
            .call("exec resize", d.resize_exec(&self.exec, opts))
            .await?)
    }

    async fn sync_files(&self, files: &[SourceFile]) -> Result<(), SandboxError> {
        let tar = workspace_tar(files, &self.limits)?;
        write_workspace(&self.host, &self.container, tar).await
    }

    async fn end(&self) {
        self.host.remove(&self.container).await;
    }

    fn end_in_background(&self) {
        self.host.spawn_remove(self.container.clone());
    }

    fn container_id(&self) -> Option<&str> {
        Some(&self.container)
    }
}

/// PID 1 of a session container: sleeps (reaping orphans: `wait` collects any child), and exits
/// once the lifetime is over.
fn idle_script(lifetime: Duration) -> String {
    let rounds = lifetime.as_secs().div_ceil(IDLE_TICK_SECS).max(1) + 1;
    format!("i=0; while [ $i -lt {rounds} ]; do sleep {IDLE_TICK_SECS} & wait $!; i=$((i+1)); done; exit 0")
}

/// The shell's environment: the sandbox's own minimal one plus terminal variables.
fn shell_env() -> Vec<String> {
    let mut env = base_env();
    env.push("TERM=xterm-256color".into());
    env.push("COLORTERM=truecolor".into());
    env.push(format!("PS1={PROMPT}"));
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::{HostConfig, SANDBOX_LABEL};
    use crate::terminal::tests::collect_until;

    async fn terminals() -> DockerTerminals {
        let host = DockerHost::connect(HostConfig::default()).await.unwrap();
        DockerTerminals::new(host, crate::docker::DEFAULT_IMAGE.into(), None).unwrap()
    }

    #[tokio::test]
    async fn session_containers_get_the_run_containers_controls() {
        let docker = terminals().await;
        let limits = TerminalLimits::default();
        let body = docker.container_body(&limits, "pad-1");
        assert_eq!(
            body.host_config,
            Some(sandbox_host_config(&limits.run_limits(), None, None))
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
        assert_eq!(
            labels.get(crate::docker::KIND_LABEL).map(String::as_str),
            Some("terminal")
        );
    }

    #[test]
    fn idle_script_outlives_the_lifetime() {
        assert!(idle_script(Duration::from_secs(60)).contains("-lt 13 "));
    }

    #[tokio::test]
    async fn docker_session_runs_a_locked_down_shell() {
        crate::testing::hold_shared_docker_lock();
        let docker = terminals().await;
        docker.check().await.expect(
            "docker and the runner image (scripts/ensure-docker.sh, scripts/build-runner-image.sh)",
        );
        let files = [SourceFile::new("hello.txt", "hi from the pad\n")];
        let (session, mut rx) = docker
            .start(
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
}
