//! Recording families: recordings in progress on the pads this node owns (as of the last seek-data
//! scan, every `recordings::CHECKPOINT_SCAN_EVERY`) and seek segments written.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Default)]
pub(super) struct RecordingMetrics {
    active: Gauge,
    segments: Counter,
}

impl RecordingMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "opencoder_recordings_active",
            "Recordings in progress on the pads this node owns, as of the last seek-data scan",
            self.active.clone(),
        );
        registry.register(
            "opencoder_recording_segments_written",
            "Seek segments written for recordings",
            self.segments.clone(),
        );
    }

    pub(super) fn set_active(&self, count: usize) {
        self.active.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub(super) fn segment_written(&self) {
        self.segments.inc();
    }
}
