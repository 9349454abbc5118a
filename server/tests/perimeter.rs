//! The perimeter (SPEC §8), over real HTTP: security headers on every status class, CORS, the
//! foreign-origin refusal for cookie-authenticated writes, rate limits and the client IP they key
//! on, request ids, and bad input that must never become a 500.

mod common;

use std::collections::{HashMap, HashSet};

use common::{Resp, TestApp};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, ORIGIN, REFERER};
use reqwest::{Method, StatusCode};
use serde_json::json;

// ---- security headers ---------------------------------------------------------------------

/// CSP directives → their sources.
fn csp(resp: &Resp) -> HashMap<String, Vec<String>> {
    let raw = resp
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("no CSP on {}", resp.status));
    raw.split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            let mut words = d.split_whitespace().map(str::to_string);
            (words.next().unwrap(), words.collect())
        })
        .collect()
}

/// SPEC §8's headers, exactly; `hsts` says whether Strict-Transport-Security must be there.
fn assert_security_headers(resp: &Resp, hsts: bool) {
    let ctx = format!("status {} body {:?}", resp.status, resp.body);
    let policy = csp(resp);
    let sources = |d: &str| -> HashSet<&str> {
        policy
            .get(d)
            .unwrap_or_else(|| panic!("CSP lacks {d}: {ctx}"))
            .iter()
            .map(String::as_str)
            .collect()
    };
    assert_eq!(sources("default-src"), HashSet::from(["'self'"]), "{ctx}");
    for d in ["script-src", "worker-src"] {
        let s = sources(d);
        assert!(s.contains("'self'") && s.contains("blob:"), "{d}: {s:?}");
        assert!(
            !s.contains("'unsafe-inline'") && !s.contains("'unsafe-eval'") && !s.contains("*"),
            "{d}: {s:?}"
        );
    }
    let connect = sources("connect-src");
    assert!(
        ["'self'", "ws:", "wss:"]
            .iter()
            .all(|x| connect.contains(x)),
        "{connect:?}"
    );
    assert_eq!(sources("object-src"), HashSet::from(["'none'"]));
    assert_eq!(sources("frame-ancestors"), HashSet::from(["'none'"]));
    assert_eq!(sources("base-uri"), HashSet::from(["'self'"]));
    assert_eq!(sources("form-action"), HashSet::from(["'self'"]));
    assert!(
        !policy.contains_key("upgrade-insecure-requests"),
        "LANs run plain HTTP"
    );
    assert_eq!(resp.header("x-frame-options"), Some("DENY"), "{ctx}");
    assert_eq!(resp.header("referrer-policy"), Some("no-referrer"), "{ctx}");
    assert_eq!(
        resp.header("x-content-type-options"),
        Some("nosniff"),
        "{ctx}"
    );
    assert_eq!(
        resp.header("cross-origin-opener-policy"),
        Some("same-origin"),
        "{ctx}"
    );
    match (hsts, resp.header("strict-transport-security")) {
        (false, None) => {}
        (true, Some(value)) => assert!(value.contains("max-age="), "{value}"),
        (want, got) => panic!("HSTS expected {want}, got {got:?}: {ctx}"),
    }
    assert!(
        resp.header("x-request-id").is_some_and(|id| !id.is_empty()),
        "{ctx}"
    );
}

fn assert_error(resp: &Resp, status: StatusCode, code: &str) {
    assert_eq!(resp.status, status, "{:?}", resp.body);
    assert_eq!(resp.body["error"], code, "{:?}", resp.body);
    assert!(
        resp.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{:?}",
        resp.body
    );
}

#[tokio::test]
async fn every_status_class_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let user = app.signup("Headers").await;
    let mut seen = Vec::new();

    let ok = app.get("/api/health", None).await;
    assert_eq!(ok.status, StatusCode::OK);
    seen.push(ok);

    let created = app
        .post("/api/auth/guest", None, json!({ "name": "Created" }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    seen.push(created);

    let bad = app
        .post("/api/auth/guest", None, json!({ "name": "" }))
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_name");
    seen.push(bad);

    let unauthenticated = app.get("/api/pads", None).await;
    assert_error(
        &unauthenticated,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    seen.push(unauthenticated);

    let forbidden = TestApp::finish(
        app.client
            .post(app.url("/api/auth/logout-all"))
            .header(COOKIE, format!("oc_token={}", user.token))
            .header(ORIGIN, "http://evil.example"),
    )
    .await;
    assert_error(&forbidden, StatusCode::FORBIDDEN, "cross_origin_refused");
    seen.push(forbidden);

    let no_route = app.get("/api/nope", None).await;
    assert_error(&no_route, StatusCode::NOT_FOUND, "no_route");
    seen.push(no_route);
    let no_route_deep = app
        .delete("/api/nope/deeper/still", Some(&user.token))
        .await;
    assert_error(&no_route_deep, StatusCode::NOT_FOUND, "no_route");
    seen.push(no_route_deep);

    let wrong_method = app.get("/api/auth/guest", None).await;
    assert_error(
        &wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    seen.push(wrong_method);

    let unsupported = TestApp::finish(
        app.client
            .post(app.url("/api/auth/guest"))
            .body(r#"{"name":"x"}"#),
    )
    .await;
    assert_error(
        &unsupported,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    seen.push(unsupported);

    let in_url = app.get("/api/auth/me?token=abc", None).await;
    assert_error(&in_url, StatusCode::UNAUTHORIZED, "token_in_url");
    seen.push(in_url);

    let preflight = TestApp::finish(
        app.client
            .request(Method::OPTIONS, app.url("/api/auth/me"))
            .header(ORIGIN, "http://lan.example:3000")
            .header("access-control-request-method", "PATCH"),
    )
    .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    seen.push(preflight);

    for resp in &seen {
        assert_security_headers(resp, false);
    }
}

#[tokio::test]
async fn oversized_bodies_get_413_with_headers() {
    let app = TestApp::spawn_with(&[("MAX_BODY_BYTES", "1024")]).await;
    let fits = app
        .post(
            "/api/auth/guest",
            None,
            json!({ "name": "small", "pad": "x".repeat(900) }),
        )
        .await;
    assert_eq!(fits.status, StatusCode::CREATED, "{:?}", fits.body);
    let r = app
        .post("/api/auth/guest", None, json!({ "name": "x".repeat(2000) }))
        .await;
    assert_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_security_headers(&r, false);
}

#[tokio::test]
async fn rate_limited_responses_carry_retry_after_and_headers() {
    let app = TestApp::spawn_with(&[("SIGNUP_RATE_LIMIT_PER_MINUTE", "10")]).await;
    for i in 0..10 {
        let r = app
            .post(
                "/api/auth/guest",
                None,
                json!({ "name": format!("user {i}") }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "sign-up {i}: {:?}", r.body);
    }
    let r = app
        .post("/api/auth/guest", None, json!({ "name": "eleventh" }))
        .await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_security_headers(&r, false);

    // Recovery shares the sign-up budget (SPEC §2): a brute-forcer cannot switch endpoints.
    let recover = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": "ocr_guess" }),
        )
        .await;
    assert_error(&recover, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // Other endpoints are on the global budget, which is untouched.
    assert_eq!(app.get("/api/health", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_server_error_is_generic_and_carries_headers() {
    let app = TestApp::spawn().await;
    let user = app.signup("Before the outage").await;
    app.state.db.close().await;

    let r = app.get("/api/auth/me", Some(&user.token)).await;
    assert_error(&r, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert_eq!(
        r.body,
        json!({ "error": "internal", "message": "internal server error" }),
        "no internals leak"
    );
    assert_security_headers(&r, false);

    let signup = app
        .post("/api/auth/guest", None, json!({ "name": "During" }))
        .await;
    assert_eq!(signup.status, StatusCode::INTERNAL_SERVER_ERROR);
    let text = signup.body.to_string().to_lowercase();
    for leak in ["sqlx", "pool", "sqlite", "closed", "database"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
    assert_security_headers(&signup, false);

    let health = app.get("/api/health", None).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_security_headers(&health, false);
}

#[tokio::test]
async fn hsts_is_sent_only_when_enabled() {
    let app = TestApp::spawn_with(&[("ENABLE_HSTS", "1")]).await;
    for path in ["/api/health", "/api/nope", "/health", "/"] {
        assert_security_headers(&app.get(path, None).await, true);
    }
    let off = TestApp::spawn().await;
    assert_security_headers(&off.get("/api/health", None).await, false);
}

#[tokio::test]
async fn api_answers_are_not_cached() {
    let app = TestApp::spawn().await;
    let signup = app
        .post("/api/auth/guest", None, json!({ "name": "Uncached" }))
        .await;
    assert_eq!(
        signup.header("cache-control"),
        Some("no-store"),
        "the token and recovery key must not be cached"
    );
    let token = signup.body["token"].as_str().unwrap();
    for resp in [
        app.get("/api/auth/me", Some(token)).await,
        app.get("/api/nope", None).await,
    ] {
        assert_eq!(resp.header("cache-control"), Some("no-store"));
    }
}

// ---- CORS and origins ---------------------------------------------------------------------

#[tokio::test]
async fn without_allowed_origins_foreign_origins_get_cors_without_credentials() {
    let app = TestApp::spawn().await;
    for origin in ["http://192.168.1.20:4000", "https://anything.example"] {
        let r = TestApp::finish(
            app.client
                .get(app.url("/api/health"))
                .header(ORIGIN, origin),
        )
        .await;
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        assert_eq!(
            r.header("access-control-allow-credentials"),
            None,
            "{origin}: credentials only for trusted origins"
        );
    }
    let own = format!("http://{}", app.addr);
    let same = TestApp::finish(app.client.get(app.url("/api/health")).header(ORIGIN, &own)).await;
    assert_eq!(
        same.header("access-control-allow-origin"),
        Some(own.as_str())
    );
    assert_eq!(
        same.header("access-control-allow-credentials"),
        Some("true")
    );
    let plain = app.get("/api/health", None).await;
    assert_eq!(plain.header("access-control-allow-origin"), None);
}

/// Issue 9 item 2: a page on another port of the same host is same-site, so a browser attaches
/// the victim's `SameSite=Lax` cookie to its `fetch(…, {credentials: "include"})`. Before the fix
/// the server mirrored that origin *with* `Access-Control-Allow-Credentials` and answered the
/// cookie-authenticated read, so the page read pads, files, chat, exports and invite tokens.
#[tokio::test]
async fn a_second_origin_on_the_same_host_reads_nothing_with_the_victims_cookie() {
    let app = TestApp::spawn().await;
    let victim = app.signup("Victim").await;
    let pad = app
        .create_pad(
            &victim,
            json!({ "title": "Secret plans", "language": "python" }),
        )
        .await;
    let slug = pad["pad"]["slug"].as_str().unwrap().to_string();
    let invite = app
        .post(
            &format!("/api/pads/{slug}/invites"),
            Some(&victim.token),
            json!({ "role": "collaborator" }),
        )
        .await;
    assert!(invite.status.is_success(), "{:?}", invite.body);
    // The attacker's page: same host, another port.
    let attacker_origin = format!(
        "http://127.0.0.1:{}",
        app.addr.port().wrapping_add(1).max(1024)
    );
    let cookie = format!("oc_token={}", victim.token);
    for path in [
        "/api/auth/me".to_string(),
        "/api/pads".to_string(),
        format!("/api/pads/{slug}"),
        format!("/api/pads/{slug}/files"),
        format!("/api/pads/{slug}/chat"),
        format!("/api/pads/{slug}/invites"),
        format!("/api/pads/{slug}/members"),
        format!("/api/pads/{slug}/recordings"),
    ] {
        // Exactly what Chromium sends for a credentialed cross-origin fetch from that page.
        let r = TestApp::finish(
            app.client
                .get(app.url(&path))
                .header(COOKIE, &cookie)
                .header(ORIGIN, &attacker_origin)
                .header("sec-fetch-site", "same-site")
                .header("sec-fetch-mode", "cors")
                .header("sec-fetch-dest", "empty")
                .header(REFERER, format!("{attacker_origin}/")),
        )
        .await;
        assert_error(&r, StatusCode::FORBIDDEN, "cross_origin_refused");
        assert_eq!(r.header("access-control-allow-credentials"), None, "{path}");
        let text = r.body.to_string();
        assert!(
            !text.contains("Secret plans") && !text.contains(&slug),
            "{path} leaked: {text}"
        );
    }
    // The preflight a credentialed PATCH would need is not granted credentials either.
    let preflight = TestApp::finish(
        app.client
            .request(Method::OPTIONS, app.url(&format!("/api/pads/{slug}")))
            .header(ORIGIN, &attacker_origin)
            .header("access-control-request-method", "PATCH")
            .header("access-control-request-headers", "content-type"),
    )
    .await;
    assert_eq!(preflight.header("access-control-allow-credentials"), None);

    // The app's own pages keep working with the cookie, reads and writes.
    let own_origin = format!("http://{}", app.addr);
    let own = TestApp::finish(
        app.client
            .get(app.url(&format!("/api/pads/{slug}")))
            .header(COOKIE, &cookie)
            .header(ORIGIN, &own_origin),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.body);
    assert_eq!(own.header("access-control-allow-credentials"), Some("true"));
    // A navigation or a non-browser client sends no Origin: the cookie still works.
    let originless =
        TestApp::finish(app.client.get(app.url("/api/pads")).header(COOKIE, &cookie)).await;
    assert_eq!(originless.status, StatusCode::OK, "{:?}", originless.body);
    // A page elsewhere holding its own bearer token is not riding on ambient credentials.
    let bearer = TestApp::finish(
        app.client
            .get(app.url(&format!("/api/pads/{slug}")))
            .header(AUTHORIZATION, format!("Bearer {}", victim.token))
            .header(ORIGIN, &attacker_origin),
    )
    .await;
    assert_eq!(bearer.status, StatusCode::OK, "{:?}", bearer.body);
}

#[tokio::test]
async fn with_allowed_origins_only_listed_origins_get_cors_headers() {
    let listed = "https://pad.example.com";
    let app = TestApp::spawn_with(&[(
        "ALLOWED_ORIGINS",
        "https://pad.example.com, https://other.example.com/",
    )])
    .await;

    let ok = TestApp::finish(
        app.client
            .get(app.url("/api/health"))
            .header(ORIGIN, listed),
    )
    .await;
    assert_eq!(ok.header("access-control-allow-origin"), Some(listed));
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    let second = TestApp::finish(
        app.client
            .get(app.url("/api/health"))
            .header(ORIGIN, "https://other.example.com"),
    )
    .await;
    assert_eq!(
        second.header("access-control-allow-origin"),
        Some("https://other.example.com")
    );

    for origin in [
        "https://evil.example",
        "http://pad.example.com",
        "https://pad.example.com.evil.example",
        "null",
    ] {
        let r = TestApp::finish(
            app.client
                .get(app.url("/api/health"))
                .header(ORIGIN, origin),
        )
        .await;
        assert_eq!(r.header("access-control-allow-origin"), None, "{origin}");
        assert_eq!(
            r.header("access-control-allow-credentials"),
            None,
            "{origin}"
        );
    }

    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/auth/me"))
            .header(ORIGIN, origin)
            .header("access-control-request-method", "PATCH")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
    };
    let allowed = TestApp::finish(preflight(listed)).await;
    assert!(allowed.status.is_success());
    assert_eq!(allowed.header("access-control-allow-origin"), Some(listed));
    let methods = allowed
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    assert!(methods.contains("PATCH"), "{methods}");
    let headers = allowed
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    assert_security_headers(&allowed, false);

    let refused = TestApp::finish(preflight("https://evil.example")).await;
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert_eq!(refused.header("access-control-allow-credentials"), None);
}

#[tokio::test]
async fn cookie_authenticated_writes_from_foreign_origins_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.signup("Cookie Holder").await;
    let own_origin = format!("http://{}", app.addr);
    let cookie = format!("oc_token={}", user.token);

    // Each write endpoint, cookie-only, from a foreign browser origin.
    let attempts = [
        (Method::PATCH, "/api/auth/me", json!({ "name": "pwned" })),
        (
            Method::DELETE,
            "/api/auth/me",
            json!({ "confirm": "DELETE" }),
        ),
        (Method::POST, "/api/auth/logout-all", json!({})),
        (Method::POST, "/api/auth/recovery-key", json!({})),
    ];
    for (method, path, body) in &attempts {
        for (header, value) in [
            (ORIGIN, "http://evil.example"),
            (ORIGIN, "null"),
            (ORIGIN, "http://127.0.0.1.evil.example"),
            (REFERER, "http://evil.example/attack.html"),
        ] {
            let req = app
                .client
                .request(method.clone(), app.url(path))
                .header(COOKIE, &cookie)
                .header(header.clone(), value)
                .json(body);
            let r = TestApp::finish(req).await;
            assert_error(&r, StatusCode::FORBIDDEN, "cross_origin_refused");
        }
    }
    let me = app.get("/api/auth/me", Some(&user.token)).await;
    assert_eq!(me.status, StatusCode::OK, "the account survived");
    assert_eq!(me.body["user"]["name"], "Cookie Holder");

    // The same write from the app's own origin is fine.
    let same = TestApp::finish(
        app.client
            .patch(app.url("/api/auth/me"))
            .header(COOKIE, &cookie)
            .header(ORIGIN, &own_origin)
            .json(&json!({ "name": "Renamed at home" })),
    )
    .await;
    assert_eq!(same.status, StatusCode::OK, "{:?}", same.body);

    // Bearer authentication is not ambient, so a foreign origin may use it.
    let bearer = TestApp::finish(
        app.client
            .patch(app.url("/api/auth/me"))
            .header(AUTHORIZATION, format!("Bearer {}", user.token))
            .header(ORIGIN, "http://evil.example")
            .json(&json!({ "name": "Via bearer" })),
    )
    .await;
    assert_eq!(bearer.status, StatusCode::OK, "{:?}", bearer.body);
}

#[tokio::test]
async fn allowed_origins_may_write_with_the_cookie() {
    let app = TestApp::spawn_with(&[("ALLOWED_ORIGINS", "https://pad.example.com")]).await;
    let user = app.signup("Listed").await;
    let r = TestApp::finish(
        app.client
            .patch(app.url("/api/auth/me"))
            .header(COOKIE, format!("oc_token={}", user.token))
            .header(ORIGIN, "https://pad.example.com")
            .json(&json!({ "name": "From the listed origin" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

// ---- rate limits and client IP ------------------------------------------------------------

#[tokio::test]
async fn the_global_limit_covers_the_api_but_not_other_paths() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_PER_MINUTE", "5")]).await;
    for i in 0..5 {
        assert_eq!(
            app.get("/api/health", None).await.status,
            StatusCode::OK,
            "request {i}"
        );
    }
    let limited = app.get("/api/health", None).await;
    assert_error(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    assert_security_headers(&limited, false);
    // Every /api path shares the budget, routed or not.
    assert_eq!(
        app.get("/api/nope", None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The client and the load balancer's probe are exempt.
    for path in ["/health", "/", "/index.html", "/assets/app.js"] {
        let r = app.get(path, None).await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "{path}");
    }
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    // The test client connects from 127.0.0.1, which this configuration does not trust.
    let app = TestApp::spawn_with(&[
        ("TRUSTED_PROXIES", "10.0.0.0/8"),
        ("RATE_LIMIT_PER_MINUTE", "3"),
    ])
    .await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let r = TestApp::finish(
            app.client
                .get(app.url("/api/health"))
                .header("x-forwarded-for", format!("203.0.113.{}", i + 1)),
        )
        .await;
        statuses.push(r.status);
    }
    assert_eq!(statuses[..3], [StatusCode::OK; 3]);
    assert_eq!(
        statuses[3],
        StatusCode::TOO_MANY_REQUESTS,
        "one shared bucket despite different XFF values"
    );
}

#[tokio::test]
async fn forwarded_for_from_a_trusted_proxy_picks_the_bucket() {
    // Default TRUSTED_PROXIES is loopback, and the test client is on loopback.
    let app = TestApp::spawn_with(&[("RATE_LIMIT_PER_MINUTE", "3")]).await;
    for i in 0..10 {
        let r = TestApp::finish(
            app.client
                .get(app.url("/api/health"))
                .header("x-forwarded-for", format!("198.51.100.{}", i + 1)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "client {i} has its own bucket");
    }
    let same_client = || {
        TestApp::finish(
            app.client
                .get(app.url("/api/health"))
                .header("x-forwarded-for", "6.6.6.6, 198.51.100.200"),
        )
    };
    for _ in 0..3 {
        assert_eq!(same_client().await.status, StatusCode::OK);
    }
    assert_eq!(
        same_client().await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the proxy-reported client is limited"
    );
    // The left-most, client-supplied entry cannot pick a fresh bucket through the proxy.
    let spoof = TestApp::finish(
        app.client
            .get(app.url("/api/health"))
            .header("x-forwarded-for", "1.1.1.1, 198.51.100.200"),
    )
    .await;
    assert_eq!(spoof.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn every_response_has_a_unique_request_id() {
    let app = TestApp::spawn().await;
    let mut ids = HashSet::new();
    for path in [
        "/api/health",
        "/api/health",
        "/api/nope",
        "/api/auth/me",
        "/health",
    ] {
        let r = TestApp::finish(
            app.client
                .get(app.url(path))
                .header("x-request-id", "client-chosen"),
        )
        .await;
        let id = r.header("x-request-id").expect("x-request-id").to_string();
        assert_ne!(
            id, "client-chosen",
            "a client cannot choose the id logs are keyed by"
        );
        assert!(ids.insert(id), "ids are unique");
    }
}

// ---- bad input ----------------------------------------------------------------------------

#[tokio::test]
async fn malformed_input_is_a_client_error_never_a_500() {
    let app = TestApp::spawn().await;
    let user = app.signup("Fuzz").await;
    let raw = |method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>| {
        let mut req = app
            .client
            .request(method, app.url(path))
            .bearer_auth(&user.token)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        TestApp::finish(req)
    };
    let json_ct = Some("application/json");
    // (what, method, path, content type, body, expected status)
    type Case<'a> = (
        &'a str,
        Method,
        &'a str,
        Option<&'a str>,
        Vec<u8>,
        StatusCode,
    );
    let cases: Vec<Case> = vec![
        (
            "truncated JSON",
            Method::POST,
            "/api/auth/guest",
            json_ct,
            br#"{"name": "#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not JSON",
            Method::POST,
            "/api/auth/guest",
            json_ct,
            b"name=Ada".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "empty body",
            Method::POST,
            "/api/auth/guest",
            json_ct,
            Vec::new(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong type",
            Method::POST,
            "/api/auth/guest",
            json_ct,
            br#"{"name": 42}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "null field",
            Method::POST,
            "/api/auth/guest",
            json_ct,
            br#"{"name": null}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "a string",
            Method::POST,
            "/api/auth/guest",
            json_ct,
            br#""Ada""#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "invalid UTF-8",
            Method::POST,
            "/api/auth/guest",
            json_ct,
            b"{\"name\": \"\xff\xfe\"}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "lone surrogate",
            Method::POST,
            "/api/auth/guest",
            json_ct,
            br#"{"name": "\ud800"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "deep nesting",
            Method::POST,
            "/api/auth/guest",
            json_ct,
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "no content type",
            Method::POST,
            "/api/auth/guest",
            None,
            br#"{"name": "Ada"}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "text/plain",
            Method::POST,
            "/api/auth/guest",
            Some("text/plain"),
            br#"{"name": "Ada"}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "form",
            Method::POST,
            "/api/auth/recover",
            Some("application/x-www-form-urlencoded"),
            b"recoveryKey=x".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "rename: wrong type",
            Method::PATCH,
            "/api/auth/me",
            json_ct,
            br#"{"name": ["a"]}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "rename: truncated",
            Method::PATCH,
            "/api/auth/me",
            json_ct,
            br#"{"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "delete: wrong type",
            Method::DELETE,
            "/api/auth/me",
            json_ct,
            br#"{"confirm": true}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "recover: wrong type",
            Method::POST,
            "/api/auth/recover",
            json_ct,
            br#"{"recoveryKey": 1}"#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, method, path, ct, body, expected) in cases {
        let r = raw(method, path, ct, body).await;
        assert_eq!(r.status, expected, "{what}: {:?}", r.body);
        assert!(
            r.body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {:?}",
            r.body
        );
        assert!(r.body["message"].is_string(), "{what}: {:?}", r.body);
        assert!(
            !r.body.to_string().contains("opencoder::"),
            "{what}: Rust type names leak: {:?}",
            r.body
        );
        assert_security_headers(&r, false);
    }
    assert_eq!(
        app.get("/api/auth/me", Some(&user.token)).await.body["user"]["name"],
        "Fuzz"
    );
}
