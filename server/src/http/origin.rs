//! Origin checks shared by CORS, cookie-authenticated writes and WebSocket upgrades (SPEC §2, §8).
//!
//! An origin is trusted when it is the server's own (same host as the request, or
//! `PUBLIC_BASE_URL`), or listed in `ALLOWED_ORIGINS`. Only trusted origins get credentialed CORS,
//! cookie-authenticated requests (reads included) and cookie-authenticated socket upgrades: a
//! cookie must never let another site act as the user or read what the user can read.

use axum::http::{header, HeaderMap};

use crate::config::Config;

/// The opaque origin browsers send from sandboxed frames, `data:` URLs and some redirects. It is
/// never trusted: it names no site, and attacker pages can produce it at will.
pub const OPAQUE_ORIGIN: &str = "null";

/// The `Origin` header as sent. `null` (and a non-text value, reported as `null`) is kept, not
/// dropped: treating it as "no origin" would let an opaque-origin page pass as a non-browser client.
pub fn request_origin(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or(OPAQUE_ORIGIN))
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
    config
        .allowed_origins
        .as_ref()
        .is_some_and(|list| list.contains(&lowered))
}

/// The origin a browser attached to this request: `Origin`, else the origin part of `Referer`.
/// A header that is present but cannot be read as an origin counts as the opaque origin, so it
/// fails closed.
pub fn browser_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = request_origin(headers) {
        return Some(origin.to_string());
    }
    let referer = headers.get(header::REFERER)?;
    let origin = referer.to_str().ok().and_then(|referer| {
        let scheme_end = referer.find("://")? + 3;
        let path_start = referer[scheme_end..]
            .find(['/', '?', '#'])
            .map(|i| i + scheme_end)
            .unwrap_or(referer.len());
        Some(referer[..path_start].to_string())
    });
    Some(origin.unwrap_or_else(|| OPAQUE_ORIGIN.to_string()))
}

/// A cookie-authenticated request is acceptable when no browser origin is attached (not a
/// cross-site browser request) or the attached origin is trusted.
pub fn cookie_request_allowed(headers: &HeaderMap, config: &Config) -> bool {
    match browser_origin(headers) {
        None => true,
        Some(origin) => is_trusted_origin(&origin, headers, config),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn config() -> Config {
        Config::from_vars(&HashMap::new()).unwrap()
    }

    #[test]
    fn same_origin_and_originless_requests_may_use_the_cookie() {
        let c = config();
        assert!(cookie_request_allowed(
            &headers(&[("host", "pad.lan:4000")]),
            &c
        ));
        assert!(cookie_request_allowed(
            &headers(&[("host", "pad.lan:4000"), ("origin", "http://pad.lan:4000")]),
            &c
        ));
        assert!(cookie_request_allowed(
            &headers(&[
                ("host", "pad.lan:4000"),
                ("referer", "http://pad.lan:4000/p/abc?x=1")
            ]),
            &c
        ));
    }

    #[test]
    fn foreign_opaque_and_unreadable_origins_are_refused() {
        let c = config();
        for pairs in [
            &[("host", "pad.lan"), ("origin", "http://evil.example")][..],
            &[("host", "pad.lan"), ("origin", "null")][..],
            &[("host", "pad.lan"), ("referer", "http://evil.example/x")][..],
            &[
                ("host", "pad.lan"),
                ("referer", "http://pad.lan.evil.example/"),
            ][..],
            &[("host", "pad.lan"), ("referer", "not a url")][..],
        ] {
            assert!(!cookie_request_allowed(&headers(pairs), &c), "{pairs:?}");
        }
    }
}
