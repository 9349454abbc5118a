//! Budgets shared across nodes (`REDIS_URL`): adding nodes never multiplies a client's budget.

mod common;
mod redis_support;

use common::TestApp;
use redis_support::RedisServer;
use serde_json::json;

const SHARED_SECRET: &str = "cluster-limits-test-secret-0123456789abcdef";

/// Two nodes on one database and one Redis, signing with one secret.
async fn two_nodes(redis: &RedisServer, limits: &[(&str, &str)]) -> (TestApp, TestApp) {
    let url = redis.url();
    let mut vars = vec![("REDIS_URL", url.as_str()), ("JWT_SECRET", SHARED_SECRET)];
    vars.extend_from_slice(limits);
    let a = TestApp::spawn_with(&vars).await;
    let db_url = format!(
        "sqlite://{}",
        a.state.config.data_dir.join("opencoder.db").display()
    );
    vars.push(("DATABASE_URL", &db_url));
    let b = TestApp::spawn_with(&vars).await;
    (a, b)
}

#[tokio::test]
async fn the_eleventh_sign_up_in_a_minute_is_refused_whichever_node_it_hits() {
    let redis = RedisServer::start();
    let (a, b) = two_nodes(&redis, &[("SIGNUP_RATE_LIMIT_PER_MINUTE", "10")]).await;
    for i in 0..10 {
        let node = if i % 2 == 0 { &a } else { &b };
        let r = node
            .post(
                "/api/auth/guest",
                None,
                json!({ "name": format!("user {i}") }),
            )
            .await;
        assert_eq!(r.status, 201, "sign-up {i}: {:?}", r.body);
    }
    for node in [&a, &b] {
        let r = node
            .post("/api/auth/guest", None, json!({ "name": "one too many" }))
            .await;
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
        statuses.push(
            a.post(
                "/api/auth/guest",
                None,
                json!({ "name": format!("offline {i}") }),
            )
            .await
            .status
            .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [201, 201, 201, 429],
        "the node's own limiter still holds"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "requests do not each wait for a dead Redis"
    );
}

#[tokio::test]
async fn a_password_guesser_alternating_nodes_is_throttled_as_on_one() {
    let redis = RedisServer::start();
    let (a, b) = two_nodes(&redis, &[]).await;
    let ada = a.signup("Ada").await;
    let eve = a.signup("Eve").await;
    let r = a
        .post(
            "/api/pads",
            Some(&ada.token),
            json!({ "title": "Locked", "language": "python" }),
        )
        .await;
    let slug = r.body["pad"]["slug"].as_str().unwrap().to_string();
    let password = json!({ "password": "correct horse battery staple", "role": "viewer" });
    assert_eq!(
        a.put(
            &format!("/api/pads/{slug}/password"),
            Some(&ada.token),
            password
        )
        .await
        .status,
        200
    );

    // Three free failures per client, then a wait of 1 s, 2 s, 4 s … from each counted attempt.
    // Shared, the fifth or sixth guess overall is refused (the sixth only if a guess's bcrypt
    // outlasted the wait); counted per node, alternating guesses would each node see only every
    // other one, and nothing would be refused before the ninth.
    let unlock = format!("/api/pads/{slug}/unlock");
    let guess = json!({ "password": "wrong guess" });
    let mut first_refused = None;
    for i in 0..10 {
        let node = if i % 2 == 0 { &a } else { &b };
        let status = node
            .post(&unlock, Some(&eve.token), guess.clone())
            .await
            .status
            .as_u16();
        if status == 429 {
            first_refused = Some(i);
            break;
        }
        assert_eq!(status, 401, "guess {i}");
    }
    assert!(
        first_refused.is_some_and(|i| (4..=5).contains(&i)),
        "first refused guess: {first_refused:?}"
    );
    let r = b
        .post(
            &unlock,
            Some(&eve.token),
            json!({ "password": "correct horse battery staple" }),
        )
        .await;
    assert_eq!(r.status, 429, "even the right password waits: {:?}", r.body);
    assert!(r.header("retry-after").is_some());
}
