//! Session tokens: HS256 JWTs carrying the user id and the user's session epoch (SPEC §2).
//!
//! Verification is pure (time is an argument) and accepts only HS256, so `alg: none` and
//! RS256-header confusion fail before any claim is read.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::db::UserId;

/// Tokens live seven days; there is no refresh endpoint (recovery keys re-issue).
pub const TOKEN_TTL_SECS: i64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id, as a string per RFC 7519.
    pub sub: String,
    /// The user's session epoch when issued; logout-all bumps it and old tokens die.
    pub ep: i64,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(&self, user: UserId, epoch: i64, now_secs: i64) -> String {
        let claims = Claims {
            sub: user.0.to_string(),
            ep: epoch,
            iat: now_secs,
            exp: now_secs + TOKEN_TTL_SECS,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding of plain claims cannot fail")
    }

    /// The user id and epoch of a valid, unexpired token. The caller still checks the user exists
    /// and the epoch is current.
    pub fn verify(&self, token: &str, now_secs: i64) -> Option<(UserId, i64)> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        // Expiry is checked below against the caller's clock so tests can move time.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = decode::<Claims>(token, &self.decoding, &validation).ok()?;
        if data.claims.exp <= now_secs {
            return None;
        }
        let user = data.claims.sub.parse::<i64>().ok()?;
        Some((UserId(user), data.claims.ep))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn issued_tokens_verify_until_expiry() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let token = keys.issue(UserId(7), 3, NOW);
        assert_eq!(keys.verify(&token, NOW + 1), Some((UserId(7), 3)));
        assert_eq!(keys.verify(&token, NOW + TOKEN_TTL_SECS), None);
    }

    #[test]
    fn other_secrets_and_algorithms_are_refused() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let other = TokenKeys::new(b"another-secret-another-secret-xx");
        assert_eq!(keys.verify(&other.issue(UserId(1), 0, NOW), NOW), None);

        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = b64.encode(format!(
            r#"{{"sub":"1","ep":0,"iat":{NOW},"exp":{}}}"#,
            NOW + 60
        ));
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"RS256","typ":"JWT"}"#,
        ] {
            let forged = format!("{}.{}.", b64.encode(header), payload);
            assert_eq!(keys.verify(&forged, NOW), None, "{header}");
        }
    }
}
