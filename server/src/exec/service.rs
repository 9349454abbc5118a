//! The run service (SPEC §5): admission, one sandbox run, output streamed to everyone on the pad
//! as `run.*` app messages, and the finished run stored as a pad event.
//!
//! The HTTP handler only validates and calls `start`; everything else happens here so the same
//! path serves HTTP now and other callers later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oc_sandbox::{BackendKind, Outcome, OutputChunk, RunLimits, RunSpec, SandboxBackend, SandboxError, SourceFile, Stream};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::metrics::RunHistogram;
use super::output::{Coalescer, Utf8Stream};
use super::queue::{Refusal, Reservation, RunQueue};
use super::replay::RunReplay;
use super::settings::ExecSettings;
use super::store;
use crate::db::{Db, PadId, UserId};

/// Output chunks buffered between the sandbox and the broadcaster; a slow consumer slows the
/// program's output, it never grows memory.
const OUTPUT_CHANNEL_CHUNKS: usize = 64;

/// Sends an app message to every client on a pad (wired to the collaboration rooms).
pub type PadBroadcast = Arc<dyn Fn(PadId, serde_json::Value) + Send + Sync>;

/// Runs in progress and what was sent for them so far, so a client that joins mid-run sees the
/// whole run. Bounded: a run's replay is one buffer capped by `EXEC_OUTPUT_BYTES`, and the number
/// of runs by admission.
#[derive(Default)]
struct LiveRuns {
    runs: Mutex<HashMap<String, LiveRun>>,
}

struct LiveRun {
    pad: PadId,
    started_at_ms: i64,
    started: serde_json::Value,
    output: RunReplay,
}

impl LiveRuns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LiveRun>> {
        self.runs.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

/// A finished run, as stored and as returned by `?wait=1`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub run_id: String,
    pub language: String,
    pub entry: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub exit_code: Option<i64>,
    pub signal: Option<String>,
    pub timed_out: bool,
    pub oom_killed: bool,
    pub truncated: bool,
    pub duration_ms: u64,
    pub backend: String,
    pub pooled: bool,
    pub compile_cache: Option<String>,
    pub outcome: String,
    /// Set when the sandbox itself failed (Docker down, …) rather than the program.
    pub error: Option<String>,
    pub stdout: String,
    pub stderr: String,
}

/// What a caller asks to run, already validated by the handler.
pub struct RunRequest {
    pub pad: PadId,
    pub user: UserId,
    pub user_name: String,
    pub language: String,
    pub entry: String,
    pub files: Vec<SourceFile>,
    pub stdin: Vec<u8>,
    pub timeout: Duration,
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
    histogram: Arc<RunHistogram>,
    metrics: Arc<oc_sandbox::Metrics>,
    broadcast: PadBroadcast,
    live: Arc<LiveRuns>,
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
            queue: RunQueue::new(settings.concurrency, settings.per_user_concurrency, settings.queue),
            backend,
            settings: Arc::new(settings),
            histogram: Arc::new(RunHistogram::default()),
            metrics,
            broadcast,
            live: Arc::default(),
            db,
        }
    }

    /// The `run.started` and `run.output` messages of the pad's runs in progress, oldest run
    /// first, for a socket that just joined. `run.output` carries a per-run `seq`, so a client
    /// drops the copies it also receives live.
    pub fn replay_for(&self, pad: PadId) -> Vec<serde_json::Value> {
        let live = self.live.lock();
        let mut runs: Vec<(&String, &LiveRun)> = live.iter().filter(|(_, run)| run.pad == pad).collect();
        runs.sort_by_key(|(_, run)| run.started_at_ms);
        runs.into_iter()
            .flat_map(|(run_id, run)| std::iter::once(run.started.clone()).chain(run.output.messages(run_id)))
            .collect()
    }

    /// Heap bytes held to replay runs in progress (bounded by `EXEC_OUTPUT_BYTES` per run).
    pub fn replay_bytes(&self) -> usize {
        self.live.lock().values().map(|run| run.output.heap_bytes()).sum()
    }

    /// Send one output chunk to the pad and keep it in the run's replay while the run is live.
    fn publish_output(&self, pad: PadId, run_id: &str, seq: u64, stream: Stream, text: &str) {
        if let Some(run) = self.live.lock().get_mut(run_id) {
            run.output.push(seq, stream, text);
        }
        let message = json!({ "type": "run.output", "runId": run_id, "seq": seq, "stream": stream, "data": text });
        (self.broadcast)(pad, message);
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

    /// Prometheus text for `/metrics`.
    pub fn render_metrics(&self) -> String {
        let mut text = self.metrics.render_prometheus("opencoder_exec");
        text.push_str(&self.histogram.render("opencoder_exec_run_duration_seconds"));
        text.push_str(&format!(
            "# HELP opencoder_exec_queue_running Runs executing now.\n# TYPE opencoder_exec_queue_running gauge\nopencoder_exec_queue_running {}\n\
             # HELP opencoder_exec_queue_waiting Runs waiting for a slot.\n# TYPE opencoder_exec_queue_waiting gauge\nopencoder_exec_queue_waiting {}\n",
            self.queue.running(),
            self.queue.waiting()
        ));
        text
    }

    /// Admit the run (or refuse at once) and start it in the background.
    pub fn start(&self, request: RunRequest, tasks: &tokio_util::task::TaskTracker) -> Result<StartedRun, Refusal> {
        let reservation = self.queue.reserve(request.user)?;
        let run_id = uuid::Uuid::new_v4().to_string();
        let (done_tx, done_rx) = oneshot::channel();
        let service = self.clone();
        let id = run_id.clone();
        tasks.spawn(async move {
            let record = service.execute(id, request, reservation).await;
            let _ = done_tx.send(record);
        });
        Ok(StartedRun { run_id, finished: done_rx })
    }

    async fn execute(&self, run_id: String, request: RunRequest, reservation: Reservation) -> RunRecord {
        let started_at_ms = chrono::Utc::now().timestamp_millis();
        let started = json!({
            "type": "run.started", "runId": run_id, "userId": request.user, "name": request.user_name,
            "language": request.language, "entry": request.entry, "at": started_at_ms,
            "backend": self.backend.kind().as_str(),
        });
        let live = LiveRun {
            pad: request.pad,
            started_at_ms,
            started: started.clone(),
            output: RunReplay::new(self.settings.output_bytes),
        };
        self.live.lock().insert(run_id.clone(), live);
        (self.broadcast)(request.pad, started);
        let ticket = reservation.ready().await;
        let clock = Instant::now();
        let spec = RunSpec {
            language: request.language.clone(),
            files: request.files,
            entry: Some(request.entry.clone()),
            stdin: request.stdin,
            limits: RunLimits {
                wall: request.timeout,
                output_bytes: self.settings.output_bytes,
                memory_mb: self.settings.memory_mb,
                cpus: self.settings.cpus,
                ..RunLimits::default()
            },
        };
        let (tx, rx) = mpsc::channel(OUTPUT_CHANNEL_CHUNKS);
        let forward = self.forward_output(request.pad, run_id.clone(), rx);
        let (result, (stdout, stderr)) = tokio::join!(self.backend.run(spec, tx), forward);
        drop(ticket);
        let finished_at_ms = chrono::Utc::now().timestamp_millis();
        let elapsed = clock.elapsed();
        let record = record_of(run_id, &request.language, &request.entry, started_at_ms, finished_at_ms, elapsed, result, self.backend.kind(), stdout, stderr);
        self.histogram.observe(&record.language, elapsed);
        // Broadcast before forgetting the run: a socket joining in between sees the run in the
        // replay and then this message, never a finish without its output.
        (self.broadcast)(request.pad, finished_message(&record));
        self.live.lock().remove(&record.run_id);
        if let Err(err) = store::insert(&self.db, request.pad, request.user, &record).await {
            tracing::error!(run_id = %record.run_id, error = %err, "storing the run failed");
        }
        record
    }

    /// Broadcast output, coalesced into messages of at most `COALESCE_BYTES` sent within
    /// `COALESCE_WINDOW`, and keep the (already capped) copy for the record.
    async fn forward_output(&self, pad: PadId, run_id: String, mut rx: mpsc::Receiver<OutputChunk>) -> (String, String) {
        let (mut out_decoder, mut err_decoder) = (Utf8Stream::default(), Utf8Stream::default());
        let (mut stdout, mut stderr) = (String::new(), String::new());
        let mut coalescer = Coalescer::default();
        let mut seq = 0u64;
        let mut flush = |coalescer: &mut Coalescer, stdout: &mut String, stderr: &mut String| {
            for (stream, text) in coalescer.take() {
                match stream {
                    Stream::Stdout => stdout.push_str(&text),
                    Stream::Stderr => stderr.push_str(&text),
                }
                seq += 1;
                self.publish_output(pad, &run_id, seq, stream, &text);
            }
        };
        loop {
            let due = coalescer.due();
            tokio::select! {
                chunk = rx.recv() => {
                    let Some(chunk) = chunk else { break };
                    let text = match chunk.stream {
                        Stream::Stdout => out_decoder.push(&chunk.data),
                        Stream::Stderr => err_decoder.push(&chunk.data),
                    };
                    coalescer.push(chunk.stream, &text, tokio::time::Instant::now());
                    if coalescer.is_full() {
                        flush(&mut coalescer, &mut stdout, &mut stderr);
                    }
                }
                _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                    flush(&mut coalescer, &mut stdout, &mut stderr);
                }
            }
        }
        let now = tokio::time::Instant::now();
        coalescer.push(Stream::Stdout, &out_decoder.finish(), now);
        coalescer.push(Stream::Stderr, &err_decoder.finish(), now);
        flush(&mut coalescer, &mut stdout, &mut stderr);
        (stdout, stderr)
    }
}

#[allow(clippy::too_many_arguments)]
fn record_of(
    run_id: String,
    language: &str,
    entry: &str,
    started_at_ms: i64,
    finished_at_ms: i64,
    elapsed: Duration,
    result: Result<Outcome, SandboxError>,
    backend: BackendKind,
    stdout: String,
    stderr: String,
) -> RunRecord {
    let base = RunRecord {
        run_id,
        language: language.to_string(),
        entry: entry.to_string(),
        started_at_ms,
        finished_at_ms,
        exit_code: None,
        signal: None,
        timed_out: false,
        oom_killed: false,
        truncated: false,
        duration_ms: elapsed.as_millis() as u64,
        backend: backend.as_str().to_string(),
        pooled: false,
        compile_cache: None,
        outcome: String::new(),
        error: None,
        stdout,
        stderr,
    };
    match result {
        Ok(outcome) => RunRecord {
            exit_code: outcome.exit_code,
            signal: outcome.signal.clone(),
            timed_out: outcome.timed_out,
            oom_killed: outcome.oom_killed,
            truncated: outcome.truncated,
            duration_ms: outcome.duration.as_millis() as u64,
            backend: outcome.backend.as_str().to_string(),
            pooled: outcome.pooled,
            compile_cache: outcome.compile_cache.map(|c| format!("{c:?}").to_ascii_lowercase()),
            outcome: outcome.label().to_string(),
            ..base
        },
        Err(err) => {
            tracing::warn!(error = %err, "sandbox run failed");
            RunRecord { outcome: err.label().to_string(), error: Some(err.to_string()), ..base }
        }
    }
}

fn finished_message(record: &RunRecord) -> serde_json::Value {
    json!({
        "type": "run.finished", "runId": record.run_id, "exitCode": record.exit_code, "signal": record.signal,
        "timedOut": record.timed_out, "oomKilled": record.oom_killed, "truncated": record.truncated,
        "durationMs": record.duration_ms, "backend": record.backend, "pooled": record.pooled,
        "compileCache": record.compile_cache, "outcome": record.outcome, "error": record.error,
    })
}
