//! What the take-home tests share: a server with the sandbox, a link, its start, the candidate
//! typing, running the cases and waiting for the grading.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::collab_support::connect;
use crate::common::{self, TestApp, TestUser};

/// A server with the Docker sandbox.
pub async fn spawn() -> TestApp {
    crate::exec_support::spawn_docker(&[]).await
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A take-home link from `question`, open now for an hour; returns its token.
pub async fn takehome(app: &TestApp, owner: &TestUser, question: i64, body: Value) -> String {
    let r = app
        .post(
            &format!("/api/questions/{question}/takehomes"),
            Some(&owner.token),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let url = r.body["url"].as_str().unwrap();
    url.rsplit('/').next().unwrap().to_string()
}

pub fn window(limit_ms: i64) -> Value {
    json!({ "closesAtMs": now_ms() + 3_600_000, "timeLimitMs": limit_ms })
}

/// The candidate starts the take-home; returns the pad's slug and its file id.
pub async fn start(app: &TestApp, candidate: &TestUser, token: &str) -> (String, i64) {
    let r = app
        .post(
            &format!("/api/takehome-links/{token}/start"),
            Some(&candidate.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let slug = r.body["slug"].as_str().unwrap().to_string();
    let files = app
        .get(&format!("/api/pads/{slug}/files"), Some(&candidate.token))
        .await;
    assert_eq!(files.status, StatusCode::OK, "{:?}", files.body);
    (slug, files.body["files"][0]["id"].as_i64().unwrap())
}

/// The candidate types `source` at the top of `file` on the pad socket; waits until the server
/// has it.
pub async fn code(app: &TestApp, candidate: &TestUser, slug: &str, file: i64, source: &str) {
    let mut peer = connect(&app.base, slug, &candidate.token).await;
    peer.synced().await;
    peer.insert(&file.to_string(), 0, source).await;
    for _ in 0..100 {
        let r = app
            .get(
                &format!("/api/pads/{slug}/files/{file}"),
                Some(&candidate.token),
            )
            .await;
        if r.body["content"].as_str().unwrap_or("").contains(source) {
            peer.close().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the solution never reached the server");
}

pub async fn run_tests(app: &TestApp, user: &TestUser, slug: &str, hidden: bool) -> common::Resp {
    app.post(
        &format!("/api/pads/{slug}/tests/run"),
        Some(&user.token),
        json!({ "hidden": hidden }),
    )
    .await
}

pub fn verdicts(results: &Value) -> Vec<(String, bool)> {
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Poll the interviewer's view until the attempt is graded.
pub async fn graded(app: &TestApp, owner: &TestUser, slug: &str) -> Value {
    for _ in 0..300 {
        let r = app
            .get(&format!("/api/pads/{slug}/takehome"), Some(&owner.token))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        if r.body["gradedAtMs"].is_i64() {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the take-home was never graded");
}
