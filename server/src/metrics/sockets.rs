//! Pad socket families: frames received by kind, the fan-out lag of updates, closes by code.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Fan-out lag buckets: 50 µs doubling to about 1.6 s (a queue at its byte limit waits for a commit).
const FANOUT_START_SECONDS: f64 = 0.000_05;
const FANOUT_BUCKETS: u16 = 16;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FrameLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CloseLabels {
    code: String,
}

#[derive(Clone)]
pub(super) struct SocketMetrics {
    frames: Family<FrameLabels, Counter>,
    fanout: Histogram,
    closed: Family<CloseLabels, Counter>,
}

impl Default for SocketMetrics {
    fn default() -> Self {
        SocketMetrics {
            frames: Family::default(),
            fanout: super::exponential_histogram(FANOUT_START_SECONDS, 2.0, FANOUT_BUCKETS),
            closed: Family::default(),
        }
    }
}

/// The frame's kind from its leading type bytes (each below 128, so one varint byte), without
/// decoding it: `update` is a sync step 2 or an incremental update.
fn frame_kind(frame: &[u8]) -> &'static str {
    let byte = |i: usize| frame.get(i).map(|b| u64::from(*b));
    match (byte(0), byte(1)) {
        (Some(oc_proto::MSG_SYNC), Some(oc_proto::SYNC_STEP2 | oc_proto::SYNC_UPDATE)) => "update",
        (Some(oc_proto::MSG_SYNC), _) => "sync_request",
        (Some(oc_proto::MSG_AWARENESS | oc_proto::MSG_QUERY_AWARENESS), _) => "awareness",
        (Some(oc_proto::MSG_APP), _) => "app",
        _ => "other",
    }
}

impl SocketMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "opencoder_pad_frames_received",
            "Pad socket frames received, by kind",
            self.frames.clone(),
        );
        registry.register(
            "opencoder_pad_fanout_seconds",
            "From receipt of a document update to its hand-off to every peer's send queue",
            self.fanout.clone(),
        );
        registry.register(
            "opencoder_pad_sockets_closed",
            "Pad sockets ended, by the close code the server sent (client: the client left first)",
            self.closed.clone(),
        );
    }

    pub(super) fn frame(&self, frame: &[u8], since: std::time::Duration) {
        let kind = frame_kind(frame);
        self.frames.get_or_create(&FrameLabels { kind }).inc();
        if kind == "update" {
            self.fanout.observe(since.as_secs_f64());
        }
    }

    pub(super) fn closed(&self, code: Option<u16>) {
        let code = code.map_or_else(|| "client".to_string(), |c| c.to_string());
        self.closed.get_or_create(&CloseLabels { code }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_classified_by_their_type_bytes() {
        assert_eq!(frame_kind(&oc_proto::encode_update(b"\x00\x00")), "update");
        assert_eq!(
            frame_kind(&oc_proto::encode_sync_step2(b"\x00\x00")),
            "update"
        );
        assert_eq!(
            frame_kind(&oc_proto::encode_sync_step1(b"\x00")),
            "sync_request"
        );
        assert_eq!(
            frame_kind(&oc_proto::encode_awareness(b"\x00")),
            "awareness"
        );
        assert_eq!(frame_kind(&oc_proto::encode_query_awareness()), "awareness");
        assert_eq!(
            frame_kind(&oc_proto::encode_permission_denied("x")),
            "other"
        );
        assert_eq!(frame_kind(&[]), "other");
    }
}
