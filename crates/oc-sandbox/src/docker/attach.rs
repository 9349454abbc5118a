//! Driving one run over its container's attach stream: the input tar and the program's stdin in,
//! the control frames and
//! the program's output out, the deadlines and the output cap enforced, the exit status
//! collected.

use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::query_parameters::{AttachContainerOptionsBuilder, WaitContainerOptionsBuilder};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::backend::Inner;
use super::host::is_connection_error;
use crate::output::{OutputSink, Push};
use crate::script::{self, CompileMode, Frame};
use crate::{LiveStdin, OutputChunk, RunLimits, Stream};

/// Setup-phase stderr kept for the error message.
const SETUP_STDERR_BYTES: usize = 4096;
/// Longest control frame line; anything longer is a protocol error.
const MAX_FRAME_LINE: usize = 128;

/// What the attach loop observed.
#[derive(Debug, Default)]
pub(crate) struct Drive {
    /// The attach stream opened: from here on the container may have received its input (and
    /// the program may have started), so the run is never given to another host.
    pub(crate) attached: bool,
    pub(crate) setup_seen: bool,
    pub(crate) compiled: Option<i64>,
    pub(crate) artifacts: Option<Vec<u8>>,
    pub(crate) timed_out: bool,
    pub(crate) truncated: bool,
    /// The sandbox killed the container (timeout / cap).
    pub(crate) killed: bool,
    /// Setup-phase stderr (tar errors), not shown to the user.
    pub(crate) setup_stderr: Vec<u8>,
    pub(crate) exit_code: Option<i64>,
    pub(crate) oom_killed: bool,
    /// Stream or protocol trouble.
    pub(crate) error: Option<String>,
}

/// The program's stdin: `prefilled`, then (live runs) each chunk of `live` as it arrives.
pub(crate) struct Stdin<'a> {
    pub(crate) prefilled: &'a [u8],
    pub(crate) live: Option<&'a mut LiveStdin>,
}

enum StdoutState {
    AwaitSetup,
    AwaitCompile,
    Artifacts { remaining: u64, keep: bool },
    Program,
}

/// Attaches, streams the tar and stdin in, relays output, enforces deadlines and the output cap,
/// then collects the exit status.
pub(crate) async fn drive(
    inner: &Inner,
    id: &str,
    tar: &[u8],
    stdin: Stdin<'_>,
    limits: &RunLimits,
    mode: CompileMode,
    tx: &mpsc::Sender<OutputChunk>,
) -> Drive {
    let mut d = Drive::default();
    let opts = AttachContainerOptionsBuilder::new()
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .stream(true)
        .logs(false)
        .build();
    let docker = match inner.host.docker() {
        Ok(docker) => docker,
        Err(e) => {
            d.error = Some(e.message().to_string());
            return d;
        }
    };
    let attached = match inner
        .host
        .call("attach", docker.attach_container(id, Some(opts)))
        .await
    {
        Ok(a) => a,
        Err(e) => {
            d.error = Some(e.message().to_string());
            return d;
        }
    };
    d.attached = true;
    let mut output = attached.output;
    let mut input = attached.input;
    let writer = async move {
        input
            .write_all(script::input_header(tar.len()).as_bytes())
            .await?;
        input.write_all(tar).await?;
        input.write_all(stdin.prefilled).await?;
        input.flush().await?;
        if let Some(live) = stdin.live {
            while let Some(chunk) = live.recv().await {
                input.write_all(&chunk).await?;
                input.flush().await?;
            }
        }
        input.shutdown().await?;
        // Keep the write half alive until the end of the run (dropping it early is fine too,
        // but some transports treat a dropped half as a reset).
        Ok::<_, std::io::Error>(input)
    };
    tokio::pin!(writer);
    let mut writer_done = false;
    let mut _input_keep = None;

    let collect_limit = inner.cache.as_ref().map_or(0, |c| c.max_entry_bytes());
    let mut sink = OutputSink::new(tx.clone(), limits.output_bytes);
    let mut state = StdoutState::AwaitSetup;
    let mut frame_buf: Vec<u8> = Vec::new();
    let mut deadline = tokio::time::Instant::now() + inner.host.call_timeout();

    'outer: loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                match state {
                    StdoutState::AwaitSetup => d.error = Some("sandbox setup timed out".into()),
                    _ => d.timed_out = true,
                }
                d.killed = true;
                break;
            }
            res = &mut writer, if !writer_done => {
                writer_done = true;
                match res {
                    Ok(w) => _input_keep = Some(w),
                    // The container may have exited early (e.g. tar failed), or the program
                    // closed its stdin; the output stream tells the rest.
                    Err(e) => tracing::debug!(error = %e, "writing the input archive or stdin failed"),
                }
            }
            item = output.next() => {
                let Some(item) = item else { break };
                let msg = match item {
                    Ok(m) => m,
                    Err(e) => {
                        d.error = Some(format!("output stream: {e}"));
                        break;
                    }
                };
                let (is_stdout, mut bytes) = match msg {
                    LogOutput::StdOut { message } | LogOutput::Console { message } => (true, message),
                    LogOutput::StdErr { message } => (false, message),
                    LogOutput::StdIn { .. } => continue,
                };
                if !is_stdout {
                    if matches!(state, StdoutState::AwaitSetup) {
                        let room = SETUP_STDERR_BYTES.saturating_sub(d.setup_stderr.len());
                        d.setup_stderr.extend_from_slice(&bytes[..bytes.len().min(room)]);
                    } else {
                        match sink.push_by(Stream::Stderr, &bytes, deadline).await {
                            Push::Ok => {}
                            Push::Capped => {
                                d.truncated = true;
                                d.killed = true;
                                break;
                            }
                            Push::Deadline => {
                                d.timed_out = true;
                                d.killed = true;
                                break;
                            }
                        }
                    }
                    continue;
                }
                // Stdout: control frames first, then the program's output.
                while !bytes.is_empty() {
                    match &mut state {
                        StdoutState::Program => {
                            match sink.push_by(Stream::Stdout, &bytes, deadline).await {
                                Push::Ok => {}
                                Push::Capped => {
                                    d.truncated = true;
                                    d.killed = true;
                                    break 'outer;
                                }
                                Push::Deadline => {
                                    d.timed_out = true;
                                    d.killed = true;
                                    break 'outer;
                                }
                            }
                            break;
                        }
                        StdoutState::Artifacts { remaining, keep } => {
                            let n = (*remaining).min(bytes.len() as u64) as usize;
                            if *keep {
                                d.artifacts.get_or_insert_with(Vec::new).extend_from_slice(&bytes[..n]);
                            }
                            *remaining -= n as u64;
                            bytes = bytes.slice(n..);
                            if *remaining == 0 {
                                state = StdoutState::Program;
                                deadline = tokio::time::Instant::now() + limits.wall;
                            }
                        }
                        StdoutState::AwaitSetup | StdoutState::AwaitCompile => {
                            let nl = bytes.iter().position(|&b| b == b'\n');
                            let take = nl.map_or(bytes.len(), |p| p + 1);
                            frame_buf.extend_from_slice(&bytes[..take]);
                            bytes = bytes.slice(take..);
                            if nl.is_none() {
                                if frame_buf.len() > MAX_FRAME_LINE {
                                    d.error = Some("sandbox protocol error (oversized frame)".into());
                                    d.killed = true;
                                    break 'outer;
                                }
                                continue;
                            }
                            let frame = script::parse_frame(&frame_buf);
                            frame_buf.clear();
                            match (&state, frame) {
                                (StdoutState::AwaitSetup, Some(Frame::Setup)) => {
                                    d.setup_seen = true;
                                    if let CompileMode::Compile { .. } = mode {
                                        state = StdoutState::AwaitCompile;
                                        deadline = tokio::time::Instant::now() + limits.compile_wall;
                                    } else {
                                        state = StdoutState::Program;
                                        deadline = tokio::time::Instant::now() + limits.wall;
                                    }
                                    // Anything the shell buffered on stderr during setup is
                                    // harmless (tar warnings); drop it.
                                    d.setup_stderr.clear();
                                }
                                (StdoutState::AwaitCompile, Some(Frame::Compiled { status, artifact_len })) => {
                                    d.compiled = Some(status);
                                    let keep = status == 0 && artifact_len <= collect_limit;
                                    if artifact_len > 0 {
                                        state = StdoutState::Artifacts { remaining: artifact_len, keep };
                                    } else {
                                        state = StdoutState::Program;
                                        deadline = tokio::time::Instant::now() + limits.wall;
                                    }
                                }
                                _ => {
                                    d.error = Some("sandbox protocol error (unexpected frame)".into());
                                    d.killed = true;
                                    break 'outer;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    drop(output);
    drop(_input_keep);
    if d.killed {
        return d;
    }

    // The output stream ended: PID 1 exited (or the container died). Collect the status.
    let wait_opts = WaitContainerOptionsBuilder::new()
        .condition("not-running")
        .build();
    let mut waiter = docker.wait_container(id, Some(wait_opts));
    match tokio::time::timeout(inner.host.call_timeout(), waiter.next()).await {
        Ok(Some(Ok(r))) => d.exit_code = Some(r.status_code),
        Ok(Some(Err(DockerError::DockerContainerWaitError { code, .. }))) => {
            d.exit_code = Some(code)
        }
        Ok(Some(Err(e))) => {
            if is_connection_error(&e) {
                inner
                    .host
                    .mark_down(format!("docker daemon unreachable: {e}"));
            }
            d.error = Some(format!("wait: {e}"));
        }
        Ok(None) => d.error = Some("wait: no status".into()),
        Err(_) => {
            d.error = Some("wait timed out".into());
            d.killed = true;
            return d;
        }
    }
    if matches!(d.exit_code, Some(c) if c >= 128) {
        if let Ok(info) = inner
            .host
            .call("inspect", docker.inspect_container(id, None))
            .await
        {
            d.oom_killed = info.state.and_then(|s| s.oom_killed).unwrap_or(false);
        }
    }
    d
}
