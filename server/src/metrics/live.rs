//! Series read from the live state at each scrape: gauges of what is open or queued now, and the
//! sandbox crate's counters (kept there as atomics so the crate needs no metrics dependency).

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use crate::collab::{DocStore, Rooms};
use crate::exec::ExecService;
use crate::terminal::Terminals;

/// Handles onto the subsystems whose current state `/metrics` reports.
#[derive(Clone)]
pub struct LiveState {
    pub exec: ExecService,
    pub rooms: Rooms,
    pub docs: DocStore,
    pub terminals: Terminals,
}

impl fmt::Debug for LiveState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LiveState")
    }
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: usize) -> fmt::Result {
    let value = i64::try_from(value).unwrap_or(i64::MAX);
    ConstGauge::new(value).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
    ConstCounter::new(value).encode(encoder.encode_descriptor(
        name,
        help,
        None,
        MetricType::Counter,
    )?)
}

impl Collector for LiveState {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let e = &mut encoder;
        let queue = self.exec.queue();
        gauge(
            e,
            "opencoder_exec_queue_running",
            "Runs executing now",
            queue.running(),
        )?;
        gauge(
            e,
            "opencoder_exec_queue_waiting",
            "Runs waiting for a slot",
            queue.waiting(),
        )?;
        let sockets: usize = self
            .rooms
            .pads()
            .into_iter()
            .filter_map(|pad| self.rooms.get(pad))
            .map(|room| room.connection_count())
            .sum();
        gauge(
            e,
            "opencoder_pad_sockets_open",
            "Pad sockets open on this node",
            sockets,
        )?;
        gauge(
            e,
            "opencoder_pad_rooms_live",
            "Pads with at least one socket on this node",
            self.rooms.live_rooms(),
        )?;
        gauge(
            e,
            "opencoder_persist_docs_loaded",
            "Pad documents loaded in memory",
            self.docs.loaded_count(),
        )?;
        gauge(
            e,
            "opencoder_persist_queue_bytes",
            "Update-log bytes queued for the writer and not yet committed",
            self.docs.queued_log_bytes(),
        )?;
        gauge(
            e,
            "opencoder_terminal_sessions_open",
            "Pads with a live shared terminal",
            self.terminals.live_count(),
        )?;

        let s = self.exec.sandbox_metrics().snapshot();
        {
            let mut family = e.encode_descriptor(
                "opencoder_exec_runs",
                "Code runs by backend, language and outcome",
                None,
                MetricType::Counter,
            )?;
            for run in &s.runs {
                let labels = [
                    ("backend", run.backend.as_str()),
                    ("language", &run.language),
                    ("outcome", &run.outcome),
                ];
                ConstCounter::new(run.count).encode(family.encode_family(&labels)?)?;
            }
        }
        if !s.host_runs.is_empty() {
            let mut family = e.encode_descriptor(
                "opencoder_exec_host_runs",
                "Code runs by Docker host and outcome",
                None,
                MetricType::Counter,
            )?;
            for run in &s.host_runs {
                let labels = [("host", run.host.as_str()), ("outcome", &run.outcome)];
                ConstCounter::new(run.count).encode(family.encode_family(&labels)?)?;
            }
        }
        counter(
            e,
            "opencoder_exec_pool_hits",
            "Runs served by a warm-pool container",
            s.pool_hits,
        )?;
        counter(
            e,
            "opencoder_exec_pool_misses",
            "Runs that had to start a container cold",
            s.pool_misses,
        )?;
        counter(
            e,
            "opencoder_exec_compile_cache_hits",
            "Compile steps skipped thanks to the cache",
            s.cache_hits,
        )?;
        counter(
            e,
            "opencoder_exec_compile_cache_misses",
            "Compile steps that ran",
            s.cache_misses,
        )?;
        counter(
            e,
            "opencoder_exec_containers_created",
            "Sandbox containers created",
            s.containers_created,
        )?;
        counter(
            e,
            "opencoder_exec_containers_removed",
            "Sandbox containers removed",
            s.containers_removed,
        )?;
        counter(
            e,
            "opencoder_exec_docker_errors",
            "Failed Docker API calls",
            s.docker_errors,
        )?;
        counter(
            e,
            "opencoder_exec_run_duration_milliseconds",
            "Sum of run durations",
            s.run_millis_total,
        )
    }
}
