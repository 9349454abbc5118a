//! The run API over real HTTP against the real Docker sandbox (SPEC §5). Docker and the runner
//! image are required: `make test` provides them; without them these tests fail and say how.

mod collab_support;
mod common;
mod exec_support;

use std::time::Duration;

use common::{TestApp, TestUser};
use exec_support::spawn_docker;
use serde_json::{json, Value};

/// A pad whose file `name` holds `source`.
async fn pad_with(
    app: &TestApp,
    user: &TestUser,
    language: &str,
    name: &str,
    source: &str,
) -> String {
    app.pad_with_file(user, language, name, source).await
}

async fn run_wait(app: &TestApp, token: &str, slug: &str, body: Value) -> common::Resp {
    app.post(&format!("/api/pads/{slug}/runs?wait=1"), Some(token), body)
        .await
}

#[tokio::test]
async fn python_runs_with_stdin_and_the_run_is_stored() {
    let app = spawn_docker(&[]).await;
    let ada = app.signup("Ada").await;
    let slug = pad_with(
        &app,
        &ada,
        "python",
        "echo.py",
        "import sys\nprint('got', sys.stdin.read().strip())\n",
    )
    .await;
    let r = run_wait(
        &app,
        &ada.token,
        &slug,
        json!({ "entry": "echo.py", "stdin": "hello sandbox" }),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let run = &r.body["run"];
    assert_eq!(run["stdout"], "got hello sandbox\n");
    assert_eq!(run["exitCode"], 0);
    assert_eq!(run["backend"], "docker");
    assert_eq!(run["timedOut"], false);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE id = ?")
        .bind(run["runId"].as_str().unwrap())
        .fetch_one(app.sql())
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn without_wait_the_run_is_accepted_and_reported_later() {
    let app = spawn_docker(&[]).await;
    let ada = app.signup("Ada").await;
    let slug = pad_with(&app, &ada, "python", "a.py", "print(1)\n").await;
    let r = app
        .post(
            &format!("/api/pads/{slug}/runs"),
            Some(&ada.token),
            json!({ "entry": "a.py" }),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let run_id = r.body["runId"].as_str().unwrap().to_string();
    let mut stored = 0i64;
    for _ in 0..300 {
        stored = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE id = ?")
            .bind(&run_id)
            .fetch_one(app.sql())
            .await
            .unwrap();
        if stored == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored, 1, "the background run never finished");
}

#[tokio::test]
async fn roles_and_limits_are_enforced() {
    let app = spawn_docker(&[
        ("EXEC_MAX_STDIN_BYTES", "1024"),
        ("EXEC_MAX_SOURCE_BYTES", "2048"),
    ])
    .await;
    let ada = app.signup("Ada").await;
    let eve = app.signup("Eve").await;
    let slug = pad_with(&app, &ada, "python", "a.py", "print(1)\n").await;

    // Non-members do not learn that the pad exists; anonymous callers must sign in.
    assert_eq!(
        run_wait(&app, &eve.token, &slug, json!({})).await.status,
        404
    );
    assert_eq!(
        app.post(&format!("/api/pads/{slug}/runs"), None, json!({}))
            .await
            .status,
        401
    );

    // A viewer may watch but not run.
    let invite = app
        .post(
            &format!("/api/pads/{slug}/invites"),
            Some(&ada.token),
            json!({ "role": "viewer" }),
        )
        .await;
    let token = invite.body["invite"]["token"].as_str().unwrap();
    assert_eq!(
        app.post(
            &format!("/api/invites/{token}/accept"),
            Some(&eve.token),
            json!({})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        run_wait(&app, &eve.token, &slug, json!({})).await.status,
        403
    );

    // Bad requests are named.
    let bad_timeout = run_wait(&app, &ada.token, &slug, json!({ "timeoutMs": 60000 })).await;
    assert_eq!(bad_timeout.body["error"], "invalid_timeout");
    let bad_entry = run_wait(&app, &ada.token, &slug, json!({ "entry": "../etc/passwd" })).await;
    assert_eq!(bad_entry.body["error"], "unknown_entry");
    let bad_language = run_wait(&app, &ada.token, &slug, json!({ "language": "cobol" })).await;
    assert_eq!(bad_language.body["error"], "unknown_language");

    // Oversized stdin and sources are refused before anything runs.
    let big_stdin = run_wait(
        &app,
        &ada.token,
        &slug,
        json!({ "stdin": "x".repeat(2000) }),
    )
    .await;
    assert_eq!(big_stdin.status, 413, "{:?}", big_stdin.body);
    assert_eq!(big_stdin.body["error"], "payload_too_large");
    let big = app
        .post(
            &format!("/api/pads/{slug}/files"),
            Some(&ada.token),
            json!({ "name": "big.py", "content": "#".repeat(4000) }),
        )
        .await;
    assert_eq!(big.status, 201);
    assert_eq!(
        run_wait(&app, &ada.token, &slug, json!({ "entry": "a.py" }))
            .await
            .status,
        413
    );
}

#[tokio::test]
async fn a_timeout_is_reported() {
    let app = spawn_docker(&[]).await;
    let ada = app.signup("Ada").await;
    let slug = pad_with(&app, &ada, "python", "loop.py", "while True:\n    pass\n").await;
    let r = run_wait(
        &app,
        &ada.token,
        &slug,
        json!({ "entry": "loop.py", "timeoutMs": 1000 }),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["run"]["timedOut"], true);
    assert_eq!(r.body["run"]["outcome"], "timeout");
}

#[tokio::test]
async fn concurrent_runs_respect_global_and_per_user_limits() {
    // Two runs at a time overall, two per user, a queue of twenty.
    let app = spawn_docker(&[
        ("EXEC_CONCURRENCY", "2"),
        ("EXEC_PER_USER_CONCURRENCY", "2"),
        ("EXEC_QUEUE", "20"),
    ])
    .await;
    let program = "import time\nprint(time.time())\ntime.sleep(1.5)\nprint(time.time())\n";
    let mut users = Vec::new();
    for i in 0..5 {
        let user = app.signup(&format!("user{i}")).await;
        // One run per pad at a time: each of the user's four runs goes to a pad of its own.
        let mut slugs = Vec::new();
        for _ in 0..4 {
            slugs.push(pad_with(&app, &user, "python", "s.py", program).await);
        }
        users.push((user, slugs));
    }
    // Each user fires four runs at once: two are admitted, the rest refused with 429.
    let mut handles = Vec::new();
    for (user, slugs) in &users {
        for slug in slugs {
            let client = app.client.clone();
            let url = app.url(&format!("/api/pads/{slug}/runs?wait=1"));
            let token = user.token.clone();
            handles.push(tokio::spawn(async move {
                let res = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({ "entry": "s.py" }))
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let retry_after = res.headers().get("retry-after").is_some();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                (status, retry_after, body)
            }));
        }
    }
    let mut intervals = Vec::new();
    let (mut ok, mut refused) = (0, 0);
    for handle in handles {
        let (status, retry_after, body) = handle.await.unwrap();
        match status {
            200 => {
                ok += 1;
                let stdout = body["run"]["stdout"].as_str().unwrap_or_default();
                let times: Vec<f64> = stdout.lines().filter_map(|l| l.parse().ok()).collect();
                assert_eq!(times.len(), 2, "{body}");
                intervals.push((times[0], times[1]));
            }
            429 => {
                refused += 1;
                assert!(retry_after, "429 without Retry-After");
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert_eq!(ok, 10, "each of 5 users gets exactly 2 runs admitted");
    assert_eq!(refused, 10);
    // Never more than two programs ran at the same moment.
    for &(start, _) in &intervals {
        let overlapping = intervals
            .iter()
            .filter(|&&(s, e)| s <= start && start < e)
            .count();
        assert!(overlapping <= 2, "{overlapping} runs overlapped at {start}");
    }
}

#[tokio::test]
async fn metrics_and_languages_are_published() {
    let app = spawn_docker(&[]).await;
    let ada = app.signup("Ada").await;
    let slug = pad_with(&app, &ada, "python", "m.py", "print('m')\n").await;
    assert_eq!(
        run_wait(&app, &ada.token, &slug, json!({ "entry": "m.py" }))
            .await
            .status,
        200
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "opencoder_exec_runs_total{backend=\"docker\",language=\"python\",outcome=\"ok\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("opencoder_exec_run_duration_seconds_count{language=\"python\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("opencoder_exec_queue_waiting 0"));
    let languages = app.get("/api/languages", None).await;
    let ids: Vec<&str> = languages.body["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    for id in [
        "python",
        "javascript",
        "typescript",
        "go",
        "rust",
        "java",
        "c",
        "cpp",
        "ruby",
        "csharp",
        "kotlin",
        "scala",
        "haskell",
        "php",
        "perl",
        "lua",
        "r",
        "elixir",
        "bash",
        "sql",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let find = |id: &str| {
        languages.body["languages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .unwrap()
            .clone()
    };
    let c = find("c");
    assert_eq!(c["defaultFile"], "main.c");
    assert!(
        c["template"].as_str().unwrap().contains("main"),
        "the starter template is offered: {c}"
    );
    // The editor's syntax mode comes with each language, so the picker needs no code per language.
    assert_eq!(find("kotlin")["editorMode"], "kotlin");
    assert_eq!(find("bash")["editorMode"], "shell");
    let sql = find("sql");
    assert_eq!(
        (sql["editorMode"].as_str(), sql["defaultFile"].as_str()),
        (Some("sql"), Some("main.sql"))
    );
}

#[tokio::test]
async fn everyone_on_the_pad_sees_the_run_stream_live() {
    let app = spawn_docker(&[]).await;
    let ada = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let source = "import sys\nprint('out line')\nprint('err line', file=sys.stderr)\nprint('héllo €')\nsys.exit(3)\n";
    let slug = pad_with(&app, &ada, "python", "s.py", source).await;
    app.add_member(&ada, &slug, &bob, "viewer").await;
    // Bob, a viewer, watches; Ada runs.
    let mut watcher = collab_support::connect(&app.base, &slug, &bob.token).await;
    watcher.synced().await;
    let r = run_wait(&app, &ada.token, &slug, json!({ "entry": "s.py" })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let run_id = r.body["run"]["runId"].as_str().unwrap().to_string();
    assert_eq!(r.body["run"]["exitCode"], 3);
    let finished = watcher
        .until(Duration::from_secs(10), |p| p.has_app("run.finished"))
        .await;
    assert!(finished, "run.finished never reached the watcher");
    let started = watcher.app_messages("run.started");
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["runId"], run_id.as_str());
    assert_eq!(started[0]["name"], "Ada");
    let (mut stdout, mut stderr) = (String::new(), String::new());
    for chunk in watcher.app_messages("run.output") {
        assert_eq!(chunk["runId"], run_id.as_str());
        match chunk["stream"].as_str() {
            Some("stdout") => stdout.push_str(chunk["data"].as_str().unwrap()),
            Some("stderr") => stderr.push_str(chunk["data"].as_str().unwrap()),
            other => panic!("unexpected stream {other:?}"),
        }
    }
    assert_eq!(stdout, "out line\nhéllo €\n");
    assert_eq!(stderr, "err line\n");
    let done = watcher.app_messages("run.finished");
    assert_eq!(done[0]["exitCode"], 3);
    assert_eq!(done[0]["timedOut"], false);
    assert_eq!(done[0]["backend"], "docker");
}

#[tokio::test]
async fn sandboxed_code_cannot_reach_the_server_or_the_host() {
    let app = spawn_docker(&[]).await;
    let ada = app.signup("Ada").await;
    let port = app.addr.port();
    // The server listens on the host; from inside the sandbox try its port on loopback, on the
    // Docker bridge gateway and on the host's other addresses, plus DNS.
    let program = format!(
        r#"import socket
targets = [("127.0.0.1", {port}), ("172.17.0.1", {port}), ("172.17.0.1", 2375), ("192.0.2.1", 80)]
for host, port in targets:
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, port))
        print("REACHED", host, port)
    except OSError as e:
        print("blocked", host, port)
try:
    socket.getaddrinfo("example.com", 80)
    print("REACHED dns")
except OSError:
    print("blocked dns")
print(open("/proc/self/status").read().count("CapEff:\t0000000000000000"))
"#
    );
    let slug = pad_with(&app, &ada, "python", "net.py", &program).await;
    let r = run_wait(
        &app,
        &ada.token,
        &slug,
        json!({ "entry": "net.py", "timeoutMs": 20000 }),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let stdout = r.body["run"]["stdout"].as_str().unwrap_or_default();
    assert!(
        !stdout.contains("REACHED"),
        "the sandbox reached the network:\n{stdout}"
    );
    assert_eq!(stdout.matches("blocked").count(), 5, "{stdout}");
    assert!(
        stdout.ends_with("1\n"),
        "capabilities were not all dropped:\n{stdout}"
    );
    // The server is unharmed.
    assert_eq!(app.get("/api/health", None).await.status, 200);
}

#[tokio::test]
async fn a_late_joiner_sees_a_run_in_progress_from_its_start() {
    let app = spawn_docker(&[]).await;
    let ada = app.signup("Ada").await;
    let source =
        "import time\nprint('first', flush=True)\ntime.sleep(3)\nprint('second', flush=True)\n";
    let slug = pad_with(&app, &ada, "python", "slow.py", source).await;
    let mut early = collab_support::connect(&app.base, &slug, &ada.token).await;
    early.synced().await;
    let r = app
        .post(
            &format!("/api/pads/{slug}/runs"),
            Some(&ada.token),
            json!({ "entry": "slow.py" }),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let first_seen = early
        .until(Duration::from_secs(20), |p| p.has_app("run.output"))
        .await;
    assert!(
        first_seen,
        "the early watcher never saw the first line: {:?}",
        early.apps
    );

    let mut late = collab_support::connect(&app.base, &slug, &ada.token).await;
    assert!(
        late.until(Duration::from_secs(20), |p| p.has_app("run.finished"))
            .await,
        "the run never finished for the late joiner"
    );
    assert_eq!(
        late.app_messages("run.started").len(),
        1,
        "the replay carries run.started"
    );
    // Replayed and live copies share a seq; counted once, the output is whole and in order.
    let mut seen = std::collections::BTreeMap::new();
    for chunk in late.app_messages("run.output") {
        seen.insert(
            chunk["seq"].as_u64().unwrap(),
            chunk["data"].as_str().unwrap().to_string(),
        );
    }
    assert_eq!(
        seen.values().cloned().collect::<String>(),
        "first\nsecond\n"
    );
}

/// A python pad whose run writes a marker file at `marker`, wherever it runs.
fn marker_program(marker: &std::path::Path) -> String {
    format!(
        "open({:?}, 'w').write('ran here')\nprint('inside', 6 * 7)\n",
        marker.display().to_string()
    )
}

#[tokio::test]
async fn an_unreachable_docker_never_runs_code_on_the_host() {
    // Development mode on the default bind, Docker unreachable, no EXEC_ALLOW_LOCAL.
    let app = TestApp::spawn_with(&[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]).await;
    let health = app.get("/api/health", None).await;
    assert_eq!(health.body["exec"]["backend"], "docker", "{}", health.body);
    assert_eq!(health.body["exec"]["isolated"], true, "{}", health.body);
    assert_eq!(health.body["exec"]["available"], false, "{}", health.body);
    let ada = app.signup("Ada").await;
    let marker = std::env::temp_dir().join(format!("oc-host-marker-{}", uuid::Uuid::new_v4()));
    let slug = pad_with(&app, &ada, "python", "m.py", &marker_program(&marker)).await;
    let r = run_wait(&app, &ada.token, &slug, json!({ "entry": "m.py" })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["run"]["outcome"], "unavailable", "{}", r.body);
    assert!(
        r.body["run"]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("docker"),
        "{}",
        r.body
    );
    assert_eq!(r.body["run"]["stdout"], "", "{}", r.body);
    assert!(!marker.exists(), "the program ran on the host");
}

/// Serves `path` as a Docker socket from now on, forwarding every connection to the real daemon.
fn docker_appears_at(path: &std::path::Path) -> tokio::task::JoinHandle<()> {
    let daemon = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".to_string());
    let listener = tokio::net::UnixListener::bind(path).expect("bind the forwarding socket");
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let daemon = daemon.clone();
            tokio::spawn(async move {
                if let Ok(mut upstream) = tokio::net::UnixStream::connect(&daemon).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    })
}

#[tokio::test]
async fn a_docker_daemon_that_comes_up_later_is_used_without_a_restart() {
    oc_sandbox::testing::hold_shared_docker_lock();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("docker.sock");
    let app =
        TestApp::spawn_with(&[("DOCKER_HOST", &format!("unix://{}", socket.display()))]).await;
    let ada = app.signup("Ada").await;
    let marker = std::env::temp_dir().join(format!("oc-host-marker-{}", uuid::Uuid::new_v4()));
    let slug = pad_with(&app, &ada, "python", "m.py", &marker_program(&marker)).await;
    let r = run_wait(&app, &ada.token, &slug, json!({ "entry": "m.py" })).await;
    assert_eq!(r.body["run"]["outcome"], "unavailable", "{}", r.body);

    let _daemon = docker_appears_at(&socket);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let run = loop {
        let r = run_wait(&app, &ada.token, &slug, json!({ "entry": "m.py" })).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        if r.body["run"]["outcome"] != "unavailable" {
            break r.body["run"].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon was never picked up: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(run["outcome"], "ok", "{run}");
    assert_eq!(run["backend"], "docker", "{run}");
    assert_eq!(run["stdout"], "inside 42\n", "{run}");
    assert!(!marker.exists(), "the program ran on the host");
    let health = app.get("/api/health", None).await;
    assert_eq!(health.body["exec"]["available"], true, "{}", health.body);
}

#[tokio::test]
async fn byte_at_a_time_output_is_replayed_from_one_bounded_buffer() {
    const OUTPUT_CAP: usize = 32 * 1024;
    const WRITTEN: usize = 20_000;
    let app = spawn_docker(&[("EXEC_OUTPUT_BYTES", &OUTPUT_CAP.to_string())]).await;
    let ada = app.signup("Ada").await;
    let source = format!(
        // A pause after each byte, so each reaches the server as its own chunk.
        "import sys, time\nfor i in range({WRITTEN}):\n    sys.stdout.write('0123456789'[i % 10])\n    sys.stdout.flush()\n    time.sleep(0.0002)\ntime.sleep(2)\n"
    );
    let expected: String = (0..WRITTEN)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect();
    let slug = pad_with(&app, &ada, "python", "drip.py", &source).await;
    let mut early = collab_support::connect(&app.base, &slug, &ada.token).await;
    early.synced().await;

    // Sample the replay's size for the whole run.
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (exec, sampling) = (app.state.exec.clone(), sampling.clone());
        tokio::spawn(async move {
            let mut max = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                max = max.max(exec.replay_bytes());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            max
        })
    };
    let r = app
        .post(
            &format!("/api/pads/{slug}/runs"),
            Some(&ada.token),
            json!({ "entry": "drip.py", "timeoutMs": 30000 }),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert!(
        early
            .until(Duration::from_secs(30), |p| p.has_app("run.output"))
            .await,
        "no output: {:?}",
        early.apps
    );

    // A socket joining mid-run gets the output so far, then the rest live, each chunk once.
    let mut late = collab_support::connect(&app.base, &slug, &ada.token).await;
    assert!(
        late.until(Duration::from_secs(40), |p| p.has_app("run.finished"))
            .await,
        "the run never finished"
    );
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let max_replay = sampler.await.unwrap();
    let finished = &late.app_messages("run.finished")[0];
    assert_eq!(finished["outcome"], "ok", "{finished}");

    let mut seen = std::collections::BTreeMap::new();
    for chunk in late.app_messages("run.output") {
        let data = chunk["data"].as_str().unwrap().to_string();
        if let Some(earlier) = seen.insert(chunk["seq"].as_u64().unwrap(), data.clone()) {
            assert_eq!(
                earlier, data,
                "a replayed and a live copy of one seq differ"
            );
        }
    }
    let output: String = seen.values().cloned().collect();
    assert_eq!(output.len(), WRITTEN);
    assert!(
        output == expected,
        "the late joiner's output is not the program's"
    );
    // One buffer of at most the output cap (and a little index), whatever the write pattern.
    eprintln!("largest replay: {max_replay} bytes for {WRITTEN} bytes of output");
    assert!(
        max_replay >= WRITTEN,
        "the replay was never sampled full: {max_replay}"
    );
    assert!(
        max_replay <= 2 * OUTPUT_CAP,
        "the replay held {max_replay} bytes for {WRITTEN} bytes of output"
    );
    // Coalesced: a handful of messages, not one per byte.
    assert!(
        seen.len() < 1_000,
        "{} run.output messages for {WRITTEN} bytes",
        seen.len()
    );
}

/// Sandbox containers labelled with `node` (running ones only, or all).
fn node_containers(node: &str, running_only: bool) -> Vec<String> {
    let label = format!("label=opencoder.sandbox.node={node}");
    let mut args = vec!["ps", "-q", "--filter", label.as_str()];
    if !running_only {
        args.push("-a");
    }
    let out = std::process::Command::new("docker")
        .args(&args)
        .output()
        .expect("the docker CLI");
    assert!(
        out.status.success(),
        "docker ps: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Removes what a test's servers left behind, when the test ends (passed or not).
struct RemoveNodeContainers(String);

impl Drop for RemoveNodeContainers {
    fn drop(&mut self) {
        for id in node_containers(&self.0, false) {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f", &id])
                .output();
        }
    }
}

async fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    start.elapsed()
}

fn test_node() -> String {
    format!("test-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

#[tokio::test]
async fn a_killed_server_leaves_no_run_container_past_the_wall_limit() {
    oc_sandbox::testing::hold_shared_docker_lock();
    let node = test_node();
    let _cleanup = RemoveNodeContainers(node.clone());
    let dir = tempfile::tempdir().unwrap();
    let mut server =
        collab_support::BinaryServer::start_with(dir.path(), &[("NODE_ID", &node)]).await;
    let http = server.http();
    let (_, token) = http.signup("Ada").await;
    let pad = http.create_pad(&token).await;
    let (status, body) = http
        .call(
            reqwest::Method::POST,
            &format!("/api/pads/{}/files", pad.slug),
            Some(&token),
            Some(json!({ "name": "nap.py", "content": "import time\nprint('napping', flush=True)\ntime.sleep(600)\n" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut watcher = collab_support::connect(&server.base, &pad.slug, &token).await;
    let wall = Duration::from_secs(2);
    let (status, body) = http
        .call(
            reqwest::Method::POST,
            &format!("/api/pads/{}/runs", pad.slug),
            Some(&token),
            Some(json!({ "entry": "nap.py", "timeoutMs": wall.as_millis() as u64 })),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert!(
        watcher
            .until(Duration::from_secs(30), |p| p.has_app("run.output"))
            .await,
        "the program never started"
    );
    assert_eq!(node_containers(&node, true).len(), 1);

    // The server dies mid-run without any chance to clean up.
    server.kill9();
    let margin = Duration::from_secs(3);
    let limit = wall + oc_sandbox::IN_CONTAINER_GRACE + margin;
    let took = wait_for(
        "the run container stopped after the server died",
        limit,
        || node_containers(&node, true).is_empty(),
    )
    .await;
    eprintln!("run container stopped {took:?} after the server was killed (wall limit {wall:?})");
}

#[tokio::test]
async fn sigterm_drains_the_warm_pool() {
    oc_sandbox::testing::hold_shared_docker_lock();
    let node = test_node();
    let _cleanup = RemoveNodeContainers(node.clone());
    let dir = tempfile::tempdir().unwrap();
    let mut server = collab_support::BinaryServer::start_with(
        dir.path(),
        &[("NODE_ID", &node), ("EXEC_POOL", "python=1")],
    )
    .await;
    wait_for("a warm container", Duration::from_secs(60), || {
        node_containers(&node, true).len() == 1
    })
    .await;
    assert!(server.terminate().success(), "{}", server.log_text());
    let left = node_containers(&node, false);
    assert!(
        left.is_empty(),
        "containers left after SIGTERM: {left:?}\n{}",
        server.log_text()
    );
}

#[tokio::test]
async fn the_start_up_sweep_removes_only_this_nodes_leftovers() {
    oc_sandbox::testing::hold_shared_docker_lock();
    let (node_a, node_b) = (test_node(), test_node());
    let _cleanup = (
        RemoveNodeContainers(node_a.clone()),
        RemoveNodeContainers(node_b.clone()),
    );
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sweep = ("EXEC_REMOVE_LEFTOVERS", "1");
    // Node A crashes with a warm container.
    let mut a = collab_support::BinaryServer::start_with(
        dir_a.path(),
        &[("NODE_ID", &node_a), ("EXEC_POOL", "python=1")],
    )
    .await;
    wait_for("a warm container", Duration::from_secs(60), || {
        node_containers(&node_a, true).len() == 1
    })
    .await;
    a.kill9();
    let leftover = node_containers(&node_a, false);
    assert_eq!(leftover.len(), 1);

    // Node B on the same daemon sweeps at start: A's container is not its to remove.
    let b = collab_support::BinaryServer::start_with(dir_b.path(), &[("NODE_ID", &node_b), sweep])
        .await;
    assert_eq!(
        node_containers(&node_a, false),
        leftover,
        "node B removed node A's container:\n{}",
        b.log_text()
    );
    drop(b);

    // A restarted node A (its id kept in its DATA_DIR) removes it.
    std::fs::write(dir_a.path().join("node_id"), &node_a).unwrap();
    let a = collab_support::BinaryServer::start_with(dir_a.path(), &[sweep]).await;
    drop(a);
    let left = node_containers(&node_a, false);
    assert!(
        left.is_empty(),
        "node A's restart left its leftover: {left:?}"
    );
}

/// A program that prints once and then sleeps far past any limit.
const NAP: &str = "import time\nprint('napping', flush=True)\ntime.sleep(600)\n";

async fn start_run(app: &TestApp, token: &str, slug: &str, entry: &str) -> common::Resp {
    app.post(
        &format!("/api/pads/{slug}/runs"),
        Some(token),
        json!({ "entry": entry, "timeoutMs": 30000 }),
    )
    .await
}

async fn stop(app: &TestApp, token: Option<&str>, slug: &str, run_id: &str) -> common::Resp {
    app.post(
        &format!("/api/pads/{slug}/runs/{run_id}/stop"),
        token,
        json!({}),
    )
    .await
}

#[tokio::test]
async fn a_pad_runs_one_program_at_a_time_and_outputs_never_mix() {
    let app = spawn_docker(&[]).await;
    let ada = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let slug = pad_with(
        &app,
        &ada,
        "python",
        "slow.py",
        "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.5)\n",
    )
    .await;
    app.add_member(&ada, &slug, &bob, "collaborator").await;
    let mut watcher = collab_support::connect(&app.base, &slug, &ada.token).await;
    watcher.synced().await;

    // Presses at the same instant: exactly one starts.
    let presses: Vec<_> = (0..6)
        .map(|i| {
            let client = app.client.clone();
            let url = app.url(&format!("/api/pads/{slug}/runs"));
            let token = if i % 2 == 0 {
                ada.token.clone()
            } else {
                bob.token.clone()
            };
            tokio::spawn(async move {
                let body = json!({ "entry": "slow.py", "timeoutMs": 30000 });
                let res = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut started = Vec::new();
    for press in presses {
        let (status, body) = press.await.unwrap();
        match status {
            202 => started.push(body["runId"].as_str().unwrap().to_string()),
            409 => assert_eq!(body["error"], "run_in_progress", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(
        started.len(),
        1,
        "one of six simultaneous presses starts a run: {started:?}"
    );
    let first_id = started.remove(0);
    // Bob's press 150 ms later, and Ada's own second press, are refused: the first run goes on.
    tokio::time::sleep(Duration::from_millis(150)).await;
    for token in [&bob.token, &ada.token] {
        let second = start_run(&app, token, &slug, "slow.py").await;
        assert_eq!(second.status, 409, "{:?}", second.body);
        assert_eq!(second.body["error"], "run_in_progress");
    }
    assert!(
        watcher
            .until(Duration::from_secs(30), |p| p.has_app("run.finished"))
            .await,
        "the first run never finished"
    );
    assert_eq!(watcher.app_messages("run.started").len(), 1);
    let output: String = watcher
        .app_messages("run.output")
        .iter()
        .inspect(|chunk| assert_eq!(chunk["runId"], first_id.as_str()))
        .map(|chunk| chunk["data"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(output, "tick 0\ntick 1\ntick 2\n");
    let finished = &watcher.app_messages("run.finished")[0];
    assert_eq!(finished["limits"]["timeoutMs"], 30000);
    assert!(finished["limits"]["outputBytes"].as_u64().unwrap() > 0);

    // Once it is over the pad runs again, and another pad was never blocked by it.
    let again = run_wait(&app, &bob.token, &slug, json!({ "entry": "slow.py" })).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["run"]["exitCode"], 0);
}

#[tokio::test]
async fn stopping_a_run_removes_its_container_and_names_who_stopped_it() {
    let node = test_node();
    let _cleanup = RemoveNodeContainers(node.clone());
    let app = spawn_docker(&[("NODE_ID", &node), ("EXEC_POOL", "")]).await;
    let ada = app.signup("Ada").await;
    let carl = app.signup("Carl").await;
    let val = app.signup("Val").await;
    let eve = app.signup("Eve").await;
    let slug = pad_with(&app, &ada, "python", "nap.py", NAP).await;
    app.add_member(&ada, &slug, &carl, "candidate").await;
    app.add_member(&ada, &slug, &val, "viewer").await;
    let mut watcher = collab_support::connect(&app.base, &slug, &val.token).await;
    watcher.synced().await;

    let started = start_run(&app, &ada.token, &slug, "nap.py").await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    let run_id = started.body["runId"].as_str().unwrap().to_string();
    assert!(
        watcher
            .until(Duration::from_secs(30), |p| p.has_app("run.output"))
            .await,
        "the program never started"
    );
    assert_eq!(
        node_containers(&node, false).len(),
        1,
        "one container runs the program"
    );

    // Who may not stop it: nobody signed in, a non-member (who does not learn the pad exists),
    // a viewer; and an id that is no run of this pad.
    assert_eq!(stop(&app, None, &slug, &run_id).await.status, 401);
    assert_eq!(
        stop(&app, Some(&eve.token), &slug, &run_id).await.status,
        404
    );
    let viewer = stop(&app, Some(&val.token), &slug, &run_id).await;
    assert_eq!(viewer.status, 403, "{:?}", viewer.body);
    assert_eq!(
        stop(&app, Some(&carl.token), &slug, "no-such-run")
            .await
            .status,
        404
    );
    let other_pad = pad_with(&app, &ada, "python", "a.py", "print(1)\n").await;
    assert_eq!(
        stop(&app, Some(&ada.token), &other_pad, &run_id)
            .await
            .status,
        404
    );
    assert_eq!(
        node_containers(&node, false).len(),
        1,
        "refused stops leave the run alone"
    );

    // The candidate stops it; asking again while it winds down is not an error.
    let stopped = stop(&app, Some(&carl.token), &slug, &run_id).await;
    assert_eq!(stopped.status, 202, "{:?}", stopped.body);
    let repeat = stop(&app, Some(&ada.token), &slug, &run_id).await;
    assert!(
        matches!(repeat.status.as_u16(), 202 | 409),
        "{:?}",
        repeat.body
    );
    let took = wait_for(
        "the stopped run's container is removed",
        Duration::from_secs(1),
        || node_containers(&node, false).is_empty(),
    )
    .await;
    eprintln!("container removed {took:?} after the stop");

    assert!(
        watcher
            .until(Duration::from_secs(5), |p| p.has_app("run.finished"))
            .await,
        "run.finished never came"
    );
    let finished = &watcher.app_messages("run.finished")[0];
    assert_eq!(finished["runId"], run_id.as_str());
    assert_eq!(finished["outcome"], "stopped");
    assert_eq!(
        finished["stoppedBy"], "Carl",
        "the first stop names the run's stopper: {finished}"
    );

    // Finished: stopping again is a conflict, and the stored run is the pad's last.
    let over = stop(&app, Some(&ada.token), &slug, &run_id).await;
    assert_eq!(over.status, 409, "{:?}", over.body);
    assert_eq!(over.body["error"], "run_finished");
    let mut last = app
        .get(&format!("/api/pads/{slug}/runs/last"), Some(&val.token))
        .await;
    for _ in 0..50 {
        if !last.body["run"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = app
            .get(&format!("/api/pads/{slug}/runs/last"), Some(&val.token))
            .await;
    }
    assert_eq!(last.status, 200, "{:?}", last.body);
    assert_eq!(last.body["run"]["runId"], run_id.as_str());
    assert_eq!(last.body["run"]["outcome"], "stopped");
    assert_eq!(last.body["run"]["stdout"], "napping\n");
    assert_eq!(last.body["run"]["userName"], "Ada");
    assert_eq!(
        last.body["run"]["stoppedBy"], "Carl",
        "a reload still says who stopped it"
    );
    assert!(last.body["limits"]["memoryMb"].as_u64().unwrap() > 0);
    assert_eq!(
        app.get(&format!("/api/pads/{slug}/runs/last"), Some(&eve.token))
            .await
            .status,
        404
    );

    // A collaborator may stop runs too.
    let colin = app.signup("Colin").await;
    app.add_member(&ada, &slug, &colin, "collaborator").await;
    let second = start_run(&app, &ada.token, &slug, "nap.py").await;
    assert_eq!(second.status, 202, "{:?}", second.body);
    let second_id = second.body["runId"].as_str().unwrap().to_string();
    assert_eq!(
        stop(&app, Some(&colin.token), &slug, &second_id)
            .await
            .status,
        202
    );
    let stopped_by_colin = |p: &collab_support::Peer| {
        p.app_messages("run.finished")
            .iter()
            .any(|m| m["runId"] == second_id.as_str() && m["stoppedBy"] == "Colin")
    };
    assert!(
        watcher
            .until(Duration::from_secs(10), stopped_by_colin)
            .await,
        "the collaborator's stop is announced"
    );

    let audited: Vec<(Option<i64>, String)> = sqlx::query_as(
        "SELECT user_id, meta FROM audit_log WHERE action = 'run.stop' AND target = ? ORDER BY id",
    )
    .bind(&slug)
    .fetch_all(app.sql())
    .await
    .unwrap();
    assert!(!audited.is_empty(), "the stop is audited");
    assert_eq!(audited[0].0, Some(carl.id));
    assert!(audited[0].1.contains(&run_id), "{audited:?}");
}

#[tokio::test]
async fn a_pad_without_runs_has_no_last_run() {
    let app = spawn_docker(&[]).await;
    let ada = app.signup("Ada").await;
    let slug = pad_with(&app, &ada, "python", "a.py", "print(1)\n").await;
    let last = app
        .get(&format!("/api/pads/{slug}/runs/last"), Some(&ada.token))
        .await;
    assert_eq!(last.status, 200);
    assert!(last.body["run"].is_null(), "{:?}", last.body);
}
