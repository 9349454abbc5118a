//! Hand-written round trips and error cases for every message type.

use oc_proto::*;
use serde_json::json;

fn rt(message: Message) {
    let frame = message.encode();
    assert_eq!(
        decode(&frame, &Limits::DEFAULT),
        Ok(message.clone()),
        "{frame:?}"
    );
    // The borrowing decoder agrees with the owning one.
    assert_eq!(
        decode_ref(&frame, &Limits::DEFAULT).map(MessageRef::into_owned),
        Ok(message)
    );
}

fn app(value: serde_json::Value) -> AppMessage {
    AppMessage::new(value).expect("valid app message")
}

#[test]
fn round_trip_every_message_type() {
    rt(Message::SyncStep1(vec![0]));
    rt(Message::SyncStep1(vec![1, 205, 204, 131, 218, 11, 244, 1]));
    rt(Message::SyncStep2(vec![0, 0]));
    rt(Message::SyncStep2((0..=255).cycle().take(5000).collect()));
    rt(Message::Update(vec![]));
    rt(Message::Update(vec![7; 200]));
    rt(Message::Awareness(vec![0]));
    rt(Message::Awareness(
        AwarenessUpdate {
            entries: vec![AwarenessEntry {
                client_id: 1,
                clock: 2,
                state: Some(json!({"a": 1})),
            }],
        }
        .encode(),
    ));
    rt(Message::QueryAwareness);
    rt(Message::Auth(AuthMessage::PermissionDenied(String::new())));
    rt(Message::Auth(AuthMessage::PermissionDenied(
        "read-only «pad» 🔒".into(),
    )));
    rt(Message::App(app(json!({"type": "chat", "body": "hi"}))));
    rt(Message::App(app(
        json!({"type": "", "nested": {"list": [1, 2.5, null, true]}}),
    )));
}

#[test]
fn exact_bytes_of_small_frames() {
    assert_eq!(encode_sync_step1(&[0]), [0, 0, 1, 0]);
    assert_eq!(encode_sync_step2(&[0, 0]), [0, 1, 2, 0, 0]);
    assert_eq!(encode_update(&[9]), [0, 2, 1, 9]);
    assert_eq!(encode_awareness(&[0]), [1, 1, 0]);
    assert_eq!(encode_query_awareness(), [3]);
    assert_eq!(encode_permission_denied("no"), [2, 0, 2, b'n', b'o']);
    let frame = encode_app(&json!({"type": "x"})).unwrap();
    assert_eq!(frame[0], 100);
    assert_eq!(&frame[2..], br#"{"type":"x"}"#);
    // 200 bytes of update need a two-byte length prefix.
    assert_eq!(&encode_update(&[0; 200])[..4], [0, 2, 0xc8, 0x01]);
}

#[test]
fn message_names() {
    assert_eq!(Message::Update(vec![]).name(), "update");
    assert_eq!(Message::QueryAwareness.name(), "query_awareness");
}

#[test]
fn helpers_agree_with_message_encode() {
    let payload = vec![1, 2, 3];
    assert_eq!(
        encode_sync_step1(&payload),
        Message::SyncStep1(payload.clone()).encode()
    );
    assert_eq!(
        encode_sync_step2(&payload),
        Message::SyncStep2(payload.clone()).encode()
    );
    assert_eq!(
        encode_update(&payload),
        Message::Update(payload.clone()).encode()
    );
    assert_eq!(
        encode_awareness(&payload),
        Message::Awareness(payload.clone()).encode()
    );
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Chat {
    Chat { body: String },
    Typing { on: bool },
}

#[test]
fn app_messages_from_typed_values() {
    let frame = encode_app(&Chat::Chat { body: "hé".into() }).unwrap();
    let Ok(Message::App(msg)) = decode(&frame, &Limits::DEFAULT) else {
        panic!("not app")
    };
    assert_eq!(msg.msg_type(), "chat");
    assert_eq!(msg.value()["body"], "hé");
    assert_eq!(
        msg.deserialize::<Chat>().unwrap(),
        Chat::Chat { body: "hé".into() }
    );
    let typing = AppMessage::from_serialize(&Chat::Typing { on: true }).unwrap();
    assert_eq!(typing.msg_type(), "typing");
    assert_eq!(typing.into_value(), json!({"type": "typing", "on": true}));
}

#[test]
fn app_encode_rejects_bad_shapes() {
    assert!(matches!(
        encode_app(&json!([1])),
        Err(AppEncodeError::NotAnObject)
    ));
    assert!(matches!(
        encode_app(&json!({"kind": "x"})),
        Err(AppEncodeError::MissingType)
    ));
    assert!(matches!(
        encode_app(&json!({"type": 5})),
        Err(AppEncodeError::MissingType)
    ));
    let mut bad_keys = std::collections::HashMap::new();
    bad_keys.insert((1, 2), 3);
    assert!(matches!(
        encode_app(&bad_keys),
        Err(AppEncodeError::Serialize(_))
    ));
}

fn raw_app(json: &str) -> Vec<u8> {
    let mut frame = vec![100, u8::try_from(json.len()).unwrap()];
    frame.extend_from_slice(json.as_bytes());
    frame
}

fn err(frame: &[u8]) -> DecodeError {
    decode(frame, &Limits::DEFAULT).expect_err("should not decode")
}

#[test]
fn app_decode_errors() {
    assert!(matches!(err(&raw_app("{")), DecodeError::InvalidJson(_)));
    assert_eq!(err(&raw_app("[1]")), DecodeError::AppNotObject);
    assert_eq!(err(&raw_app("\"chat\"")), DecodeError::AppNotObject);
    assert_eq!(err(&raw_app("{}")), DecodeError::MissingAppType);
    assert_eq!(
        err(&raw_app(r#"{"type":null}"#)),
        DecodeError::MissingAppType
    );
    assert_eq!(err(&[100, 2, 0xc3, 0x28]), DecodeError::InvalidUtf8);
    // JSON.parse rejects a BOM, and so do we.
    assert!(matches!(
        err(&raw_app("\u{feff}{\"type\":\"a\"}")),
        DecodeError::InvalidJson(_)
    ));
    // Whitespace around the object is fine, as with JSON.parse.
    assert!(decode(&raw_app(" {\"type\":\"a\"} \n"), &Limits::DEFAULT).is_ok());
}

#[test]
fn structural_errors_and_their_kinds() {
    use DecodeErrorKind::*;
    let cases: Vec<(&[u8], DecodeError, DecodeErrorKind)> = vec![
        (&[], DecodeError::Truncated, Malformed),
        (&[0], DecodeError::Truncated, Malformed),
        (&[0, 0], DecodeError::Truncated, Malformed),
        (&[0x80], DecodeError::Truncated, Malformed),
        (
            &[0, 0, 5, 1],
            DecodeError::LengthOutOfBounds {
                declared: 5,
                remaining: 1,
            },
            Malformed,
        ),
        (
            &[0, 2, 1, 9, 9],
            DecodeError::TrailingBytes { count: 1 },
            Malformed,
        ),
        (&[3, 0], DecodeError::TrailingBytes { count: 1 }, Malformed),
        (
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            DecodeError::VarintOverflow,
            Malformed,
        ),
        (&[4], DecodeError::UnknownMessageType(4), Unsupported),
        (&[99], DecodeError::UnknownMessageType(99), Unsupported),
        (
            &[0xe5, 0x00],
            DecodeError::UnknownMessageType(101),
            Unsupported,
        ),
        (&[0, 3, 0], DecodeError::UnknownSyncType(3), Unsupported),
        (&[2, 1, 0], DecodeError::UnknownAuthType(1), Unsupported),
    ];
    for (frame, expected, kind) in cases {
        let got = err(frame);
        assert_eq!(got, expected, "{frame:?}");
        assert_eq!(got.kind(), kind, "{frame:?}");
    }
    // lib0 accepts non-minimal varuints; so do we, for type and lengths.
    assert_eq!(
        decode(&[0x83, 0x00], &Limits::DEFAULT),
        Ok(Message::QueryAwareness)
    );
    assert_eq!(
        decode(&[0, 2, 0x81, 0x00, 7], &Limits::DEFAULT),
        Ok(Message::Update(vec![7]))
    );
}

#[test]
fn close_codes() {
    assert_eq!(DecodeErrorKind::Malformed.suggested_close_code(), 1007);
    assert_eq!(DecodeErrorKind::TooLarge.suggested_close_code(), 1009);
    assert_eq!(DecodeErrorKind::Unsupported.suggested_close_code(), 1003);
}

#[test]
fn frame_limit() {
    let frame = encode_update(&vec![0; MAX_FRAME_BYTES]);
    let e = err(&frame);
    assert_eq!(
        e,
        DecodeError::FrameTooLarge {
            size: frame.len(),
            limit: MAX_FRAME_BYTES
        }
    );
    assert_eq!(e.kind(), DecodeErrorKind::TooLarge);
    // Exactly at the limit is fine.
    let at_limit = encode_update(&vec![0; MAX_FRAME_BYTES - 5]);
    assert_eq!(at_limit.len(), MAX_FRAME_BYTES);
    assert!(decode(&at_limit, &Limits::DEFAULT).is_ok());
    assert!(decode(&frame, &Limits::UNLIMITED).is_ok());
}

#[test]
fn payload_limits_checked_on_declared_length() {
    let limits = Limits {
        max_awareness_bytes: 4,
        max_app_message_bytes: 10,
        ..Limits::DEFAULT
    };
    // Declared 5 awareness bytes but only 1 sent: the limit wins over truncation.
    assert_eq!(
        decode(&[1, 5, 0], &limits),
        Err(DecodeError::PayloadTooLarge {
            payload: PayloadKind::Awareness,
            size: 5,
            limit: 4
        })
    );
    assert!(decode(&[1, 4, 0, 0, 0, 0], &limits).is_ok());
    let e = decode(&raw_app(r#"{"type":"chat"}"#), &limits).unwrap_err();
    assert_eq!(
        e,
        DecodeError::PayloadTooLarge {
            payload: PayloadKind::AppMessage,
            size: 15,
            limit: 10
        }
    );
    assert_eq!(e.kind(), DecodeErrorKind::TooLarge);
    // A declared length of 2^53 - 1 in a tiny frame is refused without allocating.
    let mut huge = vec![0, 1];
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_eq!(
        err(&huge),
        DecodeError::LengthOutOfBounds {
            declared: MAX_VARUINT,
            remaining: 0
        }
    );
}

#[test]
fn awareness_round_trip_and_stamp() {
    let mut update = AwarenessUpdate {
        entries: vec![
            AwarenessEntry {
                client_id: 3_141_592_653,
                clock: 7,
                state: Some(json!({"cursor": {"anchor": 1}, "user": {"name": "mallory", "id": 1}})),
            },
            AwarenessEntry {
                client_id: 42,
                clock: 2,
                state: None,
            },
            AwarenessEntry {
                client_id: 43,
                clock: 0,
                state: Some(json!("odd but legal")),
            },
        ],
    };
    let bytes = update.encode();
    assert_eq!(
        AwarenessUpdate::decode(&bytes, &Limits::DEFAULT),
        Ok(update.clone())
    );

    let user = json!({"id": 9, "name": "alice", "color": "#f00"});
    assert_eq!(update.stamp_user(&user), 1);
    assert_eq!(
        update.entries[0].state,
        Some(json!({"cursor": {"anchor": 1}, "user": {"id": 9, "name": "alice", "color": "#f00"}}))
    );
    assert!(update.entries[1].is_removal());
    assert!(!update.entries[1].clone().stamp_user(user.clone()));
    assert_eq!(update.entries[2].state, Some(json!("odd but legal")));

    let frame = update.encode_frame();
    let Ok(Message::Awareness(payload)) = decode(&frame, &Limits::DEFAULT) else {
        panic!()
    };
    assert_eq!(
        AwarenessUpdate::decode(&payload, &Limits::DEFAULT),
        Ok(update.clone())
    );
    assert_eq!(encode_awareness_entries(&update.entries), payload);
}

#[test]
fn awareness_null_state_forms() {
    // Some(Null) and None are the same on the wire.
    let a = AwarenessEntry {
        client_id: 1,
        clock: 1,
        state: Some(serde_json::Value::Null),
    };
    let b = AwarenessEntry {
        client_id: 1,
        clock: 1,
        state: None,
    };
    assert_eq!(
        encode_awareness_entries(std::slice::from_ref(&a)),
        encode_awareness_entries(std::slice::from_ref(&b))
    );
    assert!(a.is_removal());
    let decoded = AwarenessUpdate::decode(&encode_awareness_entries(&[a]), &Limits::DEFAULT);
    assert_eq!(decoded.unwrap().entries, vec![b]);
}

#[test]
fn awareness_errors() {
    let limits = Limits::DEFAULT;
    let dec = |b: &[u8]| AwarenessUpdate::decode(b, &limits);
    assert_eq!(dec(&[]), Err(DecodeError::Truncated));
    assert_eq!(dec(&[0]).unwrap().entries.len(), 0);
    assert_eq!(dec(&[1]), Err(DecodeError::Truncated));
    assert_eq!(
        dec(&[1, 1, 1, 9, b'n']),
        Err(DecodeError::LengthOutOfBounds {
            declared: 9,
            remaining: 1
        })
    );
    assert!(matches!(
        dec(&[1, 1, 1, 1, b'{']),
        Err(DecodeError::InvalidJson(_))
    ));
    assert_eq!(dec(&[1, 1, 1, 1, 0xff]), Err(DecodeError::InvalidUtf8));
    assert_eq!(dec(&[0, 0]), Err(DecodeError::TrailingBytes { count: 1 }));
    // The count is checked before the entries are read or allocated.
    assert_eq!(
        dec(&[65]),
        Err(DecodeError::TooManyAwarenessEntries {
            count: 65,
            limit: 64
        })
    );
    assert_eq!(
        AwarenessUpdate::decode(&[0xff, 0xff, 0xff, 0x7f], &Limits::UNLIMITED),
        Err(DecodeError::Truncated)
    );
    let big = vec![0; MAX_AWARENESS_BYTES + 1];
    assert_eq!(
        dec(&big),
        Err(DecodeError::PayloadTooLarge {
            payload: PayloadKind::Awareness,
            size: (MAX_AWARENESS_BYTES + 1) as u64,
            limit: MAX_AWARENESS_BYTES
        })
    );
    // serde_json's recursion limit turns a deeply nested state into an error, not a stack overflow.
    let deep = "[".repeat(5000);
    let mut payload = vec![1, 1, 1];
    payload.extend_from_slice(&[0x88, 0x27]); // varuint 5000
    payload.extend_from_slice(deep.as_bytes());
    assert!(matches!(dec(&payload), Err(DecodeError::InvalidJson(_))));
}

#[test]
fn limits_defaults() {
    assert_eq!(Limits::default(), Limits::DEFAULT);
    assert_eq!(MAX_FRAME_BYTES, 1024 * 1024);
    assert_eq!(MAX_AWARENESS_BYTES, 16 * 1024);
    assert_eq!(MAX_AWARENESS_ENTRIES, 64);
    assert_eq!(MAX_APP_MESSAGE_BYTES, 64 * 1024);
    assert_eq!(MAX_VARUINT, (1 << 53) - 1);
}

#[test]
fn floats_survive_a_reencode_exactly() {
    // Found by proptest: serde_json's default parser reads this as
    // 901758.4619140624; the float_roundtrip feature makes it exact, so a
    // server re-broadcasting awareness or app JSON never alters numbers.
    let app = app(json!({"type": "t", "x": 901758.4619140625, "y": 0.1, "z": 5e-324}));
    let frame = app.encode();
    let Ok(Message::App(back)) = decode(&frame, &Limits::DEFAULT) else {
        panic!()
    };
    assert_eq!(back.value()["x"].as_f64(), Some(901758.4619140625));
    assert_eq!(back, app);
}
