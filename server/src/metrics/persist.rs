//! The document store's families: commit latency, items per batch, checkpoint sizes, gap
//! repairs. Made before the document store, which hands them to its writer task.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Commit latency: 1 ms doubling to about 4 s (a commit retried against a slow database).
const COMMIT_START_SECONDS: f64 = 0.001;
const COMMIT_BUCKETS: u16 = 13;
/// Items per batch: 1 doubling to 2048, above the writer's own cap (`persist::MAX_BATCH`).
const BATCH_BUCKETS: u16 = 12;
/// Checkpoint sizes: 256 bytes quadrupling to 64 MiB.
const CHECKPOINT_START_BYTES: f64 = 256.0;
const CHECKPOINT_BUCKETS: u16 = 10;

#[derive(Clone)]
pub struct PersistMetrics {
    commit_seconds: Histogram,
    batch_items: Histogram,
    checkpoint_bytes: Histogram,
    gap_repairs: Counter,
}

impl Default for PersistMetrics {
    fn default() -> Self {
        PersistMetrics {
            commit_seconds: super::exponential_histogram(COMMIT_START_SECONDS, 2.0, COMMIT_BUCKETS),
            batch_items: super::exponential_histogram(1.0, 2.0, BATCH_BUCKETS),
            checkpoint_bytes: super::exponential_histogram(
                CHECKPOINT_START_BYTES,
                4.0,
                CHECKPOINT_BUCKETS,
            ),
            gap_repairs: Counter::default(),
        }
    }
}

impl PersistMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "opencoder_persist_commit_seconds",
            "Time to commit one batch of the update log and checkpoints (retries included)",
            self.commit_seconds.clone(),
        );
        registry.register(
            "opencoder_persist_batch_items",
            "Updates and checkpoints per committed batch",
            self.batch_items.clone(),
        );
        registry.register(
            "opencoder_persist_checkpoint_bytes",
            "Size of each queued document checkpoint",
            self.checkpoint_bytes.clone(),
        );
        registry.register(
            "opencoder_persist_gap_repairs",
            "Documents re-read from the update log after a missed relayed update or a bus outage",
            self.gap_repairs.clone(),
        );
    }

    pub fn commit(&self, items: usize, took: std::time::Duration) {
        self.batch_items.observe(items as f64);
        self.commit_seconds.observe(took.as_secs_f64());
    }

    pub fn gap_repaired(&self) {
        self.gap_repairs.inc();
    }

    pub fn checkpoint(&self, bytes: usize) {
        self.checkpoint_bytes.observe(bytes as f64);
    }
}
