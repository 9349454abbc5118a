//! yrs at the edges of a pad document: decoding untrusted input without letting a yrs panic
//! through, applying stored updates, integrating an update while bounding what yrs parks, and
//! reading and replacing a file's text inside a transaction.

use std::panic::{catch_unwind, AssertUnwindSafe};

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, TransactionMut,
    Update, WriteTxn,
};

use super::super::limits::MAX_PENDING_BYTES;
use super::{file_key, DocError};
use crate::db::{FileId, PadId};

/// A new document with Yjs-compatible (UTF-16) offsets, so indexes agree with browser clients.
pub fn new_doc() -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    })
}

/// Run yrs code on untrusted input; `None` when it panicked (yrs is not panic-free on every
/// malformed update), so one client's garbage cannot take the server down.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

/// Decode an untrusted Yjs v1 update (yrs panics on some inputs, e.g. client ids over 2^53).
pub(crate) fn decode_update(update: &[u8]) -> Result<Update, DocError> {
    guarded(|| Update::decode_v1(update))
        .ok_or(DocError::BadUpdate)?
        .map_err(|_| DocError::BadUpdate)
}

/// Decode an untrusted encoded state vector.
pub(crate) fn decode_state_vector(state_vector: &[u8]) -> Result<StateVector, DocError> {
    guarded(|| StateVector::decode_v1(state_vector))
        .ok_or(DocError::BadUpdate)?
        .map_err(|_| DocError::BadUpdate)
}

/// Whether applying `update` would add content or deletions `doc` lacks.
///
/// Content past the document's clock for its client is new even when it does not follow on
/// directly: a relayed update can overtake the one before it (yrs parks it until the gap fills).
/// `Update::extends` answers only for content that follows on directly, and skipping an
/// overtaking update would lose it while its log id still counted as held.
pub(crate) fn adds_to(doc: &Doc, update: &Update) -> bool {
    let txn = doc.transact();
    let known = txn.state_vector();
    let inserts_unknown = update.insertions(true).iter().any(|(client, clocks)| {
        clocks
            .iter()
            .any(|clock_range| clock_range.end > known.get(client))
    });
    if inserts_unknown {
        return true;
    }
    let deletes = update.delete_set();
    if deletes.is_empty() {
        return false;
    }
    let mut unknown = deletes.clone();
    unknown.diff_with(&txn.snapshot().delete_set);
    !unknown.is_empty()
}

/// A stored or relayed update (Yjs v1), decoded once: `Err(Some(why))` when yrs refused it,
/// `Err(None)` when decoding it panicked yrs.
pub(super) type Decoded = Result<Update, Option<String>>;

fn decode_stored(bytes: &[u8]) -> Decoded {
    match guarded(|| Update::decode_v1(bytes)) {
        Some(Ok(update)) => Ok(update),
        Some(Err(err)) => Err(Some(err.to_string())),
        None => Err(None),
    }
}

/// A stored or relayed update that would change `doc`, decoded for `apply_decoded`; `None` when
/// it changes nothing. One that does not decode counts as a change, so that applying it reports
/// the failure.
pub(super) fn change_to(doc: &Doc, bytes: &[u8]) -> Option<Decoded> {
    match decode_stored(bytes) {
        Ok(update) if !adds_to(doc, &update) => None,
        decoded => Some(decoded),
    }
}

/// Encoded size of what yrs holds back in `doc` for missing dependencies (0 when nothing is).
pub(super) fn parked_len(doc: &Doc) -> usize {
    let txn = doc.transact();
    let store = txn.store();
    store
        .pending_update()
        .map_or(0, |parked| parked.update.encode_v1().len())
        + store.pending_ds().map_or(0, |ds| ds.encode_v1().len())
}

/// Apply an update from the log (this node's or another's); `false` when yrs panicked. One that
/// no longer applies would be a bug: it is skipped rather than losing the pad.
pub(super) fn apply_stored(pad: PadId, doc: &Doc, bytes: &[u8]) -> bool {
    apply_decoded(pad, doc, decode_stored(bytes))
}

/// `apply_stored` of an update decoded already.
pub(super) fn apply_decoded(pad: PadId, doc: &Doc, decoded: Decoded) -> bool {
    let applied = match decoded {
        Ok(update) => guarded(|| {
            doc.transact_mut()
                .apply_update(update)
                .map_err(|e| e.to_string())
        }),
        Err(Some(err)) => Some(Err(err)),
        Err(None) => None,
    };
    match applied {
        Some(Ok(())) => true,
        Some(Err(err)) => {
            tracing::error!(%pad, error = %err, "stored update failed to apply");
            true
        }
        None => {
            tracing::error!(%pad, "stored update panicked yrs");
            false
        }
    }
}

/// The document of a checkpoint's state (`None`: no checkpoint yet) and the log updates after
/// it, encoded as a checkpoint is: the full state and the state vector (Yjs v1).
pub(crate) fn state_from_log(
    pad: PadId,
    checkpoint: Option<&[u8]>,
    updates: &[(i64, Vec<u8>)],
) -> (Vec<u8>, Vec<u8>) {
    let doc = new_doc();
    for bytes in checkpoint
        .into_iter()
        .chain(updates.iter().map(|(_, bytes)| bytes.as_slice()))
    {
        apply_stored(pad, &doc, bytes);
    }
    let txn = doc.transact();
    (
        txn.encode_diff_v1(&StateVector::default()),
        txn.state_vector().encode_v1(),
    )
}

/// Size of the integrated document (parked content is tracked separately as `pending_len`).
pub(super) fn encoded_len(doc: &Doc) -> usize {
    doc.transact().encode_diff_v1(&StateVector::default()).len()
}

/// What applying one client update did to the document.
pub(super) struct Integration {
    /// The integrated changes (Yjs v1), to log and fan out; empty update when none.
    pub(super) encoded: Vec<u8>,
    /// Encoded size of everything parked after this update.
    pub(super) pending_len: usize,
    /// The update would have parked more than `MAX_PENDING_BYTES`; its parked part was dropped.
    pub(super) overflowed: bool,
}

/// Apply `update` and keep what yrs parks (blocks and deletions waiting for content the server
/// never received) within `MAX_PENDING_BYTES`. The parked content from before is set aside and
/// re-applied first (re-parking it changes nothing), so that on overflow exactly what this update
/// parked is dropped and the earlier parked content restored. What the update integrated stays:
/// it is valid content and ends up in the returned `encoded` like any other change.
pub(super) fn integrate_bounding_pending(
    doc: &Doc,
    update: Update,
) -> Result<Integration, DocError> {
    let mut txn = doc.transact_mut();
    // `Update` cannot be cloned: the earlier parked content is kept encoded to restore it.
    let earlier = txn.prune_pending().map(|parked| parked.encode_v1());
    if let Some(earlier) = &earlier {
        txn.apply_update(decode_update(earlier)?)
            .map_err(|_| DocError::BadUpdate)?;
    }
    txn.apply_update(update).map_err(|_| DocError::BadUpdate)?;
    let mut pending_len = 0;
    let mut overflowed = false;
    if let Some(parked) = txn.prune_pending() {
        let parked_len = parked.encode_v1().len();
        if parked_len <= MAX_PENDING_BYTES {
            pending_len = parked_len;
            txn.apply_update(parked).map_err(|_| DocError::BadUpdate)?;
        } else {
            overflowed = true;
            if let Some(earlier) = earlier {
                pending_len = earlier.len();
                txn.apply_update(decode_update(&earlier)?)
                    .map_err(|_| DocError::BadUpdate)?;
            }
        }
    }
    Ok(Integration {
        encoded: txn.encode_update_v1(),
        pending_len,
        overflowed,
    })
}

/// An update that carries no inserts and no deletes (lib0 v1: two zero varints).
pub(super) fn is_empty_update(update: &[u8]) -> bool {
    update == [0, 0]
}

/// Replace a file's whole text inside a transaction.
pub fn set_text(txn: &mut TransactionMut, file: FileId, content: &str) {
    let text = txn.get_or_insert_text(file_key(file).as_str());
    let len = text.len(txn);
    if len > 0 {
        text.remove_range(txn, 0, len);
    }
    if !content.is_empty() {
        text.insert(txn, 0, content);
    }
}

/// The current content of a file's text inside a transaction.
pub fn get_text(txn: &TransactionMut, file: FileId) -> String {
    txn.get_text(file_key(file).as_str())
        .map(|t| t.get_string(txn))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two successive updates of one writer: typing "ab", then "cd".
    fn two_updates() -> (Update, Update) {
        let writer = new_doc();
        let text = writer.get_or_insert_text("t");
        let mut updates = Vec::new();
        for chunk in ["ab", "cd"] {
            let before = writer.transact().state_vector();
            let len = text.len(&writer.transact());
            text.insert(&mut writer.transact_mut(), len, chunk);
            updates.push(writer.transact().encode_diff_v1(&before));
        }
        let second = decode_update(&updates[1]).unwrap();
        let first = decode_update(&updates[0]).unwrap();
        (first, second)
    }

    #[test]
    fn an_update_that_overtook_the_one_before_it_still_adds_to_the_document() {
        let (first, second) = two_updates();
        let reader = new_doc();
        assert!(adds_to(&reader, &second));
        assert!(adds_to(&reader, &first));
    }

    #[test]
    fn only_content_the_document_lacks_adds_to_it() {
        let (first, second) = two_updates();
        let reader = new_doc();
        reader.transact_mut().apply_update(first).unwrap();
        let (first_again, _) = two_updates();
        // A different writer's "ab": same text, different content.
        assert!(adds_to(&reader, &first_again));
        assert!(adds_to(&reader, &second));
        let encoded = reader.transact().encode_diff_v1(&StateVector::default());
        assert!(!adds_to(&reader, &decode_update(&encoded).unwrap()));
    }
}
