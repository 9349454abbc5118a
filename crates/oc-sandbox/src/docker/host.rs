//! One Docker Engine: the connected, version-negotiated client with its health state, the images
//! it holds, the labels of the containers this process creates there, container creation and
//! removal, and the leftover sweep. Runs and terminal sessions both work through it, so they
//! share one client, one set of call timeouts and one view of whether the daemon is up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, ContainerSummary, ContainerSummaryStateEnum};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use tokio_util::task::TaskTracker;

use super::client::{describe, Client};
pub(crate) use super::client::{is_connection_error, status_of, CallError};
use super::health::HealthState;
use super::labels::{base_labels, hostname, is_leftover, ContainerKind, KIND_LABEL};
use super::labels::{INSTANCE_LABEL, SANDBOX_LABEL};
use super::tls::Tls;
use crate::metrics::Metrics;
use crate::SandboxError;

/// Attempts at removing a container (with a doubling pause from [`REMOVE_RETRY_PAUSE`]) before
/// the removal is left to the caller (the run backend's supervisor retries it while the daemon
/// answers).
pub const REMOVE_ATTEMPTS: u32 = 3;
/// First pause between removal attempts.
pub const REMOVE_RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Upper bound of one health check's ping and version calls (or the call timeout if shorter).
pub const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// While the daemon is known to be down, a caller re-checks it at most this often.
pub const DOWN_RECHECK: Duration = Duration::from_secs(1);
/// A healthy daemon's API version is re-negotiated after this long (it may have been upgraded).
pub const RENEGOTIATE_AFTER: Duration = Duration::from_secs(300);
/// A daemon that comes back after being down takes work only once it has answered for this
/// long: containers started in the first second after a dockerd restart were seen to die with
/// their shim (exit 137, Docker 20.10), so a rejoining host settles before runs are placed on it.
pub const REJOIN_SETTLE: Duration = Duration::from_secs(3);
/// How long an image's id is trusted before it is looked up again.
pub const IMAGE_ID_TTL: Duration = Duration::from_secs(60);
/// Removals run at once by a sweep.
const SWEEP_PARALLELISM: usize = 4;
/// How long a container may stay `created` (between its creation and its start) before a sweep of
/// stopped containers takes it for a leftover: well past two daemon calls at their timeout.
pub const STARTING_GRACE: Duration = Duration::from_secs(120);

/// How to reach one engine.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Docker Engine address (`unix:///…`, `tcp://…`); `None`: `DOCKER_HOST` from the process
    /// environment, else the local socket. A socket that does not exist yet is not an error: the
    /// host reports unavailable until the daemon answers there.
    pub address: Option<String>,
    /// Upper bound of every Docker API call (create, start, attach, inspect, remove, ...).
    pub call_timeout: Duration,
    /// Names this server among those sharing a Docker daemon (`opencoder.sandbox.node`).
    /// Default: the host name.
    pub node_id: String,
    /// Remove leftover sandbox containers of this node when the host is connected (a crashed or
    /// killed server's, runs and terminals alike): those labelled with [`Self::node_id`] whose
    /// creating process is gone. Other nodes' containers are never touched.
    pub remove_leftovers_on_start: bool,
    /// Counters of Docker calls and containers (shared with the run backend's).
    pub metrics: Arc<Metrics>,
    /// OCI runtime of every sandbox container created here (`HostConfig.Runtime`, e.g. `runsc`
    /// for gVisor); `None`: the daemon's default runtime. [`DockerHost::connect`] refuses a
    /// runtime the daemon does not list.
    pub runtime: Option<String>,
    /// Talk TLS to a `tcp://` address with the certificates in this directory (`ca.pem`,
    /// `cert.pem`, `key.pem`; see [`super::tls`]). `None`: plain TCP or a unix socket.
    pub tls_dir: Option<PathBuf>,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            address: None,
            call_timeout: Duration::from_secs(30),
            node_id: hostname(),
            remove_leftovers_on_start: false,
            metrics: Arc::new(Metrics::new()),
            runtime: None,
            tls_dir: None,
        }
    }
}

struct HostInner {
    client: Client,
    cfg: HostConfig,
    /// Value of the instance label on this connection's containers.
    instance: String,
    health: HealthState,
    image_ids: Mutex<HashMap<String, (String, Instant)>>,
    /// Background removals (shutdown and tests wait for them).
    removals: TaskTracker,
}

/// One Docker Engine (see the module docs). Cheap to clone (shared state).
#[derive(Clone)]
pub struct DockerHost {
    inner: Arc<HostInner>,
}

impl std::fmt::Debug for DockerHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerHost")
            .field("address", &self.address())
            .field("instance", &self.inner.instance)
            .finish()
    }
}

impl DockerHost {
    /// Builds the client, checks the daemon once (negotiating the API version) and, when asked
    /// to, sweeps this node's leftovers. Must be called inside a Tokio runtime. A daemon that is
    /// down is not an error here: the host reports unavailable and recovers when it comes back.
    pub async fn connect(cfg: HostConfig) -> Result<DockerHost, SandboxError> {
        let tls = match (&cfg.tls_dir, cfg.address.as_deref()) {
            (None, _) => None,
            (Some(dir), Some(address)) if address.starts_with("tcp://") => Some(Tls::load(dir)?),
            (Some(_), address) => {
                return Err(SandboxError::InvalidRequest(format!(
                    "TLS certificates are for tcp:// addresses, not {}",
                    address.unwrap_or(crate::hosts::DEFAULT_ADDRESS)
                )))
            }
        };
        let client = Client::new(cfg.address.clone(), tls, cfg.call_timeout)
            .map_err(|e| SandboxError::Internal(format!("docker client: {e}")))?;
        let host = DockerHost {
            inner: Arc::new(HostInner {
                client,
                cfg,
                instance: uuid::Uuid::new_v4().simple().to_string(),
                health: HealthState::default(),
                image_ids: Mutex::new(HashMap::new()),
                removals: TaskTracker::new(),
            }),
        };
        host.check_health().await;
        if host.is_up() {
            if let Some(runtime) = host.runtime() {
                let listed = host.runtimes().await?;
                if !listed.iter().any(|r| r == runtime) {
                    return Err(SandboxError::Unavailable(format!(
                        "the Docker daemon{} does not list the runtime {runtime:?} (it has: {}); \
                         register it with scripts/ensure-gvisor.sh or unset EXEC_RUNTIME",
                        host.address()
                            .map(|a| format!(" at {a}"))
                            .unwrap_or_default(),
                        listed.join(", ")
                    )));
                }
            }
        }
        if host.is_up() && host.inner.cfg.remove_leftovers_on_start {
            match host.remove_leftovers().await {
                Ok(n) if n > 0 => {
                    tracing::info!(removed = n, "removed leftover sandbox containers")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not remove leftover sandbox containers")
                }
            }
        }
        Ok(host)
    }

    /// The certificate directory of a host reached over TLS (`None`: plain TCP or a socket).
    pub fn tls_dir(&self) -> Option<&Path> {
        self.tls().map(|tls| tls.dir.as_path())
    }

    pub(crate) fn tls(&self) -> Option<&Tls> {
        self.inner.client.tls()
    }

    /// The configured address (`None`: `DOCKER_HOST`, else the local socket).
    pub fn address(&self) -> Option<&str> {
        self.inner.cfg.address.as_deref()
    }

    /// Value of the `opencoder.sandbox.instance` label on this connection's containers.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance
    }

    pub fn node_id(&self) -> &str {
        &self.inner.cfg.node_id
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.cfg.metrics
    }

    pub fn call_timeout(&self) -> Duration {
        self.inner.cfg.call_timeout
    }

    /// The OCI runtime of this host's sandbox containers (`None`: the daemon's default).
    pub fn runtime(&self) -> Option<&str> {
        self.inner.cfg.runtime.as_deref()
    }

    /// The runtimes the daemon lists (`docker info`), sorted.
    pub async fn runtimes(&self) -> Result<Vec<String>, SandboxError> {
        let docker = self.docker()?;
        let info = self.call("info", docker.info()).await?;
        let mut names: Vec<String> = info.runtimes.unwrap_or_default().into_keys().collect();
        names.sort();
        Ok(names)
    }

    /// The daemon's components as `/version` reports them: (name, version, git commit), the
    /// engine first (the versions container-escape advisories are judged by).
    pub async fn components(&self) -> Result<Vec<(String, String, Option<String>)>, SandboxError> {
        let docker = self.docker()?;
        let v = self.call("version", docker.version()).await?;
        let engine = (
            "Engine".to_string(),
            v.version.unwrap_or_default(),
            v.git_commit,
        );
        let others = v
            .components
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.name != "Engine")
            .map(|c| {
                let commit = c.details.as_ref().and_then(|d| d.get("GitCommit")).cloned();
                (c.name, c.version, commit)
            });
        Ok(std::iter::once(engine).chain(others).collect())
    }

    /// Whether the daemon answered the last check.
    pub fn is_up(&self) -> bool {
        self.inner.health.is_up()
    }

    /// The daemon's version (`docker 20.10.24 (API 1.41)`) or why it is unavailable.
    pub fn detail(&self) -> String {
        self.inner.health.detail()
    }

    pub(crate) fn mark_down(&self, detail: String) {
        self.inner.health.set(false, detail);
    }

    /// The client, or `Down` (with the health state updated) while the daemon's socket is missing.
    pub(crate) fn docker(&self) -> Result<Docker, CallError> {
        self.inner
            .client
            .get()
            .map_err(|e| self.classify("connect", e))
    }

    /// Counts the failure; a connection error also marks the daemon down.
    pub(crate) fn classify(&self, what: &str, e: DockerError) -> CallError {
        Metrics::inc(&self.metrics().docker_errors);
        if is_connection_error(&e) {
            let e = describe(&e);
            self.mark_down(format!("docker daemon unreachable: {e}"));
            CallError::Down(format!("docker daemon unreachable ({what}): {e}"))
        } else {
            CallError::Api(status_of(&e), format!("docker {what}: {e}"))
        }
    }

    /// Wraps a Docker call: timeout, error classification, health bookkeeping.
    pub(crate) async fn call<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, DockerError>>,
    ) -> Result<T, CallError> {
        match tokio::time::timeout(self.call_timeout(), fut).await {
            Err(_) => {
                Metrics::inc(&self.metrics().docker_errors);
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
    pub async fn check_health(&self) -> bool {
        let health = &self.inner.health;
        let t = HEALTH_CHECK_TIMEOUT.min(self.call_timeout());
        let was_up = health.is_up();
        let docker = match self.inner.client.get() {
            Ok(docker) => docker,
            Err(e) => {
                self.mark_down(format!("docker daemon unreachable: {}", describe(&e)));
                return false;
            }
        };
        match tokio::time::timeout(t, docker.ping()).await {
            Ok(Ok(_)) if !was_up && !health.settled() => health.settling(),
            Ok(Ok(_)) => {
                if !was_up || !health.checked_within(RENEGOTIATE_AFTER) {
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
                            health.set(true, v);
                        }
                        Ok(Err(e)) => self.mark_down(format!("docker API negotiation failed: {e}")),
                        Err(_) => self.mark_down("docker API negotiation timed out".into()),
                    }
                } else {
                    health.set(true, health.detail());
                }
            }
            Ok(Err(e)) => {
                let why = match (self.tls(), self.address()) {
                    (Some(tls), Some(address)) if super::tls::explain(&e).is_none() => {
                        tls.diagnose(address).await
                    }
                    _ => None,
                };
                let why = why.unwrap_or_else(|| describe(&e));
                self.mark_down(format!("docker daemon unreachable: {why}"))
            }
            Err(_) => self.mark_down(format!("docker daemon did not answer a ping within {t:?}")),
        }
        health.is_up()
    }

    /// Fails fast when the daemon is known to be down (re-checking at most every
    /// [`DOWN_RECHECK`]).
    pub async fn ensure_up(&self) -> Result<(), SandboxError> {
        let health = &self.inner.health;
        if health.is_up() {
            return Ok(());
        }
        if !health.checked_within(DOWN_RECHECK) && self.check_health().await {
            return Ok(());
        }
        Err(SandboxError::Unavailable(health.detail()))
    }

    pub(crate) fn missing_image(image: &str) -> SandboxError {
        SandboxError::Unavailable(format!(
            "sandbox image {image:?} not found on the Docker daemon; build it with scripts/build-runner-image.sh"
        ))
    }

    /// The id (content digest) of `image` on the daemon, trusted for [`IMAGE_ID_TTL`];
    /// `Unavailable` naming the build script when it is missing.
    pub async fn image_id(&self, image: &str) -> Result<String, SandboxError> {
        if let Some((id, at)) = self
            .inner
            .image_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(image)
        {
            if at.elapsed() < IMAGE_ID_TTL {
                return Ok(id.clone());
            }
        }
        let docker = self.docker()?;
        let info = self
            .call("image inspect", docker.inspect_image(image))
            .await
            .map_err(|e| match e {
                CallError::Api(Some(404), _) => Self::missing_image(image),
                e => e.into_sandbox(),
            })?;
        let id = info.id.unwrap_or_default();
        self.inner
            .image_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(image.to_string(), (id.clone(), Instant::now()));
        Ok(id)
    }

    /// The labels of a container of `kind` created through this host (callers add their own).
    pub(crate) fn labels(&self, kind: ContainerKind) -> HashMap<String, String> {
        base_labels(&self.inner.instance, self.node_id(), kind)
    }

    /// Creates a container named `<prefix>-<uuid>` from `body` and starts it. A missing image is
    /// `Unavailable` naming the build script; a container that does not start is removed.
    pub(crate) async fn create_started(
        &self,
        prefix: &str,
        body: ContainerCreateBody,
    ) -> Result<String, SandboxError> {
        let name = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
        let image = body.image.clone().unwrap_or_default();
        let opts = CreateContainerOptionsBuilder::new().name(&name).build();
        let docker = self.docker()?;
        let created = self
            .call("create", docker.create_container(Some(opts), body))
            .await
            .map_err(|e| match e {
                CallError::Api(Some(404), _) => Self::missing_image(&image),
                e => e.into_sandbox(),
            })?;
        Metrics::inc(&self.metrics().containers_created);
        if let Err(e) = self
            .call("start", docker.start_container(&created.id, None))
            .await
        {
            self.spawn_remove(created.id);
            return Err(e.into_sandbox());
        }
        Ok(created.id)
    }

    /// Waits until a container is not running (or `timeout` passed, or the engine failed to
    /// say): what comes after may proceed either way.
    pub(crate) async fn wait_stopped(&self, id: &str, timeout: Duration) {
        let Ok(docker) = self.inner.client.get() else {
            return;
        };
        let opts = WaitContainerOptionsBuilder::new()
            .condition("not-running")
            .build();
        let mut waiter = docker.wait_container(id, Some(opts));
        let _ = tokio::time::timeout(timeout, waiter.next()).await;
    }

    /// Force-removes a container (killing whatever runs in it), retrying; `true` once it is gone.
    pub async fn remove(&self, id: &str) -> bool {
        let Ok(docker) = self.inner.client.get() else {
            return false;
        };
        let metrics = self.metrics();
        let opts = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        let mut pause = REMOVE_RETRY_PAUSE;
        for attempt in 1..=REMOVE_ATTEMPTS {
            match tokio::time::timeout(
                self.call_timeout(),
                docker.remove_container(id, Some(opts.clone())),
            )
            .await
            {
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
                    tracing::warn!(
                        container = id,
                        attempt,
                        "removing sandbox container timed out"
                    );
                }
            }
            if attempt < REMOVE_ATTEMPTS {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        false
    }

    /// Removes a container in the background (tracked: see [`Self::removals_pending`]).
    pub(crate) fn spawn_remove(&self, id: String) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let host = self.clone();
            self.inner
                .removals
                .spawn_on(async move { host.remove(&id).await }, &handle);
        }
    }

    /// Background removals still running.
    pub fn removals_pending(&self) -> usize {
        self.inner.removals.len()
    }

    /// Ids of the containers carrying every one of `labels` (`key` or `key=value`), stopped ones
    /// only if `only_stopped`.
    pub(crate) async fn list_ids(
        &self,
        labels: &[String],
        only_stopped: bool,
    ) -> Result<Vec<String>, SandboxError> {
        let mut filters: HashMap<&str, Vec<&str>> =
            HashMap::from([("label", labels.iter().map(String::as_str).collect())]);
        if only_stopped {
            filters.insert("status", vec!["created", "exited", "dead"]);
        }
        let opts = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let docker = self.docker()?;
        let list = self
            .call("list", docker.list_containers(Some(opts)))
            .await?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Ok(list
            .into_iter()
            .filter(|c| !(only_stopped && being_started(c, now)))
            .filter_map(|c| c.id)
            .collect())
    }

    /// This connection's containers of `kind`, plus `extra` labels.
    pub(crate) async fn own_ids(
        &self,
        kind: ContainerKind,
        extra: Option<String>,
        only_stopped: bool,
    ) -> Result<Vec<String>, SandboxError> {
        let mut labels = vec![
            format!("{INSTANCE_LABEL}={}", self.inner.instance),
            format!("{KIND_LABEL}={}", kind.as_str()),
        ];
        labels.extend(extra);
        self.list_ids(&labels, only_stopped).await
    }

    /// Removes `ids` (a few at a time) with `remove`; returns how many there were.
    pub(crate) async fn remove_each<F, Fut>(ids: Vec<String>, remove: F) -> usize
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let n = ids.len();
        futures_util::stream::iter(ids)
            .for_each_concurrent(SWEEP_PARALLELISM, remove)
            .await;
        n
    }

    /// Removes every sandbox container on the daemon, of any instance, kind and owner.
    pub async fn remove_all_sandbox_containers(&self) -> Result<usize, SandboxError> {
        let ids = self
            .list_ids(&[format!("{SANDBOX_LABEL}=1")], false)
            .await?;
        Ok(Self::remove_each(ids, |id| async move {
            self.remove(&id).await;
        })
        .await)
    }

    /// Removes this node's sandbox containers whose owner process is not alive (runs and
    /// terminals of a crashed server). Returns how many were removed.
    pub async fn remove_leftovers(&self) -> Result<usize, SandboxError> {
        let label = format!("{SANDBOX_LABEL}=1");
        let filters: HashMap<&str, Vec<&str>> = HashMap::from([("label", vec![label.as_str()])]);
        let opts = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let docker = self.docker()?;
        let list = self
            .call("list", docker.list_containers(Some(opts)))
            .await?;
        let ids: Vec<String> = list
            .into_iter()
            .filter(|c| {
                c.labels
                    .as_ref()
                    .is_some_and(|l| is_leftover(l, self.node_id()))
            })
            .filter_map(|c| c.id)
            .collect();
        Ok(Self::remove_each(ids, |id| async move {
            self.remove(&id).await;
        })
        .await)
    }
}

/// A container is `created` for the moment between its creation and its start: one being started
/// right now is no leftover (removing it would kill a run as it begins). `now` in Unix seconds.
fn being_started(container: &ContainerSummary, now: i64) -> bool {
    container.state == Some(ContainerSummaryStateEnum::CREATED)
        && container
            .created
            .is_some_and(|at| now - at < STARTING_GRACE.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(state: ContainerSummaryStateEnum, created: i64) -> ContainerSummary {
        ContainerSummary {
            state: Some(state),
            created: Some(created),
            ..ContainerSummary::default()
        }
    }

    #[test]
    fn only_a_container_created_moments_ago_counts_as_being_started() {
        let now = 1_000_000;
        assert!(being_started(
            &summary(ContainerSummaryStateEnum::CREATED, now - 5),
            now
        ));
        let grace = STARTING_GRACE.as_secs() as i64;
        assert!(!being_started(
            &summary(ContainerSummaryStateEnum::CREATED, now - grace - 1),
            now
        ));
        assert!(!being_started(
            &summary(ContainerSummaryStateEnum::EXITED, now),
            now
        ));
        assert!(!being_started(
            &summary(ContainerSummaryStateEnum::DEAD, now),
            now
        ));
    }
}
