//! Several Docker hosts on one machine: the default daemon and a second one started by
//! `scripts/start-second-docker.sh` (this test starts it, and FAILS if it cannot). Runs spread
//! over both; the second is stopped while runs are in flight there (they fail fast with
//! `HostUnavailable`, nothing hangs, new runs go to the first); restarted, it rejoins by itself.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use oc_sandbox::hosts::{HostMember, HostSet};
use oc_sandbox::{
    DockerBackend, DockerHost, DockerTerminals, HostConfig, Metrics, SandboxBackend, SandboxError,
    TermSize, TerminalBackend, TerminalEvent, TerminalLimits, TerminalSession,
};

/// One test at a time uses the second daemon (one of them stops it).
static SECOND_DAEMON: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const CAPACITY: usize = 2;

/// The second daemon as `scripts/start-second-docker.sh` reports it.
struct Second {
    /// Its socket (`OC_DOCKER2_SOCKET`, default `/run/oc-docker2.sock`).
    unix: String,
    /// Its TLS listener (`tcp://127.0.0.1:<port>`, `--tlsverify`).
    tls: String,
    /// The certificates: `client/` (ours), `other-ca/` (a client certificate of another CA).
    certs: PathBuf,
}

fn second_daemon(arg: &str) -> Option<Second> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/start-second-docker.sh"
    );
    let out = std::process::Command::new("bash")
        .args([script, arg])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "scripts/start-second-docker.sh {arg} failed (it needs root, dockerd and openssl):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().collect::<Vec<_>>()[..] {
        [unix, tls, certs] => Some(Second {
            unix: unix.to_string(),
            tls: tls.to_string(),
            certs: PathBuf::from(certs),
        }),
        _ => None,
    }
}

fn start_second() -> Second {
    second_daemon("start").expect("the script prints the daemon's addresses")
}

async fn member(address: Option<&str>, metrics: &Arc<Metrics>) -> HostMember {
    member_with(address, metrics, IMAGE).await
}

async fn member_with(address: Option<&str>, metrics: &Arc<Metrics>, image: &str) -> HostMember {
    let cfg = HostConfig {
        address: address.map(str::to_string),
        metrics: metrics.clone(),
        ..host_config()
    };
    let member = member_on(cfg, image).await;
    let host = member.runs.host();
    assert!(
        host.check_health().await,
        "{address:?} does not answer: {}",
        host.detail()
    );
    member
}

fn host_config() -> HostConfig {
    HostConfig {
        // As the server (`DOCKER_CALL_TIMEOUT`): a daemon just restarted can be slow at first.
        call_timeout: Duration::from_secs(20),
        ..HostConfig::default()
    }
}

/// A member on the host of `cfg`, whether it answers or not.
async fn member_on(cfg: HostConfig, image: &str) -> HostMember {
    let host = DockerHost::connect(cfg).await.expect("docker host");
    HostMember {
        runs: DockerBackend::new(
            host.clone(),
            oc_sandbox::DockerConfig {
                image: image.into(),
                ..config()
            },
        )
        .await
        .expect("run backend"),
        terminals: DockerTerminals::new(host, image.into(), None).expect("terminals"),
        capacity: CAPACITY,
    }
}

/// Starts one run of `seconds` of sleep (callers wait until it is placed, so that the order of
/// placements is known).
fn start_sleeper(
    set: &HostSet,
    seconds: u32,
) -> tokio::task::JoinHandle<(Result<Ran, SandboxError>, Duration)> {
    let set = set.clone();
    tokio::spawn(async move {
        let t = Instant::now();
        let code = format!("import time\ntime.sleep({seconds})\nprint('slept')\n");
        let r = try_run(&set, spec("python", "main.py", &code)).await;
        (r, t.elapsed())
    })
}

async fn wait_in_flight(set: &HostSet, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while set.loads().iter().sum::<usize>() < n {
        assert!(Instant::now() < deadline, "runs were not placed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A terminal started on `set` under `key` (`what` names it when it fails to start): it is on
/// member `on` and answers what is typed into it.
async fn terminal_answering_on(set: &HostSet, on: usize, key: &str, what: &str) -> TerminalSession {
    let (session, mut rx) = TerminalBackend::start(
        set,
        &TerminalLimits::default(),
        key,
        &[],
        TermSize::default(),
    )
    .await
    .expect(what);
    let id = session.container_id().unwrap().to_string();
    assert_eq!(
        set.members()[on]
            .terminals
            .containers(Some(key))
            .await
            .unwrap(),
        vec![id]
    );
    session.write(b"echo T$((6*7))\n").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut out = String::new();
    while !out.contains("T42") {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(TerminalEvent::Output(b))) => out.push_str(&String::from_utf8_lossy(&b)),
            other => panic!("no terminal output ({other:?}): {out}"),
        }
    }
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_spread_survive_a_host_going_down_and_it_rejoins() {
    require_docker().await;
    let _alone = SECOND_DAEMON.lock().await;
    let second = start_second();
    let metrics = Arc::new(Metrics::new());
    let set = HostSet::new(vec![
        member(None, &metrics).await,
        member(Some(&second.unix), &metrics).await,
    ])
    .unwrap();
    let [first, second] = [0, 1].map(|i| set.members()[i].address());
    let health = SandboxBackend::health(&set).await;
    assert!(health.available, "{health:?}");
    assert_eq!(health.hosts.len(), 2, "{health:?}");
    assert!(
        health.hosts.iter().all(|h| h.available && h.image),
        "{health:?}"
    );

    // Four runs at once fill both hosts: the most free capacity wins, and a place is taken as
    // it is chosen, so concurrent runs spread.
    let handles: Vec<_> = (0..4).map(|_| start_sleeper(&set, 1)).collect();
    wait_in_flight(&set, 4).await;
    assert_eq!(set.loads(), vec![CAPACITY, CAPACITY], "not spread");
    for h in handles {
        let (r, _) = h.await.unwrap();
        assert_eq!(r.expect("run").stdout, "slept\n");
    }
    assert_eq!(metrics.runs_on_host(&first, "ok"), 2);
    assert_eq!(metrics.runs_on_host(&second, "ok"), 2);

    // Mid-load: two long runs on each host, then the second daemon stops.
    let mut handles = Vec::new();
    for i in 0..4 {
        handles.push(start_sleeper(&set, 6));
        wait_in_flight(&set, i + 1).await;
    }
    // Let the programs start before pulling the daemon.
    tokio::time::sleep(Duration::from_secs(2)).await;
    second_daemon("stop");
    let (mut ok, mut host_down) = (0, 0);
    for h in handles {
        let (r, took) = h.await.unwrap();
        assert!(took < Duration::from_secs(20), "a run hung for {took:?}");
        match r {
            Ok(r) if r.stdout == "slept\n" => ok += 1,
            Err(SandboxError::HostUnavailable(why)) => {
                assert!(why.contains(&second), "{why}");
                host_down += 1;
            }
            other => panic!("unexpected result {other:?}"),
        }
    }
    assert_eq!((ok, host_down), (2, 2));
    // New runs go to the first host (and wait for nothing).
    for _ in 0..3 {
        let t = Instant::now();
        let r = run(&set, spec("python", "main.py", "print('still here')")).await;
        assert_eq!(r.stdout, "still here\n", "{}", r.all());
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }
    assert_eq!(metrics.runs_on_host(&first, "ok"), 7);
    assert_eq!(metrics.runs_on_host(&second, "host_unavailable"), 2);
    let health = SandboxBackend::health(&set).await;
    assert!(health.available && !health.hosts[1].available, "{health:?}");

    // Restarted, it rejoins by itself: a full first host sends runs there again.
    start_second();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !SandboxBackend::health(&set).await.hosts[1].available {
        assert!(Instant::now() < deadline, "the second host did not rejoin");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut handles = Vec::new();
    for i in 0..4 {
        handles.push(start_sleeper(&set, 1));
        wait_in_flight(&set, i + 1).await;
    }
    for h in handles {
        let (r, _) = h.await.unwrap();
        assert_eq!(r.expect("run after rejoin").stdout, "slept\n");
    }
    assert_eq!(metrics.runs_on_host(&second, "ok"), 4);

    // A terminal lives on one host: with the first one full, it starts on the second.
    let mut fill = Vec::new();
    for i in 0..3 {
        fill.push(start_sleeper(&set, 3));
        wait_in_flight(&set, i + 1).await;
    }
    assert_eq!(set.loads(), vec![CAPACITY, 1]);
    let session = terminal_answering_on(&set, 1, "hosts-test", "terminal").await;
    for h in fill {
        h.await.unwrap().0.expect("filler run");
    }
    // The fillers are done: what is left on the second host is the terminal, for its life.
    assert_eq!(
        set.loads(),
        vec![0, 1],
        "the terminal counts in its host's load"
    );
    session.close().await;
    drop(session);
    assert_eq!(set.loads(), vec![0, 0]);
    set.shutdown().await;
}

/// Tags the runner image on the default daemon only: the second one lacks it.
fn tag_on_first_only(tag: &str) {
    let out = std::process::Command::new("docker")
        .args(["tag", IMAGE, tag])
        .env_remove("DOCKER_HOST")
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker tag: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_host_without_the_image_gets_no_runs() {
    require_docker().await;
    let _alone = SECOND_DAEMON.lock().await;
    let second = start_second();
    let image = "oc-hosts-test-only-first:latest";
    tag_on_first_only(image);
    let metrics = Arc::new(Metrics::new());
    let set = HostSet::new(vec![
        member_with(None, &metrics, image).await,
        member_with(Some(&second.unix), &metrics, image).await,
    ])
    .unwrap();
    let health = SandboxBackend::health(&set).await;
    assert!(
        health.hosts[0].image && !health.hosts[1].image,
        "{health:?}"
    );
    assert!(health.hosts[1].detail.contains("not found"), "{health:?}");
    // More runs at once than the first host's capacity: still none on the second.
    let mut handles = Vec::new();
    for _ in 0..CAPACITY + 1 {
        let set = set.clone();
        handles.push(tokio::spawn(async move {
            run(&set, spec("python", "main.py", "print('here')")).await
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap().stdout, "here\n");
    }
    let first = set.members()[0].address();
    assert_eq!(metrics.runs_on_host(&first, "ok"), CAPACITY as u64 + 1);
    assert_eq!(
        set.members()[1].runs.own_containers().await.unwrap(),
        Vec::<String>::new()
    );
    set.shutdown().await;
}

/// A client directory with `ca` as the CA the daemon's certificate is checked against and the
/// client certificate and key of `client`.
fn cert_dir(ca: &Path, client: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(ca.join("ca.pem"), dir.path().join("ca.pem")).unwrap();
    for file in ["cert.pem", "key.pem"] {
        std::fs::copy(client.join(file), dir.path().join(file)).unwrap();
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tls_host_takes_runs_only_with_the_right_certificates() {
    require_docker().await;
    let _alone = SECOND_DAEMON.lock().await;
    let second = start_second();
    let metrics = Arc::new(Metrics::new());
    let over_tls = |dir: PathBuf| HostConfig {
        address: Some(second.tls.clone()),
        tls_dir: Some(dir),
        ..host_config()
    };

    // Our certificate: the host answers, says it is TLS, and takes its share of runs. It is
    // listed first, so that a terminal started on an idle set lands there.
    let set = HostSet::new(vec![
        member_on(
            HostConfig {
                metrics: metrics.clone(),
                ..over_tls(second.certs.join("client"))
            },
            IMAGE,
        )
        .await,
        member(None, &metrics).await,
    ])
    .unwrap();
    let health = SandboxBackend::health(&set).await;
    assert!(
        health.hosts.iter().all(|h| h.available && h.image),
        "{health:?}"
    );
    assert_eq!(
        health.hosts.iter().map(|h| h.tls).collect::<Vec<_>>(),
        vec![true, false]
    );
    let handles: Vec<_> = (0..4).map(|_| start_sleeper(&set, 1)).collect();
    wait_in_flight(&set, 4).await;
    assert_eq!(set.loads(), vec![CAPACITY, CAPACITY], "not spread");
    for h in handles {
        let (r, _) = h.await.unwrap();
        assert_eq!(r.expect("run").stdout, "slept\n");
    }
    assert_eq!(metrics.runs_on_host(&second.tls, "ok"), CAPACITY as u64);
    // A terminal over TLS: its shell's stream is hijacked over the same verified connection.
    let session = terminal_answering_on(&set, 0, "hosts-tls-test", "terminal over TLS").await;
    session.close().await;
    drop(session);
    set.shutdown().await;

    // A client certificate from another CA: the daemon refuses it; the host is down with a
    // clear detail and no run goes there.
    let other_ca = second.certs.join("other-ca");
    // The daemon's certificate checked against another CA: we refuse the daemon.
    let wrong_ca = cert_dir(&second.certs.join("rogue-ca"), &second.certs.join("client"));
    for (dir, why) in [
        (
            other_ca.as_path(),
            "the daemon refused our client certificate",
        ),
        (wrong_ca.path(), "the daemon's certificate"),
    ] {
        let metrics = Arc::new(Metrics::new());
        let refused = member_on(
            HostConfig {
                metrics: metrics.clone(),
                ..over_tls(dir.to_path_buf())
            },
            IMAGE,
        )
        .await;
        let set = HostSet::new(vec![member(None, &metrics).await, refused]).unwrap();
        let health = SandboxBackend::health(&set).await;
        let host = &health.hosts[1];
        assert!(!host.available && host.tls, "{health:?}");
        assert!(host.detail.contains(why), "{}", host.detail);
        let handles: Vec<_> = (0..CAPACITY + 1)
            .map(|_| {
                let set = set.clone();
                tokio::spawn(async move { run(&set, spec("python", "main.py", "print(1)")).await })
            })
            .collect();
        for h in handles {
            assert_eq!(h.await.unwrap().stdout, "1\n");
        }
        assert_eq!(
            metrics.runs_on_host(&set.members()[0].address(), "ok"),
            CAPACITY as u64 + 1
        );
        assert_eq!(metrics.runs_on_host(&second.tls, "ok"), 0);
        set.shutdown().await;
    }

    // A TLS host's certificate directory must hold the three files.
    let empty = tempfile::tempdir().unwrap();
    let err = DockerHost::connect(over_tls(empty.path().to_path_buf()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ca.pem"), "{err}");
}

/// A member whose health is only checked when a call fails (its supervisor sleeps for an hour):
/// a daemon stopped under it still looks up when the next run is placed there.
async fn member_checked_lazily(cfg: HostConfig) -> HostMember {
    let host = DockerHost::connect(cfg).await.expect("docker host");
    let runs = DockerBackend::new(
        host.clone(),
        oc_sandbox::DockerConfig {
            pool: oc_sandbox::PoolConfig {
                health_interval: Duration::from_secs(3600),
                ..oc_sandbox::PoolConfig::default()
            },
            ..config()
        },
    )
    .await
    .expect("run backend");
    assert!(runs.health().await.available, "{:?}", runs.health().await);
    HostMember {
        runs,
        terminals: DockerTerminals::new(host, IMAGE.into(), None).expect("terminals"),
        capacity: CAPACITY,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_or_terminal_whose_host_is_lost_before_it_starts_goes_to_another_host_once() {
    require_docker().await;
    let _alone = SECOND_DAEMON.lock().await;
    let second = start_second();
    let metrics = Arc::new(Metrics::new());
    let at = |address: Option<&str>| HostConfig {
        address: address.map(str::to_string),
        metrics: metrics.clone(),
        ..host_config()
    };
    // The second daemon is listed first: with equal room, runs are placed there.
    let set = HostSet::new(vec![
        member_checked_lazily(at(Some(&second.unix))).await,
        member_checked_lazily(at(None)).await,
    ])
    .unwrap();
    let [lost, first] = [0, 1].map(|i| set.members()[i].address());
    // Placement still takes it for up: its daemon stops between its last check and the runs.
    second_daemon("stop");
    assert!(set.members()[0].runs.host().is_up());
    let handles: Vec<_> = (0..CAPACITY)
        .map(|i| {
            let set = set.clone();
            tokio::spawn(async move {
                let code = format!("print('moved {i}')");
                (i, try_run(&set, spec("python", "main.py", &code)).await)
            })
        })
        .collect();
    for h in handles {
        let (i, r) = h.await.unwrap();
        let r = r.expect("a run lost before it started is placed again");
        assert_eq!(r.stdout, format!("moved {i}\n"), "{}", r.all());
    }
    let replaced = metrics.runs_on_host(&lost, "replaced");
    assert!(replaced >= 1, "no run was placed on the stopped host");
    assert_eq!(metrics.runs_on_host(&first, "ok"), CAPACITY as u64);
    assert_eq!(metrics.runs_on_host(&lost, "host_unavailable"), 0);
    set.shutdown().await;

    // A terminal whose host goes down while it is set up starts on the other host.
    let second = start_second();
    let set = HostSet::new(vec![
        member_checked_lazily(at(Some(&second.unix))).await,
        member_checked_lazily(at(None)).await,
    ])
    .unwrap();
    second_daemon("stop");
    let session = terminal_answering_on(
        &set,
        1,
        "hosts-moved-terminal",
        "a terminal lost as it started is placed again",
    )
    .await;
    session.close().await;
    drop(session);
    set.shutdown().await;

    // At most once: two addresses of the same stopped daemon, both still taken for up. The run
    // is placed again once, then fails with the host's reason.
    let second = start_second();
    let set = HostSet::new(vec![
        member_checked_lazily(at(Some(&second.unix))).await,
        member_checked_lazily(HostConfig {
            tls_dir: Some(second.certs.join("client")),
            ..at(Some(&second.tls))
        })
        .await,
    ])
    .unwrap();
    second_daemon("stop");
    let err = try_run(&set, spec("python", "main.py", "print('never')"))
        .await
        .expect_err("both hosts are gone");
    match err {
        SandboxError::HostUnavailable(why) => assert!(why.contains(&second.tls), "{why}"),
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(metrics.runs_on_host(&second.unix, "replaced"), replaced + 1);
    assert_eq!(metrics.runs_on_host(&second.tls, "host_unavailable"), 1);
    assert_eq!(metrics.runs_on_host(&second.tls, "replaced"), 0);
    set.shutdown().await;
    start_second();
}
