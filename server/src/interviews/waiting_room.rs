//! The waiting room (issue 13 §2): a candidate of a pad that holds an interview reaches nothing of
//! the pad — no REST route, no pad or terminal socket — until an interviewer admits them. The gate
//! is `pads::access::load_access`, which every pad route and socket upgrade goes through; only the
//! knock below bypasses it (through `pads::access::load_membership`).
//!
//! Knocking puts the candidate in the room and publishes `InterviewChanged`, so interviewers on
//! the pad see the newcomer at once; the candidate's page knocks again every few seconds
//! (`web/src/features/interview/WaitingRoom.tsx`) to learn the decision — it has no socket yet.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::{self, ADMITTED, REFUSED};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::bus::DomainEvent;
use crate::db::{PadId, UserId};
use crate::error::{AppError, AppResult};
use crate::pads::roles::Role;
use crate::pads::store::Pad;
use crate::AppState;

/// 403 `waiting_room` unless `user` may be on the pad: any role but a candidate, a pad without an
/// interview, or an admitted candidate.
pub async fn require_admitted(
    state: &AppState,
    pad: PadId,
    user: UserId,
    role: Role,
) -> AppResult<()> {
    if !role.bound_by_interview_switches() {
        return Ok(());
    }
    match store::find_with_admission(&state.db, pad, user).await? {
        Some((_, status)) if status.as_deref() != Some(ADMITTED) => Err(AppError::Forbidden {
            code: "waiting_room",
            message: "your interviewer has not let you in yet".into(),
        }),
        _ => Ok(()),
    }
}

/// Where the caller stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Knocked {
    /// `waiting`, `admitted` or `refused` (turned away).
    pub status: String,
    pub title: String,
}

/// Ask to be let in (any member; only a candidate ever waits). Knocking again answers the current
/// status and changes nothing.
pub async fn knock(state: &AppState, pad: &Pad, user: UserId, role: Role) -> AppResult<Knocked> {
    let row = super::switches::find(state, pad.id).await?;
    if !role.bound_by_interview_switches() {
        return Ok(Knocked {
            status: ADMITTED.into(),
            title: row.title,
        });
    }
    let (status, new) = store::knock(&state.db, pad.id, user).await?;
    if new {
        state
            .bus
            .publish(DomainEvent::InterviewChanged { pad: pad.id });
    }
    Ok(Knocked {
        status,
        title: row.title,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Decision {
    /// `true`: let in; `false`: turn away (they can be let in later).
    pub admit: bool,
}

/// Admit or turn away someone who knocked (interviewers). Audited `interview.admit` /
/// `interview.refuse`.
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    pad: &Pad,
    by: UserId,
    user: UserId,
    admit: bool,
) -> AppResult<()> {
    super::switches::find(state, pad.id).await?;
    let status = if admit { ADMITTED } else { REFUSED };
    if !store::decide(&state.db, pad.id, user, status, by).await? {
        return Err(AppError::NotFound);
    }
    let action = if admit {
        AuditAction::InterviewAdmit
    } else {
        AuditAction::InterviewRefuse
    };
    state
        .audit
        .record(
            actor,
            AuditEvent::new(action)
                .target(&pad.slug)
                .meta(serde_json::json!({ "user": user })),
        )
        .await;
    state
        .bus
        .publish(DomainEvent::InterviewChanged { pad: pad.id });
    Ok(())
}
