//! Auth you can see in a handler's signature: `CurrentUser` means "signed in".
//!
//! The token comes from `Authorization: Bearer`, else the `oc_token` cookie. The user row is
//! loaded on every request, so a deleted user or a stale session epoch (logout-all) is refused at
//! once, and names always come from the database, never from the token. A cookie-authenticated
//! request from a foreign origin — a read as much as a write — is refused: the cookie must never
//! let another site act as the user or read what the user can read (a page on another port of the
//! same host is same-site, so `SameSite=Lax` alone does not keep the cookie away from it).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::store::{self, User};
use crate::audit::Actor;
use crate::error::{AppError, AppResult};
use crate::http::client_ip::ClientIp;
use crate::http::origin;
use crate::AppState;

pub const COOKIE_NAME: &str = "oc_token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Header,
    Cookie,
    Subprotocol,
}

/// The bearer token of a request and where it was found.
///
/// The auth scheme is case-insensitive (RFC 9110 §11.1). An `Authorization` header of another
/// scheme is not ours — typically a reverse proxy's Basic auth, which browsers then attach to
/// every request — so it is ignored and the cookie still counts; a `Bearer` header, even an
/// empty one, always wins over the cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<(String, TokenSource)> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some((token.trim().to_string(), TokenSource::Header));
        }
    }
    cookie_value(headers, COOKIE_NAME).map(|t| (t, TokenSource::Cookie))
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// Verify a token and load its user; shared by HTTP extractors and WebSocket upgrades.
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<User> {
    let now = chrono::Utc::now().timestamp();
    let (user_id, epoch) = state
        .tokens
        .verify(token, now)
        .ok_or(AppError::Unauthenticated("invalid_token"))?;
    match store::find(&state.db, user_id).await? {
        Some(user) if user.session_epoch == epoch => crate::admin::refuse_disabled(user),
        _ => Err(AppError::Unauthenticated("invalid_token")),
    }
}

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub source: TokenSource,
    pub actor: Actor,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (token, source) = token_from_headers(&parts.headers)
            .ok_or(AppError::Unauthenticated("unauthenticated"))?;
        if source == TokenSource::Cookie
            && !origin::cookie_request_allowed(&parts.headers, &state.config)
        {
            return Err(AppError::Forbidden {
                code: "cross_origin_refused",
                message: "cookie-authenticated requests from another origin are refused".into(),
            });
        }
        let user = authenticate(state, &token).await?;
        let mut actor = actor_from_parts(parts);
        actor.user = Some(user.id);
        Ok(CurrentUser {
            user,
            source,
            actor,
        })
    }
}

/// Who is calling, for audit rows of requests that may be anonymous (sign-up, recovery).
pub fn actor_from_parts(parts: &Parts) -> Actor {
    let ip = parts.extensions.get::<ClientIp>().map(|ClientIp(ip)| *ip);
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Actor {
        user: None,
        ip,
        user_agent,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(actor_from_parts(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn bearer_wins_and_other_schemes_leave_the_cookie() {
        let cookie = ("cookie", "a=1; oc_token=from-cookie");
        let got = |pairs: &[(&str, &str)]| token_from_headers(&headers(pairs));
        assert_eq!(
            got(&[("authorization", "Bearer abc"), cookie]),
            Some(("abc".into(), TokenSource::Header))
        );
        assert_eq!(
            got(&[("authorization", "BEARER  abc ")]),
            Some(("abc".into(), TokenSource::Header))
        );
        assert_eq!(
            got(&[("authorization", "Bearer"), cookie]),
            Some(("".into(), TokenSource::Header))
        );
        assert_eq!(
            got(&[("authorization", "Basic dXNlcjpwYXNz"), cookie]),
            Some(("from-cookie".into(), TokenSource::Cookie))
        );
        assert_eq!(got(&[("authorization", "Basic dXNlcjpwYXNz")]), None);
        assert_eq!(got(&[("cookie", "oc_token=")]), None);
        assert_eq!(
            got(&[("cookie", "x=1"), ("cookie", "oc_token=second")]),
            Some(("second".into(), TokenSource::Cookie))
        );
    }
}
