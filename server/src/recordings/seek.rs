//! Seeking (SPEC §7: "seeking must not replay from the beginning"): the pad's document at an
//! instant, or after a given update, rebuilt from the nearest checkpoint plus what came after it.
//!
//! A seek reads:
//! 1. the nearest full checkpoint at or before the target — the engine's (`doc_checkpoints`,
//!    kept about every `collab::persist::CHECKPOINT_RETAIN_SPACING` updates, plus its newest) or
//!    ours (`recording_checkpoints`, one at each recording's start), whichever is nearer;
//! 2. the recording segments after it (each one row: `SEGMENT_UPDATES` updates merged into one
//!    Yjs v2 update), as long as they end at or before the target and chain without a gap;
//! 3. the single updates after the last segment, up to the target: fewer than one segment's
//!    worth inside a recorded window.
//!
//! So a seek costs one checkpoint decode, at most ~`CHECKPOINT_RETAIN_SPACING / SEGMENT_UPDATES`
//! segment rows and fewer than `SEGMENT_UPDATES` update rows, whatever the recording's length.
//! Yjs updates are idempotent and commute, so a segment overlapping the checkpoint is harmless.
//! Everything is applied in one yrs transaction, on a blocking thread.
//!
//! Must not: touch the live document (playback never changes the pad), or read the log except
//! through `store`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Transact, Update};

use super::store::{self, SeekBase, Segment};
use crate::collab::doc_store::{guarded, new_doc};
use crate::collab::file_roots::parse_file_key;
use crate::db::{Db, FileId, PadId};
use crate::error::{AppError, AppResult};

pub(crate) const FILE_PREFIX: &str = "file:";

/// How a stored blob is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    V1,
    V2,
}

/// Rebuild a document from blobs applied in one transaction. A stored blob that does not apply is
/// logged and skipped (it would be a bug; the rest of the history is still worth showing). Runs
/// on the calling thread: callers on the runtime use `replay_blocking`.
pub fn replay<'a>(parts: impl IntoIterator<Item = (Encoding, &'a [u8])>) -> Doc {
    let doc = new_doc();
    {
        let mut txn = doc.transact_mut();
        for (encoding, bytes) in parts {
            let applied = guarded(|| {
                let decoded = match encoding {
                    Encoding::V1 => Update::decode_v1(bytes),
                    Encoding::V2 => Update::decode_v2(bytes),
                };
                match decoded {
                    Ok(update) => txn.apply_update(update).map_err(|e| e.to_string()),
                    Err(err) => Err(err.to_string()),
                }
            });
            match applied {
                Some(Ok(())) => {}
                Some(Err(err)) => {
                    tracing::error!(error = %err, "a logged update failed to apply during playback")
                }
                None => tracing::error!("a logged update panicked yrs during playback"),
            }
        }
    }
    doc
}

/// Merge consecutive log updates (Yjs v1) into one Yjs v2 update: a segment.
pub fn merge_segment(updates: &[Vec<u8>]) -> Vec<u8> {
    let decoded: Vec<Update> = updates
        .iter()
        .filter_map(|bytes| guarded(|| Update::decode_v1(bytes)).and_then(Result::ok))
        .collect();
    guarded(|| Update::merge_updates(decoded).encode_v2()).unwrap_or_default()
}

/// A rebuilt document and what it cost.
pub struct Seeked {
    pub doc: Doc,
    /// The update the full checkpoint it started from folds (0: the empty document).
    pub base_upto: i64,
    /// Segments applied on top of that checkpoint.
    pub segments: usize,
    /// Single updates applied after them.
    pub replayed: usize,
}

struct Plan {
    base: SeekBase,
    segments: Vec<Segment>,
    updates: Vec<Vec<u8>>,
}

/// Keep the segments that chain from `from` without a gap; returns them and where they end.
fn chain(from: i64, segments: Vec<Segment>) -> (Vec<Segment>, i64) {
    let mut end = from;
    let mut used = Vec::new();
    for segment in segments {
        if segment.after > end {
            break;
        }
        if segment.upto > end {
            end = segment.upto;
            used.push(segment);
        }
    }
    (used, end)
}

async fn replay_blocking(plan: Plan) -> anyhow::Result<Seeked> {
    let base_upto = plan.base.upto;
    let segments = plan.segments.len();
    let replayed = plan.updates.len();
    let doc = tokio::task::spawn_blocking(move || {
        let base_encoding = if plan.base.v2 {
            Encoding::V2
        } else {
            Encoding::V1
        };
        let base = plan.base.state.as_deref().map(|b| (base_encoding, b));
        let segments = plan
            .segments
            .iter()
            .map(|s| (Encoding::V2, s.updates.as_slice()));
        let updates = plan.updates.iter().map(|u| (Encoding::V1, u.as_slice()));
        replay(base.into_iter().chain(segments).chain(updates))
    })
    .await?;
    Ok(Seeked {
        doc,
        base_upto,
        segments,
        replayed,
    })
}

/// The document as it was at `t_ms` (every update logged at or before it).
pub async fn seek_time(db: &Db, pad: PadId, t_ms: i64) -> anyhow::Result<Seeked> {
    replay_blocking(plan_time(db, pad, t_ms, None).await?).await
}

pub async fn doc_at_time(db: &Db, pad: PadId, t_ms: i64) -> anyhow::Result<Doc> {
    Ok(seek_time(db, pad, t_ms).await?.doc)
}

/// `doc_at_time`, refused with 413 before anything is rebuilt when the checkpoint, segments and
/// single updates it would merge add up to more than `max_bytes` (`RECORDING_STATE_MAX_BYTES`).
/// The sizes are read first (SQLite answers `length()` of a blob without reading it), so a
/// refused seek loads at most the checkpoint.
pub async fn doc_at_time_within(db: &Db, pad: PadId, t_ms: i64, max_bytes: u64) -> AppResult<Doc> {
    let plan = plan_time(db, pad, t_ms, Some(max_bytes)).await?;
    Ok(replay_blocking(plan).await.map_err(AppError::Internal)?.doc)
}

fn over_budget(merged: u64, max_bytes: Option<u64>) -> AppResult<()> {
    match max_bytes {
        Some(max) if merged > max => Err(AppError::too_large(format!(
            "the state at this instant would merge more than {max} bytes of history (RECORDING_STATE_MAX_BYTES)"
        ))),
        _ => Ok(()),
    }
}

async fn plan_time(db: &Db, pad: PadId, t_ms: i64, max_bytes: Option<u64>) -> AppResult<Plan> {
    let base = store::checkpoint_at_or_before_time(db, pad, t_ms).await?;
    let mut merged = base.state.as_ref().map_or(0, |state| state.len() as u64);
    over_budget(merged, max_bytes)?;
    if max_bytes.is_some() {
        // Every segment of the bracket counts, chained or not: a bound from above is enough.
        merged +=
            store::segment_bytes_between(db, pad, base.upto, base.next_upto, Some(t_ms)).await?;
        over_budget(merged, max_bytes)?;
    }
    let found = store::segments_between(db, pad, base.upto, base.next_upto, Some(t_ms)).await?;
    let (segments, end) = chain(base.upto, found);
    // The single updates of `t_ms` lie before the next segment's end (or the next checkpoint)
    // logged after `t_ms`. Checkpoints and segments are written while this reads: each bound is
    // chosen by time, never by what happened to exist when an earlier query ran.
    let bound = match (
        store::next_segment_end(db, pad, end, t_ms).await?,
        base.next_upto,
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if max_bytes.is_some() {
        merged += store::update_bytes_between(db, pad, end, bound, Some(t_ms)).await?;
        over_budget(merged, max_bytes)?;
    }
    let updates = store::updates_between(db, pad, end, bound, Some(t_ms)).await?;
    Ok(Plan {
        base,
        segments,
        updates,
    })
}

/// The document right after the pad's update `upto_id` (0: empty).
pub async fn seek_update(db: &Db, pad: PadId, upto_id: i64) -> anyhow::Result<Seeked> {
    if upto_id <= 0 {
        return Ok(Seeked {
            doc: new_doc(),
            base_upto: 0,
            segments: 0,
            replayed: 0,
        });
    }
    let base = store::checkpoint_at_or_before_update(db, pad, upto_id).await?;
    let found = store::segments_between(db, pad, base.upto, Some(upto_id), None).await?;
    let (segments, end) = chain(base.upto, found);
    let updates = store::updates_between(db, pad, end, Some(upto_id), None).await?;
    replay_blocking(Plan {
        base,
        segments,
        updates,
    })
    .await
}

pub async fn doc_after_update(db: &Db, pad: PadId, upto_id: i64) -> anyhow::Result<Doc> {
    Ok(seek_update(db, pad, upto_id).await?.doc)
}

/// What a document's file roots stand for at an instant. Documents key texts by file id
/// (`file:<id>`); a document written before file ids keyed them by name (`file:<name>`) until it
/// was re-keyed (migration 0007), so instants before that read roots as names.
#[derive(Debug, Clone)]
pub struct FileNames {
    /// Roots are file names at instants before this (ms since the epoch).
    pub by_name_before: i64,
    /// File names by id, as listed at the instant asked about.
    pub ids: HashMap<FileId, String>,
}

impl FileNames {
    /// The file a root holds the text of at `at_ms`, if any. A root of an unknown id has no
    /// name to show; a name-looking root after re-keying is an emptied leftover.
    pub fn name(&self, at_ms: i64, root: &str) -> Option<String> {
        let suffix = root.strip_prefix(FILE_PREFIX)?;
        if at_ms < self.by_name_before {
            return Some(suffix.to_string());
        }
        match parse_file_key(root) {
            Some(id) => self.ids.get(&id).cloned(),
            None => Some(suffix.to_string()),
        }
    }
}

/// Every file text of a document at `at_ms`, by file name.
pub fn file_texts(doc: &Doc, names: &FileNames, at_ms: i64) -> BTreeMap<String, String> {
    let txn = doc.transact();
    let texts = txn
        .root_refs()
        .filter(|(root, _)| names.name(at_ms, root).is_some())
        .map(|(root, _)| {
            let text = txn
                .get_text(root)
                .map(|t| t.get_string(&txn))
                .unwrap_or_default();
            (root.to_string(), text)
        });
    named_texts(texts, names, at_ms)
}

/// Texts by document root, renamed to the files they are at `at_ms`; roots that are no file then,
/// and empty texts, are left out.
pub fn named_texts(
    texts: impl IntoIterator<Item = (String, String)>,
    names: &FileNames,
    at_ms: i64,
) -> BTreeMap<String, String> {
    texts
        .into_iter()
        .filter(|(_, text)| !text.is_empty())
        .filter_map(|(root, text)| names.name(at_ms, &root).map(|name| (name, text)))
        .collect()
}

/// The files shown at an instant: the pad's file list then (when known) plus every non-empty
/// text. A deleted file's text is emptied by the pads module, so it drops out;
/// an empty file that exists is kept through the list.
pub fn visible_files(
    texts: BTreeMap<String, String>,
    listed: Option<&BTreeSet<String>>,
) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = texts
        .into_iter()
        .filter(|(_, text)| !text.is_empty())
        .collect();
    if let Some(listed) = listed {
        for name in listed {
            out.entry(name.clone()).or_default();
        }
    }
    out
}

/// The whole document as one Yjs v1 update (a client can load it and apply later edits to it).
pub fn encode_state(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

/// The whole document as one Yjs v2 update: how our checkpoints are stored (v2 encodes ids and
/// lengths column-wise, so the fragmented documents typing produces are about a third smaller).
pub fn encode_checkpoint(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v2(&StateVector::default())
}

/// Apply one update to `doc` and name the file roots it touched. This is how an edit's file is
/// known: an update names its parent text only when the item has no neighbours, so the document
/// it lands in has to tell. yrs reports changed root types only once they are typed (a root first
/// seen in a remote update is untyped), so every root is typed as text first, and a root the
/// update creates counts as touched.
pub fn apply_and_name_roots(doc: &Doc, update: &[u8]) -> Vec<String> {
    let before = type_file_roots(doc);
    let outcome = guarded(|| {
        let update = Update::decode_v1(update).map_err(|e| e.to_string())?;
        let mut txn = doc.transact_mut();
        txn.apply_update(update).map_err(|e| e.to_string())?;
        // The changed root types are collected while committing.
        txn.commit();
        let changed: BTreeSet<String> = txn
            .changed_parent_types()
            .iter()
            .filter_map(|branch| match branch.id() {
                yrs::BranchID::Root(name) => {
                    name.starts_with(FILE_PREFIX).then(|| name.to_string())
                }
                yrs::BranchID::Nested(_) => None,
            })
            .collect();
        Ok::<_, String>(changed)
    });
    let mut files = match outcome {
        Some(Ok(files)) => files,
        Some(Err(err)) => {
            tracing::error!(error = %err, "a logged update failed to apply while naming its files");
            BTreeSet::new()
        }
        None => BTreeSet::new(),
    };
    let after = type_file_roots(doc);
    files.extend(after.difference(&before).cloned());
    files.into_iter().collect()
}

/// Type every `file:*` root of the document as text; returns the root names.
fn type_file_roots(doc: &Doc) -> BTreeSet<String> {
    let roots: BTreeSet<String> = {
        let txn = doc.transact();
        txn.root_refs()
            .filter(|(root, _)| root.starts_with(FILE_PREFIX))
            .map(|(root, _)| root.to_string())
            .collect()
    };
    for root in &roots {
        doc.get_or_insert_text(root.as_str());
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(after: i64, upto: i64) -> Segment {
        Segment {
            after,
            upto,
            updates: Vec::new(),
        }
    }

    #[test]
    fn segments_chain_until_a_gap() {
        let (used, end) = chain(10, vec![seg(5, 15), seg(15, 20), seg(20, 25), seg(30, 35)]);
        assert_eq!(
            used.iter().map(|s| s.upto).collect::<Vec<_>>(),
            [15, 20, 25]
        );
        assert_eq!(end, 25);
        let (used, end) = chain(10, vec![seg(12, 20)]);
        assert!(used.is_empty());
        assert_eq!(end, 10);
    }
}
