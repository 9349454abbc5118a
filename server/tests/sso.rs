//! Single sign-on's edges that need no identity provider (the flows against a real provider are
//! in `tests/interop/sso.test.mjs`): what the client is told, SSO-only mode's refusals, a
//! provider that cannot be reached, and a callback with no sign-in under way.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::json;

/// A provider address nothing listens on (port 9 is discard; loopback refuses at once).
const UNREACHABLE: &str = "http://127.0.0.1:9";

fn sso_vars(mode: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("OIDC_ISSUER", UNREACHABLE),
        ("OIDC_CLIENT_ID", "opencoder"),
        ("OIDC_LABEL", "Acme ID"),
        ("PUBLIC_BASE_URL", "http://127.0.0.1:4000"),
        ("AUTH_MODE", mode),
    ]
}

#[tokio::test]
async fn without_a_provider_only_names_exist_and_the_sso_routes_are_absent() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/auth/config", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({ "names": true, "sso": null }));
    let r = app.post("/api/auth/oidc/start", None, json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get("/api/auth/oidc/callback?code=c&state=s", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let ada = app.signup("Ada").await;
    let r = app.get("/api/auth/oidc/link", Some(&ada.token)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sso_only_refuses_name_sign_up_and_recovery() {
    let app = TestApp::spawn_with(&sso_vars("sso")).await;
    let r = app.get("/api/auth/config", None).await;
    assert_eq!(
        r.body,
        json!({ "names": false, "sso": { "label": "Acme ID" } })
    );
    let r = app
        .post("/api/auth/guest", None, json!({ "name": "Ada" }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["error"], "sso_only");
    assert!(r.body["message"].as_str().unwrap().contains("Acme ID"));
    let key = format!("ocr_{}", "a".repeat(40));
    let r = app
        .post("/api/auth/recover", None, json!({ "recoveryKey": key }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["error"], "sso_only");
    assert!(app.audit_rows("user.signup").await.is_empty());
}

#[tokio::test]
async fn an_unreachable_provider_is_503_and_a_stray_callback_signs_nobody_in() {
    let app = TestApp::spawn_with(&sso_vars("all")).await;
    // Name-only accounts still work beside SSO.
    let ada = app.signup("Ada").await;
    let r = app.post("/api/auth/oidc/start", None, json!({})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
    assert_eq!(r.body["error"], "sso_unavailable");
    // Linking needs a session; with one it gets as far as the provider.
    let r = app
        .post("/api/auth/oidc/start", None, json!({ "link": true }))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app
        .post(
            "/api/auth/oidc/start",
            Some(&ada.token),
            json!({ "link": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let r = app.get("/api/auth/oidc/link", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.get("/api/auth/oidc/link", Some(&ada.token)).await;
    assert_eq!(r.body, json!({ "linked": false }));

    let r = app
        .get("/api/auth/oidc/callback?code=c&state=s", None)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        "/?sso_error=sso_state_mismatch"
    );
    let cookies: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        cookies.iter().all(|c| !c.starts_with("oc_token=")),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn start_and_callback_share_the_sign_up_budget() {
    let mut vars = sso_vars("all");
    vars.push(("SIGNUP_RATE_LIMIT_PER_MINUTE", "3"));
    let app = TestApp::spawn_with(&vars).await;
    for _ in 0..2 {
        let r = app.post("/api/auth/oidc/start", None, json!({})).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    }
    let r = app
        .get("/api/auth/oidc/callback?code=c&state=s", None)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    for r in [
        app.post("/api/auth/oidc/start", None, json!({})).await,
        app.get("/api/auth/oidc/callback?code=c&state=s", None)
            .await,
        app.post("/api/auth/guest", None, json!({ "name": "Ada" }))
            .await,
    ] {
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
        assert!(r.headers.contains_key("retry-after"));
    }
}

/// `opencoder doctor` says when the provider does not answer: a failure where SSO is the only
/// way in, a warning beside name accounts.
#[tokio::test]
async fn doctor_reports_a_provider_that_does_not_answer() {
    use opencoder::doctor::Status;
    for (mode, status) in [("sso", Status::Fail), ("all", Status::Warn)] {
        let vars = sso_vars(mode)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let config = opencoder::config::Config::from_vars(&vars).unwrap();
        let check = opencoder::auth::oidc::doctor::check(&config).await;
        assert_eq!(check.status, status, "{mode}: {}", check.summary);
        assert!(
            check.summary.starts_with("OIDC_ISSUER"),
            "{}",
            check.summary
        );
    }
}
