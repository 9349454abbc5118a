//! One structured log line per request: method, path (never the query: it could carry secrets),
//! status, latency, client IP and request id. Headers and bodies are never logged.
//!
//! Some paths carry a capability: whoever knows an invite's token can join its pad
//! (`/api/invites/{token}`, `/api/invites/{token}/accept`, the client's `/invite/{token}`), and
//! whoever knows a take-home's can start it (`/api/takehome-links/{token}[/start]`, the client's
//! `/take-home/{token}`). Logs
//! are read by more people, and kept longer, than the invite is meant for, so such segments are
//! logged as `[redacted]`.

use std::borrow::Cow;
use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use super::client_ip::ClientIp;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// What a capability segment is logged as.
pub const REDACTED: &str = "[redacted]";

/// The path segments whose next segment is an invite token. A pad's own invite list
/// (`/api/pads/{slug}/invites/{inviteId}`) names invites by number, which is no secret.
fn precedes_capability(segment: &str) -> bool {
    ["invites", "invite", "takehome-links", "take-home"]
        .iter()
        .any(|name| segment.eq_ignore_ascii_case(name))
}

/// `path` with every capability segment replaced by `[redacted]`.
pub fn redact_path(path: &str) -> Cow<'_, str> {
    let segments: Vec<&str> = path.split('/').collect();
    let is_capability = |i: usize| {
        let segment = segments[i];
        i > 0
            && precedes_capability(segments[i - 1])
            && !segment.is_empty()
            && !segment.bytes().all(|b| b.is_ascii_digit())
    };
    if !(0..segments.len()).any(is_capability) {
        return Cow::Borrowed(path);
    }
    let redacted: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(i, segment)| if is_capability(i) { REDACTED } else { segment })
        .collect();
    Cow::Owned(redacted.join("/"))
}

/// Assign a request id (a fresh UUID; a client-supplied one is ignored so logs cannot be forged),
/// echo it in the response and log the request once it is answered.
pub async fn log_request(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let header_value = HeaderValue::from_str(&request_id).expect("a UUID is a valid header value");
    request
        .headers_mut()
        .insert(REQUEST_ID_HEADER, header_value.clone());
    let method = request.method().clone();
    let path = redact_path(request.uri().path()).into_owned();
    let ip = request
        .extensions()
        .get::<ClientIp>()
        .map(|c| c.0.to_string())
        .unwrap_or_default();
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(REQUEST_ID_HEADER, header_value);
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(target: "http", %method, %path, status, latency_ms, %ip, %request_id, "request");
    } else {
        tracing::info!(target: "http", %method, %path, status, latency_ms, %ip, %request_id, "request");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_tokens_are_redacted_and_other_paths_kept() {
        assert_eq!(
            redact_path("/api/invites/AbC_123-x"),
            "/api/invites/[redacted]"
        );
        assert_eq!(
            redact_path("/api/invites/AbC_123-x/accept"),
            "/api/invites/[redacted]/accept"
        );
        assert_eq!(redact_path("/invite/AbC_123-x"), "/invite/[redacted]");
        assert_eq!(
            redact_path("/api/takehome-links/AbC_123-x/start"),
            "/api/takehome-links/[redacted]/start"
        );
        assert_eq!(redact_path("/take-home/AbC_123-x"), "/take-home/[redacted]");
        assert_eq!(redact_path("/INVITE/AbC"), "/INVITE/[redacted]");
        assert_eq!(
            redact_path("/api/pads/abc/invites/42"),
            "/api/pads/abc/invites/42"
        );
        assert_eq!(
            redact_path("/api/pads/abc/invites"),
            "/api/pads/abc/invites"
        );
        assert_eq!(
            redact_path("/api/pads/abc/files/3"),
            "/api/pads/abc/files/3"
        );
    }
}
