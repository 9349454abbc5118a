//! Helpers of the tests that drive runs over HTTP and the pad socket against the real Docker
//! sandbox (the run console, the REPL).
#![allow(dead_code)]

use std::time::Duration;

use serde_json::Value;

use crate::collab_support::{self, Peer};
use crate::common::{TestApp, TestUser};

/// How long a test waits for a run's messages.
pub const WAIT: Duration = Duration::from_secs(30);

/// A server with the Docker sandbox (and `vars`); fails unless Docker and the runner image are there.
pub async fn spawn_docker(vars: &[(&str, &str)]) -> TestApp {
    // The sandbox's daemon-restart test takes this lock exclusively; never run beside it.
    oc_sandbox::testing::hold_shared_docker_lock();
    let app = TestApp::spawn_with(vars).await;
    let health = app.get("/api/health", None).await;
    assert_eq!(
        health.body["exec"]["backend"], "docker",
        "these tests need Docker and the runner image: run scripts/ensure-docker.sh and scripts/build-runner-image.sh (health: {})",
        health.body
    );
    app
}

/// `POST /api/pads/{slug}/runs` with `body`, answered 202; the run's id.
pub async fn start(app: &TestApp, user: &TestUser, slug: &str, body: Value) -> String {
    let r = app
        .post(&format!("/api/pads/{slug}/runs"), Some(&user.token), body)
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    r.body["runId"].as_str().unwrap().to_string()
}

/// `user`'s pad socket on `slug`, synced.
pub async fn joined(app: &TestApp, slug: &str, user: &TestUser) -> Peer {
    let mut peer = collab_support::connect(&app.base, slug, &user.token).await;
    peer.synced().await;
    peer
}

/// The run's output as a peer saw it, replayed and live copies counted once, input marked `[in:…]`.
pub fn transcript(peer: &Peer, run_id: &str) -> String {
    let mut chunks = std::collections::BTreeMap::new();
    for m in peer
        .app_messages("run.output")
        .into_iter()
        .filter(|m| m["runId"] == run_id)
    {
        let data = m["data"].as_str().unwrap();
        let text = if m["stream"] == "stdin" {
            format!("[in:{data}]")
        } else {
            data.to_string()
        };
        chunks.insert(m["seq"].as_u64().unwrap(), text);
    }
    chunks.into_values().collect()
}

/// The codes of the `error` messages a peer got in answer to messages of type `re`.
pub fn errors<'a>(peer: &'a Peer, re: &str) -> Vec<&'a str> {
    peer.app_messages("error")
        .into_iter()
        .filter(|m| m["re"] == re)
        .map(|m| m["code"].as_str().unwrap())
        .collect()
}
