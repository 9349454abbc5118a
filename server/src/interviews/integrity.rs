//! The integrity timeline (issue 13 §5): what a candidate's client reports — pastes and large
//! insertions (their size and file, never their text), the window losing and regaining focus —
//! stored as `pad_events` of kind `integrity` and shown to interviewers only.
//!
//! Rules, on every report (`{type: "integrity", …}`, see `oc_proto::IntegrityReport`):
//! - only a candidate's report is stored; anyone else's is answered `forbidden` (an interviewer's
//!   own window is not under review, and a viewer cannot type);
//! - a report over `INTEGRITY_MAX_REPORT_BYTES`, or one that is not a report (unknown kind, a
//!   missing or extra field), closes the socket (1009 / 1007): the stock client never sends one;
//! - `INTEGRITY_REPORTS_PER_SEC` (burst `INTEGRITY_REPORTS_BURST`) per connection, then
//!   `rate_limited`, not stored;
//! - at most `INTEGRITY_MAX_EVENTS_PER_PAD` per pad; later ones are dropped and the interviewers'
//!   list says it was capped.
//!
//! The time and the author are the server's. Nothing of it reaches a candidate: the notice
//! `integrity.reported` goes only to sockets whose role may see interviewer material
//! (`Control::ForInterviewers`), the list is only in interviewers' answers, and the recordings'
//! timeline and export leave the kind out for everyone else.
//!
//! Why large insertions are detected by the client and not also from the update's size on the
//! server: a Yjs update's bytes do not say how many characters it inserted (a reconnecting
//! client's offline edits arrive as one large update, a deletion can be large too), so a
//! server-side flag would mark honest edits. Playback's per-participant tracks show every update's
//! author and size anyway, so a client that stops reporting still leaves its large edits visible.

use oc_proto::{AppMessage, DecodeError, IntegrityReport, PayloadKind};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::bus::DomainEvent;
use crate::collab::app::{AppCtx, AppMsgError};
use crate::collab::SessionError;
use crate::db::{Db, FileId, PadId, UserId};
use crate::pads::files_store;
use crate::pads::roles::Role;
use crate::recordings::{now_ms, store};

/// The `pad_events` kind of a stored report, which the recordings' timeline shows only to
/// interviewers.
pub const EVENT_KIND: &str = store::INTERVIEWER_ONLY_KIND;
/// Largest report, as JSON text: a report is a kind and two numbers.
pub const INTEGRITY_MAX_REPORT_BYTES: usize = 256;
/// Reports per connection per second, and the burst a connection may send at once.
pub const INTEGRITY_REPORTS_PER_SEC: f64 = 1.0;
pub const INTEGRITY_REPORTS_BURST: f64 = 20.0;
/// Reports kept per pad; an interview yields a few dozen.
pub const INTEGRITY_MAX_EVENTS_PER_PAD: i64 = 2_000;

/// `{type:"integrity", kind, chars?, fileId?}` from a candidate → stored, then interviewers are
/// told `integrity.reported`.
pub async fn handle(ctx: AppCtx, message: AppMessage) -> Result<(), AppMsgError> {
    let size = serde_json::to_vec(message.value()).map_or(usize::MAX, |b| b.len());
    if size > INTEGRITY_MAX_REPORT_BYTES {
        return Err(AppMsgError::close(SessionError::Decode(
            DecodeError::PayloadTooLarge {
                payload: PayloadKind::AppMessage,
                size: size as u64,
                limit: INTEGRITY_MAX_REPORT_BYTES,
            },
        )));
    }
    let report = IntegrityReport::from_value(message.value()).map_err(|err| {
        AppMsgError::close(SessionError::Decode(DecodeError::InvalidJson(
            err.to_string(),
        )))
    })?;
    // Only the candidate's window is under review.
    if ctx.role != Role::Candidate {
        return Err(AppMsgError::new(
            "forbidden",
            "only a candidate's client reports integrity events",
        ));
    }
    ctx.take_token(
        "integrity",
        INTEGRITY_REPORTS_PER_SEC,
        INTEGRITY_REPORTS_BURST,
    )?;
    let stored = keep(&ctx.state.db, ctx.room.pad, ctx.user, report)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "storing an integrity report failed");
            AppMsgError::new("internal", "the report could not be stored")
        })?;
    if stored {
        ctx.state
            .bus
            .publish(DomainEvent::IntegrityReported { pad: ctx.room.pad });
    } else {
        tracing::info!(pad = %ctx.room.pad, "integrity report dropped: the pad's cap is reached");
    }
    Ok(())
}

/// Store a report with the file's name as it is now (the file may be renamed or deleted later);
/// `false` when the pad's cap is reached.
async fn keep(db: &Db, pad: PadId, user: UserId, report: IntegrityReport) -> sqlx::Result<bool> {
    let file = match report.file_id {
        Some(id) => files_store::find(db, pad, FileId(id))
            .await?
            .map(|f| f.name),
        None => None,
    };
    let mut data = serde_json::to_value(report).unwrap_or_else(|_| json!({}));
    if let Some(name) = file {
        data["file"] = json!(name);
    }
    let id = store::insert_pad_event_capped(
        db,
        pad,
        now_ms(),
        EVENT_KIND,
        Some(user),
        &data,
        INTEGRITY_MAX_EVENTS_PER_PAD,
    )
    .await?;
    Ok(id.is_some())
}

/// One stored report as interviewers see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrityEvent {
    /// ms since the epoch (the server's clock when the report arrived).
    pub at: i64,
    #[schema(value_type = Option<i64>)]
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    /// `paste`, `largeInsert`, `focusLost` or `focusRegained`.
    pub kind: String,
    /// UTF-16 code units inserted (paste, large insertion).
    pub chars: Option<u32>,
    pub file_id: Option<i64>,
    /// The file's name when the report arrived.
    pub file: Option<String>,
}

/// The pad's integrity timeline (interviewers only).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrityTimeline {
    /// Oldest first.
    pub events: Vec<IntegrityEvent>,
    /// The pad reached `INTEGRITY_MAX_EVENTS_PER_PAD`: later reports were not kept.
    pub capped: bool,
}

pub async fn timeline(db: &Db, pad: PadId) -> sqlx::Result<IntegrityTimeline> {
    let rows = store::pad_events_of_kind(db, pad, EVENT_KIND, INTEGRITY_MAX_EVENTS_PER_PAD).await?;
    let events: Vec<IntegrityEvent> = rows
        .into_iter()
        .map(|row| {
            let data: serde_json::Value = serde_json::from_str(&row.data).unwrap_or_default();
            IntegrityEvent {
                at: row.at_ms,
                user_id: row.user_id,
                user_name: row.user_name,
                kind: data["kind"].as_str().unwrap_or_default().to_string(),
                chars: data["chars"].as_u64().and_then(|c| u32::try_from(c).ok()),
                file_id: data["fileId"].as_i64(),
                file: data["file"].as_str().map(str::to_string),
            }
        })
        .collect();
    let capped = events.len() as i64 >= INTEGRITY_MAX_EVENTS_PER_PAD;
    Ok(IntegrityTimeline { events, capped })
}
