//! Invite links (SPEC §3): the owner creates links that carry a role, an expiry (default 7 days,
//! max 30) and an optional use count; anyone may preview one; a signed-in user accepts it to join
//! or to be upgraded (never downgraded).
//!
//! Unlike the original (§12 #5, #25): every link expires, a counted use is atomic, accept and
//! revoke are audited, and email binding (which proved nothing) does not exist.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::Serialize;
use serde_json::json;

use super::invites_store::{self, AcceptOutcome, Invite, Liveness, NewInvite};
use super::members::{self, parse_grantable_role};
use super::roles::Role;
use super::store::Pad;
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::bus::DomainEvent;
use crate::db::UserId;
use crate::error::{AppError, AppResult};
use crate::AppState;

/// Hours an invite lives when the owner does not say (SPEC §3: 7 days).
pub const DEFAULT_EXPIRY_HOURS: i64 = 168;
/// Longest allowed life (SPEC §3: 30 days).
pub const MAX_EXPIRY_HOURS: i64 = 720;
/// Largest use count an owner may set.
pub const MAX_USES: i64 = 1000;
/// Random bytes in a token: 192 bits from the CSPRNG (≥ 128 asked), 32 URL-safe characters.
const TOKEN_BYTES: usize = 24;

pub fn generate_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether a string can be a token at all; anything else is answered 404 without a lookup.
pub fn looks_like_token(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The base of invite links: `PUBLIC_BASE_URL`, else the scheme and `Host` of the request. The
/// scheme is https only when a trusted proxy says so; `X-Forwarded-Host` is never believed, so a
/// client cannot make the server mint links to another host.
#[derive(Debug, Clone)]
pub struct PublicBase(pub String);

/// `Host` as an authority (`name[:port]`, `[v6]:port`); anything stranger is refused.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

pub fn base_from_request(headers: &HeaderMap, peer_is_trusted: bool) -> AppResult<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !valid_host(host) {
        return Err(AppError::invalid(
            "invalid_host",
            "the request's Host header is not a host name",
        ));
    }
    let https = peer_is_trusted
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    Ok(format!("{}://{host}", if https { "https" } else { "http" }))
}

impl FromRequestParts<AppState> for PublicBase {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(base) = &state.config.public_base_url {
            return Ok(PublicBase(base.clone()));
        }
        let peer_is_trusted = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(peer)| {
                state
                    .config
                    .trusted_proxies
                    .iter()
                    .any(|net| net.contains(&peer.ip()))
            });
        Ok(PublicBase(base_from_request(
            &parts.headers,
            peer_is_trusted,
        )?))
    }
}

/// An invite as its owner sees it, with the link to share.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteView {
    pub id: i64,
    pub token: String,
    pub role: String,
    pub url: String,
    pub expires_at: String,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub created_at: String,
}

impl InviteView {
    pub fn new(invite: Invite, base: &PublicBase) -> Self {
        InviteView {
            url: format!("{}/invite/{}", base.0, invite.token),
            id: invite.id,
            token: invite.token,
            role: invite.role,
            expires_at: invite.expires_at,
            max_uses: invite.max_uses,
            uses: invite.uses,
            created_at: invite.created_at,
        }
    }
}

pub struct CreateInvite<'a> {
    pub role: &'a str,
    pub expires_in_hours: Option<i64>,
    pub max_uses: Option<i64>,
}

/// Create an invite (owner). Audited without the token: the row must not become a key store.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    pad: &Pad,
    user: UserId,
    req: CreateInvite<'_>,
) -> AppResult<Invite> {
    let role = parse_grantable_role(req.role)?;
    let hours = req.expires_in_hours.unwrap_or(DEFAULT_EXPIRY_HOURS);
    if !(1..=MAX_EXPIRY_HOURS).contains(&hours) {
        return Err(AppError::invalid(
            "invalid_expiry",
            format!("expiresInHours is 1–{MAX_EXPIRY_HOURS}"),
        ));
    }
    if let Some(max) = req.max_uses {
        if !(1..=MAX_USES).contains(&max) {
            return Err(AppError::invalid(
                "invalid_max_uses",
                format!("maxUses is 1–{MAX_USES}"),
            ));
        }
    }
    let now = Utc::now();
    let token = generate_token();
    let invite = invites_store::create(
        &state.db,
        &NewInvite {
            pad: pad.id,
            token: &token,
            role,
            created_by: user,
            created_at: now,
            expires_at: now + Duration::hours(hours),
            max_uses: req.max_uses,
        },
    )
    .await?;
    // The row names the invite, so it is written after the insert; when it cannot be written the
    // invite is revoked before its token was ever shown, so nothing usable was created.
    let audited = state
        .audit
        .require(
            actor,
            AuditEvent::new(AuditAction::InviteCreate).target(&pad.slug).meta(json!({
                "inviteId": invite.id, "role": role.as_str(), "expiresAt": invite.expires_at, "maxUses": invite.max_uses,
            })),
        )
        .await;
    if let Err(err) = audited {
        invites_store::revoke(&state.db, pad.id, invite.id, Utc::now()).await?;
        return Err(err);
    }
    Ok(invite)
}

pub async fn list(state: &AppState, pad: &Pad) -> AppResult<Vec<Invite>> {
    Ok(invites_store::list_live(&state.db, pad.id, Utc::now()).await?)
}

/// Revoke an invite of this pad (owner). Another pad's invite id is not found.
pub async fn revoke(state: &AppState, actor: &Actor, pad: &Pad, raw_id: &str) -> AppResult<()> {
    let id = raw_id.parse::<i64>().map_err(|_| AppError::NotFound)?;
    let invite = invites_store::revoke(&state.db, pad.id, id, Utc::now())
        .await?
        .ok_or(AppError::NotFound)?;
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::InviteRevoke)
                .target(&pad.slug)
                .meta(json!({ "inviteId": invite.id, "role": invite.role })),
        )
        .await;
    Ok(())
}

fn refusal(liveness: Liveness) -> AppError {
    match liveness {
        Liveness::Expired => AppError::gone(
            "invite_expired",
            "this invite has expired; ask for a new one",
        ),
        Liveness::UsedUp => AppError::gone(
            "invite_used_up",
            "this invite has been used up; ask for a new one",
        ),
        Liveness::Missing | Liveness::Live => AppError::NotFound,
    }
}

/// What an invite's holder may see before signing in: the pad's title, the role and the expiry —
/// not the slug, the owner or the members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitePreview {
    pub pad_title: String,
    pub role: String,
    pub expires_at: String,
}

pub async fn preview(
    state: &AppState,
    token: &str,
    now: DateTime<Utc>,
) -> AppResult<InvitePreview> {
    if !looks_like_token(token) {
        return Err(AppError::NotFound);
    }
    let found = invites_store::find_by_token(&state.db, token)
        .await?
        .ok_or(AppError::NotFound)?;
    match found.invite.liveness(now) {
        Liveness::Live => Ok(InvitePreview {
            pad_title: found.pad_title,
            role: found.invite.role,
            expires_at: found.invite.expires_at,
        }),
        other => Err(refusal(other)),
    }
}

/// Where accepting led: the pad and the caller's role on it now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Joined {
    pub slug: String,
    pub role: Role,
}

/// Accept an invite as the signed-in user: join, or upgrade a lower role (SPEC §3).
pub async fn accept(
    state: &AppState,
    actor: &Actor,
    user: UserId,
    token: &str,
    now: DateTime<Utc>,
) -> AppResult<Joined> {
    if !looks_like_token(token) {
        return Err(AppError::NotFound);
    }
    let (invite, slug, grant) =
        match invites_store::accept(&state.db, token, user, now, state.config.pad_max_members)
            .await?
        {
            AcceptOutcome::Accepted {
                invite,
                pad_slug,
                grant,
            } => (invite, pad_slug, grant),
            AcceptOutcome::Refused(liveness) => return Err(refusal(liveness)),
            AcceptOutcome::Removed => return Err(members::removed_error()),
            AcceptOutcome::Full => return Err(members::full_error(state.config.pad_max_members)),
        };
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::InviteAccept)
                .target(&slug)
                .meta(json!({
                    "inviteId": invite.id,
                    "role": grant.current.as_str(),
                    "previousRole": grant.previous.map(Role::as_str),
                    "changed": grant.changed(),
                })),
        )
        .await;
    if grant.changed() {
        state.bus.publish(DomainEvent::MemberChanged {
            pad: invite.pad_id,
            user,
            role: Some(grant.current),
        });
    }
    Ok(Joined {
        slug,
        role: grant.current,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let token = generate_token();
        assert_eq!(token.len(), 32);
        assert!(looks_like_token(&token));
        assert_ne!(token, generate_token());
        assert!(!looks_like_token("../../etc/passwd"));
        assert!(!looks_like_token("short"));
    }

    #[test]
    fn the_link_base_comes_from_host_and_trusted_scheme_only() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "pads.lan:4000".parse().unwrap());
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        headers.insert("x-forwarded-host", "evil.example".parse().unwrap());
        assert_eq!(
            base_from_request(&headers, false).unwrap(),
            "http://pads.lan:4000"
        );
        assert_eq!(
            base_from_request(&headers, true).unwrap(),
            "https://pads.lan:4000"
        );
        headers.insert(header::HOST, "evil.example/x?".parse().unwrap());
        assert!(base_from_request(&headers, true).is_err());
    }
}
