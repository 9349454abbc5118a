//! The roots a pad's document may hold (SPEC §4): one `Y.Text` per file, named `file:<id>` after
//! the file's stable id, so a rename is metadata only and edits in flight survive it.
//!
//! - `check_update`: what every client update must pass before it touches the document — it may
//!   name no root that is not a file of the pad or the whiteboard, may grow no file past
//!   `MAX_FILE_BYTES`, and may take the whiteboard past its bounds (`whiteboard`).
//! - `rekey`: the one-off rewrite of a document written before texts were keyed by id.
//!
//! Must not: touch the database or the document's lock (the document calls in, under its lock).

use std::collections::HashSet;

use yrs::block::{
    ItemContent, BLOCK_GC_REF_NUMBER, BLOCK_SKIP_REF_NUMBER, HAS_ORIGIN, HAS_PARENT_SUB,
    HAS_RIGHT_ORIGIN,
};
use yrs::encoding::read::Read;
use yrs::updates::decoder::{Decoder, DecoderV1};
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, TransactionMut, WriteTxn};

use super::doc_store::{decode_update, guarded, new_doc, DocError};
use super::whiteboard::{self, WHITEBOARD_ROOT};
use crate::db::FileId;

const FILE_PREFIX: &str = "file:";

/// The root text of a file (SPEC §4).
pub fn file_key(file: FileId) -> String {
    format!("{FILE_PREFIX}{file}")
}

/// The file a root belongs to, when it is an id-keyed file root.
pub fn parse_file_key(root: &str) -> Option<FileId> {
    let id = root.strip_prefix(FILE_PREFIX)?;
    // Canonical decimal only, so one file has exactly one root name.
    (id.bytes().all(|b| b.is_ascii_digit()) && !id.starts_with('0'))
        .then(|| id.parse().ok().map(FileId))
        .flatten()
}

/// What an update would do, read from its encoding without applying it.
#[derive(Debug, Default, PartialEq)]
struct Shape {
    /// Roots the update names as the parent of an item. An item placed next to another one
    /// inherits that one's parent, so these are the only roots an update can create.
    named_roots: Vec<String>,
    /// UTF-8 bytes of text the update inserts, wherever it lands.
    inserted_text_bytes: usize,
    /// Items the update carries: each can set at most one key of a map (a whiteboard element).
    items: usize,
    /// Encoded size of the largest "any" value the update writes (a whiteboard element).
    largest_value_bytes: usize,
}

/// Walk a Yjs v1 update's structs (the same layout `yrs::Update::decode_v1` reads).
fn shape(update: &[u8]) -> Result<Shape, DocError> {
    guarded(|| read_shape(update))
        .ok_or(DocError::BadUpdate)?
        .map_err(|_| DocError::BadUpdate)
}

fn read_shape(update: &[u8]) -> Result<Shape, yrs::encoding::read::Error> {
    let mut decoder = DecoderV1::from(update);
    let mut shape = Shape::default();
    let clients: u32 = decoder.read_var()?;
    for _ in 0..clients {
        let structs: u32 = decoder.read_var()?;
        let _client = decoder.read_client()?;
        let _clock: u32 = decoder.read_var()?;
        for _ in 0..structs {
            let info = decoder.read_info()?;
            match info {
                BLOCK_SKIP_REF_NUMBER => {
                    let _len: u32 = decoder.read_var()?;
                }
                BLOCK_GC_REF_NUMBER => {
                    let _len = decoder.read_len()?;
                }
                info => {
                    let inherits_parent = info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) != 0;
                    if info & HAS_ORIGIN != 0 {
                        decoder.read_left_id()?;
                    }
                    if info & HAS_RIGHT_ORIGIN != 0 {
                        decoder.read_right_id()?;
                    }
                    if !inherits_parent {
                        if decoder.read_parent_info()? {
                            let root = decoder.read_string()?.to_string();
                            if !shape.named_roots.contains(&root) {
                                shape.named_roots.push(root);
                            }
                        } else {
                            decoder.read_left_id()?;
                        }
                        if info & HAS_PARENT_SUB != 0 {
                            decoder.read_string()?;
                        }
                    }
                    shape.items += 1;
                    match ItemContent::decode(&mut decoder, info)? {
                        ItemContent::String(text) => {
                            shape.inserted_text_bytes += text.as_str().len();
                        }
                        ItemContent::Any(values) => {
                            let largest = values.iter().map(whiteboard::encoded_any_len).max();
                            shape.largest_value_bytes =
                                shape.largest_value_bytes.max(largest.unwrap_or(0));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(shape)
}

/// Refuse an update that names a root other than the pad's files' and the whiteboard
/// (`UnknownRoot`), that would grow a file's text past `max_file_bytes` (`FileTooLarge`), or
/// that would take the whiteboard past `MAX_WHITEBOARD_ELEMENTS` or write an element over
/// `MAX_WHITEBOARD_ELEMENT_BYTES` (`WhiteboardTooLarge`). Cheap for ordinary edits: a file can
/// only grow by what the update inserts and the board by one element per item, so the document
/// is only tried out — the update applied to a copy, then measured — when a file or the board is
/// within that much of its cap.
pub fn check_update(
    doc: &Doc,
    files: &HashSet<FileId>,
    update: &[u8],
    max_file_bytes: usize,
) -> Result<(), DocError> {
    let shape = shape(update)?;
    if shape.named_roots.iter().any(|root| {
        root != WHITEBOARD_ROOT && parse_file_key(root).is_none_or(|id| !files.contains(&id))
    }) {
        return Err(DocError::UnknownRoot);
    }
    if shape.largest_value_bytes > whiteboard::MAX_WHITEBOARD_ELEMENT_BYTES {
        return Err(DocError::WhiteboardTooLarge);
    }
    let before = if shape.inserted_text_bytes == 0 {
        Vec::new()
    } else {
        file_lengths(doc, files, shape.inserted_text_bytes, max_file_bytes)
    };
    let board_before = whiteboard::near_cap(&doc.transact(), shape.items);
    if before.is_empty() && board_before.is_none() {
        return Ok(());
    }
    let trial = copy_of(doc)?;
    let decoded = decode_update(update)?;
    guarded(|| trial.transact_mut().apply_update(decoded))
        .ok_or(DocError::BadUpdate)?
        .map_err(|_| DocError::BadUpdate)?;
    let txn = trial.transact();
    for (file, was) in before {
        let now = txn
            .get_text(file_key(file).as_str())
            .map(|t| t.get_string(&txn).len())
            .unwrap_or(0);
        // A file already over the cap (from before it existed) may shrink, never grow.
        if now > max_file_bytes && now > was {
            return Err(DocError::FileTooLarge);
        }
    }
    if board_before.is_some_and(|was| !whiteboard::within_cap(&txn, was)) {
        return Err(DocError::WhiteboardTooLarge);
    }
    Ok(())
}

/// The files that `growth` more bytes could push past the cap, with their byte lengths. A UTF-16
/// unit is at most 3 UTF-8 bytes, so the exact length is only computed for texts that long.
fn file_lengths(
    doc: &Doc,
    files: &HashSet<FileId>,
    growth: usize,
    max_file_bytes: usize,
) -> Vec<(FileId, usize)> {
    let txn = doc.transact();
    files
        .iter()
        .filter_map(|file| {
            // A file whose root is not in the document yet (an empty file after a reload) is empty.
            let text = txn.get_text(file_key(*file).as_str());
            let units = text.as_ref().map_or(0, |t| t.len(&txn) as usize);
            if units.saturating_mul(3).saturating_add(growth) <= max_file_bytes {
                return None;
            }
            let bytes = text.map_or(0, |t| t.get_string(&txn).len());
            (bytes.saturating_add(growth) > max_file_bytes).then_some((*file, bytes))
        })
        .collect()
}

/// An independent copy of a document (its full state, pending structs included).
fn copy_of(doc: &Doc) -> Result<Doc, DocError> {
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let copy = new_doc();
    let update = decode_update(&state)?;
    guarded(|| copy.transact_mut().apply_update(update))
        .ok_or(DocError::BadUpdate)?
        .map_err(|_| DocError::BadUpdate)?;
    Ok(copy)
}

/// Rewrite a document that keys file texts by name (`file:<name>`, before file ids) to key them
/// by id. Every text is read before any root is touched, so a name that looks like another
/// file's id cannot clobber it; only non-empty name roots are moved (and emptied), so running it
/// again on a re-keyed document changes nothing.
pub fn rekey(txn: &mut TransactionMut, files: &[(FileId, String)]) {
    let moved: Vec<(FileId, String, String)> = files
        .iter()
        .filter_map(|(id, name)| {
            let root = format!("{FILE_PREFIX}{name}");
            let text = txn
                .get_text(root.as_str())
                .map(|t| t.get_string(txn))
                .unwrap_or_default();
            (!text.is_empty()).then_some((*id, root, text))
        })
        .collect();
    for (_, root, _) in &moved {
        let text = txn.get_or_insert_text(root.as_str());
        let len = text.len(txn);
        text.remove_range(txn, 0, len);
    }
    for (file, _, text) in moved {
        let root = txn.get_or_insert_text(file_key(file).as_str());
        let len = root.len(txn);
        if len > 0 {
            root.remove_range(txn, 0, len);
        }
        root.insert(txn, 0, &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::Map;

    fn typed(root: &str, text: &str) -> Vec<u8> {
        let doc = new_doc();
        let t = doc.get_or_insert_text(root);
        let mut txn = doc.transact_mut();
        t.insert(&mut txn, 0, text);
        txn.encode_update_v1()
    }

    #[test]
    fn file_keys_round_trip_and_only_canonical_ids_parse() {
        assert_eq!(file_key(FileId(12)), "file:12");
        assert_eq!(parse_file_key("file:12"), Some(FileId(12)));
        for bad in [
            "file:012",
            "file:main.py",
            "file:",
            "notes",
            "file:-1",
            "file:1e3",
        ] {
            assert_eq!(parse_file_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn shapes_name_new_roots_and_count_inserted_bytes() {
        let shape = shape(&typed("file:7", "héllo")).unwrap();
        assert_eq!(shape.named_roots, ["file:7"]);
        assert_eq!(shape.inserted_text_bytes, 6);
        assert!(super::shape(&[1, 2, 3]).is_err());
    }

    #[test]
    fn updates_into_unknown_roots_or_past_the_cap_are_refused() {
        let doc = new_doc();
        let files = HashSet::from([FileId(7)]);
        assert!(matches!(
            check_update(&doc, &files, &typed("file:8", "x"), 10),
            Err(DocError::UnknownRoot)
        ));
        assert!(matches!(
            check_update(&doc, &files, &typed("other", "x"), 10),
            Err(DocError::UnknownRoot)
        ));
        assert!(check_update(&doc, &files, &typed("file:7", "0123456789"), 10).is_ok());
        assert!(matches!(
            check_update(&doc, &files, &typed("file:7", "0123456789a"), 10),
            Err(DocError::FileTooLarge)
        ));
    }

    /// An update that sets `count` whiteboard elements of `value_bytes` bytes each, on `doc`.
    fn drawn(doc: &Doc, from: usize, count: usize, value_bytes: usize) -> Vec<u8> {
        let board = doc.get_or_insert_map(WHITEBOARD_ROOT);
        let mut txn = doc.transact_mut();
        for i in from..from + count {
            board.insert(&mut txn, format!("e{i}"), "x".repeat(value_bytes));
        }
        txn.encode_update_v1()
    }

    #[test]
    fn whiteboard_updates_pass_until_the_board_is_full_or_an_element_too_large() {
        use super::whiteboard::{MAX_WHITEBOARD_ELEMENTS, MAX_WHITEBOARD_ELEMENT_BYTES};
        let files = HashSet::new();
        let server = new_doc();
        let client = new_doc();
        let full = drawn(&client, 0, MAX_WHITEBOARD_ELEMENTS as usize, 1);
        check_update(&server, &files, &full, 10).unwrap();
        server
            .transact_mut()
            .apply_update(decode_update(&full).unwrap())
            .unwrap();
        // Redrawing an element of a full board is fine; one more element is not.
        let redraw = drawn(&client, 0, 1, 2);
        assert!(check_update(&server, &files, &redraw, 10).is_ok());
        assert!(matches!(
            check_update(
                &server,
                &files,
                &drawn(&client, MAX_WHITEBOARD_ELEMENTS as usize, 1, 1),
                10
            ),
            Err(DocError::WhiteboardTooLarge)
        ));
        // The value's encoding carries a few bytes of header beyond the text.
        assert!(matches!(
            check_update(
                &new_doc(),
                &files,
                &drawn(&new_doc(), 0, 1, MAX_WHITEBOARD_ELEMENT_BYTES),
                10
            ),
            Err(DocError::WhiteboardTooLarge)
        ));
        assert!(check_update(
            &new_doc(),
            &files,
            &drawn(&new_doc(), 0, 1, MAX_WHITEBOARD_ELEMENT_BYTES - 8),
            10
        )
        .is_ok());
    }

    #[test]
    fn rekeying_moves_texts_from_names_to_ids() {
        let doc = new_doc();
        let (main, two) = (
            doc.get_or_insert_text("file:main.py"),
            doc.get_or_insert_text("file:2"),
        );
        {
            let mut txn = doc.transact_mut();
            main.insert(&mut txn, 0, "print(1)");
            // A file named like another file's id.
            two.insert(&mut txn, 0, "two");
        }
        rekey(
            &mut doc.transact_mut(),
            &[(FileId(2), "main.py".into()), (FileId(9), "2".into())],
        );
        let txn = doc.transact();
        let text = |root: &str| {
            txn.get_text(root)
                .map(|t| t.get_string(&txn))
                .unwrap_or_default()
        };
        assert_eq!(text("file:2"), "print(1)");
        assert_eq!(text("file:9"), "two");
        assert_eq!(text("file:main.py"), "");
    }

    #[test]
    fn rekeying_twice_changes_nothing_the_second_time() {
        let doc = new_doc();
        doc.get_or_insert_text("file:main.py")
            .insert(&mut doc.transact_mut(), 0, "print(1)");
        let files = [(FileId(4), "main.py".to_string())];
        rekey(&mut doc.transact_mut(), &files);
        let again = {
            let mut txn = doc.transact_mut();
            rekey(&mut txn, &files);
            txn.encode_update_v1()
        };
        assert_eq!(again, [0, 0], "no change");
        let txn = doc.transact();
        assert_eq!(txn.get_text("file:4").unwrap().get_string(&txn), "print(1)");
    }
}
