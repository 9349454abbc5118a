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
    /// `address=capacity[;tls=DIR],…` (`unix:///…`, `tcp://…`); runs and terminals are placed on
    /// the healthy host with the image and the most free capacity.
    pub docker_hosts: Vec<oc_sandbox::hosts::HostSpec>,
    /// `EXEC_DOCKER_TLS_DIR` (unset = `DOCKER_CERT_PATH` when `DOCKER_TLS_VERIFY` is set, else
    /// plain TCP): the certificate directory (`ca.pem`, `cert.pem`, `key.pem`) of every `tcp://`
    /// engine that names none of its own.
    pub docker_tls_dir: Option<PathBuf>,
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

/// One Docker engine this server uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// `None`: `DOCKER_HOST` unset, the local socket.
    pub address: Option<String>,
    /// Reached over TLS with the certificates there.
    pub tls_dir: Option<PathBuf>,
}

impl ExecSettings {
    /// The engines runs and terminals use: those of `EXEC_DOCKER_HOSTS`, else the one of
    /// `DOCKER_HOST`. A `tcp://` engine without its own `;tls=` uses `EXEC_DOCKER_TLS_DIR`.
    pub fn engines(&self) -> Vec<Engine> {
        let tls = |address: &str, own: Option<&PathBuf>| {
            own.or(self.docker_tls_dir.as_ref())
                .filter(|_| address.starts_with("tcp://"))
                .cloned()
        };
        if self.docker_hosts.is_empty() {
            let address = self.docker_host.clone();
            return vec![Engine {
                tls_dir: address.as_deref().and_then(|a| tls(a, None)),
                address,
            }];
        }
        self.docker_hosts
            .iter()
            .map(|h| Engine {
                address: Some(h.address.clone()),
                tls_dir: tls(&h.address, h.tls_dir.as_ref()),
            })
            .collect()
    }

    /// Production refuses a `tcp://` engine without TLS that is not on this machine: its API is
    /// root on its host for anyone who can reach the port.
    pub fn refuse_plain_remote_engines(&self) -> Result<(), ConfigError> {
        let var = if self.docker_hosts.is_empty() {
            "DOCKER_HOST"
        } else {
            "EXEC_DOCKER_HOSTS"
        };
        for engine in self.engines() {
            let Some(address) = engine.address.as_deref() else {
                continue;
            };
            if address.starts_with("tcp://")
                && engine.tls_dir.is_none()
                && !oc_sandbox::hosts::is_loopback_tcp(address)
            {
                return Err(invalid(
                    var,
                    format!(
                        "{} is a remote Docker engine over plain TCP, refused in production; \
                         give it TLS client certificates (EXEC_DOCKER_TLS_DIR or ;tls=DIR)",
                        oc_sandbox::hosts::display_address(address)
                    ),
                ));
            }
        }
        Ok(())
    }

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
            // The Docker CLI's own variables count too, so a DOCKER_HOST set up for the CLI works.
            docker_tls_dir: get(vars, "EXEC_DOCKER_TLS_DIR")
                .or_else(|| {
                    get(vars, "DOCKER_TLS_VERIFY").and_then(|_| get(vars, "DOCKER_CERT_PATH"))
                })
                .map(PathBuf::from),
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
        for bad in [
            "ssh://box=2",
            "unix:///a=0",
            "unix:///a",
            "unix:///a=1;tls=/d",
        ] {
            let err = ExecSettings::from_vars(&vars(bad)).unwrap_err().to_string();
            assert!(err.starts_with("EXEC_DOCKER_HOSTS"), "{err}");
        }
    }

    #[test]
    fn tcp_engines_get_their_tls_directory() {
        let settings = |pairs: &[(&str, &str)]| {
            ExecSettings::from_vars(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
            .unwrap()
        };
        let tls_dirs = |s: ExecSettings| -> Vec<Option<PathBuf>> {
            s.engines().into_iter().map(|e| e.tls_dir).collect()
        };
        let hosts =
            "unix:///var/run/docker.sock=2,tcp://10.0.0.2:2376=2;tls=/own,tcp://10.0.0.3:2376=2";
        assert_eq!(
            tls_dirs(settings(&[
                ("EXEC_DOCKER_HOSTS", hosts),
                ("EXEC_DOCKER_TLS_DIR", "/shared")
            ])),
            vec![None, Some("/own".into()), Some("/shared".into())]
        );
        assert_eq!(
            tls_dirs(settings(&[("EXEC_DOCKER_HOSTS", hosts)])),
            vec![None, Some("/own".into()), None]
        );
        assert_eq!(
            tls_dirs(settings(&[
                ("DOCKER_HOST", "tcp://10.0.0.2:2376"),
                ("EXEC_DOCKER_TLS_DIR", "/shared")
            ])),
            vec![Some("/shared".into())]
        );
        assert_eq!(
            tls_dirs(settings(&[("EXEC_DOCKER_TLS_DIR", "/shared")])),
            vec![None]
        );
        // The Docker CLI's variables, unless EXEC_DOCKER_TLS_DIR says otherwise.
        let cli = [
            ("DOCKER_HOST", "tcp://10.0.0.2:2376"),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", "/home/ops/.docker"),
        ];
        assert_eq!(
            tls_dirs(settings(&cli)),
            vec![Some("/home/ops/.docker".into())]
        );
        assert_eq!(tls_dirs(settings(&cli[..2])), vec![None]);
        assert_eq!(
            tls_dirs(settings(&[cli[0], cli[2]])),
            vec![None],
            "DOCKER_CERT_PATH alone does not turn TLS on"
        );
        let mut chosen = cli.to_vec();
        chosen.push(("EXEC_DOCKER_TLS_DIR", "/shared"));
        assert_eq!(tls_dirs(settings(&chosen)), vec![Some("/shared".into())]);
    }

    #[test]
    fn production_refuses_a_remote_engine_over_plain_tcp() {
        let config = |pairs: &[(&str, &str)]| {
            let strong = "0123456789abcdef".repeat(4);
            let mut vars: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            vars.insert("OPENCODER_ENV".into(), "production".into());
            vars.insert("JWT_SECRET".into(), strong);
            crate::config::Config::from_vars(&vars)
        };
        for (var, value) in [
            ("DOCKER_HOST", "tcp://10.0.0.2:2375"),
            (
                "EXEC_DOCKER_HOSTS",
                "unix:///var/run/docker.sock=2,tcp://docker-b.internal:2375=2",
            ),
        ] {
            let err = config(&[(var, value)]).unwrap_err().to_string();
            assert!(err.starts_with(var) && err.contains("TLS"), "{err}");
        }
        for fine in [
            vec![("DOCKER_HOST", "tcp://127.0.0.1:2375")],
            vec![(
                "EXEC_DOCKER_HOSTS",
                "tcp://[::1]:2375=1,unix:///run/b.sock=1",
            )],
            vec![("EXEC_DOCKER_HOSTS", "tcp://10.0.0.2:2376=1;tls=/etc/oc/b")],
            vec![
                ("DOCKER_HOST", "tcp://10.0.0.2:2376"),
                ("EXEC_DOCKER_TLS_DIR", "/etc/oc/docker"),
            ],
        ] {
            assert!(config(&fine).is_ok(), "{fine:?}");
        }
        // Development allows it (a trusted network is the operator's call there).
        let dev = HashMap::from([("DOCKER_HOST".to_string(), "tcp://10.0.0.2:2375".to_string())]);
        assert!(crate::config::Config::from_vars(&dev).is_ok());
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
