//! The pad's whiteboard (issue 13 §6): one root `Y.Map` named `whiteboard` in the pad's document,
//! element id → the Excalidraw element as JSON (a Yjs "any" value, replaced whole on every edit;
//! the clients merge concurrent edits of one element by its `version`/`versionNonce`). An erased
//! element stays as a small tombstone (`isDeleted: true`) so a late edit of it cannot bring it back.
//!
//! - `check`: the whiteboard's bounds on a client update, called by `file_roots::check_update`
//!   (same place, same lock, same "try it on a copy only when near the cap" approach as files).
//! - `entries` / `write_entries`: copy the board from one document to another (fork).
//! - `excalidraw_file`: the board as a `.excalidraw` file (recording export).
//!
//! Must not: touch the database or the document's lock (the document calls in, under its lock).

use yrs::{Any, Map, Out, ReadTxn, TransactionMut, WriteTxn};

/// The root map that holds the whiteboard.
pub const WHITEBOARD_ROOT: &str = "whiteboard";

/// Elements (tombstones of erased ones included) a pad's whiteboard may hold; an update that
/// would push it past this closes the socket with 1009 and is not applied.
pub const MAX_WHITEBOARD_ELEMENTS: u32 = 5_000;

/// Largest encoded value a client may write as one whiteboard element (a long freehand stroke is
/// the largest ordinary one: a few thousand points). Over it: close 1009, nothing applied.
pub const MAX_WHITEBOARD_ELEMENT_BYTES: usize = 256 << 10;

/// Encoded size of a Yjs "any" value (whiteboard elements are the only such values a pad's
/// document holds: files are texts), as bounded by `MAX_WHITEBOARD_ELEMENT_BYTES`.
pub fn encoded_any_len(value: &Any) -> usize {
    let mut buf = Vec::new();
    value.encode(&mut buf);
    buf.len()
}

/// Live elements of the board (tombstones included), and whether `new_items` more items — each
/// sets at most one key of a map — could push it past the cap. `None` when they cannot, so the
/// caller need not try the update on a copy for the board's sake.
pub fn near_cap<T: ReadTxn>(txn: &T, new_items: usize) -> Option<u32> {
    let now = txn.get_map(WHITEBOARD_ROOT).map_or(0, |m| m.len(txn));
    ((now as usize).saturating_add(new_items) > MAX_WHITEBOARD_ELEMENTS as usize).then_some(now)
}

/// After the update was tried on a copy: refuse growth past the cap (a board already over it,
/// from before the cap existed, may shrink but not grow).
pub fn within_cap<T: ReadTxn>(txn: &T, was: u32) -> bool {
    let now = txn.get_map(WHITEBOARD_ROOT).map_or(0, |m| m.len(txn));
    now <= MAX_WHITEBOARD_ELEMENTS || now <= was
}

/// Every element of the board, as stored.
pub fn entries<T: ReadTxn>(txn: &T) -> Vec<(String, Any)> {
    let Some(map) = txn.get_map(WHITEBOARD_ROOT) else {
        return Vec::new();
    };
    map.iter(txn)
        .filter_map(|(key, value)| match value {
            Out::Any(any) => Some((key.to_string(), any)),
            _ => None,
        })
        .collect()
}

/// Write elements into a document's board (a fresh fork's).
pub fn write_entries(txn: &mut TransactionMut, elements: Vec<(String, Any)>) {
    if elements.is_empty() {
        return;
    }
    let map = txn.get_or_insert_map(WHITEBOARD_ROOT);
    for (key, value) in elements {
        map.insert(txn, key, value);
    }
}

/// Encoded size of the elements, for sizing a document write before it is made.
pub fn entries_len(elements: &[(String, Any)]) -> usize {
    elements
        .iter()
        .map(|(key, value)| key.len() + encoded_any_len(value))
        .sum()
}

/// The board as the content of a `.excalidraw` file: its live (not erased) elements in drawing
/// order (Excalidraw's fractional `index`, then id). `None` when nothing is drawn.
pub fn excalidraw_file<T: ReadTxn>(txn: &T) -> Option<serde_json::Value> {
    let mut elements: Vec<serde_json::Value> = entries(txn)
        .into_iter()
        .filter_map(|(_, value)| serde_json::to_value(&value).ok())
        .filter(|element| element.is_object() && element["isDeleted"] != true)
        .collect();
    if elements.is_empty() {
        return None;
    }
    let order = |e: &serde_json::Value| {
        (
            e["index"].as_str().unwrap_or_default().to_string(),
            e["id"].as_str().unwrap_or_default().to_string(),
        )
    };
    elements.sort_by_cached_key(order);
    Some(serde_json::json!({
        "type": "excalidraw",
        "version": 2,
        "source": "opencoder",
        "elements": elements,
        "appState": { "viewBackgroundColor": "#ffffff" },
        "files": {},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collab::doc_store::new_doc;
    use yrs::Transact;

    fn element(id: &str, index: &str, deleted: bool) -> Any {
        Any::from_json(&format!(
            r#"{{"id":"{id}","type":"rectangle","index":"{index}","version":2,"versionNonce":7,"isDeleted":{deleted}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn the_file_lists_live_elements_in_drawing_order() {
        let doc = new_doc();
        {
            let mut txn = doc.transact_mut();
            write_entries(
                &mut txn,
                vec![
                    ("b".into(), element("b", "a1", false)),
                    ("a".into(), element("a", "a2", false)),
                    ("gone".into(), element("gone", "a0", true)),
                ],
            );
        }
        let txn = doc.transact();
        let file = excalidraw_file(&txn).unwrap();
        assert_eq!(file["type"], "excalidraw");
        let ids: Vec<&str> = file["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(entries(&txn).len(), 3);
    }

    #[test]
    fn an_empty_or_erased_board_has_no_file() {
        let doc = new_doc();
        assert!(excalidraw_file(&doc.transact()).is_none());
        write_entries(
            &mut doc.transact_mut(),
            vec![("x".into(), element("x", "a0", true))],
        );
        assert!(excalidraw_file(&doc.transact()).is_none());
    }

    #[test]
    fn only_updates_that_could_pass_the_cap_need_a_trial() {
        let doc = new_doc();
        let txn = doc.transact();
        assert_eq!(near_cap(&txn, MAX_WHITEBOARD_ELEMENTS as usize), None);
        assert_eq!(
            near_cap(&txn, MAX_WHITEBOARD_ELEMENTS as usize + 1),
            Some(0)
        );
        assert!(within_cap(&txn, 0));
    }
}
