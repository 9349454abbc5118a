//! One recording's whole history in one yrs document, read at any instant through a snapshot.
//!
//! The document starts from the checkpoint at the recording's start and then has every later
//! update of the log applied, in log order, with garbage collection off (`skip_gc`), so deleted
//! text keeps its content. Beside it, for every applied update, what it inserted (each client's
//! clock after it) and what it deleted. The state after the first `k` updates is then a Yjs
//! snapshot — the clocks reached by then and the deletions made by then — and a text at that
//! snapshot is read with `diff_range`, without rebuilding anything: a seek costs one pass over
//! the document's items and the deletions, not a checkpoint decode plus hundreds of updates.
//!
//! Updates are only ever appended (the log is append-only), so the history grows forward as new
//! updates land and never has to be invalidated for that.
//!
//! Must not: be used with garbage collection on (a deleted item's content would be gone for the
//! instants before its deletion), or share its document with anything else.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use yrs::types::text::Diff;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::{Encoder, EncoderV1};
use yrs::{
    Any, BranchID, ClientID, Doc, IdSet, OffsetKind, Options, Out, ReadTxn, Snapshot, StateVector,
    Text, Transact, Update,
};

use super::super::seek::FILE_PREFIX;
use super::super::store::{LoggedUpdate, SeekBase};
use crate::collab::doc_store::guarded;

/// The texts (by document root) and, when asked, the whole document at an instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateAt {
    /// Every `file:*` root's text, empty ones included.
    pub texts: BTreeMap<String, String>,
    /// The document as one Yjs v1 update (a client can load it and apply later edits to it).
    pub yjs: Option<Vec<u8>>,
}

pub(super) struct History {
    doc: Doc,
    /// What the starting checkpoint holds.
    base_state: StateVector,
    base_deletes: IdSet,
    /// The log time of every applied update, in log order.
    at_ms: Vec<i64>,
    /// (index of the update, client, the client's clock after it), in update order.
    clocks: Vec<(u32, ClientID, u32)>,
    /// The `file:*` roots met so far (typed as texts, so yrs names the ones an update changes).
    files: Vec<String>,
    /// The deletions of updates that changed exactly one file, by that file (`files` order): a
    /// text's snapshot then carries only its own file's deletions, and a seek splits and merges
    /// each deleted range once rather than once per file.
    deletes: Vec<Deletions>,
    /// The deletions of every other update: every file's snapshot carries them.
    shared_deletes: Deletions,
    /// The last update folded in (the base's when none was applied).
    upto: i64,
    /// Bytes of history merged: the checkpoint plus every update.
    merged_bytes: u64,
}

/// Deleted ranges, each with the index of the update that deleted it.
#[derive(Default)]
struct Deletions {
    /// Per client, sorted by the range's start: `IdSet` takes ranges in clock order in constant
    /// time each (out of order, each one shifts the ranges after it).
    by_client: HashMap<ClientID, Vec<(Range<u32>, u32)>>,
    ranges: usize,
}

impl Deletions {
    fn add(&mut self, deletes: &IdSet, index: u32) {
        for (client, ranges) in deletes.iter() {
            let entry = self.by_client.entry(*client).or_default();
            for range in ranges.iter() {
                let at = entry.partition_point(|(r, _)| r.start <= range.start);
                entry.insert(at, (range.clone(), index));
                self.ranges += 1;
            }
        }
    }

    /// Add the deletions made by the first `k` updates to `set`.
    fn until(&self, k: u32, set: &mut IdSet) {
        if self.ranges == 0 {
            return;
        }
        set.merge_with(IdSet::from_iter(self.by_client.iter().map(
            |(client, ranges)| {
                let made: Vec<Range<u32>> = ranges
                    .iter()
                    .filter(|(_, i)| *i < k)
                    .map(|(range, _)| range.clone())
                    .collect();
                (*client, made)
            },
        )));
    }
}

impl History {
    /// The history from `base` (the state at the recording's start) plus `updates` after it.
    pub(super) fn new(base: &SeekBase, updates: Vec<LoggedUpdate>) -> History {
        let doc = Doc::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            skip_gc: true,
            ..Options::default()
        });
        let mut merged_bytes = 0;
        if let Some(state) = &base.state {
            merged_bytes += state.len() as u64;
            let decoded = guarded(|| {
                if base.v2 {
                    Update::decode_v2(state)
                } else {
                    Update::decode_v1(state)
                }
            });
            match decoded {
                Some(Ok(update)) => {
                    apply(&doc, update);
                }
                _ => tracing::error!("a stored checkpoint failed to decode for playback"),
            }
        }
        let (base_state, base_deletes) = {
            let txn = doc.transact();
            let snapshot = txn.snapshot();
            (snapshot.state_map, snapshot.delete_set)
        };
        let mut history = History {
            doc,
            base_state,
            base_deletes,
            at_ms: Vec::new(),
            clocks: Vec::new(),
            files: Vec::new(),
            deletes: Vec::new(),
            shared_deletes: Deletions::default(),
            upto: base.upto,
            merged_bytes,
        };
        history.type_new_files();
        history.extend(updates);
        history
    }

    /// The last update folded in: later ones are read with `extend`.
    pub(super) fn upto(&self) -> i64 {
        self.upto
    }

    pub(super) fn merged_bytes(&self) -> u64 {
        self.merged_bytes
    }

    /// Type the `file:*` roots not met before as texts (yrs reports the changed roots of a
    /// transaction only once they are typed); returns how many there were.
    fn type_new_files(&mut self) -> usize {
        let new: Vec<String> = {
            let txn = self.doc.transact();
            txn.root_refs()
                .filter(|(root, _)| root.starts_with(FILE_PREFIX))
                .filter(|(root, _)| !self.files.iter().any(|f| f == root))
                .map(|(root, _)| root.to_string())
                .collect()
        };
        for root in &new {
            self.doc.get_or_insert_text(root.as_str());
            self.files.push(root.clone());
            self.deletes.push(Deletions::default());
        }
        new.len()
    }

    /// Apply updates logged after `upto`, in log order, noting what each inserted and deleted.
    pub(super) fn extend(&mut self, updates: Vec<LoggedUpdate>) {
        for logged in updates {
            if logged.id <= self.upto {
                continue;
            }
            let index = self.at_ms.len() as u32;
            self.at_ms.push(logged.at_ms);
            self.upto = logged.id;
            self.merged_bytes += logged.update_bytes.len() as u64;
            let Some(Ok(update)) = guarded(|| Update::decode_v1(&logged.update_bytes)) else {
                tracing::error!(
                    id = logged.id,
                    "a logged update failed to decode for playback"
                );
                continue;
            };
            // `Update::state_vector` counts only updates starting at clock 0: the ends of what
            // it inserted are read from its insertions instead.
            for (client, ranges) in update.insertions(true).iter() {
                if let Some(end) = ranges.iter().map(|r| r.end).max() {
                    self.clocks.push((index, *client, end));
                }
            }
            let deletes = update.delete_set().clone();
            let changed = apply(&self.doc, update);
            // A file this update created was untyped while it applied: it may have been changed.
            let created = self.type_new_files();
            let mut files = self
                .files
                .iter()
                .enumerate()
                .filter(|(_, f)| changed.iter().any(|c| c == *f))
                .map(|(i, _)| i);
            match (files.next(), files.next(), created) {
                (Some(only), None, 0) => self.deletes[only].add(&deletes, index),
                _ => self.shared_deletes.add(&deletes, index),
            }
        }
    }

    /// How many of the applied updates were logged at or before `t_ms` (the log's times do not
    /// decrease along its ids; see `store`).
    pub(super) fn position(&self, t_ms: i64) -> usize {
        self.at_ms.partition_point(|at| *at <= t_ms)
    }

    /// The clocks reached after the first `k` applied updates.
    fn state_vector(&self, k: u32) -> StateVector {
        let mut state = self.base_state.clone();
        for (_, client, clock) in self.clocks.iter().take_while(|(i, ..)| *i < k) {
            state.set_max(*client, *clock);
        }
        state
    }

    /// The deletions made by the first `k` applied updates, in `file` (all files: `None`).
    fn deletions(&self, k: u32, file: Option<usize>) -> IdSet {
        let mut set = self.base_deletes.clone();
        self.shared_deletes.until(k, &mut set);
        match file {
            Some(i) => self.deletes[i].until(k, &mut set),
            None => self.deletes.iter().for_each(|d| d.until(k, &mut set)),
        }
        set
    }

    /// The state after the first `k` applied updates.
    pub(super) fn state_at(&self, k: usize, with_yjs: bool) -> StateAt {
        let k = k as u32;
        let state = self.state_vector(k);
        let mut txn = self.doc.transact_mut();
        let mut texts = BTreeMap::new();
        for (i, root) in self.files.iter().enumerate() {
            let Some(text) = txn.get_text(root.as_str()) else {
                continue;
            };
            let snapshot = Snapshot::new(state.clone(), self.deletions(k, Some(i)));
            // Splits blocks at the snapshot's edges; committing the transaction merges them back.
            let diffs: Vec<Diff<()>> = text.diff_range(&mut txn, Some(&snapshot), None, |_| ());
            let mut out = String::new();
            for diff in diffs {
                if let Out::Any(Any::String(s)) = diff.insert {
                    out.push_str(&s);
                }
            }
            texts.insert(root.clone(), out);
        }
        let yjs = with_yjs.then(|| {
            let snapshot = Snapshot::new(state, self.deletions(k, None));
            let mut encoder = EncoderV1::new();
            match txn.encode_state_from_snapshot(&snapshot, &mut encoder) {
                Ok(()) => encoder.to_vec(),
                // Unreachable with `skip_gc` on, which `new` sets.
                Err(err) => {
                    tracing::error!(error = %err, "encoding a playback snapshot failed");
                    Vec::new()
                }
            }
        });
        StateAt { texts, yjs }
    }

    /// What this history holds in memory, estimated: the document's items and their text (about
    /// `ITEM_BYTES` per update applied — a keystroke is an item — plus what the updates carried)
    /// and the per-update bookkeeping.
    pub(super) fn estimated_bytes(&self) -> u64 {
        let ranges =
            self.shared_deletes.ranges + self.deletes.iter().map(|d| d.ranges).sum::<usize>();
        estimate(self.merged_bytes, self.at_ms.len() as u64)
            + (self.clocks.len() * std::mem::size_of::<(u32, ClientID, u32)>()) as u64
            + (ranges * std::mem::size_of::<(Range<u32>, u32)>()) as u64
    }
}

/// Memory a history of `merged_bytes` from `updates` updates is estimated to take before it is
/// built (its bookkeeping aside). `bench/playback.sh` measures the real figure (RSS growth).
pub(super) fn estimate(merged_bytes: u64, updates: u64) -> u64 {
    merged_bytes * MERGED_BYTE_FACTOR + updates * ITEM_BYTES
}

/// Memory per update applied beyond its own bytes (yrs items, block lists; runs of typing merge
/// into one item). With `MERGED_BYTE_FACTOR`, a little over what `bench/playback.sh` measures: a
/// 100,000-keystroke history (3.5 MB of log) took 7.7 MiB of heap and is estimated at ~10 MB.
const ITEM_BYTES: u64 = 48;
/// The decoded document holds an update's content again (strings, ids).
const MERGED_BYTE_FACTOR: u64 = 1;

/// Apply one update in its own transaction; returns the roots it changed.
fn apply(doc: &Doc, update: Update) -> Vec<String> {
    let applied = guarded(|| {
        let mut txn = doc.transact_mut();
        txn.apply_update(update)?;
        // The changed types are collected while committing.
        txn.commit();
        let changed: Vec<String> = txn
            .changed_parent_types()
            .iter()
            .filter_map(|branch| match branch.id() {
                BranchID::Root(name) => Some(name.to_string()),
                BranchID::Nested(_) => None,
            })
            .collect();
        Ok::<_, yrs::error::UpdateError>(changed)
    });
    match applied {
        Some(Ok(changed)) => changed,
        Some(Err(err)) => {
            tracing::error!(error = %err, "a logged update failed to apply during playback");
            Vec::new()
        }
        None => {
            tracing::error!("a logged update panicked yrs during playback");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collab::doc_store::new_doc;
    use yrs::{GetString, Text};

    /// xorshift64*: deterministic edits.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u32) -> u32 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % u64::from(n.max(1))) as u32
        }
    }

    const ROOTS: [&str; 3] = ["file:1", "file:2", "file:3"];

    fn texts(doc: &Doc) -> BTreeMap<String, String> {
        let txn = doc.transact();
        ROOTS
            .iter()
            .filter_map(|root| {
                txn.get_text(*root)
                    .map(|t| (root.to_string(), t.get_string(&txn)))
            })
            .collect()
    }

    /// Random typing (runs, deletions, cursor jumps, three texts) as logged updates, with the
    /// texts after each.
    fn typing(seed: u64, n: usize) -> (Vec<LoggedUpdate>, Vec<BTreeMap<String, String>>) {
        let doc = new_doc();
        let mut rng = Rng(seed);
        let mut cursor = 0;
        let mut updates = Vec::new();
        let mut after = Vec::new();
        for i in 0..n {
            let text = doc.get_or_insert_text(ROOTS[rng.below(3) as usize]);
            let mut txn = doc.transact_mut();
            let len = text.len(&txn);
            if rng.below(4) == 0 {
                cursor = rng.below(len + 1);
            }
            cursor = cursor.min(len);
            if cursor > 0 && rng.below(6) == 0 {
                let n = (1 + rng.below(4)).min(cursor);
                text.remove_range(&mut txn, cursor - n, n);
                cursor -= n;
            } else {
                text.insert(
                    &mut txn,
                    cursor,
                    ["a", "é", "\n", "xy"][rng.below(4) as usize],
                );
                cursor += 1;
            }
            let bytes = txn.encode_update_v1();
            drop(txn);
            updates.push(LoggedUpdate {
                id: i as i64 + 1,
                at_ms: i as i64 / 3,
                update_bytes: bytes,
            });
            after.push(texts(&doc));
        }
        (updates, after)
    }

    fn nonempty(texts: BTreeMap<String, String>) -> BTreeMap<String, String> {
        texts.into_iter().filter(|(_, t)| !t.is_empty()).collect()
    }

    #[test]
    fn the_state_after_every_update_is_the_document_then() {
        for seed in [3, 17, 2024] {
            let (updates, after) = typing(seed, 600);
            let history = History::new(&SeekBase::default(), updates);
            assert!(nonempty(history.state_at(0, false).texts).is_empty());
            for (k, want) in after.iter().enumerate() {
                let got = history.state_at(k + 1, false).texts;
                assert_eq!(
                    nonempty(got),
                    nonempty(want.clone()),
                    "after update {k} (seed {seed})"
                );
                if k % 50 == 0 {
                    let yjs = history.state_at(k + 1, true).yjs.expect("asked for");
                    let doc = new_doc();
                    doc.transact_mut()
                        .apply_update(Update::decode_v1(&yjs).unwrap())
                        .unwrap();
                    assert_eq!(
                        nonempty(texts(&doc)),
                        nonempty(want.clone()),
                        "yjs after {k}"
                    );
                }
            }
        }
    }
}
