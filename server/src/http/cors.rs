//! CORS (SPEC §8). Credentials (`Access-Control-Allow-Credentials`) go only to this site's own
//! origin and to origins listed in `ALLOWED_ORIGINS` — never to an origin merely because it asked:
//! a page on another port of the same LAN host is same-site, so the browser attaches the session
//! cookie, and a credentialed CORS answer would let that page read the victim's pads.
//!
//! Without `ALLOWED_ORIGINS` other origins still get a non-credentialed CORS answer (dev/LAN
//! clients that send their own `Authorization: Bearer` token); with it, only listed origins get
//! any CORS header. Cookie-authenticated requests from untrusted origins are refused separately
//! (`auth::extractors`), so even a request the browser sends anyway reads nothing.

use std::sync::Arc;

use axum::http::{header, HeaderValue, Method};
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

use crate::config::Config;
use crate::http::origin;

pub fn layer(config: &Config) -> CorsLayer {
    let config = Arc::new(config.clone());
    let origins = match &config.allowed_origins {
        None => AllowOrigin::mirror_request(),
        Some(_) => {
            let config = config.clone();
            AllowOrigin::predicate(move |value, parts| trusted(value, &parts.headers, &config))
        }
    };
    // An untrusted origin gets no `Access-Control-Allow-Credentials`, so the browser withholds
    // the response of any credentialed request from it.
    let credentials =
        AllowCredentials::predicate(move |value, parts| trusted(value, &parts.headers, &config));
    CorsLayer::new()
        .allow_origin(origins)
        .allow_credentials(credentials)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

fn trusted(value: &HeaderValue, headers: &axum::http::HeaderMap, config: &Config) -> bool {
    value
        .to_str()
        .is_ok_and(|origin| origin::is_trusted_origin(origin, headers, config))
}
