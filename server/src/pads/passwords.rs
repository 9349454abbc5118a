//! Password-protected pads (SPEC §3): the owner sets a password and the role it grants; a signed-in
//! user who knows the slug and the password joins with that role (or is upgraded to it).
//!
//! Hashing: bcrypt, cost 10, on the blocking pool. bcrypt reads only the first 72 bytes, so the
//! password (up to 200 characters, i.e. up to 800 bytes) is first reduced with SHA-256 and encoded
//! in base64 (44 bytes, no NUL): every character counts and nothing is silently cut.
//!
//! Unlock is throttled per pad and per client (`unlock_throttle`) *before* bcrypt runs, and every
//! failure is audited. The password itself never reaches a log line or an audit row.

use std::net::IpAddr;

use base64::Engine;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::invites::Joined;
use super::members::{self, parse_grantable_role};
use super::roles::Role;
use super::store::{self, GrantOutcome, Pad};
use super::unlock_throttle::{retry_after_secs, UnlockKey};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::bus::DomainEvent;
use crate::db::UserId;
use crate::error::{AppError, AppResult};
use crate::AppState;

/// bcrypt work factor (SPEC §3).
pub const BCRYPT_COST: u32 = 10;
/// Characters in a pad password.
pub const MAX_PASSWORD_CHARS: usize = 200;

fn validate_password(password: &str) -> AppResult<()> {
    let count = password.chars().count();
    if count == 0 || count > MAX_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "invalid_password",
            format!("a password is 1–{MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

fn prehash(password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(password.as_bytes()))
}

async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || bcrypt::hash(prehash(&password), BCRYPT_COST))
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("bcrypt task failed")))?
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("bcrypt hash failed")))
}

async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || bcrypt::verify(prehash(&password), &hash))
        .await
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("bcrypt task failed")))?
        .map_err(|e| {
            AppError::Internal(anyhow::Error::new(e).context("stored password hash is unreadable"))
        })
}

/// Set or replace the password and the role it grants (owner). Audited with the role only.
pub async fn set(
    state: &AppState,
    actor: &Actor,
    pad: &Pad,
    password: String,
    role: &str,
) -> AppResult<Pad> {
    validate_password(&password)?;
    let role = parse_grantable_role(role)?;
    let hash = hash_password(password).await?;
    // Audited first: a change that cannot be audited does not happen (see `audit`).
    state
        .audit
        .require(
            actor,
            AuditEvent::new(AuditAction::PadPasswordSet)
                .target(&pad.slug)
                .meta(json!({ "role": role.as_str() })),
        )
        .await?;
    let updated = store::set_password(&state.db, pad.id, Some((&hash, role)))
        .await?
        .ok_or(AppError::NotFound)?;
    state.bus.publish(DomainEvent::PadChanged { pad: pad.id });
    Ok(updated)
}

/// Remove the password (owner). Members who joined with it stay members.
pub async fn clear(state: &AppState, actor: &Actor, pad: &Pad) -> AppResult<Pad> {
    state
        .audit
        .require(
            actor,
            AuditEvent::new(AuditAction::PadPasswordClear).target(&pad.slug),
        )
        .await?;
    let updated = store::set_password(&state.db, pad.id, None)
        .await?
        .ok_or(AppError::NotFound)?;
    state.bus.publish(DomainEvent::PadChanged { pad: pad.id });
    Ok(updated)
}

/// What the unlock screen shows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PadPreview {
    pub slug: String,
    pub title: String,
    pub has_password: bool,
}

/// The unlock screen's view of a pad: shown for password pads (knowing the slug is the first
/// factor) and to members; anyone else gets the 404 of a missing pad (SPEC §3).
pub async fn preview(state: &AppState, slug: &str, user: UserId) -> AppResult<PadPreview> {
    let pad = store::find_by_slug(&state.db, slug)
        .await?
        .ok_or(AppError::NotFound)?;
    if !pad.has_password && store::member_role(&state.db, pad.id, user).await?.is_none() {
        return Err(AppError::NotFound);
    }
    Ok(PadPreview {
        slug: pad.slug,
        title: pad.title,
        has_password: pad.has_password,
    })
}

/// Try a password as `user` from `ip`. Throttled before bcrypt; 401 `wrong_password` on a miss.
pub async fn unlock(
    state: &AppState,
    actor: &Actor,
    user: UserId,
    ip: IpAddr,
    slug: &str,
    password: String,
) -> AppResult<Joined> {
    let pad = store::find_by_slug(&state.db, slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some((hash, role)) = store::password(&state.db, pad.id).await? else {
        // No password: members simply keep their role; everyone else learns nothing.
        let current = store::member_role(&state.db, pad.id, user)
            .await?
            .ok_or(AppError::NotFound)?;
        return Ok(Joined {
            slug: pad.slug,
            role: current,
        });
    };
    validate_password(&password)?;
    let key = UnlockKey::new(pad.id, ip);
    if let Err(wait) = state.unlock_throttle.admit(key).await {
        return Err(AppError::rate_limited(retry_after_secs(wait)));
    }
    if !verify_password(password, hash).await? {
        state
            .audit
            .record(
                actor,
                AuditEvent::new(AuditAction::PadUnlockFail).target(&pad.slug),
            )
            .await;
        return Err(AppError::Unauthenticated("wrong_password"));
    }
    state.unlock_throttle.forgive(key).await;
    let grant =
        match store::grant_at_least(&state.db, pad.id, user, role, state.config.pad_max_members)
            .await?
        {
            GrantOutcome::Granted(grant) => grant,
            GrantOutcome::Removed => return Err(members::removed_error()),
            GrantOutcome::Full => return Err(members::full_error(state.config.pad_max_members)),
        };
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::PadUnlock)
                .target(&pad.slug)
                .meta(json!({
                    "role": grant.current.as_str(),
                    "previousRole": grant.previous.map(Role::as_str),
                })),
        )
        .await;
    if grant.changed() {
        state.bus.publish(DomainEvent::MemberChanged {
            pad: pad.id,
            user,
            role: Some(grant.current),
        });
    }
    Ok(Joined {
        slug: pad.slug,
        role: grant.current,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_passwords_are_not_truncated() {
        let a = "x".repeat(100);
        let b = format!("{}y", "x".repeat(99));
        let hash = bcrypt::hash(prehash(&a), 4).unwrap();
        assert!(bcrypt::verify(prehash(&a), &hash).unwrap());
        assert!(!bcrypt::verify(prehash(&b), &hash).unwrap());
    }

    #[test]
    fn password_lengths_are_checked_in_characters() {
        assert!(validate_password("").is_err());
        assert!(validate_password(&"é".repeat(200)).is_ok());
        assert!(validate_password(&"é".repeat(201)).is_err());
    }
}
