//! `EXEC_*` settings (SPEC §5): which backend, the limits of a run, admission and the warm pool;
//! `REPL_*`: the limits of a REPL session after a run. Parsed with the rest of the configuration;
//! every variable is listed in the README.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{flag, get, invalid, number, ConfigError};

/// Warm containers kept by default: the languages people run most.
pub const DEFAULT_POOL: &str = "python=2,javascript=1";

/// Ceiling for a run's wall timeout, whatever a request or the operator asks for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct ExecSettings {
    /// `EXEC_FORCE_LOCAL` (false): use the local subprocess backend even when Docker is reachable
    /// (needs `EXEC_ALLOW_LOCAL`).
    pub force_local: bool,
    /// `EXEC_ALLOW_LOCAL` (false): permit the unsandboxed local backend (runs, and terminals with
    /// `TERMINAL_ALLOW_LOCAL`), in every mode. Without it an unreachable Docker makes runs fail
    /// with `unavailable` until the daemon is back. Only accepted with a loopback `HOST`: host
    /// processes can read `DATA_DIR`, so nobody else may reach a server that runs them.
    pub allow_local: bool,
    /// `EXEC_IMAGE` (opencoder-runner:latest): image of every built-in language.
    pub image: String,
    /// `EXEC_LANGUAGES_FILE` (unset): TOML file overriding or adding languages.
    pub languages_file: Option<PathBuf>,
    /// `EXEC_SECCOMP_PROFILE` (unset = Docker's default profile): a stricter JSON profile.
    pub seccomp_profile: Option<PathBuf>,
    /// `EXEC_RUNTIME` (unset = the daemon's default runtime, runc): the OCI runtime of every
    /// sandbox, runs and terminals (`runsc`: gVisor, registered by `scripts/ensure-gvisor.sh`).
    /// The server refuses to start when a daemon does not list it, and it cannot be combined
    /// with `EXEC_ALLOW_LOCAL` (a stronger tier must not fall back to no sandbox at all).
    pub runtime: Option<String>,
    /// `EXEC_TIMEOUT_MS` (10000): default wall timeout; requests may ask for up to 30000.
    pub default_timeout: Duration,
    /// `EXEC_OUTPUT_BYTES` (1048576): output cap across stdout and stderr.
    pub output_bytes: usize,
    /// `EXEC_MEMORY_MB` (512): memory (and memory+swap) per run.
    pub memory_mb: u64,
    /// `EXEC_CPUS` (1): CPU quota per run, in cores.
    pub cpus: f64,
    /// `EXEC_MAX_SOURCE_BYTES` (1048576): total source bytes of a run (413 above).
    pub max_source_bytes: usize,
    /// `EXEC_MAX_STDIN_BYTES` (262144): stdin of a run (413 above).
    pub max_stdin_bytes: usize,
    /// `EXEC_CONCURRENCY` (2 × cores): runs executing at once.
    pub concurrency: usize,
    /// `EXEC_PER_USER_CONCURRENCY` (2): runs one user may have running or queued.
    pub per_user_concurrency: usize,
    /// `EXEC_QUEUE` (32): runs that may wait for a slot before new ones get 429.
    pub queue: usize,
    /// `EXEC_POOL` (python=2,javascript=1; empty = no pool): warm containers per language.
    pub pool: String,
    /// `EXEC_COMPILE_CACHE_MB` (512): size of the compile cache under DATA_DIR.
    pub compile_cache_mb: u64,
    /// `EXEC_REMOVE_LEFTOVERS` (true): at start, remove the sandbox containers a crashed server
    /// of this node (`NODE_ID`) left behind; other nodes' containers are never touched.
    pub remove_leftovers: bool,
    /// `NODE_ID` (unset = generated once into `DATA_DIR/node_id`): labels this server's sandbox
    /// containers, so servers sharing a Docker daemon only ever sweep their own.
    pub node_id: Option<String>,
    /// `DOCKER_HOST` (unset = the local socket): the Docker Engine runs use, read from the
    /// configuration like every other setting (so a daemon that is not there yet can be named).
    pub docker_host: Option<String>,
    /// `EXEC_DOCKER_HOSTS` (unset = the single engine of `DOCKER_HOST`): several engines as
    /// `address=capacity,…` (`unix:///…`, plain `tcp://…`); runs and terminals are placed on the
    /// healthy host with the image and the most free capacity.
    pub docker_hosts: Vec<oc_sandbox::hosts::HostSpec>,
    /// `REPL_IDLE_MS` (300000): a REPL session nobody typed into for this long is closed.
    pub repl_idle: Duration,
    /// `REPL_MAX_MS` (1800000): a REPL session's lifetime (its wall limit), however busy.
    pub repl_max: Duration,
    /// `REPL_OUTPUT_BYTES` (1048576): output cap of a REPL session, the program's own included.
    pub repl_output_bytes: usize,
}

/// `EXEC_RUNTIME` names a runtime in the daemon's configuration: a short name of letters,
/// digits, `_`, `.` and `-`.
fn parse_runtime(raw: &str, allow_local: bool) -> Result<String, ConfigError> {
    let valid = raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !valid {
        return Err(invalid(
            "EXEC_RUNTIME",
            format!("{raw:?}: use 1-64 letters, digits, '_', '.' or '-'"),
        ));
    }
    if allow_local {
        return Err(invalid(
            "EXEC_RUNTIME",
            "cannot be combined with EXEC_ALLOW_LOCAL: the stronger runtime would fall back to running code on the host",
        ));
    }
    Ok(raw.to_string())
}

/// `NODE_ID` goes into a container label: a short name of letters, digits, `_`, `.` and `-`.
fn parse_node_id(raw: &str) -> Result<String, ConfigError> {
    let valid = raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !valid {
        return Err(invalid(
            "NODE_ID",
            format!("{raw:?}: use 1-64 letters, digits, '_', '.' or '-'"),
        ));
    }
    Ok(raw.to_string())
}

impl ExecSettings {
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<ExecSettings, ConfigError> {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        // Set but empty means "no warm pool"; unset means the default pool.
        let pool = vars
            .get("EXEC_POOL")
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| DEFAULT_POOL.to_string());
        oc_sandbox::parse_pool_spec(&pool).map_err(|e| invalid("EXEC_POOL", e.to_string()))?;
        let allow_local = flag(vars, "EXEC_ALLOW_LOCAL")?;
        Ok(ExecSettings {
            force_local: flag(vars, "EXEC_FORCE_LOCAL")?,
            allow_local,
            runtime: get(vars, "EXEC_RUNTIME")
                .map(|r| parse_runtime(r, allow_local))
                .transpose()?,
            image: get(vars, "EXEC_IMAGE")
                .unwrap_or("opencoder-runner:latest")
                .to_string(),
            languages_file: get(vars, "EXEC_LANGUAGES_FILE").map(PathBuf::from),
            seccomp_profile: get(vars, "EXEC_SECCOMP_PROFILE").map(PathBuf::from),
            default_timeout: Duration::from_millis(number(
                vars,
                "EXEC_TIMEOUT_MS",
                10_000u64,
                100,
                MAX_TIMEOUT.as_millis() as u64,
            )?),
            output_bytes: number(vars, "EXEC_OUTPUT_BYTES", 1usize << 20, 1024, 64 << 20)?,
            memory_mb: number(vars, "EXEC_MEMORY_MB", 512u64, 32, 16_384)?,
            cpus: number(vars, "EXEC_CPUS", 1.0f64, 0.1, 64.0)?,
            max_source_bytes: number(vars, "EXEC_MAX_SOURCE_BYTES", 1usize << 20, 1024, 16 << 20)?,
            max_stdin_bytes: number(vars, "EXEC_MAX_STDIN_BYTES", 256usize << 10, 0, 16 << 20)?,
            concurrency: number(vars, "EXEC_CONCURRENCY", 2 * cores, 1, 1024)?,
            per_user_concurrency: number(vars, "EXEC_PER_USER_CONCURRENCY", 2usize, 1, 1024)?,
            queue: number(vars, "EXEC_QUEUE", 32usize, 0, 100_000)?,
            pool,
            compile_cache_mb: number(vars, "EXEC_COMPILE_CACHE_MB", 512u64, 0, 1 << 20)?,
            remove_leftovers: get(vars, "EXEC_REMOVE_LEFTOVERS").is_none()
                || flag(vars, "EXEC_REMOVE_LEFTOVERS")?,
            docker_host: get(vars, "DOCKER_HOST").map(str::to_string),
            docker_hosts: oc_sandbox::hosts::parse_hosts_spec(
                get(vars, "EXEC_DOCKER_HOSTS").unwrap_or_default(),
            )
            .map_err(|e| invalid("EXEC_DOCKER_HOSTS", e))?,
            node_id: get(vars, "NODE_ID").map(parse_node_id).transpose()?,
            repl_idle: Duration::from_millis(number(
                vars,
                "REPL_IDLE_MS",
                300_000u64,
                500,
                3_600_000,
            )?),
            repl_max: Duration::from_millis(number(
                vars,
                "REPL_MAX_MS",
                1_800_000u64,
                1_000,
                14_400_000,
            )?),
            repl_output_bytes: number(vars, "REPL_OUTPUT_BYTES", 1usize << 20, 1024, 64 << 20)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hosts_are_parsed_and_checked() {
        let vars = |v: &str| HashMap::from([("EXEC_DOCKER_HOSTS".to_string(), v.to_string())]);
        let settings = ExecSettings::from_vars(&vars(
            "unix:///var/run/docker.sock=8,unix:///run/oc-docker2.sock=4",
        ))
        .unwrap();
        let capacities: Vec<usize> = settings.docker_hosts.iter().map(|h| h.capacity).collect();
        assert_eq!(capacities, vec![8, 4]);
        assert!(ExecSettings::from_vars(&HashMap::new())
            .unwrap()
            .docker_hosts
            .is_empty());
        for bad in ["ssh://box=2", "unix:///a=0", "unix:///a"] {
            let err = ExecSettings::from_vars(&vars(bad)).unwrap_err().to_string();
            assert!(err.starts_with("EXEC_DOCKER_HOSTS"), "{err}");
        }
    }

    #[test]
    fn repl_limits_have_defaults_and_bounds() {
        let defaults = ExecSettings::from_vars(&HashMap::new()).unwrap();
        assert_eq!(
            (defaults.repl_idle, defaults.repl_max),
            (Duration::from_secs(300), Duration::from_secs(1800))
        );
        assert_eq!(defaults.repl_output_bytes, 1 << 20);
        for (name, bad) in [
            ("REPL_IDLE_MS", "100"),
            ("REPL_MAX_MS", "99999999"),
            ("REPL_OUTPUT_BYTES", "12"),
        ] {
            let err =
                ExecSettings::from_vars(&HashMap::from([(name.to_string(), bad.to_string())]))
                    .unwrap_err()
                    .to_string();
            assert!(err.starts_with(name), "{err}");
        }
    }

    #[test]
    fn the_runtime_is_a_name_and_never_falls_back_to_the_host() {
        let vars = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            ExecSettings::from_vars(&vars(&[("EXEC_RUNTIME", "runsc")]))
                .unwrap()
                .runtime
                .as_deref(),
            Some("runsc")
        );
        assert_eq!(
            ExecSettings::from_vars(&HashMap::new()).unwrap().runtime,
            None
        );
        for bad in ["runsc --debug", "a/b", &"r".repeat(65)] {
            let err = ExecSettings::from_vars(&vars(&[("EXEC_RUNTIME", bad)]))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("EXEC_RUNTIME"), "{err}");
        }
        let err = ExecSettings::from_vars(&vars(&[
            ("EXEC_RUNTIME", "runsc"),
            ("EXEC_ALLOW_LOCAL", "true"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("EXEC_ALLOW_LOCAL"), "{err}");
    }
}
