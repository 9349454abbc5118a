//! What the server processes and the load generator itself do during the measured window: CPU and
//! RSS from `/proc/<pid>`, and how late the generator's runtime wakes (its own saturation).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::{Shared, LAG_PROBE_PERIOD};
use crate::machine::{cpu_secs, rss_kib};

/// CPU and memory of one process over the measured window.
pub(super) struct ProcessSample {
    pub(super) cpu_percent: Option<f64>,
    pub(super) rss_before_kib: Option<u64>,
    pub(super) rss_peak_kib: u64,
    pub(super) rss_end_kib: Option<u64>,
}

/// Samples processes' RSS every 250 ms while the run is measured, and their CPU over it.
pub(super) async fn sample_processes(pids: Vec<u32>, shared: Arc<Shared>) -> Vec<ProcessSample> {
    let rss_before: Vec<Option<u64>> = pids.iter().map(|&pid| rss_kib(pid)).collect();
    tokio::time::sleep_until(shared.measure_from.into()).await;
    let started = Instant::now();
    let cpu_at_start: Vec<Option<f64>> = pids.iter().map(|&pid| cpu_secs(Some(pid))).collect();
    let mut peaks = vec![0u64; pids.len()];
    while Instant::now() < shared.measure_until {
        for (peak, &pid) in peaks.iter_mut().zip(&pids) {
            *peak = (*peak).max(rss_kib(pid).unwrap_or(0));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    pids.iter()
        .enumerate()
        .map(|(i, &pid)| ProcessSample {
            cpu_percent: cpu_at_start[i]
                .zip(cpu_secs(Some(pid)))
                .map(|(start, end)| (end - start) / seconds * 100.0),
            rss_before_kib: rss_before[i],
            rss_peak_kib: peaks[i],
            rss_end_kib: rss_kib(pid),
        })
        .collect()
}

/// How late the generator's runtime wakes a task that asked to sleep `LAG_PROBE_PERIOD`, over the
/// measured window (µs).
pub(super) async fn probe_generator_lag(shared: Arc<Shared>) -> Histogram<u64> {
    let mut lag = Histogram::<u64>::new(3).expect("3 significant digits is valid");
    while Instant::now() < shared.measure_until {
        let asked = Instant::now();
        tokio::time::sleep(LAG_PROBE_PERIOD).await;
        if asked >= shared.measure_from {
            let late = asked.elapsed().saturating_sub(LAG_PROBE_PERIOD);
            let _ = lag.record((late.as_micros() as u64).max(1));
        }
    }
    lag
}

/// KiB as MiB with one decimal.
pub(super) fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}
