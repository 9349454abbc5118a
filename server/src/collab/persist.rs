//! Durability of pad documents (SPEC §4): the group-commit writer of the update log
//! (`doc_updates`) and of checkpoints (`doc_checkpoints`).
//!
//! One writer task per server owns every write to those tables. Documents hand it work in the
//! order they applied it (under each document's lock), so the log's order is the apply order,
//! which is also the order clients were sent the updates. The writer commits everything that
//! arrived within `GROUP_COMMIT_WINDOW` of the first pending item in one transaction, so an
//! accepted update is durable no later than ~`GROUP_COMMIT_WINDOW` + one commit after receipt
//! (the SPEC asks for 100 ms). A checkpoint carries the log id up to which its document holds the
//! pad's log (`PadDoc` tracks it); it covers that and this node's updates queued before it, and is
//! dropped when another node wrote the pad in between (with several nodes writing one pad, the
//! pad's `MAX(id)` may include updates this node's document has not received yet). The document
//! learns where its updates landed only after their commit, so a checkpoint queued while a batch
//! of its pad is committing names a `held` that batch has already passed; the writer remembers
//! which runs of each pad's log it wrote itself (`OwnRuns`) and counts those in, so a busy pad
//! still gets its checkpoints.
//!
//! After each commit the writer hands every committed update with its place in the pad's log to
//! `on_commit` (the document store: it advances the document's log position and relays the update
//! to the other nodes). An update counts as *acknowledged* from that commit on.
//!
//! The queue is bounded in bytes (`COLLAB_PERSIST_QUEUE_BYTES`): producers wait for room
//! (`wait_for_room`) before they apply anything, so a socket that writes faster than the disk
//! stops being read instead of growing memory; `overloaded` is only the hard stop behind that.
//! Each committed update also adds its size to the pad's `history_bytes` counter, which the
//! per-pad history budget (`COLLAB_HISTORY_BYTES`) is checked against.
//!
//! Must not: apply anything to a document, or be bypassed (a row written elsewhere could land
//! between a checkpoint and the updates it claims to fold).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio::sync::{mpsc, oneshot, Notify};

use super::store::{self, LogPlace, LogWrite};
use crate::db::{Db, PadId, UserId};
use crate::metrics::PersistMetrics;

/// How long the writer waits for more work after the first pending item before committing.
pub const GROUP_COMMIT_WINDOW: Duration = Duration::from_millis(40);
/// Most items in one transaction (a busy server commits more often instead).
pub const MAX_BATCH: usize = 2_000;
/// Producers normally wait while the queue holds `COLLAB_PERSIST_QUEUE_BYTES`; racing producers
/// can overshoot a little, and only at this multiple of it are updates refused as overload.
pub const OVERLOAD_FACTOR: usize = 2;
/// How long a REST edit waits for room in a full queue before it fails with 503.
pub const QUEUE_WAIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Older checkpoints are thinned to about one per this many of the pad's updates (the newest is
/// always kept, so loading never replays more than `CHECKPOINT_EVERY_UPDATES`). Playback seeks
/// from recordings' own segments, so old full checkpoints only bound the scan of unrecorded
/// history; keeping few of them holds storage per keystroke down (the original stored the whole
/// document every few seconds, reference §12.22).
pub const CHECKPOINT_RETAIN_SPACING: i64 = 20_000;
/// Attempts at committing one batch before it is given up (and logged as lost).
const COMMIT_ATTEMPTS: u32 = 5;
/// The writer forgets a pad's run of its own updates after this many batches without one; a
/// checkpoint queued longer ago than that falls back to its own `held` (and may be dropped).
const OWN_RUN_BATCHES: u64 = 64;

enum WriteOp {
    Update {
        pad: PadId,
        user: Option<UserId>,
        at_ms: i64,
        bytes: Bytes,
    },
    Checkpoint {
        pad: PadId,
        held: i64,
        state: Vec<u8>,
        state_vector: Vec<u8>,
    },
    Flush(oneshot::Sender<()>),
}

/// An update as committed: where it landed in its pad's log, and its bytes.
#[derive(Debug, Clone)]
pub struct Committed {
    pub place: LogPlace,
    pub bytes: Bytes,
}

/// Told about every commit, in commit order, from the writer task; must not block.
pub type OnCommit = Arc<dyn Fn(Vec<Committed>) + Send + Sync>;

impl WriteOp {
    /// Bytes this item holds in the queue.
    fn queued_bytes(&self) -> usize {
        match self {
            WriteOp::Update { bytes, .. } => bytes.len(),
            WriteOp::Checkpoint {
                state,
                state_vector,
                ..
            } => state.len() + state_vector.len(),
            WriteOp::Flush(_) => 0,
        }
    }
}

/// What is queued and not yet committed, shared by the handles and the writer.
struct Queue {
    bytes: AtomicUsize,
    max_bytes: usize,
    /// Signalled after every commit, for producers waiting for room.
    drained: Notify,
}

/// Handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct Persist {
    tx: mpsc::UnboundedSender<WriteOp>,
    queue: Arc<Queue>,
    metrics: PersistMetrics,
}

impl Persist {
    /// Start the writer task with a queue of `max_bytes` (`COLLAB_PERSIST_QUEUE_BYTES`). It runs
    /// until every handle is dropped; `flush` is the shutdown hook.
    pub fn start(
        db: Db,
        max_bytes: usize,
        on_commit: OnCommit,
        metrics: PersistMetrics,
    ) -> Persist {
        let (tx, rx) = mpsc::unbounded_channel();
        let queue = Arc::new(Queue {
            bytes: AtomicUsize::new(0),
            max_bytes,
            drained: Notify::new(),
        });
        tokio::spawn(run_writer(
            db,
            rx,
            queue.clone(),
            on_commit,
            metrics.clone(),
        ));
        Persist { tx, queue, metrics }
    }

    /// Bytes waiting to be committed.
    pub fn queued_bytes(&self) -> usize {
        self.queue.bytes.load(Ordering::Relaxed)
    }

    /// Whether the queue has room for more.
    pub fn has_room(&self) -> bool {
        self.queued_bytes() < self.queue.max_bytes
    }

    /// Wait until the queue has room (backpressure for producers).
    pub async fn wait_for_room(&self) {
        loop {
            // Registered before the check, so a commit between the check and the wait still wakes us.
            let drained = self.queue.drained.notified();
            if self.has_room() {
                return;
            }
            drained.await;
        }
    }

    /// Whether the writer is so far behind that even a producer that waited must be refused.
    pub fn overloaded(&self) -> bool {
        self.queued_bytes() >= self.queue.max_bytes.saturating_mul(OVERLOAD_FACTOR)
    }

    /// Queue an update for the log. Never blocks; the caller holds the document's lock.
    pub fn append(&self, pad: PadId, user: Option<UserId>, bytes: Bytes) {
        let at_ms = chrono::Utc::now().timestamp_millis();
        self.send(WriteOp::Update {
            pad,
            user,
            at_ms,
            bytes,
        });
    }

    /// Queue a checkpoint of a document that holds exactly the pad's log up to `held` plus the
    /// updates queued here before it (see `LogWrite::Checkpoint`).
    pub fn checkpoint(&self, pad: PadId, held: i64, state: Vec<u8>, state_vector: Vec<u8>) {
        self.metrics.checkpoint(state.len());
        self.send(WriteOp::Checkpoint {
            pad,
            held,
            state,
            state_vector,
        });
    }

    /// Wait until everything queued before this call is committed (or given up).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(WriteOp::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    fn send(&self, op: WriteOp) {
        let bytes = op.queued_bytes();
        self.queue.bytes.fetch_add(bytes, Ordering::Relaxed);
        if self.tx.send(op).is_err() {
            self.queue.bytes.fetch_sub(bytes, Ordering::Relaxed);
            tracing::error!("document writer is gone; an update was not persisted");
        }
    }
}

/// For each pad this writer wrote recently, the newest run of consecutive ids in the pad's log
/// that are all its own updates: `(from, to]`, with `from` the id just before the run. Every one
/// of those was applied to the pad's document before it was queued, so a document that holds
/// the log up to some `held` inside a run also holds the rest of that run.
#[derive(Default)]
struct OwnRuns {
    runs: HashMap<PadId, OwnRun>,
    batches: u64,
}

struct OwnRun {
    from: i64,
    to: i64,
    batch: u64,
}

impl OwnRuns {
    /// How far a document that held the log up to `held` holds it, counting this writer's
    /// committed updates that follow `held` without another writer's in between.
    fn held_through(&self, pad: PadId, held: i64) -> i64 {
        match self.runs.get(&pad) {
            Some(run) if run.from <= held && held <= run.to => run.to,
            _ => held,
        }
    }

    /// Extend the runs with a committed batch's updates, in commit order.
    fn record<'a>(&mut self, places: impl IntoIterator<Item = &'a LogPlace>) {
        self.batches += 1;
        let batch = self.batches;
        for place in places {
            let run = self.runs.entry(place.pad).or_insert(OwnRun {
                from: place.prev,
                to: place.prev,
                batch,
            });
            if run.to != place.prev {
                run.from = place.prev;
            }
            run.to = place.id;
            run.batch = batch;
        }
        self.runs
            .retain(|_, run| batch - run.batch < OWN_RUN_BATCHES);
    }
}

async fn run_writer(
    db: Db,
    mut rx: mpsc::UnboundedReceiver<WriteOp>,
    queue: Arc<Queue>,
    on_commit: OnCommit,
    metrics: PersistMetrics,
) {
    let mut batch: Vec<WriteOp> = Vec::new();
    let mut own = OwnRuns::default();
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + GROUP_COMMIT_WINDOW;
        let mut flush_now = matches!(first, WriteOp::Flush(_));
        batch.push(first);
        while !flush_now && batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(op)) => {
                    flush_now = matches!(op, WriteOp::Flush(_));
                    batch.push(op);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let mut waiters = Vec::new();
        let mut writes = Vec::with_capacity(batch.len());
        for op in batch.drain(..) {
            match op {
                WriteOp::Flush(done) => waiters.push(done),
                other => writes.push(other),
            }
        }
        if !writes.is_empty() {
            let started = Instant::now();
            let places = commit_with_retry(&db, &writes, &own).await;
            metrics.commit(writes.len(), started.elapsed());
            own.record(places.iter().flatten());
            let committed: Vec<Committed> = writes
                .iter()
                .zip(places)
                .filter_map(|(op, place)| match (op, place) {
                    (WriteOp::Update { bytes, .. }, Some(place)) => Some(Committed {
                        place,
                        bytes: bytes.clone(),
                    }),
                    _ => None,
                })
                .collect();
            if !committed.is_empty() {
                on_commit(committed);
            }
            let committed: usize = writes.iter().map(WriteOp::queued_bytes).sum();
            queue.bytes.fetch_sub(committed, Ordering::Relaxed);
            queue.drained.notify_waiters();
        }
        for done in waiters {
            let _ = done.send(());
        }
    }
}

/// Where each write landed (see `store::commit_log`); all `None` when the batch was lost.
async fn commit_with_retry(db: &Db, writes: &[WriteOp], own: &OwnRuns) -> Vec<Option<LogPlace>> {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=COMMIT_ATTEMPTS {
        match commit(db, writes, own).await {
            Ok(places) => return places,
            Err(err) if attempt < COMMIT_ATTEMPTS => {
                tracing::warn!(error = %err, attempt, "document log commit failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(err) => {
                tracing::error!(error = %err, items = writes.len(), "document log commit failed; batch lost");
            }
        }
    }
    Vec::new()
}

/// The batch as the store writes it (`Flush` markers carry nothing to write; a checkpoint's
/// `held` counts this writer's committed run after it).
async fn commit(db: &Db, writes: &[WriteOp], own: &OwnRuns) -> sqlx::Result<Vec<Option<LogPlace>>> {
    let entries: Vec<LogWrite<'_>> = writes
        .iter()
        .filter_map(|op| match op {
            WriteOp::Update {
                pad,
                user,
                at_ms,
                bytes,
            } => Some(LogWrite::Update {
                pad: *pad,
                user: *user,
                at_ms: *at_ms,
                bytes: bytes.as_ref(),
            }),
            WriteOp::Checkpoint {
                pad,
                held,
                state,
                state_vector,
            } => Some(LogWrite::Checkpoint {
                pad: *pad,
                held: own.held_through(*pad, *held),
                state,
                state_vector,
            }),
            WriteOp::Flush(_) => None,
        })
        .collect();
    store::commit_log(db, &entries).await
}
