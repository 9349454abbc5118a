//! Liveness (`/healthz`) and readiness (`/readyz`) as a load balancer or an orchestrator sees
//! them: each dependency that goes away turns readiness off and is named, liveness stays on.

mod common;
mod redis_support;

use std::time::{Duration, Instant};

use common::TestApp;
use redis_support::RedisServer;
use serde_json::{json, Value};

/// `/readyz` until `ready` is what we want, within `limit`; the last answer.
async fn readiness_until(app: &TestApp, ready: bool, limit: Duration) -> (u16, Value) {
    let deadline = Instant::now() + limit;
    loop {
        let r = app.get("/readyz", None).await;
        let answer = (r.status.as_u16(), r.body);
        if answer.1["ready"] == json!(ready) || Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_node_without_its_database_is_alive_but_not_ready() {
    let app = TestApp::spawn().await;
    let r = app.get("/healthz", None).await;
    assert_eq!((r.status.as_u16(), &r.body), (200, &json!({ "ok": true })));
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["checks"],
        json!({ "database": true, "exec": true }),
        "no Redis check without REDIS_URL"
    );
    assert_eq!(r.body["failing"], json!([]));
    assert_eq!(
        app.get("/api/health", None).await.body["cluster"],
        false,
        "one node"
    );

    app.state.db.close().await;
    let r = app.get("/readyz", None).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["failing"]),
        (503, &json!(["database"])),
        "{}",
        r.body
    );
    assert_eq!(
        app.get("/healthz", None).await.status,
        200,
        "liveness does not depend on the database"
    );
}

#[tokio::test]
async fn a_node_that_cannot_run_code_is_not_ready_but_still_serves_editing() {
    let app = TestApp::spawn_with(&[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]).await;
    let r = app.get("/readyz", None).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["failing"]),
        (503, &json!(["exec"])),
        "{}",
        r.body
    );
    let r = app.get("/health", None).await;
    assert_eq!(
        r.status, 200,
        "the older check fails only on the database: {}",
        r.body
    );
}

#[tokio::test]
async fn readiness_follows_redis_down_and_back() {
    let mut redis = RedisServer::start();
    let app = TestApp::spawn_with(&[("REDIS_URL", redis.url().as_str())]).await;
    let (status, body) = readiness_until(&app, true, Duration::from_secs(5)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["redis"], true, "{body}");
    assert_eq!(
        app.get("/api/health", None).await.body["cluster"],
        true,
        "several nodes"
    );

    redis.stop();
    let started = Instant::now();
    let (status, body) = readiness_until(&app, false, Duration::from_secs(5)).await;
    assert_eq!(
        (status, &body["failing"]),
        (503, &json!(["redis"])),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a dead Redis is noticed within the check timeout"
    );
    assert_eq!(app.get("/healthz", None).await.status, 200);

    redis.restart();
    let (status, body) = readiness_until(&app, true, Duration::from_secs(15)).await;
    assert_eq!(status, 200, "ready again once Redis is back: {body}");
}
