//! Shared helpers of the Docker integration tests. They need a running Docker engine and the
//! runner image; when either is missing they FAIL (never skip) with instructions.
#![allow(dead_code)]

pub mod lockdown;

use std::time::Duration;

use bollard::Docker;
use oc_sandbox::{
    DockerBackend, DockerConfig, DockerHost, HostConfig, Outcome, OutputChunk, RunLimits, RunSpec,
    SandboxBackend, SandboxError, SourceFile, Stream,
};
use tokio::sync::mpsc;

pub const IMAGE: &str = "opencoder-runner:latest";

/// Panics (fails the test) unless the Docker daemon answers and the runner image exists.
pub async fn require_docker() {
    // Wait while another process restarts the daemon (tests/daemon_restart.rs), then keep it
    // from doing so until this test process exits.
    tokio::task::spawn_blocking(oc_sandbox::testing::hold_shared_docker_lock)
        .await
        .unwrap();
    let hint = "run scripts/ensure-docker.sh and then scripts/build-runner-image.sh (from the repository root)";
    let docker = match Docker::connect_with_defaults() {
        Ok(d) => d,
        Err(e) => panic!("cannot create a Docker client ({e}): {hint}"),
    };
    match tokio::time::timeout(Duration::from_secs(10), docker.ping()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => panic!("the Docker daemon is not reachable ({e}): {hint}"),
        Err(_) => panic!("the Docker daemon did not answer within 10s: {hint}"),
    }
    let docker = docker
        .negotiate_version()
        .await
        .expect("docker API version negotiation");
    if let Err(e) = docker.inspect_image(IMAGE).await {
        panic!("the sandbox image {IMAGE} is missing ({e}): {hint}");
    }
}

pub fn config() -> DockerConfig {
    DockerConfig {
        image: IMAGE.into(),
        ..DockerConfig::default()
    }
}

/// A fresh connection to the default engine (its own instance id and counters).
pub async fn host_with(cfg: HostConfig) -> DockerHost {
    DockerHost::connect(cfg).await.expect("docker host")
}

pub async fn host() -> DockerHost {
    host_with(HostConfig::default()).await
}

pub async fn backend() -> DockerBackend {
    backend_with(config()).await
}

pub async fn backend_with(cfg: DockerConfig) -> DockerBackend {
    require_docker().await;
    backend_on(host().await, cfg).await
}

pub async fn backend_on(host: DockerHost, cfg: DockerConfig) -> DockerBackend {
    let b = DockerBackend::new(host, cfg).await.expect("docker backend");
    // The first health check ran in new(); make sure it saw the daemon.
    let h = b.health().await;
    assert!(h.available, "docker backend not available: {}", h.detail);
    b
}

/// The collected result of one run.
#[derive(Debug)]
pub struct Ran {
    pub outcome: Outcome,
    pub stdout: String,
    pub stderr: String,
    pub chunks: usize,
    pub max_chunk: usize,
}

impl Ran {
    pub fn all(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}\n--- outcome ---\n{:?}",
            self.stdout, self.stderr, self.outcome
        )
    }
}

pub async fn try_run(b: &dyn SandboxBackend, spec: RunSpec) -> Result<Ran, SandboxError> {
    let (tx, mut rx) = mpsc::channel::<OutputChunk>(64);
    let collector = tokio::spawn(async move {
        let (mut out, mut err, mut n, mut max) = (Vec::new(), Vec::new(), 0usize, 0usize);
        while let Some(c) = rx.recv().await {
            n += 1;
            max = max.max(c.data.len());
            match c.stream {
                Stream::Stdout => out.extend_from_slice(&c.data),
                Stream::Stderr => err.extend_from_slice(&c.data),
            }
        }
        (out, err, n, max)
    });
    let res = tokio::time::timeout(Duration::from_secs(120), b.run(spec, tx))
        .await
        .expect("run did not finish in 120s");
    let (out, err, chunks, max_chunk) = collector.await.unwrap();
    res.map(|outcome| Ran {
        outcome,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
        chunks,
        max_chunk,
    })
}

pub async fn run(b: &dyn SandboxBackend, spec: RunSpec) -> Ran {
    try_run(b, spec).await.expect("run failed")
}

pub fn spec(language: &str, name: &str, code: &str) -> RunSpec {
    RunSpec::single(language, name, code.as_bytes().to_vec())
}

pub fn spec_files(language: &str, files: &[(&str, &str)], stdin: &str) -> RunSpec {
    RunSpec {
        language: language.into(),
        files: files
            .iter()
            .map(|(n, c)| SourceFile::new(*n, c.as_bytes().to_vec()))
            .collect(),
        entry: None,
        stdin: stdin.as_bytes().to_vec(),
        live_stdin: None,
        repl: false,
        limits: RunLimits::default(),
    }
}

/// A shell program (run through python so it works with the stock table: `python3 -c`).
pub fn sh(script: &str) -> RunSpec {
    let py = format!("import subprocess, sys\nr = subprocess.run(['/bin/sh', '-c', {script:?}])\nsys.exit(r.returncode)\n");
    spec("python", "main.py", &py)
}
