//! The one place where failures become HTTP statuses and WebSocket close codes.
//!
//! Every handler returns `Result<_, AppError>`. Clients always get `{error: <stable_code>, message}`;
//! a 5xx logs its real cause and returns a generic message, so internals never leak.

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is well-formed HTTP but its content is not acceptable.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// 401: no usable credentials.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// 403: a member whose role does not allow this, or a refused cross-site request.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 404: missing, or exists but the caller may not know it does (SPEC §3).
    #[error("not found")]
    NotFound,
    /// 404: no endpoint at this path (distinct from a missing resource).
    #[error("no such endpoint")]
    NoRoute,
    /// 405: the path exists but not with this method.
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    /// 409: conflicts with existing state (name taken, …).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 410: existed but is used up or expired (invites).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// 413: body, file or document over its limit.
    #[error("{message}")]
    TooLarge { code: &'static str, message: String },
    /// 415: the body is not JSON.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// 429: slow down; `retry_after_secs` becomes `Retry-After`.
    #[error("{message}")]
    RateLimited {
        retry_after_secs: u64,
        message: String,
    },
    /// 503: a dependency (Docker, …) is down.
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// 500: a bug or an I/O failure; the cause is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden {
            code: "forbidden",
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Gone {
            code,
            message: message.into(),
        }
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        AppError::TooLarge {
            code: "payload_too_large",
            message: message.into(),
        }
    }
    /// 413 `doc_too_large`: the change would push the pad's document past `MAX_DOC_BYTES`.
    pub fn doc_too_large() -> Self {
        AppError::TooLarge {
            code: "doc_too_large",
            message: format!(
                "the pad's document would exceed its size limit ({} bytes encoded)",
                crate::collab::limits::MAX_DOC_BYTES
            ),
        }
    }
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        AppError::RateLimited {
            retry_after_secs: retry_after_secs.max(1),
            message: "too many requests; retry later".into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound | AppError::NoRoute => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Gone { .. } => StatusCode::GONE,
            AppError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid { code, .. }
            | AppError::Forbidden { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Gone { code, .. }
            | AppError::TooLarge { code, .. }
            | AppError::Unavailable { code, .. } => code,
            AppError::Unauthenticated(code) => code,
            AppError::NotFound => "not_found",
            AppError::NoRoute => "no_route",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Internal(_) => "internal",
        }
    }

    fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal server error".to_string(),
            AppError::Unauthenticated("invalid_token") => {
                "the session token is invalid or expired; sign in again".into()
            }
            AppError::Unauthenticated("token_in_url") => {
                "tokens are not accepted in URLs; send an Authorization header".into()
            }
            AppError::Unauthenticated("wrong_password") => "wrong password".into(),
            AppError::Unauthenticated("invalid_recovery_key") => {
                "that recovery key is not valid".into()
            }
            AppError::Unauthenticated(_) => "sign in first".into(),
            other => other.to_string(),
        }
    }

    /// WebSocket close code for a failure that ends a socket (RFC 6455 §7.4 plus our 4xxx range).
    pub fn close_code(&self) -> u16 {
        match self {
            AppError::Unauthenticated(_) => 4001,
            AppError::Forbidden { .. } | AppError::NotFound | AppError::NoRoute => 4003,
            AppError::TooLarge { .. } => 1009,
            AppError::Invalid { .. }
            | AppError::UnsupportedMediaType
            | AppError::MethodNotAllowed => 1007,
            AppError::RateLimited { .. } | AppError::Conflict { .. } | AppError::Gone { .. } => {
                1008
            }
            AppError::Unavailable { .. } => 1013,
            AppError::Internal(_) => 1011,
        }
    }
}

/// The code of the `AppError` a response was made from, for the request metrics.
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Internal(cause) = &self {
            tracing::error!(error = ?cause, "internal error");
        }
        let body = Json(json!({ "error": self.code(), "message": self.public_message() }));
        let mut response = (status, body).into_response();
        response.extensions_mut().insert(ErrorCode(self.code()));
        if let AppError::RateLimited {
            retry_after_secs, ..
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        AppError::Internal(err.into())
    }
}

/// A pad document failure seen by a REST handler: a full history is the client's to act on
/// (409, fork the pad), a log writer that stays behind is temporary (503).
impl From<crate::collab::DocError> for AppError {
    fn from(err: crate::collab::DocError) -> Self {
        use crate::collab::DocError as D;
        match err {
            D::TooLarge => AppError::doc_too_large(),
            D::HistoryFull => AppError::conflict("history_full", err.to_string()),
            D::Overloaded => AppError::Unavailable {
                code: "overloaded",
                message: err.to_string(),
            },
            other => {
                AppError::Internal(anyhow::Error::new(other).context("pad document edit failed"))
            }
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType,
            JsonRejection::JsonDataError(e) => AppError::invalid("invalid_input", e.body_text()),
            JsonRejection::JsonSyntaxError(_) => {
                AppError::invalid("malformed_json", "the body is not valid UTF-8 JSON")
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::too_large("request body too large")
            }
            other => AppError::invalid("invalid_body", other.body_text()),
        }
    }
}

/// Turn a unique-constraint violation into a client error at the call site:
/// `store::rename(..).await.on_unique(|| AppError::conflict(..))`.
pub trait OnUnique<T> {
    fn on_unique(self, make: impl FnOnce() -> AppError) -> AppResult<T>;
}

impl<T> OnUnique<T> for Result<T, sqlx::Error> {
    fn on_unique(self, make: impl FnOnce() -> AppError) -> AppResult<T> {
        self.map_err(|err| match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => make(),
            _ => err.into(),
        })
    }
}

/// Close code and short reason for a pad socket the server ends (SPEC §4; README lists them):
///
/// | code | when |
/// |-----:|------|
/// | 1001 | server shutting down |
/// | 1003 | text frame, unknown message type or subtype |
/// | 1007 | malformed frame (truncated varint, bad length, trailing bytes, invalid UTF-8/JSON), or an update yrs rejects |
/// | 1008 | policy: message rate exceeded, too many connections (per user / per pad), too many awareness client ids, an update parking too much content with missing dependencies, an update writing to a root that is not a file of the pad |
/// | 1009 | frame, awareness payload, app message or document update over its limit, or the document, a file or the whiteboard would exceed its size limit |
/// | 1011 | internal error |
/// | 1013 | try again later: the connection could not keep up, or the document log is overloaded |
/// | 4001 | the user's sessions were revoked (logout everywhere, account deleted) |
/// | 4003 | the member lost access (kick, leave) |
/// | 4004 | the pad was deleted |
///
/// Upgrades refused before the handshake get the HTTP status of their `AppError` instead (401
/// anonymous or bad token, 403 cookie from a foreign origin, 404 no such pad or not a member).
pub fn ws_close(err: &crate::collab::SessionError) -> (u16, &'static str) {
    use crate::collab::SessionError as E;
    match err {
        E::Decode(decode) => match decode.kind() {
            oc_proto::DecodeErrorKind::Malformed => (1007, "malformed frame"),
            oc_proto::DecodeErrorKind::TooLarge => (1009, "frame or payload too large"),
            oc_proto::DecodeErrorKind::Unsupported => (1003, "unsupported message type"),
        },
        E::TextFrame => (1003, "binary frames only"),
        E::FrameTooLarge => (1009, "frame too large"),
        E::BadUpdate => (1007, "invalid document update"),
        E::DocTooLarge => (1009, "document size limit reached"),
        E::UpdateTooLarge => (1009, "document update too large"),
        E::MissingDependencies => (1008, "update with missing dependencies"),
        E::FileTooLarge => (1009, "file size limit reached"),
        E::UnknownRoot => (1008, "not a file of this pad"),
        E::WhiteboardTooLarge => (1009, "whiteboard size limit reached"),
        E::RateLimited(_) => (1008, "rate limit exceeded"),
        E::TooManyClientIds => (1008, "too many awareness client ids"),
        E::TooManyConnections(_) => (1008, "too many connections"),
        E::TooSlow => (1013, "connection too slow"),
        E::Overloaded => (1013, "server overloaded"),
        E::AccessRevoked => (4003, "forbidden"),
        E::SessionRevoked => (4001, "session revoked"),
        E::PadDeleted => (4004, "pad deleted"),
        E::ServerShutdown => (1001, "server shutting down"),
        E::Internal => (1011, "internal error"),
    }
}
