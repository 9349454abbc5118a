//! One structured log line per request: method, path (never the query: it could carry secrets),
//! status, latency, client IP and request id. Headers and bodies are never logged.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use super::client_ip::ClientIp;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Assign a request id (a fresh UUID; a client-supplied one is ignored so logs cannot be forged),
/// echo it in the response and log the request once it is answered.
pub async fn log_request(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let header_value = HeaderValue::from_str(&request_id).expect("a UUID is a valid header value");
    request.headers_mut().insert(REQUEST_ID_HEADER, header_value.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let ip = request.extensions().get::<ClientIp>().map(|c| c.0.to_string()).unwrap_or_default();
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID_HEADER, header_value);
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(target: "http", %method, %path, status, latency_ms, %ip, %request_id, "request");
    } else {
        tracing::info!(target: "http", %method, %path, status, latency_ms, %ip, %request_id, "request");
    }
    response
}
