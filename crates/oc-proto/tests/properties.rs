//! Property tests: decoding never panics, encode→decode is the identity, and
//! no strict prefix or extension of a valid frame decodes.

use oc_proto::*;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn arb_string() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..12).prop_map(|chars| chars.into_iter().collect())
}

/// Arbitrary JSON, including arbitrary finite floats: with serde_json's
/// `float_roundtrip` feature every f64 survives a text round trip exactly.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i32>().prop_map(|n| Value::from(f64::from(n) / 1024.0)),
        any::<f64>().prop_map(Value::from), // NaN and infinities become null
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(arb_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_object() -> impl Strategy<Value = Map<String, Value>> {
    btree_map(arb_string(), arb_json(), 0..6).prop_map(|m| m.into_iter().collect())
}

fn arb_varuint() -> impl Strategy<Value = u64> {
    prop_oneof![0..=300u64, 0..=u64::from(u32::MAX), 0..=MAX_VARUINT]
}

fn arb_entry() -> impl Strategy<Value = AwarenessEntry> {
    (
        arb_varuint(),
        arb_varuint(),
        proptest::option::of(arb_object()),
    )
        .prop_map(|(client_id, clock, state)| AwarenessEntry {
            client_id,
            clock,
            state: state.map(Value::Object),
        })
}

fn arb_awareness() -> impl Strategy<Value = AwarenessUpdate> {
    vec(arb_entry(), 0..5).prop_map(|entries| AwarenessUpdate { entries })
}

fn arb_app() -> impl Strategy<Value = AppMessage> {
    (arb_string(), arb_object()).prop_map(|(msg_type, mut fields)| {
        fields.insert("type".into(), Value::String(msg_type));
        AppMessage::new(Value::Object(fields)).expect("has a string type")
    })
}

fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..400)
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        arb_bytes().prop_map(Message::SyncStep1),
        arb_bytes().prop_map(Message::SyncStep2),
        arb_bytes().prop_map(Message::Update),
        arb_bytes().prop_map(Message::Awareness),
        arb_awareness().prop_map(|u| Message::Awareness(u.encode())),
        Just(Message::QueryAwareness),
        arb_string().prop_map(|r| Message::Auth(AuthMessage::PermissionDenied(r))),
        arb_app().prop_map(Message::App),
    ]
}

/// Random bytes behind a valid header, so the fuzzing reaches past the
/// first varuint instead of dying on an unknown type.
fn arb_headed_frame() -> impl Strategy<Value = Vec<u8>> {
    let header = prop_oneof![
        Just(vec![0, 0]),
        Just(vec![0, 1]),
        Just(vec![0, 2]),
        Just(vec![1]),
        Just(vec![2, 0]),
        Just(vec![3]),
        Just(vec![100]),
    ];
    (header, arb_bytes()).prop_map(|(mut h, tail)| {
        h.extend(tail);
        h
    })
}

fn small_limits() -> Limits {
    Limits {
        max_frame_bytes: 64,
        max_awareness_bytes: 16,
        max_awareness_entries: 2,
        max_app_message_bytes: 16,
    }
}

/// Re-encoding whatever decoded must decode again to the same message.
fn reencodes(message: &Message) {
    let again = decode(&message.encode(), &Limits::UNLIMITED).expect("re-encoded frame decodes");
    assert_eq!(&again, message);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decode_never_panics(bytes in arb_bytes()) {
        for limits in [Limits::DEFAULT, Limits::UNLIMITED, small_limits()] {
            if let Ok(message) = decode(&bytes, &limits) {
                reencodes(&message);
            }
        }
    }

    #[test]
    fn decode_never_panics_past_the_header(bytes in arb_headed_frame()) {
        for limits in [Limits::DEFAULT, small_limits()] {
            match decode(&bytes, &limits) {
                Ok(Message::Awareness(payload)) => {
                    let _ = AwarenessUpdate::decode(&payload, &limits);
                }
                Ok(message) => reencodes(&message),
                Err(e) => { let _ = e.kind(); }
            }
        }
    }

    #[test]
    fn awareness_decode_never_panics(bytes in arb_bytes()) {
        for limits in [Limits::DEFAULT, Limits::UNLIMITED, small_limits()] {
            if let Ok(update) = AwarenessUpdate::decode(&bytes, &limits) {
                prop_assert!(update.entries.len() <= limits.max_awareness_entries);
            }
        }
    }

    #[test]
    fn awareness_decode_never_panics_with_plausible_entries(
        count in 0u8..4,
        entries in vec((arb_varuint(), arb_varuint(), arb_bytes()), 0..4),
    ) {
        // Structurally valid entries carrying random state bytes.
        let mut bytes = vec![count];
        for (client, clock, state) in &entries {
            bytes.extend(AwarenessEntry { client_id: *client, clock: *clock, state: None }.encode_prefix());
            bytes.extend(encode_len(state.len()));
            bytes.extend(state);
        }
        let _ = AwarenessUpdate::decode(&bytes, &Limits::DEFAULT);
    }

    #[test]
    fn encode_decode_identity(message in arb_message()) {
        let frame = message.encode();
        prop_assert_eq!(decode(&frame, &Limits::DEFAULT), Ok(message.clone()));
        prop_assert_eq!(decode_ref(&frame, &Limits::DEFAULT).map(MessageRef::into_owned), Ok(message));
    }

    #[test]
    fn awareness_encode_decode_identity(update in arb_awareness()) {
        let bytes = update.encode();
        prop_assert_eq!(AwarenessUpdate::decode(&bytes, &Limits::DEFAULT), Ok(update.clone()));
        let frame = update.encode_frame();
        prop_assert_eq!(decode(&frame, &Limits::DEFAULT), Ok(Message::Awareness(bytes)));
    }

    #[test]
    fn every_strict_prefix_is_an_error(message in arb_message()) {
        let frame = message.encode();
        for cut in 0..frame.len() {
            prop_assert!(decode(&frame[..cut], &Limits::DEFAULT).is_err(), "prefix {}", cut);
        }
    }

    #[test]
    fn awareness_strict_prefixes_are_errors(update in arb_awareness()) {
        let bytes = update.encode();
        for cut in 0..bytes.len() {
            prop_assert!(AwarenessUpdate::decode(&bytes[..cut], &Limits::DEFAULT).is_err());
        }
    }

    #[test]
    fn trailing_bytes_are_rejected(message in arb_message(), extra in vec(any::<u8>(), 1..8)) {
        let mut frame = message.encode();
        frame.extend_from_slice(&extra);
        prop_assert_eq!(
            decode(&frame, &Limits::DEFAULT),
            Err(DecodeError::TrailingBytes { count: extra.len() })
        );
    }

    #[test]
    fn stamp_user_only_touches_user(mut entry in arb_entry(), user in arb_json()) {
        let before = entry.clone();
        let stamped = entry.stamp_user(user.clone());
        match (&before.state, &entry.state) {
            (Some(Value::Object(old)), Some(Value::Object(new))) => {
                prop_assert!(stamped);
                prop_assert_eq!(&new["user"], &user);
                for (key, value) in old {
                    if key != "user" {
                        prop_assert_eq!(&new[key], value);
                    }
                }
                prop_assert_eq!(new.len(), old.len() + usize::from(!old.contains_key("user")));
            }
            _ => {
                prop_assert!(!stamped);
                prop_assert_eq!(&before, &entry);
            }
        }
    }
}

/// Client ID and clock of an entry, without its state.
trait EncodePrefix {
    fn encode_prefix(&self) -> Vec<u8>;
}

impl EncodePrefix for AwarenessEntry {
    fn encode_prefix(&self) -> Vec<u8> {
        // The full encoding ends with varString "null" (5 bytes).
        let full = encode_awareness_entries(std::slice::from_ref(self));
        let without_count = &full[1..];
        without_count[..without_count.len() - 5].to_vec()
    }
}

fn encode_len(len: usize) -> Vec<u8> {
    // A sync step 1 frame is `00 00 <varuint len> <bytes>`.
    let frame = encode_sync_step1(&vec![0; len]);
    frame[2..frame.len() - len].to_vec()
}
