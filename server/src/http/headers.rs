//! Security headers on every response, errors included (SPEC §8). The middleware sits outermost
//! so 404, 413, 429 and 500 responses carry them too.

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Monaco and xterm need `blob:` workers; no inline script anywhere. No
/// `upgrade-insecure-requests`: LAN deployments run plain HTTP.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' blob:; worker-src 'self' blob:; \
style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; \
object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

pub const HSTS: &str = "max-age=31536000; includeSubDomains";

const FIXED: &[(&str, &str)] = &[
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("cross-origin-opener-policy", "same-origin"),
    ("x-permitted-cross-domain-policies", "none"),
];

pub async fn apply(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // API answers are personal (tokens, recovery keys, pads): no shared or browser cache keeps
    // them, unless a handler chose a policy itself.
    if is_api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    for (name, value) in FIXED {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if state.config.enable_hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}
