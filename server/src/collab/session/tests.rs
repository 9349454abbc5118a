use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use oc_proto::{AwarenessEntry, Message};
use rand::{Rng, SeedableRng};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{GetString, ReadTxn, Text, Transact, Update};

use super::*;
use crate::collab::doc_store::{adds_to, decode_state_vector, decode_update, guarded, new_doc};

/// An in-memory pad: a yrs document, an update log, and awareness by client id.
struct MemoryPad {
    doc: yrs::Doc,
    log: RefCell<Vec<Vec<u8>>>,
    awareness: RefCell<HashMap<u64, (ConnId, AwarenessEntry)>>,
}

impl MemoryPad {
    fn new() -> Self {
        MemoryPad {
            doc: new_doc(),
            log: RefCell::default(),
            awareness: RefCell::default(),
        }
    }
    fn text(&self) -> String {
        let txn = self.doc.transact();
        txn.get_text("file:main")
            .map(|t| t.get_string(&txn))
            .unwrap_or_default()
    }
}

impl PadPort for MemoryPad {
    fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }
    fn diff_since(&self, sv: &[u8]) -> Result<Vec<u8>, DocError> {
        let sv = decode_state_vector(sv)?;
        Ok(self.doc.transact().encode_state_as_update_v1(&sv))
    }
    fn would_change(&self, update: &[u8]) -> Result<bool, DocError> {
        let update = decode_update(update)?;
        Ok(adds_to(&self.doc, &update))
    }
    fn apply_update(&self, _: ConnId, _: UserId, update: &[u8]) -> Result<Applied, DocError> {
        let decoded = decode_update(update)?;
        let doc = self.doc.clone();
        let encoded = guarded(move || {
            let mut txn = doc.transact_mut();
            txn.apply_update(decoded).map(|()| txn.encode_update_v1())
        })
        .ok_or(DocError::Poisoned)?
        .map_err(|_| DocError::BadUpdate)?;
        if encoded == [0, 0] {
            return Ok(Applied::Unchanged);
        }
        self.log.borrow_mut().push(encoded);
        Ok(Applied::Changed)
    }
    fn publish_awareness(
        &self,
        conn: ConnId,
        entries: Vec<AwarenessEntry>,
    ) -> Result<usize, SessionError> {
        let mut refused = 0;
        let mut map = self.awareness.borrow_mut();
        for entry in entries {
            match map.get(&entry.client_id) {
                Some((owner, _)) if *owner != conn => refused += 1,
                _ => {
                    map.insert(entry.client_id, (conn, entry));
                }
            }
        }
        Ok(refused)
    }
    fn awareness_snapshot(&self) -> Option<Vec<u8>> {
        let entries: Vec<AwarenessEntry> = self
            .awareness
            .borrow()
            .values()
            .map(|(_, e)| e.clone())
            .collect();
        (!entries.is_empty()).then(|| AwarenessUpdate { entries }.encode_frame())
    }
}

fn session(role: Role) -> Session {
    Session::new(1, UserId(7), "Ada".into(), "#e6194b", role, Instant::now())
}

/// A client-side update inserting `text` at the start of `file:main`.
fn typed(client: &yrs::Doc, text: &str) -> Vec<u8> {
    let t = client.get_or_insert_text("file:main");
    let mut txn = client.transact_mut();
    t.insert(&mut txn, 0, text);
    txn.encode_update_v1()
}

fn app_types(step: &Step) -> Vec<String> {
    step.replies
        .iter()
        .filter_map(|f| match oc_proto::decode(f, &Limits::UNLIMITED) {
            Ok(Message::App(app)) => Some(app.msg_type().to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn collaborator_update_is_applied_and_logged() {
    let pad = MemoryPad::new();
    let mut s = session(Role::Collaborator);
    let client = new_doc();
    let step = s.handle_frame(
        &oc_proto::encode_update(&typed(&client, "hi")),
        Instant::now(),
        &pad,
    );
    assert!(step.close.is_none() && step.replies.is_empty());
    assert_eq!(pad.text(), "hi");
    assert_eq!(pad.log.borrow().len(), 1);
}

#[test]
fn viewer_update_is_refused_and_told() {
    let pad = MemoryPad::new();
    let mut s = session(Role::Viewer);
    let client = new_doc();
    let step = s.handle_frame(
        &oc_proto::encode_update(&typed(&client, "hi")),
        Instant::now(),
        &pad,
    );
    assert!(step.close.is_none(), "the socket stays open for reading");
    assert_eq!(pad.text(), "");
    assert!(pad.log.borrow().is_empty());
    assert_eq!(step.replies.len(), 2);
    assert!(matches!(
        oc_proto::decode(&step.replies[0], &Limits::UNLIMITED),
        Ok(Message::Auth(oc_proto::AuthMessage::PermissionDenied(_)))
    ));
    assert_eq!(app_types(&step), ["error"]);
}

#[test]
fn viewer_noop_sync_step2_passes_silently() {
    let pad = MemoryPad::new();
    let mut s = session(Role::Viewer);
    let step = s.handle_frame(&oc_proto::encode_sync_step2(&[0, 0]), Instant::now(), &pad);
    assert!(step.replies.is_empty() && step.close.is_none());
}

#[test]
fn downgrade_applies_on_next_message() {
    let pad = MemoryPad::new();
    let mut s = session(Role::Candidate);
    let client = new_doc();
    s.handle_frame(
        &oc_proto::encode_update(&typed(&client, "a")),
        Instant::now(),
        &pad,
    );
    s.set_role(Role::Viewer);
    let step = s.handle_frame(
        &oc_proto::encode_update(&typed(&client, "b")),
        Instant::now(),
        &pad,
    );
    assert_eq!(pad.text(), "a");
    assert_eq!(app_types(&step), ["error"]);
}

#[test]
fn an_interview_lock_holds_candidates_only() {
    let pad = MemoryPad::new();
    let mut candidate = session(Role::Candidate);
    let mut interviewer = session(Role::Collaborator);
    for s in [&mut candidate, &mut interviewer] {
        s.set_edits_locked(true);
    }
    let client = new_doc();
    let step = candidate.handle_frame(
        &oc_proto::encode_update(&typed(&client, "a")),
        Instant::now(),
        &pad,
    );
    assert_eq!(pad.text(), "");
    assert!(step.close.is_none());
    assert!(matches!(
        oc_proto::decode(&step.replies[0], &Limits::UNLIMITED),
        Ok(Message::Auth(oc_proto::AuthMessage::PermissionDenied(reason))) if reason == super::LOCKED_REASON
    ));
    assert!(!candidate.may_edit());
    let other = new_doc();
    interviewer.handle_frame(
        &oc_proto::encode_update(&typed(&other, "b")),
        Instant::now(),
        &pad,
    );
    assert_eq!(pad.text(), "b", "interviewers edit a locked pad");
    candidate.set_edits_locked(false);
    assert!(candidate.may_edit());
}

#[test]
fn sync_step1_is_answered_with_the_missing_part() {
    let pad = MemoryPad::new();
    let mut s = session(Role::Owner);
    let client = new_doc();
    s.handle_frame(
        &oc_proto::encode_update(&typed(&client, "abc")),
        Instant::now(),
        &pad,
    );
    let fresh = new_doc();
    let sv = fresh.transact().state_vector().encode_v1();
    let answer = |s: &mut Session, sv: &[u8]| {
        let step = s.handle_frame(&oc_proto::encode_sync_step1(sv), Instant::now(), &pad);
        let request = step.sync_request.expect("a sync request to answer");
        let frame = sync_step2_for(&pad, &request).unwrap();
        let Ok(Message::SyncStep2(diff)) = oc_proto::decode(&frame, &Limits::UNLIMITED) else {
            panic!("expected sync step 2");
        };
        diff
    };
    let diff = answer(&mut s, &sv);
    fresh
        .transact_mut()
        .apply_update(Update::decode_v1(&diff).unwrap())
        .unwrap();
    let txn = fresh.transact();
    assert_eq!(txn.get_text("file:main").unwrap().get_string(&txn), "abc");
    // A client that is up to date gets an empty diff.
    let sv = client.transact().state_vector().encode_v1();
    assert_eq!(answer(&mut s, &sv), [0, 0]);
}

#[test]
fn awareness_is_stamped_with_the_real_user() {
    let pad = MemoryPad::new();
    let mut s = session(Role::Viewer);
    let update = AwarenessUpdate {
        entries: vec![AwarenessEntry {
            client_id: 42,
            clock: 1,
            state: Some(json!({ "user": { "name": "Mallory", "id": 1 }, "cursor": 3 })),
        }],
    };
    let step = s.handle_frame(&update.encode_frame(), Instant::now(), &pad);
    assert!(step.close.is_none());
    let stored = pad.awareness.borrow()[&42].1.state.clone().unwrap();
    assert_eq!(stored["user"]["name"], "Ada");
    assert_eq!(stored["user"]["id"], 7);
    assert_eq!(stored["cursor"], 3);
}

#[test]
fn awareness_for_another_connections_client_is_refused() {
    let pad = MemoryPad::new();
    let mut a = session(Role::Owner);
    let mut b = Session::new(
        2,
        UserId(8),
        "Bob".into(),
        "#3cb44b",
        Role::Owner,
        Instant::now(),
    );
    let entry = |clock| AwarenessUpdate {
        entries: vec![AwarenessEntry {
            client_id: 42,
            clock,
            state: Some(json!({})),
        }],
    };
    a.handle_frame(&entry(1).encode_frame(), Instant::now(), &pad);
    let step = b.handle_frame(&entry(2).encode_frame(), Instant::now(), &pad);
    assert_eq!(app_types(&step), ["error"]);
    assert_eq!(pad.awareness.borrow()[&42].0, 1);
}

#[test]
fn malformed_frames_close_with_their_class() {
    let pad = MemoryPad::new();
    let cases: [(&[u8], &str); 5] = [
        (&[0x80], "truncated varint"),
        (&[0, 2, 10, 1], "length beyond the frame"),
        (&[0, 2, 2, 0xff, 0xff], "garbage update"),
        (&[7], "unknown type"),
        (&[100, 3, b'{', b'x', b'}'], "invalid JSON"),
    ];
    for (frame, what) in cases {
        let mut s = session(Role::Owner);
        let step = s.handle_frame(frame, Instant::now(), &pad);
        assert!(step.close.is_some(), "{what} must close");
    }
}

#[test]
fn over_the_update_rate_reading_pauses_and_only_a_sustained_flood_closes() {
    let pad = MemoryPad::new();
    let mut s = session(Role::Owner);
    let client = new_doc();
    let t0 = Instant::now();
    for i in 0..UPDATES_BURST as usize {
        let step = s.handle_frame(&oc_proto::encode_update(&typed(&client, "x")), t0, &pad);
        assert!(
            step.close.is_none() && step.pause.is_zero(),
            "within the burst ({i})"
        );
    }
    // Over the burst the update is still applied, and the pump is told to pause reading.
    let step = s.handle_frame(&oc_proto::encode_update(&typed(&client, "y")), t0, &pad);
    assert!(step.close.is_none());
    assert!(
        step.pause > Duration::ZERO && step.pause <= Duration::from_secs_f64(1.0 / UPDATES_PER_SEC)
    );
    assert_eq!(pad.text().len(), UPDATES_BURST as usize + 1);
    // Pausing as told keeps it open until the flood window has passed in continuous throttling.
    let mut now = t0;
    let mut pause = step.pause;
    let closed_at = loop {
        now += pause;
        let step = s.handle_frame(&oc_proto::encode_update(&typed(&client, "z")), now, &pad);
        if let Some(reason) = step.close {
            assert_eq!(reason, SessionError::RateLimited("update"));
            break now;
        }
        assert!(step.pause > Duration::ZERO);
        pause = step.pause;
    };
    assert!(closed_at.duration_since(t0) >= DEFAULT_FLOOD_CLOSE);
    assert!(closed_at.duration_since(t0) <= DEFAULT_FLOOD_CLOSE + Duration::from_millis(100));
}

#[test]
fn a_client_back_within_its_rate_is_no_longer_throttled() {
    let pad = MemoryPad::new();
    let mut s = session(Role::Owner);
    let client = new_doc();
    let t0 = Instant::now();
    for _ in 0..=UPDATES_BURST as usize {
        s.handle_frame(&oc_proto::encode_update(&typed(&client, "x")), t0, &pad);
    }
    let later = t0 + Duration::from_secs(2);
    let step = s.handle_frame(&oc_proto::encode_update(&typed(&client, "y")), later, &pad);
    assert!(step.pause.is_zero());
    // The flood window starts afresh.
    let mut now = later;
    for _ in 0..200 {
        let step = s.handle_frame(&oc_proto::encode_update(&typed(&client, "z")), now, &pad);
        assert!(step.close.is_none());
        now += step.pause;
    }
}

#[test]
fn sync_requests_have_their_own_low_budget() {
    let pad = MemoryPad::new();
    let mut s = session(Role::Owner);
    let t0 = Instant::now();
    let request = oc_proto::encode_sync_step1(&[0]);
    for _ in 0..SYNC_REQUESTS_BURST as usize {
        assert!(s.handle_frame(&request, t0, &pad).pause.is_zero());
    }
    let step = s.handle_frame(&request, t0, &pad);
    assert!(step.sync_request.is_some(), "answered, after a pause");
    assert_eq!(
        step.pause,
        Duration::from_secs_f64(1.0 / SYNC_REQUESTS_PER_SEC)
    );
}

/// Property: no frame, random or a mutation of a valid one, makes the session panic; any
/// frame it accepts leaves the document readable.
#[test]
fn random_frames_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x000c_0de5);
    let client = new_doc();
    let mut seeds: Vec<Vec<u8>> = vec![
        oc_proto::encode_update(&typed(&client, "hello world")),
        oc_proto::encode_sync_step2(&typed(&client, "more")),
        oc_proto::encode_sync_step1(&client.transact().state_vector().encode_v1()),
        AwarenessUpdate {
            entries: vec![AwarenessEntry {
                client_id: 9,
                clock: 1,
                state: Some(json!({"a": 1})),
            }],
        }
        .encode_frame(),
        encode_app_value(&json!({ "type": "chat", "body": "hi" })),
        vec![3],
    ];
    {
        let t = client.get_or_insert_text("file:main");
        let mut txn = client.transact_mut();
        t.remove_range(&mut txn, 0, 3);
        seeds.push(oc_proto::encode_update(&txn.encode_update_v1()));
    }
    for iteration in 0..20_000u32 {
        let pad = MemoryPad::new();
        let mut s = session(if iteration % 3 == 0 {
            Role::Viewer
        } else {
            Role::Owner
        });
        for _ in 0..4 {
            let frame: Vec<u8> = if rng.random_bool(0.3) {
                let len = rng.random_range(0..64);
                (0..len).map(|_| rng.random()).collect()
            } else {
                let mut f = seeds[rng.random_range(0..seeds.len())].clone();
                for _ in 0..rng.random_range(1..4) {
                    match rng.random_range(0..3) {
                        0 if !f.is_empty() => {
                            let i = rng.random_range(0..f.len());
                            f[i] = rng.random();
                        }
                        1 if !f.is_empty() => {
                            let i = rng.random_range(0..f.len());
                            f.truncate(i);
                        }
                        _ => f.push(rng.random()),
                    }
                }
                f
            };
            let _ = s.handle_frame(&frame, Instant::now(), &pad);
            let _ = pad.text();
        }
    }
}
