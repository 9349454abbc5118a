//! Roles on every socket message (SPEC §3): read-only refusals, kick, downgrade, revocation and
//! deletion reaching open sockets at once.

mod collab_support;
mod common;

use std::time::{Duration, Instant};

use collab_support::{connect, connect_with, new_doc, Http, TestPad};
use common::TestApp;
use reqwest::Method;
use serde_json::json;

struct Setup {
    app: TestApp,
    http: Http,
    owner: String,
    pad: TestPad,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    Setup {
        app,
        http,
        owner,
        pad,
    }
}

async fn logged(app: &TestApp, pad: i64) -> i64 {
    app.state.docs.flush_log().await;
    sqlx::query_scalar("SELECT COUNT(*) FROM doc_updates WHERE pad_id = ?")
        .bind(pad)
        .fetch_one(app.sql())
        .await
        .unwrap()
}

#[tokio::test]
async fn viewer_update_is_refused_told_and_not_persisted() {
    let s = setup().await;
    let (_, viewer) = s.http.signup("Viewer").await;
    s.http.add_member(&s.owner, &s.pad, &viewer, "viewer").await;
    let before_text = s.http.file_text(&s.owner, &s.pad, s.pad.file_id).await;
    let before_rows = logged(&s.app, s.pad.id).await;

    let mut owner = connect(&s.app.base, &s.pad.slug, &s.owner).await;
    owner.synced().await;
    let mut v = connect(&s.app.base, &s.pad.slug, &viewer).await;
    v.synced().await;
    v.insert(&s.pad.file, 0, "VIEWER WAS HERE").await;
    assert!(
        v.until(Duration::from_secs(2), |p| p.permission_denied > 0
            && p.has_error("read_only"))
            .await
    );

    // Not relayed, not applied, not logged.
    owner.drain(Duration::from_millis(200)).await;
    assert!(!owner.text(&s.pad.file).contains("VIEWER"));
    assert_eq!(
        s.http.file_text(&s.owner, &s.pad, s.pad.file_id).await,
        before_text
    );
    assert_eq!(logged(&s.app, s.pad.id).await, before_rows);

    // The viewer's socket stays open and keeps receiving edits.
    owner.insert(&s.pad.file, 0, "owner edit ").await;
    assert!(
        v.until(Duration::from_secs(2), |p| p
            .text(&s.pad.file)
            .contains("owner edit"))
            .await
    );
    assert!(v.closed.is_none());
}

#[tokio::test]
async fn kicked_member_is_closed_with_4003_within_a_second_and_cannot_reconnect() {
    let s = setup().await;
    let (kicked_id, kicked) = s.http.signup("Kicked").await;
    s.http
        .add_member(&s.owner, &s.pad, &kicked, "collaborator")
        .await;
    let mut k1 = connect(&s.app.base, &s.pad.slug, &kicked).await;
    let mut k2 = connect(&s.app.base, &s.pad.slug, &kicked).await;
    k1.synced().await;
    k2.synced().await;
    let mut owner = connect(&s.app.base, &s.pad.slug, &s.owner).await;
    owner.synced().await;

    let started = Instant::now();
    let (status, body) = s
        .http
        .call(
            Method::DELETE,
            &format!("/api/pads/{}/members/{kicked_id}", s.pad.slug),
            Some(&s.owner),
            None,
        )
        .await;
    assert!(status.is_success(), "kick: {status} {body}");
    assert_eq!(k1.closed_within(Duration::from_secs(1)).await, Some(4003));
    assert_eq!(k2.closed_within(Duration::from_secs(1)).await, Some(4003));
    assert!(started.elapsed() < Duration::from_secs(1));

    let proto = format!("opencoder.v1, oc.bearer.{kicked}");
    let again = connect_with(
        &s.app.base,
        &s.pad.slug,
        &[("sec-websocket-protocol", &proto)],
        new_doc(),
    )
    .await;
    assert_eq!(again.err(), Some(404));

    // The owner is unaffected and told about the membership change.
    assert!(
        owner
            .until(Duration::from_secs(2), |p| p.has_app("members.changed"))
            .await
    );
    assert!(owner.closed.is_none());
}

#[tokio::test]
async fn downgrade_to_viewer_applies_on_the_next_message() {
    let s = setup().await;
    let (member_id, member) = s.http.signup("Member").await;
    s.http
        .add_member(&s.owner, &s.pad, &member, "collaborator")
        .await;
    let mut m = connect(&s.app.base, &s.pad.slug, &member).await;
    m.synced().await;
    m.insert(&s.pad.file, 0, "before ").await;
    m.drain(Duration::from_millis(100)).await;
    assert!(!m.has_error("read_only"));

    let (status, body) = s
        .http
        .call(
            Method::PATCH,
            &format!("/api/pads/{}/members/{member_id}", s.pad.slug),
            Some(&s.owner),
            Some(json!({ "role": "viewer" })),
        )
        .await;
    assert!(status.is_success(), "downgrade: {status} {body}");
    assert!(
        m.until(Duration::from_secs(2), |p| p.has_app("members.changed"))
            .await
    );
    m.insert(&s.pad.file, 0, "after ").await;
    assert!(
        m.until(Duration::from_secs(2), |p| p.has_error("read_only"))
            .await
    );
    assert!(m.closed.is_none(), "a downgraded member keeps reading");
    let text = s.http.file_text(&s.owner, &s.pad, s.pad.file_id).await;
    assert!(text.starts_with("before "), "{text}");
    assert!(!text.contains("after "));
}

#[tokio::test]
async fn new_member_is_announced_with_members_changed() {
    let s = setup().await;
    let mut owner = connect(&s.app.base, &s.pad.slug, &s.owner).await;
    owner.synced().await;
    let (joiner_id, joiner) = s.http.signup("Joiner").await;
    s.http
        .add_member(&s.owner, &s.pad, &joiner, "candidate")
        .await;
    assert!(
        owner
            .until(Duration::from_secs(2), |p| p
                .app_messages("members.changed")
                .iter()
                .any(|m| m["members"].as_array().unwrap().iter().any(|e| e
                    ["userId"]
                    == joiner_id
                    && e["role"] == "candidate"
                    && e["name"] == "Joiner")))
            .await
    );
}

#[tokio::test]
async fn logout_everywhere_closes_sockets_with_4001() {
    let s = setup().await;
    let mut owner = connect(&s.app.base, &s.pad.slug, &s.owner).await;
    owner.synced().await;
    let (status, _) = s
        .http
        .call(
            Method::POST,
            "/api/auth/logout-all",
            Some(&s.owner),
            Some(json!({})),
        )
        .await;
    assert!(status.is_success());
    assert_eq!(
        owner.closed_within(Duration::from_secs(1)).await,
        Some(4001)
    );
}

#[tokio::test]
async fn deleting_the_pad_closes_sockets_with_4004() {
    let s = setup().await;
    let (_, member) = s.http.signup("Member").await;
    s.http.add_member(&s.owner, &s.pad, &member, "viewer").await;
    let mut m = connect(&s.app.base, &s.pad.slug, &member).await;
    m.synced().await;
    let (status, body) = s
        .http
        .call(
            Method::DELETE,
            &format!("/api/pads/{}", s.pad.slug),
            Some(&s.owner),
            None,
        )
        .await;
    assert!(status.is_success(), "delete: {status} {body}");
    assert_eq!(m.closed_within(Duration::from_secs(1)).await, Some(4004));
}
