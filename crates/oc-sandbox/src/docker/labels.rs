//! Labels on every sandbox container, and who owns a container: runs and terminal sessions are
//! labelled the same way, so one sweep finds what a crashed server of this node left behind,
//! whatever kind it was, and never touches another node's.

use std::collections::HashMap;

/// Label on every sandbox container (value `1`).
pub const SANDBOX_LABEL: &str = "opencoder.sandbox";
/// Label with the id of the [`super::DockerHost`] connection that created the container.
pub const INSTANCE_LABEL: &str = "opencoder.sandbox.instance";
/// Label naming the process that created the container: `<hostname>/<pid>/<start time>`.
pub const OWNER_LABEL: &str = "opencoder.sandbox.owner";
/// Label with the node id of the server that created the container ([`super::HostConfig::node_id`]).
pub const NODE_LABEL: &str = "opencoder.sandbox.node";
/// Label saying what the container is for ([`ContainerKind`]).
pub const KIND_LABEL: &str = "opencoder.sandbox.kind";

/// What a sandbox container serves. The run backend and the terminals share one engine
/// connection, so each only ever lists, sweeps and removes its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Run,
    Terminal,
}

impl ContainerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerKind::Run => "run",
            ContainerKind::Terminal => "terminal",
        }
    }
}

/// The labels every container of `kind` gets from this process on this node and connection.
pub(crate) fn base_labels(
    instance: &str,
    node_id: &str,
    kind: ContainerKind,
) -> HashMap<String, String> {
    HashMap::from([
        (SANDBOX_LABEL.to_string(), "1".to_string()),
        (INSTANCE_LABEL.to_string(), instance.to_string()),
        (OWNER_LABEL.to_string(), owner_id().to_string()),
        (NODE_LABEL.to_string(), node_id.to_string()),
        (KIND_LABEL.to_string(), kind.as_str().to_string()),
    ])
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

pub(crate) fn hostname() -> String {
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
/// container without a node label (older servers) counts as this node's only when its creator
/// was a process on this host.
pub(crate) fn is_leftover(labels: &HashMap<String, String>, node_id: &str) -> bool {
    let owner = labels
        .get(OWNER_LABEL)
        .map(String::as_str)
        .unwrap_or_default();
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
