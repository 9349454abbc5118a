//! Several Docker engines (`EXEC_DOCKER_HOSTS`): each host has its own run backend (warm pool,
//! compile cache) and terminal backend on its own [`DockerHost`], and a capacity.
//!
//! Placement: a run goes to the healthy host that has the run's image and the most free capacity
//! (capacity minus the runs placed there and not finished, and its terminal sessions); when every such host is full it still goes to the one
//! with the most room left (the server's admission queue bounds the total). A terminal session
//! is placed the same way, stays on its host for its life and counts in its load meanwhile.
//!
//! A host that goes down: runs already there fail fast with [`SandboxError::HostUnavailable`]
//! (its backend sees the broken stream and the failed health check), new runs go to the others,
//! and the host rejoins by itself once its health check passes again (its backend's supervisor
//! keeps probing, and placement re-checks a down host at most every `DOWN_RECHECK`). A run whose
//! host fails before its container received its input (found down at the start, or creating,
//! starting or attaching its container failed) is placed again on another host, at most once:
//! nothing of it ran. Once the container may have its input, the run is never moved (user code
//! must not run twice). A terminal session whose host goes down while it is being set up is
//! placed again the same way (nobody has typed into it yet).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::docker::{DockerBackend, DockerHost};
use crate::terminal::{
    DockerTerminals, TermSize, TerminalBackend, TerminalEvent, TerminalLimits, TerminalSession,
};
use crate::{
    BackendHealth, BackendKind, HostHealth, Outcome, OutputChunk, RunSpec, SandboxBackend,
    SandboxError, SourceFile,
};

/// How a host without a configured address (`DOCKER_HOST`, else the local socket) is named.
pub const DEFAULT_ADDRESS: &str = "default";
/// Largest capacity one host may be given.
pub const MAX_HOST_CAPACITY: usize = 1024;
/// Largest number of hosts in `EXEC_DOCKER_HOSTS`.
pub const MAX_HOSTS: usize = 64;
/// Outcome label (`opencoder_exec_host_runs_total`) of a run its host lost before it started,
/// counted there before the run was placed again on another host.
pub const REPLACED: &str = "replaced";

/// One entry of `EXEC_DOCKER_HOSTS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSpec {
    /// `unix:///path` or `tcp://host:port`.
    pub address: String,
    /// Runs this host takes at once before others are preferred.
    pub capacity: usize,
    /// Certificate directory of a `tcp://` host reached over TLS (`;tls=DIR` in the entry).
    pub tls_dir: Option<PathBuf>,
}

/// Parses `address=capacity[;tls=DIR],…` (whitespace allowed; empty = none). Addresses are
/// `unix:///path` and `tcp://host:port`; a `tcp://` entry may name the directory of its TLS
/// certificates (`ca.pem`, `cert.pem`, `key.pem`: see [`crate::docker::tls`]).
pub fn parse_hosts_spec(spec: &str) -> Result<Vec<HostSpec>, String> {
    let mut out: Vec<HostSpec> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut fields = part.split(';').map(str::trim);
        let head = fields.next().unwrap_or_default();
        let (address, capacity) = head
            .rsplit_once('=')
            .ok_or_else(|| format!("host entry {part:?} is not address=capacity"))?;
        let address = address.trim().trim_end_matches('/').to_string();
        let tcp = address.starts_with("tcp://");
        if !(address.starts_with("unix:///") || tcp) {
            return Err(format!(
                "host {address:?}: only unix:///path and tcp://host:port are supported"
            ));
        }
        let capacity: usize = capacity
            .trim()
            .parse()
            .map_err(|_| format!("host entry {part:?}: bad capacity"))?;
        if capacity == 0 || capacity > MAX_HOST_CAPACITY {
            return Err(format!(
                "host entry {part:?}: capacity must be 1 to {MAX_HOST_CAPACITY}"
            ));
        }
        let mut tls_dir = None;
        for field in fields {
            match field.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("tls", dir)) if tcp && !dir.is_empty() && tls_dir.is_none() => {
                    tls_dir = Some(PathBuf::from(dir))
                }
                Some(("tls", _)) if !tcp => {
                    return Err(format!("host {address:?}: tls= is for tcp:// hosts"))
                }
                _ => {
                    return Err(format!(
                        "host entry {part:?}: unknown option {field:?} (only tls=DIR)"
                    ))
                }
            }
        }
        if out.iter().any(|h| h.address == address) {
            return Err(format!("host {address:?} is listed twice"));
        }
        out.push(HostSpec {
            address,
            capacity,
            tls_dir,
        });
    }
    if out.len() > MAX_HOSTS {
        return Err(format!("at most {MAX_HOSTS} hosts"));
    }
    Ok(out)
}

/// The host part of a `tcp://host:port` address (brackets of an IPv6 address removed, any
/// `user@` dropped); `None` for other schemes.
pub fn tcp_host(address: &str) -> Option<&str> {
    let rest = address.strip_prefix("tcp://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    Some(match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    })
}

/// Whether a plain `tcp://` address only reaches this machine (a loopback IP or `localhost`):
/// anything else without TLS hands the engine, root on its host, to anyone on the network.
pub fn is_loopback_tcp(address: &str) -> bool {
    tcp_host(address).is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// An address as shown in health reports, logs and metrics: any `user:password@` removed.
pub fn display_address(address: &str) -> String {
    match address.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://{host}"),
            None => address.to_string(),
        },
        None => address.to_string(),
    }
}

/// One host of the set.
#[derive(Debug, Clone)]
pub struct HostMember {
    pub runs: DockerBackend,
    pub terminals: DockerTerminals,
    pub capacity: usize,
}

/// Runs and terminal sessions over several hosts (see the module docs). Cheap to clone.
#[derive(Debug, Clone)]
pub struct HostSet {
    members: Arc<Vec<HostMember>>,
    /// Runs placed on each member and not finished yet (its load).
    placed: Arc<Vec<AtomicUsize>>,
    /// Held while one placement compares loads and takes its place: without it two runs could
    /// both see the same free place and both take it.
    choosing: Arc<std::sync::Mutex<()>>,
}

/// A place on a member (a run's, or a terminal session's for its life), given back when dropped.
struct Placement {
    /// The member's index in the set.
    index: usize,
    placed: Arc<Vec<AtomicUsize>>,
}

impl Drop for Placement {
    fn drop(&mut self) {
        self.placed[self.index].fetch_sub(1, Ordering::SeqCst);
    }
}

impl HostSet {
    pub fn new(members: Vec<HostMember>) -> Result<HostSet, SandboxError> {
        if members.is_empty() {
            return Err(SandboxError::InvalidRequest(
                "a host set needs at least one host".into(),
            ));
        }
        let placed = Arc::new(members.iter().map(|_| AtomicUsize::new(0)).collect());
        Ok(HostSet {
            members: Arc::new(members),
            placed,
            choosing: Arc::default(),
        })
    }

    pub fn members(&self) -> &[HostMember] {
        &self.members
    }

    /// Runs placed on each member and not finished yet.
    pub fn loads(&self) -> Vec<usize> {
        self.placed
            .iter()
            .map(|n| n.load(Ordering::SeqCst))
            .collect()
    }

    /// A place on the healthy member with `image` and the most free capacity, or why there is
    /// none. The choice and the reservation happen together, so concurrent runs spread.
    /// `lost`: a member that already failed this run (it is not chosen again).
    async fn place(
        &self,
        image_of: impl Fn(&HostMember) -> String,
        lost: Option<usize>,
    ) -> Result<Placement, SandboxError> {
        let mut eligible = Vec::new();
        let mut refusals = Vec::new();
        for (i, member) in self.members.iter().enumerate() {
            let host = member.runs.host();
            let name = member.address();
            if lost == Some(i) {
                refusals.push(format!("{name}: failed as this was starting there"));
                continue;
            }
            if let Err(e) = host.ensure_up().await {
                refusals.push(format!("{name}: {e}"));
                continue;
            }
            if let Err(e) = host.image_id(&image_of(member)).await {
                refusals.push(format!("{name}: {e}"));
                continue;
            }
            eligible.push(i);
        }
        // A place given back meanwhile only makes the comparison conservative, so `Drop` does not
        // take this lock.
        let _choosing = self
            .choosing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let free = |i: usize| {
            self.members[i].capacity as i64 - self.placed[i].load(Ordering::SeqCst) as i64
        };
        // Ties go to the first listed host (`max_by_key` keeps the last maximum, hence `rev`).
        let best = eligible
            .into_iter()
            .rev()
            .max_by_key(|&i| free(i))
            .ok_or_else(|| {
                SandboxError::Unavailable(format!(
                    "no Docker host can take it: {}",
                    refusals.join("; ")
                ))
            })?;
        self.placed[best].fetch_add(1, Ordering::SeqCst);
        Ok(Placement {
            index: best,
            placed: self.placed.clone(),
        })
    }
}

impl HostMember {
    /// The host's address without credentials.
    pub fn address(&self) -> String {
        display_address(self.runs.host().address().unwrap_or(DEFAULT_ADDRESS))
    }
}

/// What its host's failure makes of a run's error.
fn host_error(member: &HostMember, err: SandboxError) -> SandboxError {
    match err {
        SandboxError::Unavailable(why) => {
            SandboxError::HostUnavailable(format!("{}: {why}", member.address()))
        }
        other => other,
    }
}

#[async_trait]
impl SandboxBackend for HostSet {
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
        let languages = self.members[0].runs.languages().clone();
        let lang = languages.get(&spec.language).cloned();
        let mut lost = None;
        loop {
            let placement = match &lang {
                Some(lang) => Some(
                    self.place(|m| m.runs.image_for(lang).to_string(), lost)
                        .await?,
                ),
                // The first host reports the unknown language like a single host would.
                None => None,
            };
            let index = placement.as_ref().map_or(0, |p| p.index);
            let member = &self.members[index];
            let result = member
                .runs
                .run_here(&mut spec, output.clone(), started)
                .await;
            let label = match &result {
                // Lost before it started: placed again on another host, at most once.
                Err(failure) if failure.before_start && lost.is_none() => {
                    tracing::warn!(
                        host = %member.address(),
                        error = %failure.error,
                        "the run's Docker host failed before the run started; placing it again"
                    );
                    member
                        .runs
                        .metrics()
                        .record_host_run(&member.address(), REPLACED);
                    lost = Some(index);
                    continue;
                }
                Ok(outcome) => outcome.label(),
                Err(failure) => match &failure.error {
                    SandboxError::Unavailable(_) => "host_unavailable",
                    err => err.label(),
                },
            };
            member
                .runs
                .metrics()
                .record_host_run(&member.address(), label);
            let result = result.map_err(|failure| host_error(member, failure.error));
            member.runs.record(&spec.language, &result, started);
            return result;
        }
    }

    async fn health(&self) -> BackendHealth {
        let mut hosts = Vec::new();
        let mut first = None;
        for (member, load) in self.members.iter().zip(self.loads()) {
            let health = member.runs.health().await;
            let capacity = Some(member.capacity);
            hosts.extend(health.hosts.iter().cloned().map(|h| HostHealth {
                capacity,
                load,
                ..h
            }));
            first.get_or_insert(health);
        }
        let up = hosts.iter().filter(|h| h.available).count();
        let first = first.expect("a host set has a host");
        BackendHealth {
            kind: BackendKind::Docker,
            available: up > 0,
            detail: format!("{up} of {} Docker hosts available", hosts.len()),
            isolated: true,
            pool: None,
            cache: first.cache,
            hosts,
        }
    }

    async fn shutdown(&self) {
        for member in self.members.iter() {
            member.runs.shutdown().await;
        }
    }
}

#[async_trait]
impl TerminalBackend for HostSet {
    fn kind(&self) -> BackendKind {
        BackendKind::Docker
    }

    async fn check(&self) -> Result<(), SandboxError> {
        let mut refusals = Vec::new();
        for member in self.members.iter() {
            match member.terminals.check().await {
                Ok(()) => return Ok(()),
                Err(e) => refusals.push(format!("{}: {e}", member.address())),
            }
        }
        Err(SandboxError::Unavailable(refusals.join("; ")))
    }

    async fn start(
        &self,
        limits: &TerminalLimits,
        key: &str,
        files: &[SourceFile],
        size: TermSize,
    ) -> Result<(TerminalSession, mpsc::Receiver<TerminalEvent>), SandboxError> {
        let mut lost = None;
        loop {
            let placement = self
                .place(|m| m.terminals.image().to_string(), lost)
                .await?;
            let member = &self.members[placement.index];
            match member.terminals.start(limits, key, files, size).await {
                // The session counts in its host's load for its life.
                Ok((session, events)) => return Ok((session.holding(Box::new(placement)), events)),
                // Its host went down while the session was being set up: nobody has typed
                // anything yet, so another host may take it (once).
                Err(SandboxError::Unavailable(why))
                    if lost.is_none() && !member.runs.host().is_up() =>
                {
                    tracing::warn!(
                        host = %member.address(),
                        error = %why,
                        "the terminal's Docker host failed while it started; placing it again"
                    );
                    lost = Some(placement.index);
                }
                Err(err) => return Err(host_error(member, err)),
            }
        }
    }

    async fn containers(&self, key: Option<&str>) -> Result<Vec<String>, SandboxError> {
        let mut all = Vec::new();
        for member in self.members.iter() {
            all.extend(member.terminals.containers(key).await?);
        }
        Ok(all)
    }

    async fn remove_all(&self) -> Result<usize, SandboxError> {
        let mut n = 0;
        for member in self.members.iter() {
            match member.terminals.remove_all().await {
                Ok(removed) => n += removed,
                Err(e) => {
                    tracing::warn!(host = %member.address(), error = %e, "could not remove terminal containers")
                }
            }
        }
        Ok(n)
    }

    fn hosts(&self) -> Vec<&DockerHost> {
        self.members.iter().map(|m| m.runs.host()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let hosts =
            parse_hosts_spec(" unix:///var/run/docker.sock=8, unix:///run/oc-docker2.sock = 4 ,,")
                .unwrap();
        assert_eq!(
            hosts,
            vec![
                HostSpec {
                    address: "unix:///var/run/docker.sock".into(),
                    capacity: 8,
                    tls_dir: None,
                },
                HostSpec {
                    address: "unix:///run/oc-docker2.sock".into(),
                    capacity: 4,
                    tls_dir: None,
                },
            ]
        );
        assert_eq!(
            parse_hosts_spec("tcp://10.0.0.2:2375=2").unwrap()[0].capacity,
            2
        );
        assert_eq!(
            parse_hosts_spec("tcp://10.0.0.2:2376=2 ; tls=/etc/oc/b ,tcp://10.0.0.3:2376=1")
                .unwrap(),
            vec![
                HostSpec {
                    address: "tcp://10.0.0.2:2376".into(),
                    capacity: 2,
                    tls_dir: Some("/etc/oc/b".into()),
                },
                HostSpec {
                    address: "tcp://10.0.0.3:2376".into(),
                    capacity: 1,
                    tls_dir: None,
                },
            ]
        );
        assert!(parse_hosts_spec("").unwrap().is_empty());
        for bad in [
            "unix:///a",
            "unix:///a=0",
            "unix:///a=1025",
            "unix:///a=x",
            "ssh://me@box=2",
            "https://box=2",
            "/var/run/docker.sock=2",
            "unix:///a=1,unix:///a=2",
            "unix:///a=1;tls=/d",
            "tcp://h:1=1;tls=",
            "tcp://h:1=1;tls=/a;tls=/b",
            "tcp://h:1=1;verify=no",
        ] {
            assert!(parse_hosts_spec(bad).is_err(), "{bad:?} accepted");
        }
        let many: Vec<String> = (0..=MAX_HOSTS).map(|i| format!("unix:///s{i}=1")).collect();
        assert!(parse_hosts_spec(&many.join(",")).is_err());
    }

    #[test]
    fn loopback_tcp() {
        for near in [
            "tcp://127.0.0.1:2375",
            "tcp://127.8.0.1:2375",
            "tcp://localhost:2375",
            "tcp://[::1]:2375",
            "tcp://LOCALHOST",
        ] {
            assert!(is_loopback_tcp(near), "{near}");
        }
        for far in [
            "tcp://10.0.0.2:2375",
            "tcp://docker.example:2375",
            "tcp://[::2]:2375",
            "tcp://127.0.0.1.example:2375",
            "tcp://localhost.example:2375",
            "unix:///var/run/docker.sock",
        ] {
            assert!(!is_loopback_tcp(far), "{far}");
        }
    }

    #[test]
    fn addresses_lose_credentials() {
        assert_eq!(
            display_address("tcp://user:secret@10.0.0.2:2375"),
            "tcp://10.0.0.2:2375"
        );
        assert_eq!(
            display_address("unix:///run/oc-docker2.sock"),
            "unix:///run/oc-docker2.sock"
        );
    }
}
