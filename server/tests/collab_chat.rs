//! Pad chat over the socket and its history endpoint (SPEC §3 "send chat", §4 app messages).

mod collab_support;
mod common;

use std::time::Duration;

use collab_support::{connect, Http, TestPad};
use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn setup() -> (TestApp, Http, String, TestPad) {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    (app, http, owner, pad)
}

#[tokio::test]
async fn chat_is_stored_and_broadcast_with_the_real_name() {
    let (app, http, owner, pad) = setup().await;
    let (viewer_id, viewer) = http.signup("Vera").await;
    http.add_member(&owner, &pad, &viewer, "viewer").await;
    let mut o = connect(&app.base, &pad.slug, &owner).await;
    let mut v = connect(&app.base, &pad.slug, &viewer).await;
    o.synced().await;
    v.synced().await;
    // Viewers may chat; a client-supplied name is ignored.
    v.send_app(json!({ "type": "chat", "body": "  hello there  ", "name": "Owner", "userId": 1 }))
        .await;
    for peer in [&mut o, &mut v] {
        assert!(
            peer.until(Duration::from_secs(2), |p| p.has_app("chat"))
                .await
        );
        let msg = peer.app_messages("chat")[0].clone();
        assert_eq!(msg["body"], "hello there");
        assert_eq!(msg["name"], "Vera");
        assert_eq!(msg["userId"], viewer_id);
        assert!(msg["id"].as_i64().is_some() && msg["at"].as_str().is_some());
    }
    let (status, body) = http
        .call(
            Method::GET,
            &format!("/api/pads/{}/chat", pad.slug),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["messages"][0]["body"], "hello there");
    assert_eq!(body["messages"][0]["name"], "Vera");
    assert_eq!(body["hasMore"], false);
}

#[tokio::test]
async fn chat_bodies_are_validated() {
    let (app, _, owner, pad) = setup().await;
    let mut o = connect(&app.base, &pad.slug, &owner).await;
    o.synced().await;
    for bad in [
        json!({ "type": "chat", "body": "   " }),
        json!({ "type": "chat", "body": "x".repeat(2_001) }),
        json!({ "type": "chat" }),
    ] {
        o.apps.clear();
        o.send_app(bad).await;
        assert!(
            o.until(Duration::from_secs(2), |p| p.has_error("invalid_chat"))
                .await
        );
    }
    o.send_app(json!({ "type": "chat", "body": "é".repeat(2_000) }))
        .await;
    assert!(
        o.until(Duration::from_secs(2), |p| p.has_app("chat")).await,
        "2,000 characters are fine"
    );
    assert!(o.closed.is_none());
}

#[tokio::test]
async fn chat_rate_limit_answers_rate_limited() {
    let (app, _, owner, pad) = setup().await;
    let mut o = connect(&app.base, &pad.slug, &owner).await;
    o.synced().await;
    for i in 0..20 {
        o.send_app(json!({ "type": "chat", "body": format!("m{i}") }))
            .await;
    }
    assert!(
        o.until(Duration::from_secs(3), |p| p.has_error("rate_limited"))
            .await
    );
    o.drain(Duration::from_millis(200)).await;
    let sent = o.app_messages("chat").len();
    assert!(
        (10..20).contains(&sent),
        "{sent} messages got through the burst of 10"
    );
    let limited = o.apps.iter().find(|m| m["code"] == "rate_limited").unwrap();
    assert!(limited["retryAfterMs"].as_u64().unwrap() > 0);
    assert!(o.closed.is_none());
}

#[tokio::test]
async fn chat_history_pages_oldest_first() {
    let (app, http, owner, pad) = setup().await;
    let pad_id = opencoder::db::PadId(pad.id);
    let user: i64 = sqlx::query_scalar("SELECT owner_id FROM pads WHERE id = ?")
        .bind(pad.id)
        .fetch_one(app.sql())
        .await
        .unwrap();
    for i in 0..120 {
        opencoder::collab::chat_store::insert(
            &app.state.db,
            pad_id,
            opencoder::db::UserId(user),
            &format!("m{i}"),
        )
        .await
        .unwrap();
    }
    let path = format!("/api/pads/{}/chat", pad.slug);
    let (status, page) = http.call(Method::GET, &path, Some(&owner), None).await;
    assert_eq!(status, StatusCode::OK);
    let bodies: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 50);
    assert_eq!(bodies[0], "m70");
    assert_eq!(bodies[49], "m119");
    assert_eq!(page["hasMore"], true);

    let before = page["messages"][0]["id"].as_i64().unwrap();
    let (_, page) = http
        .call(
            Method::GET,
            &format!("{path}?before={before}&limit=60"),
            Some(&owner),
            None,
        )
        .await;
    let bodies: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 60);
    assert_eq!((bodies[0], bodies[59]), ("m10", "m69"));
    assert_eq!(page["hasMore"], true);

    let before = page["messages"][0]["id"].as_i64().unwrap();
    let (_, page) = http
        .call(
            Method::GET,
            &format!("{path}?before={before}&limit=200"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 10);
    assert_eq!(page["hasMore"], false);

    for bad in ["limit=0", "limit=201"] {
        let (status, _) = http
            .call(Method::GET, &format!("{path}?{bad}"), Some(&owner), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // Non-members cannot read it, exactly like a missing pad.
    let (_, stranger) = http.signup("Stranger").await;
    let (status, _) = http.call(Method::GET, &path, Some(&stranger), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = http.call(Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
