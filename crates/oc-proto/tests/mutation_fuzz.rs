//! A deterministic, dependency-free stand-in for cargo-fuzz: 200k seeded
//! random mutations of valid frames (the JS interop vectors plus a few
//! hand-made ones) must never panic, and whatever still decodes must
//! re-encode to a frame that decodes to the same message.

#[allow(dead_code)] // the fuzz seeds use only some of the vectors
#[path = "interop/js_vectors.rs"]
mod js_vectors;

use oc_proto::*;
use serde_json::json;

const ITERATIONS: usize = 200_000;

/// SplitMix64: tiny, seedable and good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

const INTERESTING_BYTES: [u8; 8] = [0x00, 0x01, 0x02, 0x03, 0x64, 0x7f, 0x80, 0xff];
const INTERESTING_VARUINTS: [u64; 8] = [0, 1, 127, 128, 16_384, 1 << 32, MAX_VARUINT, u64::MAX];

fn varuint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while n > 0x7f {
        out.push(0x80 | (n & 0x7f) as u8);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    match rng.below(9) {
        0 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] ^= 1 << rng.below(8);
        }
        1 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] = if rng.below(2) == 0 {
                rng.byte()
            } else {
                INTERESTING_BYTES[rng.below(8)]
            };
        }
        2 => {
            let i = rng.below(data.len() + 1);
            data.insert(i, rng.byte());
        }
        3 if !data.is_empty() => {
            let start = rng.below(data.len());
            let end = (start + 1 + rng.below(8)).min(data.len());
            data.drain(start..end);
        }
        4 => data.truncate(rng.below(data.len() + 1)),
        5 if !data.is_empty() => {
            let start = rng.below(data.len());
            let end = (start + 1 + rng.below(16)).min(data.len());
            let chunk = data[start..end].to_vec();
            let at = rng.below(data.len() + 1);
            data.splice(at..at, chunk);
        }
        6 => {
            // Overwrite with a varuint: corrupts types, subtypes and lengths.
            let v = varuint(INTERESTING_VARUINTS[rng.below(8)]);
            let at = rng.below(data.len() + 1);
            let end = (at + v.len()).min(data.len());
            data.splice(at..end, v);
        }
        7 => {
            // Splice in the tail of another valid frame.
            let other = &seeds[rng.below(seeds.len())];
            let from = rng.below(other.len());
            let at = rng.below(data.len() + 1);
            data.truncate(at);
            data.extend_from_slice(&other[from..]);
        }
        _ => {
            let i = rng.below(data.len() + 1);
            data.insert(i, INTERESTING_BYTES[rng.below(8)]);
        }
    }
}

fn seeds() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    use js_vectors::*;
    let mut frames: Vec<Vec<u8>> = [
        SYNC_STEP1,
        SYNC_STEP1_EMPTY_DOC,
        SYNC_STEP2,
        UPDATE,
        AWARENESS,
        PERMISSION_DENIED,
        QUERY_AWARENESS,
        APP_CHAT,
    ]
    .iter()
    .map(|f| f.to_vec())
    .collect();
    frames.push(encode_app(&json!({"type": "cursor", "at": [1, 2.5e-3], "ok": true})).unwrap());
    frames.push(encode_awareness(AWARENESS_UNSORTED_PAYLOAD));
    let payloads = [
        AWARENESS_PAYLOAD,
        AWARENESS_LEFT_PAYLOAD,
        AWARENESS_UNSORTED_PAYLOAD,
    ]
    .iter()
    .map(|p| p.to_vec())
    .collect();
    (frames, payloads)
}

#[derive(Default, Debug)]
struct Tally {
    ok: usize,
    malformed: usize,
    too_large: usize,
    unsupported: usize,
}

impl Tally {
    fn count<T>(&mut self, result: &Result<T, DecodeError>) {
        match result {
            Ok(_) => self.ok += 1,
            Err(e) => match e.kind() {
                DecodeErrorKind::Malformed => self.malformed += 1,
                DecodeErrorKind::TooLarge => self.too_large += 1,
                DecodeErrorKind::Unsupported => self.unsupported += 1,
            },
        }
    }
}

#[test]
fn random_mutations_never_panic() {
    let (frames, payloads) = seeds();
    let small = Limits {
        max_frame_bytes: 200,
        max_awareness_bytes: 64,
        max_awareness_entries: 1,
        max_app_message_bytes: 24,
    };
    let mut rng = Rng(0x6f63_2d70_726f_746f); // "oc-proto"
    let mut frame_tally = Tally::default();
    let mut awareness_tally = Tally::default();

    for i in 0..ITERATIONS {
        let mutate_payload = i % 4 == 3;
        let pool = if mutate_payload { &payloads } else { &frames };
        let mut data = pool[rng.below(pool.len())].clone();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut data, pool);
        }

        if mutate_payload {
            let result = AwarenessUpdate::decode(&data, &Limits::DEFAULT);
            awareness_tally.count(&result);
            if let Ok(update) = result {
                let again = AwarenessUpdate::decode(&update.encode(), &Limits::UNLIMITED);
                assert_eq!(again.as_ref(), Ok(&update), "input {data:?}");
            }
            let _ = AwarenessUpdate::decode(&data, &small);
            continue;
        }

        let result = decode(&data, &Limits::DEFAULT);
        frame_tally.count(&result);
        if let Ok(message) = &result {
            let again = decode(&message.encode(), &Limits::UNLIMITED);
            assert_eq!(again.as_ref(), Ok(message), "input {data:?}");
            if let Message::Awareness(payload) = message {
                awareness_tally.count(&AwarenessUpdate::decode(payload, &Limits::DEFAULT));
            }
        }
        let _ = decode_ref(&data, &small);
    }

    eprintln!("frames: {frame_tally:?}\nawareness: {awareness_tally:?}");
    // The mutations must exercise every outcome, or this test proves little.
    for tally in [&frame_tally, &awareness_tally] {
        assert!(tally.ok > 1000, "{tally:?}");
        assert!(tally.malformed > 1000, "{tally:?}");
    }
    assert!(frame_tally.unsupported > 1000, "{frame_tally:?}");
    assert!(awareness_tally.too_large > 0, "{awareness_tally:?}");
}
