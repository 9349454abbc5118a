//! The audit log (SPEC §9): append-only (the database's triggers refuse UPDATE and DELETE) and
//! hash-chained (each row stores the SHA-256 of its content and its predecessor's hash), so a row
//! changed behind the triggers' back is detected by `opencoder audit --verify`.
//!
//! Sensitive actions (role changes, kicks, leaving, invites, passwords, deletions, recovery-key
//! rotation) fail closed: their row is written with `require` *before* the change, and when it
//! cannot be written the request fails with 500 and nothing changes. An action that then fails
//! leaves a row recording the attempt; an action without its row is what this log exists to rule
//! out. Everything else (sign-ups, renames, failed unlocks and recoveries) uses `record`, which
//! logs a failed write and carries on.

pub mod cli;
pub mod store;

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::db::{now_text, Db, UserId};
use crate::error::{AppError, AppResult};

/// Largest stored meta object, in bytes of JSON.
pub const MAX_META_BYTES: usize = 4096;
/// The hash a chain starts from.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// User agents are cut to this many characters before they are stored.
const MAX_USER_AGENT_CHARS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    UserSignup,
    UserRecover,
    UserRecoverFail,
    UserRecoveryRotate,
    UserNameChange,
    UserDelete,
    UserLogoutAll,
    UserSsoLogin,
    UserSsoLink,
    UserSsoAdminGrant,
    UserSsoAdminRevoke,
    PadDelete,
    PadFork,
    PadPasswordSet,
    PadPasswordClear,
    PadUnlock,
    PadUnlockFail,
    MemberKick,
    MemberRoleChange,
    MemberLeave,
    MemberReadmit,
    InviteCreate,
    InviteRevoke,
    InviteAccept,
    RecordingStart,
    RecordingStop,
    RecordingDelete,
    RunStop,
    QuestionCreate,
    QuestionUpdate,
    QuestionDelete,
    QuestionShare,
    QuestionUnshare,
    InterviewStart,
    InterviewSwitch,
    InterviewEnd,
    InterviewAdmit,
    InterviewRefuse,
    InterviewScorecardSubmit,
    TakehomeCreate,
    TakehomeStart,
    TakehomeSubmit,
    AdminGrant,
    AdminRevoke,
    AdminUserRename,
    AdminUserDisable,
    AdminUserEnable,
    AdminUserDelete,
    AdminUserLogoutAll,
    AdminPadDelete,
    AdminRunStop,
    AdminTerminalStop,
    AdminSignupMode,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::UserSignup => "user.signup",
            AuditAction::UserRecover => "user.recover",
            AuditAction::UserRecoverFail => "user.recover.fail",
            AuditAction::UserRecoveryRotate => "user.recovery.rotate",
            AuditAction::UserNameChange => "user.name.change",
            AuditAction::UserDelete => "user.delete",
            AuditAction::UserLogoutAll => "user.logout_all",
            AuditAction::UserSsoLogin => "user.sso.login",
            AuditAction::UserSsoLink => "user.sso.link",
            AuditAction::UserSsoAdminGrant => "user.sso.admin.grant",
            AuditAction::UserSsoAdminRevoke => "user.sso.admin.revoke",
            AuditAction::PadDelete => "pad.delete",
            AuditAction::PadFork => "pad.fork",
            AuditAction::PadPasswordSet => "pad.password.set",
            AuditAction::PadPasswordClear => "pad.password.clear",
            AuditAction::PadUnlock => "pad.unlock",
            AuditAction::PadUnlockFail => "pad.unlock.fail",
            AuditAction::MemberKick => "member.kick",
            AuditAction::MemberRoleChange => "member.role.change",
            AuditAction::MemberLeave => "member.leave",
            AuditAction::MemberReadmit => "member.readmit",
            AuditAction::InviteCreate => "invite.create",
            AuditAction::InviteRevoke => "invite.revoke",
            AuditAction::InviteAccept => "invite.accept",
            AuditAction::RecordingStart => "recording.start",
            AuditAction::RecordingStop => "recording.stop",
            AuditAction::RecordingDelete => "recording.delete",
            AuditAction::RunStop => "run.stop",
            AuditAction::QuestionCreate => "question.create",
            AuditAction::QuestionUpdate => "question.update",
            AuditAction::QuestionDelete => "question.delete",
            AuditAction::QuestionShare => "question.share",
            AuditAction::QuestionUnshare => "question.unshare",
            AuditAction::InterviewStart => "interview.start",
            AuditAction::InterviewSwitch => "interview.switch",
            AuditAction::InterviewEnd => "interview.end",
            AuditAction::InterviewAdmit => "interview.admit",
            AuditAction::InterviewRefuse => "interview.refuse",
            AuditAction::InterviewScorecardSubmit => "interview.scorecard.submit",
            AuditAction::TakehomeCreate => "takehome.create",
            AuditAction::TakehomeStart => "takehome.start",
            AuditAction::TakehomeSubmit => "takehome.submit",
            AuditAction::AdminGrant => "admin.grant",
            AuditAction::AdminRevoke => "admin.revoke",
            AuditAction::AdminUserRename => "admin.user.rename",
            AuditAction::AdminUserDisable => "admin.user.disable",
            AuditAction::AdminUserEnable => "admin.user.enable",
            AuditAction::AdminUserDelete => "admin.user.delete",
            AuditAction::AdminUserLogoutAll => "admin.user.logout_all",
            AuditAction::AdminPadDelete => "admin.pad.delete",
            AuditAction::AdminRunStop => "admin.run.stop",
            AuditAction::AdminTerminalStop => "admin.terminal.stop",
            AuditAction::AdminSignupMode => "admin.signup.mode",
        }
    }
}

/// Who did it and from where; built once per request by the `RequestMeta` extractor.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user: Option<UserId>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// One row to append.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub action: AuditAction,
    pub target: Option<String>,
    pub meta: Option<Value>,
}

impl AuditEvent {
    pub fn new(action: AuditAction) -> Self {
        AuditEvent {
            action,
            target: None,
            meta: None,
        }
    }
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
    pub fn meta(mut self, meta: Value) -> Self {
        self.meta = Some(meta);
        self
    }
}

#[derive(Clone)]
pub struct AuditLog {
    db: Db,
    /// Appends are serialised so each row sees its predecessor's hash.
    append_lock: Arc<Mutex<()>>,
}

impl AuditLog {
    pub fn new(db: Db) -> Self {
        AuditLog {
            db,
            append_lock: Arc::new(Mutex::new(())),
        }
    }

    /// Append one row for an action that need not be refused when it cannot be audited. Failures
    /// are logged, not returned.
    pub async fn record(&self, actor: &Actor, event: AuditEvent) {
        if let Err(err) = self.append(actor, event.clone()).await {
            tracing::error!(action = event.action.as_str(), error = %err, "audit append failed");
        }
    }

    /// Append the row of a sensitive action, before the action: when it cannot be written the
    /// caller must not go on (see the module docs), so the failure is a 500.
    pub async fn require(&self, actor: &Actor, event: AuditEvent) -> AppResult<()> {
        let action = event.action.as_str();
        self.append(actor, event).await.map_err(|err| {
            AppError::Internal(err.context(format!("audit append of {action} failed")))
        })
    }

    pub async fn append(&self, actor: &Actor, event: AuditEvent) -> anyhow::Result<()> {
        let _guard = self.append_lock.lock().await;
        let row = AuditRow {
            id: 0,
            at: now_text(),
            user_id: actor.user.map(|u| u.0),
            action: event.action.as_str().to_string(),
            target: event.target,
            ip: actor.ip.map(|ip| ip.to_string()),
            user_agent: actor.user_agent.as_ref().map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT_CHARS)
                    .collect()
            }),
            meta: event.meta.map(|m| sanitize_meta(m).to_string()),
            prev_hash: String::new(),
            hash: String::new(),
        };
        store::append(&self.db, &row).await?;
        Ok(())
    }
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub user_id: Option<i64>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub meta: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    /// SHA-256 over the predecessor's hash and this row's fields, encoded as a JSON array so no
    /// two different rows serialise alike.
    pub fn compute_hash(&self, prev_hash: &str) -> String {
        let canonical = serde_json::json!([
            prev_hash,
            self.at,
            self.user_id,
            self.action,
            self.target,
            self.ip,
            self.user_agent,
            self.meta
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "pass",
        "secret",
        "token",
        "key",
        "hash",
        "authorization",
        "cookie",
        "credential",
    ]
    .iter()
    .any(|needle| key.contains(needle))
}

/// Redact secret-looking keys at any depth and cap the size (SPEC §9).
pub fn sanitize_meta(meta: Value) -> Value {
    fn redact(value: Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let v = if is_secret_key(&k) {
                            Value::String("[redacted]".into())
                        } else {
                            redact(v)
                        };
                        (k, v)
                    })
                    .collect::<Map<_, _>>(),
            ),
            Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
            other => other,
        }
    }
    let redacted = redact(meta);
    let size = redacted.to_string().len();
    if size > MAX_META_BYTES {
        serde_json::json!({ "truncated": true, "original_bytes": size })
    } else {
        redacted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_are_redacted_at_any_depth() {
        let meta =
            sanitize_meta(json!({"role": "viewer", "password": "p", "nested": {"apiToken": "t"}}));
        assert_eq!(
            meta,
            json!({"role": "viewer", "password": "[redacted]", "nested": {"apiToken": "[redacted]"}})
        );
    }

    #[test]
    fn oversized_meta_is_replaced() {
        let meta = sanitize_meta(json!({"blob": "x".repeat(MAX_META_BYTES)}));
        assert_eq!(meta["truncated"], json!(true));
    }
}
