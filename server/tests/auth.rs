//! Identity and sessions (SPEC §2), over real HTTP: sign-up, the session cookie, names, recovery
//! keys, the account endpoints, logout and logout-all, and every way a token must be refused.

mod common;

use base64::Engine;
use common::{Resp, TestApp, TestUser};
use reqwest::header::{AUTHORIZATION, COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A strong production secret: long and not a known or single-character value.
const STRONG_SECRET: &str = "3f9a1c7e5b2d48a6c0e1f7b9d3a5c8e2f4b6d8a0c2e4f6a8b0d2e4f6a8c0e2f4";

/// The `oc_token` Set-Cookie of a response, split into its value and attributes.
struct SetCookie {
    value: String,
    attributes: Vec<String>,
}

impl SetCookie {
    fn of(resp: &Resp) -> SetCookie {
        let raw = resp
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("oc_token="))
            .unwrap_or_else(|| panic!("no oc_token cookie in {:?}", resp.headers))
            .to_string();
        let mut parts = raw.split(';').map(|p| p.trim().to_string());
        let value = parts
            .next()
            .unwrap()
            .trim_start_matches("oc_token=")
            .to_string();
        SetCookie {
            value,
            attributes: parts.collect(),
        }
    }

    fn has(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find_map(|a| {
            let (k, v) = a.split_once('=')?;
            k.eq_ignore_ascii_case(name).then_some(v)
        })
    }
}

async fn me(app: &TestApp, token: &str) -> Resp {
    app.get("/api/auth/me", Some(token)).await
}

async fn with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Resp {
    let mut req = app
        .client
        .request(method, app.url(path))
        .header(COOKIE, format!("oc_token={token}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    TestApp::finish(req).await
}

fn assert_unauthenticated(resp: &Resp, code: &str) {
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{:?}", resp.body);
    assert_eq!(resp.body["error"], code, "{:?}", resp.body);
}

// ---- sign-up and the cookie ---------------------------------------------------------------

#[tokio::test]
async fn signup_returns_token_user_recovery_key_and_a_dev_cookie() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/api/auth/guest",
            None,
            json!({ "name": "  Ada Lovelace  " }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let token = r.body["token"].as_str().expect("token");
    assert_eq!(
        r.body["user"]["name"], "Ada Lovelace",
        "the name is trimmed"
    );
    assert!(r.body["user"]["id"].is_i64());
    assert!(
        r.body["user"].get("sessionEpoch").is_none(),
        "the epoch stays server-side"
    );
    let key = r.body["recoveryKey"].as_str().expect("recoveryKey");
    assert!(key.len() >= 40, "a high-entropy key: {key}");

    let cookie = SetCookie::of(&r);
    assert_eq!(cookie.value, token);
    assert!(cookie.has("HttpOnly"));
    assert_eq!(cookie.get("SameSite"), Some("Lax"));
    assert_eq!(cookie.get("Path"), Some("/"));
    assert_eq!(cookie.get("Max-Age"), Some("604800"));
    assert!(
        !cookie.has("Secure"),
        "plain-HTTP dev/LAN must not get a Secure cookie"
    );
    assert_eq!(cookie.get("Domain"), None);

    let got = me(&app, token).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["user"]["name"], "Ada Lovelace");
    // Tokens never travel in a response header other than the cookie.
    for (name, value) in r.headers.iter() {
        if name != "set-cookie" {
            assert!(
                !value.to_str().unwrap_or("").contains(token),
                "token leaked in {name}"
            );
        }
    }
}

#[tokio::test]
async fn production_cookie_is_secure_and_carries_the_domain() {
    let app = TestApp::spawn_with(&[
        ("OPENCODER_ENV", "production"),
        ("JWT_SECRET", STRONG_SECRET),
        ("COOKIE_DOMAIN", "pad.example.com"),
    ])
    .await;
    let r = app
        .post("/api/auth/guest", None, json!({ "name": "Grace" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let cookie = SetCookie::of(&r);
    assert!(cookie.has("Secure"));
    assert_eq!(cookie.get("Domain"), Some("pad.example.com"));
    assert!(cookie.has("HttpOnly"));
    assert_eq!(cookie.get("SameSite"), Some("Lax"));
    assert_eq!(cookie.get("Max-Age"), Some("604800"));

    let out = app.post("/api/auth/logout", None, json!({})).await;
    let cleared = SetCookie::of(&out);
    assert_eq!(cleared.get("Max-Age"), Some("0"));
    assert!(
        cleared.has("Secure"),
        "the clearing cookie must match the setting one"
    );
    assert_eq!(cleared.get("Domain"), Some("pad.example.com"));
}

#[tokio::test]
async fn https_behind_a_proxy_gets_a_secure_cookie_in_dev() {
    let app = TestApp::spawn().await;
    let req = app
        .client
        .post(app.url("/api/auth/guest"))
        .header("x-forwarded-proto", "https")
        .json(&json!({ "name": "Proxied" }));
    let r = TestApp::finish(req).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(SetCookie::of(&r).has("Secure"));
}

// ---- names --------------------------------------------------------------------------------

#[tokio::test]
async fn names_are_trimmed_bounded_and_free_of_control_and_bidi_characters() {
    let app = TestApp::spawn().await;
    for ok in [
        "A",
        "x".repeat(60).as_str(),
        "é".repeat(60).as_str(),
        "  padded  ",
        "名前",
        "O'Brien-Smith",
    ] {
        let r = app
            .post("/api/auth/guest", None, json!({ "name": ok }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{ok:?}: {:?}", r.body);
        assert_eq!(r.body["user"]["name"], ok.trim());
    }
    let sixty_one = "x".repeat(61);
    let padded_sixty_one = format!("  {sixty_one}  ");
    for bad in [
        "",
        "   ",
        "\t\n",
        sixty_one.as_str(),
        padded_sixty_one.as_str(),
        "bell\u{0007}",
        "new\nline",
        "nul\u{0000}",
        "esc\u{001b}[31m",
        "evil\u{202E}gnp.exe",
        "isolate\u{2066}x\u{2069}",
        "zero\u{200B}width",
        "bom\u{FEFF}",
        "del\u{007F}",
    ] {
        let r = app
            .post("/api/auth/guest", None, json!({ "name": bad }))
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{bad:?} must be refused: {:?}",
            r.body
        );
        assert_eq!(r.body["error"], "invalid_name", "{bad:?}");
        assert!(r.body["message"].is_string());
    }
    let missing = app.post("/api/auth/guest", None, json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
}

// ---- recovery keys ------------------------------------------------------------------------

#[tokio::test]
async fn the_recovery_key_issues_a_fresh_working_token() {
    let app = TestApp::spawn().await;
    let user = app.signup("Recoverable").await;
    let r = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": user.recovery_key }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(
        r.body.get("recoveryKey").is_none(),
        "recovery does not re-show the key"
    );
    let token = r.body["token"].as_str().unwrap();
    assert_eq!(SetCookie::of(&r).value, token);
    let got = me(&app, token).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["user"]["id"], user.id);
    // The key keeps working until rotated; surrounding whitespace from copy-paste is tolerated.
    let again = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": format!(" {}\n", user.recovery_key) }),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
}

#[tokio::test]
async fn a_bad_recovery_key_is_401_and_audited() {
    let app = TestApp::spawn().await;
    let user = app.signup("Target").await;
    let mut wrong = user.recovery_key.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    for key in [wrong.as_str(), "", "ocr_", "not-a-key", "' OR 1=1 --"] {
        let r = app
            .post("/api/auth/recover", None, json!({ "recoveryKey": key }))
            .await;
        assert_unauthenticated(&r, "invalid_recovery_key");
        assert!(r.body.get("token").is_none());
        assert!(r.headers.get("set-cookie").is_none());
    }
    let rows = app.audit_rows("user.recover.fail").await;
    assert_eq!(rows.len(), 5, "every failure is audited");
    assert!(
        rows.iter().all(|(user, _, _)| user.is_none()),
        "a failed recovery names no user"
    );
}

#[tokio::test]
async fn rotating_the_key_retires_the_old_one() {
    let app = TestApp::spawn().await;
    let user = app.signup("Rotator").await;
    let r = app
        .post("/api/auth/recovery-key", Some(&user.token), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let new_key = r.body["recoveryKey"].as_str().unwrap().to_string();
    assert_ne!(new_key, user.recovery_key);

    let old = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": user.recovery_key }),
        )
        .await;
    assert_unauthenticated(&old, "invalid_recovery_key");
    let new = app
        .post("/api/auth/recover", None, json!({ "recoveryKey": new_key }))
        .await;
    assert_eq!(new.status, StatusCode::OK);
    assert_eq!(new.body["user"]["id"], user.id);

    let anonymous = app.post("/api/auth/recovery-key", None, json!({})).await;
    assert_unauthenticated(&anonymous, "unauthenticated");
}

// ---- the account --------------------------------------------------------------------------

#[tokio::test]
async fn me_reads_and_renames_from_the_database() {
    let app = TestApp::spawn().await;
    let user = app.signup("Before").await;
    let r = app
        .patch(
            "/api/auth/me",
            Some(&user.token),
            json!({ "name": "  After  " }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["user"]["name"], "After");
    // The old token still works, and the name comes from the database, not from the token.
    let got = me(&app, &user.token).await;
    assert_eq!(got.body["user"]["name"], "After");

    let bad = app
        .patch(
            "/api/auth/me",
            Some(&user.token),
            json!({ "name": "x\u{202E}y" }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(me(&app, &user.token).await.body["user"]["name"], "After");

    assert_unauthenticated(
        &app.patch("/api/auth/me", None, json!({ "name": "x" }))
            .await,
        "unauthenticated",
    );
}

#[tokio::test]
async fn me_without_credentials_is_a_visitor_but_a_bad_token_is_still_401() {
    let app = TestApp::spawn().await;
    let visitor = app.get("/api/auth/me", None).await;
    assert_eq!(visitor.status, StatusCode::OK, "{:?}", visitor.body);
    assert_eq!(visitor.body, json!({ "user": null }));
    // An unrelated cookie or another auth scheme is still "no credentials".
    let other_cookie = TestApp::finish(
        app.client
            .get(app.url("/api/auth/me"))
            .header(COOKIE, "theme=dark"),
    )
    .await;
    assert_eq!(other_cookie.status, StatusCode::OK);
    assert_eq!(other_cookie.body, json!({ "user": null }));

    assert_unauthenticated(
        &app.get("/api/auth/me", Some("not-a-token")).await,
        "invalid_token",
    );
    assert_unauthenticated(
        &with_cookie(&app, Method::GET, "/api/auth/me", "not-a-token", None).await,
        "invalid_token",
    );
    let empty_bearer = TestApp::finish(
        app.client
            .get(app.url("/api/auth/me"))
            .header(AUTHORIZATION, "Bearer"),
    )
    .await;
    assert_eq!(
        empty_bearer.status,
        StatusCode::UNAUTHORIZED,
        "an empty bearer header is a bad token, not a visitor"
    );

    // A session ended by logout-all is 401 for the cookie too, never a quiet visitor.
    let user = app.signup("Gone").await;
    assert_eq!(
        app.post("/api/auth/logout-all", Some(&user.token), json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_unauthenticated(
        &with_cookie(&app, Method::GET, "/api/auth/me", &user.token, None).await,
        "invalid_token",
    );
    let signed_in = with_cookie(
        &app,
        Method::GET,
        "/api/auth/me",
        &app.signup("Here").await.token,
        None,
    )
    .await;
    assert_eq!(signed_in.body["user"]["name"], "Here");
}

#[tokio::test]
async fn deleting_the_account_needs_confirmation_and_revokes_everything() {
    let app = TestApp::spawn().await;
    let user = app.signup("Leaving").await;
    let other = app.signup("Staying").await;
    let second_token = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": user.recovery_key }),
        )
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let pads = create_pads(&app, &user, 2).await;
    let others_pad = create_pads(&app, &other, 1).await;

    for confirm in [
        json!({}),
        json!({ "confirm": "delete" }),
        json!({ "confirm": "yes" }),
    ] {
        let r = app
            .request(
                Method::DELETE,
                "/api/auth/me",
                Some(&user.token),
                Some(confirm.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{confirm}: {:?}", r.body);
        assert_eq!(
            me(&app, &user.token).await.status,
            StatusCode::OK,
            "nothing was deleted"
        );
    }

    let r = app
        .request(
            Method::DELETE,
            "/api/auth/me",
            Some(&user.token),
            Some(json!({ "confirm": "DELETE" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(SetCookie::of(&r).get("Max-Age"), Some("0"));

    for token in [&user.token, &second_token] {
        assert_unauthenticated(&me(&app, token).await, "invalid_token");
    }
    let recover = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": user.recovery_key }),
        )
        .await;
    assert_unauthenticated(&recover, "invalid_recovery_key");

    let remaining: Vec<String> = sqlx::query_scalar("SELECT slug FROM pads ORDER BY id")
        .fetch_all(app.sql())
        .await
        .unwrap();
    assert_eq!(
        remaining, others_pad,
        "the user's pads {pads:?} are gone, others' stay"
    );
    assert_eq!(me(&app, &other.token).await.status, StatusCode::OK);
}

/// Create `n` pads owned by `user` through the API.
async fn create_pads(app: &TestApp, user: &TestUser, n: usize) -> Vec<String> {
    let mut slugs = Vec::new();
    for i in 0..n {
        let r = app
            .post(
                "/api/pads",
                Some(&user.token),
                json!({ "title": format!("{} {i}", user.name), "language": "python" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "create pad: {:?}", r.body);
        slugs.push(
            r.body["pad"]["slug"]
                .as_str()
                .expect("pad.slug")
                .to_string(),
        );
    }
    slugs
}

// ---- logout -------------------------------------------------------------------------------

#[tokio::test]
async fn logout_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let user = app.signup("Bye").await;
    let r = with_cookie(&app, Method::POST, "/api/auth/logout", &user.token, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let cookie = SetCookie::of(&r);
    assert_eq!(cookie.value, "");
    assert_eq!(cookie.get("Max-Age"), Some("0"));
    assert_eq!(cookie.get("Path"), Some("/"));
    assert!(cookie.has("HttpOnly"));
}

#[tokio::test]
async fn logout_all_revokes_every_earlier_token() {
    let app = TestApp::spawn().await;
    let user = app.signup("Everywhere").await;
    let mut tokens = vec![user.token.clone()];
    for _ in 0..2 {
        let r = app
            .post(
                "/api/auth/recover",
                None,
                json!({ "recoveryKey": user.recovery_key }),
            )
            .await;
        tokens.push(r.body["token"].as_str().unwrap().to_string());
    }
    let r = app
        .post("/api/auth/logout-all", Some(&tokens[1]), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(SetCookie::of(&r).get("Max-Age"), Some("0"));
    for token in &tokens {
        assert_unauthenticated(&me(&app, token).await, "invalid_token");
        let cookie_only = with_cookie(&app, Method::GET, "/api/auth/me", token, None).await;
        assert_unauthenticated(&cookie_only, "invalid_token");
    }
    // Signing in again afterwards works: the new token carries the new epoch.
    let again = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": user.recovery_key }),
        )
        .await;
    assert_eq!(
        me(&app, again.body["token"].as_str().unwrap()).await.status,
        StatusCode::OK
    );
}

// ---- tokens -------------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A correctly signed HS256 token with arbitrary claims, using the app's own secret.
fn forge(app: &TestApp, claims: Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(app.state.config.jwt_secret.expose());
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &key,
    )
    .unwrap()
}

#[tokio::test]
async fn forged_tampered_and_expired_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.signup("Victim").await;
    let parts: Vec<&str> = user.token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let claims = json!({ "sub": user.id.to_string(), "ep": 0, "iat": now(), "exp": now() + 3600 });
    let payload = b64(claims.to_string().as_bytes());

    // Sanity: the forge helper makes tokens the server accepts, so the refusals below are real.
    assert_eq!(
        me(&app, &forge(&app, claims.clone())).await.status,
        StatusCode::OK
    );

    let mut sig = parts[2].as_bytes().to_vec();
    sig[5] = if sig[5] == b'A' { b'B' } else { b'A' };
    let tampered_signature = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        String::from_utf8(sig).unwrap()
    );
    let other_claims = b64(
        json!({ "sub": "1", "ep": 0, "iat": now(), "exp": now() + 3600 })
            .to_string()
            .as_bytes(),
    );
    let swapped_payload = format!("{}.{}.{}", parts[0], other_claims, parts[2]);
    let alg_none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    let alg_none_with_sig = format!(
        "{}.{payload}.{}",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        parts[2]
    );
    let rs256 = format!(
        "{}.{payload}.{}",
        b64(br#"{"alg":"RS256","typ":"JWT"}"#),
        parts[2]
    );
    let hs512 = {
        let key = jsonwebtoken::EncodingKey::from_secret(app.state.config.jwt_secret.expose());
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
            &claims,
            &key,
        )
        .unwrap()
    };
    let other_secret = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"some-other-secret-some-other-secret"),
    )
    .unwrap();
    let expired = forge(
        &app,
        json!({ "sub": user.id.to_string(), "ep": 0, "iat": now() - 8 * 86400, "exp": now() - 1 }),
    );
    let no_exp = forge(
        &app,
        json!({ "sub": user.id.to_string(), "ep": 0, "iat": now() }),
    );
    let stale_epoch = forge(
        &app,
        json!({ "sub": user.id.to_string(), "ep": 1, "iat": now(), "exp": now() + 3600 }),
    );
    let ghost_user = forge(
        &app,
        json!({ "sub": "999999", "ep": 0, "iat": now(), "exp": now() + 3600 }),
    );
    let non_numeric = forge(
        &app,
        json!({ "sub": "admin", "ep": 0, "iat": now(), "exp": now() + 3600 }),
    );

    for (what, token) in [
        ("tampered signature", tampered_signature.as_str()),
        ("swapped payload", swapped_payload.as_str()),
        ("alg none", alg_none.as_str()),
        ("alg none with a signature", alg_none_with_sig.as_str()),
        ("RS256 header", rs256.as_str()),
        ("HS512", hs512.as_str()),
        ("another secret", other_secret.as_str()),
        ("expired", expired.as_str()),
        ("no exp", no_exp.as_str()),
        ("stale epoch", stale_epoch.as_str()),
        ("deleted or unknown user", ghost_user.as_str()),
        ("non-numeric sub", non_numeric.as_str()),
        ("garbage", "not.a.jwt"),
    ] {
        assert_unauthenticated(&me(&app, token).await, "invalid_token");
        let via_cookie = with_cookie(&app, Method::GET, "/api/auth/me", token, None).await;
        assert_eq!(
            via_cookie.status,
            StatusCode::UNAUTHORIZED,
            "{what} via cookie"
        );
    }
    // An empty bearer header is refused, not mistaken for "no credentials, try the cookie".
    let empty = app
        .client
        .get(app.url("/api/auth/me"))
        .header(AUTHORIZATION, "Bearer")
        .header(COOKIE, format!("oc_token={}", user.token));
    assert_eq!(
        TestApp::finish(empty).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The real token still works after all that.
    assert_eq!(me(&app, &user.token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn tokens_in_the_url_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.signup("Leaky").await;
    for query in ["token", "access_token", "Token", "jwt", "%74oken"] {
        let path = format!("/api/auth/me?{query}={}", user.token);
        // Even with a valid Authorization header: the URL already leaked the token.
        let r = app.get(&path, Some(&user.token)).await;
        assert_unauthenticated(&r, "token_in_url");
        let anonymous = app.get(&path, None).await;
        assert_unauthenticated(&anonymous, "token_in_url");
    }
    let unrelated = app
        .get("/api/auth/me?tokens_seen=1", Some(&user.token))
        .await;
    assert_eq!(unrelated.status, StatusCode::OK);
}

#[tokio::test]
async fn the_bearer_header_wins_over_the_cookie_and_the_cookie_alone_works_for_get() {
    let app = TestApp::spawn().await;
    let header_user = app.signup("Header").await;
    let cookie_user = app.signup("Cookie").await;

    let both = app
        .client
        .get(app.url("/api/auth/me"))
        .header(AUTHORIZATION, format!("Bearer {}", header_user.token))
        .header(
            COOKIE,
            format!("theme=dark; oc_token={}", cookie_user.token),
        );
    let r = TestApp::finish(both).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["user"]["id"], header_user.id);

    // A bad header is not rescued by a good cookie.
    let bad_header = app
        .client
        .get(app.url("/api/auth/me"))
        .header(AUTHORIZATION, "Bearer nope")
        .header(COOKIE, format!("oc_token={}", cookie_user.token));
    assert_unauthenticated(&TestApp::finish(bad_header).await, "invalid_token");

    // The scheme is case-insensitive.
    let shouted = app
        .client
        .get(app.url("/api/auth/me"))
        .header(AUTHORIZATION, format!("BEARER {}", header_user.token));
    assert_eq!(
        TestApp::finish(shouted).await.body["user"]["id"],
        header_user.id
    );

    // A reverse proxy's Basic auth is not ours: the cookie still authenticates.
    let behind_basic_auth = app
        .client
        .get(app.url("/api/auth/me"))
        .header(AUTHORIZATION, "Basic dXNlcjpwYXNz")
        .header(COOKIE, format!("oc_token={}", cookie_user.token));
    let r = TestApp::finish(behind_basic_auth).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["user"]["id"], cookie_user.id);

    let cookie_only =
        with_cookie(&app, Method::GET, "/api/auth/me", &cookie_user.token, None).await;
    assert_eq!(cookie_only.status, StatusCode::OK);
    assert_eq!(cookie_only.body["user"]["id"], cookie_user.id);
}
