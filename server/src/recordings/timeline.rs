//! The timeline of a recording (SPEC §7: "timelines are paginated"): every event of the window,
//! ordered by time, a page at a time. The original answered with the whole history in one reply
//! (reference §12.22).
//!
//! Order: by `at` (ms), then by source (edit, pad event, chat, run), then by the source's own
//! order. The cursor is opaque to clients: base64url JSON holding, for each source, the position
//! after the last event already returned from it. So each page is one bounded, indexed query per
//! source plus a merge, and every event is returned exactly once even when several share a
//! millisecond. A forged cursor can only move within the caller's pad and window: every query is
//! bounded by both.
//!
//! Edits name the files they touched. An update names its text only when it has no neighbours,
//! so the files come from applying the page's edits to the document as it was before the first
//! of them: one seek per page (see `seek` for its cost).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::store::{self, Audience, ChatRow, EditRow, PadEventRow, RunRow, TimePos};
use super::{now_ms, seek, MAX_RUNS_PER_PAGE, PAGE_BYTE_BUDGET};
use crate::db::{Db, PadId, UserId};
use crate::error::{AppError, AppResult};

/// The time window of a recording, inclusive at both ends (an active one ends now).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Window {
    pub fn of(recording: &store::Recording) -> Window {
        Window {
            from_ms: recording.started_at_ms,
            to_ms: recording.ended_at_ms.unwrap_or_else(now_ms),
        }
    }

    /// `t` moved into the window.
    pub fn clamp(&self, t: i64) -> i64 {
        t.clamp(self.from_ms, self.to_ms)
    }
}

/// One event of a timeline or an export.
///
/// `data` by kind:
/// - `edit`: `{updateId, files: [name], update}` — `update` is the Yjs v1 update, base64; applied
///   in order on top of a state from `/state?yjs=true` (or the export's `initialState`) it
///   reproduces the document.
/// - `run`: `{runId, language, entry, finishedAt, exitCode, signal, timedOut, oomKilled,
///   truncated, outcome, stdout, stderr}` (output as clients saw it, already capped).
/// - `chat`: `{messageId, body}`.
/// - `join`, `leave`: `{}` (a user's first connection to the pad opened / last one closed).
/// - `files`: `{files: [{id, name, language}], changes?: [{op, fileId, name, from?, language}]}`.
/// - `integrity` (interviewers only): `{kind, chars?, fileId?, file?}`, see `interviews::integrity`.
/// - any other kind (`terminal`, …): the object its feature logged with `append_event`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent {
    /// ms since the epoch.
    pub at: i64,
    pub kind: String,
    #[schema(value_type = Option<i64>)]
    pub user_id: Option<UserId>,
    /// The author's current name (`null` once the account is gone, except for chat, which keeps
    /// the name at sending time).
    pub user_name: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelinePage {
    pub events: Vec<TimelineEvent>,
    /// Pass as `after` for the next page. Always present: on an active recording, asking again
    /// later returns what happened since.
    pub next_cursor: String,
    /// Whether more events of the window are already known.
    pub has_more: bool,
}

/// Per-source positions: the last edit id consumed, and `(at, id)` for the other sources.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Cursor {
    e: i64,
    p: TimePos<i64>,
    c: TimePos<i64>,
    r: TimePos<String>,
}

impl Cursor {
    /// Before every event of the window.
    async fn start(db: &Db, pad: PadId, window: Window) -> AppResult<Cursor> {
        let before = window.from_ms - 1;
        // Run ids are compared as text; U+10FFFF sorts after every id.
        Ok(Cursor {
            e: store::last_update_at_or_before(db, pad, before).await?,
            p: TimePos {
                at: before,
                id: i64::MAX,
            },
            c: TimePos {
                at: before,
                id: i64::MAX,
            },
            r: TimePos {
                at: before,
                id: "\u{10FFFF}".to_string(),
            },
        })
    }

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(raw: &str) -> AppResult<Cursor> {
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| {
                AppError::invalid(
                    "invalid_cursor",
                    "the cursor is not one this server returned",
                )
            })
    }
}

/// One fetched event before it is shaped, with its merge key.
enum Candidate {
    Edit(EditRow),
    Pad(PadEventRow),
    Chat(ChatRow),
    Run(RunRow),
}

impl Candidate {
    fn key(&self) -> (i64, u8) {
        match self {
            Candidate::Edit(e) => (e.at_ms, 0),
            Candidate::Pad(p) => (p.at_ms, 1),
            Candidate::Chat(c) => (c.at_ms, 2),
            Candidate::Run(r) => (r.at_ms, 3),
        }
    }

    /// Roughly how many bytes the event adds to a reply.
    fn weight(&self) -> usize {
        160 + match self {
            Candidate::Edit(e) => e.update_bytes.len() * 4 / 3 + 64,
            Candidate::Pad(p) => p.data.len(),
            Candidate::Chat(c) => c.body.len(),
            Candidate::Run(r) => r.stdout.len() + r.stderr.len() + 256,
        }
    }
}

/// The document as it was after a given edit, kept between consecutive pages read by one caller
/// (the export), so only the first page seeks.
#[derive(Default)]
pub struct Replayer {
    after_edit: Option<(i64, yrs::Doc)>,
}

/// One page of the window's events after `after` (from the start without it), as `audience`
/// may see them.
pub async fn page(
    db: &Db,
    pad: PadId,
    window: Window,
    after: Option<&str>,
    limit: i64,
    audience: Audience,
) -> AppResult<TimelinePage> {
    page_with(
        db,
        pad,
        window,
        after,
        limit,
        audience,
        &mut Replayer::default(),
    )
    .await
}

/// `page`, reusing `replayer`'s document when this page continues where its last page ended.
pub async fn page_with(
    db: &Db,
    pad: PadId,
    window: Window,
    after: Option<&str>,
    limit: i64,
    audience: Audience,
    replayer: &mut Replayer,
) -> AppResult<TimelinePage> {
    let mut cursor = match after {
        Some(raw) => Cursor::decode(raw)?,
        None => Cursor::start(db, pad, window).await?,
    };
    let fetch = limit + 1;
    let last_edit = store::last_update_at_or_before(db, pad, window.to_ms).await?;
    let edits = store::edits_page(
        db,
        pad,
        cursor.e,
        last_edit,
        window.from_ms,
        window.to_ms,
        fetch,
    )
    .await?;
    let pad_events =
        store::pad_events_page(db, pad, &cursor.p, window.to_ms, fetch, audience).await?;
    let chats = store::chat_page(db, pad, &cursor.c, window.to_ms, fetch).await?;
    let runs = store::runs_page(
        db,
        pad,
        &cursor.r,
        window.to_ms,
        fetch.min(MAX_RUNS_PER_PAGE + 1),
    )
    .await?;
    // Sources start at the window's start through the initial cursor; a forged cursor must not
    // reach before it.
    let in_window = |at: i64| at >= window.from_ms;
    // Each source was read up to one row past what this page may take from it. That last row
    // (when there is one) is a sentinel: nothing of its source after it was read, so the page ends
    // before it. With `limit + 1` rows read no page reaches it; with fewer (runs) it can.
    let full = [
        edits.len() as i64 == fetch,
        pad_events.len() as i64 == fetch,
        chats.len() as i64 == fetch,
        runs.len() as i64 == fetch.min(MAX_RUNS_PER_PAGE + 1),
    ];
    let mut sources: [std::collections::VecDeque<Candidate>; 4] = [
        edits.into_iter().map(Candidate::Edit).collect(),
        pad_events
            .into_iter()
            .filter(|e| in_window(e.at_ms))
            .map(Candidate::Pad)
            .collect(),
        chats
            .into_iter()
            .filter(|c| in_window(c.at_ms))
            .map(Candidate::Chat)
            .collect(),
        runs.into_iter()
            .filter(|r| in_window(r.at_ms))
            .map(Candidate::Run)
            .collect(),
    ];

    let mut taken = Vec::new();
    let mut bytes = 0usize;
    while (taken.len() as i64) < limit && (taken.is_empty() || bytes < PAGE_BYTE_BUDGET) {
        let Some(next) = sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.front().map(|c| (c.key(), i)))
            .min()
            .map(|(_, i)| i)
        else {
            break;
        };
        if full[next] && sources[next].len() == 1 {
            break;
        }
        let candidate = sources[next].pop_front().expect("a front was just seen");
        bytes += candidate.weight();
        match &candidate {
            Candidate::Edit(e) => cursor.e = e.id,
            Candidate::Pad(p) => {
                cursor.p = TimePos {
                    at: p.at_ms,
                    id: p.id,
                }
            }
            Candidate::Chat(c) => {
                cursor.c = TimePos {
                    at: c.at_ms,
                    id: c.id,
                }
            }
            Candidate::Run(r) => {
                cursor.r = TimePos {
                    at: r.at_ms,
                    id: r.id.clone(),
                }
            }
        }
        taken.push(candidate);
    }
    let has_more = sources.iter().any(|s| !s.is_empty());
    let events = shape(db, pad, taken, replayer).await?;
    Ok(TimelinePage {
        events,
        next_cursor: cursor.encode(),
        has_more,
    })
}

/// Turn candidates into events; edits get the files they touched (see the module docs).
async fn shape(
    db: &Db,
    pad: PadId,
    taken: Vec<Candidate>,
    replayer: &mut Replayer,
) -> AppResult<Vec<TimelineEvent>> {
    let edits: Vec<(i64, i64, Vec<u8>)> = taken
        .iter()
        .filter_map(|c| match c {
            Candidate::Edit(e) => Some((e.id, e.at_ms, e.update_bytes.clone())),
            _ => None,
        })
        .collect();
    let edit_files: Vec<Vec<String>> = match (edits.first(), edits.last()) {
        (Some((first, first_at, _)), Some((last, last_at, _))) => {
            let last = *last;
            // Roots are file ids: each edit's named through the file list as of its own instant,
            // so the names do not depend on how the timeline is paged.
            let names = super::export::file_names_over(db, pad, *first_at, *last_at).await?;
            // The pad's log has nothing between the replayer's edit and this page's first one
            // when this page continues the replayer's (the cursor's edit position is its edit).
            let doc = match replayer.after_edit.take() {
                Some((upto, doc))
                    if store::next_update_after(db, pad, upto).await? == Some(*first) =>
                {
                    doc
                }
                _ => seek::doc_after_update(db, pad, first - 1).await?,
            };
            let (doc, files) = tokio::task::spawn_blocking(move || {
                let files = edits
                    .iter()
                    .map(|(_, at_ms, u)| {
                        let roots = seek::apply_and_name_roots(&doc, u);
                        let then = names
                            .iter()
                            .rev()
                            .find(|(from, _)| from <= at_ms)
                            .or(names.first());
                        roots
                            .iter()
                            .filter_map(|root| then.and_then(|(_, n)| n.name(*at_ms, root)))
                            .collect()
                    })
                    .collect();
                (doc, files)
            })
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
            replayer.after_edit = Some((last, doc));
            files
        }
        _ => Vec::new(),
    };
    let mut edit_files = edit_files.into_iter();
    Ok(taken
        .into_iter()
        .map(|candidate| match candidate {
            Candidate::Edit(e) => TimelineEvent {
                at: e.at_ms,
                kind: "edit".into(),
                user_id: e.user_id,
                user_name: e.user_name,
                data: json!({
                    "updateId": e.id,
                    "files": edit_files.next().unwrap_or_default(),
                    "update": STANDARD.encode(&e.update_bytes),
                }),
            },
            Candidate::Pad(p) => TimelineEvent {
                at: p.at_ms,
                kind: p.kind,
                user_id: p.user_id,
                user_name: p.user_name,
                data: serde_json::from_str(&p.data).unwrap_or_else(|_| json!({})),
            },
            Candidate::Chat(c) => TimelineEvent {
                at: c.at_ms,
                kind: "chat".into(),
                user_id: c.user_id,
                user_name: Some(c.user_name),
                data: json!({ "messageId": c.id, "body": c.body }),
            },
            Candidate::Run(r) => TimelineEvent {
                at: r.at_ms,
                kind: "run".into(),
                user_id: r.user_id,
                user_name: r.user_name,
                data: json!({
                    "runId": r.id,
                    "language": r.language,
                    "entry": r.entry,
                    "finishedAt": r.finished_at_ms,
                    "exitCode": r.exit_code,
                    "signal": r.signal,
                    "timedOut": r.timed_out,
                    "oomKilled": r.oom_killed,
                    "truncated": r.truncated,
                    "outcome": r.outcome,
                    "stdout": r.stdout,
                    "stderr": r.stderr,
                }),
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor {
            e: 42,
            p: TimePos { at: 1, id: 2 },
            c: TimePos { at: 3, id: 4 },
            r: TimePos {
                at: 5,
                id: "run-1".into(),
            },
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(b"{\"e\":1}")).is_err());
    }
}
