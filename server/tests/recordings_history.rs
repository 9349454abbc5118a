//! Recordings' histories held in memory for scrubbing (`recordings::history`), over real HTTP
//! and a real database: every instant is answered like the document was then (texts and the
//! Yjs state), new history is seen as soon as it is logged, a history never answers for another
//! recording or pad and goes with them, and the memory budget holds when it is pushed past.

mod collab_support;
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{TestApp, TestUser};
use opencoder::db::{PadId, UserId};
use opencoder::recordings::{background, seek, store};
use serde_json::{json, Value};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

struct Pad {
    slug: String,
    id: i64,
    /// `file:<id>` of the files made by `pad_with_files`, in `FILES` order.
    roots: Vec<String>,
}

const FILES: [&str; 2] = ["a.txt", "b.txt"];

async fn pad_with_files(app: &TestApp, owner: &TestUser) -> Pad {
    let body = app
        .create_pad(owner, json!({ "title": "history", "language": "python" }))
        .await;
    let slug = body["pad"]["slug"].as_str().unwrap().to_string();
    let mut roots = Vec::new();
    for (name, seed) in FILES.iter().zip(["alpha\nbeta\n", ""]) {
        let r = app
            .post(
                &format!("/api/pads/{slug}/files"),
                Some(&owner.token),
                json!({ "name": name, "content": seed }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        roots.push(format!("file:{}", r.body["file"]["id"].as_i64().unwrap()));
    }
    Pad {
        slug,
        id: body["pad"]["id"].as_i64().unwrap(),
        roots,
    }
}

fn rec_path(pad: &Pad, rest: &str) -> String {
    format!("/api/pads/{}/recordings{rest}", pad.slug)
}

async fn start_recording(app: &TestApp, owner: &TestUser, pad: &Pad) -> i64 {
    let r = app
        .post(
            &rec_path(pad, ""),
            Some(&owner.token),
            json!({ "name": "r" }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["recording"]["id"].as_i64().unwrap()
}

/// Stops the recording; returns the response's body.
async fn stop_recording(app: &TestApp, owner: &TestUser, pad: &Pad, rec: i64) -> Value {
    let r = app
        .post(
            &rec_path(pad, &format!("/{rec}/stop")),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

/// A fresh client document holding a Yjs update (v1).
fn doc_from_update(update: &[u8]) -> Doc {
    let doc = collab_support::new_doc();
    doc.transact_mut()
        .apply_update(Update::decode_v1(update).unwrap())
        .unwrap();
    doc
}

/// A client document starting from the pad's current server state.
async fn client_doc(app: &TestApp, pad: i64) -> Doc {
    let server = app.state.docs.open(PadId(pad)).await.unwrap();
    let full = server
        .diff_since(&StateVector::default().encode_v1())
        .await
        .unwrap();
    doc_from_update(&full)
}

/// An update of the owner's client, applied through the pad's real update path.
async fn apply(app: &TestApp, owner: &TestUser, pad: &Pad, update: &[u8]) {
    app.state
        .docs
        .apply_update(PadId(pad.id), Some(UserId(owner.id)), update)
        .await
        .unwrap();
}

/// Inserts `s` at the start of `root` in `doc` and applies it to the pad.
async fn insert_at_start(
    app: &TestApp,
    owner: &TestUser,
    pad: &Pad,
    doc: &Doc,
    root: &str,
    s: &str,
) {
    let text = doc.get_or_insert_text(root);
    let update = {
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, s);
        txn.encode_update_v1()
    };
    apply(app, owner, pad, &update).await;
}

/// The update log written, and the clock past its last entry: an instant read next is after
/// every edit so far.
async fn settle(app: &TestApp) {
    app.state.docs.flush_log().await;
    tokio::time::sleep(Duration::from_millis(3)).await;
}

fn text_of(doc: &Doc, root: &str) -> String {
    let txn = doc.transact();
    txn.get_text(root)
        .map(|t| t.get_string(&txn))
        .unwrap_or_default()
}

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

/// One edit of `doc` (an insertion, a deletion of up to 6 characters, or a cursor jump and an
/// insertion), applied through the pad's real update path. Returns the texts after it.
async fn edit(app: &TestApp, owner: &TestUser, pad: &Pad, doc: &Doc, rng: &mut Rng) -> Vec<String> {
    let root = &pad.roots[rng.below(2) as usize];
    let text = doc.get_or_insert_text(root.as_str());
    let update = {
        let mut txn = doc.transact_mut();
        let len = text.len(&txn);
        if len > 0 && rng.below(3) == 0 {
            let at = rng.below(len);
            let n = (1 + rng.below(6)).min(len - at);
            text.remove_range(&mut txn, at, n);
        } else {
            let at = rng.below(len + 1);
            let s = ["x", "é", "fn ", "\n", "{}", "ß"][rng.below(6) as usize];
            text.insert(&mut txn, at, s);
        }
        txn.encode_update_v1()
    };
    apply(app, owner, pad, &update).await;
    pad.roots.iter().map(|r| text_of(doc, r)).collect()
}

/// The logged (id, at_ms) of the pad's last `n` updates.
async fn last_times(app: &TestApp, pad: &Pad, n: usize) -> Vec<i64> {
    let rows: Vec<i64> =
        sqlx::query_scalar("SELECT at_ms FROM doc_updates WHERE pad_id = ? ORDER BY id")
            .bind(pad.id)
            .fetch_all(app.sql())
            .await
            .unwrap();
    rows[rows.len() - n..].to_vec()
}

async fn state(app: &TestApp, user: &TestUser, pad: &Pad, rec: i64, t: i64, yjs: bool) -> Value {
    let r = app
        .get(
            &rec_path(pad, &format!("/{rec}/state?t={t}&yjs={yjs}")),
            Some(&user.token),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

fn file<'a>(body: &'a Value, name: &str) -> &'a str {
    body["files"][name].as_str().unwrap_or("")
}

/// A fresh client document loaded with a `yjsState`.
fn yjs_doc(body: &Value) -> Doc {
    let bytes = STANDARD
        .decode(body["yjsState"].as_str().expect("yjsState"))
        .unwrap();
    doc_from_update(&bytes)
}

/// The texts of a `yjsState`, loaded into a fresh client document.
fn yjs_texts(body: &Value, pad: &Pad) -> Vec<String> {
    let doc = yjs_doc(body);
    pad.roots.iter().map(|r| text_of(&doc, r)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instant_is_answered_from_the_history_as_the_document_was_then() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Ada").await;
    for seed in [7_u64, 1_234_567] {
        let pad = pad_with_files(&app, &owner).await;
        // Edits before the recording are in the history's starting state.
        let doc = client_doc(&app, pad.id).await;
        let mut rng = Rng(seed);
        for _ in 0..20 {
            edit(&app, &owner, &pad, &doc, &mut rng).await;
        }
        settle(&app).await;
        let initial: Vec<String> = pad.roots.iter().map(|r| text_of(&doc, r)).collect();
        let rec = start_recording(&app, &owner, &pad).await;
        let mut expected = Vec::new();
        for i in 0..400 {
            expected.push(edit(&app, &owner, &pad, &doc, &mut rng).await);
            if i % 7 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        settle(&app).await;
        let stopped = stop_recording(&app, &owner, &pad, rec).await;
        let started_at = stopped["recording"]["startedAt"].as_i64().unwrap();
        let times = last_times(&app, &pad, expected.len()).await;

        // The recording's start, then every distinct instant of the trace.
        let mut instants = vec![(started_at, initial.clone())];
        for (i, t) in times.iter().enumerate() {
            if times.get(i + 1) != Some(t) {
                instants.push((*t, expected[i].clone()));
            }
        }
        assert!(instants.len() > 40, "the trace spans many instants");
        for (n, (t, want)) in instants.iter().enumerate() {
            let yjs = n % 5 == 0;
            let body = state(&app, &owner, &pad, rec, *t, yjs).await;
            assert_eq!(file(&body, FILES[0]), want[0], "a.txt at {t} (seed {seed})");
            assert_eq!(file(&body, FILES[1]), want[1], "b.txt at {t} (seed {seed})");
            if yjs {
                assert_eq!(&yjs_texts(&body, &pad), want, "yjsState at {t}");
            }
            // What the checkpoints rebuild agrees.
            if n % 10 == 0 {
                let rebuilt = seek::doc_at_time(&app.state.db, PadId(pad.id), *t)
                    .await
                    .unwrap();
                assert_eq!(&text_of(&rebuilt, &pad.roots[0]), &want[0]);
                assert_eq!(&text_of(&rebuilt, &pad.roots[1]), &want[1]);
            }
        }
        // The yjsState takes the later edits of the timeline: a client replaying from it ends
        // where the document did.
        let body = state(
            &app,
            &owner,
            &pad,
            rec,
            instants[instants.len() / 2].0,
            true,
        )
        .await;
        let replay = yjs_doc(&body);
        let full = client_doc(&app, pad.id).await;
        let missing = full
            .transact()
            .encode_state_as_update_v1(&replay.transact().state_vector());
        replay
            .transact_mut()
            .apply_update(Update::decode_v1(&missing).unwrap())
            .unwrap();
        for root in &pad.roots {
            assert_eq!(text_of(&replay, root), text_of(&doc, root));
        }
    }
    let usage = app.state.recordings.histories().usage();
    assert_eq!(usage.histories, 2, "both recordings' histories are held");
    assert!(usage.bytes > 0 && usage.bytes <= usage.budget, "{usage:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_logged_after_a_state_was_read_is_in_the_next_state() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Ada").await;
    let pad = pad_with_files(&app, &owner).await;
    let rec = start_recording(&app, &owner, &pad).await;
    let doc = client_doc(&app, pad.id).await;
    let mut rng = Rng(99);
    for round in 0..5 {
        let mut want = Vec::new();
        for _ in 0..30 {
            want = edit(&app, &owner, &pad, &doc, &mut rng).await;
        }
        settle(&app).await;
        // The recording is still going: a late instant is clamped to now, after every edit.
        let body = state(&app, &owner, &pad, rec, i64::MAX, round % 2 == 0).await;
        assert_eq!(file(&body, FILES[0]), want[0], "round {round}");
        assert_eq!(file(&body, FILES[1]), want[1], "round {round}");
        assert_eq!(app.state.recordings.histories().usage().histories, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_answers_only_for_its_own_recording_and_goes_with_it() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Ada").await;
    let histories = app.state.recordings.histories();

    // Two pads, recorded at once, each with its own text.
    let mut recorded = Vec::new();
    for secret in ["first pad's secret", "second pad's text"] {
        let pad = pad_with_files(&app, &owner).await;
        let rec = start_recording(&app, &owner, &pad).await;
        let doc = client_doc(&app, pad.id).await;
        insert_at_start(&app, &owner, &pad, &doc, &pad.roots[0], secret).await;
        recorded.push((pad, rec, secret));
    }
    settle(&app).await;
    for _ in 0..2 {
        for (pad, rec, secret) in &recorded {
            let body = state(&app, &owner, pad, *rec, i64::MAX, false).await;
            assert!(file(&body, FILES[0]).starts_with(secret), "{body}");
        }
    }
    assert_eq!(histories.usage().histories, 2);

    // A second recording of the same pad has its own history.
    let (first, first_rec, secret) = &recorded[0];
    stop_recording(&app, &owner, first, *first_rec).await;
    tokio::time::sleep(Duration::from_millis(3)).await;
    let second_rec = start_recording(&app, &owner, first).await;
    let body = state(&app, &owner, first, second_rec, i64::MAX, false).await;
    assert!(file(&body, FILES[0]).starts_with(secret));
    assert_eq!(histories.usage().histories, 3);

    // Deleting a recording drops its history; deleting a pad drops all of its histories.
    let r = app
        .delete(
            &rec_path(first, &format!("/{first_rec}")),
            Some(&owner.token),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(histories.usage().histories, 2);
    let r = app
        .delete(&format!("/api/pads/{}", first.slug), Some(&owner.token))
        .await;
    assert!(r.status == 200 || r.status == 204, "{:?}", r.body);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while histories.usage().histories != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the deleted pad's history is dropped"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // A pad created next (SQLite may hand it the deleted pad's id) answers with its own text.
    let pad = pad_with_files(&app, &owner).await;
    let rec = start_recording(&app, &owner, &pad).await;
    settle(&app).await;
    let body = state(&app, &owner, &pad, rec, i64::MAX, false).await;
    assert_eq!(file(&body, FILES[0]), "alpha\nbeta\n");
}

/// `n` updates of about `size` bytes each on a fresh recorded pad; returns the pad, the
/// recording and the first file's final text.
async fn recorded_pad(
    app: &TestApp,
    owner: &TestUser,
    n: usize,
    size: usize,
) -> (Pad, i64, String) {
    let pad = pad_with_files(app, owner).await;
    let rec = start_recording(app, owner, &pad).await;
    let doc = client_doc(app, pad.id).await;
    for i in 0..n {
        let line = format!("{i:04} {}\n", "y".repeat(size));
        insert_at_start(app, owner, &pad, &doc, &pad.roots[0], &line).await;
    }
    settle(app).await;
    let want = text_of(&doc, &pad.roots[0]);
    (pad, rec, want)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_histories_held_stay_within_their_memory_budget() {
    // Each update carries ~1 KB: a 10-update history is estimated ~11 KB (its bytes plus
    // bookkeeping), a 20-update one ~21 KB. The budget holds one small history, not two.
    const BUDGET: u64 = 16_000;
    let app = TestApp::spawn_with(&[("RECORDING_HISTORY_CACHE_BYTES", &BUDGET.to_string())]).await;
    let owner = app.signup("Ada").await;
    let histories = app.state.recordings.histories();
    assert_eq!(histories.usage().budget, BUDGET);

    let (a, a_rec, a_text) = recorded_pad(&app, &owner, 10, 1_000).await;
    let body = state(&app, &owner, &a, a_rec, i64::MAX, false).await;
    assert_eq!(file(&body, FILES[0]), a_text);
    let usage = histories.usage();
    assert_eq!(usage.histories, 1, "{usage:?}");
    assert!(
        usage.bytes > BUDGET / 2 && usage.bytes <= BUDGET,
        "{usage:?}"
    );

    // A second history would take the whole over the budget: the least recently used goes.
    let (b, b_rec, b_text) = recorded_pad(&app, &owner, 10, 1_000).await;
    let body = state(&app, &owner, &b, b_rec, i64::MAX, false).await;
    assert_eq!(file(&body, FILES[0]), b_text);
    let usage = histories.usage();
    assert_eq!(usage.histories, 1, "{usage:?}");
    assert!(usage.bytes <= BUDGET, "{usage:?}");
    // The first is rebuilt when asked again (and evicts the second).
    let body = state(&app, &owner, &a, a_rec, i64::MAX, false).await;
    assert_eq!(file(&body, FILES[0]), a_text);
    assert!(histories.usage().bytes <= BUDGET);

    // A history over the budget on its own is never held; its states are rebuilt every time.
    let (c, c_rec, c_text) = recorded_pad(&app, &owner, 20, 1_000).await;
    for _ in 0..2 {
        let body = state(&app, &owner, &c, c_rec, i64::MAX, true).await;
        assert_eq!(file(&body, FILES[0]), c_text);
        assert_eq!(yjs_texts(&body, &c)[0], c_text);
        let usage = histories.usage();
        assert!(usage.histories <= 1 && usage.bytes <= BUDGET, "{usage:?}");
    }

    // A history that grows past the budget while its recording goes on is dropped, not kept.
    let (d, d_rec, _) = recorded_pad(&app, &owner, 8, 1_000).await;
    state(&app, &owner, &d, d_rec, i64::MAX, false).await;
    let doc = client_doc(&app, d.id).await;
    for _ in 0..20 {
        insert_at_start(&app, &owner, &d, &doc, &d.roots[1], &"z".repeat(1_000)).await;
    }
    settle(&app).await;
    let body = state(&app, &owner, &d, d_rec, i64::MAX, false).await;
    assert_eq!(file(&body, FILES[1]).len(), 20_000);
    let usage = histories.usage();
    assert!(usage.bytes <= BUDGET, "{usage:?}");

    // Straight through the library too.
    let recording = store::find_recording(&app.state.db, PadId(c.id), c_rec)
        .await
        .unwrap()
        .unwrap();
    let held = histories
        .state_at(
            &app.state.db,
            &c.slug,
            &recording,
            i64::MAX,
            u64::MAX,
            false,
        )
        .await
        .unwrap();
    assert!(held.is_none(), "an over-budget history is not built");
}

/// A state rebuilt from checkpoints while the recording's start checkpoint is being written has
/// every update up to its instant. A seek reads its base checkpoint, then the next one to bound the
/// updates it scans; the start checkpoint (written by the background a while after the recording
/// starts) landing between the two reads once bounded the scan at the recording's start, and the
/// state lost every edit made since. The recording is added like a start adds it, with edits
/// logged before its checkpoint is written; seeks run while it is written, in rounds, as the race
/// is only hit when a write lands between two reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_rebuilt_while_the_start_checkpoint_is_written_has_every_update() {
    const ROUNDS: usize = 20;
    const SEEKERS: usize = 3;
    let app = TestApp::spawn().await;
    let owner = app.signup("Ada").await;
    let db = &app.state.db;
    for round in 0..ROUNDS {
        // Seeded files before the start, so the recording gets a start checkpoint.
        let pad = pad_with_files(&app, &owner).await;
        settle(&app).await;
        let started_at = opencoder::recordings::now_ms();
        tokio::time::sleep(Duration::from_millis(3)).await;
        let doc = client_doc(&app, pad.id).await;
        for i in 0..10 {
            insert_at_start(&app, &owner, &pad, &doc, &pad.roots[1], &format!("{i} ")).await;
        }
        settle(&app).await;
        let want = text_of(&doc, &pad.roots[1]);
        let t = opencoder::recordings::now_ms();
        let rec = store::insert_recording(db, PadId(pad.id), "r", None, started_at, false)
            .await
            .unwrap();
        let recording = store::find_recording(db, PadId(pad.id), rec)
            .await
            .unwrap()
            .unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let seekers: Vec<_> = (0..SEEKERS)
            .map(|_| {
                let (db, stop) = (db.clone(), stop.clone());
                let (root, want) = (pad.roots[1].clone(), want.clone());
                tokio::spawn(async move {
                    let mut wrong = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let doc = seek::doc_at_time(&db, PadId(pad.id), t).await.unwrap();
                        let got = text_of(&doc, &root);
                        if got != want {
                            wrong.push(got);
                        }
                    }
                    wrong
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(5)).await;
        background::write_due_checkpoints(&app.state, &recording)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        stop.store(true, Ordering::Relaxed);
        for seeker in seekers {
            let wrong = seeker.await.unwrap();
            assert!(
                wrong.is_empty(),
                "round {round}: {} seeks answered {:?}, not {want:?}",
                wrong.len(),
                wrong[0]
            );
        }
        let base = store::checkpoint_at_or_before_time(db, PadId(pad.id), t)
            .await
            .unwrap();
        assert!(base.v2, "the start checkpoint was written (round {round})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_answer_the_same_on_postgres() {
    let url = common::postgres::TempPostgres::shared()
        .create_database()
        .await;
    let secret = "history-postgres-test-secret-of-at-least-32-bytes";
    let app = TestApp::spawn_with(&[("DATABASE_URL", url.as_str()), ("JWT_SECRET", secret)]).await;
    assert_eq!(app.state.db.backend(), opencoder::db::Backend::Postgres);
    let owner = app.signup("Ada").await;
    let pad = pad_with_files(&app, &owner).await;
    let rec = start_recording(&app, &owner, &pad).await;
    let doc = client_doc(&app, pad.id).await;
    let mut rng = Rng(5);
    // After each round, an instant at or after all of its edits and before the next round's.
    let mut rounds = Vec::new();
    for _ in 0..6 {
        let mut want = Vec::new();
        for _ in 0..25 {
            want = edit(&app, &owner, &pad, &doc, &mut rng).await;
        }
        settle(&app).await;
        rounds.push((opencoder::recordings::now_ms(), want));
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    // Latest first, then back: the history is built once and read at every instant.
    for (t, want) in rounds.iter().rev().chain(rounds.iter()) {
        let body = state(&app, &owner, &pad, rec, *t, true).await;
        assert_eq!(file(&body, FILES[0]), want[0], "a.txt at {t}");
        assert_eq!(file(&body, FILES[1]), want[1], "b.txt at {t}");
        assert_eq!(&yjs_texts(&body, &pad), want, "yjsState at {t}");
    }
    assert_eq!(app.state.recordings.histories().usage().histories, 1);
}
