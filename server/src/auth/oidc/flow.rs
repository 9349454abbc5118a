//! The sign-in itself: starting it (state, nonce and PKCE kept server-side, keyed by a value only
//! the starting browser holds) and completing it (the pending sign-in taken once, the code
//! exchanged with its verifier, the ID token verified by `openidconnect`: signature, issuer,
//! audience, nonce, expiry), then the account: linked, created, or found.

use chrono::Utc;
use openidconnect::core::CoreResponseType;
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, CsrfToken, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RequestTokenError, Scope,
};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::claims;
use super::provider::{error_chain, IdToken, IdTokenClaims, OidcClient, Provider};
use super::settings::EXPIRED_NOTICE;
use super::store::{self, NewLogin};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::auth::{recovery, User};
use crate::db::UserId;
use crate::error::AppError;
use crate::AppState;

/// The longest provider error code kept for the log (RFC 6749's codes are under 30 characters).
const MAX_PROVIDER_ERROR_CHARS: usize = 64;

/// Why a callback did not sign anyone in; `code()` goes to the client, the details to the log.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("the provider refused or cancelled the sign-in ({0})")]
    Provider(String),
    #[error("no sign-in of this browser matches this callback")]
    StateMismatch,
    #[error("the sign-in took longer than its time limit")]
    Expired,
    #[error("the provider refused the authorization code: {0}")]
    CodeRejected(String),
    #[error("the ID token did not verify: {0}")]
    IdTokenInvalid(String),
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    #[error("this provider identity is already linked to another account")]
    AlreadyLinked,
    #[error(transparent)]
    Refused(AppError),
}

impl SsoError {
    pub fn code(&self) -> &'static str {
        match self {
            SsoError::Provider(_) => "sso_provider_error",
            SsoError::StateMismatch => "sso_state_mismatch",
            SsoError::Expired => "sso_login_expired",
            SsoError::CodeRejected(_) => "sso_code_rejected",
            SsoError::IdTokenInvalid(_) => "sso_id_token_invalid",
            SsoError::Unavailable(_) => "sso_unavailable",
            SsoError::AlreadyLinked => "sso_already_linked",
            SsoError::Refused(err) => err.code(),
        }
    }
}

impl From<sqlx::Error> for SsoError {
    fn from(err: sqlx::Error) -> Self {
        SsoError::Refused(AppError::from(err))
    }
}

/// A started sign-in: where to send the browser, and the value its cookie keeps.
pub struct Started {
    pub url: String,
    pub binding: String,
}

fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

fn time_text(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn chrono_duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).expect("the sign-in lifetimes are at most an hour")
}

pub async fn start(
    state: &AppState,
    provider: &Provider,
    link_user: Option<UserId>,
    invite: Option<&str>,
) -> Result<Started, SsoError> {
    let discovered = provider
        .discovered()
        .await
        .map_err(|err| SsoError::Unavailable(err.to_string()))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = discovered
        .client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(provider.settings.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let binding = hex::encode(bytes);
    let now = Utc::now();
    store::insert_login(
        &state.db,
        NewLogin {
            binding_hash: &sha256_hex(&binding),
            state: csrf.secret(),
            nonce: nonce.secret(),
            pkce_verifier: verifier.secret(),
            link_user_id: link_user,
            invite,
            expires_at: &time_text(now + chrono_duration(state.config.oidc.login_ttl)),
        },
        &time_text(now - chrono_duration(EXPIRED_NOTICE)),
    )
    .await?;
    Ok(Started {
        url: url.to_string(),
        binding,
    })
}

/// What the provider sent back to the callback.
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// A completed sign-in: the account, and the raw ID token (the logout hint).
pub struct Completed {
    pub user: User,
    pub id_token: String,
}

pub async fn complete(
    state: &AppState,
    provider: &Provider,
    binding: Option<&str>,
    callback: Callback,
    actor: &Actor,
) -> Result<Completed, SsoError> {
    // Taken before anything else is looked at, so whatever this callback carries, the sign-in it
    // names can never be completed again.
    let pending = match binding {
        Some(binding) => store::take_login(&state.db, &sha256_hex(binding)).await?,
        None => None,
    };
    let pending = pending.ok_or(SsoError::StateMismatch)?;
    if let Some(error) = callback.error {
        // Anyone can put anything in the query: only an error-code-shaped part reaches the log.
        let code = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(MAX_PROVIDER_ERROR_CHARS)
            .collect();
        return Err(SsoError::Provider(code));
    }
    let sent_state = callback.state.unwrap_or_default();
    if !bool::from(sent_state.as_bytes().ct_eq(pending.state.as_bytes())) {
        return Err(SsoError::StateMismatch);
    }
    if pending.expires_at < crate::db::now_text() {
        return Err(SsoError::Expired);
    }
    let code = callback
        .code
        .ok_or_else(|| SsoError::Provider("no code".into()))?;
    let discovered = provider
        .discovered()
        .await
        .map_err(|err| SsoError::Unavailable(err.to_string()))?;
    let client = &discovered.client;
    let response = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|err| SsoError::Unavailable(err.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(provider.http())
        .await
        .map_err(|err| match err {
            RequestTokenError::ServerResponse(refusal) => {
                SsoError::CodeRejected(refusal.error().to_string())
            }
            other => SsoError::Unavailable(error_chain(&other)),
        })?;
    let id_token = response
        .extra_fields()
        .id_token()
        .ok_or_else(|| SsoError::IdTokenInvalid("the token response has no ID token".into()))?;
    let nonce = Nonce::new(pending.nonce);
    let verified = match verify(state, client, id_token, &nonce) {
        Err(ClaimsVerificationError::SignatureVerification(_)) => {
            // The provider may have rotated its keys since discovery: once more with fresh ones.
            provider.forget().await;
            let fresh = provider
                .discovered()
                .await
                .map_err(|err| SsoError::Unavailable(err.to_string()))?;
            verify(state, &fresh.client, id_token, &nonce)
        }
        other => other,
    }
    .map_err(|err| SsoError::IdTokenInvalid(err.to_string()))?;
    let issuer = verified.issuer().to_string();
    let subject = verified.subject().to_string();
    let meta = json!({ "issuer": issuer, "subject": subject });

    let user = match pending.link_user_id {
        Some(user_id) => link_existing(state, actor, user_id, &issuer, &subject, &meta).await?,
        None => match store::user_of_identity(&state.db, &issuer, &subject).await? {
            Some(user) => user,
            None => {
                crate::admin::admit_signup(state, pending.invite.as_deref())
                    .await
                    .map_err(SsoError::Refused)?;
                first_sign_in(
                    state,
                    actor,
                    &issuer,
                    &subject,
                    &claims::display_name(verified),
                    &meta,
                )
                .await?
            }
        },
    };
    let user = crate::admin::refuse_disabled(user).map_err(SsoError::Refused)?;
    let actor = Actor {
        user: Some(user.id),
        ..actor.clone()
    };
    let user = map_admin(state, provider, &actor, user, verified).await?;
    state
        .audit
        .record(
            &actor,
            AuditEvent::new(AuditAction::UserSsoLogin)
                .target(user.id.to_string())
                .meta(meta),
        )
        .await;
    Ok(Completed {
        user,
        id_token: id_token.to_string(),
    })
}

/// The crate's verification of the ID token (signature against the provider's keys, issuer,
/// audience, nonce, expiry), with `OIDC_CLOCK_SKEW_SECS` of grace on the expiry.
fn verify<'t>(
    state: &AppState,
    client: &OidcClient,
    id_token: &'t IdToken,
    nonce: &Nonce,
) -> Result<&'t IdTokenClaims, ClaimsVerificationError> {
    let skew = chrono::Duration::from_std(state.config.oidc.clock_skew)
        .expect("the skew is at most five minutes");
    let verifier = client
        .id_token_verifier()
        .set_time_fn(move || Utc::now() - skew);
    id_token.claims(&verifier, nonce)
}

/// A signed-in account that asked to be linked gets this identity, unless another has it.
async fn link_existing(
    state: &AppState,
    actor: &Actor,
    user_id: UserId,
    issuer: &str,
    subject: &str,
    meta: &serde_json::Value,
) -> Result<User, SsoError> {
    let user = crate::auth::store::find(&state.db, user_id)
        .await?
        .ok_or(SsoError::StateMismatch)?;
    let actor = Actor {
        user: Some(user.id),
        ..actor.clone()
    };
    let event = AuditEvent::new(AuditAction::UserSsoLink)
        .target(user.id.to_string())
        .meta(meta.clone());
    if store::link(&state.db, issuer, subject, user.id).await? {
        state.audit.record(&actor, event).await;
        return Ok(user);
    }
    match store::user_of_identity(&state.db, issuer, subject).await? {
        Some(linked) if linked.id == user.id => Ok(user),
        _ => Err(SsoError::AlreadyLinked),
    }
}

/// A new account for a new identity. Its recovery key is never shown: the provider is its way
/// in (a recovery key can still be made from the account page where name sign-in is allowed).
async fn first_sign_in(
    state: &AppState,
    actor: &Actor,
    issuer: &str,
    subject: &str,
    name: &str,
    meta: &serde_json::Value,
) -> Result<User, SsoError> {
    let hash = recovery::hash(&recovery::generate()).expect("generated keys are well-formed");
    match store::create_linked_user(&state.db, issuer, subject, name, &hash).await? {
        Some(user) => {
            let actor = Actor {
                user: Some(user.id),
                ..actor.clone()
            };
            state
                .audit
                .record(
                    &actor,
                    AuditEvent::new(AuditAction::UserSignup)
                        .target(user.id.to_string())
                        .meta(json!({ "via": "sso" })),
                )
                .await;
            state
                .audit
                .record(
                    &actor,
                    AuditEvent::new(AuditAction::UserSsoLink)
                        .target(user.id.to_string())
                        .meta(meta.clone()),
                )
                .await;
            Ok(user)
        }
        // Another callback for the same identity created the account first.
        None => store::user_of_identity(&state.db, issuer, subject)
            .await?
            .ok_or(SsoError::StateMismatch),
    }
}

/// With `OIDC_ADMIN_CLAIM`, the token decides the admin role at every sign-in: granted when the
/// claim holds the value, taken away when it does not. Audited before it changes (fail closed).
async fn map_admin(
    state: &AppState,
    provider: &Provider,
    actor: &Actor,
    user: User,
    verified: &IdTokenClaims,
) -> Result<User, SsoError> {
    let Some((claim, value)) = &provider.settings.admin_claim else {
        return Ok(user);
    };
    let admin = claims::grants_admin(verified, claim, value);
    if admin == user.is_admin {
        return Ok(user);
    }
    let action = if admin {
        AuditAction::UserSsoAdminGrant
    } else {
        AuditAction::UserSsoAdminRevoke
    };
    state
        .audit
        .require(
            actor,
            AuditEvent::new(action)
                .target(user.id.to_string())
                .meta(json!({ "claim": claim, "value": value })),
        )
        .await
        .map_err(SsoError::Refused)?;
    crate::admin::store::set_admin(&state.db, user.id, admin).await?;
    Ok(User {
        is_admin: admin,
        ..user
    })
}
