//! Recording lifecycle (SPEC §7, §9): start, stop, delete and the auto-record setting, each
//! audited (`recording.start` / `recording.stop` / `recording.delete`, target = the pad's slug,
//! meta `{recordingId, …}`), and the two auto-record reactions to room presence.
//!
//! The database row is the only state of a recording: a stop is one conditional UPDATE, so a
//! manual stop and an idle stop cannot both win, and nothing in memory can revive a stopped
//! recording (the original's bug, reference §12.21). One active recording per pad is a unique
//! index, so two concurrent starts cannot both succeed (the loser gets 409 `already_recording`).
//!
//! Must not: check roles (handlers do, through `PadAccess`), or hold SQL (`store`).

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{now_ms, store, MAX_NAME_CHARS};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::db::{PadId, UserId};
use crate::error::{AppError, AppResult, OnUnique};
use crate::pads::store::Pad;
use crate::AppState;

/// Why a recording ended (stored as `stop_reason`, and in the `recording.stop` audit meta).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Someone with `can_record` stopped it.
    Manual,
    /// Auto-started, and nobody was on the pad for `IDLE_GRACE`.
    Idle,
    /// Auto-started and left open by a crash; closed at start-up at the pad's last activity.
    Reconcile,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Manual => "manual",
            StopReason::Idle => "idle",
            StopReason::Reconcile => "reconcile",
        }
    }
}

/// Who is shown as a recording's creator.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    #[schema(value_type = i64)]
    pub user_id: UserId,
    pub name: String,
}

/// A recording as the API shows it. Times are ms since the epoch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RecordingView {
    pub id: i64,
    pub name: String,
    /// Start of the window (ms since the epoch, inclusive).
    pub started_at: i64,
    /// End of the window (inclusive); `null` while recording.
    pub ended_at: Option<i64>,
    /// `endedAt - startedAt`; `null` while recording.
    pub duration_ms: Option<i64>,
    pub active: bool,
    /// Started by auto-record on the first join (stops by itself after the idle grace).
    pub auto_started: bool,
    /// `null` for auto-started recordings whose trigger account is gone.
    pub created_by: Option<UserRef>,
    /// `manual`, `idle` or `reconcile` once stopped.
    pub stop_reason: Option<String>,
}

impl From<store::Recording> for RecordingView {
    fn from(r: store::Recording) -> Self {
        RecordingView {
            id: r.id,
            name: r.name,
            started_at: r.started_at_ms,
            ended_at: r.ended_at_ms,
            duration_ms: r.ended_at_ms.map(|end| end - r.started_at_ms),
            active: r.ended_at_ms.is_none(),
            auto_started: r.auto_started,
            created_by: r
                .created_by
                .zip(r.created_by_name)
                .map(|(user_id, name)| UserRef { user_id, name }),
            stop_reason: r.stop_reason,
        }
    }
}

/// A recording's name: trimmed, 1–`MAX_NAME_CHARS` characters, no control characters; a
/// missing or blank name becomes "Recording <date>".
pub fn recording_name(raw: Option<&str>, started_at_ms: i64, auto: bool) -> AppResult<String> {
    let trimmed = raw.map(str::trim).unwrap_or("");
    if trimmed.is_empty() {
        let when = chrono::DateTime::from_timestamp_millis(started_at_ms)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        return Ok(format!(
            "{} {when}",
            if auto { "Auto-recording" } else { "Recording" }
        ));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS || trimmed.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "invalid_name",
            format!(
                "a recording name has 1 to {MAX_NAME_CHARS} characters and no control characters"
            ),
        ));
    }
    Ok(trimmed.to_string())
}

/// The recording of this pad with this id; 404 when the pad has none (a recording of another pad
/// is as unknown as a missing one).
pub async fn find(state: &AppState, pad: &Pad, id: i64) -> AppResult<store::Recording> {
    store::find_recording(&state.db, pad.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Start recording the pad now (409 `already_recording` when one is active); audited.
pub async fn start(
    state: &AppState,
    actor: &Actor,
    pad: &Pad,
    user: Option<UserId>,
    name: Option<&str>,
    auto: bool,
) -> AppResult<store::Recording> {
    let at = now_ms();
    let name = recording_name(name, at, auto)?;
    let id = store::insert_recording(&state.db, pad.id, &name, user, at, auto)
        .await
        .on_unique(|| {
            AppError::conflict("already_recording", "this pad is already being recorded")
        })?;
    // The file list at the start, so playback knows which (possibly empty) files existed.
    if let Err(err) = record_file_list(state, pad.id, at).await {
        tracing::warn!(error = %err, pad = %pad.id, "recording the file list at a recording's start failed");
    }
    let meta = json!({ "recordingId": id, "auto": auto });
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::RecordingStart)
                .target(&pad.slug)
                .meta(meta),
        )
        .await;
    state.recordings.wake();
    tell_pad(state, pad.id, Some(id));
    find(state, pad, id).await
}

/// Tell everyone on the pad's socket that its recordings changed, and whether one is running:
/// `{type: "recordings.changed", recording: id | null}`. Every role gets it — a candidate may
/// not watch playback but should see that the session is being recorded.
fn tell_pad(state: &AppState, pad: PadId, active: Option<i64>) {
    state.rooms.broadcast_app(pad, &recordings_changed(active));
}

fn recordings_changed(active: Option<i64>) -> serde_json::Value {
    json!({ "type": "recordings.changed", "recording": active })
}

/// What a socket that just joined needs to know: whether the pad is being recorded right now
/// (the same message the pad gets when a recording starts or stops).
pub async fn recording_status_for_joiner(state: &AppState, pad: PadId) -> serde_json::Value {
    let active = match super::store::active_recording(&state.db, pad).await {
        Ok(active) => active.map(|r| r.id),
        Err(err) => {
            tracing::warn!(error = %err, %pad, "reading the active recording failed");
            None
        }
    };
    recordings_changed(active)
}

/// Stop the recording at `at_ms` (409 `not_recording` when it already stopped); audited.
pub async fn stop(
    state: &AppState,
    actor: &Actor,
    pad: &Pad,
    id: i64,
    reason: StopReason,
    at_ms: i64,
) -> AppResult<store::Recording> {
    let recording = find(state, pad, id).await?;
    let stopped = recording.ended_at_ms.is_none()
        && store::end_recording(&state.db, pad.id, id, at_ms, actor.user, reason.as_str()).await?;
    if !stopped {
        return Err(AppError::conflict(
            "not_recording",
            "this recording has already stopped",
        ));
    }
    let meta = json!({ "recordingId": id, "reason": reason.as_str() });
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::RecordingStop)
                .target(&pad.slug)
                .meta(meta),
        )
        .await;
    tell_pad(state, pad.id, None);
    find(state, pad, id).await
}

/// Delete the recording (the window and its seek checkpoints; the pad's log stays); audited.
pub async fn delete(state: &AppState, actor: &Actor, pad: &Pad, id: i64) -> AppResult<()> {
    find(state, pad, id).await?;
    // Audited first: a deletion that cannot be audited does not happen (see `audit`).
    let meta = json!({ "recordingId": id });
    state
        .audit
        .require(
            actor,
            AuditEvent::new(AuditAction::RecordingDelete)
                .target(&pad.slug)
                .meta(meta),
        )
        .await?;
    if !store::delete_recording(&state.db, pad.id, id).await? {
        return Err(AppError::NotFound);
    }
    state.recordings.histories().forget_recording(pad.id, id);
    let active = store::active_recording(&state.db, pad.id)
        .await?
        .map(|r| r.id);
    tell_pad(state, pad.id, active);
    Ok(())
}

/// Turn auto-record on or off. Turned on while people are on the pad, it starts recording now,
/// as if they had just joined (the owner is the audited actor); turned off, an active auto
/// recording still stops by itself once the pad is empty.
pub async fn set_auto_record(
    state: &AppState,
    actor: &Actor,
    pad: &Pad,
    on: bool,
) -> AppResult<bool> {
    store::set_auto_record(&state.db, pad.id, on).await?;
    let occupied = state
        .rooms
        .get(pad.id)
        .is_some_and(|room| room.connection_count() > 0);
    if on && occupied && store::active_recording(&state.db, pad.id).await?.is_none() {
        match start(state, actor, pad, actor.user, None, true).await {
            Ok(_) | Err(AppError::Conflict { .. }) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(on)
}

/// The first person joined the pad's socket: start an auto recording if the pad asks for one
/// and none is active. The joiner is the audited actor.
pub async fn on_first_join(state: &AppState, pad_id: PadId, user: UserId) -> AppResult<()> {
    state.recordings.mark_occupied(pad_id);
    if !store::auto_record(&state.db, pad_id).await?
        || store::active_recording(&state.db, pad_id).await?.is_some()
    {
        return Ok(());
    }
    let Some(pad) = crate::pads::store::find(&state.db, pad_id).await? else {
        return Ok(());
    };
    let actor = Actor {
        user: Some(user),
        ..Actor::default()
    };
    match start(state, &actor, &pad, Some(user), None, true).await {
        // Someone started one manually in between: theirs stands.
        Ok(_) | Err(AppError::Conflict { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}

/// The pad has been empty since `since_ms` for the whole grace: stop its auto-started recording
/// there (a manually started one runs until someone stops it).
pub async fn on_idle(state: &AppState, pad_id: PadId, since_ms: i64) -> AppResult<()> {
    let Some(active) = store::active_recording(&state.db, pad_id).await? else {
        return Ok(());
    };
    if !active.auto_started {
        return Ok(());
    }
    let Some(pad) = crate::pads::store::find(&state.db, pad_id).await? else {
        return Ok(());
    };
    match stop(
        state,
        &Actor::default(),
        &pad,
        active.id,
        StopReason::Idle,
        since_ms,
    )
    .await
    {
        Ok(_) | Err(AppError::Conflict { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}

/// At start-up nobody is connected here: auto-started recordings left open by a crash or a kill
/// end at the pad's last activity (unless another live node owns the pad).
pub async fn reconcile(state: &AppState) -> AppResult<()> {
    for recording in store::all_active_recordings(&state.db).await? {
        if !recording.auto_started {
            continue;
        }
        // Another live node owns the pad: it has sockets there, the recording is not left over.
        if state
            .ownership
            .owner_of(recording.pad_id)
            .await?
            .is_some_and(|owner| owner != state.ownership.node())
        {
            continue;
        }
        let Some(pad) = crate::pads::store::find(&state.db, recording.pad_id).await? else {
            continue;
        };
        let last = store::last_activity_ms(&state.db, pad.id)
            .await?
            .unwrap_or(recording.started_at_ms);
        let end = last.max(recording.started_at_ms);
        match stop(
            state,
            &Actor::default(),
            &pad,
            recording.id,
            StopReason::Reconcile,
            end,
        )
        .await
        {
            Ok(_) | Err(AppError::Conflict { .. }) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// One file as the `files` event lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileRef {
    pub id: i64,
    pub name: String,
    pub language: String,
}

/// Log a `files` event at `at_ms` when the pad's file list differs from the last one logged:
/// `{files: [{id, name, language}], changes: [{op, fileId, name, from?, language}]}` with `op`
/// one of `created`, `renamed`, `deleted`, `language` (`changes` is absent for the first list
/// logged for a pad, which has nothing to compare with). File ids survive renames, so a rename is
/// told apart from a delete plus a create. It is compared with the list logged at or before
/// `at_ms`, not with the newest: a list another task logged a moment later (the background
/// handling a file change) says nothing about `at_ms`, and skipping on it would leave playback
/// at `at_ms` with an older list.
pub async fn record_file_list(state: &AppState, pad: PadId, at_ms: i64) -> anyhow::Result<()> {
    let files: Vec<FileRef> = crate::pads::files_store::list(&state.db, pad)
        .await?
        .into_iter()
        .map(|f| FileRef {
            id: f.id.0,
            name: f.name,
            language: f.language,
        })
        .collect();
    let previous: Option<Vec<FileRef>> = store::latest_pad_event(&state.db, pad, "files", at_ms)
        .await?
        .and_then(|data| serde_json::from_value(data["files"].clone()).ok());
    let data = match previous {
        None => json!({ "files": files }),
        Some(previous) => {
            let changes = file_changes(&previous, &files);
            if changes.is_empty() {
                return Ok(());
            }
            json!({ "files": files, "changes": changes })
        }
    };
    store::insert_pad_event(&state.db, None, pad, at_ms, "files", None, &data).await?;
    Ok(())
}

fn file_changes(before: &[FileRef], after: &[FileRef]) -> Vec<serde_json::Value> {
    let mut changes = Vec::new();
    for file in after {
        match before.iter().find(|b| b.id == file.id) {
            None => changes.push(json!({ "op": "created", "fileId": file.id, "name": file.name, "language": file.language })),
            Some(old) => {
                if old.name != file.name {
                    changes.push(json!({ "op": "renamed", "fileId": file.id, "name": file.name, "from": old.name, "language": file.language }));
                }
                if old.language != file.language {
                    changes.push(json!({ "op": "language", "fileId": file.id, "name": file.name, "language": file.language }));
                }
            }
        }
    }
    for old in before {
        if !after.iter().any(|f| f.id == old.id) {
            changes.push(json!({ "op": "deleted", "fileId": old.id, "name": old.name, "language": old.language }));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: i64, name: &str, language: &str) -> FileRef {
        FileRef {
            id,
            name: name.into(),
            language: language.into(),
        }
    }

    #[test]
    fn file_changes_tell_renames_from_deletes() {
        let before = [f(1, "a.py", "python"), f(2, "b.py", "python")];
        let after = [f(1, "main.py", "python"), f(3, "c.js", "javascript")];
        let changes = file_changes(&before, &after);
        let ops: Vec<&str> = changes.iter().map(|c| c["op"].as_str().unwrap()).collect();
        assert_eq!(ops, ["renamed", "created", "deleted"]);
        assert_eq!(changes[0]["from"], "a.py");
        assert!(file_changes(&after, &after).is_empty());
    }

    #[test]
    fn names_are_trimmed_checked_and_defaulted() {
        assert_eq!(
            recording_name(Some("  Round 1 "), 0, false).unwrap(),
            "Round 1"
        );
        assert!(recording_name(None, 0, false)
            .unwrap()
            .starts_with("Recording 1970-01-01"));
        assert!(recording_name(Some(" "), 0, true)
            .unwrap()
            .starts_with("Auto-recording"));
        assert!(recording_name(Some("a\u{7}b"), 0, false).is_err());
        assert!(recording_name(Some(&"x".repeat(MAX_NAME_CHARS + 1)), 0, false).is_err());
    }
}
