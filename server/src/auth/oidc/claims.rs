//! What this server takes from a verified ID token: the account's name and, when mapped, the
//! admin role.

use super::provider::IdTokenClaims;
use crate::auth::names::fit_name;

/// The name a first sign-in's account gets when the token carries no usable one.
pub const FALLBACK_NAME: &str = "SSO user";

/// `name`, else `preferred_username`, else `FALLBACK_NAME`, fitted to the name rules.
pub fn display_name(claims: &IdTokenClaims) -> String {
    claims
        .name()
        .and_then(|n| n.get(None))
        .and_then(|n| fit_name(n))
        .or_else(|| claims.preferred_username().and_then(|u| fit_name(u)))
        .unwrap_or_else(|| FALLBACK_NAME.to_string())
}

/// Whether `claim` is `value` or a list holding it (`groups` containing `opencoder-admins`).
pub fn grants_admin(claims: &IdTokenClaims, claim: &str, value: &str) -> bool {
    match claims.additional_claims().claims.get(claim) {
        Some(serde_json::Value::String(s)) => s == value,
        Some(serde_json::Value::Array(items)) => {
            items.iter().any(|item| item.as_str() == Some(value))
        }
        _ => false,
    }
}
