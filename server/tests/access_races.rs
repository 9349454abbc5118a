//! Issue 9 item 10: access changes that race a joining socket, kicks that stick, and account
//! deletion reaching everyone on the pads that went with the account.

mod collab_support;
mod common;

use std::time::Duration;

use collab_support::{connect, connect_with, new_doc, Http, TestPad};
use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn invite(http: &Http, owner: &str, pad: &TestPad, role: &str) -> String {
    let (status, body) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/invites", pad.slug),
            Some(owner),
            Some(json!({ "role": role })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["invite"]["token"].as_str().unwrap().to_string()
}

async fn accept(http: &Http, token: &str, invite: &str) -> (StatusCode, Value) {
    http.call(
        Method::POST,
        &format!("/api/invites/{invite}/accept"),
        Some(token),
        Some(json!({})),
    )
    .await
}

/// Items in the document each race round loads: enough that loading takes far longer than a kick.
const BALLAST_ITEMS: u32 = 40_000;

/// Before the fix the role was read at the upgrade and the socket joined the pad's room later: a
/// kick published in between reached nobody, and the kicked member kept an open, editing socket.
/// The window is widened the way a busy server widens it: the pad's document is not in memory
/// (as after a restart) and is large, so the join has to load it. The kick is sent once the
/// upgrade has been answered — after the server's role check, while the join is still loading.
#[tokio::test]
async fn a_kick_that_lands_while_the_socket_joins_still_closes_it() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let (member_id, member) = http.signup("Member").await;
    for round in 0..3 {
        let pad = http.create_pad(&owner).await;
        http.add_member(&owner, &pad, &member, "collaborator").await;
        // Set-up, not the behaviour under test: a document of many small items, then out of memory.
        app.state
            .docs
            .edit(opencoder::db::PadId(pad.id), None, |txn| {
                let ballast = yrs::WriteTxn::get_or_insert_text(txn, "ballast");
                for _ in 0..BALLAST_ITEMS {
                    yrs::Text::insert(&ballast, txn, 0, "x");
                }
            })
            .await
            .expect("ballast written");
        app.state.docs.unload(opencoder::db::PadId(pad.id)).await;
        app.state.docs.flush_log().await;

        let started = std::time::Instant::now();
        let mut peer = connect(&app.base, &pad.slug, &member).await;
        let (status, body) = http
            .call(
                Method::DELETE,
                &format!("/api/pads/{}/members/{member_id}", pad.slug),
                Some(&owner),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let kicked_after = started.elapsed();
        let code = peer.closed_within(Duration::from_secs(5)).await;
        assert_eq!(
            code,
            Some(4003),
            "round {round}: kicked {kicked_after:?} after connecting: {:?}",
            peer.closed
        );
    }
}

#[tokio::test]
async fn a_kicked_user_cannot_walk_back_in_until_the_owner_readmits_them() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let (kicked_id, kicked) = http.signup("Kicked").await;
    let (_, other) = http.signup("Other").await;
    let pad = http.create_pad(&owner).await;
    let live_invite = invite(&http, &owner, &pad, "collaborator").await;
    let (status, body) = http
        .call(
            Method::PUT,
            &format!("/api/pads/{}/password", pad.slug),
            Some(&owner),
            Some(json!({ "password": "open sesame", "role": "collaborator" })),
        )
        .await;
    assert!(status.is_success(), "{body}");
    assert!(accept(&http, &kicked, &live_invite).await.0.is_success());
    http.add_member(&owner, &pad, &other, "collaborator").await;

    let (status, _) = http
        .call(
            Method::DELETE,
            &format!("/api/pads/{}/members/{kicked_id}", pad.slug),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The same live invite, a fresh one, and the password: all refused, nothing granted.
    let fresh_invite = invite(&http, &owner, &pad, "viewer").await;
    for token in [&live_invite, &fresh_invite] {
        let (status, body) = accept(&http, &kicked, token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "removed_from_pad", "{body}");
    }
    let (status, body) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/unlock", pad.slug),
            Some(&kicked),
            Some(json!({ "password": "open sesame" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "removed_from_pad");
    let (status, _) = http
        .call(
            Method::GET,
            &format!("/api/pads/{}", pad.slug),
            Some(&kicked),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "still not a member");
    assert_eq!(
        connect_with(
            &app.base,
            &pad.slug,
            &[(
                "sec-websocket-protocol",
                &format!("opencoder.v1, oc.bearer.{kicked}")
            )],
            new_doc()
        )
        .await
        .err(),
        Some(404)
    );

    // Only the owner sees and lifts removals.
    let (status, _) = http
        .call(
            Method::GET,
            &format!("/api/pads/{}/removed", pad.slug),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = http
        .call(
            Method::DELETE,
            &format!("/api/pads/{}/removed/{kicked_id}", pad.slug),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = http
        .call(
            Method::GET,
            &format!("/api/pads/{}/removed", pad.slug),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["removed"][0]["userId"], kicked_id);
    assert_eq!(body["removed"][0]["name"], "Kicked");

    let (status, _) = http
        .call(
            Method::DELETE,
            &format!("/api/pads/{}/removed/{kicked_id}", pad.slug),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.audit_rows("member.readmit").await.len(), 1);
    let (status, body) = http
        .call(
            Method::GET,
            &format!("/api/pads/{}/removed", pad.slug),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(
        (status, body["removed"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    // Re-admitting grants nothing by itself; the invite works again.
    let (status, _) = http
        .call(
            Method::GET,
            &format!("/api/pads/{}", pad.slug),
            Some(&kicked),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = accept(&http, &kicked, &fresh_invite).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["role"], "viewer");

    // Leaving is not a kick: a member who left may come back.
    let (status, _) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/leave", pad.slug),
            Some(&other),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(accept(&http, &other, &fresh_invite).await.0.is_success());
}

/// Before the fix deleting an account closed only that user's own sockets: everyone else stayed
/// on the pads that went with it, and their edits were acknowledged and silently dropped.
#[tokio::test]
async fn deleting_an_account_disconnects_everyone_from_the_pads_it_owned() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, leaving) = http.signup("Leaving").await;
    let (_, staying) = http.signup("Staying").await;
    let (_, host) = http.signup("Host").await;
    let owned = http.create_pad(&leaving).await;
    http.add_member(&leaving, &owned, &staying, "collaborator")
        .await;
    // A pad of someone else where the leaving user is a member.
    let hosted = http.create_pad(&host).await;
    http.add_member(&host, &hosted, &leaving, "collaborator")
        .await;

    let mut on_owned = connect(&app.base, &owned.slug, &staying).await;
    on_owned.synced().await;
    let mut on_hosted = connect(&app.base, &hosted.slug, &host).await;
    on_hosted.synced().await;
    on_hosted.drain(Duration::from_millis(100)).await;

    let (status, body) = http
        .call(
            Method::DELETE,
            "/api/auth/me",
            Some(&leaving),
            Some(json!({ "confirm": "DELETE" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert_eq!(
        on_owned.closed_within(Duration::from_secs(3)).await,
        Some(4004),
        "the pad went with the account"
    );
    // The host's member list no longer has the deleted user.
    let refreshed = on_hosted
        .until(Duration::from_secs(3), |p| {
            p.app_messages("members.changed").last().is_some_and(|m| {
                m["members"]
                    .as_array()
                    .is_some_and(|list| list.iter().all(|member| member["name"] != "Leaving"))
            })
        })
        .await;
    assert!(refreshed, "members.changed without the deleted user");
    assert!(on_hosted.closed.is_none());
}
