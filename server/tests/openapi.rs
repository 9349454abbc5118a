//! `GET /api/openapi.json` describes exactly the routes that exist: every documented (method,
//! path) is routed (no fallback `no_route`, no 405), and the core endpoints are all documented.

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Endpoints that must be documented. Each feature appends its own here.
const CORE_ENDPOINTS: &[(&str, &str)] = &[
    // health
    ("get", "/health"),
    ("get", "/api/health"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    // auth (SPEC §2)
    ("post", "/api/auth/guest"),
    ("post", "/api/auth/recover"),
    ("get", "/api/auth/me"),
    ("patch", "/api/auth/me"),
    ("delete", "/api/auth/me"),
    ("post", "/api/auth/logout"),
    ("post", "/api/auth/logout-all"),
    ("post", "/api/auth/recovery-key"),
    // single sign-on (issue 14 §6)
    ("get", "/api/auth/config"),
    ("post", "/api/auth/oidc/start"),
    ("get", "/api/auth/oidc/callback"),
    ("get", "/api/auth/oidc/link"),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn spec(app: &TestApp) -> Value {
    let r = app.get("/api/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/json")));
    r.body
}

/// Every (method, path template) the document lists.
fn operations(spec: &Value) -> Vec<(String, String)> {
    let paths = spec["paths"].as_object().expect("paths is an object");
    let mut ops = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(*method).is_some() {
                ops.push((method.to_string(), path.clone()));
            }
        }
    }
    ops
}

/// `/api/pads/{slug}/files/{name}` → `/api/pads/zz-junk-1/files/zz-junk-2`.
fn fill_params(template: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("closed parameter") + start;
        n += 1;
        out.push_str(&rest[..start]);
        out.push_str(&format!("zz-junk-{n}"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_document_is_openapi_3_with_described_operations() {
    let app = TestApp::spawn().await;
    let spec = spec(&app).await;
    let version = spec["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert!(spec["info"]["title"].is_string());
    assert!(spec["info"]["version"].is_string());
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let ops = operations(&spec);
    assert!(!ops.is_empty());
    for (method, path) in &ops {
        assert!(path.starts_with('/'), "{path}");
        let op = &spec["paths"][path][method];
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} has no responses"));
        assert!(!responses.is_empty(), "{method} {path}");
        // Every path parameter in the template is declared.
        let declared: Vec<&str> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        for part in path.split('/').filter(|p| p.starts_with('{')) {
            let name = part.trim_start_matches('{').trim_end_matches('}');
            assert!(
                declared.contains(&name),
                "{method} {path}: path parameter {name} is not declared"
            );
        }
    }
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::spawn().await;
    let spec = spec(&app).await;
    let ops = operations(&spec);
    let mut unrouted = Vec::new();
    for (method, template) in &ops {
        let path = fill_params(template);
        let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        // Anonymous and body-less on purpose: nothing is changed, and a routed endpoint answers
        // with its own 2xx/4xx rather than the router's fallback.
        let r = app.request(m, &path, None, None).await;
        if r.body["error"] == "no_route" || r.status == StatusCode::METHOD_NOT_ALLOWED {
            unrouted.push(format!("{method} {template} → {} {:?}", r.status, r.body));
        }
        assert!(
            r.status != StatusCode::INTERNAL_SERVER_ERROR,
            "{method} {path}: 500 {:?}",
            r.body
        );
    }
    assert!(
        unrouted.is_empty(),
        "documented but not routed:\n{}",
        unrouted.join("\n")
    );
}

#[tokio::test]
async fn the_core_endpoints_are_documented() {
    let app = TestApp::spawn().await;
    let ops = operations(&spec(&app).await);
    let missing: Vec<String> = CORE_ENDPOINTS
        .iter()
        .filter(|(m, p)| !ops.iter().any(|(om, op)| om == m && op == p))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(missing.is_empty(), "not in /api/openapi.json: {missing:?}");
}

#[tokio::test]
async fn undocumented_paths_fall_back_to_no_route() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/nope",
        "/api/auth",
        "/api/auth/me/extra",
        "/api/openapi.yaml",
    ] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.body["error"], "no_route", "{path}");
    }
}
