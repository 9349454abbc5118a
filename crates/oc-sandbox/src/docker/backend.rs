//! The Docker run backend.
//!
//! Lifecycle of a run — one container per run, never reused:
//! 1. take a warm container from the pool (created + started, blocked in `tar -x` on its stdin),
//!    or create and start one the same way (cold);
//! 2. attach to its stdin/stdout/stderr and stream one tar in (its length first): the sources
//!    (`/tmp/app`), the generated `run.sh` and, on a compile-cache hit, the build artifacts; then
//!    the program's stdin on the same stream: the pre-filled bytes, then console input as it
//!    arrives (live runs); then close stdin (EOF);
//! 3. the container's shell unpacks the tar and runs `run.sh` as PID 1 (compile step with stdin
//!    from `/dev/null`, then the program on the attached stdin); output streams back over the
//!    same attach connection;
//! 4. when `run.sh` exits the whole container stops (PID 1 gone: the kernel kills everything else
//!    in the PID namespace, detached children included); on timeout or when the output cap is hit
//!    the container is force-removed (killing everything) before the run returns;
//! 5. the container is always removed: force-remove after the run, and a drop guard removes it if
//!    the run future is cancelled or fails half-way.
//!
//! Every container gets the controls of [`super::lockdown`] and the labels of [`super::labels`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::attach;
use super::container::ContainerGuard;
use super::host::DockerHost;
use super::labels::ContainerKind;
use super::lockdown::{load_seccomp_profile, DEFAULT_IMAGE};
use crate::cache::CompileCache;
use crate::end_frame::EndToken;
use crate::hosts::{display_address, DEFAULT_ADDRESS};
use crate::languages::{Language, LanguageTable};
use crate::metrics::Metrics;
use crate::pool::{self, Pool, PoolConfig};
use crate::prestart::{self, Interpreter};
use crate::script::{self, CompileMode};
use crate::{
    resolve_run, signal_from_status, BackendHealth, BackendKind, CacheStatus, HostHealth, Outcome,
    OutputChunk, Phase, RunSpec, SandboxBackend, SandboxError,
};

/// Pause between checks while waiting for background clean-ups ([`DockerBackend::settle`]).
const SETTLE_POLL: Duration = Duration::from_millis(20);
/// Attempts at one run: a dead pooled container or unusable cached artifacts are retried.
const RUN_ATTEMPTS: u32 = 3;
/// How long a run container that ended at its end frames is given to stop by itself before it is
/// force-removed anyway.
const EXIT_WAIT: Duration = Duration::from_secs(2);
/// Setup-phase stderr shown in a setup failure's message.
const SETUP_ERROR_CHARS: usize = 500;

/// Configuration of the Docker run backend (the engine itself is a [`DockerHost`]).
#[derive(Debug, Clone)]
pub struct DockerConfig {
    /// Image for languages that don't name their own.
    pub image: String,
    /// Optional seccomp profile (JSON file) applied on top of `no-new-privileges`. `None`: the
    /// daemon's default profile. `unconfined` is refused.
    pub seccomp_profile: Option<PathBuf>,
    pub pool: PoolConfig,
    /// Compile cache directory (`DATA_DIR/compile-cache` in the server); `None` disables it.
    pub cache_dir: Option<PathBuf>,
    pub cache_max_bytes: u64,
    /// Upper bound of sources + stdin per run.
    pub max_input_bytes: u64,
    pub languages: Arc<LanguageTable>,
}

impl Default for DockerConfig {
    fn default() -> Self {
        Self {
            image: DEFAULT_IMAGE.into(),
            seccomp_profile: None,
            pool: PoolConfig::default(),
            cache_dir: None,
            cache_max_bytes: 512 * 1024 * 1024,
            max_input_bytes: 16 * 1024 * 1024,
            languages: Arc::new(LanguageTable::builtin()),
        }
    }
}

pub(crate) struct Inner {
    pub(crate) host: DockerHost,
    pub(crate) cfg: DockerConfig,
    pub(crate) seccomp: Option<String>,
    pub(crate) cache: Option<CompileCache>,
    pub(crate) pool: Pool,
    pub(crate) tracker: TaskTracker,
    pub(crate) cancel: CancellationToken,
    /// Runs in progress (the host's load, for placement over several hosts).
    in_flight: AtomicUsize,
}

/// Counts one run in progress until dropped (also when the run future is cancelled).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The Docker sandbox backend. Cheap to clone (shared state).
#[derive(Clone)]
pub struct DockerBackend {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DockerBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerBackend")
            .field("host", &self.inner.host)
            .finish()
    }
}

impl DockerBackend {
    /// Opens the compile cache and starts the supervisor (health checks + warm pool) on `host`.
    /// Must be called inside a Tokio runtime. A daemon that is down is not an error here: the
    /// backend reports unavailable and recovers when the daemon comes back.
    pub async fn new(host: DockerHost, cfg: DockerConfig) -> Result<Self, SandboxError> {
        let seccomp = load_seccomp_profile(cfg.seccomp_profile.as_deref())?;

        let mut sizes = BTreeMap::new();
        for (name, n) in &cfg.pool.sizes {
            let lang = cfg.languages.get(name).ok_or_else(|| {
                SandboxError::UnknownLanguage(format!("{name} (in the pool configuration)"))
            })?;
            if *n > 0 {
                sizes.insert(lang.id.clone(), *n);
            }
        }

        let cache = match &cfg.cache_dir {
            Some(dir) if cfg.cache_max_bytes > 0 => {
                Some(CompileCache::open(dir, cfg.cache_max_bytes).map_err(|e| {
                    SandboxError::Internal(format!("compile cache {}: {e}", dir.display()))
                })?)
            }
            _ => None,
        };

        let inner = Arc::new(Inner {
            host,
            pool: Pool::new(cfg.pool.clone(), sizes),
            cfg,
            seccomp,
            cache,
            tracker: TaskTracker::new(),
            cancel: CancellationToken::new(),
            in_flight: AtomicUsize::new(0),
        });
        inner.host.check_health().await;
        inner.tracker.spawn(pool::supervisor(inner.clone()));
        Ok(Self { inner })
    }

    /// The engine this backend runs on.
    pub fn host(&self) -> &DockerHost {
        &self.inner.host
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        self.inner.host.metrics()
    }

    pub fn languages(&self) -> &Arc<LanguageTable> {
        &self.inner.cfg.languages
    }

    /// Runs in progress on this backend.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    pub fn pool_stats(&self) -> crate::PoolStats {
        self.inner.pool.stats()
    }

    /// The image a language runs in (its own, or the backend's default runner image).
    pub fn image_for<'a>(&'a self, lang: &'a Language) -> &'a str {
        lang.image.as_deref().unwrap_or(&self.inner.cfg.image)
    }

    pub fn cache(&self) -> Option<&CompileCache> {
        self.inner.cache.as_ref()
    }

    /// Ids of this backend's run containers that still exist.
    pub async fn own_containers(&self) -> Result<Vec<String>, SandboxError> {
        self.inner
            .host
            .own_ids(ContainerKind::Run, None, false)
            .await
    }

    /// Waits (up to `timeout`) until background clean-ups (container removals) have finished.
    pub async fn settle(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            // The supervisor is always tracked: settled when nothing else is.
            if self.inner.tracker.len() <= 1 && self.inner.host.removals_pending() == 0 {
                return;
            }
            tokio::time::sleep(SETTLE_POLL).await;
        }
    }

    /// Stops the pool and the supervisor, then removes every run container of this backend.
    /// Runs started afterwards fail with `Unavailable`.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.cancel.cancel();
        inner.tracker.close();
        let _ = tokio::time::timeout(inner.host.call_timeout(), inner.tracker.wait()).await;
        for id in inner.pool.drain_all() {
            inner.remove_now(&id).await;
        }
        match inner.host.own_ids(ContainerKind::Run, None, false).await {
            Ok(ids) => {
                DockerHost::remove_each(ids, |id| async move { inner.remove_now(&id).await }).await;
            }
            Err(e) => tracing::warn!(error = %e, "could not remove sandbox containers at shutdown"),
        }
    }
}

impl Inner {
    /// Fails fast when the backend is shut down or the daemon is known to be down.
    async fn ensure_up(&self) -> Result<(), SandboxError> {
        if self.cancel.is_cancelled() {
            return Err(SandboxError::Unavailable(
                "sandbox backend is shut down".into(),
            ));
        }
        self.host.ensure_up().await
    }

    pub(crate) fn image_for(&self, lang: &Language) -> String {
        lang.image.clone().unwrap_or_else(|| self.cfg.image.clone())
    }

    /// Force-removes a container now (kills whatever runs in it), retrying; a container that
    /// still could not be removed is left to the supervisor, which retries while the daemon
    /// answers.
    pub(crate) async fn remove_now(&self, id: &str) {
        if !self.host.remove(id).await {
            self.pool.remove_later(id.to_string());
        }
    }

    /// Removes a container in the background (tracked, so shutdown and tests can wait for it).
    pub(crate) fn spawn_remove(self: &Arc<Self>, id: String) {
        let inner = self.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            self.tracker
                .spawn_on(async move { inner.remove_now(&id).await }, &handle);
        }
    }

    /// Removes, in the background, a container whose PID 1 is exiting by itself, once the engine
    /// saw it stop (at most [`EXIT_WAIT`] later). Removing a container that still runs makes the
    /// engine kill it first: one more call of the OCI runtime per run, on the engine's CPU.
    pub(crate) fn spawn_remove_after_exit(self: &Arc<Self>, id: String) {
        let inner = self.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            self.tracker.spawn_on(
                async move {
                    inner.host.wait_stopped(&id, EXIT_WAIT).await;
                    inner.remove_now(&id).await
                },
                &handle,
            );
        }
    }

    /// After a daemon outage: remove this backend's containers that are no longer running.
    pub(crate) async fn remove_own_stopped(&self) {
        match self.host.own_ids(ContainerKind::Run, None, true).await {
            Ok(ids) => {
                DockerHost::remove_each(ids, |id| async move { self.remove_now(&id).await }).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not clean up after the docker daemon came back")
            }
        }
    }
}

/// Why a run on one host failed.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: SandboxError,
    /// The host failed (`Unavailable`) before the run's container received its input: nothing
    /// of the run executed (its sources, compile step and program travel in that input), so
    /// another host may take it.
    pub(crate) before_start: bool,
}

impl From<SandboxError> for Failure {
    fn from(error: SandboxError) -> Self {
        Failure {
            error,
            before_start: false,
        }
    }
}

impl Failure {
    /// A failure before the container received its input.
    fn before_start(error: SandboxError) -> Self {
        let before_start = matches!(error, SandboxError::Unavailable(_));
        Failure {
            error,
            before_start,
        }
    }
}

impl DockerBackend {
    /// One run on this host, not counted in the metrics (the caller counts its final result).
    /// `spec` is only borrowed (its live stdin included) so that a run that failed before it
    /// started can go to another host.
    pub(crate) async fn run_here(
        &self,
        spec: &mut RunSpec,
        output: mpsc::Sender<OutputChunk>,
        started: Instant,
    ) -> Result<Outcome, Failure> {
        let _running = InFlight::enter(&self.inner.in_flight);
        self.run_inner(spec, output, started).await
    }

    /// Counts a run's final result.
    pub(crate) fn record(
        &self,
        language: &str,
        result: &Result<Outcome, SandboxError>,
        started: Instant,
    ) {
        self.metrics().record_result(
            "docker",
            &self.inner.cfg.languages,
            language,
            result,
            started,
        );
    }

    async fn run_inner(
        &self,
        spec: &mut RunSpec,
        tx: mpsc::Sender<OutputChunk>,
        started: Instant,
    ) -> Result<Outcome, Failure> {
        let inner = &self.inner;
        let (lang, entry) = resolve_run(spec, &inner.cfg.languages, inner.cfg.max_input_bytes)?;
        inner.ensure_up().await.map_err(Failure::before_start)?;

        let names: Vec<&str> = spec.files.iter().map(|f| f.name.as_str()).collect();
        let plan = lang.plan(&entry, &names, &script::docker_paths());

        // Compile cache.
        let mut mode = if plan.compile.is_some() {
            CompileMode::Compile { collect: false }
        } else {
            CompileMode::None
        };
        let mut cache_key = None;
        let mut cached = None;
        let mut cache_status = None;
        if let (Some(compile), Some(cache), true) = (&plan.compile, &inner.cache, lang.cache) {
            let image_id = inner
                .host
                .image_id(&inner.image_for(&lang))
                .await
                .map_err(Failure::before_start)?;
            // What is built and what is kept both shape the entry.
            let recipe: Vec<String> = compile
                .iter()
                .cloned()
                .chain(std::iter::once("--artifacts".to_string()))
                .chain(plan.artifacts.iter().cloned())
                .collect();
            let key =
                CompileCache::key(&image_id, &lang.id, &recipe, &plan.env, &entry, &spec.files);
            match cache.get(&key).await {
                Some(a) => {
                    Metrics::inc(&inner.host.metrics().cache_hits);
                    cache_status = Some(CacheStatus::Hit);
                    mode = CompileMode::Cached;
                    cached = Some(a);
                }
                None => {
                    Metrics::inc(&inner.host.metrics().cache_misses);
                    cache_status = Some(CacheStatus::Miss);
                    mode = CompileMode::Compile { collect: true };
                }
            }
            cache_key = Some(key);
        }

        let end = EndToken::new();
        let build_tar = |mode: CompileMode, artifacts: Option<&[u8]>| {
            let script_text = script::run_script(&plan, mode, &spec.limits, &end);
            script::input_tar(&spec.files, &script_text, artifacts)
                .map_err(|e| SandboxError::Internal(format!("building the input archive: {e}")))
        };
        let mut tar = build_tar(mode, cached.as_deref())?;
        drop(cached);
        // The pool's containers of this language wait with its interpreter started when its own
        // run step allows it; a run of another kind (a REPL) cannot use them.
        let interpreter = Interpreter::of(&lang);
        let pool_fits = interpreter == inner.cfg.languages.get(&lang.id).and_then(Interpreter::of);

        // Retries: a pooled container may have died (daemon restart) -> once more with a cold
        // one; cached artifacts that fail to unpack -> drop the entry and compile instead.
        let mut attempt = 0;
        // Once a container may have received the input, the run never goes to another host.
        let mut attached_before = false;
        let (drive, pooled) = loop {
            attempt += 1;
            let from_pool = if attempt == 1 && pool_fits {
                inner
                    .pool
                    .take(&lang.id, &spec.limits, inner.host.metrics())
            } else {
                None
            };
            let (id, pooled) = match from_pool {
                Some(id) => (id, true),
                None => (
                    inner
                        .create_started(&lang, &spec.limits, false)
                        .await
                        .map_err(|e| match attached_before {
                            false => Failure::before_start(e),
                            true => e.into(),
                        })?,
                    false,
                ),
            };
            let guard = ContainerGuard::new(inner.clone(), id);
            let stdin = attach::Stdin {
                prefilled: &spec.stdin,
                live: spec.live_stdin.as_mut(),
            };
            let header;
            let warm_input;
            let input: [&[u8]; 2] = match interpreter.filter(|_| pooled) {
                Some(_) => {
                    warm_input = prestart::input(&plan, &spec.files, &spec.limits, &end);
                    [&warm_input, &[]]
                }
                None => {
                    header = script::input_header(tar.len());
                    [header.as_bytes(), &tar]
                }
            };
            let run = attach::RunIo {
                input: &input,
                stdin,
                end: &end,
                tx: &tx,
            };
            let drive = attach::drive(inner, guard.id(), run, &spec.limits, mode).await;
            attached_before |= drive.attached;
            let usable = drive.setup_seen || drive.timed_out || drive.truncated;
            if drive.killed || !usable {
                // Killed: make sure nothing keeps running before we return.
                guard.remove_now().await;
            } else if drive.ended_by_frames {
                guard.retire();
            } else {
                drop(guard); // removed in the background
            }
            if !usable && attempt < RUN_ATTEMPTS && inner.host.is_up() {
                if let (CompileMode::Cached, Some(key), Some(cache)) =
                    (mode, &cache_key, &inner.cache)
                {
                    tracing::warn!(error = ?drive.error, "cached artifacts did not unpack; compiling instead");
                    cache.remove(key).await;
                    mode = CompileMode::Compile { collect: true };
                    cache_status = Some(CacheStatus::Miss);
                    tar = build_tar(mode, None)?;
                    continue;
                }
                if pooled {
                    tracing::warn!(error = ?drive.error, "pooled container was not usable; retrying cold");
                    continue;
                }
            }
            break (drive, pooled);
        };

        let finished =
            drive.timed_out || drive.truncated || (drive.setup_seen && drive.exit_code.is_some());
        if !finished {
            if !inner.host.is_up() {
                let error = SandboxError::Unavailable(inner.host.detail());
                return Err(match attached_before {
                    false => Failure::before_start(error),
                    true => error.into(),
                });
            }
            let stderr = String::from_utf8_lossy(&drive.setup_stderr)
                .trim()
                .chars()
                .take(SETUP_ERROR_CHARS)
                .collect::<String>();
            let mut msg = if drive.setup_seen {
                "the sandbox lost track of the run".to_string()
            } else {
                format!("sandbox setup failed (exit {:?})", drive.exit_code)
            };
            if !stderr.is_empty() {
                msg.push_str(": ");
                msg.push_str(&stderr);
            }
            if let Some(e) = &drive.error {
                msg.push_str(&format!(" [{e}]"));
            }
            return Err(SandboxError::Internal(msg).into());
        }

        let compile_failed = matches!(drive.compiled, Some(s) if s != 0);
        let phase = match mode {
            CompileMode::Compile { .. } if drive.compiled != Some(0) => Phase::Compile,
            _ => Phase::Run,
        };
        if let (Some(key), Some(art), Some(cache), false) =
            (cache_key, drive.artifacts, &inner.cache, compile_failed)
        {
            if drive.compiled == Some(0) && !art.is_empty() {
                if let Err(e) = cache.put(&key, &art).await {
                    tracing::warn!(error = %e, "could not store compile artifacts");
                }
            }
        }
        let (exit_code, signal) = if drive.killed {
            (None, Some("SIGKILL".to_string()))
        } else {
            let code = if compile_failed {
                drive.compiled
            } else {
                drive.exit_code
            };
            (code, code.and_then(signal_from_status))
        };
        Ok(Outcome {
            exit_code,
            signal,
            timed_out: drive.timed_out,
            oom_killed: drive.oom_killed,
            duration: started.elapsed(),
            truncated: drive.truncated,
            backend: BackendKind::Docker,
            pooled,
            compile_cache: cache_status,
            phase,
        })
    }
}

#[async_trait]
impl SandboxBackend for DockerBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Docker
    }

    async fn run(
        &self,
        spec: RunSpec,
        output: mpsc::Sender<OutputChunk>,
    ) -> Result<Outcome, SandboxError> {
        let started = Instant::now();
        let mut spec = spec;
        let res = self
            .run_here(&mut spec, output, started)
            .await
            .map_err(|f| f.error);
        self.record(&spec.language, &res, started);
        res
    }

    async fn health(&self) -> BackendHealth {
        let inner = &self.inner;
        let up = inner.host.check_health().await && !inner.cancel.is_cancelled();
        let image = match up {
            true => inner.host.image_id(&inner.cfg.image).await.map(drop),
            false => Err(SandboxError::Unavailable(inner.host.detail())),
        };
        let detail = match &image {
            _ if inner.cancel.is_cancelled() => "sandbox backend is shut down".to_string(),
            Err(e) if up => e.to_string(),
            _ => inner.host.detail(),
        };
        let available = up && image.is_ok();
        let host = HostHealth {
            address: display_address(inner.host.address().unwrap_or(DEFAULT_ADDRESS)),
            tls: inner.host.tls_dir().is_some(),
            available,
            detail: detail.clone(),
            image: image.is_ok(),
            pool: inner.pool.stats(),
            load: self.in_flight(),
            capacity: None,
        };
        BackendHealth {
            kind: BackendKind::Docker,
            available,
            detail,
            isolated: true,
            pool: Some(inner.pool.stats()),
            cache: inner.cache.as_ref().map(|c| c.stats()),
            hosts: vec![host],
        }
    }

    async fn shutdown(&self) {
        DockerBackend::shutdown(self).await
    }
}
