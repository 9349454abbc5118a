//! Several Docker hosts behind the run API (`EXEC_DOCKER_HOSTS`): the default daemon and a second
//! one started by `scripts/start-second-docker.sh` (this test starts it and FAILS if it cannot).
//! Runs land on both, `/api/health` lists both to signed-in callers (address, version, image,
//! pool, load, capacity) and nothing of them to anonymous ones, the metrics count runs per host,
//! and `opencoder doctor` names the host that lacks the image.

mod common;

use std::time::{Duration, Instant};

use common::TestApp;
use serde_json::json;

/// One test at a time uses the second daemon (one of them stops it).
static SECOND_DAEMON: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs the script; on `start`, its output: the daemon's socket address, its TLS address
/// (`--tlsverify`) and the directory of the certificates it generated.
fn second_daemon(arg: &str) -> Vec<String> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/start-second-docker.sh"
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
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Starts the second daemon; its socket address.
fn start_second() -> String {
    second_daemon("start").swap_remove(0)
}

/// An app on both hosts, one place each, no warm pool; and a user with `n` pads holding
/// `sleep.py` (sleeps `seconds`, prints `done`).
async fn two_host_app(n: usize, seconds: u32) -> (TestApp, common::TestUser, Vec<String>) {
    oc_sandbox::testing::hold_shared_docker_lock();
    let second = start_second();
    let hosts = format!("unix:///var/run/docker.sock=1,{second}=1");
    let app =
        TestApp::spawn_with(&[("EXEC_DOCKER_HOSTS", hosts.as_str()), ("EXEC_POOL", "")]).await;
    let ada = app.signup("Ada").await;
    let code = format!("import time\ntime.sleep({seconds})\nprint('done')\n");
    let mut paths = Vec::new();
    for i in 0..n {
        let pad = app
            .post(
                "/api/pads",
                Some(&ada.token),
                json!({ "title": format!("pad {i}"), "language": "python" }),
            )
            .await;
        let slug = pad.body["pad"]["slug"].as_str().unwrap().to_string();
        let file = app
            .post(
                &format!("/api/pads/{slug}/files"),
                Some(&ada.token),
                json!({ "name": "sleep.py", "content": code }),
            )
            .await;
        assert_eq!(file.status, 201, "{:?}", file.body);
        paths.push(format!("/api/pads/{slug}/runs?wait=1"));
    }
    (app, ada, paths)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_use_every_host_and_health_lists_them() {
    let _alone = SECOND_DAEMON.lock().await;
    let (app, ada, paths) = two_host_app(2, 1).await;
    let second = start_second();

    let anonymous = app.get("/api/health", None).await;
    assert_eq!(
        anonymous.body["exec"]["available"], true,
        "{}",
        anonymous.body
    );
    assert!(
        anonymous.body["exec"].get("hosts").is_none(),
        "hosts shown to anonymous callers"
    );
    let health = app.get("/api/health", Some(&ada.token)).await;
    let listed = health.body["exec"]["hosts"]
        .as_array()
        .expect("hosts listed")
        .clone();
    let addresses: Vec<&str> = listed
        .iter()
        .map(|h| h["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        vec!["unix:///var/run/docker.sock", second.as_str()],
        "{}",
        health.body
    );
    for host in &listed {
        assert_eq!(host["available"], true, "{host}");
        assert_eq!(host["image"], true, "{host}");
        assert_eq!(host["capacity"], 1, "{host}");
        assert_eq!(host["tls"], false, "{host}");
        assert!(
            host["detail"].as_str().unwrap().starts_with("docker "),
            "{host}"
        );
        assert!(
            host["pool"].is_object() && host["load"].is_number(),
            "{host}"
        );
    }

    // Two runs at once (on two pads), one place per host: each host takes one.
    let body = || json!({ "entry": "sleep.py" });
    let (a, b) = tokio::join!(
        app.post(&paths[0], Some(&ada.token), body()),
        app.post(&paths[1], Some(&ada.token), body())
    );
    for r in [a, b] {
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["run"]["stdout"], "done\n", "{:?}", r.body);
    }
    let metrics = app.state.metrics.render();
    for host in ["unix:///var/run/docker.sock", second.as_str()] {
        let series = format!("opencoder_exec_host_runs_total{{host=\"{host}\",outcome=\"ok\"}} 1");
        assert!(metrics.contains(&series), "{series} missing:\n{metrics}");
    }
}

#[test]
fn doctor_names_the_host_that_lacks_the_image() {
    let _alone = SECOND_DAEMON.blocking_lock();
    oc_sandbox::testing::hold_shared_docker_lock();
    let started = second_daemon("start");
    let [second, tls, certs] = &started[..] else {
        panic!("the script printed {started:?}");
    };
    // Tagged on the default daemon only.
    let image = "oc-doctor-test-only-first:latest";
    let tag = std::process::Command::new("docker")
        .args(["tag", "opencoder-runner:latest", image])
        .env_remove("DOCKER_HOST")
        .output()
        .expect("docker runs");
    assert!(
        tag.status.success(),
        "docker tag: {}",
        String::from_utf8_lossy(&tag.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    // The second daemon twice: over its socket, and over TLS with our certificate.
    let hosts = format!("unix:///var/run/docker.sock=1,{second}=1,{tls}=1;tls={certs}/client");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opencoder"))
        .env_clear()
        .current_dir(dir.path())
        .envs([
            ("DATA_DIR", dir.path().join("data").display().to_string()),
            (
                "JWT_SECRET",
                "8c1f4e7a2b5d9e0f3a6c8b1d4e7f0a2c5e8b1d3f6a9c2e5f8b0d3a6c9e1f4a7b".to_string(),
            ),
            ("EXEC_DOCKER_HOSTS", hosts),
            ("EXEC_IMAGE", image.to_string()),
        ])
        .arg("doctor")
        .output()
        .expect("opencoder doctor runs");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !out.status.success(),
        "a host without the image is a failure: {report}"
    );
    let lines = |check: &str| -> Vec<String> {
        report
            .lines()
            .filter(|l| l.contains(&format!("] {check} ")))
            .map(str::to_string)
            .collect()
    };
    let docker = lines("docker");
    assert_eq!(docker.len(), 3, "{report}");
    assert!(docker.iter().all(|l| l.starts_with("[ ok ]")), "{report}");
    assert!(docker[1].contains("over a local socket"), "{report}");
    assert!(
        docker[2].contains(&format!("over TLS with the certificates in {certs}/client")),
        "{report}"
    );
    let images = lines("images");
    assert_eq!(images.len(), 3, "{report}");
    assert!(
        images[0].starts_with("[ ok ]") && images[0].contains("unix:///var/run/docker.sock"),
        "{report}"
    );
    assert!(
        images[1].starts_with("[FAIL]") && images[1].contains(&format!("missing on {second}")),
        "{report}"
    );
    assert!(
        images[1].contains(&format!("scripts/load-runner-image.sh {second}")),
        "{report}"
    );
    assert!(
        images[2].starts_with("[FAIL]") && images[2].contains(&format!("missing on {tls}")),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_on_a_host_that_goes_down_finish_with_host_unavailable_and_it_rejoins() {
    let _alone = SECOND_DAEMON.lock().await;
    let (app, ada, paths) = two_host_app(3, 5).await;
    let second = start_second();
    let body = || json!({ "entry": "sleep.py" });
    let stop = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        tokio::task::spawn_blocking(|| second_daemon("stop"))
            .await
            .unwrap();
    };
    let started = Instant::now();
    let (a, b, ()) = tokio::join!(
        app.post(&paths[0], Some(&ada.token), body()),
        app.post(&paths[1], Some(&ada.token), body()),
        stop
    );
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "a run hung: {:?}",
        started.elapsed()
    );
    let mut outcomes: Vec<String> = Vec::new();
    for r in [&a, &b] {
        assert_eq!(r.status, 200, "{:?}", r.body);
        outcomes.push(r.body["run"]["outcome"].as_str().unwrap().to_string());
    }
    outcomes.sort();
    assert_eq!(
        outcomes,
        vec!["host_unavailable", "ok"],
        "{:?} {:?}",
        a.body,
        b.body
    );
    let failed = if a.body["run"]["outcome"] == "ok" {
        &b
    } else {
        &a
    };
    assert!(
        failed.body["run"]["error"]
            .as_str()
            .unwrap()
            .contains(&second),
        "{:?}",
        failed.body
    );

    // New runs go to the first host meanwhile.
    let r = app.post(&paths[2], Some(&ada.token), body()).await;
    assert_eq!(r.body["run"]["outcome"], "ok", "{:?}", r.body);

    // Back, it rejoins by itself (health is re-checked at most every EXEC_CHECK_TTL).
    start_second();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let health = app.get("/api/health", Some(&ada.token)).await;
        if health.body["exec"]["hosts"][1]["available"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second host did not rejoin: {}",
            health.body
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (a, b) = tokio::join!(
        app.post(&paths[0], Some(&ada.token), body()),
        app.post(&paths[1], Some(&ada.token), body())
    );
    for r in [a, b] {
        assert_eq!(r.body["run"]["outcome"], "ok", "{:?}", r.body);
    }
    let metrics = app.state.metrics.render();
    let series = format!("opencoder_exec_host_runs_total{{host=\"{second}\",outcome=\"ok\"}} 1");
    assert!(metrics.contains(&series), "{series} missing:\n{metrics}");
}
