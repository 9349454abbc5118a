//! The JSON export of a recording (SPEC §7: "recordings can be exported as JSON").
//!
//! Schema, `version: 1` (times in ms since the epoch):
//!
//! ```text
//! {
//!   version: 1,
//!   exportedAt: ms,
//!   pad: {slug, title, language, kind},
//!   recording: {id, name, startedAt, endedAt, durationMs, active, autoStarted, createdBy, stopReason},
//!   files: {name: text},          // every file as it was just before the window opened
//!   initialState: base64,         // the same document as one Yjs v1 update
//!   events: [TimelineEvent]       // the whole timeline, in order (see `timeline::TimelineEvent`)
//! }
//! ```
//!
//! `initialState` plus the `update` of every `edit` event, applied in order, reproduce the
//! document at any instant of the window with nothing but a Yjs library.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::RecordingView;
use super::store;
use super::timeline::{self, TimelineEvent, Window};
use super::{now_ms, seek, MAX_PAGE};
use crate::db::{Db, FileId, PadId};
use crate::error::{AppError, AppResult};
use crate::pads::files_store::{self, TextKeys};
use crate::pads::store::Pad;

/// The export format's version; bumped on any incompatible change.
pub const EXPORT_VERSION: u32 = 1;
/// An export holds at most this many events (about a week of steady typing); longer recordings
/// are answered 413 rather than exhausting memory.
pub const MAX_EXPORT_EVENTS: usize = 2_000_000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportPad {
    pub slug: String,
    pub title: String,
    pub language: String,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordingExport {
    /// Always 1 for this schema.
    pub version: u32,
    /// ms since the epoch.
    pub exported_at: i64,
    pub pad: ExportPad,
    pub recording: RecordingView,
    /// Every file's text just before the window opened.
    pub files: BTreeMap<String, String>,
    /// The document just before the window opened, as one Yjs v1 update (base64).
    pub initial_state: String,
    pub events: Vec<TimelineEvent>,
}

/// The pad's file names at `t_ms`, from the newest `files` event at or before it.
pub async fn listed_files(db: &Db, pad: PadId, t_ms: i64) -> AppResult<Option<BTreeSet<String>>> {
    let data = store::latest_pad_event(db, pad, "files", t_ms).await?;
    Ok(data.and_then(|d| {
        d["files"].as_array().map(|files| files.iter().filter_map(|f| f["name"].as_str().map(str::to_string)).collect())
    }))
}

/// What the document's file roots stand for at `t_ms`: file ids named through the file list of
/// the time (the newest `files` event at or before it, over today's rows), or file names for a
/// document not yet re-keyed by id then (`seek::FileNames`).
pub async fn file_names(db: &Db, pad: PadId, t_ms: i64) -> AppResult<seek::FileNames> {
    let by_name_before = match files_store::text_keys(db, pad).await? {
        TextKeys::ById => i64::MIN,
        TextKeys::ByIdSince(at_ms) => at_ms,
        TextKeys::ByName => i64::MAX,
    };
    let mut ids: HashMap<FileId, String> = files_store::list(db, pad).await?.into_iter().map(|f| (f.id, f.name)).collect();
    if let Some(data) = store::latest_pad_event(db, pad, "files", t_ms).await? {
        overlay_listed(&mut ids, &data);
    }
    Ok(seek::FileNames { by_name_before, ids })
}

/// `file_names` at every instant of `[from_ms, to_ms]`: the names at `from_ms`, then one entry
/// per `files` event after it (oldest first). An instant's names are the last entry at or before it.
pub async fn file_names_over(db: &Db, pad: PadId, from_ms: i64, to_ms: i64) -> AppResult<Vec<(i64, seek::FileNames)>> {
    let mut names = file_names(db, pad, from_ms).await?;
    let mut over = vec![(from_ms, names.clone())];
    for (at_ms, data) in store::pad_events_between(db, pad, "files", from_ms, to_ms).await? {
        overlay_listed(&mut names.ids, &data);
        over.push((at_ms, names.clone()));
    }
    Ok(over)
}

fn overlay_listed(ids: &mut HashMap<FileId, String>, files_event: &serde_json::Value) {
    for file in files_event["files"].as_array().into_iter().flatten() {
        if let (Some(id), Some(name)) = (file["id"].as_i64(), file["name"].as_str()) {
            ids.insert(FileId(id), name.to_string());
        }
    }
}

pub async fn build(db: &Db, pad: &Pad, recording: store::Recording) -> AppResult<RecordingExport> {
    let window = Window::of(&recording);
    let before = window.from_ms - 1;
    let doc = seek::doc_at_time(db, pad.id, before).await?;
    let listed = listed_files(db, pad.id, window.from_ms).await?;
    let names = file_names(db, pad.id, before).await?;
    let files = seek::visible_files(seek::file_texts(&doc, &names, before), listed.as_ref());
    let initial_state = STANDARD.encode(seek::encode_state(&doc));
    let mut events = Vec::new();
    let mut after: Option<String> = None;
    let mut replayer = timeline::Replayer::default();
    loop {
        let page = timeline::page_with(db, pad.id, window, after.as_deref(), MAX_PAGE, &mut replayer).await?;
        events.extend(page.events);
        if events.len() > MAX_EXPORT_EVENTS {
            return Err(AppError::too_large(format!("an export holds at most {MAX_EXPORT_EVENTS} events")));
        }
        if !page.has_more {
            break;
        }
        after = Some(page.next_cursor);
    }
    Ok(RecordingExport {
        version: EXPORT_VERSION,
        exported_at: now_ms(),
        pad: ExportPad {
            slug: pad.slug.clone(),
            title: pad.title.clone(),
            language: pad.language.clone(),
            kind: pad.kind.clone(),
        },
        recording: recording.into(),
        files,
        initial_state,
        events,
    })
}
