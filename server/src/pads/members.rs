//! Membership changes (SPEC §3): the owner changes roles and kicks; members leave. Each change is
//! audited and published as `MemberChanged`, so the member's open sockets are downgraded or closed
//! at once (the original only touched the row, §12 #6).

use serde_json::json;

use super::roles::Role;
use super::store::{self, Pad};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::bus::DomainEvent;
use crate::db::UserId;
use crate::error::{AppError, AppResult};
use crate::AppState;

/// A user id from a path; anything else is as unknown as a missing member.
pub fn parse_user_id(raw: &str) -> AppResult<UserId> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(UserId)
        .ok_or(AppError::NotFound)
}

/// A role the owner may hand out: collaborator, candidate or viewer (never owner).
pub fn parse_grantable_role(raw: &str) -> AppResult<Role> {
    Role::parse(raw.trim())
        .filter(|r| r.is_grantable())
        .ok_or_else(|| {
            AppError::invalid("invalid_role", "role is collaborator, candidate or viewer")
        })
}

/// Set a member's role (owner only). The owner's own row is never changed.
pub async fn change_role(
    state: &AppState,
    actor: &Actor,
    pad: &Pad,
    target: UserId,
    role: Role,
) -> AppResult<Role> {
    if !role.is_grantable() {
        return Err(AppError::invalid(
            "invalid_role",
            "role is collaborator, candidate or viewer",
        ));
    }
    if target == pad.owner_id {
        return Err(AppError::invalid(
            "cannot_change_owner",
            "the owner's role cannot be changed",
        ));
    }
    let previous = member_other_than_owner(state, pad, target).await?;
    if previous != role {
        // Audited first: a change that cannot be audited does not happen (see `audit`).
        state
            .audit
            .require(
                actor,
                AuditEvent::new(AuditAction::MemberRoleChange)
                    .target(&pad.slug)
                    .meta(
                        json!({ "userId": target, "from": previous.as_str(), "to": role.as_str() }),
                    ),
            )
            .await?;
        store::change_role(&state.db, pad.id, target, role)
            .await?
            .ok_or(AppError::NotFound)?;
        state.bus.publish(DomainEvent::MemberChanged {
            pad: pad.id,
            user: target,
            role: Some(role),
        });
    }
    Ok(role)
}

/// The role of a member who is not the owner (404 otherwise): read before a change so its audit
/// row can be written first.
async fn member_other_than_owner(state: &AppState, pad: &Pad, user: UserId) -> AppResult<Role> {
    store::member_role(&state.db, pad.id, user)
        .await?
        .filter(|r| *r != Role::Owner)
        .ok_or(AppError::NotFound)
}

/// Remove a member (owner only); the owner cannot be kicked. The removal sticks: invites and the
/// pad password grant nothing to the kicked user until the owner re-admits them (`readmit`).
pub async fn kick(state: &AppState, actor: &Actor, pad: &Pad, target: UserId) -> AppResult<()> {
    if target == pad.owner_id {
        return Err(AppError::invalid(
            "cannot_kick_owner",
            "the owner cannot be removed from their pad",
        ));
    }
    let role = member_other_than_owner(state, pad, target).await?;
    state
        .audit
        .require(
            actor,
            AuditEvent::new(AuditAction::MemberKick)
                .target(&pad.slug)
                .meta(json!({ "userId": target, "role": role.as_str() })),
        )
        .await?;
    let by = actor.user.unwrap_or(pad.owner_id);
    store::kick_member(&state.db, pad.id, target, by)
        .await?
        .ok_or(AppError::NotFound)?;
    state.bus.publish(DomainEvent::MemberChanged {
        pad: pad.id,
        user: target,
        role: None,
    });
    Ok(())
}

/// What a removed user is told when an invite or the password would have let them back in.
pub fn removed_error() -> AppError {
    AppError::Forbidden {
        code: "removed_from_pad",
        message: "the owner removed you from this pad; ask them to re-admit you".into(),
    }
}

/// What a newcomer is told when the pad has `PAD_MAX_MEMBERS` members already.
pub fn full_error(max_members: usize) -> AppError {
    AppError::conflict(
        "pad_full",
        format!("this pad already has {max_members} members; ask its owner to remove someone"),
    )
}

/// Let a removed user back in through invites and the password again (owner only). It grants no
/// role by itself.
pub async fn readmit(state: &AppState, actor: &Actor, pad: &Pad, target: UserId) -> AppResult<()> {
    if !store::is_removed(&state.db, pad.id, target).await? {
        return Err(AppError::NotFound);
    }
    state
        .audit
        .require(
            actor,
            AuditEvent::new(AuditAction::MemberReadmit)
                .target(&pad.slug)
                .meta(json!({ "userId": target })),
        )
        .await?;
    store::readmit(&state.db, pad.id, target).await?;
    Ok(())
}

/// Leave a pad. The owner cannot (they delete it instead).
pub async fn leave(state: &AppState, actor: &Actor, pad: &Pad, user: UserId) -> AppResult<()> {
    if user == pad.owner_id {
        return Err(AppError::invalid(
            "owner_cannot_leave",
            "the owner cannot leave their pad; delete it instead",
        ));
    }
    let role = member_other_than_owner(state, pad, user).await?;
    state
        .audit
        .require(
            actor,
            AuditEvent::new(AuditAction::MemberLeave)
                .target(&pad.slug)
                .meta(json!({ "role": role.as_str() })),
        )
        .await?;
    store::remove_member(&state.db, pad.id, user)
        .await?
        .ok_or(AppError::NotFound)?;
    state.bus.publish(DomainEvent::MemberChanged {
        pad: pad.id,
        user,
        role: None,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_grantable_roles_parse() {
        assert_eq!(parse_grantable_role("viewer").unwrap(), Role::Viewer);
        assert!(parse_grantable_role("owner").is_err());
        assert!(parse_grantable_role("admin").is_err());
        assert!(parse_user_id("0").is_err());
        assert_eq!(parse_user_id("7").unwrap(), UserId(7));
    }
}
