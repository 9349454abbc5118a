//! The Docker daemon goes away and comes back: runs fail fast with `Unavailable` meanwhile, and
//! the warm pool rebuilds itself afterwards.
//!
//! This test STOPS THE DOCKER DAEMON of this machine (SIGTERM to dockerd, then
//! `scripts/ensure-docker.sh` starts it again). It lives alone in this test binary so nothing
//! else of this crate runs at the same time (`cargo test` runs test binaries one after another).
//! Other test processes that use Docker hold a shared lock
//! (`oc_sandbox::testing::hold_shared_docker_lock`); this test takes the exclusive lock first,
//! so it waits for them to finish (and they wait for it). Docker users that don't take the lock
//! will see the daemon disappear for a few seconds.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use oc_sandbox::{parse_pool_spec, DockerBackend, PoolConfig, SandboxBackend, SandboxError};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ensure-docker.sh")
}

fn dockerd_pid() -> i32 {
    let pid = std::fs::read_to_string("/var/run/docker.pid").expect(
        "this test needs a local dockerd with /var/run/docker.pid (DOCKER_HOST must be unset)",
    );
    pid.trim().parse().expect("pid")
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

async fn wait_pool_ready(b: &DockerBackend, n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while b.pool_stats().languages[0].ready < n {
        assert!(
            Instant::now() < deadline,
            "pool did not rebuild: {:?}",
            b.pool_stats()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn ensure_docker() {
    let out = tokio::process::Command::new("bash")
        .arg(script())
        .output()
        .await
        .expect("run ensure-docker.sh");
    assert!(
        out.status.success(),
        "ensure-docker.sh failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_recovers_after_daemon_restart() {
    assert!(
        std::env::var_os("DOCKER_HOST").is_none(),
        "this test restarts the local daemon; unset DOCKER_HOST"
    );
    let _exclusive = tokio::task::spawn_blocking(oc_sandbox::testing::exclusive_docker_lock)
        .await
        .unwrap()
        .expect("docker test lock");
    let mut cfg = config();
    cfg.pool = PoolConfig {
        sizes: parse_pool_spec("python=1").unwrap(),
        health_interval: Duration::from_millis(500),
        max_backoff: Duration::from_secs(2),
        ..PoolConfig::default()
    };
    let host = host_with(oc_sandbox::HostConfig {
        call_timeout: Duration::from_secs(20),
        ..oc_sandbox::HostConfig::default()
    })
    .await;
    let b = DockerBackend::new(host, cfg).await.expect("docker backend");
    assert!(
        b.health().await.available,
        "docker is not reachable: run scripts/ensure-docker.sh and scripts/build-runner-image.sh"
    );
    wait_pool_ready(&b, 1, Duration::from_secs(60)).await;
    let r = run(&b, spec("python", "main.py", "print('before')")).await;
    assert!(r.outcome.pooled);
    wait_pool_ready(&b, 1, Duration::from_secs(60)).await;
    b.settle(Duration::from_secs(10)).await;

    // Stop the daemon.
    let pid = dockerd_pid();
    // SAFETY: plain signal to the daemon's pid.
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGTERM) },
        0,
        "cannot signal dockerd (need root)"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while alive(pid) {
        assert!(Instant::now() < deadline, "dockerd did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Runs fail fast while it is away.
    for _ in 0..3 {
        let t = Instant::now();
        match try_run(&b, spec("python", "main.py", "print(1)")).await {
            Err(SandboxError::Unavailable(m)) => assert!(!m.is_empty()),
            other => panic!("expected Unavailable, got {other:?}"),
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "failing took {:?}",
            t.elapsed()
        );
    }
    let h = b.health().await;
    assert!(!h.available, "{h:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        b.pool_stats().languages[0].ready,
        0,
        "dead containers still counted as ready"
    );

    // Bring it back; the pool rebuilds by itself.
    ensure_docker().await;
    wait_pool_ready(&b, 1, Duration::from_secs(120)).await;
    assert!(b.health().await.available);
    let r = run(&b, spec("python", "main.py", "print('after')")).await;
    assert_eq!(r.stdout, "after\n", "{}", r.all());
    assert!(
        r.outcome.pooled,
        "run after recovery should use the rebuilt pool"
    );

    // Nothing of ours left but the one fresh pool container.
    wait_pool_ready(&b, 1, Duration::from_secs(60)).await;
    b.settle(Duration::from_secs(30)).await;
    let mine = b.own_containers().await.unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    b.shutdown().await;
    assert!(b.own_containers().await.unwrap().is_empty());
}
