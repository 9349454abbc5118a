//! Running code (SPEC §5): the run API, admission, streaming to the pad, metrics, and the choice
//! of sandbox backends — for runs and for terminals, in one place ([`build_sandboxes`]). The sandbox itself lives in the `oc-sandbox` crate, which knows nothing of
//! users, pads or HTTP.

pub mod console;
pub mod metrics;
pub mod node;
pub mod output;
pub mod queue;
pub mod repl;
pub mod replay;
pub mod routes;
pub mod service;
pub mod settings;
pub mod store;
pub mod transcript;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use oc_sandbox::hosts::{HostMember, HostSet};
use oc_sandbox::{
    DockerBackend, DockerConfig, DockerHost, DockerTerminals, HostConfig, LanguageTable,
    LocalBackend, LocalConfig, LocalTerminalConfig, LocalTerminals, PoolConfig, RunLimits,
    SandboxBackend, TerminalBackend,
};

pub use service::{ExecService, PadBroadcast};

use crate::config::Config;
pub use settings::{Engine, ExecSettings};

/// The compile cache under `DATA_DIR` (of the first host, with several: each other host `i` has
/// its own `compile-cache-<i>`, as a cache directory has one owner that evicts from it).
pub const COMPILE_CACHE_DIR: &str = "compile-cache";

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

/// Where code runs and where shells run, chosen in one place.
pub struct Sandboxes {
    pub runs: Arc<dyn SandboxBackend>,
    pub terminals: TerminalChoice,
}

/// The terminals' backend, or why terminals are off (shown to clients).
pub enum TerminalChoice {
    Ready(Arc<dyn TerminalBackend>),
    Unavailable(String),
}

/// Pick the backends (SPEC §5, §6). Runs: Docker, even while the daemon is unreachable (runs fail
/// fast with `unavailable` and the backend keeps probing, so a daemon that comes up later is used
/// without a restart). The unsandboxed local backend only with `EXEC_ALLOW_LOCAL` (the
/// configuration has already refused it on a non-loopback `HOST`): forced, or when Docker is
/// unreachable at start. Terminals: Docker, on the same engine connection as runs; a shell on the
/// host only with `TERMINAL_ALLOW_LOCAL` outside production, when Docker is unreachable or runs
/// are forced local, loudly.
pub async fn build_sandboxes(
    config: &Config,
    languages: Arc<LanguageTable>,
    metrics: Arc<oc_sandbox::Metrics>,
) -> anyhow::Result<Sandboxes> {
    let settings = &config.exec;
    let allow_local_shell = config.terminal.allow_local;
    if allow_local_shell && config.is_production() {
        anyhow::bail!(
            "TERMINAL_ALLOW_LOCAL: a shell on the host is refused in production; unset it and make Docker reachable"
        );
    }
    let local_runs = |why: &str| -> Arc<dyn SandboxBackend> {
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
    let local_shells = |why: &str| {
        tracing::warn!(
            "{why}: TERMINAL_ALLOW_LOCAL is set, so terminals are SHELLS ON THE HOST WITHOUT ISOLATION (development only)"
        );
        TerminalChoice::Ready(Arc::new(
            LocalTerminals::new(LocalTerminalConfig::default()),
        ))
    };
    let no_shells = |why: String| {
        tracing::warn!("terminals are unavailable: {why}");
        TerminalChoice::Unavailable(why)
    };
    if settings.force_local {
        let terminals = if allow_local_shell {
            local_shells("EXEC_FORCE_LOCAL is set")
        } else {
            no_shells("runs are forced local (EXEC_FORCE_LOCAL) and terminals need Docker; set TERMINAL_ALLOW_LOCAL=1 for a host shell in development".into())
        };
        return Ok(Sandboxes {
            runs: local_runs("EXEC_FORCE_LOCAL is set"),
            terminals,
        });
    }
    let node_id = node::node_id(settings, &config.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "NODE_ID: cannot keep the generated node id in {}: {e}",
            config.data_dir.display()
        )
    })?;
    let unreachable = |err: &dyn std::fmt::Display| {
        let terminals = if allow_local_shell {
            local_shells(&format!("no Docker client ({err})"))
        } else {
            no_shells(format!("no Docker client: {err}"))
        };
        Sandboxes {
            runs: local_runs(&format!("Docker is unreachable ({err})")),
            terminals,
        }
    };
    if !settings.docker_hosts.is_empty() {
        return match host_set(settings, &config.data_dir, &node_id, languages.clone(), metrics.clone()).await {
            Ok(set) if !settings.allow_local || SandboxBackend::health(&set).await.available => {
                Ok(Sandboxes { runs: Arc::new(set.clone()), terminals: TerminalChoice::Ready(Arc::new(set)) })
            }
            Ok(set) => {
                set.shutdown().await;
                Ok(unreachable(&"no Docker host of EXEC_DOCKER_HOSTS answers"))
            }
            Err(err) if settings.allow_local => Ok(unreachable(&err)),
            Err(err) => anyhow::bail!("the Docker sandbox cannot be set up ({err}); fix EXEC_DOCKER_HOSTS or the EXEC_* settings"),
        };
    }
    let engine = settings.engines().remove(0);
    let host = match connect_host(settings, &node_id, &engine, metrics.clone()).await {
        Ok(host) => host,
        Err(err) if settings.allow_local => return Ok(unreachable(&err)),
        Err(err) => anyhow::bail!(
            "the Docker sandbox cannot be set up ({err}); fix DOCKER_HOST or the EXEC_* settings"
        ),
    };
    let cache_dir = config.data_dir.join(COMPILE_CACHE_DIR);
    let runs = match run_backend(settings, cache_dir, host.clone(), languages.clone()).await {
        Ok(docker) if !settings.allow_local => {
            let health = docker.health().await;
            if !health.available {
                tracing::warn!(
                    "Docker is unavailable ({}): runs fail until it is reachable, then it is used without a restart",
                    health.detail
                );
            }
            Arc::new(docker) as Arc<dyn SandboxBackend>
        }
        Ok(docker) if docker.health().await.available => Arc::new(docker),
        Ok(docker) => {
            docker.shutdown().await;
            local_runs("Docker is unreachable")
        }
        Err(err) if settings.allow_local => local_runs(&format!("Docker is unreachable ({err})")),
        Err(err) => anyhow::bail!(
            "the Docker sandbox cannot be set up ({err}); fix DOCKER_HOST or the EXEC_* settings"
        ),
    };
    let terminals = match DockerTerminals::new(
        host,
        settings.image.clone(),
        settings.seccomp_profile.as_deref(),
    ) {
        Ok(docker) if allow_local_shell => match docker.check().await {
            Ok(()) => TerminalChoice::Ready(Arc::new(docker)),
            Err(err) => local_shells(&format!("Docker is unavailable for terminals ({err})")),
        },
        Ok(docker) => TerminalChoice::Ready(Arc::new(docker)),
        Err(err) if allow_local_shell => {
            local_shells(&format!("no Docker sandbox for terminals ({err})"))
        }
        Err(err) => no_shells(format!("no Docker sandbox for terminals: {err}")),
    };
    Ok(Sandboxes { runs, terminals })
}

/// One Docker engine of this server, its leftovers swept when asked to.
async fn connect_host(
    settings: &ExecSettings,
    node_id: &str,
    engine: &Engine,
    metrics: Arc<oc_sandbox::Metrics>,
) -> anyhow::Result<DockerHost> {
    Ok(DockerHost::connect(HostConfig {
        address: engine.address.clone(),
        call_timeout: DOCKER_CALL_TIMEOUT,
        node_id: node_id.to_string(),
        remove_leftovers_on_start: settings.remove_leftovers,
        metrics,
        runtime: settings.runtime.clone(),
        tls_dir: engine.tls_dir.clone(),
    })
    .await?)
}

/// The Docker run backend on `host`: pool, compile cache, limits from the settings.
async fn run_backend(
    settings: &ExecSettings,
    cache_dir: PathBuf,
    host: DockerHost,
    languages: Arc<LanguageTable>,
) -> anyhow::Result<DockerBackend> {
    Ok(DockerBackend::new(
        host,
        DockerConfig {
            image: settings.image.clone(),
            seccomp_profile: settings.seccomp_profile.clone(),
            pool: PoolConfig {
                sizes: oc_sandbox::parse_pool_spec(&settings.pool)
                    .map_err(|e| anyhow::anyhow!("EXEC_POOL: {e}"))?,
                limits: base_limits(settings),
                ..PoolConfig::default()
            },
            cache_dir: (settings.compile_cache_mb > 0).then_some(cache_dir),
            cache_max_bytes: settings.compile_cache_mb * 1024 * 1024,
            max_input_bytes: (settings.max_source_bytes + settings.max_stdin_bytes) as u64,
            languages,
        },
    )
    .await?)
}

/// Every host of `EXEC_DOCKER_HOSTS` with its own run backend (pool, compile cache) and terminals.
async fn host_set(
    settings: &ExecSettings,
    data_dir: &Path,
    node_id: &str,
    languages: Arc<LanguageTable>,
    metrics: Arc<oc_sandbox::Metrics>,
) -> anyhow::Result<HostSet> {
    let mut members = Vec::new();
    let engines = settings.engines();
    for (i, (engine, spec)) in engines.iter().zip(&settings.docker_hosts).enumerate() {
        let host = connect_host(settings, node_id, engine, metrics.clone()).await?;
        let cache = if i == 0 {
            COMPILE_CACHE_DIR.to_string()
        } else {
            format!("{COMPILE_CACHE_DIR}-{i}")
        };
        let runs = run_backend(
            settings,
            data_dir.join(cache),
            host.clone(),
            languages.clone(),
        )
        .await?;
        let terminals = DockerTerminals::new(
            host,
            settings.image.clone(),
            settings.seccomp_profile.as_deref(),
        )?;
        members.push(HostMember {
            runs,
            terminals,
            capacity: spec.capacity,
        });
    }
    Ok(HostSet::new(members)?)
}
