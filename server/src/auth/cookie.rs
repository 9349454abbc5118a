//! The session cookie (SPEC §2): HttpOnly, SameSite=Lax, Path=/, Secure in production or over
//! HTTPS, Domain from COOKIE_DOMAIN, Max-Age seven days. Built here only, with the single sign-on
//! cookies, which share every attribute but their path and lifetime.

use axum::http::{HeaderMap, HeaderValue};

use super::extractors::COOKIE_NAME;
use super::store::User;
use super::tokens::TOKEN_TTL_SECS;
use crate::config::Config;
use crate::AppState;

fn is_https(headers: &HeaderMap, config: &Config) -> bool {
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let public_https = config
        .public_base_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    config.is_production() || forwarded_https || public_https
}

fn attributes(path: &str, headers: &HeaderMap, config: &Config) -> String {
    let mut attrs = format!("; Path={path}; HttpOnly; SameSite=Lax");
    if is_https(headers, config) {
        attrs.push_str("; Secure");
    }
    if let Some(domain) = &config.cookie_domain {
        attrs.push_str("; Domain=");
        attrs.push_str(domain);
    }
    attrs
}

pub fn session_cookie(token: &str, headers: &HeaderMap, config: &Config) -> HeaderValue {
    let value = format!(
        "{COOKIE_NAME}={token}{}; Max-Age={TOKEN_TTL_SECS}",
        attributes("/", headers, config)
    );
    HeaderValue::from_str(&value).expect("JWTs and validated domains are valid header text")
}

/// A new session for `user`, however they signed in: its token, issued now at the user's current
/// session epoch, and the session cookie carrying it.
pub fn new_session(state: &AppState, user: &User, headers: &HeaderMap) -> (String, HeaderValue) {
    let token = state
        .tokens
        .issue(user.id, user.session_epoch, chrono::Utc::now().timestamp());
    let cookie = session_cookie(&token, headers, &state.config);
    (token, cookie)
}

/// A cookie only `path` and below receive, for `max_age_secs`; `value` must be header-safe
/// (hex, a JWT).
pub fn scoped_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age_secs: u64,
    headers: &HeaderMap,
    config: &Config,
) -> HeaderValue {
    let value = format!(
        "{name}={value}{}; Max-Age={max_age_secs}",
        attributes(path, headers, config)
    );
    HeaderValue::from_str(&value).expect("callers pass header-safe values")
}

pub fn clear_scoped_cookie(
    name: &str,
    path: &str,
    headers: &HeaderMap,
    config: &Config,
) -> HeaderValue {
    scoped_cookie(name, "", path, 0, headers, config)
}

pub fn clear_cookie(headers: &HeaderMap, config: &Config) -> HeaderValue {
    let value = format!(
        "{COOKIE_NAME}={}; Max-Age=0",
        attributes("/", headers, config)
    );
    HeaderValue::from_str(&value).expect("validated domains are valid header text")
}
