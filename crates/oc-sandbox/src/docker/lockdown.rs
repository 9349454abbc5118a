//! The controls every sandbox container gets, run containers and terminal session containers
//! alike: `NetworkMode none`, `IpcMode private` with a 16 MiB `/dev/shm` ([`SHM_BYTES`]),
//! read-only root, tmpfs `/tmp` (`rw,exec,nosuid,nodev,size=..,mode=1777`), `CapDrop ALL`,
//! `no-new-privileges` (+ operator seccomp profile if given; Docker's default profile otherwise),
//! user 65534:65534, pids limit, `nofile` 64 soft / 256 hard and `core` 0:0, memory = memory+swap, NanoCpus,
//! private cgroup namespace, log driver `none` (untrusted output never reaches the daemon's disk),
//! an explicit minimal env, no mounts or volumes, and the host's OCI runtime (`runsc` for the
//! gVisor tier). One module so the two kinds can never drift apart.

use std::collections::HashMap;

use bollard::models::{
    HostConfig, HostConfigCgroupnsModeEnum, HostConfigLogConfig, ResourcesUlimits,
};

use crate::script;
use crate::{RunLimits, SandboxError};

/// Default runner image (built by `scripts/build-runner-image.sh`).
pub const DEFAULT_IMAGE: &str = "opencoder-runner:latest";

/// Size of `/dev/shm` in every sandbox container (Docker's default is 64 MiB). Its pages count
/// against the memory limit anyway; the cap keeps one program from spending it all there.
pub const SHM_BYTES: i64 = 16 * 1024 * 1024;

/// Open files per process: the soft limit every program starts with, and the hard limit it may
/// raise itself to. R refuses to start below 167 (it sizes its DLL table from the limit and
/// raises the soft limit itself), so the ceiling sits above that while the default stays small.
pub(crate) const NOFILE_SOFT: i64 = 64;
pub(crate) const NOFILE_HARD: i64 = 256;

pub(crate) const SANDBOX_USER: &str = "65534:65534";
pub(crate) const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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

/// The locked-down host configuration of every sandbox container (see the module docs);
/// `runtime`: the OCI runtime (`None`: the daemon's default).
pub(crate) fn sandbox_host_config(
    limits: &RunLimits,
    seccomp: Option<&str>,
    runtime: Option<&str>,
) -> HostConfig {
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
                soft: Some(NOFILE_SOFT),
                hard: Some(NOFILE_HARD),
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
        runtime: runtime.map(str::to_string),
        ..Default::default()
    }
}

/// The same lockdown as `docker run` flags (without the operator's seccomp profile), for
/// comparing the sandbox with the plain CLI on equal terms: benchmarks time `docker run --rm`
/// and `docker exec` under exactly these.
pub fn docker_run_flags(limits: &RunLimits, runtime: Option<&str>) -> Vec<String> {
    let host = sandbox_host_config(limits, None, runtime);
    let mut flags: Vec<String> = Vec::new();
    let mut flag = |name: &str, value: String| {
        flags.push(format!("--{name}"));
        flags.push(value);
    };
    if let Some(runtime) = &host.runtime {
        flag("runtime", runtime.clone());
    }
    flag("network", host.network_mode.unwrap_or_default());
    flag("ipc", host.ipc_mode.unwrap_or_default());
    flag("shm-size", host.shm_size.unwrap_or_default().to_string());
    for (path, options) in host.tmpfs.unwrap_or_default() {
        flag("tmpfs", format!("{path}:{options}"));
    }
    for cap in host.cap_drop.unwrap_or_default() {
        flag("cap-drop", cap);
    }
    for option in host.security_opt.unwrap_or_default() {
        flag("security-opt", option);
    }
    flag("user", SANDBOX_USER.to_string());
    flag(
        "pids-limit",
        host.pids_limit.unwrap_or_default().to_string(),
    );
    for limit in host.ulimits.unwrap_or_default() {
        let (name, soft, hard) = (limit.name.unwrap_or_default(), limit.soft, limit.hard);
        flag(
            "ulimit",
            format!("{name}={}:{}", soft.unwrap_or(0), hard.unwrap_or(0)),
        );
    }
    flag("memory", host.memory.unwrap_or_default().to_string());
    flag(
        "memory-swap",
        host.memory_swap.unwrap_or_default().to_string(),
    );
    flag("cpus", limits.cpus.to_string());
    flag("cgroupns", "private".to_string());
    flag(
        "oom-score-adj",
        host.oom_score_adj.unwrap_or_default().to_string(),
    );
    flag("log-driver", "none".to_string());
    for variable in base_env() {
        flag("env", variable);
    }
    flags.push("--read-only".to_string());
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_flags_carry_every_control_of_the_api_config() {
        let limits = RunLimits {
            memory_mb: 300,
            pids: 77,
            tmpfs_mb: 9,
            cpus: 0.5,
            ..RunLimits::default()
        };
        let flags = docker_run_flags(&limits, Some("runsc")).join(" ");
        for expected in [
            "--runtime runsc",
            "--network none",
            "--ipc private",
            &format!("--shm-size {SHM_BYTES}"),
            "--tmpfs /tmp:rw,exec,nosuid,nodev,size=9m,mode=1777",
            "--cap-drop ALL",
            "--security-opt no-new-privileges",
            "--user 65534:65534",
            "--pids-limit 77",
            "--ulimit nofile=64:256",
            "--ulimit core=0:0",
            "--memory 314572800",
            "--memory-swap 314572800",
            "--cpus 0.5",
            "--cgroupns private",
            "--log-driver none",
            "--env HOME=/tmp",
            "--read-only",
        ] {
            assert!(
                flags.contains(expected),
                "{expected:?} missing from {flags}"
            );
        }
        assert!(!docker_run_flags(&limits, None)
            .join(" ")
            .contains("--runtime"));
    }
}
