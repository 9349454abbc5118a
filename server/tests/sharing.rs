//! Sharing over real HTTP (SPEC §3, §9): invites, members, password pads and their throttle,
//! fork, and the audit rows all of it writes.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{TestApp, TestUser};
use opencoder::bus::DomainEvent;
use opencoder::db::{PadId, UserId};
use opencoder::pads::invites_store::{self, NewInvite};
use opencoder::pads::roles::Role;
use serde_json::{json, Value};

struct Pad {
    slug: String,
    id: PadId,
}

async fn new_pad(app: &TestApp, owner: &TestUser, title: &str) -> Pad {
    let body = app.create_pad(owner, json!({ "title": title })).await;
    Pad {
        slug: body["pad"]["slug"].as_str().unwrap().into(),
        id: PadId(body["pad"]["id"].as_i64().unwrap()),
    }
}

async fn invite(app: &TestApp, owner: &TestUser, slug: &str, body: Value) -> Value {
    let r = app
        .post(
            &format!("/api/pads/{slug}/invites"),
            Some(&owner.token),
            body,
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["invite"].clone()
}

async fn accept(app: &TestApp, user: &TestUser, token: &str) -> common::Resp {
    app.post(
        &format!("/api/invites/{token}/accept"),
        Some(&user.token),
        json!({}),
    )
    .await
}

async fn role_of(app: &TestApp, user: &TestUser, slug: &str) -> Option<String> {
    let r = app
        .get(&format!("/api/pads/{slug}"), Some(&user.token))
        .await;
    (r.status == 200).then(|| r.body["myRole"].as_str().unwrap().to_string())
}

fn token_of(invite: &Value) -> String {
    invite["token"].as_str().unwrap().to_string()
}

/// The next `MemberChanged` event for `user`, within a second.
async fn member_event(
    rx: &mut tokio::sync::broadcast::Receiver<DomainEvent>,
    user: i64,
) -> Option<Role> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(DomainEvent::MemberChanged { user: u, role, .. })) if u == UserId(user) => {
                return role
            }
            Ok(Ok(_)) => continue,
            other => panic!("no MemberChanged for user {user}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn invites_are_created_listed_and_revoked_by_the_owner() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let pad = new_pad(&app, &ada, "Interview").await;

    let inv = invite(
        &app,
        &ada,
        &pad.slug,
        json!({ "role": "collaborator", "maxUses": 3 }),
    )
    .await;
    let token = token_of(&inv);
    assert!(token.len() >= 22, "{token}");
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(inv["role"], "collaborator");
    assert_eq!(inv["maxUses"], 3);
    assert_eq!(inv["uses"], 0);
    assert_eq!(inv["url"], format!("http://{}/invite/{token}", app.addr));
    let expires = chrono::DateTime::parse_from_rfc3339(inv["expiresAt"].as_str().unwrap()).unwrap();
    let hours = (expires.with_timezone(&Utc) - Utc::now()).num_minutes() as f64 / 60.0;
    assert!(
        (167.9..=168.0).contains(&hours),
        "default expiry is 7 days, got {hours} h"
    );
    assert!(inv["createdAt"].is_string() && inv["id"].is_i64());

    let short = invite(
        &app,
        &ada,
        &pad.slug,
        json!({ "role": "viewer", "expiresInHours": 1 }),
    )
    .await;
    assert_eq!(short["maxUses"], Value::Null);

    for (bad, code) in [
        (json!({ "role": "owner" }), "invalid_role"),
        (json!({ "role": "admin" }), "invalid_role"),
        (
            json!({ "role": "viewer", "expiresInHours": 0 }),
            "invalid_expiry",
        ),
        (
            json!({ "role": "viewer", "expiresInHours": 721 }),
            "invalid_expiry",
        ),
        (
            json!({ "role": "viewer", "maxUses": 0 }),
            "invalid_max_uses",
        ),
        (
            json!({ "role": "viewer", "maxUses": 1001 }),
            "invalid_max_uses",
        ),
        (json!({ "role": "viewer", "maxUses": 1.5 }), "invalid_input"),
        (
            json!({ "role": "viewer", "expiresInHours": "24" }),
            "invalid_input",
        ),
        (json!({}), "invalid_input"),
    ] {
        let r = app
            .post(
                &format!("/api/pads/{}/invites", pad.slug),
                Some(&ada.token),
                bad.clone(),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
        assert_eq!(r.body["error"], code, "{bad}");
    }

    let list = app
        .get(&format!("/api/pads/{}/invites", pad.slug), Some(&ada.token))
        .await;
    let ids: Vec<i64> = list.body["invites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![short["id"].as_i64().unwrap(), inv["id"].as_i64().unwrap()]
    );
    assert!(list.body["invites"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with(&token_of(&short)));

    let r = app
        .delete(
            &format!("/api/pads/{}/invites/{}", pad.slug, short["id"]),
            Some(&ada.token),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.delete(
            &format!("/api/pads/{}/invites/{}", pad.slug, short["id"]),
            Some(&ada.token)
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.get(&format!("/api/invites/{}", token_of(&short)), None)
            .await
            .status,
        404
    );
    let bob = app.signup("Bob").await;
    assert_eq!(accept(&app, &bob, &token_of(&short)).await.status, 404);
    let list = app
        .get(&format!("/api/pads/{}/invites", pad.slug), Some(&ada.token))
        .await;
    assert_eq!(list.body["invites"].as_array().unwrap().len(), 1);

    // Another pad's invite id is not found through this pad.
    let other = new_pad(&app, &ada, "Other").await;
    let r = app
        .delete(
            &format!("/api/pads/{}/invites/{}", other.slug, inv["id"]),
            Some(&ada.token),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        app.get(&format!("/api/invites/{token}"), None).await.status,
        200
    );
}

#[tokio::test]
async fn invite_links_use_public_base_url_when_set() {
    let app = TestApp::spawn_with(&[("PUBLIC_BASE_URL", "https://pads.example.org/")]).await;
    let ada = app.signup("Ada").await;
    let pad = new_pad(&app, &ada, "p").await;
    let inv = invite(&app, &ada, &pad.slug, json!({ "role": "viewer" })).await;
    assert_eq!(
        inv["url"],
        format!("https://pads.example.org/invite/{}", token_of(&inv))
    );
}

#[tokio::test]
async fn the_public_preview_reveals_only_title_role_and_expiry() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let pad = new_pad(&app, &ada, "Secret project").await;
    let inv = invite(&app, &ada, &pad.slug, json!({ "role": "candidate" })).await;

    let r = app
        .get(&format!("/api/invites/{}", token_of(&inv)), None)
        .await;
    assert_eq!(r.status, 200);
    let mut keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["expiresAt", "padTitle", "role"]);
    assert_eq!(r.body["padTitle"], "Secret project");
    assert_eq!(r.body["role"], "candidate");
    assert_eq!(r.body["expiresAt"], inv["expiresAt"]);
    let raw = r.body.to_string();
    assert!(!raw.contains(&pad.slug) && !raw.contains("Ada"));

    for unknown in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "short",
        "..%2F..%2Fetc",
        &"x".repeat(500),
    ] {
        let r = app.get(&format!("/api/invites/{unknown}"), None).await;
        assert_eq!(r.status, 404, "{unknown}");
        assert_eq!(r.body["error"], "not_found");
    }
}

#[tokio::test]
async fn accepting_joins_or_upgrades_but_never_downgrades() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let pad = new_pad(&app, &ada, "p").await;
    let viewer_inv = invite(&app, &ada, &pad.slug, json!({ "role": "viewer" })).await;
    let collab_inv = invite(&app, &ada, &pad.slug, json!({ "role": "collaborator" })).await;
    let mut events = app.state.bus.subscribe();

    assert_eq!(
        app.post(
            &format!("/api/invites/{}/accept", token_of(&viewer_inv)),
            None,
            json!({})
        )
        .await
        .status,
        401
    );

    let r = accept(&app, &bob, &token_of(&viewer_inv)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, json!({ "slug": pad.slug, "role": "viewer" }));
    assert_eq!(member_event(&mut events, bob.id).await, Some(Role::Viewer));
    assert_eq!(
        role_of(&app, &bob, &pad.slug).await.as_deref(),
        Some("viewer")
    );

    let r = accept(&app, &bob, &token_of(&collab_inv)).await;
    assert_eq!(r.body["role"], "collaborator");
    assert_eq!(
        member_event(&mut events, bob.id).await,
        Some(Role::Collaborator)
    );

    // A lower invite leaves the higher role alone and burns no use.
    let r = accept(&app, &bob, &token_of(&viewer_inv)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["role"], "collaborator");
    assert_eq!(
        role_of(&app, &bob, &pad.slug).await.as_deref(),
        Some("collaborator")
    );

    // The owner accepting their own link stays owner.
    let r = accept(&app, &ada, &token_of(&collab_inv)).await;
    assert_eq!(r.body["role"], "owner");

    let list = app
        .get(&format!("/api/pads/{}/invites", pad.slug), Some(&ada.token))
        .await;
    let uses: Vec<i64> = list.body["invites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["uses"].as_i64().unwrap())
        .collect();
    assert_eq!(
        uses,
        vec![1, 1],
        "only the two grants that changed something count"
    );

    let rows = app.audit_rows("invite.accept").await;
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].0, Some(bob.id));
    assert_eq!(rows[0].1.as_deref(), Some(pad.slug.as_str()));
    let meta: Value = serde_json::from_str(rows[1].2.as_deref().unwrap()).unwrap();
    assert_eq!(meta["role"], "collaborator");
    assert_eq!(meta["previousRole"], "viewer");
}

#[tokio::test]
async fn use_counts_are_enforced_even_under_concurrent_accepts() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let pad = new_pad(&app, &ada, "p").await;
    let once = invite(
        &app,
        &ada,
        &pad.slug,
        json!({ "role": "viewer", "maxUses": 1 }),
    )
    .await;
    let bob = app.signup("Bob").await;
    let cat = app.signup("Cat").await;
    assert_eq!(accept(&app, &bob, &token_of(&once)).await.status, 200);
    let r = accept(&app, &cat, &token_of(&once)).await;
    assert_eq!(r.status, 410);
    assert_eq!(r.body["error"], "invite_used_up");
    let r = app
        .get(&format!("/api/invites/{}", token_of(&once)), None)
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"].as_str()),
        (410, Some("invite_used_up"))
    );
    assert_eq!(role_of(&app, &cat, &pad.slug).await, None);

    // Many users race for one use: exactly one wins.
    for round in 0..3 {
        let race = invite(
            &app,
            &ada,
            &pad.slug,
            json!({ "role": "collaborator", "maxUses": 1 }),
        )
        .await;
        let mut racers = Vec::new();
        for i in 0..6 {
            racers.push(app.signup(&format!("racer{round}-{i}")).await);
        }
        let token = token_of(&race);
        let results =
            futures_util::future::join_all(racers.iter().map(|u| accept(&app, u, &token))).await;
        let statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 410).count(),
            5,
            "{statuses:?}"
        );
    }
}

#[tokio::test]
async fn expired_invites_answer_410() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let pad = new_pad(&app, &ada, "p").await;
    let token = "expiredexpiredexpiredexpired0000";
    let long_ago = Utc::now() - chrono::Duration::days(10);
    invites_store::create(
        &app.state.db,
        &NewInvite {
            pad: pad.id,
            token,
            role: Role::Collaborator,
            created_by: UserId(ada.id),
            created_at: long_ago,
            expires_at: Utc::now() - chrono::Duration::seconds(1),
            max_uses: None,
        },
    )
    .await
    .unwrap();
    let r = app.get(&format!("/api/invites/{token}"), None).await;
    assert_eq!(r.status, 410);
    assert_eq!(r.body["error"], "invite_expired");
    let bob = app.signup("Bob").await;
    let r = accept(&app, &bob, token).await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"].as_str()),
        (410, Some("invite_expired"))
    );
    assert_eq!(role_of(&app, &bob, &pad.slug).await, None);
    let list = app
        .get(&format!("/api/pads/{}/invites", pad.slug), Some(&ada.token))
        .await;
    assert!(
        list.body["invites"].as_array().unwrap().is_empty(),
        "expired invites are not listed"
    );
}

#[tokio::test]
async fn the_owner_changes_roles_and_kicks_and_members_leave() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let cat = app.signup("Cat").await;
    let pad = new_pad(&app, &ada, "p").await;
    app.add_member(&ada, &pad.slug, &bob, "viewer").await;
    app.add_member(&ada, &pad.slug, &cat, "collaborator").await;
    let mut events = app.state.bus.subscribe();
    let members = |id: i64| format!("/api/pads/{}/members/{id}", pad.slug);

    let r = app
        .patch(
            &members(bob.id),
            Some(&ada.token),
            json!({ "role": "candidate" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, json!({ "userId": bob.id, "role": "candidate" }));
    assert_eq!(
        member_event(&mut events, bob.id).await,
        Some(Role::Candidate)
    );
    assert_eq!(
        role_of(&app, &bob, &pad.slug).await.as_deref(),
        Some("candidate")
    );

    for (target, body, status, code) in [
        (
            ada.id,
            json!({ "role": "viewer" }),
            400,
            "cannot_change_owner",
        ),
        (bob.id, json!({ "role": "owner" }), 400, "invalid_role"),
        (bob.id, json!({ "role": "root" }), 400, "invalid_role"),
        (999_999, json!({ "role": "viewer" }), 404, "not_found"),
    ] {
        let r = app
            .patch(&members(target), Some(&ada.token), body.clone())
            .await;
        assert_eq!(r.status, status, "{target} {body}");
        assert_eq!(r.body["error"], code, "{target} {body}");
    }
    // A collaborator cannot promote themselves.
    let r = app
        .patch(
            &members(cat.id),
            Some(&cat.token),
            json!({ "role": "collaborator" }),
        )
        .await;
    assert_eq!(r.status, 403);

    let r = app.delete(&members(ada.id), Some(&ada.token)).await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"].as_str()),
        (400, Some("cannot_kick_owner"))
    );
    assert_eq!(
        app.delete(&members(ada.id), Some(&cat.token)).await.status,
        403
    );
    let r = app.delete(&members(bob.id), Some(&ada.token)).await;
    assert_eq!(r.status, 200);
    assert_eq!(member_event(&mut events, bob.id).await, None);
    assert_eq!(
        app.get(&format!("/api/pads/{}", pad.slug), Some(&bob.token))
            .await
            .status,
        404
    );
    assert_eq!(
        app.delete(&members(bob.id), Some(&ada.token)).await.status,
        404
    );

    let r = app
        .post(
            &format!("/api/pads/{}/leave", pad.slug),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"].as_str()),
        (400, Some("owner_cannot_leave"))
    );
    let r = app
        .post(
            &format!("/api/pads/{}/leave", pad.slug),
            Some(&cat.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(member_event(&mut events, cat.id).await, None);
    assert_eq!(role_of(&app, &cat, &pad.slug).await, None);
    assert_eq!(
        app.post(
            &format!("/api/pads/{}/leave", pad.slug),
            Some(&cat.token),
            json!({})
        )
        .await
        .status,
        404
    );

    let change = app.audit_rows("member.role.change").await;
    assert_eq!(change.len(), 1);
    let meta: Value = serde_json::from_str(change[0].2.as_deref().unwrap()).unwrap();
    assert_eq!(
        (meta["from"].as_str(), meta["to"].as_str()),
        (Some("viewer"), Some("candidate"))
    );
    assert_eq!(meta["userId"], bob.id);
    let kick = app.audit_rows("member.kick").await;
    assert_eq!(kick.len(), 1);
    assert_eq!(kick[0].0, Some(ada.id));
    let leave = app.audit_rows("member.leave").await;
    assert_eq!(leave.len(), 1);
    assert_eq!(leave[0].0, Some(cat.id));
}

#[tokio::test]
async fn a_password_grants_its_role_to_whoever_knows_it() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let cat = app.signup("Cat").await;
    let pad = new_pad(&app, &ada, "Locked").await;
    let password = "correct horse battery staple";
    let path = |end: &str| format!("/api/pads/{}/{end}", pad.slug);

    // Without a password the pad is invisible to non-members.
    assert_eq!(
        app.get(&path("preview"), Some(&bob.token)).await.status,
        404
    );
    assert_eq!(
        app.post(
            &path("unlock"),
            Some(&bob.token),
            json!({ "password": password })
        )
        .await
        .status,
        404
    );
    let r = app.get(&path("preview"), Some(&ada.token)).await;
    assert_eq!(
        r.body,
        json!({ "slug": pad.slug, "title": "Locked", "hasPassword": false })
    );

    for (bad, code) in [
        (
            json!({ "password": "", "role": "viewer" }),
            "invalid_password",
        ),
        (
            json!({ "password": "x".repeat(201), "role": "viewer" }),
            "invalid_password",
        ),
        (json!({ "password": "x", "role": "owner" }), "invalid_role"),
        (json!({ "password": "x" }), "invalid_input"),
    ] {
        let r = app
            .put(&path("password"), Some(&ada.token), bad.clone())
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.body["error"], code, "{bad}");
    }
    let r = app
        .put(
            &path("password"),
            Some(&ada.token),
            json!({ "password": password, "role": "candidate" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["hasPassword"], true);
    assert!(!r.body.to_string().contains(password));

    assert_eq!(app.get(&path("preview"), None).await.status, 401);
    let r = app.get(&path("preview"), Some(&bob.token)).await;
    assert_eq!(
        r.body,
        json!({ "slug": pad.slug, "title": "Locked", "hasPassword": true })
    );

    let r = app
        .post(
            &path("unlock"),
            Some(&bob.token),
            json!({ "password": "wrong" }),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "wrong_password");
    assert_eq!(role_of(&app, &bob, &pad.slug).await, None);
    let r = app
        .post(
            &path("unlock"),
            Some(&bob.token),
            json!({ "password": password }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, json!({ "slug": pad.slug, "role": "candidate" }));
    assert_eq!(
        role_of(&app, &bob, &pad.slug).await.as_deref(),
        Some("candidate")
    );

    // Unlocking upgrades a lower role and never lowers a higher one.
    app.add_member(&ada, &pad.slug, &cat, "viewer").await;
    let r = app
        .post(
            &path("unlock"),
            Some(&cat.token),
            json!({ "password": password }),
        )
        .await;
    assert_eq!(r.body["role"], "candidate");
    app.patch(
        &format!("/api/pads/{}/members/{}", pad.slug, cat.id),
        Some(&ada.token),
        json!({ "role": "collaborator" }),
    )
    .await;
    let r = app
        .post(
            &path("unlock"),
            Some(&cat.token),
            json!({ "password": password }),
        )
        .await;
    assert_eq!(r.body["role"], "collaborator");
    let r = app
        .post(
            &path("unlock"),
            Some(&ada.token),
            json!({ "password": password }),
        )
        .await;
    assert_eq!(r.body["role"], "owner");

    // Only the first 72 bytes would count with plain bcrypt; here every character does.
    let long = "p".repeat(150);
    app.put(
        &path("password"),
        Some(&ada.token),
        json!({ "password": long, "role": "viewer" }),
    )
    .await;
    let dan = app.signup("Dan").await;
    let almost = format!("{}q", "p".repeat(149));
    assert_eq!(
        app.post(
            &path("unlock"),
            Some(&dan.token),
            json!({ "password": almost })
        )
        .await
        .status,
        401
    );
    assert_eq!(
        app.post(
            &path("unlock"),
            Some(&dan.token),
            json!({ "password": long })
        )
        .await
        .status,
        200
    );

    let r = app.delete(&path("password"), Some(&ada.token)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["hasPassword"], false);
    let eve = app.signup("Eve").await;
    assert_eq!(
        app.get(&path("preview"), Some(&eve.token)).await.status,
        404
    );
    assert_eq!(
        app.post(
            &path("unlock"),
            Some(&eve.token),
            json!({ "password": password })
        )
        .await
        .status,
        404
    );
    // Members who joined with the password stay.
    assert_eq!(
        role_of(&app, &bob, &pad.slug).await.as_deref(),
        Some("candidate")
    );

    // The audit trail has every step and never the password.
    let set = app.audit_rows("pad.password.set").await;
    assert_eq!(set.len(), 2);
    assert_eq!(set[0].2.as_deref(), Some(r#"{"role":"candidate"}"#));
    assert_eq!(app.audit_rows("pad.password.clear").await.len(), 1);
    assert_eq!(app.audit_rows("pad.unlock.fail").await.len(), 2);
    let unlocks = app.audit_rows("pad.unlock").await;
    assert_eq!(unlocks.len(), 5);
    assert_eq!(unlocks[0].0, Some(bob.id));
    assert_eq!(unlocks[0].1.as_deref(), Some(pad.slug.as_str()));
    let all: Vec<(String, Option<String>)> = sqlx::query_as("SELECT action, meta FROM audit_log")
        .fetch_all(app.sql())
        .await
        .unwrap();
    for (action, meta) in all {
        let meta = meta.unwrap_or_default();
        assert!(
            !meta.contains(password) && !meta.contains("pppp"),
            "{action}: {meta}"
        );
    }
}

#[tokio::test]
async fn unlock_attempts_are_throttled_per_pad_and_client_with_growing_delays() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let mallory = app.signup("Mallory").await;
    let pad = new_pad(&app, &ada, "Locked").await;
    let other = new_pad(&app, &ada, "Also locked").await;
    for p in [&pad, &other] {
        let r = app
            .put(
                &format!("/api/pads/{}/password", p.slug),
                Some(&ada.token),
                json!({ "password": "s3cret", "role": "viewer" }),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let unlock = |slug: &str, password: &str| {
        let (app, token, path) = (
            &app,
            mallory.token.clone(),
            format!("/api/pads/{slug}/unlock"),
        );
        let body = json!({ "password": password });
        async move { app.post(&path, Some(&token), body).await }
    };

    // Three free failures, then the fourth is counted and starts a one-second wait.
    for i in 0..4 {
        let r = unlock(&pad.slug, "guess").await;
        assert_eq!(r.status, 401, "attempt {i}: {:?}", r.body);
    }
    let r = unlock(&pad.slug, "guess").await;
    assert_eq!(r.status, 429, "{:?}", r.body);
    assert_eq!(r.body["error"], "rate_limited");
    assert_eq!(r.header("retry-after"), Some("1"));
    // The right password is refused too while throttled: no bcrypt, no answer.
    let r = unlock(&pad.slug, "s3cret").await;
    assert_eq!(r.status, 429);
    assert_eq!(role_of(&app, &mallory, &pad.slug).await, None);
    // Another pad is not affected.
    assert_eq!(unlock(&other.slug, "guess").await.status, 401);

    // After the wait, one more failure doubles it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(unlock(&pad.slug, "guess").await.status, 401);
    let r = unlock(&pad.slug, "guess").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("2"));

    // Only attempts that ran bcrypt are audited as failures: 5 on the pad, 1 on the other.
    let fails = app.audit_rows("pad.unlock.fail").await;
    assert_eq!(
        fails
            .iter()
            .filter(|r| r.1.as_deref() == Some(pad.slug.as_str()))
            .count(),
        5
    );
    assert_eq!(
        fails
            .iter()
            .filter(|r| r.1.as_deref() == Some(other.slug.as_str()))
            .count(),
        1
    );
    assert!(fails.iter().all(|r| r.0 == Some(mallory.id)));
}

#[tokio::test]
async fn a_fork_copies_current_content_but_not_members_or_password() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let vic = app.signup("Vic").await;
    let cat = app.signup("Cat").await;
    let pad = new_pad(&app, &ada, &"T".repeat(120)).await;
    app.patch(
        &format!("/api/pads/{}", pad.slug),
        Some(&ada.token),
        json!({ "kind": "interview", "language": "go" }),
    )
    .await;
    let r = app
        .post(
            &format!("/api/pads/{}/files", pad.slug),
            Some(&ada.token),
            json!({ "name": "util.rb", "content": "puts 1\n" }),
        )
        .await;
    assert_eq!(r.status, 201);
    app.put(
        &format!("/api/pads/{}/password", pad.slug),
        Some(&ada.token),
        json!({ "password": "pw", "role": "viewer" }),
    )
    .await;
    invite(&app, &ada, &pad.slug, json!({ "role": "viewer" })).await;
    app.add_member(&ada, &pad.slug, &vic, "viewer").await;
    app.add_member(&ada, &pad.slug, &cat, "candidate").await;
    // A live edit, as a socket would make it: the fork must see the document, not the template.
    let listed = app
        .get(&format!("/api/pads/{}/files", pad.slug), Some(&ada.token))
        .await;
    let main = listed.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "main.py")
        .unwrap()["id"]
        .as_i64();
    let main = opencoder::db::FileId(main.unwrap());
    app.state
        .docs
        .edit(pad.id, Some(UserId(ada.id)), move |txn| {
            opencoder::collab::doc_store::set_text(txn, main, "print(42)\n")
        })
        .await
        .unwrap();

    let r = app
        .post(
            &format!("/api/pads/{}/fork", pad.slug),
            Some(&cat.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 403, "candidates may not take the interview home");

    let r = app
        .post(
            &format!("/api/pads/{}/fork", pad.slug),
            Some(&vic.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let forked = &r.body["pad"];
    let slug = forked["slug"].as_str().unwrap().to_string();
    assert_ne!(slug, pad.slug);
    assert_eq!(r.body["myRole"], "owner");
    assert_eq!(forked["ownerId"], vic.id);
    let title = forked["title"].as_str().unwrap();
    assert_eq!(title.chars().count(), 120);
    assert!(title.ends_with(" (fork)"));
    assert_eq!(forked["language"], "go");
    assert_eq!(forked["kind"], "interview");
    assert_eq!(forked["hasPassword"], false);

    let files = r.body["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["main.py", "util.rb"]);
    assert_eq!(files[1]["language"], "ruby");
    for (file, expected) in files.iter().zip(["print(42)\n", "puts 1\n"]) {
        let got = app
            .get(
                &format!("/api/pads/{slug}/files/{}", file["id"]),
                Some(&vic.token),
            )
            .await;
        assert_eq!(got.body["content"], expected);
    }

    let details = app
        .get(&format!("/api/pads/{slug}"), Some(&vic.token))
        .await;
    let members = details.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["userId"], vic.id);
    assert_eq!(
        app.get(&format!("/api/pads/{slug}"), Some(&ada.token))
            .await
            .status,
        404
    );
    let invites = app
        .get(&format!("/api/pads/{slug}/invites"), Some(&vic.token))
        .await;
    assert!(invites.body["invites"].as_array().unwrap().is_empty());

    // The original is untouched.
    let original = app
        .get(&format!("/api/pads/{}", pad.slug), Some(&ada.token))
        .await;
    assert_eq!(original.body["pad"]["hasPassword"], true);
    assert_eq!(original.body["members"].as_array().unwrap().len(), 3);

    let rows = app.audit_rows("pad.fork").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, Some(vic.id));
    assert_eq!(rows[0].1.as_deref(), Some(slug.as_str()));
    let meta: Value = serde_json::from_str(rows[0].2.as_deref().unwrap()).unwrap();
    assert_eq!(meta["from"], pad.slug);
}

#[tokio::test]
async fn every_sharing_action_is_audited() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let pad = new_pad(&app, &ada, "Audited").await;
    let slug = &pad.slug;

    let inv = invite(&app, &ada, slug, json!({ "role": "viewer" })).await;
    accept(&app, &bob, &token_of(&inv)).await;
    app.delete(
        &format!("/api/pads/{slug}/invites/{}", inv["id"]),
        Some(&ada.token),
    )
    .await;
    app.patch(
        &format!("/api/pads/{slug}/members/{}", bob.id),
        Some(&ada.token),
        json!({ "role": "collaborator" }),
    )
    .await;
    app.post(
        &format!("/api/pads/{slug}/fork"),
        Some(&bob.token),
        json!({}),
    )
    .await;
    app.delete(
        &format!("/api/pads/{slug}/members/{}", bob.id),
        Some(&ada.token),
    )
    .await;
    app.delete(
        &format!("/api/pads/{slug}/removed/{}", bob.id),
        Some(&ada.token),
    )
    .await;
    app.put(
        &format!("/api/pads/{slug}/password"),
        Some(&ada.token),
        json!({ "password": "hunter22", "role": "viewer" }),
    )
    .await;
    app.post(
        &format!("/api/pads/{slug}/unlock"),
        Some(&bob.token),
        json!({ "password": "hunter2" }),
    )
    .await;
    app.post(
        &format!("/api/pads/{slug}/unlock"),
        Some(&bob.token),
        json!({ "password": "hunter22" }),
    )
    .await;
    app.post(
        &format!("/api/pads/{slug}/leave"),
        Some(&bob.token),
        json!({}),
    )
    .await;
    app.delete(&format!("/api/pads/{slug}/password"), Some(&ada.token))
        .await;
    app.delete(&format!("/api/pads/{slug}"), Some(&ada.token))
        .await;

    for (action, actor) in [
        ("invite.create", ada.id),
        ("invite.accept", bob.id),
        ("invite.revoke", ada.id),
        ("member.role.change", ada.id),
        ("pad.fork", bob.id),
        ("member.kick", ada.id),
        ("member.readmit", ada.id),
        ("pad.password.set", ada.id),
        ("pad.unlock.fail", bob.id),
        ("pad.unlock", bob.id),
        ("member.leave", bob.id),
        ("pad.password.clear", ada.id),
        ("pad.delete", ada.id),
    ] {
        let rows = app.audit_rows(action).await;
        assert_eq!(rows.len(), 1, "{action}");
        assert_eq!(rows[0].0, Some(actor), "{action}");
        assert!(rows[0].1.is_some(), "{action} names its pad");
        if let Some(meta) = &rows[0].2 {
            assert!(!meta.contains("hunter"), "{action}: {meta}");
            assert!(!meta.contains(&token_of(&inv)), "{action}: {meta}");
        }
    }
}

/// `PAD_MAX_MEMBERS` bounds the member list every pad load reads: a newcomer joining a full pad
/// through an invite or the password is refused, the invite keeps its uses, existing members
/// are still upgraded, and a leaving member frees a place.
#[tokio::test]
async fn a_full_pad_admits_no_newcomer_by_invite_or_password() {
    let app = TestApp::spawn_with(&[("PAD_MAX_MEMBERS", "3")]).await;
    let ada = app.signup("Ada").await;
    let (bob, cat, dan) = (
        app.signup("Bob").await,
        app.signup("Cat").await,
        app.signup("Dan").await,
    );
    let pad = new_pad(&app, &ada, "Full").await;
    let viewers = token_of(&invite(&app, &ada, &pad.slug, json!({ "role": "viewer" })).await);
    for member in [&bob, &cat] {
        assert_eq!(accept(&app, member, &viewers).await.status, 200);
    }
    let r = accept(&app, &dan, &viewers).await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"].as_str()),
        (409, Some("pad_full")),
        "{:?}",
        r.body
    );
    assert_eq!(role_of(&app, &dan, &pad.slug).await, None);
    let list = app
        .get(&format!("/api/pads/{}/invites", pad.slug), Some(&ada.token))
        .await;
    assert_eq!(
        list.body["invites"][0]["uses"], 2,
        "a refused accept uses nothing"
    );

    let password = "correct horse battery staple";
    let r = app
        .put(
            &format!("/api/pads/{}/password", pad.slug),
            Some(&ada.token),
            json!({ "password": password, "role": "viewer" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = app
        .post(
            &format!("/api/pads/{}/unlock", pad.slug),
            Some(&dan.token),
            json!({ "password": password }),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"].as_str()),
        (409, Some("pad_full")),
        "{:?}",
        r.body
    );

    let editors = token_of(&invite(&app, &ada, &pad.slug, json!({ "role": "collaborator" })).await);
    assert_eq!(
        accept(&app, &bob, &editors).await.status,
        200,
        "a member of a full pad may be upgraded"
    );
    assert_eq!(
        role_of(&app, &bob, &pad.slug).await.as_deref(),
        Some("collaborator")
    );

    assert_eq!(
        app.post(
            &format!("/api/pads/{}/leave", pad.slug),
            Some(&cat.token),
            json!({})
        )
        .await
        .status,
        200
    );
    let r = app
        .post(
            &format!("/api/pads/{}/unlock", pad.slug),
            Some(&dan.token),
            json!({ "password": password }),
        )
        .await;
    assert_eq!(
        r.status, 200,
        "a place freed by a leaving member is taken: {:?}",
        r.body
    );
    assert_eq!(
        role_of(&app, &dan, &pad.slug).await.as_deref(),
        Some("viewer")
    );
}
