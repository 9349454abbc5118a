//! Docker sandboxes (bollard): one engine connection ([`DockerHost`]) shared by the run backend
//! ([`DockerBackend`]) and terminal sessions (`crate::terminal::DockerTerminals`).
//!
//! - `client`    — the engine's client (how it connects) and how its failures are classified
//! - `health`    — what is known of a daemon's reachability (up, why, settling after a return)
//! - `host`      — the engine: version negotiation, health checks, images, create/remove, sweep
//! - `tls`       — `tcp://` engines over TLS with client certificates (the Docker convention)
//! - `labels`    — the labels on every sandbox container and who owns one
//! - `lockdown`  — the controls every sandbox container gets (network, root, users, limits, env)
//! - `container` — a run container: its create body, and the guard that always removes it
//! - `attach`    — driving one run over the attach stream (input tar, frames, output, deadlines)
//! - `backend`   — the run backend: pool, compile cache, retries, outcome

pub mod advisories;
mod attach;
pub(crate) mod backend;
pub(crate) mod client;
mod container;
mod health;
pub(crate) mod host;
pub(crate) mod labels;
pub(crate) mod lockdown;
pub mod tls;

pub use backend::{DockerBackend, DockerConfig};
pub use host::{
    DockerHost, HostConfig, DOWN_RECHECK, HEALTH_CHECK_TIMEOUT, IMAGE_ID_TTL, REMOVE_ATTEMPTS,
    REMOVE_RETRY_PAUSE, RENEGOTIATE_AFTER,
};
pub use labels::{
    ContainerKind, INSTANCE_LABEL, KIND_LABEL, NODE_LABEL, OWNER_LABEL, SANDBOX_LABEL,
};
pub use lockdown::{docker_run_flags, DEFAULT_IMAGE, SHM_BYTES};
