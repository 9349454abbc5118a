//! Latency of a python hello-world: warm pool vs cold container vs a plain `docker run --rm`.
//! Not a pass/fail test (timing on a shared 2-core machine is noisy), so it is ignored by
//! default. Run with:
//!   cargo test -p oc-sandbox --test latency -- --ignored --nocapture

mod common;

use std::time::{Duration, Instant};

use common::*;
use oc_sandbox::{parse_pool_spec, PoolConfig};

const N: usize = 20;

fn p50(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fmt(v: &[Duration]) -> String {
    let mut s = v.to_vec();
    s.sort();
    format!(
        "p50 {:?}  min {:?}  max {:?}",
        p50(s.clone()),
        s[0],
        s[s.len() - 1]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn python_hello_latency() {
    // Cold: no pool.
    let b = backend().await;
    run(&b, spec("python", "main.py", "print('warm-up')")).await;
    let mut cold = Vec::new();
    for _ in 0..N {
        let t = Instant::now();
        let r = run(&b, spec("python", "main.py", "print('hello')")).await;
        cold.push(t.elapsed());
        assert_eq!(r.stdout, "hello\n");
        assert!(!r.outcome.pooled);
        b.settle(Duration::from_secs(30)).await;
    }
    b.shutdown().await;

    // Warm: pool of 1, wait for the refill between runs so every run is a hit.
    let mut cfg = config();
    cfg.pool = PoolConfig {
        sizes: parse_pool_spec("python=1").unwrap(),
        ..PoolConfig::default()
    };
    let b = backend_with(cfg).await;
    let mut warm = Vec::new();
    for _ in 0..N {
        let deadline = Instant::now() + Duration::from_secs(60);
        while b.pool_stats().languages[0].ready < 1 {
            assert!(Instant::now() < deadline, "pool did not refill");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        b.settle(Duration::from_secs(30)).await;
        let t = Instant::now();
        let r = run(&b, spec("python", "main.py", "print('hello')")).await;
        warm.push(t.elapsed());
        assert_eq!(r.stdout, "hello\n");
        assert!(r.outcome.pooled);
    }
    b.shutdown().await;

    // Plain docker CLI with the same flags, for comparison.
    let mut plain = Vec::new();
    for _ in 0..N {
        let t = Instant::now();
        let out = tokio::process::Command::new("docker")
            .args([
                "run",
                "--rm",
                "-i",
                "--network",
                "none",
                "--ipc",
                "private",
                "--read-only",
                "--tmpfs",
                "/tmp:rw,exec,nosuid,nodev,size=128m,mode=1777",
                "--cap-drop",
                "ALL",
                "--security-opt",
                "no-new-privileges",
                "--user",
                "65534:65534",
                "--pids-limit",
                "256",
                "--ulimit",
                "nofile=64:64",
                "--memory",
                "512m",
                "--memory-swap",
                "512m",
                "--cpus",
                "1",
                "--log-driver",
                "none",
                IMAGE,
                "python3",
                "-c",
                "print('hello')",
            ])
            .output()
            .await
            .unwrap();
        plain.push(t.elapsed());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    }

    println!("python hello world, {N} runs each:");
    println!("  warm pool (oc-sandbox):  {}", fmt(&warm));
    println!("  cold (oc-sandbox):       {}", fmt(&cold));
    println!("  docker run --rm (CLI):   {}", fmt(&plain));
}
