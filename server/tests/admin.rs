//! The operator's admin role (issue 14 §5) over the real binary and real HTTP/WebSocket: granted
//! and revoked only by `opencoder admin`, checked against the database on every request, and each
//! admin action audited.

mod collab_support;
mod common;
mod exec_support;
mod redis_support;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{TestApp, TestUser};
use reqwest::Method;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_opencoder");

/// `opencoder admin <args>` against the test server's database; its stdout, asserting success.
fn admin_cli(app: &TestApp, args: &[&str]) -> String {
    let output = cli(app, args);
    assert!(
        output.status.success(),
        "opencoder admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    cli_with(app, &[], args)
}

fn cli_with(app: &TestApp, vars: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        std::process::Command::new(BIN)
            .env_clear()
            .current_dir(dir.path())
            .env("DATA_DIR", &app.state.config.data_dir)
            .env("DATABASE_URL", app.state.config.database_url.expose())
            .envs(vars.iter().copied())
            .arg("admin")
            .args(args)
            .output()
            .expect("run opencoder")
    };
    // The servers run on this test's runtime. While the CLI runs, their tasks must go on: one
    // frozen inside a write transaction would keep SQLite's lock from the CLI until its busy
    // timeout. A multi-threaded test hands this worker's tasks to the others meanwhile.
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
        _ => run(),
    }
}

/// A signed-up user made an admin through the binary.
async fn admin(app: &TestApp, name: &str) -> TestUser {
    let user = app.signup(name).await;
    admin_cli(app, &["grant", &format!("#{}", user.id)]);
    user
}

/// Every admin route with a body that would succeed for an admin; `{userId}` and `{slug}` are
/// filled in per call.
fn routes() -> Vec<(Method, &'static str, Option<Value>)> {
    use Method as M;
    vec![
        (M::GET, "/api/admin/users", None),
        (
            M::PATCH,
            "/api/admin/users/{userId}",
            Some(json!({ "name": "Renamed" })),
        ),
        (M::DELETE, "/api/admin/users/{userId}", None),
        (M::POST, "/api/admin/users/{userId}/disable", None),
        (M::POST, "/api/admin/users/{userId}/enable", None),
        (M::POST, "/api/admin/users/{userId}/logout-all", None),
        (M::GET, "/api/admin/pads", None),
        (M::DELETE, "/api/admin/pads/{slug}", None),
        (M::GET, "/api/admin/sandboxes", None),
        (M::POST, "/api/admin/runs/{runId}/stop", None),
        (M::POST, "/api/admin/terminals/{slug}/stop", None),
        (M::GET, "/api/admin/signup", None),
        (
            M::PUT,
            "/api/admin/signup",
            Some(json!({ "mode": "closed" })),
        ),
        (M::GET, "/api/admin/storage", None),
        (M::GET, "/api/admin/audit", None),
        (M::GET, "/api/admin/audit/verify", None),
    ]
}

#[tokio::test]
async fn every_admin_route_refuses_anonymous_callers_and_non_admins_and_is_published() {
    let app = TestApp::spawn().await;
    let user = app.signup("Normal").await;
    let victim = app.signup("Victim").await;
    let pad = app.create_pad(&victim, json!({ "title": "kept" })).await;
    let slug = pad["pad"]["slug"].as_str().unwrap();
    for (method, path, body) in routes() {
        let path_filled = path
            .replace("{userId}", &victim.id.to_string())
            .replace("{slug}", slug)
            .replace("{runId}", "some-run");
        let anonymous = app
            .request(method.clone(), &path_filled, None, body.clone())
            .await;
        assert_eq!(
            anonymous.status, 401,
            "{method} {path}: {:?}",
            anonymous.body
        );
        let refused = app
            .request(method.clone(), &path_filled, Some(&user.token), body)
            .await;
        assert_eq!(refused.status, 403, "{method} {path}: {:?}", refused.body);
        assert_eq!(refused.body["error"], "admin_only");
    }
    // Nothing was done: the victim, their pad and the sign-up mode are as they were.
    assert_eq!(
        app.get("/api/auth/me", Some(&victim.token)).await.status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/pads/{slug}"), Some(&victim.token))
            .await
            .status,
        200
    );
    app.signup("Still open").await;

    // The table above is every admin route the server publishes.
    let spec = app.get("/api/openapi.json", None).await;
    let published: BTreeSet<String> = spec.body["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.starts_with("/api/admin"))
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    let tested: BTreeSet<String> = routes()
        .iter()
        .map(|(method, path, _)| {
            format!(
                "{method} {}",
                path.replace("{userId}", "{id}").replace("{runId}", "{id}")
            )
        })
        .collect();
    assert_eq!(published, tested);
}

#[tokio::test]
async fn no_request_can_make_an_admin_only_the_binary_grants_and_revoke_acts_on_a_live_session() {
    let app = TestApp::spawn().await;
    // Sign-up and renaming ignore whatever claims to be an admin flag.
    let r = app
        .post(
            "/api/auth/guest",
            None,
            json!({ "name": "Sneaky", "isAdmin": true, "is_admin": true }),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["user"]["isAdmin"], false);
    let sneaky = r.body["token"].as_str().unwrap();
    let renamed = app
        .patch(
            "/api/auth/me",
            Some(sneaky),
            json!({ "name": "Sneaky", "isAdmin": true }),
        )
        .await;
    assert_eq!(renamed.body["user"]["isAdmin"], false);
    assert_eq!(app.get("/api/admin/users", Some(sneaky)).await.status, 403);

    let ada = app.signup("Ada").await;
    assert_eq!(
        app.get("/api/admin/users", Some(&ada.token)).await.status,
        403
    );
    let granted = admin_cli(&app, &["grant", "Ada"]);
    assert!(
        granted.contains("Ada") && granted.contains("is an admin"),
        "{granted}"
    );
    // The same session, no new sign-in: the flag is read on each request.
    let me = app.get("/api/auth/me", Some(&ada.token)).await;
    assert_eq!(me.body["user"]["isAdmin"], true);
    let users = app.get("/api/admin/users", Some(&ada.token)).await;
    assert_eq!(users.status, 200, "{:?}", users.body);
    assert_eq!(users.body["total"], 2);
    let listed = admin_cli(&app, &["list-admins"]);
    assert!(
        listed.contains("Ada") && !listed.contains("Sneaky"),
        "{listed}"
    );

    admin_cli(&app, &["revoke", "Ada"]);
    let refused = app.get("/api/admin/users", Some(&ada.token)).await;
    assert_eq!(refused.status, 403, "revoked at once: {:?}", refused.body);
    assert_eq!(
        app.get("/api/auth/me", Some(&ada.token)).await.status,
        200,
        "still signed in"
    );

    // Both changes are audited as the CLI's.
    let grants = app.audit_rows("admin.grant").await;
    let revokes = app.audit_rows("admin.revoke").await;
    assert_eq!(grants.len(), 1);
    assert_eq!(revokes.len(), 1);
    assert_eq!(grants[0].0, None);
    assert_eq!(grants[0].1.as_deref(), Some(ada.id.to_string().as_str()));
}

#[tokio::test]
async fn the_cli_names_accounts_lists_them_and_refuses_ambiguous_or_unknown_names() {
    let app = TestApp::spawn().await;
    let first = app.signup("Twin").await;
    let second = app.signup("Twin").await;
    app.signup("Other").await;
    let ambiguous = cli(&app, &["grant", "Twin"]);
    assert!(!ambiguous.status.success());
    let message = String::from_utf8_lossy(&ambiguous.stderr);
    assert!(
        message.contains(&first.id.to_string()) && message.contains(&second.id.to_string()),
        "{message}"
    );
    assert!(!cli(&app, &["disable", "Nobody"]).status.success());
    assert!(!cli(&app, &["signup", "sometimes"]).status.success());

    let listed = admin_cli(&app, &["users", "--search", "twi"]);
    assert_eq!(
        listed.lines().filter(|l| l.contains("Twin")).count(),
        2,
        "{listed}"
    );
    assert!(!listed.contains("Other"), "{listed}");

    admin_cli(&app, &["disable", &format!("#{}", second.id)]);
    assert_eq!(
        app.get("/api/auth/me", Some(&second.token)).await.status,
        401
    );
    assert_eq!(
        app.get("/api/auth/me", Some(&first.token)).await.status,
        200
    );
    let recovered = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": second.recovery_key }),
        )
        .await;
    assert_eq!(recovered.status, 403);
    assert_eq!(recovered.body["error"], "account_disabled");
    admin_cli(&app, &["enable", &format!("#{}", second.id)]);
    let recovered = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": second.recovery_key }),
        )
        .await;
    assert_eq!(recovered.status, 200);

    assert_eq!(admin_cli(&app, &["signup"]).trim(), "sign-up is open");
    admin_cli(&app, &["signup", "closed"]);
    assert_eq!(admin_cli(&app, &["signup"]).trim(), "sign-up is closed");
    let refused = app
        .post("/api/auth/guest", None, json!({ "name": "Late" }))
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["error"], "signup_closed");
    assert_eq!(app.audit_rows("admin.user.disable").await.len(), 1);
    assert_eq!(app.audit_rows("admin.user.enable").await.len(), 1);
    assert_eq!(app.audit_rows("admin.signup.mode").await.len(), 1);
}

#[tokio::test]
async fn disabling_closes_the_users_socket_and_refuses_their_session_and_sign_in() {
    let app = TestApp::spawn().await;
    let ada = admin(&app, "Ada").await;
    let bob = app.signup("Bob").await;
    let pad = app.create_pad(&bob, json!({ "title": "bob's" })).await;
    let slug = pad["pad"]["slug"].as_str().unwrap().to_string();
    let mut socket = collab_support::connect(&app.base, &slug, &bob.token).await;
    socket.synced().await;

    let disabled = app
        .post(
            &format!("/api/admin/users/{}/disable", bob.id),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(disabled.status, 200, "{:?}", disabled.body);
    assert_eq!(disabled.body["disabled"], true);
    assert_eq!(
        socket.closed_within(Duration::from_secs(5)).await,
        Some(4001),
        "the open socket closes as a revoked session"
    );
    assert_eq!(app.get("/api/auth/me", Some(&bob.token)).await.status, 401);
    let recovered = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": bob.recovery_key }),
        )
        .await;
    assert_eq!(recovered.status, 403);
    assert_eq!(recovered.body["error"], "account_disabled");
    let listed = app
        .get("/api/admin/users?search=BO", Some(&ada.token))
        .await;
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.body["items"][0]["disabled"], true);
    assert_eq!(listed.body["items"][0]["padsOwned"], 1);

    let enabled = app
        .post(
            &format!("/api/admin/users/{}/enable", bob.id),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(enabled.body["disabled"], false);
    let recovered = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": bob.recovery_key }),
        )
        .await;
    assert_eq!(recovered.status, 200, "{:?}", recovered.body);
    let rows = app.audit_rows("admin.user.disable").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, Some(ada.id), "the admin is the actor");
    assert_eq!(app.audit_rows("admin.user.enable").await.len(), 1);
}

#[tokio::test]
async fn an_admin_renames_ends_sessions_and_deletes_users_and_pads() {
    let app = TestApp::spawn().await;
    let ada = admin(&app, "Ada").await;
    let bob = app.signup("Bob").await;
    let carol = app.signup("Carol").await;
    let user_path = |u: &TestUser, tail: &str| format!("/api/admin/users/{}{tail}", u.id);

    let bad = app
        .patch(
            &user_path(&bob, ""),
            Some(&ada.token),
            json!({ "name": "  " }),
        )
        .await;
    assert_eq!(bad.status, 400, "the sign-up name rules apply");
    let renamed = app
        .patch(
            &user_path(&bob, ""),
            Some(&ada.token),
            json!({ "name": " Robert " }),
        )
        .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.body["name"], "Robert");
    let missing = app
        .patch(
            "/api/admin/users/999999",
            Some(&ada.token),
            json!({ "name": "X" }),
        )
        .await;
    assert_eq!(missing.status, 404);

    let ended = app
        .post(&user_path(&bob, "/logout-all"), Some(&ada.token), json!({}))
        .await;
    assert_eq!(ended.status, 200);
    assert_eq!(app.get("/api/auth/me", Some(&bob.token)).await.status, 401);

    // A pad goes with its sockets.
    let pad = app.create_pad(&carol, json!({ "title": "Findable" })).await;
    let slug = pad["pad"]["slug"].as_str().unwrap().to_string();
    let mut socket = collab_support::connect(&app.base, &slug, &carol.token).await;
    socket.synced().await;
    let found = app
        .get("/api/admin/pads?search=findAB", Some(&ada.token))
        .await;
    assert_eq!(found.body["total"], 1, "{:?}", found.body);
    assert_eq!(found.body["items"][0]["ownerName"], "Carol");
    assert_eq!(found.body["items"][0]["slug"], slug.as_str());
    let deleted = app
        .delete(&format!("/api/admin/pads/{slug}"), Some(&ada.token))
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(
        socket.closed_within(Duration::from_secs(5)).await,
        Some(4004)
    );
    assert_eq!(
        app.get(&format!("/api/pads/{slug}"), Some(&carol.token))
            .await
            .status,
        404
    );
    assert_eq!(
        app.delete(&format!("/api/admin/pads/{slug}"), Some(&ada.token))
            .await
            .status,
        404
    );

    let gone = app.delete(&user_path(&carol, ""), Some(&ada.token)).await;
    assert_eq!(gone.status, 200);
    assert_eq!(
        app.get("/api/auth/me", Some(&carol.token)).await.status,
        401
    );
    let listed = app
        .get("/api/admin/users?search=carol", Some(&ada.token))
        .await;
    assert_eq!(listed.body["total"], 0);

    let long = "x".repeat(101);
    for listing in ["users", "pads"] {
        let refused = app
            .get(
                &format!("/api/admin/{listing}?search={long}"),
                Some(&ada.token),
            )
            .await;
        assert_eq!(refused.body["error"], "invalid_search", "{listing}");
        let fits = app
            .get(
                &format!("/api/admin/{listing}?search={}", &long[..100]),
                Some(&ada.token),
            )
            .await;
        assert_eq!(fits.status, 200, "{listing}");
    }
    let page = app.get("/api/admin/users?limit=0", Some(&ada.token)).await;
    assert_eq!(page.status, 400);
    let page = app
        .get("/api/admin/users?limit=201", Some(&ada.token))
        .await;
    assert_eq!(page.status, 400);
    let page = app
        .get("/api/admin/users?limit=1&offset=1", Some(&ada.token))
        .await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["total"], 2);

    for action in [
        "admin.user.rename",
        "admin.user.logout_all",
        "admin.pad.delete",
        "admin.user.delete",
    ] {
        let rows = app.audit_rows(action).await;
        assert_eq!(rows.len(), 1, "{action}");
        assert_eq!(rows[0].0, Some(ada.id), "{action}");
    }
}

#[tokio::test]
async fn sign_up_modes_open_closed_and_invite_only() {
    let app = TestApp::spawn().await;
    let ada = admin(&app, "Ada").await;
    let set = |mode: &'static str| {
        let (app, token) = (&app, ada.token.clone());
        async move {
            app.put("/api/admin/signup", Some(&token), json!({ "mode": mode }))
                .await
        }
    };
    assert_eq!(set("sometimes").await.status, 400);
    assert_eq!(
        app.get("/api/admin/signup", Some(&ada.token)).await.body["mode"],
        "open"
    );

    assert_eq!(set("closed").await.status, 200);
    let refused = app
        .post("/api/auth/guest", None, json!({ "name": "Late" }))
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["error"], "signup_closed");

    assert_eq!(set("invite-only").await.status, 200);
    let pad = app.create_pad(&ada, json!({ "title": "team" })).await;
    let slug = pad["pad"]["slug"].as_str().unwrap();
    let invite = app
        .post(
            &format!("/api/pads/{slug}/invites"),
            Some(&ada.token),
            json!({ "role": "viewer" }),
        )
        .await;
    let token = invite.body["invite"]["token"].as_str().unwrap();
    for body in [
        json!({ "name": "Late" }),
        json!({ "name": "Late", "invite": "not-a-real-invite-token-at-all-x" }),
    ] {
        let refused = app.post("/api/auth/guest", None, body).await;
        assert_eq!(refused.status, 403);
        assert_eq!(refused.body["error"], "signup_invite_required");
    }
    let joined = app
        .post(
            "/api/auth/guest",
            None,
            json!({ "name": "Invited", "invite": token }),
        )
        .await;
    assert_eq!(joined.status, 201, "{:?}", joined.body);
    // A revoked invite no longer lets anyone in.
    let invite_id = invite.body["invite"]["id"].as_i64().unwrap();
    app.delete(
        &format!("/api/pads/{slug}/invites/{invite_id}"),
        Some(&ada.token),
    )
    .await;
    let refused = app
        .post(
            "/api/auth/guest",
            None,
            json!({ "name": "Later", "invite": token }),
        )
        .await;
    assert_eq!(refused.status, 403);

    assert_eq!(set("open").await.status, 200);
    app.signup("Anyone").await;
    let modes: Vec<String> = app
        .audit_rows("admin.signup.mode")
        .await
        .into_iter()
        .map(|(_, _, meta)| meta.unwrap())
        .collect();
    assert_eq!(modes.len(), 3, "{modes:?}");
    assert!(modes[1].contains("invite-only"), "{modes:?}");
}

#[tokio::test]
async fn the_audit_viewer_filters_pages_and_verifies_and_storage_reports_sizes() {
    let app = TestApp::spawn().await;
    let ada = admin(&app, "Ada").await;
    let bob = app.signup("Bob").await;
    let pad = app.create_pad(&bob, json!({ "title": "audited" })).await;
    let slug = pad["pad"]["slug"].as_str().unwrap().to_string();
    app.delete(&format!("/api/admin/pads/{slug}"), Some(&ada.token))
        .await;

    let all = app.get("/api/admin/audit", Some(&ada.token)).await;
    assert_eq!(all.status, 200);
    let rows = all.body["rows"].as_array().unwrap();
    // admin.grant, two sign-ups, the pad deletion: newest first.
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0]["action"], "admin.pad.delete");

    let by_action = app
        .get("/api/admin/audit?action=user.signup", Some(&ada.token))
        .await;
    assert_eq!(by_action.body["rows"].as_array().unwrap().len(), 2);
    let by_user = app
        .get(
            &format!("/api/admin/audit?user={}", bob.id),
            Some(&ada.token),
        )
        .await;
    assert_eq!(by_user.body["rows"].as_array().unwrap().len(), 1);
    let by_pad = app
        .get(&format!("/api/admin/audit?pad={slug}"), Some(&ada.token))
        .await;
    assert_eq!(by_pad.body["rows"][0]["action"], "admin.pad.delete");
    let future = app
        .get(
            "/api/admin/audit?since=2999-01-01T00:00:00Z",
            Some(&ada.token),
        )
        .await;
    assert_eq!(future.body["rows"].as_array().unwrap().len(), 0);
    let past = app
        .get(
            "/api/admin/audit?until=2000-01-01T00:00:00Z",
            Some(&ada.token),
        )
        .await;
    assert_eq!(past.body["rows"].as_array().unwrap().len(), 0);

    for bad in ["limit=0", "limit=201", "limit=-1", "since=yesterday"] {
        let refused = app
            .get(&format!("/api/admin/audit?{bad}"), Some(&ada.token))
            .await;
        assert_eq!(refused.status, 400, "{bad}: {:?}", refused.body);
    }
    let first = app.get("/api/admin/audit?limit=3", Some(&ada.token)).await;
    assert_eq!(first.body["hasMore"], true);
    let last_id = first.body["rows"][2]["id"].as_i64().unwrap();
    let next = app
        .get(
            &format!("/api/admin/audit?limit=3&before={last_id}"),
            Some(&ada.token),
        )
        .await;
    assert_eq!(next.body["hasMore"], false);
    assert_eq!(next.body["rows"].as_array().unwrap().len(), 1);

    let verified = app.get("/api/admin/audit/verify", Some(&ada.token)).await;
    assert_eq!(verified.body["intact"], true, "{:?}", verified.body);
    assert_eq!(verified.body["rows"], 4);

    let storage = app.get("/api/admin/storage", Some(&ada.token)).await;
    assert_eq!(storage.status, 200, "{:?}", storage.body);
    assert!(storage.body["databaseBytes"].as_i64().unwrap() > 0);
    assert!(storage.body["recordingsBytes"].as_i64().unwrap() >= 0);
    assert!(storage.body["runnerImage"].is_boolean());
    assert!(storage.body["largestPads"].is_array());
}

/// A python run that sleeps, stopped from the admin API with real Docker.
#[tokio::test]
async fn an_admin_stops_a_running_sandbox() {
    let app = exec_support::spawn_docker(&[("EXEC_POOL", "")]).await;
    let ada = admin(&app, "Ada").await;
    let bob = app.signup("Bob").await;
    let slug = app
        .pad_with_file(
            &bob,
            "python",
            "nap.py",
            "import time\nprint('up', flush=True)\ntime.sleep(60)\n",
        )
        .await;
    let mut watcher = exec_support::joined(&app, &slug, &bob).await;
    let run_id = exec_support::start(
        &app,
        &bob,
        &slug,
        json!({ "entry": "nap.py", "timeoutMs": 30000 }),
    )
    .await;
    assert!(
        watcher
            .until(exec_support::WAIT, |p| p.has_app("run.output"))
            .await,
        "the program never started"
    );
    let listed = app.get("/api/admin/sandboxes", Some(&ada.token)).await;
    assert_eq!(listed.status, 200);
    let runs = listed.body["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["runId"], run_id.as_str());
    assert_eq!(runs[0]["slug"], slug.as_str());

    let refused = app
        .post(
            &format!("/api/admin/runs/{run_id}/stop"),
            Some(&bob.token),
            json!({}),
        )
        .await;
    assert_eq!(refused.status, 403);
    let stopped = app
        .post(
            &format!("/api/admin/runs/{run_id}/stop"),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(stopped.status, 202, "{:?}", stopped.body);
    assert!(
        watcher
            .until(Duration::from_secs(10), |p| p.has_app("run.finished"))
            .await,
        "run.finished never came"
    );
    let finished = &watcher.app_messages("run.finished")[0];
    assert_eq!(finished["outcome"], "stopped");
    assert_eq!(finished["stoppedBy"], "Ada");
    let after = app.get("/api/admin/sandboxes", Some(&ada.token)).await;
    assert_eq!(after.body["runs"].as_array().unwrap().len(), 0);
    assert_eq!(
        app.post(
            &format!("/api/admin/runs/{run_id}/stop"),
            Some(&ada.token),
            json!({})
        )
        .await
        .status,
        404
    );
    assert_eq!(app.audit_rows("admin.run.stop").await.len(), 1);
}

/// Two nodes on one database and one Redis: the admin on node B sees and stops a run node A
/// hosts, and disabling a user through B closes their socket on A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_two_nodes_an_admin_lists_and_stops_a_run_and_disabling_closes_sockets_everywhere() {
    oc_sandbox::testing::hold_shared_docker_lock();
    let redis = redis_support::RedisServer::start();
    let url = redis.url();
    let secret = "admin-cluster-test-secret-0123456789abcdef";
    let a = TestApp::spawn_with(&[
        ("REDIS_URL", &url),
        ("JWT_SECRET", secret),
        ("EXEC_POOL", ""),
    ])
    .await;
    let db_url = format!(
        "sqlite://{}",
        a.state.config.data_dir.join("opencoder.db").display()
    );
    let b = TestApp::spawn_with(&[
        ("REDIS_URL", &url),
        ("JWT_SECRET", secret),
        ("DATABASE_URL", &db_url),
        ("EXEC_POOL", ""),
    ])
    .await;
    let ada = admin(&a, "Ada").await;
    let bob = a.signup("Bob").await;
    let slug = a
        .pad_with_file(
            &bob,
            "python",
            "nap.py",
            "import time\nprint('up', flush=True)\ntime.sleep(60)\n",
        )
        .await;
    let mut on_a = exec_support::joined(&a, &slug, &bob).await;
    let run_id = exec_support::start(
        &a,
        &bob,
        &slug,
        json!({ "entry": "nap.py", "timeoutMs": 30000 }),
    )
    .await;
    assert!(
        on_a.until(exec_support::WAIT, |p| p.has_app("run.output"))
            .await,
        "the program never started"
    );

    let listed = b.get("/api/admin/sandboxes", Some(&ada.token)).await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.body["nodes"].as_array().unwrap().len(),
        2,
        "{:?}",
        listed.body
    );
    assert_eq!(
        listed.body["runs"][0]["runId"],
        run_id.as_str(),
        "{:?}",
        listed.body
    );
    assert_eq!(listed.body["runs"][0]["node"], a.state.bus.node());
    let stopped = b
        .post(
            &format!("/api/admin/runs/{run_id}/stop"),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(stopped.status, 202, "{:?}", stopped.body);
    assert!(
        on_a.until(Duration::from_secs(10), |p| p.has_app("run.finished"))
            .await,
        "the run on node A never finished"
    );
    let finished = &on_a.app_messages("run.finished")[0];
    assert_eq!(finished["outcome"], "stopped");
    assert_eq!(finished["stoppedBy"], "Ada");

    let disabled = b
        .post(
            &format!("/api/admin/users/{}/disable", bob.id),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(disabled.status, 200);
    assert_eq!(on_a.closed_within(Duration::from_secs(5)).await, Some(4001));

    // The CLI, given the cluster's Redis, closes a disabled account's sockets too.
    let carol = b.signup("Carol").await;
    let carols = b.create_pad(&carol, json!({ "title": "carol's" })).await;
    let mut on_b = collab_support::connect(
        &b.base,
        carols["pad"]["slug"].as_str().unwrap(),
        &carol.token,
    )
    .await;
    on_b.synced().await;
    let output = cli_with(
        &a,
        &[("REDIS_URL", &url)],
        &["disable", &format!("#{}", carol.id)],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("closed on every node"));
    assert_eq!(on_b.closed_within(Duration::from_secs(5)).await, Some(4001));
    drop(redis);
}
