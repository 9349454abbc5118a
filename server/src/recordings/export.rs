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
//!   whiteboard?: {...},           // the whiteboard at the window's end, a `.excalidraw` file
//!   events: [TimelineEvent]       // the whole timeline, in order (see `timeline::TimelineEvent`)
//! }
//! ```
//!
//! `initialState` plus the `update` of every `edit` event, applied in order, reproduce the
//! document at any instant of the window with nothing but a Yjs library.
//!
//! The export is streamed: everything before `events` is written first, then the timeline a page
//! at a time (`MAX_PAGE` events, at most about `PAGE_BYTE_BUDGET` bytes), each page read from the
//! database only when the client has taken the previous one. So the server holds one page and
//! the document, never the recording, however long it is. A failure after the first bytes
//! (the database going away) cuts the download short, so it never ends as valid JSON.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::body::{Body, Bytes};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yrs::Transact;

use super::service::RecordingView;
use super::store::{self, Audience};
use super::timeline::{self, Replayer, TimelineEvent, Window};
use super::{now_ms, seek, MAX_PAGE};
use crate::collab::whiteboard;
use crate::db::{Db, FileId, PadId};
use crate::error::{AppError, AppResult};
use crate::pads::files_store::{self, TextKeys};
use crate::pads::store::Pad;

/// The export format's version; bumped on any incompatible change.
pub const EXPORT_VERSION: u32 = 1;

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
    /// The whiteboard as it was when the window closed, as the content of a `whiteboard.excalidraw`
    /// file; absent when nothing was drawn on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub whiteboard: Option<serde_json::Value>,
    pub events: Vec<TimelineEvent>,
}

/// The pad's file names at `t_ms`, from the newest `files` event at or before it.
pub async fn listed_files(db: &Db, pad: PadId, t_ms: i64) -> AppResult<Option<BTreeSet<String>>> {
    let data = store::latest_pad_event(db, pad, "files", t_ms).await?;
    Ok(data.as_ref().and_then(listed_names))
}

fn listed_names(files_event: &serde_json::Value) -> Option<BTreeSet<String>> {
    files_event["files"].as_array().map(|files| {
        files
            .iter()
            .filter_map(|f| f["name"].as_str().map(str::to_string))
            .collect()
    })
}

/// What the document's file roots stand for at `t_ms`: file ids named through the file list of
/// the time (the newest `files` event at or before it, over today's rows), or file names for a
/// document not yet re-keyed by id then (`seek::FileNames`).
pub async fn file_names(db: &Db, pad: PadId, t_ms: i64) -> AppResult<seek::FileNames> {
    Ok(files_at(db, pad, t_ms).await?.0)
}

/// `file_names` and `listed_files` at `t_ms`, reading the file list of the time once.
pub async fn files_at(
    db: &Db,
    pad: PadId,
    t_ms: i64,
) -> AppResult<(seek::FileNames, Option<BTreeSet<String>>)> {
    let by_name_before = match files_store::text_keys(db, pad).await? {
        TextKeys::ById => i64::MIN,
        TextKeys::ByIdSince(at_ms) => at_ms,
        TextKeys::ByName => i64::MAX,
    };
    let mut ids: HashMap<FileId, String> = files_store::list(db, pad)
        .await?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    let listed = store::latest_pad_event(db, pad, "files", t_ms).await?;
    if let Some(data) = &listed {
        overlay_listed(&mut ids, data);
    }
    let names = seek::FileNames {
        by_name_before,
        ids,
    };
    Ok((names, listed.as_ref().and_then(listed_names)))
}

/// `file_names` at every instant of `[from_ms, to_ms]`: the names at `from_ms`, then one entry
/// per `files` event after it (oldest first). An instant's names are the last entry at or before it.
pub async fn file_names_over(
    db: &Db,
    pad: PadId,
    from_ms: i64,
    to_ms: i64,
) -> AppResult<Vec<(i64, seek::FileNames)>> {
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

/// The export as a streamed body. Everything before the events is computed here, so a failure
/// there is still an error status; the events follow page by page as the client reads.
pub async fn stream(
    db: &Db,
    pad: &Pad,
    recording: store::Recording,
    audience: Audience,
) -> AppResult<Body> {
    let window = Window::of(&recording);
    let before = window.from_ms - 1;
    let doc = seek::doc_at_time(db, pad.id, before).await?;
    let listed = listed_files(db, pad.id, window.from_ms).await?;
    let names = file_names(db, pad.id, before).await?;
    let files = seek::visible_files(seek::file_texts(&doc, &names, before), listed.as_ref());
    let initial_state = STANDARD.encode(seek::encode_state(&doc));
    drop(doc);
    let at_end = seek::doc_at_time(db, pad.id, window.to_ms).await?;
    let whiteboard = whiteboard::excalidraw_file(&at_end.transact());
    drop(at_end);
    let head = RecordingExport {
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
        whiteboard,
        events: Vec::new(),
    };
    // `events` is the struct's last field: its JSON ends `"events":[]}`; the pages go between.
    let head = serde_json::to_string(&head).map_err(|e| AppError::Internal(e.into()))?;
    let head = head
        .strip_suffix("]}")
        .expect("events is the last field")
        .to_string();
    let pages = EventPages {
        db: db.clone(),
        pad: pad.id,
        window,
        audience,
        after: None,
        first: true,
        done: false,
        replayer: Replayer::default(),
    };
    let body = stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) }).chain(
        stream::unfold(pages, |mut pages| async move {
            if pages.done {
                return None;
            }
            let chunk = pages.next_chunk().await;
            Some((chunk, pages))
        }),
    );
    Ok(Body::from_stream(body))
}

/// Where the streamed export is in the timeline.
struct EventPages {
    db: Db,
    pad: PadId,
    window: Window,
    audience: Audience,
    after: Option<String>,
    /// No event written yet (the next one needs no comma).
    first: bool,
    done: bool,
    replayer: Replayer,
}

impl EventPages {
    /// The next page's events as JSON array items; the last page also closes the document.
    async fn next_chunk(&mut self) -> Result<Bytes, std::io::Error> {
        let page = timeline::page_with(
            &self.db,
            self.pad,
            self.window,
            self.after.as_deref(),
            MAX_PAGE,
            self.audience,
            &mut self.replayer,
        )
        .await
        .map_err(|err| {
            self.done = true;
            tracing::error!(error = %err, pad = %self.pad, "recording export cut short");
            std::io::Error::other("export failed")
        })?;
        let mut chunk = Vec::new();
        for event in &page.events {
            if !std::mem::take(&mut self.first) {
                chunk.push(b',');
            }
            serde_json::to_writer(&mut chunk, event).map_err(std::io::Error::other)?;
        }
        if page.has_more {
            self.after = Some(page.next_cursor);
        } else {
            chunk.extend_from_slice(b"]}");
            self.done = true;
        }
        Ok(Bytes::from(chunk))
    }
}
