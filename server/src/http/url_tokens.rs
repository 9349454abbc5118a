//! Tokens never ride in URLs (SPEC §2): a request whose query carries a credential-looking
//! parameter is refused before routing, so it can never authenticate and is never logged as such.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

const CREDENTIAL_PARAMS: &[&str] = &["token", "access_token", "jwt", "auth", "bearer", "oc_token", "authorization"];

pub fn query_has_credential(query: &str) -> bool {
    query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .any(|key| CREDENTIAL_PARAMS.iter().any(|p| key.eq_ignore_ascii_case(p)))
}

pub async fn refuse(request: Request, next: Next) -> Response {
    if request.uri().query().is_some_and(query_has_credential) {
        return AppError::Unauthenticated("token_in_url").into_response();
    }
    next.run(request).await
}
