//! Interop with the JavaScript reference implementation: the vectors in
//! `js_vectors.rs` were produced by yjs + y-protocols + lib0 and must decode
//! to the expected messages and re-encode to the very same bytes.

mod js_vectors;

use js_vectors::*;
use oc_proto::{
    decode, decode_ref, encode_app, encode_permission_denied, encode_query_awareness,
    encode_sync_step1, encode_sync_step2, encode_update, AuthMessage, AwarenessEntry,
    AwarenessUpdate, DecodeError, Limits, Message, MessageRef,
};
use serde_json::json;

const CLIENT_ID: u64 = 3_141_592_653;

fn decode_default(frame: &[u8]) -> Message {
    decode(frame, &Limits::DEFAULT).unwrap_or_else(|e| panic!("JS frame rejected: {e}"))
}

#[test]
fn sync_step1_from_js() {
    let message = decode_default(SYNC_STEP1);
    assert_eq!(
        message,
        Message::SyncStep1(SYNC_STEP1_STATE_VECTOR.to_vec())
    );
    assert_eq!(message.encode(), SYNC_STEP1);
    assert_eq!(encode_sync_step1(SYNC_STEP1_STATE_VECTOR), SYNC_STEP1);

    let empty = decode_default(SYNC_STEP1_EMPTY_DOC);
    assert_eq!(empty, Message::SyncStep1(vec![0]));
    assert_eq!(empty.encode(), SYNC_STEP1_EMPTY_DOC);
}

#[test]
fn sync_step2_from_js() {
    // 273 bytes of update: a two-byte length prefix.
    let message = decode_default(SYNC_STEP2);
    assert_eq!(message, Message::SyncStep2(SYNC_STEP2_UPDATE.to_vec()));
    assert_eq!(message.encode(), SYNC_STEP2);
    assert_eq!(encode_sync_step2(SYNC_STEP2_UPDATE), SYNC_STEP2);
}

#[test]
fn update_from_js() {
    let message = decode_default(UPDATE);
    assert_eq!(message, Message::Update(UPDATE_PAYLOAD.to_vec()));
    assert_eq!(message.encode(), UPDATE);
    assert_eq!(encode_update(UPDATE_PAYLOAD), UPDATE);
    // The borrowing decoder points into the frame instead of copying.
    let Ok(MessageRef::Update(bytes)) = decode_ref(UPDATE, &Limits::DEFAULT) else {
        panic!()
    };
    assert_eq!(bytes, UPDATE_PAYLOAD);
}

#[test]
fn awareness_from_js() {
    let message = decode_default(AWARENESS);
    assert_eq!(message, Message::Awareness(AWARENESS_PAYLOAD.to_vec()));
    assert_eq!(message.encode(), AWARENESS);

    let update = AwarenessUpdate::decode(AWARENESS_PAYLOAD, &Limits::DEFAULT).unwrap();
    assert_eq!(
        update.entries,
        vec![AwarenessEntry {
            client_id: CLIENT_ID,
            clock: 1,
            state: Some(json!({
                "cursor": {"anchor": 3, "head": 17},
                "user": {"color": "#30bced", "id": 7, "name": "Zoë 🦀"}
            })),
        }]
    );
    // The JS state was written with sorted keys, so even the JSON text matches.
    assert_eq!(update.encode(), AWARENESS_PAYLOAD);
    assert_eq!(update.encode_frame(), AWARENESS);
}

#[test]
fn awareness_removal_from_js() {
    let update = AwarenessUpdate::decode(AWARENESS_LEFT_PAYLOAD, &Limits::DEFAULT).unwrap();
    assert_eq!(
        update.entries,
        vec![AwarenessEntry {
            client_id: 42,
            clock: 2,
            state: None
        }]
    );
    assert!(update.entries[0].is_removal());
    assert_eq!(update.encode(), AWARENESS_LEFT_PAYLOAD);
}

#[test]
fn awareness_js_key_order_is_not_preserved() {
    // JS writes keys in insertion order and 1e21 as "1e+21"; serde_json
    // (without preserve_order) sorts keys and writes "1e21". Same meaning,
    // different bytes: documented in the crate docs.
    let update = AwarenessUpdate::decode(AWARENESS_UNSORTED_PAYLOAD, &Limits::DEFAULT).unwrap();
    let state = update.entries[0].state.as_ref().unwrap();
    assert_eq!(state["user"]["name"], "eve");
    assert_eq!(state["cursor"], serde_json::Value::Null);
    assert_eq!(state["zoom"], 1.5);
    assert_eq!(state["big"], 1e21);
    let reencoded = update.encode();
    assert_ne!(reencoded, AWARENESS_UNSORTED_PAYLOAD);
    assert_eq!(
        AwarenessUpdate::decode(&reencoded, &Limits::DEFAULT).unwrap(),
        update
    );
}

#[test]
fn permission_denied_from_js() {
    let message = decode_default(PERMISSION_DENIED);
    assert_eq!(
        message,
        Message::Auth(AuthMessage::PermissionDenied(
            "read-only: you may not edit «main.rs»".into()
        ))
    );
    assert_eq!(message.encode(), PERMISSION_DENIED);
    assert_eq!(
        encode_permission_denied("read-only: you may not edit «main.rs»"),
        PERMISSION_DENIED
    );
}

#[test]
fn query_awareness_from_js() {
    assert_eq!(decode_default(QUERY_AWARENESS), Message::QueryAwareness);
    assert_eq!(encode_query_awareness(), QUERY_AWARENESS);
}

#[test]
fn app_message_from_js() {
    let Message::App(app) = decode_default(APP_CHAT) else {
        panic!("not an app message")
    };
    assert_eq!(app.msg_type(), "chat");
    assert_eq!(app.value(), &json!({"type": "chat", "body": "hi ✓"}));
    assert_eq!(app.encode(), APP_CHAT);
    assert_eq!(
        encode_app(&json!({"type": "chat", "body": "hi ✓"})).unwrap(),
        APP_CHAT
    );
}

#[test]
fn every_js_frame_rejects_truncation_and_trailing_bytes() {
    for frame in [
        SYNC_STEP1,
        SYNC_STEP2,
        UPDATE,
        AWARENESS,
        PERMISSION_DENIED,
        QUERY_AWARENESS,
        APP_CHAT,
    ] {
        for cut in 0..frame.len() {
            assert!(
                decode(&frame[..cut], &Limits::DEFAULT).is_err(),
                "prefix {cut} of {frame:?}"
            );
        }
        let mut longer = frame.to_vec();
        longer.push(0);
        assert_eq!(
            decode(&longer, &Limits::DEFAULT),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
    }
    for payload in [
        AWARENESS_PAYLOAD,
        AWARENESS_LEFT_PAYLOAD,
        AWARENESS_UNSORTED_PAYLOAD,
    ] {
        for cut in 0..payload.len() {
            assert!(AwarenessUpdate::decode(&payload[..cut], &Limits::DEFAULT).is_err());
        }
    }
}
