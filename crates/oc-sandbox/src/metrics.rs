//! Counters kept by the backends (plain atomics and one small map; no metrics crate, so the
//! sandbox does not pick the server's exporter). The server reads [`Metrics::snapshot`] at each
//! scrape and renders it. One `Arc<Metrics>` may be shared by several backends.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

#[derive(Debug, Default)]
pub struct Metrics {
    /// (backend, language, outcome label) -> count
    runs: Mutex<BTreeMap<(String, String, String), u64>>,
    /// (Docker host address, outcome label) -> count, with several hosts
    host_runs: Mutex<BTreeMap<(String, String), u64>>,
    pub pool_hits: AtomicU64,
    pub pool_misses: AtomicU64,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub containers_created: AtomicU64,
    pub containers_removed: AtomicU64,
    pub docker_errors: AtomicU64,
    /// Sum of run durations in milliseconds (with the run count: mean latency).
    pub run_millis_total: AtomicU64,
}

/// A copy of the counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MetricsSnapshot {
    pub runs: Vec<RunCount>,
    pub host_runs: Vec<HostRunCount>,
    pub pool_hits: u64,
    pub pool_misses: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub containers_created: u64,
    pub containers_removed: u64,
    pub docker_errors: u64,
    pub run_millis_total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostRunCount {
    pub host: String,
    pub outcome: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunCount {
    pub backend: String,
    pub language: String,
    pub outcome: String,
    pub count: u64,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_run(&self, backend: &str, language: &str, outcome: &str, millis: u64) {
        self.run_millis_total.fetch_add(millis, Ordering::Relaxed);
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        *runs
            .entry((
                backend.to_string(),
                language.to_string(),
                outcome.to_string(),
            ))
            .or_default() += 1;
    }

    /// Count a run placed on a Docker host (several hosts) under its outcome label.
    pub(crate) fn record_host_run(&self, host: &str, outcome: &str) {
        let mut runs = self.host_runs.lock().unwrap_or_else(|e| e.into_inner());
        *runs
            .entry((host.to_string(), outcome.to_string()))
            .or_default() += 1;
    }

    /// Runs counted on `host` with outcome label `outcome`.
    pub fn runs_on_host(&self, host: &str, outcome: &str) -> u64 {
        let runs = self.host_runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.get(&(host.to_string(), outcome.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Count a finished run (or its failure) under the language's canonical id.
    pub(crate) fn record_result(
        &self,
        backend: &str,
        languages: &crate::LanguageTable,
        language: &str,
        result: &Result<crate::Outcome, crate::SandboxError>,
        started: std::time::Instant,
    ) {
        let language = languages.get(language).map_or("unknown", |l| l.id.as_str());
        let label = match result {
            Ok(outcome) => outcome.label(),
            Err(err) => err.label(),
        };
        self.record_run(
            backend,
            language,
            label,
            started.elapsed().as_millis() as u64,
        );
    }

    /// Runs counted for `language` with outcome label `outcome` (any backend).
    pub fn runs_for(&self, language: &str, outcome: &str) -> u64 {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.iter()
            .filter(|((_, l, o), _)| l == language && o == outcome)
            .map(|(_, n)| *n)
            .sum()
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let host_runs = self.host_runs.lock().unwrap_or_else(|e| e.into_inner());
        MetricsSnapshot {
            host_runs: host_runs
                .iter()
                .map(|((host, outcome), n)| HostRunCount {
                    host: host.clone(),
                    outcome: outcome.clone(),
                    count: *n,
                })
                .collect(),
            runs: runs
                .iter()
                .map(|((b, l, o), n)| RunCount {
                    backend: b.clone(),
                    language: l.clone(),
                    outcome: o.clone(),
                    count: *n,
                })
                .collect(),
            pool_hits: self.pool_hits.load(Ordering::Relaxed),
            pool_misses: self.pool_misses.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
            containers_created: self.containers_created.load(Ordering::Relaxed),
            containers_removed: self.containers_removed.load(Ordering::Relaxed),
            docker_errors: self.docker_errors.load(Ordering::Relaxed),
            run_millis_total: self.run_millis_total.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_by_label() {
        let m = Metrics::new();
        m.record_run("docker", "python", "ok", 12);
        m.record_run("docker", "python", "ok", 8);
        m.record_run("docker", "python", "timeout", 5);
        Metrics::inc(&m.pool_hits);
        assert_eq!(m.runs_for("python", "ok"), 2);
        let snap = m.snapshot();
        assert_eq!(snap.pool_hits, 1);
        assert_eq!(snap.run_millis_total, 25);
        assert!(snap.host_runs.is_empty(), "one host: no per-host series");
        m.record_host_run("unix:///run/oc-docker2.sock", "host_unavailable");
        assert_eq!(
            m.runs_on_host("unix:///run/oc-docker2.sock", "host_unavailable"),
            1
        );
        assert_eq!(m.snapshot().runs.len(), 2);
    }
}
