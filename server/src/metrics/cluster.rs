//! Cluster families: bus messages published, received and dropped (with `REDIS_URL`), and pad
//! leases gained and lost. Made before the bus and the ownership, which count into them.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Why a bus message did not make it.
#[derive(Clone, Copy, Debug)]
pub enum BusDrop {
    /// The publish queue was full (Redis down or slow).
    QueueFull,
    /// Redis refused or lost the `PUBLISH`.
    PublishFailed,
    /// A message from another node that could not be decoded.
    Malformed,
}

impl BusDrop {
    fn label(self) -> &'static str {
        match self {
            BusDrop::QueueFull => "queue_full",
            BusDrop::PublishFailed => "publish_failed",
            BusDrop::Malformed => "malformed",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeaseLabels {
    kind: &'static str,
}

#[derive(Clone, Default)]
pub struct ClusterMetrics {
    messages: Family<DirectionLabels, Counter>,
    dropped: Family<ReasonLabels, Counter>,
    gained: Family<LeaseLabels, Counter>,
    lost: Counter,
}

impl ClusterMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "opencoder_bus_messages",
            "Bus messages this node published to Redis or received from other nodes",
            self.messages.clone(),
        );
        registry.register(
            "opencoder_bus_dropped",
            "Bus messages dropped, by reason",
            self.dropped.clone(),
        );
        registry.register(
            "opencoder_cluster_leases_gained",
            "Pad leases this node gained: new (the pad's first holder) or takeover (from another node)",
            self.gained.clone(),
        );
        registry.register(
            "opencoder_cluster_leases_lost",
            "Pad leases this node lost to another node",
            self.lost.clone(),
        );
        // Every series at zero from the start: a rate over a series that appears late misses its first count.
        for direction in ["published", "received"] {
            drop(self.messages.get_or_create(&DirectionLabels { direction }));
        }
        for why in [
            BusDrop::QueueFull,
            BusDrop::PublishFailed,
            BusDrop::Malformed,
        ] {
            drop(self.dropped.get_or_create(&ReasonLabels {
                reason: why.label(),
            }));
        }
        for kind in ["new", "takeover"] {
            drop(self.gained.get_or_create(&LeaseLabels { kind }));
        }
    }

    pub fn published(&self, messages: usize) {
        self.messages
            .get_or_create(&DirectionLabels {
                direction: "published",
            })
            .inc_by(messages as u64);
    }

    pub fn received(&self) {
        self.messages
            .get_or_create(&DirectionLabels {
                direction: "received",
            })
            .inc();
    }

    pub fn dropped(&self, why: BusDrop) {
        self.dropped
            .get_or_create(&ReasonLabels {
                reason: why.label(),
            })
            .inc();
    }

    /// A lease gained at `epoch`: the epoch grows only when the holder changes, so above 1 a
    /// lease another node held was taken over.
    pub fn lease_gained(&self, epoch: i64) {
        let kind = if epoch > 1 { "takeover" } else { "new" };
        self.gained.get_or_create(&LeaseLabels { kind }).inc();
    }

    pub fn lease_lost(&self) {
        self.lost.inc();
    }
}
