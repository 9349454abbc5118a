//! Pad socket authentication and authorization (SPEC §2 WebSocket auth, §3 roles).

mod collab_support;
mod common;

use std::time::Duration;

use collab_support::{connect, connect_with, new_doc, Http};
use common::TestApp;

async fn setup() -> (TestApp, Http, String, collab_support::TestPad) {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    (app, http, owner, pad)
}

fn bearer(token: &str) -> String {
    format!("opencoder.v1, oc.bearer.{token}")
}

#[tokio::test]
async fn anonymous_upgrade_is_401() {
    let (app, _, _, pad) = setup().await;
    let refused = connect_with(
        &app.base,
        &pad.slug,
        &[("sec-websocket-protocol", "opencoder.v1")],
        new_doc(),
    )
    .await;
    assert_eq!(refused.err(), Some(401));
    let refused = connect_with(
        &app.base,
        &pad.slug,
        &[("sec-websocket-protocol", &bearer("not-a-jwt"))],
        new_doc(),
    )
    .await;
    assert_eq!(refused.err(), Some(401));
}

#[tokio::test]
async fn non_member_and_missing_pad_get_the_same_404() {
    let (app, http, _, pad) = setup().await;
    let (_, stranger) = http.signup("Stranger").await;
    let proto = bearer(&stranger);
    let not_member = connect_with(
        &app.base,
        &pad.slug,
        &[("sec-websocket-protocol", &proto)],
        new_doc(),
    )
    .await;
    assert_eq!(not_member.err(), Some(404));
    let missing = connect_with(
        &app.base,
        "no-such-pad-slug",
        &[("sec-websocket-protocol", &proto)],
        new_doc(),
    )
    .await;
    assert_eq!(missing.err(), Some(404));
}

#[tokio::test]
async fn selected_protocol_is_opencoder_v1_and_the_token_is_never_echoed() {
    let (app, _, owner, pad) = setup().await;
    let mut peer = connect(&app.base, &pad.slug, &owner).await;
    assert_eq!(peer.selected_protocol.as_deref(), Some("opencoder.v1"));
    assert!(
        !peer.response_headers.contains(&owner),
        "handshake response leaks the token"
    );
    assert!(
        !peer.response_headers.contains("oc.bearer"),
        "handshake response echoes the bearer entry"
    );
    peer.synced().await;
    assert!(
        peer.until(Duration::from_secs(2), |p| p.has_app("hello"))
            .await
    );
    let hello = peer.app_messages("hello")[0].clone();
    assert_eq!(hello["role"], "owner");
    assert_eq!(hello["readOnly"], false);
}

#[tokio::test]
async fn token_in_the_query_string_is_refused() {
    let (app, _, owner, pad) = setup().await;
    let url = format!(
        "{}?token={owner}",
        collab_support::ws_url(&app.base, &pad.slug)
    );
    let refused = collab_support::connect_url(
        &url,
        &[("sec-websocket-protocol", "opencoder.v1")],
        new_doc(),
    )
    .await;
    assert_eq!(refused.err(), Some(401));
}

#[tokio::test]
async fn cookie_is_accepted_from_the_same_origin_only() {
    let (app, _, owner, pad) = setup().await;
    let cookie = format!("oc_token={owner}");
    let same = format!("http://{}", app.addr);
    let ok = connect_with(
        &app.base,
        &pad.slug,
        &[
            ("cookie", &cookie),
            ("origin", &same),
            ("sec-websocket-protocol", "opencoder.v1"),
        ],
        new_doc(),
    )
    .await;
    assert!(ok.is_ok(), "same-origin cookie upgrade");
    // Cross-site WebSocket hijacking: a foreign page's socket carries the victim's cookie.
    let foreign = connect_with(
        &app.base,
        &pad.slug,
        &[
            ("cookie", &cookie),
            ("origin", "http://evil.example"),
            ("sec-websocket-protocol", "opencoder.v1"),
        ],
        new_doc(),
    )
    .await;
    assert_eq!(foreign.err(), Some(403));
    // Without any Origin a cookie proves nothing about the page either: refused.
    let no_origin = connect_with(&app.base, &pad.slug, &[("cookie", &cookie)], new_doc()).await;
    assert_eq!(no_origin.err(), Some(403));
}

#[tokio::test]
async fn bearer_subprotocol_from_a_foreign_origin_is_accepted() {
    let (app, _, owner, pad) = setup().await;
    let proto = bearer(&owner);
    let mut peer = connect_with(
        &app.base,
        &pad.slug,
        &[
            ("origin", "http://elsewhere.example"),
            ("sec-websocket-protocol", &proto),
        ],
        new_doc(),
    )
    .await
    .expect("a foreign page cannot read the token, so offering it is proof enough");
    peer.synced().await;
}

#[tokio::test]
async fn viewer_connects_read_only_and_collaborator_read_write() {
    let (app, http, owner, pad) = setup().await;
    let (_, viewer) = http.signup("Viewer").await;
    let (_, collaborator) = http.signup("Collaborator").await;
    http.add_member(&owner, &pad, &viewer, "viewer").await;
    http.add_member(&owner, &pad, &collaborator, "collaborator")
        .await;

    let mut v = connect(&app.base, &pad.slug, &viewer).await;
    v.synced().await;
    assert!(
        v.until(Duration::from_secs(2), |p| p.has_app("hello"))
            .await
    );
    assert_eq!(v.app_messages("hello")[0]["readOnly"], true);
    // The viewer sees the starter file's content.
    assert_eq!(
        v.text(&pad.file),
        http.file_text(&owner, &pad, pad.file_id).await
    );

    let mut c = connect(&app.base, &pad.slug, &collaborator).await;
    c.synced().await;
    c.insert(&pad.file, 0, "# edited\n").await;
    assert!(
        v.until(Duration::from_secs(2), |p| p
            .text(&pad.file)
            .starts_with("# edited\n"))
            .await
    );
    assert!(!c.has_error("read_only"));
}
