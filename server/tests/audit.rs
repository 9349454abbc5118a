//! The audit log (SPEC §9): each auth action writes its row with who, from where and with what
//! browser; the database refuses UPDATE and DELETE; the hash chain verifies; secrets never land
//! in it.

mod common;

use common::TestApp;
use opencoder::audit::cli::{verify, AuditFilter};
use opencoder::audit::{Actor, AuditAction, AuditEvent};
use reqwest::header::USER_AGENT;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const UA: &str = "AuditTest/1.0 (opencoder test suite)";

#[derive(Debug, sqlx::FromRow)]
#[allow(dead_code)] // `id` is read through Debug when a row is printed
struct Row {
    id: i64,
    user_id: Option<i64>,
    action: String,
    target: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    meta: Option<String>,
}

async fn rows(app: &TestApp) -> Vec<Row> {
    sqlx::query_as(
        "SELECT id, user_id, action, target, ip, user_agent, meta FROM audit_log ORDER BY id",
    )
    .fetch_all(app.sql())
    .await
    .unwrap()
}

async fn last(app: &TestApp, action: &str) -> Row {
    rows(app)
        .await
        .into_iter()
        .rev()
        .find(|r| r.action == action)
        .unwrap_or_else(|| panic!("no {action} row"))
}

/// A request from the trusted loopback proxy on behalf of `client_ip`, with our user agent.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Value,
    client_ip: &str,
) -> common::Resp {
    let mut req = app
        .client
        .request(method, app.url(path))
        .header(USER_AGENT, UA)
        .header("x-forwarded-for", client_ip)
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    TestApp::finish(req).await
}

fn assert_from(row: &Row, ip: &str) {
    assert_eq!(row.ip.as_deref(), Some(ip), "{row:?}");
    assert_eq!(row.user_agent.as_deref(), Some(UA), "{row:?}");
}

#[tokio::test]
async fn each_auth_action_writes_its_row_with_ip_and_user_agent() {
    let app = TestApp::spawn().await;
    let ip = "198.51.100.23";

    let signup = send(
        &app,
        Method::POST,
        "/api/auth/guest",
        None,
        json!({ "name": "Audited" }),
        ip,
    )
    .await;
    assert_eq!(signup.status, StatusCode::CREATED);
    let id = signup.body["user"]["id"].as_i64().unwrap();
    let token = signup.body["token"].as_str().unwrap().to_string();
    let key = signup.body["recoveryKey"].as_str().unwrap().to_string();
    let row = last(&app, "user.signup").await;
    assert_eq!(
        (row.user_id, row.target.as_deref()),
        (Some(id), Some(id.to_string().as_str()))
    );
    assert_from(&row, ip);

    send(
        &app,
        Method::POST,
        "/api/auth/recover",
        None,
        json!({ "recoveryKey": key }),
        ip,
    )
    .await;
    let row = last(&app, "user.recover").await;
    assert_eq!(row.user_id, Some(id));
    assert_from(&row, ip);

    let fail = send(
        &app,
        Method::POST,
        "/api/auth/recover",
        None,
        json!({ "recoveryKey": "ocr_wrong" }),
        "203.0.113.66",
    )
    .await;
    assert_eq!(fail.status, StatusCode::UNAUTHORIZED);
    let row = last(&app, "user.recover.fail").await;
    assert_eq!(row.user_id, None);
    assert_from(&row, "203.0.113.66");

    send(
        &app,
        Method::PATCH,
        "/api/auth/me",
        Some(&token),
        json!({ "name": "Renamed" }),
        ip,
    )
    .await;
    let row = last(&app, "user.name.change").await;
    assert_eq!(row.user_id, Some(id));
    assert_from(&row, ip);
    let meta: Value = serde_json::from_str(row.meta.as_deref().unwrap()).unwrap();
    assert_eq!(meta, json!({ "from": "Audited", "to": "Renamed" }));

    let rotated = send(
        &app,
        Method::POST,
        "/api/auth/recovery-key",
        Some(&token),
        json!({}),
        ip,
    )
    .await;
    let new_key = rotated.body["recoveryKey"].as_str().unwrap().to_string();
    // Rotation ends every earlier session; the caller goes on with the fresh token.
    let token = rotated.body["token"].as_str().unwrap().to_string();
    let row = last(&app, "user.recovery.rotate").await;
    assert_eq!(row.user_id, Some(id));
    assert_from(&row, ip);

    send(
        &app,
        Method::POST,
        "/api/auth/logout-all",
        Some(&token),
        json!({}),
        ip,
    )
    .await;
    let row = last(&app, "user.logout_all").await;
    assert_eq!(row.user_id, Some(id));
    assert_from(&row, ip);

    let fresh = send(
        &app,
        Method::POST,
        "/api/auth/recover",
        None,
        json!({ "recoveryKey": new_key }),
        ip,
    )
    .await;
    let fresh_token = fresh.body["token"].as_str().unwrap().to_string();
    let deleted = send(
        &app,
        Method::DELETE,
        "/api/auth/me",
        Some(&fresh_token),
        json!({ "confirm": "DELETE" }),
        ip,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let row = last(&app, "user.delete").await;
    assert_eq!(
        (row.user_id, row.target.as_deref()),
        (Some(id), Some(id.to_string().as_str()))
    );
    assert_from(&row, ip);
    let meta: Value = serde_json::from_str(row.meta.as_deref().unwrap()).unwrap();
    assert_eq!(meta["name"], "Renamed");

    // No credential ever reached the log, in any column.
    let dump = format!("{:?}", rows(&app).await);
    for secret in [&token, &fresh_token, &key, &new_key] {
        assert!(
            !dump.contains(secret.as_str()),
            "a credential is in the audit log"
        );
    }
    // The trail outlives the user.
    assert!(
        rows(&app)
            .await
            .iter()
            .filter(|r| r.user_id == Some(id))
            .count()
            >= 6
    );
}

#[tokio::test]
async fn failed_actions_write_nothing_but_their_failure() {
    let app = TestApp::spawn().await;
    let user = app.signup("Careful").await;
    let before = rows(&app).await.len();
    app.post("/api/auth/guest", None, json!({ "name": "" }))
        .await;
    app.patch(
        "/api/auth/me",
        Some(&user.token),
        json!({ "name": "\u{202E}" }),
    )
    .await;
    app.request(
        Method::DELETE,
        "/api/auth/me",
        Some(&user.token),
        Some(json!({ "confirm": "no" })),
    )
    .await;
    app.post("/api/auth/logout-all", Some("forged"), json!({}))
        .await;
    assert_eq!(rows(&app).await.len(), before);
}

#[tokio::test]
async fn the_database_refuses_update_and_delete() {
    let app = TestApp::spawn().await;
    app.signup("Immutable").await;
    let pool = app.sql();
    for sql in [
        "UPDATE audit_log SET target = 'changed'",
        "UPDATE audit_log SET hash = 'x' WHERE id = 1",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = 1",
    ] {
        let err = sqlx::query(sql).execute(pool).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let after = rows(&app).await;
    assert_eq!(after.len(), 1);
    assert_eq!(
        after[0].target,
        after[0].user_id.map(|id| id.to_string()),
        "unchanged"
    );
}

#[tokio::test]
async fn the_chain_verifies_and_detects_a_changed_row() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        let user = app.signup(&format!("Chain {i}")).await;
        app.patch(
            "/api/auth/me",
            Some(&user.token),
            json!({ "name": format!("Chain {i}b") }),
        )
        .await;
    }
    let outcome = verify(&app.state.db).await.unwrap();
    assert_eq!(outcome.broken, None);
    assert_eq!(outcome.rows, 10);
    let head: String = sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_one(app.sql())
        .await
        .unwrap();
    assert_eq!(outcome.head, head);

    // Concurrent appends still form one chain.
    let mut handles = Vec::new();
    for i in 0..20 {
        let audit = app.state.audit.clone();
        handles.push(tokio::spawn(async move {
            audit
                .append(
                    &Actor::default(),
                    AuditEvent::new(AuditAction::PadFork).target(format!("pad{i}")),
                )
                .await
                .unwrap();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let outcome = verify(&app.state.db).await.unwrap();
    assert_eq!((outcome.rows, outcome.broken), (30, None));

    // Behind the triggers' back, change row 4: verification names it.
    let pool = app.sql();
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET target = 'someone else' WHERE id = 4")
        .execute(pool)
        .await
        .unwrap();
    let outcome = verify(&app.state.db).await.unwrap();
    assert_eq!(outcome.broken.map(|(id, _)| id), Some(4));
    assert_eq!(outcome.rows, 4);
}

#[tokio::test]
async fn secret_looking_meta_keys_are_redacted_and_meta_is_bounded() {
    let app = TestApp::spawn().await;
    let actor = Actor {
        user: None,
        ip: Some("127.0.0.1".parse().unwrap()),
        user_agent: Some("x".repeat(1000)),
    };
    let meta = json!({
        "role": "viewer",
        "password": "hunter2",
        "recoveryKey": "ocr_abc",
        "Authorization": "Bearer abc",
        "nested": { "apiToken": "t0k", "list": [{ "client_secret": "s" }], "count": 3 },
        "passwordHash": "$2b$10$abc",
    });
    app.state
        .audit
        .append(
            &actor,
            AuditEvent::new(AuditAction::PadPasswordSet)
                .target("pad1")
                .meta(meta),
        )
        .await
        .unwrap();
    let row = last(&app, "pad.password.set").await;
    let stored: Value = serde_json::from_str(row.meta.as_deref().unwrap()).unwrap();
    assert_eq!(
        stored,
        json!({
            "role": "viewer",
            "password": "[redacted]",
            "recoveryKey": "[redacted]",
            "Authorization": "[redacted]",
            "nested": { "apiToken": "[redacted]", "list": [{ "client_secret": "[redacted]" }], "count": 3 },
            "passwordHash": "[redacted]",
        })
    );
    for secret in ["hunter2", "ocr_abc", "t0k", "$2b$10$abc"] {
        assert!(!row.meta.as_deref().unwrap().contains(secret));
    }
    assert_eq!(
        row.user_agent.as_deref().map(|ua| ua.chars().count()),
        Some(256),
        "user agents are cut"
    );

    app.state
        .audit
        .append(
            &actor,
            AuditEvent::new(AuditAction::PadFork).meta(json!({ "blob": "y".repeat(10_000) })),
        )
        .await
        .unwrap();
    let row = last(&app, "pad.fork").await;
    assert!(row.meta.as_deref().unwrap().len() <= opencoder::audit::MAX_META_BYTES);
    assert!(verify(&app.state.db).await.unwrap().broken.is_none());
}

#[tokio::test]
async fn the_cli_query_filters_by_action_user_time_and_pad() {
    let app = TestApp::spawn().await;
    let a = app.signup("Alice").await;
    let b = app.signup("Bob").await;
    app.patch("/api/auth/me", Some(&a.token), json!({ "name": "Alice 2" }))
        .await;
    let actor = Actor {
        user: Some(opencoder::db::UserId(b.id)),
        ..Actor::default()
    };
    app.state
        .audit
        .append(
            &actor,
            AuditEvent::new(AuditAction::PadDelete).target("padslug1"),
        )
        .await
        .unwrap();
    app.state
        .audit
        .append(
            &actor,
            AuditEvent::new(AuditAction::MemberKick)
                .target("7")
                .meta(json!({ "pad": "padslug1" })),
        )
        .await
        .unwrap();

    let db = &app.state.db;
    let query = |f: AuditFilter| async move { opencoder::audit::cli::query(db, &f).await.unwrap() };
    let actions = |rows: Vec<opencoder::audit::AuditRow>| {
        rows.into_iter().map(|r| r.action).collect::<Vec<_>>()
    };

    assert_eq!(actions(query(AuditFilter::default()).await).len(), 5);
    let signups = query(AuditFilter {
        action: Some("user.signup".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        signups.iter().map(|r| r.user_id).collect::<Vec<_>>(),
        [Some(a.id), Some(b.id)]
    );
    assert_eq!(
        actions(
            query(AuditFilter {
                user: Some(a.id),
                ..Default::default()
            })
            .await
        ),
        ["user.signup", "user.name.change"]
    );
    assert_eq!(
        actions(
            query(AuditFilter {
                pad: Some("padslug1".into()),
                ..Default::default()
            })
            .await
        ),
        ["pad.delete", "member.kick"]
    );
    let newest_two = query(AuditFilter {
        limit: Some(2),
        ..Default::default()
    })
    .await;
    assert_eq!(
        actions(newest_two),
        ["pad.delete", "member.kick"],
        "the newest rows, oldest first"
    );
    let future = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(query(AuditFilter {
        since: Some(future),
        ..Default::default()
    })
    .await
    .is_empty());
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    assert_eq!(
        query(AuditFilter {
            since: Some(past),
            ..Default::default()
        })
        .await
        .len(),
        5
    );
}
