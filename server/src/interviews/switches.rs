//! The interviewer's switches (issue 13 §2): lock the pad, disable run, disable the terminal,
//! hide the prompt, a timer, and the end of the interview. They bind candidates only
//! (`Role::bound_by_interview_switches`) and are enforced where each surface is entered:
//!
//! | switch | enforced in |
//! |---|---|
//! | locked, ended | the pad socket's document updates (`collab::session`, re-read on `InterviewChanged`) and REST file writes (`pads::routes::files`) |
//! | run disabled, ended | `POST /api/pads/{slug}/runs` (`exec::routes`) |
//! | terminal disabled, ended | the terminal socket's upgrade and every input after a change (`terminal`), its REST restart and sync |
//! | prompt hidden | `GET /api/pads/{slug}/interview` leaves the prompt out for non-interviewers |
//!
//! Every change is stored first, then published as `DomainEvent::InterviewChanged`, which reaches
//! the sockets of the pad on every node: they re-read the lock before their next frame and tell
//! their client (`interview.changed`), which fetches the interview again.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::{self, Admission, InterviewRow, SwitchValues};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::bus::DomainEvent;
use crate::db::{Db, PadId, UserId};
use crate::error::{AppError, AppResult};
use crate::pads::roles::Role;
use crate::AppState;

/// Longest countdown an interviewer may set.
pub const MAX_COUNTDOWN_MS: i64 = 8 * 60 * 60 * 1000;
/// Shortest countdown.
pub const MIN_COUNTDOWN_MS: i64 = 60 * 1000;

/// What a switch can close to a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Edit,
    Run,
    Terminal,
}

impl InterviewRow {
    /// Whether the switches close `surface` to `role`.
    pub fn blocks(&self, role: Role, surface: Surface) -> bool {
        if !role.bound_by_interview_switches() {
            return false;
        }
        let switch = match surface {
            Surface::Edit => self.locked,
            Surface::Run => self.run_disabled,
            Surface::Terminal => self.terminal_disabled,
        };
        switch || self.ended_at_ms.is_some()
    }

    fn refusal(&self, surface: Surface) -> AppError {
        let (code, message) = match (self.ended_at_ms.is_some(), surface) {
            (true, _) => ("interview_ended", "the interview has ended"),
            (false, Surface::Edit) => ("pad_locked", "the interviewer locked the pad"),
            (false, Surface::Run) => ("run_disabled", "the interviewer turned running code off"),
            (false, Surface::Terminal) => (
                "terminal_disabled",
                "the interviewer turned the terminal off",
            ),
        };
        AppError::Forbidden {
            code,
            message: message.into(),
        }
    }
}

/// Whether the pad's switches close `surface` to `role` (no interview: never).
pub async fn blocks(db: &Db, pad: PadId, role: Role, surface: Surface) -> sqlx::Result<bool> {
    if !role.bound_by_interview_switches() {
        return Ok(false);
    }
    Ok(store::find(db, pad)
        .await?
        .is_some_and(|row| row.blocks(role, surface)))
}

/// The guard REST handlers and socket upgrades call: 403 with the switch's code when it is off
/// for this role.
pub async fn require(state: &AppState, pad: PadId, role: Role, surface: Surface) -> AppResult<()> {
    if !role.bound_by_interview_switches() {
        return Ok(());
    }
    match store::find(&state.db, pad).await? {
        Some(row) if row.blocks(role, surface) => Err(row.refusal(surface)),
        _ => Ok(()),
    }
}

/// The member's role as the terminal sees it: `None` — not on the terminal — for someone who is not
/// a member, or a candidate the switches keep out of it (terminal off, interview ended).
pub async fn terminal_role(db: &Db, pad: PadId, user: UserId) -> sqlx::Result<Option<Role>> {
    let Some(role) = crate::pads::store::member_role(db, pad, user).await? else {
        return Ok(None);
    };
    Ok((!blocks(db, pad, role, Surface::Terminal).await?).then_some(role))
}

/// Whether candidates' document edits are refused on the pad now (locked or ended).
pub async fn edits_locked(db: &Db, pad: PadId) -> sqlx::Result<bool> {
    blocks(db, pad, Role::Candidate, Surface::Edit).await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimerView {
    /// `countdown` or `elapsed`.
    pub mode: String,
    /// Server clock, milliseconds since the epoch.
    pub started_at_ms: i64,
    /// Countdowns only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
}

/// A pad's interview as the caller may see it. Interviewers (`can_see_interviewer_notes`) get the
/// guidance, the question and the waiting room; everyone else never does, and gets no prompt while
/// it is hidden.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InterviewView {
    pub title: String,
    pub prompt: Option<String>,
    pub prompt_hidden: bool,
    pub language: String,
    pub locked: bool,
    pub run_disabled: bool,
    pub terminal_disabled: bool,
    pub timer: Option<TimerView>,
    pub ended_at_ms: Option<i64>,
    /// The server's clock when answering, so clients show the timer without trusting their own.
    pub now_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guidance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Vec<Admission>>,
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The interview for this role; `waiting` is read only for interviewers.
pub async fn view(db: &Db, row: InterviewRow, role: Role) -> AppResult<InterviewView> {
    let interviewer = role.can_see_interviewer_notes();
    let timer = match (row.timer_mode, row.timer_started_ms) {
        (Some(mode), Some(started_at_ms)) => Some(TimerView {
            mode,
            started_at_ms,
            duration_ms: row.timer_duration_ms,
        }),
        _ => None,
    };
    let waiting = if interviewer {
        Some(store::not_admitted(db, row.pad_id).await?)
    } else {
        None
    };
    Ok(InterviewView {
        title: row.title,
        prompt: (interviewer || !row.prompt_hidden).then_some(row.prompt),
        prompt_hidden: row.prompt_hidden,
        language: row.language,
        locked: row.locked,
        run_disabled: row.run_disabled,
        terminal_disabled: row.terminal_disabled,
        timer,
        ended_at_ms: row.ended_at_ms,
        now_ms: now_ms(),
        guidance: interviewer.then_some(row.guidance),
        question_id: if interviewer { row.question_id } else { None },
        waiting,
    })
}

pub async fn find(state: &AppState, pad: PadId) -> AppResult<InterviewRow> {
    store::find(&state.db, pad).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimerRequest {
    /// `off`, `countdown` or `elapsed`; a new timer starts now (server clock).
    pub mode: String,
    /// Countdowns: 1 minute to 8 hours.
    pub duration_ms: Option<i64>,
}

/// Switches to change; absent ones stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwitchesPatch {
    pub locked: Option<bool>,
    pub run_disabled: Option<bool>,
    pub terminal_disabled: Option<bool>,
    pub prompt_hidden: Option<bool>,
    pub timer: Option<TimerRequest>,
}

fn apply(row: &InterviewRow, patch: &SwitchesPatch, now: i64) -> AppResult<SwitchValues> {
    let mut values = SwitchValues {
        locked: patch.locked.unwrap_or(row.locked),
        run_disabled: patch.run_disabled.unwrap_or(row.run_disabled),
        terminal_disabled: patch.terminal_disabled.unwrap_or(row.terminal_disabled),
        prompt_hidden: patch.prompt_hidden.unwrap_or(row.prompt_hidden),
        timer_mode: row.timer_mode.clone(),
        timer_started_ms: row.timer_started_ms,
        timer_duration_ms: row.timer_duration_ms,
    };
    if let Some(timer) = &patch.timer {
        let (mode, duration) = match (timer.mode.as_str(), timer.duration_ms) {
            ("off", _) => (None, None),
            ("elapsed", _) => (Some("elapsed"), None),
            ("countdown", Some(ms)) if (MIN_COUNTDOWN_MS..=MAX_COUNTDOWN_MS).contains(&ms) => (Some("countdown"), Some(ms)),
            _ => {
                return Err(AppError::invalid(
                    "invalid_timer",
                    format!(
                        "timer is {{mode: off | elapsed}} or {{mode: countdown, durationMs: {MIN_COUNTDOWN_MS}–{MAX_COUNTDOWN_MS}}}"
                    ),
                ))
            }
        };
        values.timer_mode = mode.map(str::to_string);
        values.timer_started_ms = mode.map(|_| now);
        values.timer_duration_ms = duration;
    }
    Ok(values)
}

fn ended() -> AppError {
    AppError::conflict(
        "interview_ended",
        "the interview has ended; its switches no longer change",
    )
}

/// Change switches (interviewers; the caller checked the role). Audited `interview.switch`.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    pad: PadId,
    slug: &str,
    patch: &SwitchesPatch,
) -> AppResult<InterviewRow> {
    let row = find(state, pad).await?;
    if row.ended_at_ms.is_some() {
        return Err(ended());
    }
    let values = apply(&row, patch, now_ms())?;
    let updated = store::set_switches(&state.db, pad, &values)
        .await?
        .ok_or_else(ended)?;
    let meta = serde_json::json!({
        "locked": values.locked,
        "runDisabled": values.run_disabled,
        "terminalDisabled": values.terminal_disabled,
        "promptHidden": values.prompt_hidden,
        "timer": values.timer_mode,
    });
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::InterviewSwitch)
                .target(slug)
                .meta(meta),
        )
        .await;
    state.bus.publish(DomainEvent::InterviewChanged { pad });
    Ok(updated)
}

/// End the interview (interviewers): candidates become read-only and cannot run or use the
/// terminal, an active recording stops, the pad keeps its history. Audited `interview.end`.
pub async fn end(
    state: &AppState,
    actor: &Actor,
    pad: &crate::pads::store::Pad,
    by: UserId,
) -> AppResult<InterviewRow> {
    find(state, pad.id).await?;
    let row = store::end(&state.db, pad.id, by, now_ms())
        .await?
        .ok_or_else(ended)?;
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::InterviewEnd).target(&pad.slug),
        )
        .await;
    state
        .bus
        .publish(DomainEvent::InterviewChanged { pad: pad.id });
    // The interviewer who ends the interview is the one who stops its recording.
    if let Some(recording) = crate::recordings::store::active_recording(&state.db, pad.id).await? {
        let reason = crate::recordings::service::StopReason::Manual;
        match crate::recordings::service::stop(state, actor, pad, recording.id, reason, now_ms())
            .await
        {
            // Stopped by someone else meanwhile: the end still stands.
            Ok(_)
            | Err(AppError::Conflict {
                code: "not_recording",
                ..
            }) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> InterviewRow {
        InterviewRow {
            pad_id: PadId(1),
            question_id: Some(1),
            language: "python".into(),
            title: "T".into(),
            prompt: "P".into(),
            guidance: "G".into(),
            locked: false,
            run_disabled: false,
            terminal_disabled: false,
            prompt_hidden: false,
            timer_mode: None,
            timer_started_ms: None,
            timer_duration_ms: None,
            ended_at_ms: None,
            scorecard_template: None,
        }
    }

    #[test]
    fn switches_bind_candidates_only_and_the_end_binds_everything() {
        let locked = InterviewRow {
            locked: true,
            ..row()
        };
        assert!(locked.blocks(Role::Candidate, Surface::Edit));
        assert!(!locked.blocks(Role::Candidate, Surface::Run));
        for role in [Role::Owner, Role::Collaborator, Role::Viewer] {
            assert!(!locked.blocks(role, Surface::Edit));
        }
        let ended = InterviewRow {
            ended_at_ms: Some(5),
            ..row()
        };
        for surface in [Surface::Edit, Surface::Run, Surface::Terminal] {
            assert!(ended.blocks(Role::Candidate, surface));
            assert!(!ended.blocks(Role::Owner, surface));
        }
        assert_eq!(ended.refusal(Surface::Run).code(), "interview_ended");
        assert_eq!(
            InterviewRow {
                run_disabled: true,
                ..row()
            }
            .refusal(Surface::Run)
            .code(),
            "run_disabled"
        );
    }

    #[test]
    fn timers_are_stamped_by_the_server_and_bounded() {
        let patch = |mode: &str, ms: Option<i64>| SwitchesPatch {
            timer: Some(TimerRequest {
                mode: mode.into(),
                duration_ms: ms,
            }),
            ..SwitchesPatch::default()
        };
        let values = apply(&row(), &patch("countdown", Some(MIN_COUNTDOWN_MS)), 42).unwrap();
        assert_eq!(
            (
                values.timer_mode.as_deref(),
                values.timer_started_ms,
                values.timer_duration_ms
            ),
            (Some("countdown"), Some(42), Some(MIN_COUNTDOWN_MS))
        );
        assert!(apply(&row(), &patch("countdown", Some(MAX_COUNTDOWN_MS + 1)), 42).is_err());
        assert!(apply(&row(), &patch("countdown", None), 42).is_err());
        assert!(apply(&row(), &patch("sideways", None), 42).is_err());
        let off = apply(
            &InterviewRow {
                timer_mode: Some("elapsed".into()),
                timer_started_ms: Some(1),
                ..row()
            },
            &patch("off", None),
            42,
        )
        .unwrap();
        assert_eq!((off.timer_mode, off.timer_started_ms), (None, None));
    }
}
