//! Docker backend (bollard).
//!
//! Lifecycle of a run — one container per run, never reused:
//! 1. take a warm container from the pool (created + started, blocked in `tar -x` on its stdin),
//!    or create and start one the same way (cold);
//! 2. attach to its stdin/stdout/stderr and stream one tar in: the sources (`/tmp/app`), the
//!    program's stdin (`/tmp/.oc/stdin`), the generated `run.sh` and, on a compile-cache hit, the
//!    build artifacts; then close stdin;
//! 3. the container's shell unpacks the tar and runs `run.sh` as PID 1 (compile step, then the
//!    program with stdin from the file); output streams back over the same attach connection;
//! 4. when `run.sh` exits the whole container stops (PID 1 gone: the kernel kills everything else
//!    in the PID namespace, detached children included); on timeout or when the output cap is hit
//!    the container is force-removed (killing everything) before the run returns;
//! 5. the container is always removed: force-remove after the run, and a drop guard removes it if
//!    the run future is cancelled or fails half-way.
//!
//! Every container: `NetworkMode none`, `IpcMode private` with a 16 MiB `/dev/shm`
//! ([`SHM_BYTES`]), read-only root, tmpfs `/tmp`
//! (`rw,exec,nosuid,nodev,size=..,mode=1777`), `CapDrop ALL`, `no-new-privileges` (+ operator
//! seccomp profile if given; Docker's default profile otherwise), user 65534:65534, pids limit,
//! `nofile` 64:64 and `core` 0:0, memory = memory+swap, NanoCpus, private cgroup namespace, log
//! driver `none` (untrusted output never reaches the daemon's disk), an explicit minimal env, no
//! mounts or volumes, labels `opencoder.sandbox=1` + instance id.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigCgroupnsModeEnum, HostConfigLogConfig,
    ResourcesUlimits,
};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cache::CompileCache;
use crate::languages::{Language, LanguageTable};
use crate::metrics::Metrics;
use crate::output::{OutputSink, Push};
use crate::pool::{self, Pool, PoolConfig};
use crate::script::{self, CompileMode, Frame};
use crate::{
    signal_from_status, validate_spec, BackendHealth, BackendKind, CacheStatus, Outcome,
    OutputChunk, Phase, RunLimits, RunSpec, SandboxBackend, SandboxError, Stream,
};

/// Label on every sandbox container (value `1`).
pub const SANDBOX_LABEL: &str = "opencoder.sandbox";
/// Label with the id of the backend instance that created the container.
pub const INSTANCE_LABEL: &str = "opencoder.sandbox.instance";
/// Label naming the process that created the container: `<hostname>/<pid>/<start time>`.
pub const OWNER_LABEL: &str = "opencoder.sandbox.owner";
/// Label with the node id of the server that created the container ([`DockerConfig::node_id`]).
pub const NODE_LABEL: &str = "opencoder.sandbox.node";
const LANGUAGE_LABEL: &str = "opencoder.sandbox.language";
const POOL_LABEL: &str = "opencoder.sandbox.pool";

/// Default runner image (built by `scripts/build-runner-image.sh`).
pub const DEFAULT_IMAGE: &str = "opencoder-runner:latest";

/// Size of `/dev/shm` in every sandbox container (Docker's default is 64 MiB). Its pages count
/// against the memory limit anyway; the cap keeps one program from spending it all there.
pub const SHM_BYTES: i64 = 16 * 1024 * 1024;

pub(crate) const SANDBOX_USER: &str = "65534:65534";
pub(crate) const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Configuration of the Docker backend.
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
    /// Upper bound of every Docker API call (create, start, attach, inspect, remove, ...).
    pub call_timeout: Duration,
    /// Upper bound of sources + stdin per run.
    pub max_input_bytes: u64,
    /// Remove leftover sandbox containers of this node when the backend starts (a crashed or
    /// killed server's): those labelled with [`Self::node_id`] whose creating process is gone
    /// (see [`OWNER_LABEL`]). Other nodes' containers are never touched.
    pub remove_leftovers_on_start: bool,
    /// Names this server among those sharing a Docker daemon ([`NODE_LABEL`]). Default: the
    /// host name.
    pub node_id: String,
    /// Docker Engine address (`unix:///…`, `tcp://…`); `None`: `DOCKER_HOST` from the process
    /// environment, else the local socket. A socket that does not exist yet is not an error: the
    /// backend reports unavailable until the daemon answers there.
    pub docker_host: Option<String>,
    pub languages: Arc<LanguageTable>,
    pub metrics: Arc<Metrics>,
}

impl Default for DockerConfig {
    fn default() -> Self {
        Self {
            image: DEFAULT_IMAGE.into(),
            seccomp_profile: None,
            pool: PoolConfig::default(),
            cache_dir: None,
            cache_max_bytes: 512 * 1024 * 1024,
            call_timeout: Duration::from_secs(30),
            max_input_bytes: 16 * 1024 * 1024,
            remove_leftovers_on_start: false,
            node_id: hostname(),
            docker_host: None,
            languages: Arc::new(LanguageTable::builtin()),
            metrics: Arc::new(Metrics::new()),
        }
    }
}

/// Daemon reachability as last observed.
#[derive(Debug)]
pub(crate) struct HealthState {
    up: AtomicBool,
    detail: Mutex<String>,
    last_check: Mutex<Option<Instant>>,
}

impl HealthState {
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }
    pub(crate) fn detail(&self) -> String {
        self.detail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    fn set(&self, up: bool, detail: String) {
        self.up.store(up, Ordering::SeqCst);
        *self.detail.lock().unwrap_or_else(|e| e.into_inner()) = detail;
        *self.last_check.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
    fn checked_within(&self, d: Duration) -> bool {
        matches!(*self.last_check.lock().unwrap_or_else(|e| e.into_inner()), Some(t) if t.elapsed() < d)
    }
}

/// The Docker client. bollard refuses to build a client for a unix socket that does not exist
/// yet, so a daemon that is not there at start gets its client on the first call that finds the
/// socket: a daemon that comes up later is used without a restart.
struct Client {
    host: Option<String>,
    docker: Mutex<Option<Docker>>,
    timeout: Duration,
}

impl Client {
    fn connect(host: Option<&str>, timeout: Duration) -> Result<Docker, DockerError> {
        let docker = match host {
            Some(host) => Docker::connect_with_host(host)?,
            None => Docker::connect_with_defaults()?,
        };
        Ok(docker.with_timeout(timeout.max(Duration::from_secs(5))))
    }

    fn get(&self) -> Result<Docker, DockerError> {
        let mut slot = self.docker.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(docker) = slot.as_ref() {
            return Ok(docker.clone());
        }
        let docker = Self::connect(self.host.as_deref(), self.timeout)?;
        *slot = Some(docker.clone());
        Ok(docker)
    }
}

pub(crate) struct Inner {
    client: Client,
    cfg: DockerConfig,
    seccomp: Option<String>,
    instance: String,
    pub(crate) health: HealthState,
    cache: Option<CompileCache>,
    pub(crate) pool: Pool,
    pub(crate) tracker: TaskTracker,
    pub(crate) cancel: CancellationToken,
    image_ids: Mutex<HashMap<String, (String, Instant)>>,
}

/// The Docker sandbox backend. Cheap to clone (shared state).
#[derive(Clone)]
pub struct DockerBackend {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DockerBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerBackend")
            .field("instance", &self.inner.instance)
            .finish()
    }
}

/// Docker errors that mean "the daemon is not there" rather than "this request failed".
pub(crate) fn is_connection_error(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::IOError { .. }
            | DockerError::HyperResponseError { .. }
            | DockerError::HttpClientError { .. }
            | DockerError::SocketNotFoundError(_)
            | DockerError::RequestTimeoutError
            | DockerError::HyperLegacyError { .. }
    )
}

pub(crate) fn status_of(e: &DockerError) -> Option<u16> {
    match e {
        DockerError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

impl DockerBackend {
    /// Connects (honouring `DOCKER_HOST`), negotiates the API version, opens the compile cache
    /// and starts the supervisor (health checks + warm pool). Must be called inside a Tokio
    /// runtime. A daemon that is down is not an error here: the backend reports unavailable and
    /// recovers when the daemon comes back.
    pub async fn new(cfg: DockerConfig) -> Result<Self, SandboxError> {
        let docker = match Client::connect(cfg.docker_host.as_deref(), cfg.call_timeout) {
            Ok(docker) => Some(docker),
            // No socket yet: unavailable until the daemon creates it.
            Err(DockerError::SocketNotFoundError(_)) => None,
            Err(e) => return Err(SandboxError::Internal(format!("docker client: {e}"))),
        };
        let client = Client {
            host: cfg.docker_host.clone(),
            docker: Mutex::new(docker),
            timeout: cfg.call_timeout,
        };

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
            client,
            pool: Pool::new(cfg.pool.clone(), sizes),
            cfg,
            seccomp,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            health: HealthState {
                up: AtomicBool::new(false),
                detail: Mutex::new("not checked yet".into()),
                last_check: Mutex::new(None),
            },
            cache,
            tracker: TaskTracker::new(),
            cancel: CancellationToken::new(),
            image_ids: Mutex::new(HashMap::new()),
        });

        inner.check_health().await;
        if inner.health.is_up() && inner.cfg.remove_leftovers_on_start {
            match inner.remove_orphans().await {
                Ok(n) if n > 0 => {
                    tracing::info!(removed = n, "removed leftover sandbox containers")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not remove leftover sandbox containers")
                }
            }
        }
        inner.tracker.spawn(pool::supervisor(inner.clone()));
        Ok(Self { inner })
    }

    /// This instance's id (value of the `opencoder.sandbox.instance` label on its containers).
    pub fn instance_id(&self) -> &str {
        &self.inner.instance
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.cfg.metrics
    }

    pub fn languages(&self) -> &Arc<LanguageTable> {
        &self.inner.cfg.languages
    }

    pub fn pool_stats(&self) -> crate::PoolStats {
        self.inner.pool.stats()
    }

    /// The id of `image` on the daemon; `Unavailable` naming the build script when it is missing.
    /// Used by `opencoder doctor` to check every language's image.
    pub async fn image_id(&self, image: &str) -> Result<String, SandboxError> {
        self.inner.image_id(image).await
    }

    /// The image a language runs in (its own, or the backend's default runner image).
    pub fn image_for<'a>(&'a self, lang: &'a Language) -> &'a str {
        lang.image.as_deref().unwrap_or(&self.inner.cfg.image)
    }

    pub fn cache(&self) -> Option<&CompileCache> {
        self.inner.cache.as_ref()
    }

    /// Removes this node's sandbox containers whose creating process is gone (the start-up sweep;
    /// see [`DockerConfig::remove_leftovers_on_start`]). Returns how many were removed.
    pub async fn remove_orphaned_containers(&self) -> Result<usize, SandboxError> {
        self.inner.remove_orphans().await
    }

    /// Removes every sandbox container on the daemon, of any instance and owner, running or not.
    pub async fn remove_all_sandbox_containers(&self) -> Result<usize, SandboxError> {
        self.inner
            .remove_matching(&format!("{SANDBOX_LABEL}=1"), false)
            .await
    }

    /// Ids of this instance's containers that still exist.
    pub async fn own_containers(&self) -> Result<Vec<String>, SandboxError> {
        self.inner
            .list_ids(&format!("{INSTANCE_LABEL}={}", self.inner.instance), false)
            .await
    }

    /// Waits (up to `timeout`) until background clean-ups (container removals) have finished.
    pub async fn settle(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            // The supervisor is always tracked: settled when nothing else is.
            if self.inner.tracker.len() <= 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the pool and the supervisor, then removes every container of this instance.
    /// Runs started afterwards fail with `Unavailable`.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.cancel.cancel();
        inner.tracker.close();
        let _ = tokio::time::timeout(inner.cfg.call_timeout, inner.tracker.wait()).await;
        for id in inner.pool.drain_all() {
            inner.remove_now(&id).await;
        }
        if let Err(e) = inner
            .remove_matching(&format!("{INSTANCE_LABEL}={}", inner.instance), false)
            .await
        {
            tracing::warn!(error = %e, "could not remove sandbox containers at shutdown");
        }
    }
}

impl Inner {
    fn call_timeout(&self) -> Duration {
        self.cfg.call_timeout
    }

    /// The client, or `Down` (with the health state updated) while the daemon's socket is missing.
    fn docker(&self) -> Result<Docker, CallError> {
        self.client.get().map_err(|e| self.classify("connect", e))
    }

    fn classify(&self, what: &str, e: DockerError) -> CallError {
        Metrics::inc(&self.cfg.metrics.docker_errors);
        if is_connection_error(&e) {
            self.health
                .set(false, format!("docker daemon unreachable: {e}"));
            CallError::Down(format!("docker daemon unreachable ({what}): {e}"))
        } else {
            CallError::Api(status_of(&e), format!("docker {what}: {e}"))
        }
    }

    /// Wraps a Docker call: timeout, error classification, health bookkeeping.
    async fn call<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, DockerError>>,
    ) -> Result<T, CallError> {
        match tokio::time::timeout(self.call_timeout(), fut).await {
            Err(_) => {
                Metrics::inc(&self.cfg.metrics.docker_errors);
                Err(CallError::Timeout(format!(
                    "docker {what} timed out after {:?}",
                    self.call_timeout()
                )))
            }
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.classify(what, e)),
        }
    }

    /// Pings the daemon (short timeout) and updates the health state; re-negotiates the API
    /// version when it comes (back) up.
    pub(crate) async fn check_health(&self) -> bool {
        let t = Duration::from_secs(3).min(self.call_timeout());
        let was_up = self.health.is_up();
        let docker = match self.client.get() {
            Ok(docker) => docker,
            Err(e) => {
                self.health
                    .set(false, format!("docker daemon unreachable: {e}"));
                return false;
            }
        };
        match tokio::time::timeout(t, docker.ping()).await {
            Ok(Ok(_)) => {
                if !was_up || !self.health.checked_within(Duration::from_secs(300)) {
                    match tokio::time::timeout(t, docker.clone().negotiate_version()).await {
                        Ok(Ok(_)) => {
                            let v = match tokio::time::timeout(t, docker.version()).await {
                                Ok(Ok(v)) => format!(
                                    "docker {} (API {})",
                                    v.version.unwrap_or_default(),
                                    v.api_version.unwrap_or_default()
                                ),
                                _ => "docker (version unknown)".into(),
                            };
                            self.health.set(true, v);
                        }
                        Ok(Err(e)) => self
                            .health
                            .set(false, format!("docker API negotiation failed: {e}")),
                        Err(_) => self
                            .health
                            .set(false, "docker API negotiation timed out".into()),
                    }
                } else {
                    let d = self.health.detail();
                    self.health.set(true, d);
                }
            }
            Ok(Err(e)) => self
                .health
                .set(false, format!("docker daemon unreachable: {e}")),
            Err(_) => self.health.set(
                false,
                format!("docker daemon did not answer a ping within {t:?}"),
            ),
        }
        self.health.is_up()
    }

    /// Fails fast when the daemon is known to be down (re-checking at most once a second).
    async fn ensure_up(&self) -> Result<(), SandboxError> {
        if self.cancel.is_cancelled() {
            return Err(SandboxError::Unavailable(
                "sandbox backend is shut down".into(),
            ));
        }
        if self.health.is_up() {
            return Ok(());
        }
        if !self.health.checked_within(Duration::from_secs(1)) && self.check_health().await {
            return Ok(());
        }
        Err(SandboxError::Unavailable(self.health.detail()))
    }

    fn image_for(&self, lang: &Language) -> String {
        lang.image.clone().unwrap_or_else(|| self.cfg.image.clone())
    }

    fn missing_image(image: &str) -> SandboxError {
        SandboxError::Unavailable(format!(
            "sandbox image {image:?} not found on the Docker daemon; build it with scripts/build-runner-image.sh"
        ))
    }

    /// Image id (content digest), cached for a minute; part of the compile-cache key.
    async fn image_id(&self, image: &str) -> Result<String, SandboxError> {
        if let Some((id, at)) = self
            .image_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(image)
        {
            if at.elapsed() < Duration::from_secs(60) {
                return Ok(id.clone());
            }
        }
        let docker = self.docker().map_err(CallError::into_sandbox)?;
        let info = self
            .call("image inspect", docker.inspect_image(image))
            .await
            .map_err(|e| match e {
                CallError::Api(Some(404), _) => Self::missing_image(image),
                e => e.into_sandbox(),
            })?;
        let id = info.id.unwrap_or_default();
        self.image_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(image.to_string(), (id.clone(), Instant::now()));
        Ok(id)
    }

    fn container_body(
        &self,
        lang: &Language,
        limits: &RunLimits,
        pooled: bool,
    ) -> ContainerCreateBody {
        let plan = lang.plan("", &[], &script::docker_paths());
        let mut env = base_env();
        env.extend(plan.env.iter().map(|(k, v)| format!("{k}={v}")));
        let host = sandbox_host_config(limits, self.seccomp.as_deref());
        let labels = HashMap::from([
            (SANDBOX_LABEL.to_string(), "1".to_string()),
            (INSTANCE_LABEL.to_string(), self.instance.clone()),
            (OWNER_LABEL.to_string(), owner_id().to_string()),
            (NODE_LABEL.to_string(), self.cfg.node_id.clone()),
            (LANGUAGE_LABEL.to_string(), lang.id.clone()),
            (
                POOL_LABEL.to_string(),
                if pooled { "1" } else { "0" }.to_string(),
            ),
        ]);
        let cmd = script::container_cmd();
        ContainerCreateBody {
            image: Some(self.image_for(lang)),
            entrypoint: Some(vec![cmd[0].clone()]),
            cmd: Some(cmd[1..].to_vec()),
            env: Some(env),
            user: Some(SANDBOX_USER.into()),
            working_dir: Some(script::HOME.into()),
            hostname: Some("sandbox".into()),
            // Nothing in a sandbox deserves a graceful stop (also keeps daemon shutdowns fast).
            stop_signal: Some("SIGKILL".into()),
            stop_timeout: Some(1),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            open_stdin: Some(true),
            stdin_once: Some(true),
            tty: Some(false),
            network_disabled: Some(true),
            labels: Some(labels),
            host_config: Some(host),
            ..Default::default()
        }
    }

    /// Creates and starts an idle container (waiting for its input tar).
    async fn create_started(
        self: &Arc<Self>,
        lang: &Language,
        limits: &RunLimits,
        pooled: bool,
    ) -> Result<String, SandboxError> {
        let name = format!("oc-sbx-{}", uuid::Uuid::new_v4().simple());
        let body = self.container_body(lang, limits, pooled);
        let image = self.image_for(lang);
        let opts = CreateContainerOptionsBuilder::new().name(&name).build();
        let docker = self.docker().map_err(CallError::into_sandbox)?;
        let created = self
            .call("create", docker.create_container(Some(opts), body))
            .await
            .map_err(|e| match e {
                CallError::Api(Some(404), _) => Self::missing_image(&image),
                e => e.into_sandbox(),
            })?;
        Metrics::inc(&self.cfg.metrics.containers_created);
        let id = created.id;
        if let Err(e) = self
            .call("start", docker.start_container(&id, None))
            .await
        {
            self.spawn_remove(id);
            return Err(e.into_sandbox());
        }
        Ok(id)
    }

    pub(crate) async fn start_pool_container(
        self: &Arc<Self>,
        language: &str,
    ) -> Result<String, SandboxError> {
        let lang = self
            .cfg
            .languages
            .get(language)
            .ok_or_else(|| SandboxError::UnknownLanguage(language.to_string()))?
            .clone();
        let limits = self.pool.cfg.limits.clone();
        self.create_started(&lang, &limits, true).await
    }

    /// Force-removes a container now (kills whatever runs in it), retrying; a container that
    /// still could not be removed is left to the supervisor, which retries while the daemon
    /// answers.
    pub(crate) async fn remove_now(&self, id: &str) {
        let removed = match self.client.get() {
            Ok(docker) => remove_container(&docker, id, self.call_timeout(), &self.cfg.metrics).await,
            Err(_) => false,
        };
        if !removed {
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

    async fn list_ids(&self, label: &str, only_stopped: bool) -> Result<Vec<String>, SandboxError> {
        let mut filters: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec![label])]);
        if only_stopped {
            filters.insert("status", vec!["created", "exited", "dead"]);
        }
        let opts = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let docker = self.docker().map_err(CallError::into_sandbox)?;
        let list = self
            .call("list", docker.list_containers(Some(opts)))
            .await
            .map_err(CallError::into_sandbox)?;
        Ok(list.into_iter().filter_map(|c| c.id).collect())
    }

    async fn remove_matching(
        &self,
        label: &str,
        only_stopped: bool,
    ) -> Result<usize, SandboxError> {
        let ids = self.list_ids(label, only_stopped).await?;
        let n = ids.len();
        futures_util::stream::iter(ids)
            .for_each_concurrent(4, |id| async move { self.remove_now(&id).await })
            .await;
        Ok(n)
    }

    /// Removes this node's sandbox containers whose owner process (see [`OWNER_LABEL`]) is not
    /// alive.
    async fn remove_orphans(&self) -> Result<usize, SandboxError> {
        let label = format!("{SANDBOX_LABEL}=1");
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec![label.as_str()])]);
        let opts = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let docker = self.docker().map_err(CallError::into_sandbox)?;
        let list = self
            .call("list", docker.list_containers(Some(opts)))
            .await
            .map_err(CallError::into_sandbox)?;
        let ids: Vec<String> = list
            .into_iter()
            .filter(|c| c.labels.as_ref().is_some_and(|l| is_leftover(l, &self.cfg.node_id)))
            .filter_map(|c| c.id)
            .collect();
        let n = ids.len();
        futures_util::stream::iter(ids)
            .for_each_concurrent(4, |id| async move { self.remove_now(&id).await })
            .await;
        Ok(n)
    }

    /// After a daemon outage: remove this instance's containers that are no longer running.
    pub(crate) async fn remove_own_stopped(&self) {
        let label = format!("{INSTANCE_LABEL}={}", self.instance);
        if let Err(e) = self.remove_matching(&label, true).await {
            tracing::warn!(error = %e, "could not clean up after the docker daemon came back");
        }
    }
}

/// Reads and checks an operator seccomp profile (JSON; `unconfined` is refused). `None`: the
/// daemon's default profile.
pub(crate) fn load_seccomp_profile(
    path: Option<&std::path::Path>,
) -> Result<Option<String>, SandboxError> {
    let Some(p) = path else { return Ok(None) };
    let text = std::fs::read_to_string(p).map_err(|e| {
        SandboxError::Internal(format!("cannot read seccomp profile {}: {e}", p.display()))
    })?;
    let t = text.trim();
    if t.eq_ignore_ascii_case("unconfined") || !t.starts_with('{') {
        return Err(SandboxError::Internal(format!(
            "seccomp profile {} must be a JSON profile (unconfined is not allowed)",
            p.display()
        )));
    }
    if serde_json::from_str::<serde_json::Value>(t).is_err() {
        return Err(SandboxError::Internal(format!(
            "seccomp profile {} is not valid JSON",
            p.display()
        )));
    }
    Ok(Some(t.to_string()))
}

/// The explicit, minimal environment of every sandbox container (nothing from the host).
pub(crate) fn base_env() -> Vec<String> {
    vec![
        format!("PATH={PATH}"),
        format!("HOME={}", script::HOME),
        "LANG=C.UTF-8".to_string(),
        "LC_ALL=C.UTF-8".to_string(),
        format!("TMPDIR={}", script::HOME),
    ]
}

/// The locked-down host configuration of every sandbox container — run containers and terminal
/// session containers alike (see the module docs for the list). One function so the two can
/// never drift apart.
pub(crate) fn sandbox_host_config(limits: &RunLimits, seccomp: Option<&str>) -> HostConfig {
    let mut security_opt = vec!["no-new-privileges".to_string()];
    if let Some(profile) = seccomp {
        security_opt.push(format!("seccomp={profile}"));
    }
    let mem = (limits.memory_mb as i64) * 1024 * 1024;
    HostConfig {
        network_mode: Some("none".into()),
        ipc_mode: Some("private".into()),
        shm_size: Some(SHM_BYTES),
        readonly_rootfs: Some(true),
        tmpfs: Some(HashMap::from([(
            "/tmp".to_string(),
            format!("rw,exec,nosuid,nodev,size={}m,mode=1777", limits.tmpfs_mb),
        )])),
        cap_drop: Some(vec!["ALL".into()]),
        security_opt: Some(security_opt),
        pids_limit: Some(limits.pids),
        ulimits: Some(vec![
            ResourcesUlimits {
                name: Some("nofile".into()),
                soft: Some(64),
                hard: Some(64),
            },
            ResourcesUlimits {
                name: Some("core".into()),
                soft: Some(0),
                hard: Some(0),
            },
        ]),
        memory: Some(mem),
        memory_swap: Some(mem),
        nano_cpus: Some((limits.cpus * 1e9) as i64),
        cgroupns_mode: Some(HostConfigCgroupnsModeEnum::PRIVATE),
        oom_score_adj: Some(500),
        privileged: Some(false),
        init: Some(false),
        auto_remove: Some(false),
        log_config: Some(HostConfigLogConfig {
            typ: Some("none".into()),
            config: None,
        }),
        binds: None,
        mounts: None,
        ..Default::default()
    }
}

/// Attempts at removing a container (with a doubling pause from [`REMOVE_RETRY_PAUSE`]) before
/// the removal is left to the supervisor, which retries it while the daemon answers.
pub const REMOVE_ATTEMPTS: u32 = 3;
/// First pause between removal attempts.
pub const REMOVE_RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Force-removes a container, retrying; `true` once it is gone.
pub(crate) async fn remove_container(
    docker: &Docker,
    id: &str,
    timeout: Duration,
    metrics: &Metrics,
) -> bool {
    let opts = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    let mut pause = REMOVE_RETRY_PAUSE;
    for attempt in 1..=REMOVE_ATTEMPTS {
        match tokio::time::timeout(timeout, docker.remove_container(id, Some(opts.clone()))).await {
            Ok(Ok(())) => {
                Metrics::inc(&metrics.containers_removed);
                return true;
            }
            Ok(Err(e)) if status_of(&e) == Some(404) => {
                Metrics::inc(&metrics.containers_removed);
                return true;
            }
            Ok(Err(e)) => {
                Metrics::inc(&metrics.docker_errors);
                tracing::warn!(container = id, attempt, error = %e, "could not remove sandbox container");
            }
            Err(_) => {
                Metrics::inc(&metrics.docker_errors);
                tracing::warn!(container = id, attempt, "removing sandbox container timed out");
            }
        }
        if attempt < REMOVE_ATTEMPTS {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    false
}

/// `<hostname>/<pid>/<start time in clock ticks since boot>` of this process.
pub(crate) fn owner_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let pid = std::process::id();
        format!(
            "{}/{pid}/{}",
            hostname(),
            process_start_time(pid).unwrap_or_default()
        )
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces).
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether a sandbox container with these labels is this node's and its creator is gone. A
/// container without a node label (terminal sessions, older servers) counts as this node's only
/// when its creator was a process on this host.
fn is_leftover(labels: &HashMap<String, String>, node_id: &str) -> bool {
    let owner = labels.get(OWNER_LABEL).map(String::as_str).unwrap_or_default();
    let ours = match labels.get(NODE_LABEL) {
        Some(node) => node == node_id,
        None => owner.split('/').next() == Some(hostname().as_str()),
    };
    ours && !owner_alive(owner)
}

/// Whether the process named by an owner label is still running on this host.
fn owner_alive(owner: &str) -> bool {
    let mut parts = owner.split('/');
    let (Some(host), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    host == hostname() && process_start_time(pid) == Some(start)
}

/// Classified failure of one Docker call.
#[derive(Debug)]
enum CallError {
    Down(String),
    Timeout(String),
    Api(Option<u16>, String),
}

impl CallError {
    fn message(&self) -> &str {
        match self {
            CallError::Down(m) | CallError::Timeout(m) | CallError::Api(_, m) => m,
        }
    }
    fn into_sandbox(self) -> SandboxError {
        match self {
            CallError::Down(m) | CallError::Timeout(m) => SandboxError::Unavailable(m),
            CallError::Api(_, m) => SandboxError::Internal(m),
        }
    }
}

/// Removes the container when dropped unless disarmed (cancellation, early returns, panics).
struct ContainerGuard {
    inner: Arc<Inner>,
    id: Option<String>,
}

impl ContainerGuard {
    fn new(inner: Arc<Inner>, id: String) -> Self {
        Self {
            inner,
            id: Some(id),
        }
    }
    fn id(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }
    /// Removes the container now (waiting for it).
    async fn remove_now(mut self) {
        if let Some(id) = self.id.take() {
            self.inner.remove_now(&id).await;
        }
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.inner.spawn_remove(id);
        }
    }
}

/// What the attach loop observed.
#[derive(Debug, Default)]
struct Drive {
    setup_seen: bool,
    compiled: Option<i64>,
    artifacts: Option<Vec<u8>>,
    timed_out: bool,
    truncated: bool,
    /// The sandbox killed the container (timeout / cap).
    killed: bool,
    /// Setup-phase stderr (tar errors), not shown to the user.
    setup_stderr: Vec<u8>,
    exit_code: Option<i64>,
    oom_killed: bool,
    /// Stream or protocol trouble.
    error: Option<String>,
}

enum StdoutState {
    AwaitSetup,
    AwaitCompile,
    Artifacts { remaining: u64, keep: bool },
    Program,
}

impl DockerBackend {
    async fn run_inner(
        &self,
        spec: RunSpec,
        tx: mpsc::Sender<OutputChunk>,
        started: Instant,
    ) -> Result<Outcome, SandboxError> {
        let inner = &self.inner;
        let lang = inner
            .cfg
            .languages
            .get(&spec.language)
            .ok_or_else(|| SandboxError::UnknownLanguage(spec.language.clone()))?
            .clone();
        let entry = validate_spec(&spec, &lang)?;
        let input: u64 = spec
            .files
            .iter()
            .map(|f| f.content.len() as u64)
            .sum::<u64>()
            + spec.stdin.len() as u64;
        if input > inner.cfg.max_input_bytes {
            return Err(SandboxError::TooLarge {
                what: "sources and stdin".into(),
                limit: inner.cfg.max_input_bytes,
                actual: input,
            });
        }
        inner.ensure_up().await?;

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
            let image_id = inner.image_id(&inner.image_for(&lang)).await?;
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
                    Metrics::inc(&inner.cfg.metrics.cache_hits);
                    cache_status = Some(CacheStatus::Hit);
                    mode = CompileMode::Cached;
                    cached = Some(a);
                }
                None => {
                    Metrics::inc(&inner.cfg.metrics.cache_misses);
                    cache_status = Some(CacheStatus::Miss);
                    mode = CompileMode::Compile { collect: true };
                }
            }
            cache_key = Some(key);
        }

        let build_tar = |mode: CompileMode, artifacts: Option<&[u8]>| {
            let script_text = script::run_script(&plan, mode, &spec.limits);
            script::input_tar(&spec.files, &spec.stdin, &script_text, artifacts)
                .map_err(|e| SandboxError::Internal(format!("building the input archive: {e}")))
        };
        let mut tar = build_tar(mode, cached.as_deref())?;
        drop(cached);

        // Retries: a pooled container may have died (daemon restart) -> once more with a cold
        // one; cached artifacts that fail to unpack -> drop the entry and compile instead.
        let mut attempt = 0;
        let (drive, pooled) = loop {
            attempt += 1;
            let from_pool = if attempt == 1 {
                inner.pool.take(&lang.id, &spec.limits, &inner.cfg.metrics)
            } else {
                None
            };
            let (id, pooled) = match from_pool {
                Some(id) => (id, true),
                None => (
                    inner.create_started(&lang, &spec.limits, false).await?,
                    false,
                ),
            };
            let guard = ContainerGuard::new(inner.clone(), id);
            let drive = self.drive(&guard, &tar, &spec.limits, mode, &tx).await;
            let usable = drive.setup_seen || drive.timed_out || drive.truncated;
            if drive.killed || !usable {
                // Killed: make sure nothing keeps running before we return.
                guard.remove_now().await;
            } else {
                drop(guard); // removed in the background
            }
            if !usable && attempt < 3 && inner.health.is_up() {
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
            if !inner.health.is_up() {
                return Err(SandboxError::Unavailable(inner.health.detail()));
            }
            let stderr = String::from_utf8_lossy(&drive.setup_stderr)
                .trim()
                .chars()
                .take(500)
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
            return Err(SandboxError::Internal(msg));
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

    /// Attaches, streams the tar in, relays output, enforces deadlines and the output cap,
    /// then collects the exit status.
    async fn drive(
        &self,
        guard: &ContainerGuard,
        tar: &[u8],
        limits: &RunLimits,
        mode: CompileMode,
        tx: &mpsc::Sender<OutputChunk>,
    ) -> Drive {
        let inner = &self.inner;
        let id = guard.id();
        let mut d = Drive::default();
        let opts = AttachContainerOptionsBuilder::new()
            .stdin(true)
            .stdout(true)
            .stderr(true)
            .stream(true)
            .logs(false)
            .build();
        let docker = match inner.docker() {
            Ok(docker) => docker,
            Err(e) => {
                d.error = Some(e.message().to_string());
                return d;
            }
        };
        let attached = match inner
            .call("attach", docker.attach_container(id, Some(opts)))
            .await
        {
            Ok(a) => a,
            Err(e) => {
                d.error = Some(e.message().to_string());
                return d;
            }
        };
        let mut output = attached.output;
        let mut input = attached.input;
        let writer = async move {
            input.write_all(tar).await?;
            input.flush().await?;
            input.shutdown().await?;
            // Keep the write half alive until the end of the run (dropping it early is fine too,
            // but some transports treat a dropped half as a reset).
            Ok::<_, std::io::Error>(input)
        };
        tokio::pin!(writer);
        let mut writer_done = false;
        let mut _input_keep = None;

        let collect_limit = inner.cache.as_ref().map_or(0, |c| c.max_entry_bytes());
        let mut sink = OutputSink::new(tx.clone(), limits.output_bytes);
        let mut state = StdoutState::AwaitSetup;
        let mut frame_buf: Vec<u8> = Vec::new();
        let mut deadline = tokio::time::Instant::now() + inner.call_timeout();

        'outer: loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    match state {
                        StdoutState::AwaitSetup => d.error = Some("sandbox setup timed out".into()),
                        _ => d.timed_out = true,
                    }
                    d.killed = true;
                    break;
                }
                res = &mut writer, if !writer_done => {
                    writer_done = true;
                    match res {
                        Ok(w) => _input_keep = Some(w),
                        // The container may have exited early (e.g. tar failed); the output
                        // stream tells the rest.
                        Err(e) => tracing::debug!(error = %e, "writing the input archive failed"),
                    }
                }
                item = output.next() => {
                    let Some(item) = item else { break };
                    let msg = match item {
                        Ok(m) => m,
                        Err(e) => {
                            d.error = Some(format!("output stream: {e}"));
                            break;
                        }
                    };
                    let (is_stdout, mut bytes) = match msg {
                        LogOutput::StdOut { message } | LogOutput::Console { message } => (true, message),
                        LogOutput::StdErr { message } => (false, message),
                        LogOutput::StdIn { .. } => continue,
                    };
                    if !is_stdout {
                        if matches!(state, StdoutState::AwaitSetup) {
                            let room = 4096usize.saturating_sub(d.setup_stderr.len());
                            d.setup_stderr.extend_from_slice(&bytes[..bytes.len().min(room)]);
                        } else {
                            match sink.push_by(Stream::Stderr, &bytes, deadline).await {
                                Push::Ok => {}
                                Push::Capped => {
                                    d.truncated = true;
                                    d.killed = true;
                                    break;
                                }
                                Push::Deadline => {
                                    d.timed_out = true;
                                    d.killed = true;
                                    break;
                                }
                            }
                        }
                        continue;
                    }
                    // Stdout: control frames first, then the program's output.
                    while !bytes.is_empty() {
                        match &mut state {
                            StdoutState::Program => {
                                match sink.push_by(Stream::Stdout, &bytes, deadline).await {
                                    Push::Ok => {}
                                    Push::Capped => {
                                        d.truncated = true;
                                        d.killed = true;
                                        break 'outer;
                                    }
                                    Push::Deadline => {
                                        d.timed_out = true;
                                        d.killed = true;
                                        break 'outer;
                                    }
                                }
                                break;
                            }
                            StdoutState::Artifacts { remaining, keep } => {
                                let n = (*remaining).min(bytes.len() as u64) as usize;
                                if *keep {
                                    d.artifacts.get_or_insert_with(Vec::new).extend_from_slice(&bytes[..n]);
                                }
                                *remaining -= n as u64;
                                bytes = bytes.slice(n..);
                                if *remaining == 0 {
                                    state = StdoutState::Program;
                                    deadline = tokio::time::Instant::now() + limits.wall;
                                }
                            }
                            StdoutState::AwaitSetup | StdoutState::AwaitCompile => {
                                let nl = bytes.iter().position(|&b| b == b'\n');
                                let take = nl.map_or(bytes.len(), |p| p + 1);
                                frame_buf.extend_from_slice(&bytes[..take]);
                                bytes = bytes.slice(take..);
                                if nl.is_none() {
                                    if frame_buf.len() > 128 {
                                        d.error = Some("sandbox protocol error (oversized frame)".into());
                                        d.killed = true;
                                        break 'outer;
                                    }
                                    continue;
                                }
                                let frame = script::parse_frame(&frame_buf);
                                frame_buf.clear();
                                match (&state, frame) {
                                    (StdoutState::AwaitSetup, Some(Frame::Setup)) => {
                                        d.setup_seen = true;
                                        if let CompileMode::Compile { .. } = mode {
                                            state = StdoutState::AwaitCompile;
                                            deadline = tokio::time::Instant::now() + limits.compile_wall;
                                        } else {
                                            state = StdoutState::Program;
                                            deadline = tokio::time::Instant::now() + limits.wall;
                                        }
                                        // Anything the shell buffered on stderr during setup is
                                        // harmless (tar warnings); drop it.
                                        d.setup_stderr.clear();
                                    }
                                    (StdoutState::AwaitCompile, Some(Frame::Compiled { status, artifact_len })) => {
                                        d.compiled = Some(status);
                                        let keep = status == 0 && artifact_len <= collect_limit;
                                        if artifact_len > 0 {
                                            state = StdoutState::Artifacts { remaining: artifact_len, keep };
                                        } else {
                                            state = StdoutState::Program;
                                            deadline = tokio::time::Instant::now() + limits.wall;
                                        }
                                    }
                                    _ => {
                                        d.error = Some("sandbox protocol error (unexpected frame)".into());
                                        d.killed = true;
                                        break 'outer;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        drop(output);
        drop(_input_keep);
        if d.killed {
            return d;
        }

        // The output stream ended: PID 1 exited (or the container died). Collect the status.
        let wait_opts = WaitContainerOptionsBuilder::new()
            .condition("not-running")
            .build();
        let mut waiter = docker.wait_container(id, Some(wait_opts));
        match tokio::time::timeout(inner.call_timeout(), waiter.next()).await {
            Ok(Some(Ok(r))) => d.exit_code = Some(r.status_code),
            Ok(Some(Err(DockerError::DockerContainerWaitError { code, .. }))) => {
                d.exit_code = Some(code)
            }
            Ok(Some(Err(e))) => {
                if is_connection_error(&e) {
                    inner
                        .health
                        .set(false, format!("docker daemon unreachable: {e}"));
                }
                d.error = Some(format!("wait: {e}"));
            }
            Ok(None) => d.error = Some("wait: no status".into()),
            Err(_) => {
                d.error = Some("wait timed out".into());
                d.killed = true;
                return d;
            }
        }
        if matches!(d.exit_code, Some(c) if c >= 128) {
            if let Ok(info) = inner
                .call("inspect", docker.inspect_container(id, None))
                .await
            {
                d.oom_killed = info.state.and_then(|s| s.oom_killed).unwrap_or(false);
            }
        }
        d
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
        let language = spec.language.clone();
        let res = self.run_inner(spec, output, started).await;
        let cfg = &self.inner.cfg;
        cfg.metrics.record_result("docker", &cfg.languages, &language, &res, started);
        res
    }

    async fn health(&self) -> BackendHealth {
        let up = self.inner.check_health().await && !self.inner.cancel.is_cancelled();
        let mut detail = self.inner.health.detail();
        if up {
            if let Err(e) = self.inner.image_id(&self.inner.cfg.image).await {
                return BackendHealth {
                    kind: BackendKind::Docker,
                    available: false,
                    detail: e.to_string(),
                    isolated: true,
                    pool: Some(self.inner.pool.stats()),
                    cache: self.inner.cache.as_ref().map(|c| c.stats()),
                };
            }
        } else if self.inner.cancel.is_cancelled() {
            detail = "sandbox backend is shut down".into();
        }
        BackendHealth {
            kind: BackendKind::Docker,
            available: up,
            detail,
            isolated: true,
            pool: Some(self.inner.pool.stats()),
            cache: self.inner.cache.as_ref().map(|c| c.stats()),
        }
    }

    async fn shutdown(&self) {
        DockerBackend::shutdown(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_liveness() {
        assert!(owner_alive(owner_id()), "{}", owner_id());
        let me = owner_id().to_string();
        let (host, rest) = me.split_once('/').unwrap();
        let (pid, start) = rest.split_once('/').unwrap();
        assert!(!owner_alive(&format!("other-{host}/{pid}/{start}")));
        assert!(!owner_alive(&format!(
            "{host}/{pid}/{}",
            start.parse::<u64>().unwrap() + 1
        )));
        assert!(!owner_alive(&format!("{host}/999999999/{start}")));
        assert!(!owner_alive("garbage"));
    }
}
