//! CORS (SPEC §8): without `ALLOWED_ORIGINS` the request origin is reflected (dev/LAN); with it,
//! only listed origins get CORS headers. Credentials are allowed either way; cookie-authenticated
//! writes are separately refused from foreign origins (see `origin`).

use axum::http::{header, HeaderValue, Method};
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

use crate::config::Config;

pub fn layer(config: &Config) -> CorsLayer {
    let (origins, credentials) = match &config.allowed_origins {
        None => (AllowOrigin::mirror_request(), AllowCredentials::yes()),
        Some(list) => {
            let listed: Vec<HeaderValue> = list.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
            // An unlisted origin gets no CORS header at all, not even a stray
            // `Access-Control-Allow-Credentials`.
            let credentialed = listed.clone();
            (
                AllowOrigin::list(listed),
                AllowCredentials::predicate(move |origin, _| credentialed.contains(origin)),
            )
        }
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_credentials(credentials)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER, header::HeaderName::from_static("x-request-id")])
        .max_age(std::time::Duration::from_secs(600))
}
