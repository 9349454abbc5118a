//! Running code (SPEC §5): the run API, admission, streaming to the pad, metrics, and the choice
//! of sandbox backend. The sandbox itself lives in the `oc-sandbox` crate, which knows nothing of
//! users, pads or HTTP.

pub mod metrics;
pub mod node;
pub mod output;
pub mod queue;
pub mod replay;
pub mod routes;
pub mod service;
pub mod settings;
pub mod store;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use oc_sandbox::{DockerBackend, DockerConfig, LanguageTable, LocalBackend, LocalConfig, PoolConfig, RunLimits, SandboxBackend};

pub use service::{ExecService, PadBroadcast};
pub use settings::ExecSettings;

/// Docker API calls that take longer than this fail the run instead of hanging it.
pub const DOCKER_CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The limits every run and every warm container share (a pooled container only serves runs
/// whose limits match the ones it was created with).
pub fn base_limits(settings: &ExecSettings) -> RunLimits {
    RunLimits {
        wall: settings.default_timeout,
        output_bytes: settings.output_bytes,
        memory_mb: settings.memory_mb,
        cpus: settings.cpus,
        ..RunLimits::default()
    }
}

pub fn language_table(settings: &ExecSettings) -> anyhow::Result<LanguageTable> {
    Ok(match &settings.languages_file {
        Some(path) => LanguageTable::load_with_overrides(path)
            .map_err(|e| anyhow::anyhow!("EXEC_LANGUAGES_FILE: {e}"))?,
        None => LanguageTable::builtin(),
    })
}

/// Pick the backend (SPEC §5): Docker, even while the daemon is unreachable (runs fail fast with
/// `unavailable` and the backend keeps probing, so a daemon that comes up later is used without a
/// restart). The unsandboxed local backend only with `EXEC_ALLOW_LOCAL` (the configuration has
/// already refused it on a non-loopback `HOST`): forced, or when Docker is unreachable at start.
pub async fn build_backend(
    settings: &ExecSettings,
    data_dir: &Path,
    languages: Arc<LanguageTable>,
    metrics: Arc<oc_sandbox::Metrics>,
) -> anyhow::Result<Arc<dyn SandboxBackend>> {
    let local = |why: &str| -> Arc<dyn SandboxBackend> {
        tracing::warn!(
            "{why}: EXEC_ALLOW_LOCAL is set, so code runs as LOCAL SUBPROCESSES WITHOUT KERNEL ISOLATION \
             (only loopback clients can reach this server)"
        );
        Arc::new(LocalBackend::new(LocalConfig {
            languages: languages.clone(),
            metrics: metrics.clone(),
            max_input_bytes: (settings.max_source_bytes + settings.max_stdin_bytes) as u64,
            ..LocalConfig::default()
        }))
    };
    if settings.force_local && settings.allow_local {
        return Ok(local("EXEC_FORCE_LOCAL is set"));
    }
    let node_id = node::node_id(settings, data_dir)
        .map_err(|e| anyhow::anyhow!("NODE_ID: cannot keep the generated node id in {}: {e}", data_dir.display()))?;
    let docker = DockerBackend::new(DockerConfig {
        image: settings.image.clone(),
        seccomp_profile: settings.seccomp_profile.clone(),
        pool: PoolConfig {
            sizes: oc_sandbox::parse_pool_spec(&settings.pool).map_err(|e| anyhow::anyhow!("EXEC_POOL: {e}"))?,
            limits: base_limits(settings),
            ..PoolConfig::default()
        },
        cache_dir: (settings.compile_cache_mb > 0).then(|| data_dir.join("compile-cache")),
        cache_max_bytes: settings.compile_cache_mb * 1024 * 1024,
        call_timeout: DOCKER_CALL_TIMEOUT,
        max_input_bytes: (settings.max_source_bytes + settings.max_stdin_bytes) as u64,
        remove_leftovers_on_start: settings.remove_leftovers,
        docker_host: settings.docker_host.clone(),
        node_id,
        languages: languages.clone(),
        metrics: metrics.clone(),
    })
    .await;
    match docker {
        Ok(docker) if !settings.allow_local => {
            let health = docker.health().await;
            if !health.available {
                tracing::warn!(
                    "Docker is unavailable ({}): runs fail until it is reachable, then it is used without a restart",
                    health.detail
                );
            }
            Ok(Arc::new(docker))
        }
        Ok(docker) if docker.health().await.available => Ok(Arc::new(docker)),
        Ok(docker) => {
            docker.shutdown().await;
            Ok(local("Docker is unreachable"))
        }
        Err(err) if settings.allow_local => Ok(local(&format!("Docker is unreachable ({err})"))),
        Err(err) => Err(anyhow::anyhow!(
            "the Docker sandbox cannot be set up ({err}); fix DOCKER_HOST or the EXEC_* settings"
        )),
    }
}
