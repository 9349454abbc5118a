//! Who may call what (SPEC §3), as one table: every pad endpoint (and the interviewers' notes
//! socket) × {anonymous, non-member, viewer, candidate, collaborator, owner} → status. 401 without credentials, 404 for non-members (a pad
//! you cannot access looks missing), 403 for members whose role lacks the capability.
//!
//! Every cell runs against a fresh pad, so destructive rows (delete, kick, leave) cannot affect
//! other cells and the table is order-independent. A refused call must also leave the pad exactly
//! as it was.

mod common;

use std::collections::BTreeSet;

use common::{TestApp, TestUser};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    NonMember,
    Viewer,
    Candidate,
    Collaborator,
    Owner,
}

const CALLERS: [Caller; 6] = [
    Caller::Anonymous,
    Caller::NonMember,
    Caller::Viewer,
    Caller::Candidate,
    Caller::Collaborator,
    Caller::Owner,
];

struct Users {
    owner: TestUser,
    viewer: TestUser,
    candidate: TestUser,
    collaborator: TestUser,
    outsider: TestUser,
}

impl Users {
    fn token(&self, caller: Caller) -> Option<&str> {
        let user = match caller {
            Caller::Anonymous => return None,
            Caller::NonMember => &self.outsider,
            Caller::Viewer => &self.viewer,
            Caller::Candidate => &self.candidate,
            Caller::Collaborator => &self.collaborator,
            Caller::Owner => &self.owner,
        };
        Some(&user.token)
    }
}

/// One pad with a member of each role, a second file and a live invite.
struct World {
    slug: String,
    main_file: i64,
    extra_file: i64,
    invite: i64,
}

async fn world(app: &TestApp, users: &Users) -> World {
    let body = app
        .create_pad(&users.owner, json!({ "title": "Matrix" }))
        .await;
    let slug = body["pad"]["slug"].as_str().unwrap().to_string();
    app.add_member(&users.owner, &slug, &users.viewer, "viewer")
        .await;
    app.add_member(&users.owner, &slug, &users.candidate, "candidate")
        .await;
    app.add_member(&users.owner, &slug, &users.collaborator, "collaborator")
        .await;
    let extra = app
        .post(
            &format!("/api/pads/{slug}/files"),
            Some(&users.owner.token),
            json!({ "name": "extra.py", "content": "x = 1\n" }),
        )
        .await;
    assert_eq!(extra.status, 201);
    let invite = app
        .post(
            &format!("/api/pads/{slug}/invites"),
            Some(&users.owner.token),
            json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(invite.status, 201);
    World {
        main_file: body["files"][0]["id"].as_i64().unwrap(),
        extra_file: extra.body["file"]["id"].as_i64().unwrap(),
        invite: invite.body["invite"]["id"].as_i64().unwrap(),
        slug,
    }
}

/// Everything a refused call must leave unchanged, as the owner sees it.
async fn fingerprint(app: &TestApp, owner: &TestUser, world: &World) -> Value {
    let pad = app
        .get(&format!("/api/pads/{}", world.slug), Some(&owner.token))
        .await;
    assert_eq!(pad.status, 200, "the pad is gone: {:?}", pad.body);
    let invites = app
        .get(
            &format!("/api/pads/{}/invites", world.slug),
            Some(&owner.token),
        )
        .await;
    let main = app
        .get(
            &format!("/api/pads/{}/files/{}", world.slug, world.main_file),
            Some(&owner.token),
        )
        .await;
    let pads = app.get("/api/pads", Some(&owner.token)).await;
    json!({
        "pad": pad.body["pad"],
        "files": pad.body["files"],
        "members": pad.body["members"],
        "invites": invites.body["invites"],
        "content": main.body["content"],
        "owned": pads.body["pads"].as_array().unwrap().len(),
    })
}

struct Row {
    method: Method,
    /// The path as the OpenAPI spec names it; `{fileId}` is the starter file except for DELETE
    /// (the extra file, so the last-file rule does not interfere), `{userId}` the viewer.
    path: &'static str,
    body: Option<Value>,
    /// Anonymous, non-member, viewer, candidate, collaborator, owner.
    expect: [u16; 6],
}

fn row(method: Method, path: &'static str, body: Option<Value>, expect: [u16; 6]) -> Row {
    Row {
        method,
        path,
        body,
        expect,
    }
}

fn table() -> Vec<Row> {
    use Method as M;
    let view = [401, 404, 200, 200, 200, 200];
    let manage = [401, 404, 403, 403, 403, 200];
    let not_admin = [401, 403, 403, 403, 403, 403];
    vec![
        row(M::GET, "/api/pads/{slug}", None, view),
        row(
            M::PATCH,
            "/api/pads/{slug}",
            Some(json!({ "title": "Taken over" })),
            manage,
        ),
        row(M::DELETE, "/api/pads/{slug}", None, manage),
        row(M::GET, "/api/pads/{slug}/files", None, view),
        row(
            M::POST,
            "/api/pads/{slug}/files",
            Some(json!({ "name": "new.py", "content": "y = 2\n" })),
            [401, 404, 403, 201, 201, 201],
        ),
        row(M::GET, "/api/pads/{slug}/files/{fileId}", None, view),
        row(
            M::PATCH,
            "/api/pads/{slug}/files/{fileId}",
            Some(json!({ "name": "renamed.py" })),
            [401, 404, 403, 200, 200, 200],
        ),
        row(
            M::DELETE,
            "/api/pads/{slug}/files/{fileId}",
            None,
            [401, 404, 403, 200, 200, 200],
        ),
        row(M::GET, "/api/pads/{slug}/members", None, view),
        row(
            M::PATCH,
            "/api/pads/{slug}/members/{userId}",
            Some(json!({ "role": "collaborator" })),
            manage,
        ),
        row(M::DELETE, "/api/pads/{slug}/members/{userId}", None, manage),
        row(
            M::POST,
            "/api/pads/{slug}/leave",
            Some(json!({})),
            [401, 404, 200, 200, 200, 400],
        ),
        row(M::GET, "/api/pads/{slug}/removed", None, manage),
        // The viewer was never removed: the owner is told there is nothing to lift.
        row(
            M::DELETE,
            "/api/pads/{slug}/removed/{userId}",
            None,
            [401, 404, 403, 403, 403, 404],
        ),
        row(
            M::POST,
            "/api/pads/{slug}/invites",
            Some(json!({ "role": "collaborator" })),
            [401, 404, 403, 403, 403, 201],
        ),
        row(M::GET, "/api/pads/{slug}/invites", None, manage),
        row(
            M::DELETE,
            "/api/pads/{slug}/invites/{inviteId}",
            None,
            manage,
        ),
        row(
            M::PUT,
            "/api/pads/{slug}/password",
            Some(json!({ "password": "let me in", "role": "collaborator" })),
            manage,
        ),
        row(M::DELETE, "/api/pads/{slug}/password", None, manage),
        row(M::GET, "/api/pads/{slug}/preview", None, view),
        row(
            M::POST,
            "/api/pads/{slug}/unlock",
            Some(json!({ "password": "guess" })),
            view,
        ),
        row(
            M::POST,
            "/api/pads/{slug}/fork",
            Some(json!({})),
            [401, 404, 201, 403, 201, 201],
        ),
        // Test cases and take-homes on a pad that holds neither: the role is checked first (a
        // viewer cannot run, a candidate cannot run hidden cases or submit for someone), then the
        // pad answers it has no interview or attempt.
        row(
            M::GET,
            "/api/pads/{slug}/tests",
            None,
            [401, 404, 404, 404, 404, 404],
        ),
        row(
            M::POST,
            "/api/pads/{slug}/tests/run",
            Some(json!({ "hidden": true })),
            [401, 404, 403, 403, 404, 404],
        ),
        row(
            M::POST,
            "/api/pads/{slug}/tests/run",
            Some(json!({ "hidden": false })),
            [401, 404, 403, 404, 404, 404],
        ),
        row(
            M::GET,
            "/api/pads/{slug}/takehome",
            None,
            [401, 404, 404, 404, 404, 404],
        ),
        row(
            M::POST,
            "/api/pads/{slug}/takehome/submit",
            Some(json!({})),
            [401, 404, 403, 404, 403, 403],
        ),
        // Operators only: a pad's owner is no admin of it or of anyone on it (issue 14 §5).
        row(M::GET, "/api/admin/pads", None, not_admin),
        row(M::DELETE, "/api/admin/pads/{slug}", None, not_admin),
        row(
            M::PATCH,
            "/api/admin/users/{userId}",
            Some(json!({ "name": "Renamed" })),
            not_admin,
        ),
        row(
            M::POST,
            "/api/admin/users/{userId}/disable",
            None,
            not_admin,
        ),
        row(M::DELETE, "/api/admin/users/{userId}", None, not_admin),
        row(M::GET, "/api/pads", None, [401, 200, 200, 200, 200, 200]),
        row(
            M::POST,
            "/api/pads",
            Some(json!({ "title": "mine" })),
            [401, 201, 201, 201, 201, 201],
        ),
    ]
}

fn concrete_path(row: &Row, world: &World, users: &Users) -> String {
    let file = if row.method == Method::DELETE {
        world.extra_file
    } else {
        world.main_file
    };
    row.path
        .replace("{slug}", &world.slug)
        .replace("{fileId}", &file.to_string())
        .replace("{userId}", &users.viewer.id.to_string())
        .replace("{inviteId}", &world.invite.to_string())
}

#[tokio::test]
async fn every_pad_endpoint_answers_each_role_as_the_spec_table_says() {
    let app = TestApp::spawn().await;
    let users = Users {
        owner: app.signup("Owner").await,
        viewer: app.signup("Viewer").await,
        candidate: app.signup("Candidate").await,
        collaborator: app.signup("Collaborator").await,
        outsider: app.signup("Outsider").await,
    };
    let mut failures = Vec::new();
    for row in table() {
        for (caller, expected) in CALLERS.iter().zip(row.expect) {
            let world = world(&app, &users).await;
            let before = fingerprint(&app, &users.owner, &world).await;
            let path = concrete_path(&row, &world, &users);
            let r = app
                .request(
                    row.method.clone(),
                    &path,
                    users.token(*caller),
                    row.body.clone(),
                )
                .await;
            if r.status.as_u16() != expected {
                failures.push(format!(
                    "{} {} as {caller:?}: expected {expected}, got {} {:?}",
                    row.method, row.path, r.status, r.body
                ));
                continue;
            }
            if !r.status.is_success() {
                assert!(
                    r.body["error"].is_string() && r.body["message"].is_string(),
                    "{:?}",
                    r.body
                );
                let after = fingerprint(&app, &users.owner, &world).await;
                if before != after {
                    failures.push(format!(
                        "{} {} as {caller:?} was refused but changed the pad",
                        row.method, row.path
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The table must cover every route this module publishes, so a new endpoint cannot skip it.
#[tokio::test]
async fn the_table_covers_every_published_pad_route() {
    let app = TestApp::spawn().await;
    let spec = app.get("/api/openapi.json", None).await;
    assert_eq!(spec.status, 200);
    let ours = ["pads", "files", "members", "invites", "passwords"];
    let mut published = BTreeSet::new();
    for (path, item) in spec.body["paths"].as_object().unwrap() {
        if !path.starts_with("/api/pads") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let tagged_ours = op["tags"].as_array().is_some_and(|tags| {
                tags.iter()
                    .any(|t| ours.contains(&t.as_str().unwrap_or("")))
            });
            if tagged_ours {
                published.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let covered: BTreeSet<String> = table()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let missing: Vec<&String> = published.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the matrix: {missing:?}"
    );
    assert!(published.len() >= 20, "{published:?}");
}

/// User B, a stranger to A's pad, tries everything; nothing works and A's pad is unchanged.
#[tokio::test]
async fn a_stranger_cannot_touch_another_users_pad() {
    let app = TestApp::spawn().await;
    let a = app.signup("Alice").await;
    let b = app.signup("Mallory").await;
    let body = app.create_pad(&a, json!({ "title": "Alice's" })).await;
    let slug = body["pad"]["slug"].as_str().unwrap().to_string();
    let file = body["files"][0]["id"].as_i64().unwrap();
    let world = World {
        slug: slug.clone(),
        main_file: file,
        extra_file: file,
        invite: 0,
    };
    let before = fingerprint(&app, &a, &world).await;
    let t = Some(b.token.as_str());

    let attempts = [
        app.get(&format!("/api/pads/{slug}"), t).await,
        app.get(&format!("/api/pads/{slug}/files/{file}"), t).await,
        app.patch(
            &format!("/api/pads/{slug}/files/{file}"),
            t,
            json!({ "name": "pwned.py" }),
        )
        .await,
        app.post(
            &format!("/api/pads/{slug}/files"),
            t,
            json!({ "name": "evil.py", "content": "import os" }),
        )
        .await,
        app.delete(&format!("/api/pads/{slug}/files/{file}"), t)
            .await,
        app.patch(&format!("/api/pads/{slug}"), t, json!({ "title": "pwned" }))
            .await,
        app.delete(&format!("/api/pads/{slug}"), t).await,
        app.post(&format!("/api/pads/{slug}/fork"), t, json!({}))
            .await,
        app.post(
            &format!("/api/pads/{slug}/invites"),
            t,
            json!({ "role": "collaborator" }),
        )
        .await,
        app.put(
            &format!("/api/pads/{slug}/password"),
            t,
            json!({ "password": "mine now", "role": "collaborator" }),
        )
        .await,
        app.delete(&format!("/api/pads/{slug}/members/{}", a.id), t)
            .await,
        app.patch(
            &format!("/api/pads/{slug}/members/{}", b.id),
            t,
            json!({ "role": "collaborator" }),
        )
        .await,
        app.get(&format!("/api/pads/{slug}/preview"), t).await,
        app.post(
            &format!("/api/pads/{slug}/unlock"),
            t,
            json!({ "password": "" }),
        )
        .await,
        app.post(&format!("/api/pads/{slug}/leave"), t, json!({}))
            .await,
    ];
    for (i, r) in attempts.iter().enumerate() {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "attempt {i}: {:?}", r.body);
        assert_eq!(r.body["error"], "not_found", "attempt {i}");
    }
    // A missing pad answers exactly the same.
    let missing = app.get("/api/pads/zzzzzzzzzzzzzz", t).await;
    assert_eq!(
        (missing.status, &missing.body),
        (attempts[0].status, &attempts[0].body)
    );

    // Through B's own pad, A's file id is just as unknown.
    let own = app.create_pad(&b, json!({})).await;
    let own_slug = own["pad"]["slug"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/pads/{own_slug}/files/{file}"), t)
            .await
            .status,
        404
    );
    assert_eq!(
        app.patch(
            &format!("/api/pads/{own_slug}/files/{file}"),
            t,
            json!({ "name": "x.py" })
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.delete(&format!("/api/pads/{own_slug}/files/{file}"), t)
            .await
            .status,
        404
    );

    assert_eq!(
        fingerprint(&app, &a, &world).await,
        before,
        "A's pad changed"
    );
    assert!(app.audit_rows("pad.fork").await.is_empty());
}

/// A member cannot climb: a viewer cannot raise their own role, invite, or set a password that
/// would grant more, and a collaborator cannot kick the owner or hand out ownership.
#[tokio::test]
async fn members_cannot_escalate() {
    let app = TestApp::spawn().await;
    let a = app.signup("Alice").await;
    let v = app.signup("Vic").await;
    let c = app.signup("Cole").await;
    let body = app.create_pad(&a, json!({})).await;
    let slug = body["pad"]["slug"].as_str().unwrap().to_string();
    app.add_member(&a, &slug, &v, "viewer").await;
    app.add_member(&a, &slug, &c, "collaborator").await;
    let world = World {
        slug: slug.clone(),
        main_file: body["files"][0]["id"].as_i64().unwrap(),
        extra_file: 0,
        invite: 0,
    };
    let before = fingerprint(&app, &a, &world).await;

    let forbidden = [
        app.patch(
            &format!("/api/pads/{slug}/members/{}", v.id),
            Some(&v.token),
            json!({ "role": "collaborator" }),
        )
        .await,
        app.post(
            &format!("/api/pads/{slug}/invites"),
            Some(&v.token),
            json!({ "role": "collaborator" }),
        )
        .await,
        app.put(
            &format!("/api/pads/{slug}/password"),
            Some(&v.token),
            json!({ "password": "x", "role": "collaborator" }),
        )
        .await,
        app.post(
            &format!("/api/pads/{slug}/files"),
            Some(&v.token),
            json!({ "name": "v.py" }),
        )
        .await,
        app.delete(
            &format!("/api/pads/{slug}/members/{}", a.id),
            Some(&c.token),
        )
        .await,
        app.patch(
            &format!("/api/pads/{slug}/members/{}", c.id),
            Some(&c.token),
            json!({ "role": "owner" }),
        )
        .await,
        app.patch(
            &format!("/api/pads/{slug}/members/{}", a.id),
            Some(&c.token),
            json!({ "role": "viewer" }),
        )
        .await,
        app.delete(&format!("/api/pads/{slug}"), Some(&c.token))
            .await,
    ];
    for (i, r) in forbidden.iter().enumerate() {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "attempt {i}: {:?}", r.body);
        assert_eq!(r.body["error"], "forbidden");
    }
    assert_eq!(fingerprint(&app, &a, &world).await, before);

    // After a kick, the old role is gone at once: the next request is a stranger's.
    app.delete(
        &format!("/api/pads/{slug}/members/{}", c.id),
        Some(&a.token),
    )
    .await;
    let r = app
        .post(
            &format!("/api/pads/{slug}/files"),
            Some(&c.token),
            json!({ "name": "late.py" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// The interviewers' private notes socket (`/ws/pad/{slug}/notes`, issue 13 §3) as one more row:
/// anonymous 401, non-member 404, viewer and candidate 403 (an admitted candidate too), the
/// interviewers 101. A refused upgrade leaves no notes behind.
#[tokio::test]
async fn the_notes_socket_answers_each_role_as_the_spec_table_says() {
    let app = TestApp::spawn().await;
    let users = Users {
        owner: app.signup("Owner").await,
        viewer: app.signup("Viewer").await,
        candidate: app.signup("Candidate").await,
        collaborator: app.signup("Collaborator").await,
        outsider: app.signup("Outsider").await,
    };
    let (slug, _) = app.start_interview(&users.owner).await;
    app.add_member(&users.owner, &slug, &users.viewer, "viewer")
        .await;
    app.add_member(&users.owner, &slug, &users.collaborator, "collaborator")
        .await;
    app.admit_candidate(&users.owner, &slug, &users.candidate)
        .await;
    let url = format!(
        "{}/ws/pad/{slug}/notes",
        app.base.replacen("http://", "ws://", 1)
    );
    let expect: [u16; 6] = [401, 404, 403, 403, 101, 101];
    let mut failures = Vec::new();
    let mut opened = false;
    for (caller, expected) in CALLERS.iter().zip(expect) {
        let protocols = match users.token(*caller) {
            Some(token) => format!("opencoder.v1, oc.bearer.{token}"),
            None => "opencoder.v1".to_string(),
        };
        let mut request = url.as_str().into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(&protocols).unwrap(),
        );
        let status = match tokio_tungstenite::connect_async(request).await {
            Ok((_, response)) => response.status().as_u16(),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                response.status().as_u16()
            }
            Err(other) => panic!("notes socket as {caller:?}: {other}"),
        };
        if status != expected {
            failures.push(format!(
                "notes socket as {caller:?}: expected {expected}, got {status}"
            ));
        }
        let companions: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pads WHERE notes_of IS NOT NULL")
                .fetch_one(app.sql())
                .await
                .unwrap();
        // Only an admitted upgrade creates the notes.
        opened |= status == 101;
        assert_eq!(companions, i64::from(opened), "after {caller:?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
