//! Submitting a take-home (by the candidate or at the deadline), grading it once whichever node
//! gets there first, the deadline sweep, and what the pad and the summary show of the result.

use serde::Serialize;
use utoipa::ToSchema;

use super::super::switches::{self, now_ms};
use super::super::test_cases;
use super::super::test_cases::for_role;
use super::super::test_cases::run::{run_cases, unrunnable, CaseResult, WhenBusy};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::bus::DomainEvent;
use crate::db::PadId;
use crate::error::{AppError, AppResult};
use crate::pads::roles::Role;
use crate::pads::store::{self as pad_store, Pad};
use crate::AppState;

use super::{attempt_view, store, AttemptView};

/// How often each node looks for attempts past their deadline and for gradings to take over.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// A grading claim older than this is taken over (its node stopped mid-grading).
pub const GRADING_STALE_MS: i64 = 5 * 60 * 1000;

/// Who submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmittedBy {
    Candidate,
    Deadline,
}

impl SubmittedBy {
    fn as_str(self) -> &'static str {
        match self {
            SubmittedBy::Candidate => "candidate",
            SubmittedBy::Deadline => "deadline",
        }
    }
}

/// Submit the attempt on `pad` once: the interview ends (the pad is read-only for the candidate,
/// the recording stops) and the grading starts in the background. 409 `takehome_submitted` the
/// second time. Audited `takehome.submit`.
pub async fn submit(
    state: &AppState,
    actor: &Actor,
    pad: &Pad,
    by: SubmittedBy,
) -> AppResult<AttemptView> {
    store::attempt_on_pad(&state.db, pad.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = now_ms();
    let attempt = store::submit(&state.db, pad.id, now, by.as_str())
        .await?
        .ok_or_else(|| {
            AppError::conflict("takehome_submitted", "this take-home has been submitted")
        })?;
    match switches::end(state, actor, pad, attempt.candidate_id).await {
        // An interviewer ended it already: the submission stands.
        Ok(_)
        | Err(AppError::Conflict {
            code: "interview_ended",
            ..
        }) => {}
        Err(err) => return Err(err),
    }
    let meta = serde_json::json!({ "by": by.as_str(), "timeTakenMs": now - attempt.started_at_ms });
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::TakehomeSubmit)
                .target(&pad.slug)
                .meta(meta),
        )
        .await;
    spawn_grading(state, pad.id);
    attempt_view(state, attempt).await
}

fn spawn_grading(state: &AppState, pad: PadId) {
    let state_for_task = state.clone();
    state.tasks.spawn(async move {
        if let Err(err) = grade(&state_for_task, pad).await {
            tracing::warn!(error = %err, pad = %pad, "grading a take-home failed; the sweep retries");
        }
    });
}

/// Grade the submitted attempt on `pad` unless someone else holds the grading: every case runs,
/// the results are stored, and the pad is told (`takehome.graded`, no content: interviewers fetch
/// the results).
async fn grade(state: &AppState, pad: PadId) -> AppResult<()> {
    let now = now_ms();
    let Some(attempt) = store::claim_grading(&state.db, pad, now, now - GRADING_STALE_MS).await?
    else {
        return Ok(());
    };
    let cases = for_role(
        test_cases::store::for_interview(&state.db, pad).await?,
        Role::Owner,
    );
    let results = match run_cases(
        state,
        pad,
        attempt.candidate_id,
        &attempt.language,
        cases.clone(),
        WhenBusy::Wait,
    )
    .await
    {
        Ok(results) => results,
        // The sandbox had no place for long: leave it to the sweep once the claim is stale.
        Err(err @ AppError::RateLimited { .. }) => return Err(err),
        // Nothing the candidate left can run (no file of the language, sources too large): every
        // case fails with that reason, so the attempt is graded rather than retried forever.
        Err(err) => cases
            .into_iter()
            .map(|numbered| unrunnable(numbered.index, numbered.case, err.code(), err.to_string()))
            .collect(),
    };
    store::store_results(&state.db, pad, &results, now_ms()).await?;
    state
        .rooms
        .broadcast_app(pad, &serde_json::json!({ "type": "takehome.graded" }));
    state.bus.publish(DomainEvent::InterviewChanged { pad });
    Ok(())
}

/// One pass of the sweep: submit attempts past their deadline, grade what nobody is grading.
pub async fn sweep(state: &AppState) -> AppResult<()> {
    let now = now_ms();
    for pad_id in store::overdue(&state.db, now).await? {
        let Some(pad) = pad_store::find(&state.db, pad_id).await? else {
            continue;
        };
        match submit(state, &Actor::default(), &pad, SubmittedBy::Deadline).await {
            // The candidate (or another node) submitted first.
            Ok(_)
            | Err(AppError::Conflict {
                code: "takehome_submitted",
                ..
            }) => {}
            // One attempt failing must not hold up the others; the next pass tries it again.
            Err(err) => {
                tracing::warn!(error = %err, pad = %pad_id, "submitting a take-home at its deadline failed")
            }
        }
    }
    for pad in store::ungraded(&state.db, now - GRADING_STALE_MS).await? {
        spawn_grading(state, pad);
    }
    Ok(())
}

/// Start the deadline sweep on this node.
pub fn spawn_background(state: &AppState) {
    let state = state.clone();
    state.tasks.clone().spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                _ = tick.tick() => {
                    if let Err(err) = sweep(&state).await {
                        tracing::warn!(error = %err, "the take-home sweep failed");
                    }
                }
            }
        }
    });
}

/// The attempt on a pad as its members see it; interviewers also get the grading's results and
/// the time taken.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PadTakehome {
    #[serde(flatten)]
    pub attempt: AttemptView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grading: Option<Grading>,
}

/// The graded result (interviewers only).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Grading {
    /// Start to submission (or deadline), in milliseconds.
    pub time_taken_ms: Option<i64>,
    pub passed: usize,
    pub total: usize,
    /// Empty until graded.
    pub results: Vec<CaseResult>,
}

/// The grading of the attempt on `pad`, if the pad holds one.
pub async fn grading(state: &AppState, pad: PadId) -> AppResult<Option<Grading>> {
    let Some(attempt) = store::attempt_on_pad(&state.db, pad).await? else {
        return Ok(None);
    };
    let results = store::results(&state.db, pad).await?;
    Ok(Some(Grading {
        time_taken_ms: attempt.submitted_at_ms.map(|at| at - attempt.started_at_ms),
        passed: results.iter().filter(|r| r.passed).count(),
        total: results.len(),
        results,
    }))
}

/// The pad's attempt for a member of `role`; 404 when the pad holds none.
pub async fn for_pad(state: &AppState, pad: PadId, role: Role) -> AppResult<PadTakehome> {
    let attempt = store::attempt_on_pad(&state.db, pad)
        .await?
        .ok_or(AppError::NotFound)?;
    let grading = if role.can_see_interviewer_notes() {
        grading(state, pad).await?
    } else {
        None
    };
    Ok(PadTakehome {
        attempt: attempt_view(state, attempt).await?,
        grading,
    })
}
