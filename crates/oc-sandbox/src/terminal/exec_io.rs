//! The Docker exec plumbing of terminal sessions: where the daemon listens, the hand-made
//! stream upgrade of the shell's exec, and writing files into the workspace through an exec.
//!
//! The shell's byte stream is taken over by hand (HTTP upgrade on the daemon socket) rather
//! than through bollard's exec stream: that decoder guesses framing from the first byte of each
//! read, so a program printing `\x01` would stall the stream and grow its buffer without limit.

use std::path::PathBuf;

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::docker::WORKDIR;
use super::TermSize;
use crate::docker::client::describe;
use crate::docker::lockdown::{base_env, SANDBOX_USER};
use crate::docker::tls::Tls;
use crate::docker::DockerHost;
use crate::hosts::display_address;
use crate::SandboxError;

/// Largest response head of the daemon's upgrade answer.
const MAX_UPGRADE_HEAD: usize = 8 * 1024;
/// Output of a workspace write kept for its error message.
const WRITE_ERROR_BYTES: usize = 2048;
/// The local daemon's socket when no address is configured.
const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// Where the Docker daemon listens (for the hand-made upgrade of the shell's stream).
#[derive(Debug, Clone)]
pub(super) enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
    /// `tcp://host:port` over TLS with the host's certificates.
    Tls(String, Tls),
    Unsupported(String),
}

impl Endpoint {
    /// The endpoint of `host`: its configured address (over TLS when it has certificates), else
    /// `DOCKER_HOST`, else the local socket.
    pub(super) fn of(host: &DockerHost) -> Endpoint {
        if let (Some(address), Some(tls)) = (host.address(), host.tls()) {
            return Endpoint::Tls(address.to_string(), tls.clone());
        }
        let from_env = std::env::var("DOCKER_HOST").ok();
        let chosen = host
            .address()
            .or(from_env.as_deref())
            .map(str::trim)
            .filter(|h| !h.is_empty());
        let Some(h) = chosen else {
            return Endpoint::Unix(PathBuf::from(DEFAULT_SOCKET));
        };
        if let Some(p) = h.strip_prefix("unix://") {
            Endpoint::Unix(PathBuf::from(p))
        } else if let Some(a) = h.strip_prefix("tcp://") {
            if std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty()) {
                Endpoint::Unsupported(format!(
                    "DOCKER_HOST {h} with DOCKER_TLS_VERIFY is not supported for terminals; \
                     use EXEC_DOCKER_TLS_DIR"
                ))
            } else {
                Endpoint::Tcp(a.trim_end_matches('/').to_string())
            }
        } else {
            Endpoint::Unsupported(format!("DOCKER_HOST {h} is not supported for terminals"))
        }
    }
}

pub(super) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// `POST /exec/{id}/start` with `Upgrade: tcp`, done by hand so the TTY's bytes arrive
/// untouched. Returns the raw connection and any output that came with the response head.
pub(super) async fn hijack_exec(
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
        Endpoint::Tls(address, tls) => Box::new(tls.stream(address).await.map_err(|e| {
            SandboxError::Unavailable(format!(
                "docker at {}: {}",
                display_address(address),
                describe(&e)
            ))
        })?),
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
        let n = conn.read(&mut buf).await.map_err(|e| {
            SandboxError::Unavailable(format!("docker exec start: {}", describe(&e)))
        })?;
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

/// An exec of `sh -c script` as the sandbox user, attached; with a TTY of `tty` if given.
pub(super) fn sandbox_exec(
    script: &str,
    env: Vec<String>,
    working_dir: &str,
    tty: Option<TermSize>,
) -> ExecConfig {
    ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(tty.is_some()),
        console_size: tty.map(|size| vec![size.rows as usize, size.cols as usize]),
        cmd: Some(vec!["/bin/sh".into(), "-c".into(), script.into()]),
        env: Some(env),
        user: Some(SANDBOX_USER.into()),
        working_dir: Some(working_dir.into()),
        ..Default::default()
    }
}

/// Writes `tar` into the workspace through an exec's stdin (tar -x as uid 65534).
pub(super) async fn write_workspace(
    host: &DockerHost,
    container: &str,
    tar: Vec<u8>,
) -> Result<(), SandboxError> {
    let d = host.docker()?;
    let exec = host
        .call(
            "exec create",
            d.create_exec(
                container,
                sandbox_exec(
                    &format!("mkdir -p {WORKDIR} && tar -x -m -f - -C {WORKDIR}"),
                    base_env(),
                    "/tmp",
                    None,
                ),
            ),
        )
        .await?;
    let started = host
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
                    let room = WRITE_ERROR_BYTES.saturating_sub(stderr.len());
                    stderr.extend_from_slice(&message[..message.len().min(room)]);
                }
            }
        };
        let (w, ()) = tokio::join!(writer, reader);
        (w, stderr)
    };
    let (written, stderr) = tokio::time::timeout(host.call_timeout(), work)
        .await
        .map_err(|_| SandboxError::Unavailable("writing the workspace timed out".into()))?;
    let info = host.call("exec inspect", d.inspect_exec(&exec.id)).await?;
    match info.exit_code {
        Some(0) => Ok(()),
        code => Err(SandboxError::Internal(format!(
            "writing the workspace failed (exit {code:?}{}): {}",
            written.err().map(|e| format!(", {e}")).unwrap_or_default(),
            String::from_utf8_lossy(&stderr).trim()
        ))),
    }
}
