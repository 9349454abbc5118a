//! `/metrics` and the middleware that counts every answered request.
//!
//! `/metrics` answers a `METRICS_TOKEN` Bearer token (compared in constant time) from anywhere,
//! or any caller from loopback or a trusted proxy; everyone else gets the same 404 as a missing
//! route, with or without a wrong token, so the endpoint's existence is not confirmed.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::client_ip::ClientIp;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::metrics::{Limiter, CONTENT_TYPE, UNMATCHED_ROUTE};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Prometheus metrics of every subsystem (see the README's table). For a `METRICS_TOKEN` Bearer
/// token, or from loopback and trusted proxies.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format"), (status = 404)))]
async fn metrics(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> AppResult<Response> {
    let trusted = ip.is_loopback()
        || state
            .config
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&ip));
    if !trusted
        && !bearer_matches(
            &headers,
            state
                .config
                .metrics_token
                .as_ref()
                .map(|t| t.expose().as_str()),
        )
    {
        return Err(AppError::NotFound);
    }
    Ok((
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.render(),
    )
        .into_response())
}

/// Whether the request carries `Authorization: Bearer <expected>`; never without a configured,
/// non-empty token (a missing header must not match an empty one).
fn bearer_matches(headers: &HeaderMap, expected: Option<&str>) -> bool {
    let Some(expected) = expected.filter(|token| !token.is_empty()) else {
        return false;
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// Middleware: count the request under its route template (never the raw path: it carries pad
/// slugs and invite tokens) and its status class, with its latency.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, |p| p.as_str())
        .to_string();
    let response = next.run(request).await;
    let error_code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    let limiter = response.extensions().get::<Limiter>().copied();
    let seconds = started.elapsed().as_secs_f64();
    state.metrics.observe_request(
        &method,
        &route,
        response.status(),
        error_code,
        limiter,
        seconds,
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_configured_token_opens_metrics() {
        let mut headers = HeaderMap::new();
        let token = "t".repeat(32);
        assert!(!bearer_matches(&headers, Some(&token)), "no header");
        assert!(
            !bearer_matches(&headers, Some("")),
            "no header against an empty token"
        );
        headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        assert!(bearer_matches(&headers, Some(&token)));
        assert!(
            !bearer_matches(&headers, None),
            "no token configured: never"
        );
        assert!(
            !bearer_matches(&headers, Some(&token[1..])),
            "a prefix of the presented token"
        );
        headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {}", &token[1..]).parse().unwrap(),
        );
        assert!(
            !bearer_matches(&headers, Some(&token)),
            "a prefix of the real token"
        );
    }
}
