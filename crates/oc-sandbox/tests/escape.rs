//! Attacks from inside a sandbox, after the container escapes of real CVEs, on real Docker and
//! under every runtime (runc, and gVisor's runsc, which `scripts/ensure-gvisor.sh` registers):
//!
//! - symlinks planted by one run (or in a terminal workspace) must never redirect a later write
//!   (Docker `put_archive` CVE-2018-15664; Judge0 CVE-2024-28185/28189): a run's files reach a
//!   single-use container through its own `tar -x` as the sandbox user, so a warm container that
//!   user code "prepared" is never served again, and nothing is written from the host side;
//! - no route to any host address, the bridge gateway, the metadata address or the Docker socket.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use common::*;
use futures_util::StreamExt;
use oc_sandbox::{
    DockerConfig, DockerHost, DockerTerminals, HostConfig, PoolConfig, SourceFile, TermSize,
    TerminalBackend, TerminalLimits,
};

/// The runtimes every attack is repeated under (`None`: the daemon's default, runc).
const RUNTIMES: [Option<&str>; 2] = [None, Some("runsc")];

async fn host_for(runtime: Option<&str>) -> DockerHost {
    require_docker().await;
    DockerHost::connect(HostConfig {
        runtime: runtime.map(str::to_string),
        call_timeout: Duration::from_secs(30),
        ..HostConfig::default()
    })
    .await
    .unwrap_or_else(|e| panic!("runtime {runtime:?}: {e} (run scripts/ensure-gvisor.sh)"))
}

async fn runtime_of(container: &str) -> String {
    let docker = Docker::connect_with_defaults().unwrap();
    let info = docker.inspect_container(container, None).await.unwrap();
    info.host_config.and_then(|h| h.runtime).unwrap_or_default()
}

/// Runs `cmd` in `container` as the sandbox user, returning stdout and stderr together.
async fn exec_in(container: &str, cmd: &str) -> String {
    let docker = Docker::connect_with_defaults().unwrap();
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(vec![
                    "/bin/sh".to_string(),
                    "-c".to_string(),
                    cmd.to_string(),
                ]),
                user: Some("65534:65534".to_string()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&exec.id, None).await.unwrap()
    else {
        panic!("exec did not attach");
    };
    let mut text = String::new();
    while let Some(Ok(chunk)) = output.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    text
}

/// A host path that must never come to exist (a write redirected to the host would create it).
fn host_canary() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "oc-escape-canary-{}",
        uuid::Uuid::new_v4().simple()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_planted_by_a_run_never_reach_the_next_run_from_the_pool() {
    for runtime in RUNTIMES {
        let canary = host_canary();
        let b = backend_on(
            host_for(runtime).await,
            DockerConfig {
                pool: PoolConfig {
                    sizes: BTreeMap::from([("python".to_string(), 1)]),
                    ..PoolConfig::default()
                },
                ..config()
            },
        )
        .await;
        let wait_ready = || async {
            let t = Instant::now();
            while b.pool_stats().languages.iter().all(|l| l.ready == 0) {
                assert!(
                    t.elapsed() < Duration::from_secs(60),
                    "the pool never filled ({runtime:?})"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        wait_ready().await;
        // The first run prepares its container for whoever comes next: its sources, the run
        // script or the pre-started interpreter's loader and fifo, a would-be build directory
        // and the whole source directory become links (to a host path and to places in the
        // container), plus a marker.
        let plant = format!(
            r#"import os, shutil
c = {canary:?}
open("/tmp/marker", "w").write("planted")
for p in ["/tmp/app/main.py", "/tmp/.oc/run.sh", "/tmp/.oc/loader.py", "/tmp/.oc/go"]:
    if os.path.lexists(p):
        os.remove(p)
    os.symlink(c, p)
shutil.rmtree("/tmp/.oc/build", ignore_errors=True)
os.symlink(c, "/tmp/.oc/build")
os.rename("/tmp/app", "/tmp/app-old"); os.symlink("/etc", "/tmp/app")
print("planted")
"#
        );
        let first = run(&b, spec("python", "main.py", &plant)).await;
        assert!(
            first.outcome.pooled,
            "{runtime:?}: the first run must come from the pool"
        );
        assert_eq!(
            first.stdout.trim(),
            "planted",
            "{runtime:?}: {}",
            first.all()
        );
        wait_ready().await;
        let check = r#"import os, sys
print("marker" if os.path.exists("/tmp/marker") else "fresh",
      "link" if os.path.islink("/tmp/app") or os.path.islink("/tmp/app/main.py") else "files",
      sys.stdin.read())
"#;
        let mut second = spec("python", "main.py", check);
        second.stdin = b"input".to_vec();
        let second = run(&b, second).await;
        assert!(
            second.outcome.pooled,
            "{runtime:?}: the second run must come from the pool"
        );
        assert_eq!(
            second.stdout.trim(),
            "fresh files input",
            "{runtime:?}: {}",
            second.all()
        );
        assert!(
            !canary.exists(),
            "{runtime:?}: a write reached the host through a planted link"
        );
        b.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_planted_in_a_terminal_workspace_never_redirect_a_file_sync() {
    for runtime in RUNTIMES {
        let canary = host_canary();
        let terminals = DockerTerminals::new(host_for(runtime).await, IMAGE.into(), None).unwrap();
        let limits = TerminalLimits::default();
        let (session, _events) = terminals
            .start(
                &limits,
                "escape-pad",
                &[SourceFile::new("main.py", "print(1)")],
                TermSize { cols: 80, rows: 24 },
            )
            .await
            .expect("terminal session");
        let container = session
            .container_id()
            .expect("a session container")
            .to_string();
        if let Some(expected) = runtime {
            assert_eq!(runtime_of(&container).await, expected);
        }
        // The user links the pad's files to a host path and to a file of their own.
        let planted = exec_in(
            &container,
            &format!(
                "cd /tmp/work && echo mine > /tmp/victim && ln -sf {} main.py && ln -sf /tmp/victim util.py && echo planted",
                canary.display()
            ),
        )
        .await;
        assert_eq!(planted.trim(), "planted", "{runtime:?}");
        session
            .sync_files(&[
                SourceFile::new("main.py", "print(2)"),
                SourceFile::new("util.py", "X = 1"),
            ])
            .await
            .expect("sync files");
        let after = exec_in(
            &container,
            "cd /tmp/work && for f in main.py util.py; do [ -L $f ] && echo link || { cat $f; echo; }; done; cat /tmp/victim",
        )
        .await;
        assert_eq!(
            after.lines().collect::<Vec<_>>(),
            vec!["print(2)", "X = 1", "mine"],
            "{runtime:?}: {after}"
        );
        assert!(
            !canary.exists(),
            "{runtime:?}: a write reached the host through a planted link"
        );
        session.close().await;
    }
}

/// Every IPv4 address of this machine (where the server, PostgreSQL, Redis and the Docker API
/// would listen) plus the bridge gateway and the cloud metadata address.
fn targets(port: u16) -> Vec<String> {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .expect("hostname -I");
    let mut addrs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|a| !a.contains(':'))
        .map(str::to_string)
        .collect();
    assert!(
        !addrs.is_empty(),
        "this machine has no IPv4 address to attack"
    );
    addrs.extend([
        "172.17.0.1".to_string(),
        "169.254.169.254".to_string(),
        "10.0.2.2".to_string(),
    ]);
    let ports = [port, 80, 2375, 2376, 5432, 6379];
    addrs
        .iter()
        .flat_map(|a| ports.iter().map(move |p| format!("{a}:{p}")))
        .collect()
}

/// A Python probe: tries every `host:port` and the Docker socket, prints what it reached.
fn probe(targets: &[String]) -> String {
    format!(
        r#"import socket, os
reached = []
for t in {targets:?}:
    h, p = t.rsplit(":", 1)
    s = socket.socket(); s.settimeout(1)
    try:
        s.connect((h, int(p))); reached.append(t)
    except OSError:
        pass
    finally:
        s.close()
for path in ["/var/run/docker.sock", "/run/docker.sock"]:
    try:
        u = socket.socket(socket.AF_UNIX); u.connect(path); reached.append(path)
    except OSError:
        pass
print("ifaces", sorted(os.listdir("/sys/class/net")))
print("reached", reached)
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_out_of_a_run_or_a_terminal() {
    // A listener on every address of this machine, like the server's port: it must stay
    // unreachable.
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let targets = targets(port);
    // The probe itself must be able to see a reachable port: from the host it does.
    let seen_from_host =
        std::net::TcpStream::connect_timeout(&targets[0].parse().unwrap(), Duration::from_secs(1));
    assert!(
        seen_from_host.is_ok(),
        "the listener is not reachable even from the host"
    );
    let code = probe(&targets);
    for runtime in RUNTIMES {
        let b = backend_on(host_for(runtime).await, config()).await;
        let ran = run(&b, spec("python", "main.py", &code)).await;
        assert!(
            ran.stdout.contains("reached []"),
            "{runtime:?}: a run reached out: {}",
            ran.all()
        );
        assert!(
            ran.stdout.contains("ifaces ['lo']"),
            "{runtime:?}: {}",
            ran.all()
        );
        b.shutdown().await;

        let terminals = DockerTerminals::new(host_for(runtime).await, IMAGE.into(), None).unwrap();
        let (session, _events) = terminals
            .start(
                &TerminalLimits::default(),
                "escape-net",
                &[SourceFile::new("probe.py", code.clone())],
                TermSize { cols: 80, rows: 24 },
            )
            .await
            .expect("terminal session");
        let container = session.container_id().unwrap().to_string();
        let out = exec_in(
            &container,
            "cd /tmp/work && python3 probe.py; env; tr '\\0' '\\n' < /proc/1/environ",
        )
        .await;
        assert!(
            out.contains("reached []"),
            "{runtime:?}: a terminal reached out: {out}"
        );
        assert!(
            !out.contains("DOCKER_HOST") && !out.contains("JWT_SECRET"),
            "{runtime:?}: {out}"
        );
        session.close().await;
    }
    drop(listener);
}
