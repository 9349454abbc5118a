//! CORS (SPEC §8): without `ALLOWED_ORIGINS` the request origin is reflected (dev/LAN); with it,
//! only listed origins get CORS headers. Credentials are allowed either way; cookie-authenticated
//! writes are separately refused from foreign origins (see `origin`).

use axum::http::{header, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Config;

pub fn layer(config: &Config) -> CorsLayer {
    let origins = match &config.allowed_origins {
        None => AllowOrigin::mirror_request(),
        Some(list) => AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok())),
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER, header::HeaderName::from_static("x-request-id")])
        .max_age(std::time::Duration::from_secs(600))
}
