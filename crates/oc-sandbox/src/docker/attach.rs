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
use crate::end_frame::{EndScanner, EndToken};
use crate::output::{OutputSink, Push};
use crate::script::{self, CompileMode, Frame, StderrSplit};
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
    /// The status came from the end frames: PID 1 is exiting by itself, the engine may not have
    /// seen it stop yet.
    pub(crate) ended_by_frames: bool,
    pub(crate) oom_killed: bool,
    /// Stream or protocol trouble.
    pub(crate) error: Option<String>,
}

/// The program's stdin: `prefilled`, then (live runs) each chunk of `live` as it arrives.
pub(crate) struct Stdin<'a> {
    pub(crate) prefilled: &'a [u8],
    pub(crate) live: Option<&'a mut LiveStdin>,
}

/// What goes in and out of one run's container.
pub(crate) struct RunIo<'a> {
    /// The run's input (sources, script), in parts, before the program's stdin.
    pub(crate) input: &'a [&'a [u8]],
    pub(crate) stdin: Stdin<'a>,
    /// The token of the end frame PID 1 writes once the program exited.
    pub(crate) end: &'a EndToken,
    pub(crate) tx: &'a mpsc::Sender<OutputChunk>,
}

enum StdoutState {
    AwaitSetup,
    AwaitCompile,
    Artifacts { remaining: u64, keep: bool },
    Program,
}

/// Attaches, streams the run's input and stdin in, relays output, enforces deadlines and the
/// output cap, then collects the exit status: from the end frames when the program exited on
/// its own, else from the engine once the container stopped.
pub(crate) async fn drive(
    inner: &Inner,
    id: &str,
    run: RunIo<'_>,
    limits: &RunLimits,
    mode: CompileMode,
) -> Drive {
    let RunIo {
        input: run_input,
        stdin,
        end,
        tx,
    } = run;
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
        for part in run_input {
            input.write_all(part).await?;
        }
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
    let mut stderr_split = StderrSplit::default();
    let mut stdout_end = EndScanner::new(end);
    let mut stderr_end = EndScanner::new(end);
    // The end frames' statuses, stdout's and stderr's.
    let mut ended: [Option<i64>; 2] = [None, None];
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
                    let (setup, program) = stderr_split.feed(&bytes);
                    keep_setup_stderr(&mut d, &setup);
                    if !program.is_empty() {
                        let scanned = stderr_end.feed(&program);
                        if !deliver(&mut sink, Stream::Stderr, &scanned.output, deadline, &mut d).await {
                            break;
                        }
                        if !note_end(&mut ended[1], scanned.status, &mut d) {
                            break;
                        }
                    }
                    if program_ended(&ended, &mut d) {
                        break;
                    }
                    continue;
                }
                // Stdout: control frames first, then the program's output.
                while !bytes.is_empty() {
                    match &mut state {
                        StdoutState::Program => {
                            let scanned = stdout_end.feed(&bytes);
                            if !deliver(&mut sink, Stream::Stdout, &scanned.output, deadline, &mut d).await {
                                break 'outer;
                            }
                            if !note_end(&mut ended[0], scanned.status, &mut d) {
                                break 'outer;
                            }
                            if program_ended(&ended, &mut d) {
                                break 'outer;
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
    if d.killed || d.exit_code.is_some() {
        return d;
    }
    let setup_tail = stderr_split.finish();
    keep_setup_stderr(&mut d, &setup_tail);
    // No end frame (a failed compile step, a program killed by a signal, a container that
    // died): what the streams held back is output after all.
    for (stream, scanner) in [
        (Stream::Stdout, &mut stdout_end),
        (Stream::Stderr, &mut stderr_end),
    ] {
        let held = scanner.finish();
        if !held.is_empty() && !deliver(&mut sink, stream, &held, deadline, &mut d).await {
            return d;
        }
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

/// Sends program output; `false` when the run must stop (cap reached, deadline passed).
async fn deliver(
    sink: &mut OutputSink,
    stream: Stream,
    bytes: &[u8],
    deadline: tokio::time::Instant,
    d: &mut Drive,
) -> bool {
    if bytes.is_empty() {
        return true;
    }
    match sink.push_by(stream, bytes, deadline).await {
        Push::Ok => true,
        Push::Capped => {
            d.truncated = true;
            d.killed = true;
            false
        }
        Push::Deadline => {
            d.timed_out = true;
            d.killed = true;
            false
        }
    }
}

/// Records a stream's end frame; `false` (and the run stopped) for a garbled one.
fn note_end(slot: &mut Option<i64>, status: Option<Result<i64, ()>>, d: &mut Drive) -> bool {
    match status {
        None => true,
        Some(Ok(status)) => {
            *slot = Some(status);
            true
        }
        Some(Err(())) => {
            d.error = Some("sandbox protocol error (garbled end frame)".into());
            d.killed = true;
            false
        }
    }
}

/// Both streams carried the end frame: the program is gone and all its output is in. A status
/// of 128 or more (a signal, maybe the OOM killer) is left to the engine, which knows which.
fn program_ended(ended: &[Option<i64>; 2], d: &mut Drive) -> bool {
    match ended {
        [Some(status), Some(_)] if *status < 128 => {
            d.exit_code = Some(*status);
            d.ended_by_frames = true;
            true
        }
        _ => false,
    }
}

/// Keeps the beginning of setup's stderr for the error message should setup fail.
fn keep_setup_stderr(d: &mut Drive, bytes: &[u8]) {
    let room = SETUP_STDERR_BYTES.saturating_sub(d.setup_stderr.len());
    d.setup_stderr
        .extend_from_slice(&bytes[..bytes.len().min(room)]);
}
