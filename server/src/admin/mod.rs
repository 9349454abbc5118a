//! The operator's administration (issue 14 §5): an admin role, the `opencoder admin` CLI and the
//! `/api/admin/*` API behind the admin page.
//!
//! Only `opencoder admin grant` on the server machine makes an admin: no sign-up and no endpoint
//! can. Every admin request reads the caller's row again (`CurrentUser` loads it), so a revoked
//! admin loses access with the next request, live session or not. Every admin action, from the
//! CLI or the API, writes its audit row before it acts (`audit::AuditLog::require`).
//!
//! - `store`  — the flags, listings, storage figures and `server_settings`
//! - `routes` — `/api/admin/*`
//! - `sandboxes` — runs and terminals of every node, and stopping them where they run
//! - `cli`    — `opencoder admin …`

pub mod cli;
pub mod routes;
pub mod sandboxes;
pub mod store;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::audit::{Actor, AuditAction, AuditEvent, AuditLog};
use crate::auth::{CurrentUser, User};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::AppState;

pub use routes::router;

/// Who may create an account (stored in `server_settings`, so every node agrees).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum SignupMode {
    /// Anyone (the default).
    Open,
    /// Nobody: sign-up answers 403 `signup_closed`.
    Closed,
    /// Only a request that carries a live pad invite token (`invite`).
    InviteOnly,
}

impl SignupMode {
    pub const ALL: [SignupMode; 3] = [SignupMode::Open, SignupMode::Closed, SignupMode::InviteOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            SignupMode::Open => "open",
            SignupMode::Closed => "closed",
            SignupMode::InviteOnly => "invite-only",
        }
    }

    pub fn parse(raw: &str) -> Option<SignupMode> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == raw)
    }
}

const SIGNUP_MODE_KEY: &str = "signup_mode";

pub async fn signup_mode(db: &Db) -> sqlx::Result<SignupMode> {
    Ok(store::setting(db, SIGNUP_MODE_KEY)
        .await?
        .and_then(|raw| SignupMode::parse(&raw))
        .unwrap_or(SignupMode::Open))
}

pub async fn set_signup_mode(db: &Db, mode: SignupMode) -> sqlx::Result<()> {
    store::set_setting(db, SIGNUP_MODE_KEY, mode.as_str()).await
}

/// Sign-up asks this before creating an account: refused when closed, and when invite-only
/// unless `invite` is a live invite token (it is not used up here: the new account accepts it).
pub async fn admit_signup(state: &AppState, invite: Option<&str>) -> AppResult<()> {
    match signup_mode(&state.db).await? {
        SignupMode::Open => Ok(()),
        SignupMode::Closed => Err(AppError::Forbidden {
            code: "signup_closed",
            message: "sign-up is closed on this server; ask its operator for an account".into(),
        }),
        SignupMode::InviteOnly => {
            let refused = || AppError::Forbidden {
                code: "signup_invite_required",
                message: "sign-up on this server needs a valid pad invite".into(),
            };
            let token = invite.ok_or_else(refused)?;
            crate::pads::invites::preview(state, token, chrono::Utc::now())
                .await
                .map_err(|_| refused())?;
            Ok(())
        }
    }
}

/// What an operator changes about an account's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChange {
    /// Make an admin (the CLI only).
    Grant,
    /// Take the admin role away (the CLI only).
    Revoke,
    Disable,
    Enable,
}

impl UserChange {
    fn action(self) -> AuditAction {
        match self {
            UserChange::Grant => AuditAction::AdminGrant,
            UserChange::Revoke => AuditAction::AdminRevoke,
            UserChange::Disable => AuditAction::AdminUserDisable,
            UserChange::Enable => AuditAction::AdminUserEnable,
        }
    }
}

/// Apply `change` to `user`, audited first. Disabling also moves the session epoch, so every
/// token the account holds dies even before the flag is read; the caller then closes its sockets
/// (the API on its bus, the CLI through Redis when there is one: see the README).
pub async fn change_user(
    db: &Db,
    audit: &AuditLog,
    actor: &Actor,
    user: &store::UserRow,
    change: UserChange,
) -> AppResult<()> {
    audit
        .require(
            actor,
            AuditEvent::new(change.action())
                .target(user.id.to_string())
                .meta(serde_json::json!({ "name": user.name })),
        )
        .await?;
    match change {
        UserChange::Grant | UserChange::Revoke => {
            store::set_admin(db, user.id, change == UserChange::Grant).await?
        }
        UserChange::Disable | UserChange::Enable => {
            store::set_disabled(db, user.id, change == UserChange::Disable).await?
        }
    };
    if change == UserChange::Disable {
        crate::auth::store::bump_epoch(db, user.id).await?;
    }
    Ok(())
}

pub async fn change_signup_mode(
    db: &Db,
    audit: &AuditLog,
    actor: &Actor,
    mode: SignupMode,
) -> AppResult<()> {
    audit
        .require(
            actor,
            AuditEvent::new(AuditAction::AdminSignupMode)
                .meta(serde_json::json!({ "mode": mode.as_str() })),
        )
        .await?;
    set_signup_mode(db, mode).await?;
    Ok(())
}

/// A disabled account is refused at sign-in and on every request.
pub fn refuse_disabled(user: User) -> AppResult<User> {
    if user.disabled {
        return Err(AppError::Forbidden {
            code: "account_disabled",
            message: "this account has been disabled by the server's operator".into(),
        });
    }
    Ok(user)
}

/// A signed-in admin: what every `/api/admin/*` handler takes. The flag is the database's, read
/// with the user on this request.
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        if !current.user.is_admin {
            return Err(AppError::Forbidden {
                code: "admin_only",
                message: "only the server's operators may do this".into(),
            });
        }
        Ok(AdminUser(current))
    }
}
