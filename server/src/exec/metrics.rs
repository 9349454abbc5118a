//! The run-duration histogram the execution service observes and `/metrics` renders
//! (`opencoder_exec_run_duration_seconds`, by language).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

/// Upper bounds in seconds: warm interpreted runs sit near the bottom, compiles near the top.
const BUCKETS: [f64; 12] = [
    0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LanguageLabels {
    /// The language's canonical id (a bounded set: the language table).
    pub language: String,
}

pub type RunDurations = Family<LanguageLabels, Histogram, fn() -> Histogram>;

fn run_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

pub fn run_durations() -> RunDurations {
    RunDurations::new_with_constructor(run_histogram)
}
