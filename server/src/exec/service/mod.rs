//! The run service (SPEC §5): admission, one sandbox run, output streamed to everyone on the pad
//! as `run.*` app messages, console input typed on the pad streamed to the program (and echoed to
//! everyone, in order with the output), and the finished run stored as a pad event. A REPL
//! session (`super::repl`) is a run of its own kind on the same path, with its own limits.
//!
//! The HTTP handler only validates and calls `start`; everything else happens here so the same
//! path serves HTTP now and other callers later.

use std::sync::Arc;
use std::time::{Duration, Instant};

use oc_sandbox::{BackendKind, Outcome, RunLimits, RunSpec, SandboxBackend, SourceFile};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

mod collected;
mod forward;
mod live;
mod record;
pub use collected::Collected;
pub use live::LiveRunView;
pub use record::{RunLimitsShown, RunRecord, STOPPED};

use live::{stoppable, Console, ConsoleEnds, Ended, LiveRun, LiveRuns};
use record::{base_record, finished_message, record_of, RunInfo};

use super::console::{
    ConsoleInput, ConsoleRefusal, CONSOLE_CHANNEL_CHUNKS, CONSOLE_MESSAGE_BYTES, CONSOLE_RUN_BYTES,
};
use super::metrics::{run_durations, LanguageLabels, RunDurations};
use super::output::OutputKind;
use super::queue::{Refusal, Reservation, RunQueue};
use super::repl::{RunKind, IDLE};
use super::replay::RunReplay;
use super::settings::ExecSettings;
use super::store;
use crate::db::{Db, PadId, UserId};

/// Output chunks buffered between the sandbox and the broadcaster; a slow consumer slows the
/// program's output, it never grows memory.
const OUTPUT_CHANNEL_CHUNKS: usize = 64;

/// Sends an app message to every client on a pad (wired to the collaboration rooms).
pub type PadBroadcast = Arc<dyn Fn(PadId, serde_json::Value) + Send + Sync>;

/// What a caller asks to run, already validated by the handler.
pub struct RunRequest {
    pub kind: RunKind,
    pub pad: PadId,
    pub user: UserId,
    pub user_name: String,
    pub language: String,
    pub entry: String,
    pub files: Vec<SourceFile>,
    pub stdin: Vec<u8>,
    /// After `stdin`, the program reads console input typed on the pad until someone closes it;
    /// otherwise it sees EOF right after `stdin`. Always set for a REPL.
    pub interactive: bool,
    /// The wall limit (a REPL's is `REPL_MAX_MS`).
    pub timeout: Duration,
}

/// Why a run was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartRefusal {
    /// Admission (global or per-user limits).
    Queue(Refusal),
    /// The pad already has a run or a REPL in progress (one at a time, so outputs never
    /// interleave).
    RunInProgress { run_id: String, kind: RunKind },
}

/// Why a stop request did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRefusal {
    /// The run finished before the request (or was never on this pad's live list).
    Finished,
    /// No run with that id is in progress on this pad.
    Unknown,
}

pub struct StartedRun {
    pub run_id: String,
    /// Resolves with the finished run (for `?wait=1`).
    pub finished: oneshot::Receiver<RunRecord>,
}

#[derive(Clone)]
pub struct ExecService {
    backend: Arc<dyn SandboxBackend>,
    settings: Arc<ExecSettings>,
    queue: RunQueue,
    durations: RunDurations,
    metrics: Arc<oc_sandbox::Metrics>,
    broadcast: PadBroadcast,
    live: Arc<LiveRuns>,
    /// Console input relayed to the node hosting its run, waiting for that node's answer.
    console_answers: Arc<super::console::PendingAnswers>,
    db: Db,
}

impl ExecService {
    pub fn new(
        backend: Arc<dyn SandboxBackend>,
        metrics: Arc<oc_sandbox::Metrics>,
        settings: ExecSettings,
        db: Db,
        broadcast: PadBroadcast,
    ) -> Self {
        ExecService {
            queue: RunQueue::new(
                settings.concurrency,
                settings.per_user_concurrency,
                settings.queue,
            ),
            backend,
            settings: Arc::new(settings),
            durations: run_durations(),
            metrics,
            broadcast,
            live: Arc::default(),
            console_answers: Arc::default(),
            db,
        }
    }

    /// Answers other nodes gave to console input this node relayed to them.
    pub fn console_answers(&self) -> &super::console::PendingAnswers {
        &self.console_answers
    }

    /// The `run.started` and `run.output` messages of the pad's runs in progress, oldest run
    /// first, for a socket that just joined. `run.output` carries a per-run `seq`, so a client
    /// drops the copies it also receives live.
    pub fn replay_for(&self, pad: PadId) -> Vec<serde_json::Value> {
        let live = self.live.lock();
        let mut runs: Vec<(&String, &LiveRun)> =
            live.iter().filter(|(_, run)| run.pad == pad).collect();
        runs.sort_by_key(|(_, run)| run.started_at_ms);
        runs.into_iter()
            .flat_map(|(run_id, run)| run.messages(run_id))
            .collect()
    }

    /// Heap bytes held to replay runs in progress (bounded by `EXEC_OUTPUT_BYTES` per run).
    pub fn replay_bytes(&self) -> usize {
        self.live
            .lock()
            .values()
            .map(|run| run.output.heap_bytes())
            .sum()
    }

    /// Send one output chunk to the pad and keep it in the run's replay while the run is live.
    fn publish_output(&self, pad: PadId, run_id: &str, seq: u64, stream: OutputKind, text: &str) {
        if let Some(run) = self.live.lock().get_mut(run_id) {
            run.output.push(seq, stream, text);
        }
        let message = json!({ "type": "run.output", "runId": run_id, "seq": seq, "stream": stream, "data": text });
        (self.broadcast)(pad, message);
    }

    /// The limits of a run with this wall timeout, or of a REPL session.
    pub fn limits_shown(&self, kind: RunKind, timeout: Duration) -> RunLimitsShown {
        RunLimitsShown {
            timeout_ms: timeout.as_millis() as u64,
            output_bytes: self.output_bytes(kind),
            memory_mb: self.settings.memory_mb,
            idle_ms: (kind == RunKind::Repl).then(|| self.settings.repl_idle.as_millis() as u64),
        }
    }

    /// The output cap of a run of this kind.
    fn output_bytes(&self, kind: RunKind) -> usize {
        match kind {
            RunKind::Run => self.settings.output_bytes,
            RunKind::Repl => self.settings.repl_output_bytes,
        }
    }

    pub fn settings(&self) -> &ExecSettings {
        &self.settings
    }

    pub fn backend_kind(&self) -> BackendKind {
        self.backend.kind()
    }

    pub async fn health(&self) -> oc_sandbox::BackendHealth {
        self.backend.health().await
    }

    /// Server exit: stop the sandbox's background work and remove its containers (the warm
    /// pool, and any run still going).
    pub async fn shutdown(&self) {
        self.backend.shutdown().await
    }

    pub fn queue(&self) -> &RunQueue {
        &self.queue
    }

    /// The sandbox's counters (runs by outcome, pool, cache, containers), read at each scrape.
    pub fn sandbox_metrics(&self) -> &Arc<oc_sandbox::Metrics> {
        &self.metrics
    }

    /// The run-duration histogram, registered in the server's metrics registry.
    pub fn run_durations(&self) -> &RunDurations {
        &self.durations
    }

    /// Admit the run (or refuse at once) and start it in the background. The pad check and the
    /// registration happen under one lock, so two presses at once start one run.
    pub fn start(
        &self,
        request: RunRequest,
        tasks: &tokio_util::task::TaskTracker,
    ) -> Result<StartedRun, StartRefusal> {
        let run_id = uuid::Uuid::new_v4().to_string();
        let stop = CancellationToken::new();
        let (console, console_ends) = if request.interactive {
            let (input, input_rx) = mpsc::channel(CONSOLE_CHANNEL_CHUNKS);
            let (echo, echo_rx) = mpsc::unbounded_channel();
            (
                Some(Console {
                    input,
                    echo,
                    bytes: 0,
                }),
                Some(ConsoleEnds {
                    input: input_rx,
                    echo: echo_rx,
                }),
            )
        } else {
            (None, None)
        };
        let reservation = {
            let mut live = self.live.lock();
            if let Some((busy, run)) = live
                .iter()
                .find(|(_, run)| run.pad == request.pad && run.finished.is_none())
            {
                return Err(StartRefusal::RunInProgress {
                    run_id: busy.clone(),
                    kind: run.kind,
                });
            }
            let reservation = self
                .queue
                .reserve(request.user)
                .map_err(StartRefusal::Queue)?;
            live.insert(
                run_id.clone(),
                LiveRun {
                    pad: request.pad,
                    kind: request.kind,
                    started_at_ms: chrono::Utc::now().timestamp_millis(),
                    started: None,
                    output: RunReplay::new(self.output_bytes(request.kind), CONSOLE_RUN_BYTES),
                    finished: None,
                    stop: stop.clone(),
                    ended: None,
                    last_input: tokio::time::Instant::now(),
                    console,
                    input_closed: None,
                },
            );
            reservation
        };
        let (done_tx, done_rx) = oneshot::channel();
        let service = self.clone();
        let id = run_id.clone();
        tasks.spawn(async move {
            let record = service
                .execute(id, request, reservation, stop, console_ends)
                .await;
            let _ = done_tx.send(record);
        });
        Ok(StartedRun {
            run_id,
            finished: done_rx,
        })
    }

    /// Runs in progress on this node, oldest first.
    pub fn live_runs(&self) -> Vec<LiveRunView> {
        let mut runs: Vec<LiveRunView> = self
            .live
            .lock()
            .iter()
            .filter(|(_, run)| run.finished.is_none())
            .map(|(run_id, run)| LiveRunView {
                run_id: run_id.clone(),
                pad: run.pad,
                kind: run.kind.as_str().to_string(),
                started_at_ms: run.started_at_ms,
            })
            .collect();
        runs.sort_by_key(|run| run.started_at_ms);
        runs
    }

    /// Whether `stop` would act now (checked before its audit row is written).
    pub fn check_stoppable(&self, pad: PadId, run_id: &str) -> Result<(), StopRefusal> {
        stoppable(&mut self.live.lock(), pad, run_id).map(drop)
    }

    /// Stop a run in progress on `pad`: its task drops the sandbox run, whose guard removes the
    /// container. Stopping a run that is already stopping succeeds again (the first reason stays).
    pub fn stop(
        &self,
        pad: PadId,
        run_id: &str,
        by: UserId,
        name: &str,
    ) -> Result<(), StopRefusal> {
        let mut live = self.live.lock();
        let run = stoppable(&mut live, pad, run_id)?;
        run.ended.get_or_insert_with(|| Ended::StoppedBy {
            user: by,
            name: name.to_string(),
        });
        run.stop.cancel();
        Ok(())
    }

    /// Resolves once nobody has typed into REPL `run_id` for `idle` (counted from now or the last
    /// input, whichever is later), having marked it ended as idle; never for a run that is gone.
    async fn idle_expired(&self, run_id: &str, idle: Duration) {
        let since = tokio::time::Instant::now();
        loop {
            let Some(last_input) = self.live.lock().get(run_id).map(|run| run.last_input) else {
                return std::future::pending().await;
            };
            let due = since.max(last_input) + idle;
            if tokio::time::Instant::now() >= due {
                break;
            }
            tokio::time::sleep_until(due).await;
        }
        if let Some(run) = self.live.lock().get_mut(run_id) {
            run.ended.get_or_insert(Ended::Idle);
        }
    }

    /// Console input for run `run_id` of `pad`: data goes to the program's stdin and is echoed to
    /// everyone on the pad; `Eof` closes the program's stdin. Refused unless the run is live,
    /// interactive and its input still open, and within the console limits.
    pub fn console_input(
        &self,
        pad: PadId,
        run_id: &str,
        input: ConsoleInput<'_>,
    ) -> Result<(), ConsoleRefusal> {
        let mut live = self.live.lock();
        let run = live
            .get_mut(run_id)
            .filter(|run| run.pad == pad)
            .ok_or(ConsoleRefusal::Unknown)?;
        if run.finished.is_some() {
            return Err(ConsoleRefusal::Finished);
        }
        let console = run.console.as_mut().ok_or(ConsoleRefusal::Closed)?;
        match input {
            ConsoleInput::Data(data) => {
                if data.len() > CONSOLE_MESSAGE_BYTES {
                    return Err(ConsoleRefusal::TooLarge);
                }
                if console.bytes + data.len() > CONSOLE_RUN_BYTES {
                    return Err(ConsoleRefusal::RunLimit);
                }
                if data.is_empty() {
                    return Ok(());
                }
                console
                    .input
                    .try_send(data.as_bytes().to_vec())
                    .map_err(|err| match err {
                        mpsc::error::TrySendError::Full(_) => ConsoleRefusal::Busy,
                        // The sandbox dropped its end: the program is done.
                        mpsc::error::TrySendError::Closed(_) => ConsoleRefusal::Finished,
                    })?;
                console.bytes += data.len();
                run.last_input = tokio::time::Instant::now();
                // The run task echoes it in order with the output; gone means it is finishing.
                let _ = console.echo.send(data.to_string());
            }
            ConsoleInput::Eof => {
                run.console = None;
                let message = json!({ "type": "run.eof", "runId": run_id });
                run.input_closed = Some(message.clone());
                drop(live);
                (self.broadcast)(pad, message);
            }
        }
        Ok(())
    }

    async fn execute(
        &self,
        run_id: String,
        request: RunRequest,
        reservation: Reservation,
        stop: CancellationToken,
        console: Option<ConsoleEnds>,
    ) -> RunRecord {
        let started_at_ms = chrono::Utc::now().timestamp_millis();
        let started = json!({
            "type": "run.started", "runId": run_id, "kind": request.kind, "userId": request.user,
            "name": request.user_name, "language": request.language, "entry": request.entry, "at": started_at_ms,
            "backend": self.backend.kind().as_str(), "interactive": request.interactive,
        });
        if let Some(run) = self.live.lock().get_mut(&run_id) {
            run.started_at_ms = started_at_ms;
            run.started = Some(started.clone());
        }
        (self.broadcast)(request.pad, started);
        let clock = Instant::now();
        let ticket = tokio::select! {
            biased;
            _ = stop.cancelled() => None,
            ticket = reservation.ready() => Some(ticket),
        };
        let (live_stdin, echo) = match console {
            Some(ends) => (Some(ends.input), Some(ends.echo)),
            None => (None, None),
        };
        let spec = RunSpec {
            language: request.language.clone(),
            files: request.files,
            entry: Some(request.entry.clone()),
            stdin: request.stdin,
            live_stdin,
            repl: request.kind == RunKind::Repl,
            limits: RunLimits {
                wall: request.timeout,
                output_bytes: self.output_bytes(request.kind),
                memory_mb: self.settings.memory_mb,
                cpus: self.settings.cpus,
                ..RunLimits::default()
            },
        };
        let (tx, rx) = mpsc::channel(OUTPUT_CHANNEL_CHUNKS);
        let forward = self.forward_output(request.pad, run_id.clone(), rx, echo);
        // Stopping drops the sandbox's run future: its container guard removes the container,
        // and the output channel closes, which ends `forward`.
        let run = async {
            let _ticket = ticket?;
            tokio::select! {
                biased;
                _ = stop.cancelled() => None,
                _ = self.idle_expired(&run_id, self.settings.repl_idle), if request.kind == RunKind::Repl => None,
                result = self.backend.run(spec, tx) => Some(result),
            }
        };
        let (result, captured) = tokio::join!(run, forward);
        let finished_at_ms = chrono::Utc::now().timestamp_millis();
        let elapsed = clock.elapsed();
        let run = RunInfo {
            run_id,
            kind: request.kind,
            language: &request.language,
            entry: &request.entry,
            started_at_ms,
            finished_at_ms,
            elapsed,
        };
        // `None`: ended from outside (stopped, or a REPL gone idle) before the sandbox finished.
        let ended = result.is_none();
        let mut record = match result {
            Some(result) => record_of(run, result, self.backend.kind(), captured),
            None => base_record(run, self.backend.kind(), captured),
        };
        // A REPL session's length says nothing about how long programs take.
        if request.kind == RunKind::Run {
            self.durations
                .get_or_create(&LanguageLabels {
                    language: record.language.clone(),
                })
                .observe(elapsed.as_secs_f64());
        }
        let message = {
            let mut live = self.live.lock();
            let entry = live.get_mut(&record.run_id);
            if ended {
                match entry.as_ref().and_then(|run| run.ended.clone()) {
                    Some(Ended::Idle) => record.outcome = IDLE.to_string(),
                    Some(Ended::StoppedBy { user, name }) => {
                        record.outcome = STOPPED.to_string();
                        record.stopped_by = Some(name);
                        record.stopped_by_user = Some(user);
                    }
                    None => record.outcome = STOPPED.to_string(),
                }
            }
            let message =
                finished_message(&record, self.limits_shown(request.kind, request.timeout));
            // Kept for the replay until stored: a socket joining in between sees the whole run,
            // never output without its finish.
            if let Some(run) = entry {
                run.finished = Some(message.clone());
            }
            message
        };
        (self.broadcast)(request.pad, message);
        if let Err(err) = store::insert(&self.db, request.pad, request.user, &record).await {
            tracing::error!(run_id = %record.run_id, error = %err, "storing the run failed");
        }
        self.live.lock().remove(&record.run_id);
        record
    }
}
