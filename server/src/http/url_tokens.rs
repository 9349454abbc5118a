//! Tokens never ride in URLs (SPEC §2): a request whose query carries a credential-looking
//! parameter is refused before routing, so it can never authenticate and is never logged as such.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

const CREDENTIAL_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "jwt",
    "auth",
    "bearer",
    "oc_token",
    "authorization",
];

/// Whether any parameter name is a credential name. Names are percent-decoded first, so
/// `?%74oken=` is caught like `?token=`; `;` separates pairs too, as some servers accept it.
pub fn query_has_credential(query: &str) -> bool {
    query
        .split(['&', ';'])
        .filter_map(|pair| pair.split('=').next())
        .map(percent_decode)
        .any(|key| {
            CREDENTIAL_PARAMS
                .iter()
                .any(|p| key.trim().eq_ignore_ascii_case(p))
        })
}

/// Lossy percent-decoding of one query component (`+` is a space).
fn percent_decode(raw: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match bytes[i] {
            b'%' => bytes
                .get(i + 1)
                .zip(bytes.get(i + 2))
                .and_then(|(hi, lo)| Some(hex(*hi)? << 4 | hex(*lo)?)),
            _ => None,
        };
        match (decoded, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, other) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub async fn refuse(request: Request, next: Next) -> Response {
    if request.uri().query().is_some_and(query_has_credential) {
        return AppError::Unauthenticated("token_in_url").into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::query_has_credential;

    #[test]
    fn credential_parameters_are_found_however_spelled() {
        for query in [
            "token=x",
            "a=1&access_token=x",
            "TOKEN=x",
            "%74oken=x",
            "a=1;jwt=x",
            "%6Fc_token",
            "token",
        ] {
            assert!(query_has_credential(query), "{query}");
        }
        for query in ["", "tokens=1", "mytoken=1", "a=token", "%zz=1", "%"] {
            assert!(!query_has_credential(query), "{query}");
        }
    }
}
