//! Warm pool: per language, keep N containers created, started and idle (blocked reading their
//! input tar on stdin). A run takes one if ready (hit) or creates one cold (miss). Every container
//! serves exactly one run and is then destroyed; the supervisor task refills the pool.
//!
//! The same task checks the daemon's health (ping, with backoff while it is down). When the
//! daemon goes away the ready containers are forgotten (and removed once it is back) and runs fail
//! fast with `Unavailable`; when it returns, the API version is re-negotiated, this instance's
//! leftovers are removed and the pool is rebuilt. Container removals that failed are retried on
//! every check while the daemon answers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, Semaphore};

use crate::docker::backend::Inner;
use crate::metrics::Metrics;
use crate::RunLimits;

/// Pool configuration.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// language id (or alias) -> number of idle containers to keep.
    pub sizes: BTreeMap<String, usize>,
    /// Limits the pooled containers are created with. A run whose memory/cpus/pids/tmpfs limits
    /// differ can't use them and starts a container cold.
    pub limits: RunLimits,
    /// Containers created at the same time while refilling (the machine may be small).
    pub max_parallel_starts: usize,
    /// Health-check interval while the daemon is up.
    pub health_interval: Duration,
    /// Longest wait between checks while the daemon is down (backoff doubles up to this).
    pub max_backoff: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            sizes: BTreeMap::new(),
            limits: RunLimits::default(),
            max_parallel_starts: 2,
            health_interval: Duration::from_secs(5),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Parses `EXEC_POOL`-style specs: `python=2,javascript=1` (whitespace allowed, empty = none).
pub fn parse_pool_spec(spec: &str) -> Result<BTreeMap<String, usize>, String> {
    let mut out = BTreeMap::new();
    for part in spec.split([',', ';']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (lang, n) = part
            .split_once('=')
            .ok_or_else(|| format!("pool entry {part:?} is not language=count"))?;
        let lang = lang.trim().to_ascii_lowercase();
        if lang.is_empty() {
            return Err(format!("pool entry {part:?} has no language"));
        }
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("pool entry {part:?}: bad count"))?;
        if n > 64 {
            return Err(format!(
                "pool entry {part:?}: at most 64 containers per language"
            ));
        }
        out.insert(lang, n);
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolLanguageStats {
    pub language: String,
    pub target: usize,
    pub ready: usize,
    pub starting: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolStats {
    pub languages: Vec<PoolLanguageStats>,
    pub hits: u64,
    pub misses: u64,
    /// Pool containers that failed to start (image missing, daemon trouble).
    pub start_failures: u64,
}

pub(crate) fn resources_match(a: &RunLimits, b: &RunLimits) -> bool {
    a.memory_mb == b.memory_mb && a.cpus == b.cpus && a.pids == b.pids && a.tmpfs_mb == b.tmpfs_mb
}

#[derive(Debug, Default)]
struct State {
    ready: HashMap<String, VecDeque<String>>,
    starting: HashMap<String, usize>,
    /// Containers to remove while the daemon answers: ready ones dropped while it was
    /// unreachable, and those whose removal failed.
    orphans: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Pool {
    /// Resolved language id -> target size.
    pub(crate) sizes: BTreeMap<String, usize>,
    pub(crate) cfg: PoolConfig,
    state: Mutex<State>,
    pub(crate) notify: Notify,
    hits: AtomicU64,
    misses: AtomicU64,
    start_failures: AtomicU64,
    starts: Semaphore,
}

impl Pool {
    pub(crate) fn new(cfg: PoolConfig, sizes: BTreeMap<String, usize>) -> Self {
        let permits = cfg.max_parallel_starts.max(1);
        Self {
            sizes,
            cfg,
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            start_failures: AtomicU64::new(0),
            starts: Semaphore::new(permits),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a ready container for `language` if the run's limits match the pool's.
    /// Counts a hit or a miss (only for pooled languages).
    pub(crate) fn take(
        &self,
        language: &str,
        limits: &RunLimits,
        metrics: &Metrics,
    ) -> Option<String> {
        if !self.sizes.contains_key(language) {
            return None;
        }
        let got = if resources_match(limits, &self.cfg.limits) {
            self.lock()
                .ready
                .get_mut(language)
                .and_then(|q| q.pop_front())
        } else {
            None
        };
        if got.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            Metrics::inc(&metrics.pool_hits);
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            Metrics::inc(&metrics.pool_misses);
        }
        // Refill either way (a miss means we are behind).
        self.notify.notify_one();
        got
    }

    /// Forgets every ready container (daemon went away); they are removed later.
    pub(crate) fn invalidate(&self) {
        let mut st = self.lock();
        let drained: Vec<String> = st.ready.values_mut().flat_map(|q| q.drain(..)).collect();
        st.orphans.extend(drained);
    }

    /// Leaves a container whose removal failed to the supervisor.
    pub(crate) fn remove_later(&self, id: String) {
        let mut st = self.lock();
        if !st.orphans.contains(&id) {
            st.orphans.push(id);
        }
    }

    fn take_orphans(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().orphans)
    }

    /// Every container id currently held (for shutdown).
    pub(crate) fn drain_all(&self) -> Vec<String> {
        let mut st = self.lock();
        let mut all: Vec<String> = st.ready.values_mut().flat_map(|q| q.drain(..)).collect();
        all.append(&mut st.orphans);
        all
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let st = self.lock();
        PoolStats {
            languages: self
                .sizes
                .iter()
                .map(|(l, n)| PoolLanguageStats {
                    language: l.clone(),
                    target: *n,
                    ready: st.ready.get(l).map_or(0, VecDeque::len),
                    starting: st.starting.get(l).copied().unwrap_or(0),
                })
                .collect(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            start_failures: self.start_failures.load(Ordering::Relaxed),
        }
    }

    /// (language, how many to start now) for every language below target.
    fn deficits(&self) -> Vec<(String, usize)> {
        let st = self.lock();
        self.sizes
            .iter()
            .filter_map(|(l, &n)| {
                let have = st.ready.get(l).map_or(0, VecDeque::len)
                    + st.starting.get(l).copied().unwrap_or(0);
                (have < n).then(|| (l.clone(), n - have))
            })
            .collect()
    }
}

/// Background task: health checks with backoff, pool refills, recovery after daemon restarts.
pub(crate) async fn supervisor(inner: Arc<Inner>) {
    let pool = &inner.pool;
    let mut backoff = Duration::from_millis(250);
    let mut was_up = inner.host.is_up();
    loop {
        if inner.cancel.is_cancelled() {
            return;
        }
        let up = inner.host.check_health().await;
        if up && !was_up {
            tracing::info!("docker daemon reachable again; rebuilding the sandbox pool");
            inner.remove_own_stopped().await;
        } else if !up && was_up {
            tracing::warn!("docker daemon unreachable: {}", inner.host.detail());
            pool.invalidate();
        }
        was_up = up;

        let wait = if up {
            backoff = Duration::from_millis(250);
            // Containers from before an outage and removals that failed: retried while the
            // daemon answers.
            for id in pool.take_orphans() {
                inner.spawn_remove(id);
            }
            refill(&inner).await;
            pool.cfg.health_interval
        } else {
            let w = backoff;
            backoff = (backoff * 2).min(pool.cfg.max_backoff);
            w
        };
        tokio::select! {
            _ = inner.cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
            _ = pool.notify.notified(), if up => {}
        }
    }
}

/// Starts containers for every language below target (bounded parallelism; the tasks run in
/// the background and report into the pool).
async fn refill(inner: &Arc<Inner>) {
    for (lang, n) in inner.pool.deficits() {
        for _ in 0..n {
            {
                let mut st = inner.pool.lock();
                *st.starting.entry(lang.clone()).or_default() += 1;
            }
            let inner2 = inner.clone();
            let lang2 = lang.clone();
            inner.tracker.spawn(async move {
                let pool = &inner2.pool;
                let permit = tokio::select! {
                    p = pool.starts.acquire() => p.ok(),
                    _ = inner2.cancel.cancelled() => None,
                };
                let result = match permit {
                    Some(_p) if !inner2.cancel.is_cancelled() && inner2.host.is_up() => {
                        inner2.start_pool_container(&lang2).await
                    }
                    _ => Err(crate::SandboxError::Unavailable("pool refill skipped".into())),
                };
                let failed = {
                    let mut st = pool.lock();
                    if let Some(c) = st.starting.get_mut(&lang2) {
                        *c = c.saturating_sub(1);
                    }
                    match result {
                        Ok(id) if !inner2.cancel.is_cancelled() => {
                            st.ready.entry(lang2.clone()).or_default().push_back(id);
                            None
                        }
                        Ok(id) => {
                            drop(st);
                            inner2.spawn_remove(id);
                            None
                        }
                        Err(e) => Some(e),
                    }
                };
                if let Some(e) = failed {
                    if !inner2.cancel.is_cancelled() {
                        pool.start_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(language = %lang2, error = %e, "could not start a pool container");
                        // Back off a little before the next attempt of this language.
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let m = parse_pool_spec(" python=2, javascript = 1 ,,").unwrap();
        assert_eq!(m.get("python"), Some(&2));
        assert_eq!(m.get("javascript"), Some(&1));
        assert!(parse_pool_spec("").unwrap().is_empty());
        assert!(parse_pool_spec("python").is_err());
        assert!(parse_pool_spec("python=x").is_err());
        assert!(parse_pool_spec("=2").is_err());
        assert!(parse_pool_spec("python=1000").is_err());
    }
}
