//! The smaller leaks: invite tokens in the request log, audit writes that fail open, SQLite's
//! durability setting, recovery-key rotation leaving other sessions alive, and an unauthenticated
//! `/health` that pinged Docker on every call and told anyone the version.

mod collab_support;
mod common;

use std::time::Duration;

use collab_support::BinaryServer;
use common::{TestApp, TestUser};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

// ---------------------------------------------------------------------------------------------
// (a) Invite tokens never reach the request log.

#[tokio::test]
async fn invite_tokens_in_paths_are_redacted_from_the_request_log() {
    let data = tempfile::tempdir().unwrap();
    let server = BinaryServer::start(data.path()).await;
    let http = server.http();
    let (_, owner) = http.signup("Ada").await;
    let (_, guest) = http.signup("Bob").await;
    let pad = http.create_pad(&owner).await;
    let (status, body) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/invites", pad.slug),
            Some(&owner),
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["invite"]["token"].as_str().unwrap().to_string();
    let (status, _) = http
        .call(Method::GET, &format!("/api/invites/{token}"), None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = http
        .call(
            Method::POST,
            &format!("/api/invites/{token}/accept"),
            Some(&guest),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The client's invite page, served by the static fallback (whatever it answers, it is logged).
    http.client
        .get(format!("{}/invite/{token}", server.base))
        .send()
        .await
        .unwrap();

    let mut log = String::new();
    for _ in 0..100 {
        log = server.log_text();
        if log.matches("/invite").count() >= 3 && log.contains("/accept") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !log.contains(&token),
        "the invite token is in the log:\n{log}"
    );
    assert!(log.contains("/api/invites/[redacted]/accept"), "{log}");
    assert!(log.contains("/api/invites/[redacted]"), "{log}");
    assert!(log.contains("/invite/[redacted]"), "{log}");
    // Other paths are logged as they are.
    assert!(
        log.contains(&format!("/api/pads/{}/invites", pad.slug)),
        "{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// (b) Sensitive actions fail closed when their audit row cannot be written.

/// Make every INSERT into `audit_log` fail, through a second connection to the app's database
/// file (as a full disk or a broken table would).
async fn break_audit_writes(app: &TestApp) {
    let path = app.state.config.data_dir.join("opencoder.db");
    let mut conn = SqliteConnectOptions::new()
        .filename(&path)
        .connect()
        .await
        .unwrap();
    sqlx::query("CREATE TRIGGER audit_broken BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END")
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn audit_row_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(app.sql())
        .await
        .unwrap()
}

async fn role_on(app: &TestApp, slug: &str, user: &TestUser) -> Option<String> {
    sqlx::query_scalar("SELECT m.role FROM pad_members m JOIN pads p ON p.id = m.pad_id WHERE p.slug = ? AND m.user_id = ?")
        .bind(slug)
        .bind(user.id)
        .fetch_optional(app.sql())
        .await
        .unwrap()
}

async fn has_password(app: &TestApp, slug: &str) -> bool {
    sqlx::query_scalar("SELECT password_hash IS NOT NULL FROM pads WHERE slug = ?")
        .bind(slug)
        .fetch_one(app.sql())
        .await
        .unwrap()
}

fn assert_internal(r: &common::Resp, what: &str) {
    assert_eq!(
        r.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{what}: {:?}",
        r.body
    );
    assert_eq!(r.body["error"], "internal", "{what}");
}

#[tokio::test]
async fn sensitive_actions_do_not_happen_when_they_cannot_be_audited() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let cat = app.signup("Cat").await;
    let slug = app.create_pad(&ada, json!({ "title": "audited" })).await["pad"]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    app.add_member(&ada, &slug, &bob, "viewer").await;
    app.add_member(&ada, &slug, &cat, "collaborator").await;
    let rec = app
        .post(
            &format!("/api/pads/{slug}/recordings"),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(rec.status, StatusCode::CREATED, "{:?}", rec.body);
    let rec = rec.body["recording"]["id"].as_i64().unwrap();
    assert_eq!(
        app.post(
            &format!("/api/pads/{slug}/recordings/{rec}/stop"),
            Some(&ada.token),
            json!({})
        )
        .await
        .status,
        200
    );
    let rows_before = audit_row_count(&app).await;

    break_audit_writes(&app).await;

    let r = app
        .patch(
            &format!("/api/pads/{slug}/members/{}", bob.id),
            Some(&ada.token),
            json!({ "role": "collaborator" }),
        )
        .await;
    assert_internal(&r, "role change");
    assert_eq!(
        role_on(&app, &slug, &bob).await.as_deref(),
        Some("viewer"),
        "the role did not change"
    );

    let r = app
        .delete(
            &format!("/api/pads/{slug}/members/{}", bob.id),
            Some(&ada.token),
        )
        .await;
    assert_internal(&r, "kick");
    assert_eq!(
        role_on(&app, &slug, &bob).await.as_deref(),
        Some("viewer"),
        "Bob is still a member"
    );

    let r = app
        .post(
            &format!("/api/pads/{slug}/leave"),
            Some(&cat.token),
            json!({}),
        )
        .await;
    assert_internal(&r, "leave");
    assert_eq!(
        role_on(&app, &slug, &cat).await.as_deref(),
        Some("collaborator"),
        "Cat is still a member"
    );

    let live_invites = || async {
        let live = app
            .get(&format!("/api/pads/{slug}/invites"), Some(&ada.token))
            .await;
        assert_eq!(live.status, 200);
        live.body["invites"].as_array().unwrap().len()
    };
    let before = live_invites().await;
    let r = app
        .post(
            &format!("/api/pads/{slug}/invites"),
            Some(&ada.token),
            json!({ "role": "collaborator" }),
        )
        .await;
    assert_internal(&r, "invite");
    assert!(r.body.get("invite").is_none(), "no token was handed out");
    assert_eq!(live_invites().await, before, "no usable invite was added");

    let r = app
        .put(
            &format!("/api/pads/{slug}/password"),
            Some(&ada.token),
            json!({ "password": "hunter22", "role": "viewer" }),
        )
        .await;
    assert_internal(&r, "password");
    assert!(!has_password(&app, &slug).await, "no password was set");

    let r = app
        .delete(
            &format!("/api/pads/{slug}/recordings/{rec}"),
            Some(&ada.token),
        )
        .await;
    assert_internal(&r, "recording deletion");
    assert_eq!(
        app.get(&format!("/api/pads/{slug}/recordings"), Some(&ada.token))
            .await
            .body["recordings"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let r = app
        .delete(&format!("/api/pads/{slug}"), Some(&ada.token))
        .await;
    assert_internal(&r, "pad deletion");
    assert_eq!(
        app.get(&format!("/api/pads/{slug}"), Some(&ada.token))
            .await
            .status,
        200,
        "the pad still exists"
    );

    let r = app
        .post("/api/auth/recovery-key", Some(&ada.token), json!({}))
        .await;
    assert_internal(&r, "recovery-key rotation");
    assert_eq!(
        app.get("/api/auth/me", Some(&ada.token)).await.status,
        200,
        "the session was not ended"
    );
    let recovered = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": ada.recovery_key }),
        )
        .await;
    assert_eq!(
        recovered.status, 200,
        "the old key still works: {:?}",
        recovered.body
    );

    let r = app
        .post("/api/auth/logout-all", Some(&bob.token), json!({}))
        .await;
    assert_internal(&r, "logout everywhere");
    assert_eq!(
        app.get("/api/auth/me", Some(&bob.token)).await.status,
        200,
        "Bob's sessions were not ended"
    );

    let r = app
        .request(
            reqwest::Method::DELETE,
            "/api/auth/me",
            Some(&cat.token),
            Some(json!({ "confirm": "DELETE" })),
        )
        .await;
    assert_internal(&r, "account deletion");
    assert_eq!(
        app.get("/api/auth/me", Some(&cat.token)).await.status,
        200,
        "Cat's account still exists"
    );

    assert_eq!(audit_row_count(&app).await, rows_before);
}

// ---------------------------------------------------------------------------------------------
// (d) Rotating the recovery key ends every other session.

#[tokio::test]
async fn rotating_the_recovery_key_signs_out_every_other_session() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    // A second login of the same account, e.g. whoever else had the old key.
    let other = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": ada.recovery_key }),
        )
        .await;
    assert_eq!(other.status, 200);
    let other_token = other.body["token"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("/api/auth/me", Some(&other_token)).await.status,
        200
    );

    let rotated = app
        .post("/api/auth/recovery-key", Some(&ada.token), json!({}))
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new_key = rotated.body["recoveryKey"].as_str().unwrap().to_string();
    let fresh = rotated.body["token"]
        .as_str()
        .expect("the caller gets a fresh token")
        .to_string();
    assert_eq!(rotated.body["user"]["id"], ada.id);
    assert!(
        rotated.header("set-cookie").unwrap().contains(&fresh),
        "the cookie carries the fresh session"
    );

    assert_eq!(
        app.get("/api/auth/me", Some(&other_token)).await.status,
        401,
        "the other login is ended"
    );
    assert_eq!(
        app.get("/api/auth/me", Some(&ada.token)).await.status,
        401,
        "tokens from before the rotation are ended"
    );
    let me = app.get("/api/auth/me", Some(&fresh)).await;
    assert_eq!(
        (me.status.as_u16(), me.body["user"]["id"].as_i64()),
        (200, Some(ada.id)),
        "the caller continues"
    );
    assert_eq!(
        app.post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": ada.recovery_key })
        )
        .await
        .status,
        401
    );
    assert_eq!(
        app.post("/api/auth/recover", None, json!({ "recoveryKey": new_key }))
            .await
            .status,
        200
    );
}

// ---------------------------------------------------------------------------------------------
// (e) /health: cached, and no version.

#[tokio::test]
async fn health_checks_the_sandbox_once_per_ttl_and_tells_strangers_no_version() {
    let app = TestApp::spawn().await;
    let first = app.get("/health", None).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let checked_at = first.body["exec"]["checkedAt"]
        .as_i64()
        .expect("when the sandbox was checked");
    for i in 0..100 {
        let r = app.get("/health", None).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.body["exec"]["checkedAt"].as_i64(),
            Some(checked_at),
            "call {i} checked the sandbox again"
        );
    }
    assert_eq!(app.state.health.checks(), 1, "101 calls, one sandbox check");

    let body = first.body.as_object().unwrap();
    assert!(!body.contains_key("version"), "{body:?}");
    assert!(first.body["exec"].get("detail").is_none(), "{body:?}");
    assert!(
        !first.body.to_string().contains(env!("CARGO_PKG_VERSION")),
        "{body:?}"
    );

    // /api/health shares the check; only a signed-in caller sees the version and the detail.
    let anonymous = app.get("/api/health", None).await;
    assert_eq!(anonymous.status, 200);
    assert!(
        anonymous.body.get("version").is_none(),
        "{:?}",
        anonymous.body
    );
    assert!(
        anonymous.body["exec"].get("detail").is_none(),
        "{:?}",
        anonymous.body
    );
    assert!(
        anonymous.body["exec"]["isolated"].is_boolean()
            && anonymous.body["exec"]["backend"].is_string()
    );
    let ada = app.signup("Ada").await;
    let signed_in = app.get("/api/health", Some(&ada.token)).await;
    assert_eq!(
        signed_in.body["version"],
        Value::from(env!("CARGO_PKG_VERSION"))
    );
    assert!(
        signed_in.body["exec"]["detail"].is_string(),
        "{:?}",
        signed_in.body
    );
    assert_eq!(app.state.health.checks(), 1);
}
