//! Counters kept by the backends (plain atomics and one small map; no metrics crate).
//! The server renders them with [`Metrics::render_prometheus`] or reads [`Metrics::snapshot`].
//! One `Arc<Metrics>` may be shared by several backends.

use std::collections::BTreeMap;
use std::fmt::Write;
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
        *runs.entry((host.to_string(), outcome.to_string())).or_default() += 1;
    }

    /// Runs counted on `host` with outcome label `outcome`.
    pub fn runs_on_host(&self, host: &str, outcome: &str) -> u64 {
        let runs = self.host_runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.get(&(host.to_string(), outcome.to_string())).copied().unwrap_or(0)
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
        self.record_run(backend, language, label, started.elapsed().as_millis() as u64);
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

    /// Prometheus text exposition (counters prefixed with `prefix`, e.g. `opencoder_exec`).
    pub fn render_prometheus(&self, prefix: &str) -> String {
        let s = self.snapshot();
        let mut out = String::new();
        let runs = s.runs.iter().map(|r| {
            let labels = [("backend", &r.backend), ("language", &r.language), ("outcome", &r.outcome)];
            (labels.to_vec(), r.count)
        });
        labelled_counter(&mut out, prefix, "runs_total", "Code runs by backend, language and outcome.", runs);
        if !s.host_runs.is_empty() {
            let runs = s.host_runs.iter().map(|r| (vec![("host", &r.host), ("outcome", &r.outcome)], r.count));
            labelled_counter(&mut out, prefix, "host_runs_total", "Code runs by Docker host and outcome.", runs);
        }
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {prefix}_{name} {help}");
            let _ = writeln!(out, "# TYPE {prefix}_{name} counter");
            let _ = writeln!(out, "{prefix}_{name} {v}");
        };
        counter(
            "pool_hits_total",
            "Runs served by a warm-pool container.",
            s.pool_hits,
        );
        counter(
            "pool_misses_total",
            "Runs that had to start a container cold.",
            s.pool_misses,
        );
        counter(
            "compile_cache_hits_total",
            "Compile steps skipped thanks to the cache.",
            s.cache_hits,
        );
        counter(
            "compile_cache_misses_total",
            "Compile steps that ran.",
            s.cache_misses,
        );
        counter(
            "containers_created_total",
            "Sandbox containers created.",
            s.containers_created,
        );
        counter(
            "containers_removed_total",
            "Sandbox containers removed.",
            s.containers_removed,
        );
        counter(
            "docker_errors_total",
            "Failed Docker API calls.",
            s.docker_errors,
        );
        counter(
            "run_duration_milliseconds_total",
            "Sum of run durations.",
            s.run_millis_total,
        );
        out
    }
}

/// One counter with a series per label set.
fn labelled_counter<'a>(
    out: &mut String,
    prefix: &str,
    name: &str,
    help: &str,
    series: impl Iterator<Item = (Vec<(&'a str, &'a String)>, u64)>,
) {
    let _ = writeln!(out, "# HELP {prefix}_{name} {help}");
    let _ = writeln!(out, "# TYPE {prefix}_{name} counter");
    for (labels, count) in series {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(out, "{prefix}_{name}{{{}}} {count}", labels.join(","));
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render() {
        let m = Metrics::new();
        m.record_run("docker", "python", "ok", 12);
        m.record_run("docker", "python", "ok", 8);
        Metrics::inc(&m.pool_hits);
        let text = m.render_prometheus("oc_exec");
        assert!(text.contains(
            "oc_exec_runs_total{backend=\"docker\",language=\"python\",outcome=\"ok\"} 2"
        ));
        assert!(text.contains("oc_exec_pool_hits_total 1"));
        assert_eq!(m.runs_for("python", "ok"), 2);
        assert!(!text.contains("host_runs_total"), "one host: no per-host series");
        m.record_host_run("unix:///run/oc-docker2.sock", "host_unavailable");
        let text = m.render_prometheus("oc_exec");
        assert!(text.contains(
            "oc_exec_host_runs_total{host=\"unix:///run/oc-docker2.sock\",outcome=\"host_unavailable\"} 1"
        ));
        assert_eq!(m.runs_on_host("unix:///run/oc-docker2.sock", "host_unavailable"), 1);
    }
}
