//! The run API over real HTTP against the real Docker sandbox (SPEC §5). Docker and the runner
//! image are required: `make test` provides them; without them these tests fail and say how.

mod collab_support;
mod common;

use std::time::Duration;

use common::{TestApp, TestUser};
use serde_json::{json, Value};

async fn spawn(extra: &[(&str, &str)]) -> TestApp {
    // The sandbox's daemon-restart test takes this lock exclusively; never run beside it.
    oc_sandbox::testing::hold_shared_docker_lock();
    let app = TestApp::spawn_with(extra).await;
    let health = app.get("/api/health", None).await;
    assert_eq!(
        health.body["exec"]["backend"], "docker",
        "these tests need Docker and the runner image: run scripts/ensure-docker.sh and scripts/build-runner-image.sh (health: {})",
        health.body
    );
    app
}

/// A pad whose file `name` holds `source`.
async fn pad_with(app: &TestApp, user: &TestUser, language: &str, name: &str, source: &str) -> String {
    let pad = app.post("/api/pads", Some(&user.token), json!({ "title": "runs", "language": language })).await;
    assert_eq!(pad.status, 201, "{:?}", pad.body);
    let slug = pad.body["pad"]["slug"].as_str().unwrap().to_string();
    let file = app
        .post(&format!("/api/pads/{slug}/files"), Some(&user.token), json!({ "name": name, "content": source }))
        .await;
    assert_eq!(file.status, 201, "{:?}", file.body);
    slug
}

async fn run_wait(app: &TestApp, token: &str, slug: &str, body: Value) -> common::Resp {
    app.post(&format!("/api/pads/{slug}/runs?wait=1"), Some(token), body).await
}

#[tokio::test]
async fn python_runs_with_stdin_and_the_run_is_stored() {
    let app = spawn(&[]).await;
    let ada = app.signup("Ada").await;
    let slug = pad_with(&app, &ada, "python", "echo.py", "import sys\nprint('got', sys.stdin.read().strip())\n").await;
    let r = run_wait(&app, &ada.token, &slug, json!({ "entry": "echo.py", "stdin": "hello sandbox" })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let run = &r.body["run"];
    assert_eq!(run["stdout"], "got hello sandbox\n");
    assert_eq!(run["exitCode"], 0);
    assert_eq!(run["backend"], "docker");
    assert_eq!(run["timedOut"], false);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE id = ?")
        .bind(run["runId"].as_str().unwrap())
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn without_wait_the_run_is_accepted_and_reported_later() {
    let app = spawn(&[]).await;
    let ada = app.signup("Ada").await;
    let slug = pad_with(&app, &ada, "python", "a.py", "print(1)\n").await;
    let r = app.post(&format!("/api/pads/{slug}/runs"), Some(&ada.token), json!({ "entry": "a.py" })).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let run_id = r.body["runId"].as_str().unwrap().to_string();
    let mut stored = 0i64;
    for _ in 0..300 {
        stored = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE id = ?").bind(&run_id).fetch_one(app.state.db.pool()).await.unwrap();
        if stored == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored, 1, "the background run never finished");
}

#[tokio::test]
async fn roles_and_limits_are_enforced() {
    let app = spawn(&[("EXEC_MAX_STDIN_BYTES", "1024"), ("EXEC_MAX_SOURCE_BYTES", "2048")]).await;
    let ada = app.signup("Ada").await;
    let eve = app.signup("Eve").await;
    let slug = pad_with(&app, &ada, "python", "a.py", "print(1)\n").await;

    // Non-members do not learn that the pad exists; anonymous callers must sign in.
    assert_eq!(run_wait(&app, &eve.token, &slug, json!({})).await.status, 404);
    assert_eq!(app.post(&format!("/api/pads/{slug}/runs"), None, json!({})).await.status, 401);

    // A viewer may watch but not run.
    let invite = app.post(&format!("/api/pads/{slug}/invites"), Some(&ada.token), json!({ "role": "viewer" })).await;
    let token = invite.body["invite"]["token"].as_str().unwrap();
    assert_eq!(app.post(&format!("/api/invites/{token}/accept"), Some(&eve.token), json!({})).await.status, 200);
    assert_eq!(run_wait(&app, &eve.token, &slug, json!({})).await.status, 403);

    // Bad requests are named.
    let bad_timeout = run_wait(&app, &ada.token, &slug, json!({ "timeoutMs": 60000 })).await;
    assert_eq!(bad_timeout.body["error"], "invalid_timeout");
    let bad_entry = run_wait(&app, &ada.token, &slug, json!({ "entry": "../etc/passwd" })).await;
    assert_eq!(bad_entry.body["error"], "unknown_entry");
    let bad_language = run_wait(&app, &ada.token, &slug, json!({ "language": "cobol" })).await;
    assert_eq!(bad_language.body["error"], "unknown_language");

    // Oversized stdin and sources are refused before anything runs.
    let big_stdin = run_wait(&app, &ada.token, &slug, json!({ "stdin": "x".repeat(2000) })).await;
    assert_eq!(big_stdin.status, 413, "{:?}", big_stdin.body);
    assert_eq!(big_stdin.body["error"], "payload_too_large");
    let big = app
        .post(&format!("/api/pads/{slug}/files"), Some(&ada.token), json!({ "name": "big.py", "content": "#".repeat(4000) }))
        .await;
    assert_eq!(big.status, 201);
    assert_eq!(run_wait(&app, &ada.token, &slug, json!({ "entry": "a.py" })).await.status, 413);

}

#[tokio::test]
async fn a_timeout_is_reported() {
    let app = spawn(&[]).await;
    let ada = app.signup("Ada").await;
    let slug = pad_with(&app, &ada, "python", "loop.py", "while True:\n    pass\n").await;
    let r = run_wait(&app, &ada.token, &slug, json!({ "entry": "loop.py", "timeoutMs": 1000 })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["run"]["timedOut"], true);
    assert_eq!(r.body["run"]["outcome"], "timeout");
}

#[tokio::test]
async fn concurrent_runs_respect_global_and_per_user_limits() {
    // Two runs at a time overall, two per user, a queue of twenty.
    let app = spawn(&[("EXEC_CONCURRENCY", "2"), ("EXEC_PER_USER_CONCURRENCY", "2"), ("EXEC_QUEUE", "20")]).await;
    let program = "import time\nprint(time.time())\ntime.sleep(1.5)\nprint(time.time())\n";
    let mut users = Vec::new();
    for i in 0..5 {
        let user = app.signup(&format!("user{i}")).await;
        let slug = pad_with(&app, &user, "python", "s.py", program).await;
        users.push((user, slug));
    }
    // Each user fires four runs at once: two are admitted, the rest refused with 429.
    let mut handles = Vec::new();
    for (user, slug) in &users {
        for _ in 0..4 {
            let client = app.client.clone();
            let url = app.url(&format!("/api/pads/{slug}/runs?wait=1"));
            let token = user.token.clone();
            handles.push(tokio::spawn(async move {
                let res = client.post(url).bearer_auth(token).json(&json!({ "entry": "s.py" })).send().await.unwrap();
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
        let overlapping = intervals.iter().filter(|&&(s, e)| s <= start && start < e).count();
        assert!(overlapping <= 2, "{overlapping} runs overlapped at {start}");
    }
}

#[tokio::test]
async fn metrics_and_languages_are_published() {
    let app = spawn(&[]).await;
    let ada = app.signup("Ada").await;
    let slug = pad_with(&app, &ada, "python", "m.py", "print('m')\n").await;
    assert_eq!(run_wait(&app, &ada.token, &slug, json!({ "entry": "m.py" })).await.status, 200);
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("opencoder_exec_runs_total{backend=\"docker\",language=\"python\",outcome=\"ok\"} 1"), "{metrics}");
    assert!(metrics.contains("opencoder_exec_run_duration_seconds_count{language=\"python\"} 1"), "{metrics}");
    assert!(metrics.contains("opencoder_exec_queue_waiting 0"));
    let languages = app.get("/api/languages", None).await;
    let ids: Vec<&str> = languages.body["languages"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    for id in ["python", "javascript", "typescript", "go", "rust", "java", "c", "cpp", "ruby", "csharp"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

#[tokio::test]
async fn everyone_on_the_pad_sees_the_run_stream_live() {
    let app = spawn(&[]).await;
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
    let finished = watcher.until(Duration::from_secs(10), |p| p.has_app("run.finished")).await;
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
    let app = spawn(&[]).await;
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
    let r = run_wait(&app, &ada.token, &slug, json!({ "entry": "net.py", "timeoutMs": 20000 })).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let stdout = r.body["run"]["stdout"].as_str().unwrap_or_default();
    assert!(!stdout.contains("REACHED"), "the sandbox reached the network:\n{stdout}");
    assert_eq!(stdout.matches("blocked").count(), 5, "{stdout}");
    assert!(stdout.ends_with("1\n"), "capabilities were not all dropped:\n{stdout}");
    // The server is unharmed.
    assert_eq!(app.get("/api/health", None).await.status, 200);
}

#[tokio::test]
async fn a_late_joiner_sees_a_run_in_progress_from_its_start() {
    let app = spawn(&[]).await;
    let ada = app.signup("Ada").await;
    let source = "import time\nprint('first', flush=True)\ntime.sleep(3)\nprint('second', flush=True)\n";
    let slug = pad_with(&app, &ada, "python", "slow.py", source).await;
    let mut early = collab_support::connect(&app.base, &slug, &ada.token).await;
    early.synced().await;
    let r = app.post(&format!("/api/pads/{slug}/runs"), Some(&ada.token), json!({ "entry": "slow.py" })).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let first_seen = early
        .until(Duration::from_secs(20), |p| p.has_app("run.output"))
        .await;
    assert!(first_seen, "the early watcher never saw the first line: {:?}", early.apps);

    let mut late = collab_support::connect(&app.base, &slug, &ada.token).await;
    assert!(late.until(Duration::from_secs(20), |p| p.has_app("run.finished")).await, "the run never finished for the late joiner");
    assert_eq!(late.app_messages("run.started").len(), 1, "the replay carries run.started");
    // Replayed and live copies share a seq; counted once, the output is whole and in order.
    let mut seen = std::collections::BTreeMap::new();
    for chunk in late.app_messages("run.output") {
        seen.insert(chunk["seq"].as_u64().unwrap(), chunk["data"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.values().cloned().collect::<String>(), "first\nsecond\n");
}
