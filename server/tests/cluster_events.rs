//! Domain events across nodes (`REDIS_URL`): two servers on one database and one Redis. A kick,
//! a logout-everywhere or a deletion made through one node reaches the sockets open on the
//! other; events lost while Redis was down are repaired when it returns.

mod collab_support;
mod common;
mod redis_support;

use std::time::{Duration, Instant};

use collab_support::{connect, Http, TestPad};
use common::TestApp;
use redis_support::RedisServer;
use reqwest::Method;
use serde_json::json;

const SHARED_SECRET: &str = "cluster-events-test-secret-0123456789abcdef";

struct Cluster {
    a: TestApp,
    b: TestApp,
    redis: RedisServer,
}

/// Node A owns the database file; node B opens the same one. Both sign with the same secret,
/// so a token from either works on both.
async fn cluster() -> Cluster {
    let redis = RedisServer::start();
    let url = redis.url();
    let a = TestApp::spawn_with(&[("REDIS_URL", &url), ("JWT_SECRET", SHARED_SECRET)]).await;
    let db_url = format!(
        "sqlite://{}",
        a.state.config.data_dir.join("opencoder.db").display()
    );
    let b = TestApp::spawn_with(&[
        ("REDIS_URL", &url),
        ("JWT_SECRET", SHARED_SECRET),
        ("DATABASE_URL", &db_url),
    ])
    .await;
    Cluster { a, b, redis }
}

async fn owner_and_member(c: &Cluster) -> (String, TestPad, i64, String) {
    let http = Http::new(&c.a.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let (member_id, member) = http.signup("Member").await;
    http.add_member(&owner, &pad, &member, "collaborator").await;
    (owner, pad, member_id, member)
}

#[tokio::test]
async fn a_kick_through_one_node_closes_the_socket_on_the_other_within_a_second() {
    let c = cluster().await;
    let (owner, pad, member_id, member) = owner_and_member(&c).await;
    let mut on_b = connect(&c.b.base, &pad.slug, &member).await;
    on_b.synced().await;

    let started = Instant::now();
    let (status, body) = Http::new(&c.a.base)
        .call(
            Method::DELETE,
            &format!("/api/pads/{}/members/{member_id}", pad.slug),
            Some(&owner),
            None,
        )
        .await;
    assert!(status.is_success(), "kick: {status} {body}");
    assert_eq!(on_b.closed_within(Duration::from_secs(1)).await, Some(4003));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn logout_everywhere_and_deletion_reach_the_other_node() {
    let c = cluster().await;
    let (owner, pad, _, member) = owner_and_member(&c).await;
    let mut member_on_b = connect(&c.b.base, &pad.slug, &member).await;
    let mut owner_on_b = connect(&c.b.base, &pad.slug, &owner).await;
    member_on_b.synced().await;
    owner_on_b.synced().await;

    let (status, _) = Http::new(&c.a.base)
        .call(
            Method::POST,
            "/api/auth/logout-all",
            Some(&member),
            Some(json!({})),
        )
        .await;
    assert!(status.is_success());
    assert_eq!(
        member_on_b.closed_within(Duration::from_secs(1)).await,
        Some(4001)
    );

    let (status, _) = Http::new(&c.a.base)
        .call(
            Method::DELETE,
            &format!("/api/pads/{}", pad.slug),
            Some(&owner),
            None,
        )
        .await;
    assert!(status.is_success());
    assert_eq!(
        owner_on_b.closed_within(Duration::from_secs(1)).await,
        Some(4004)
    );
}

#[tokio::test]
async fn events_lost_while_redis_was_down_are_repaired_when_it_returns() {
    let mut c = cluster().await;
    let (owner, pad, member_id, member) = owner_and_member(&c).await;
    let mut member_on_b = connect(&c.b.base, &pad.slug, &member).await;
    let mut owner_on_b = connect(&c.b.base, &pad.slug, &owner).await;
    member_on_b.synced().await;
    owner_on_b.synced().await;

    c.redis.stop();
    // The kick is committed on A but its event cannot reach B.
    let a = Http::new(&c.a.base);
    let (status, _) = a
        .call(
            Method::DELETE,
            &format!("/api/pads/{}/members/{member_id}", pad.slug),
            Some(&owner),
            None,
        )
        .await;
    assert!(status.is_success());
    assert_eq!(
        member_on_b.closed_within(Duration::from_millis(300)).await,
        None,
        "no transport, no event"
    );
    c.redis.restart();

    // Node B's subscription is back once a fresh event from A gets through.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut round = 0;
    loop {
        round += 1;
        let title = format!("probe {round}");
        a.call(
            Method::PATCH,
            &format!("/api/pads/{}", pad.slug),
            Some(&owner),
            Some(json!({ "title": title })),
        )
        .await;
        let seen = owner_on_b
            .until(Duration::from_millis(300), |p| {
                p.app_messages("pad.changed")
                    .iter()
                    .any(|m| m["pad"]["title"] == title.as_str())
            })
            .await;
        if seen {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node B never heard from node A again after Redis returned"
        );
    }
    // The resync made B re-read the member's role: their next edit is refused and the socket closed.
    member_on_b.append(&pad.file, "after the kick").await;
    assert_eq!(
        member_on_b.closed_within(Duration::from_secs(1)).await,
        Some(4003)
    );
    assert!(!Http::new(&c.b.base)
        .file_text(&owner, &pad, pad.file_id)
        .await
        .contains("after the kick"));
}

#[tokio::test]
async fn a_node_does_not_start_when_redis_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = std::collections::HashMap::new();
    env.insert("DATA_DIR".to_string(), dir.path().display().to_string());
    env.insert(
        "REDIS_URL".to_string(),
        format!("redis+unix://{}/nothing.sock", dir.path().display()),
    );
    let mut config = opencoder::config::Config::from_vars(&env).unwrap();
    config.prepare().unwrap();
    let err = opencoder::AppState::new(config)
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("REDIS_URL: cannot reach Redis"),
        "{err}"
    );
}
