//! Warm pool: hits are used once and never reused, the pool refills, mismatching limits go
//! cold, shutdown removes everything. Needs Docker + the runner image.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use oc_sandbox::{parse_pool_spec, DockerBackend, PoolConfig};

async fn wait_ready(b: &DockerBackend, lang: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let st = b.pool_stats();
        let l = st
            .languages
            .iter()
            .find(|l| l.language == lang)
            .expect("language in pool");
        if l.ready >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pool did not reach {n} ready {lang} containers: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_hits_are_single_use_and_refilled() {
    let mut cfg = config();
    cfg.pool = PoolConfig {
        sizes: parse_pool_spec("python=2, c=1").unwrap(),
        ..PoolConfig::default()
    };
    let b = backend_with(cfg).await;
    wait_ready(&b, "python", 2).await;
    wait_ready(&b, "c", 1).await;
    b.settle(Duration::from_secs(10)).await;
    let before: HashSet<String> = b.own_containers().await.unwrap().into_iter().collect();
    assert_eq!(before.len(), 3);

    // Each run leaves a marker in /tmp and checks none is there: a reused container would see it.
    let probe = "import os\nseen = os.path.exists('/tmp/marker')\nopen('/tmp/marker', 'w').write('x')\nprint('SEEN' if seen else 'FRESH')\n";
    let r = run(&b, spec("python", "main.py", probe)).await;
    assert!(r.outcome.pooled, "first run should be a pool hit");
    assert_eq!(r.stdout, "FRESH\n");
    let r = run(&b, spec("python", "main.py", probe)).await;
    assert!(r.outcome.pooled, "second run should be a pool hit");
    assert_eq!(r.stdout, "FRESH\n");
    let r = run(
        &b,
        spec(
            "c",
            "main.c",
            "#include <stdio.h>\nint main(void){puts(\"pooled c\");return 0;}\n",
        ),
    )
    .await;
    assert!(r.outcome.pooled);
    assert_eq!(r.stdout, "pooled c\n");

    // The used containers are gone; the pool refilled with new ones.
    wait_ready(&b, "python", 2).await;
    wait_ready(&b, "c", 1).await;
    b.settle(Duration::from_secs(30)).await;
    let after: HashSet<String> = b.own_containers().await.unwrap().into_iter().collect();
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(
        after.is_disjoint(&before),
        "a pool container survived its run: {:?}",
        after.intersection(&before)
    );

    // Many runs in a row: never a reused container.
    for _ in 0..6 {
        let r = run(&b, spec("python", "main.py", probe)).await;
        assert_eq!(r.stdout, "FRESH\n", "{}", r.all());
    }

    let st = b.pool_stats();
    assert!(st.hits >= 3, "{st:?}");
    let m = b.metrics().snapshot();
    assert_eq!(m.pool_hits, st.hits);
    assert_eq!(m.pool_hits + m.pool_misses, 9);

    // Different resource limits can't use the pool: cold start.
    let mut s = spec("python", "main.py", "print('big')");
    s.limits.memory_mb = 700;
    let r = run(&b, s).await;
    assert!(!r.outcome.pooled);
    assert_eq!(r.stdout, "big\n");

    // A language without a pool never counts as a miss.
    let misses = b.pool_stats().misses;
    run(&b, spec("ruby", "main.rb", "puts 1")).await;
    assert_eq!(b.pool_stats().misses, misses);

    // Shutdown removes the idle containers too.
    b.shutdown().await;
    assert!(b.own_containers().await.unwrap().is_empty());
    assert!(matches!(
        try_run(&b, spec("python", "main.py", "print(1)")).await,
        Err(oc_sandbox::SandboxError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_rejects_unknown_languages() {
    require_docker().await;
    let mut cfg = config();
    cfg.pool = PoolConfig {
        sizes: parse_pool_spec("klingon=1").unwrap(),
        ..PoolConfig::default()
    };
    assert!(matches!(
        DockerBackend::new(host().await, cfg).await,
        Err(oc_sandbox::SandboxError::UnknownLanguage(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_sweep_removes_only_this_nodes_orphans() {
    use bollard::models::ContainerCreateBody;
    use bollard::query_parameters::CreateContainerOptionsBuilder;
    use std::collections::HashMap;

    require_docker().await;
    let docker = bollard::Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let start = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_string();
    let live_owner = format!("{host}/{}/{start}", std::process::id());
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let make = |owner: Option<String>, node: Option<&'static str>| {
        let docker = docker.clone();
        let tag = tag.clone();
        async move {
            let mut labels = HashMap::from([
                ("opencoder.sandbox".to_string(), "1".to_string()),
                ("oc-sweep-test".to_string(), tag),
            ]);
            if let Some(o) = owner {
                labels.insert("opencoder.sandbox.owner".into(), o);
            }
            if let Some(n) = node {
                labels.insert(oc_sandbox::docker::NODE_LABEL.into(), n.into());
            }
            let body = ContainerCreateBody {
                image: Some(IMAGE.into()),
                cmd: Some(vec!["true".into()]),
                labels: Some(labels),
                ..Default::default()
            };
            let name = format!("oc-sweep-{}", uuid::Uuid::new_v4().simple());
            docker
                .create_container(
                    Some(CreateContainerOptionsBuilder::new().name(&name).build()),
                    body,
                )
                .await
                .unwrap()
                .id
        }
    };
    let node = "sweep-test-node";
    let dead = make(Some(format!("{host}/999999999/1")), Some(node)).await;
    // Written by an older server or a terminal session of this host: no node label.
    let dead_here_unnoded = make(Some(format!("{host}/999999999/1")), None).await;
    let other_node = make(Some(format!("{host}/999999999/1")), Some("another-node")).await;
    let other_host = make(Some("another-host/1/1".into()), None).await;
    let unlabelled = make(None, None).await;
    let live = make(Some(live_owner), Some(node)).await;

    let host = host_with(oc_sandbox::HostConfig {
        remove_leftovers_on_start: true,
        node_id: node.into(),
        ..oc_sandbox::HostConfig::default()
    })
    .await;
    let b = backend_on(host, config()).await;
    let exists = |id: String| {
        let docker = docker.clone();
        async move { docker.inspect_container(&id, None).await.is_ok() }
    };
    assert!(
        !exists(dead).await,
        "orphan of a dead process survived the sweep"
    );
    assert!(
        !exists(dead_here_unnoded).await,
        "orphan of a dead process of this host survived the sweep"
    );
    // Only this node's: another node's, another host's and an unowned container stay.
    for (id, what) in [
        (&other_node, "another node's"),
        (&other_host, "another host's"),
        (&unlabelled, "an unowned"),
    ] {
        assert!(
            exists(id.clone()).await,
            "the sweep removed {what} container"
        );
    }
    assert!(
        exists(live.clone()).await,
        "the sweep removed a live process's container"
    );
    for id in [live, other_node, other_host, unlabelled] {
        docker
            .remove_container(
                &id,
                Some(
                    bollard::query_parameters::RemoveContainerOptionsBuilder::new()
                        .force(true)
                        .build(),
                ),
            )
            .await
            .unwrap();
    }
    b.shutdown().await;
}
