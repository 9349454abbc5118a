//! Origin checks shared by CORS, cookie-authenticated writes and WebSocket upgrades (SPEC §2, §8).
//!
//! An origin is allowed when it is the server's own (same scheme-less host as the request, or
//! `PUBLIC_BASE_URL`), or listed in `ALLOWED_ORIGINS`. Without `ALLOWED_ORIGINS`, CORS reflects any
//! origin (dev/LAN), but cookie-authenticated writes and upgrades still need a same-origin request:
//! a cookie must never let another site act as the user.

use axum::http::{header, HeaderMap};

use crate::config::Config;

pub fn request_origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| *o != "null")
}

/// `Origin` (or, when absent, `Referer`'s origin) matches the request's own host.
fn is_same_origin(origin: &str, headers: &HeaderMap, config: &Config) -> bool {
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    if let Some(base) = &config.public_base_url {
        if origin == base.to_ascii_lowercase() {
            return true;
        }
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

/// Whether `origin` may use cookie credentials here.
pub fn is_trusted_origin(origin: &str, headers: &HeaderMap, config: &Config) -> bool {
    if is_same_origin(origin, headers, config) {
        return true;
    }
    let lowered = origin.trim_end_matches('/').to_ascii_lowercase();
    config.allowed_origins.as_ref().is_some_and(|list| list.iter().any(|o| *o == lowered))
}

/// The origin a browser attached to this request: `Origin`, else the origin part of `Referer`.
pub fn browser_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = request_origin(headers) {
        return Some(origin.to_string());
    }
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let scheme_end = referer.find("://")? + 3;
    let path_start = referer[scheme_end..].find('/').map(|i| i + scheme_end).unwrap_or(referer.len());
    Some(referer[..path_start].to_string())
}

/// A cookie-authenticated request is acceptable when no browser origin is attached (not a
/// cross-site browser request) or the attached origin is trusted.
pub fn cookie_request_allowed(headers: &HeaderMap, config: &Config) -> bool {
    match browser_origin(headers) {
        None => true,
        Some(origin) => is_trusted_origin(&origin, headers, config),
    }
}
