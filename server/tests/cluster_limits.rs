//! Budgets shared across nodes (`REDIS_URL`): adding nodes never multiplies a client's budget.

mod common;
mod redis_support;

use common::TestApp;
use redis_support::RedisServer;
use serde_json::json;

async fn two_nodes(redis: &RedisServer, limits: &[(&str, &str)]) -> (TestApp, TestApp) {
    let url = redis.url();
    let mut vars = vec![("REDIS_URL", url.as_str())];
    vars.extend_from_slice(limits);
    let a = TestApp::spawn_with(&vars).await;
    let b = TestApp::spawn_with(&vars).await;
    (a, b)
}

#[tokio::test]
async fn the_eleventh_sign_up_in_a_minute_is_refused_whichever_node_it_hits() {
    let redis = RedisServer::start();
    let (a, b) = two_nodes(&redis, &[("SIGNUP_RATE_LIMIT_PER_MINUTE", "10")]).await;
    for i in 0..10 {
        let node = if i % 2 == 0 { &a } else { &b };
        let r = node.post("/api/auth/guest", None, json!({ "name": format!("user {i}") })).await;
        assert_eq!(r.status, 201, "sign-up {i}: {:?}", r.body);
    }
    for node in [&a, &b] {
        let r = node.post("/api/auth/guest", None, json!({ "name": "one too many" })).await;
        assert_eq!(r.status, 429, "{:?}", r.body);
        assert!(r.header("retry-after").is_some());
    }
}

#[tokio::test]
async fn the_global_budget_is_one_budget_across_nodes() {
    let redis = RedisServer::start();
    let (a, b) = two_nodes(&redis, &[("RATE_LIMIT_PER_MINUTE", "30")]).await;
    let mut allowed = 0;
    for i in 0..40 {
        let node = if i % 2 == 0 { &a } else { &b };
        if node.get("/api/health", None).await.status != 429 {
            allowed += 1;
        }
    }
    // Each node alone would let 30 through (40 in all here); together they let through 30 (one
    // more if the loop outlasted the 2 s it takes to earn a request back).
    assert!((30..=31).contains(&allowed), "{allowed} allowed");
}

#[tokio::test]
async fn without_redis_each_node_falls_back_to_its_own_budget() {
    let mut redis = RedisServer::start();
    let (a, _b) = two_nodes(&redis, &[("SIGNUP_RATE_LIMIT_PER_MINUTE", "3")]).await;
    redis.stop();
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.push(a.post("/api/auth/guest", None, json!({ "name": format!("offline {i}") })).await.status.as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 429], "the node's own limiter still holds");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "requests do not each wait for a dead Redis");
}
