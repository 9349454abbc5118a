//! Run-duration histogram for `/metrics`, in the Prometheus text format. Hand-rolled on purpose:
//! one fixed-bucket histogram does not justify a metrics registry, and it renders beside the
//! sandbox crate's counters in the same format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds in seconds: warm interpreted runs sit near the bottom, compiles near the top.
const BUCKETS: [f64; 12] = [0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0];

#[derive(Debug, Default, Clone)]
struct Series {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
pub struct RunHistogram {
    by_language: Mutex<BTreeMap<String, Series>>,
}

impl RunHistogram {
    pub fn observe(&self, language: &str, duration: Duration) {
        let seconds = duration.as_secs_f64();
        let mut map = self.by_language.lock().unwrap_or_else(|e| e.into_inner());
        let series = map.entry(language.to_string()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                series.counts[i] += 1;
            }
        }
        series.count += 1;
        series.sum += seconds;
    }

    pub fn render(&self, name: &str) -> String {
        let map = self.by_language.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = format!("# HELP {name} Wall time of code runs, by language.\n# TYPE {name} histogram\n");
        for (language, series) in map.iter() {
            for (bound, count) in BUCKETS.iter().zip(series.counts.iter()) {
                let _ = writeln!(out, "{name}_bucket{{language=\"{language}\",le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "{name}_bucket{{language=\"{language}\",le=\"+Inf\"}} {}", series.count);
            let _ = writeln!(out, "{name}_sum{{language=\"{language}\"}} {}", series.sum);
            let _ = writeln!(out, "{name}_count{{language=\"{language}\"}} {}", series.count);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative() {
        let h = RunHistogram::default();
        h.observe("python", Duration::from_millis(40));
        h.observe("python", Duration::from_secs(3));
        let text = h.render("run_seconds");
        assert!(text.contains("run_seconds_bucket{language=\"python\",le=\"0.05\"} 1"));
        assert!(text.contains("run_seconds_bucket{language=\"python\",le=\"5\"} 2"));
        assert!(text.contains("run_seconds_count{language=\"python\"} 2"));
    }
}
