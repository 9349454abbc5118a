//! Recordings and playback (SPEC §7) over real HTTP and a real database: seeking from
//! checkpoints (property-tested against the document itself), paginated timelines, the JSON
//! export, roles, audit, and auto-record driven by real pad sockets.

mod collab_support;
mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{TestApp, TestUser};
use opencoder::db::PadId;
use opencoder::recordings::{background, seek, service, store, timeline};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::{json, Value};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Text, Transact, Update};

// ---------------------------------------------------------------------------------------------
// Helpers

struct Pad {
    slug: String,
    id: i64,
    /// The starter file's id, its root suffix in the document (`file:<id>`, what the peer
    /// helpers take) and its name.
    file_id: i64,
    file: String,
    name: String,
}

async fn new_pad(app: &TestApp, owner: &TestUser) -> Pad {
    let body = app
        .create_pad(owner, json!({ "title": "interview", "language": "python" }))
        .await;
    Pad {
        slug: body["pad"]["slug"].as_str().unwrap().to_string(),
        id: body["pad"]["id"].as_i64().unwrap(),
        file_id: body["files"][0]["id"].as_i64().unwrap(),
        file: body["files"][0]["id"].as_i64().unwrap().to_string(),
        name: body["files"][0]["name"].as_str().unwrap().to_string(),
    }
}

fn rec_path(pad: &Pad, rest: &str) -> String {
    format!("/api/pads/{}/recordings{rest}", pad.slug)
}

async fn start_recording(app: &TestApp, user: &TestUser, pad: &Pad, name: &str) -> i64 {
    let r = app
        .post(
            &rec_path(pad, ""),
            Some(&user.token),
            json!({ "name": name }),
        )
        .await;
    assert_eq!(r.status, 201, "start: {:?}", r.body);
    r.body["recording"]["id"].as_i64().unwrap()
}

async fn stop_recording(app: &TestApp, user: &TestUser, pad: &Pad, id: i64) -> Value {
    let r = app
        .post(
            &rec_path(pad, &format!("/{id}/stop")),
            Some(&user.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "stop: {:?}", r.body);
    r.body["recording"].clone()
}

/// Every event of the timeline, `limit` at a time.
async fn whole_timeline(
    app: &TestApp,
    user: &TestUser,
    pad: &Pad,
    id: i64,
    limit: i64,
) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..10_000 {
        let mut path = rec_path(pad, &format!("/{id}/timeline?limit={limit}"));
        if let Some(cursor) = &after {
            path.push_str(&format!("&after={cursor}"));
        }
        let r = app.get(&path, Some(&user.token)).await;
        assert_eq!(r.status, 200, "timeline: {:?}", r.body);
        let page = r.body["events"].as_array().unwrap();
        assert!(page.len() as i64 <= limit);
        events.extend(page.iter().cloned());
        if !r.body["hasMore"].as_bool().unwrap() {
            return events;
        }
        after = Some(r.body["nextCursor"].as_str().unwrap().to_string());
    }
    panic!("the timeline never ended");
}

/// Poll until `check` holds (5 s at most).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn text_of(doc: &Doc, file: &str) -> String {
    let txn = doc.transact();
    txn.get_text(format!("file:{file}").as_str())
        .map(|t| t.get_string(&txn))
        .unwrap_or_default()
}

/// A client-side Yjs document that starts from the pad's current server state.
async fn client_doc(app: &TestApp, pad: i64) -> Doc {
    let server = app.state.docs.open(PadId(pad)).await.unwrap();
    let full = server
        .diff_since(&StateVector::default().encode_v1())
        .await
        .unwrap();
    let doc = collab_support::new_doc();
    doc.transact_mut()
        .apply_update(Update::decode_v1(&full).unwrap())
        .unwrap();
    doc
}

// ---------------------------------------------------------------------------------------------
// Seeking: property test

#[derive(Debug, Clone)]
enum Op {
    Insert {
        file: usize,
        at: f64,
        text: String,
    },
    Delete {
        file: usize,
        at: f64,
        len: u32,
    },
    /// Let the clock move on, so the trace spans many distinct instants.
    Pause,
}

fn op() -> impl Strategy<Value = Op> {
    let chars = prop::sample::select(vec!['a', 'b', 'z', ' ', '\n', '{', 'é', 'ß']);
    prop_oneof![
        6 => (0..2usize, 0.0..=1.0f64, prop::collection::vec(chars, 1..6))
            .prop_map(|(file, at, chars)| Op::Insert { file, at, text: chars.into_iter().collect() }),
        3 => (0..2usize, 0.0..=1.0f64, 1..8u32).prop_map(|(file, at, len)| Op::Delete { file, at, len }),
        2 => Just(Op::Pause),
    ]
}

const FILES: [&str; 2] = ["a.txt", "b.txt"];
/// Segment size in the property test: short traces cross many segments.
const TEST_SEGMENT_UPDATES: u64 = 7;
/// The engine checkpoints every 500 updates; a seek never starts further back than that plus a
/// little in these traces.
const MAX_SEGMENTS_PER_SEEK: usize = 600 / TEST_SEGMENT_UPDATES as usize;

/// Apply `trace` through the real update path while recording, then check the state at every
/// instant of the trace (library) and at a sample of them (HTTP) against the client document.
async fn check_trace(app: &TestApp, owner: &TestUser, trace: Vec<Op>) -> Result<(), TestCaseError> {
    let pad = new_pad(app, owner).await;
    // The files' roots in the document (`file:<id>`), in `FILES` order.
    let mut roots = Vec::new();
    for (name, seed) in FILES.iter().zip(["alpha\n", ""]) {
        let r = app
            .post(
                &format!("/api/pads/{}/files", pad.slug),
                Some(&owner.token),
                json!({ "name": name, "content": seed }),
            )
            .await;
        prop_assert_eq!(r.status, 201, "{:?}", r.body);
        roots.push(r.body["file"]["id"].as_i64().unwrap().to_string());
    }
    let rec_id = start_recording(app, owner, &pad, "trace").await;
    let recording = store::find_recording(&app.state.db, PadId(pad.id), rec_id)
        .await
        .unwrap()
        .unwrap();
    let doc = client_doc(app, pad.id).await;
    let initial = (text_of(&doc, &roots[0]), text_of(&doc, &roots[1]));
    // Expected texts after each applied update, in log order.
    let mut expected: Vec<(String, String)> = Vec::new();
    for op in trace {
        let update = match op {
            Op::Pause => {
                tokio::time::sleep(Duration::from_millis(2)).await;
                continue;
            }
            Op::Insert { file, at, text } => {
                let t = doc.get_or_insert_text(format!("file:{}", roots[file]).as_str());
                let mut txn = doc.transact_mut();
                let len = t.len(&txn);
                t.insert(&mut txn, (at * len as f64) as u32, &text);
                txn.encode_update_v1()
            }
            Op::Delete { file, at, len } => {
                let t = doc.get_or_insert_text(format!("file:{}", roots[file]).as_str());
                let mut txn = doc.transact_mut();
                let total = t.len(&txn);
                if total == 0 {
                    continue;
                }
                let from = ((at * total as f64) as u32).min(total - 1);
                t.remove_range(&mut txn, from, len.min(total - from));
                txn.encode_update_v1()
            }
        };
        app.state
            .docs
            .apply_update(
                PadId(pad.id),
                Some(opencoder::db::UserId(owner.id)),
                &update,
            )
            .await
            .unwrap();
        expected.push((text_of(&doc, &roots[0]), text_of(&doc, &roots[1])));
        if expected.len() % 100 == 0 {
            background::write_due_checkpoints(&app.state, &recording)
                .await
                .unwrap();
        }
    }
    app.state.docs.flush_log().await;
    background::write_due_checkpoints(&app.state, &recording)
        .await
        .unwrap();

    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, at_ms FROM doc_updates WHERE pad_id = ? ORDER BY id")
            .bind(pad.id)
            .fetch_all(app.sql())
            .await
            .unwrap();
    prop_assert!(rows.len() >= expected.len());
    let ids: Vec<i64> = rows[rows.len() - expected.len()..]
        .iter()
        .map(|(id, _)| *id)
        .collect();
    let times: Vec<i64> = rows[rows.len() - expected.len()..]
        .iter()
        .map(|(_, at)| *at)
        .collect();
    prop_assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "log times go forward"
    );
    let segments: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM recording_segments WHERE pad_id = ?")
            .bind(pad.id)
            .fetch_one(app.sql())
            .await
            .unwrap();
    prop_assert_eq!(
        segments as u64,
        expected.len() as u64 / TEST_SEGMENT_UPDATES,
        "segments were written"
    );

    // Right after every single update (several share a millisecond, so this is finer than time).
    for (i, id) in ids.iter().enumerate() {
        let seeked = seek::seek_update(&app.state.db, PadId(pad.id), *id)
            .await
            .unwrap();
        prop_assert!(
            (seeked.replayed as u64) < TEST_SEGMENT_UPDATES,
            "replayed {} single updates",
            seeked.replayed
        );
        prop_assert!(
            seeked.segments <= MAX_SEGMENTS_PER_SEEK,
            "applied {} segments",
            seeked.segments
        );
        prop_assert_eq!(
            &text_of(&seeked.doc, &roots[0]),
            &expected[i].0,
            "a.txt after update {}",
            i
        );
        prop_assert_eq!(
            &text_of(&seeked.doc, &roots[1]),
            &expected[i].1,
            "b.txt after update {}",
            i
        );
    }
    // Every distinct instant of the trace, plus the instant just before it started.
    let mut instants: Vec<(i64, Option<usize>)> = Vec::new();
    if let Some(first) = times.first() {
        if *first > recording.started_at_ms {
            instants.push((first - 1, None));
        }
    }
    for (i, t) in times.iter().enumerate() {
        if times.get(i + 1) != Some(t) {
            instants.push((*t, Some(i)));
        }
    }
    for (n, (t, upto)) in instants.iter().enumerate() {
        let want = upto.map_or(&initial, |i| &expected[i]);
        let seeked = seek::seek_time(&app.state.db, PadId(pad.id), *t)
            .await
            .unwrap();
        prop_assert!(
            (seeked.replayed as u64) < TEST_SEGMENT_UPDATES,
            "a seek replayed {} single updates; segments are {} long",
            seeked.replayed,
            TEST_SEGMENT_UPDATES
        );
        prop_assert!(
            seeked.segments <= MAX_SEGMENTS_PER_SEEK,
            "applied {} segments",
            seeked.segments
        );
        prop_assert_eq!(
            &text_of(&seeked.doc, &roots[0]),
            &want.0,
            "a.txt at t={}",
            t
        );
        prop_assert_eq!(
            &text_of(&seeked.doc, &roots[1]),
            &want.1,
            "b.txt at t={}",
            t
        );
        if n % 8 == 0 || n + 1 == instants.len() {
            let r = app
                .get(
                    &rec_path(&pad, &format!("/{rec_id}/state?t={t}")),
                    Some(&owner.token),
                )
                .await;
            prop_assert_eq!(r.status, 200, "{:?}", r.body);
            prop_assert_eq!(r.body["t"].as_i64(), Some(*t));
            prop_assert_eq!(r.body["files"][FILES[0]].as_str(), Some(want.0.as_str()));
            prop_assert_eq!(r.body["files"][FILES[1]].as_str(), Some(want.1.as_str()));
            prop_assert!(
                r.body["files"][pad.name.as_str()].is_string(),
                "the starter file is shown"
            );
        }
    }
    stop_recording(app, owner, &pad, rec_id).await;
    Ok(())
}

#[test]
fn state_at_any_instant_equals_the_document_then_for_random_edit_traces() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (app, owner) = rt.block_on(async {
        let app = TestApp::spawn().await;
        app.state
            .recordings
            .set_segment_updates(TEST_SEGMENT_UPDATES);
        let owner = app.signup("Ada").await;
        (app, owner)
    });
    // Short and long traces; the long ones cross a hundred segments and the engine's own
    // checkpoint every 500 updates.
    let strategy = prop_oneof![
        prop::collection::vec(op(), 1..60),
        prop::collection::vec(op(), 300..900),
    ];
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 16,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    });
    let result = runner.run(&strategy, |trace| {
        rt.block_on(check_trace(&app, &owner, trace))
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// A busy recording: every kind of event, with events before and after the window.

struct Busy {
    app: TestApp,
    owner: TestUser,
    bob: TestUser,
    pad: Pad,
    rec: i64,
    /// The starter file's text when the recording started.
    initial_text: String,
}

async fn busy_recording() -> Busy {
    let app = TestApp::spawn().await;
    let owner = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let pad = new_pad(&app, &owner).await;
    app.add_member(&owner, &pad.slug, &bob, "collaborator")
        .await;
    let pad_id = PadId(pad.id);
    // Before the window: an edit and a chat message that must not show.
    let file = opencoder::db::FileId(pad.file_id);
    app.state
        .docs
        .edit(pad_id, Some(opencoder::db::UserId(owner.id)), move |txn| {
            opencoder::collab::set_text(txn, file, "print('before')\n")
        })
        .await
        .unwrap();
    opencoder::collab::chat_store::insert(
        &app.state.db,
        pad_id,
        opencoder::db::UserId(owner.id),
        "before",
    )
    .await
    .unwrap();
    app.state.docs.flush_log().await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let initial_text = {
        let r = app
            .get(&format!("/api/pads/{}/files", pad.slug), Some(&owner.token))
            .await;
        let id = r.body["files"][0]["id"].as_i64().unwrap();
        app.get(
            &format!("/api/pads/{}/files/{id}", pad.slug),
            Some(&owner.token),
        )
        .await
        .body["content"]
            .as_str()
            .unwrap()
            .to_string()
    };

    let rec = start_recording(&app, &bob, &pad, "Round 1").await;
    // Bob joins over the socket and types.
    let mut peer = collab_support::connect(&app.base, &pad.slug, &bob.token).await;
    peer.synced().await;
    for word in ["x = 1\n", "y = 2\n", "print(x + y)\n"] {
        peer.append(&pad.file, word).await;
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    // Chat, a run, and file changes over REST.
    opencoder::collab::chat_store::insert(
        &app.state.db,
        pad_id,
        opencoder::db::UserId(bob.id),
        "looks good",
    )
    .await
    .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    sqlx::query(
        "INSERT INTO runs (id, pad_id, user_id, language, entry, started_at_ms, finished_at_ms, exit_code, signal, \
         timed_out, oom_killed, truncated, backend, outcome, stdout, stderr) \
         VALUES ('run-1', ?, ?, 'python', 'main.py', ?, ?, 0, NULL, 0, 0, 0, 'docker', 'ok', '3\n', '')",
    )
    .bind(pad.id)
    .bind(bob.id)
    .bind(now)
    .bind(now + 40)
    .execute(app.sql())
    .await
    .unwrap();
    let created = app
        .post(
            &format!("/api/pads/{}/files", pad.slug),
            Some(&owner.token),
            json!({ "name": "util.py", "content": "def f():\n    pass\n" }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let file_id = created.body["file"]["id"].as_i64().unwrap();
    let renamed = app
        .patch(
            &format!("/api/pads/{}/files/{file_id}", pad.slug),
            Some(&owner.token),
            json!({ "name": "helpers.py" }),
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    // Every socket edit is in the log, then Bob leaves.
    eventually("Bob's edits are logged", || async {
        app.state.docs.flush_log().await;
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM doc_updates WHERE pad_id = ? AND user_id = ?")
                .bind(pad.id)
                .bind(bob.id)
                .fetch_one(app.sql())
                .await
                .unwrap();
        n == 3
    })
    .await;
    peer.close().await;
    eventually("join, leave and file events are logged", || async {
        let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM pad_events WHERE pad_id = ?")
            .bind(pad.id)
            .fetch_all(app.sql())
            .await
            .unwrap();
        kinds.iter().any(|k| k == "leave") && kinds.iter().filter(|k| *k == "files").count() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    stop_recording(&app, &owner, &pad, rec).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    // After the window: must not show.
    let file = opencoder::db::FileId(pad.file_id);
    app.state
        .docs
        .edit(pad_id, Some(opencoder::db::UserId(owner.id)), move |txn| {
            opencoder::collab::set_text(txn, file, "after\n")
        })
        .await
        .unwrap();
    opencoder::collab::chat_store::insert(
        &app.state.db,
        pad_id,
        opencoder::db::UserId(owner.id),
        "after",
    )
    .await
    .unwrap();
    app.state.docs.flush_log().await;
    Busy {
        app,
        owner,
        bob,
        pad,
        rec,
        initial_text,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_pages_return_every_event_of_the_window_once_in_time_order() {
    let Busy {
        app,
        owner,
        bob,
        pad,
        rec,
        ..
    } = busy_recording().await;
    let all = whole_timeline(&app, &owner, &pad, rec, 1000).await;
    for limit in [1, 3, 7] {
        let paged = whole_timeline(&app, &owner, &pad, rec, limit).await;
        assert_eq!(
            paged, all,
            "pages of {limit} return the same events as one page"
        );
    }
    // The export's way (one replayer across pages, seeking only once) names the same files.
    let recording = store::find_recording(&app.state.db, PadId(pad.id), rec)
        .await
        .unwrap()
        .unwrap();
    let window = timeline::Window::of(&recording);
    let mut replayer = timeline::Replayer::default();
    let mut after: Option<String> = None;
    let mut via_library = Vec::new();
    loop {
        let page = timeline::page_with(
            &app.state.db,
            PadId(pad.id),
            window,
            after.as_deref(),
            2,
            store::Audience::Interviewers,
            &mut replayer,
        )
        .await
        .unwrap();
        via_library.extend(
            page.events
                .into_iter()
                .map(|e| serde_json::to_value(e).unwrap()),
        );
        if !page.has_more {
            break;
        }
        after = Some(page.next_cursor);
    }
    assert_eq!(via_library, all);
    let ats: Vec<i64> = all.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert!(
        ats.windows(2).all(|w| w[0] <= w[1]),
        "ordered by time: {ats:?}"
    );
    let listed = app.get(&rec_path(&pad, ""), Some(&owner.token)).await;
    let recording = &listed.body["recordings"][0];
    let (from, to) = (
        recording["startedAt"].as_i64().unwrap(),
        recording["endedAt"].as_i64().unwrap(),
    );
    assert!(
        ats.iter().all(|at| (from..=to).contains(at)),
        "only events of the window"
    );

    // Each event once.
    let identities: Vec<String> = all
        .iter()
        .map(|e| format!("{}:{}", e["kind"], e["data"]))
        .collect();
    let unique: HashSet<&String> = identities.iter().collect();
    assert_eq!(unique.len(), identities.len(), "no event twice");

    let of = |kind: &str| all.iter().filter(|e| e["kind"] == kind).collect::<Vec<_>>();
    // Edits: every logged update of the window, with author and file.
    let logged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM doc_updates WHERE pad_id = ? AND at_ms BETWEEN ? AND ?",
    )
    .bind(pad.id)
    .bind(from)
    .bind(to)
    .fetch_one(app.sql())
    .await
    .unwrap();
    let edits = of("edit");
    assert_eq!(edits.len() as i64, logged);
    let bobs: Vec<_> = edits.iter().filter(|e| e["userId"] == bob.id).collect();
    assert_eq!(bobs.len(), 3);
    for edit in &bobs {
        assert_eq!(edit["userName"], "Bob");
        assert_eq!(edit["data"]["files"], json!([pad.name]));
        assert!(STANDARD
            .decode(edit["data"]["update"].as_str().unwrap())
            .is_ok());
    }
    // Named through the file lists the recording logged: the name it had then, or got right after.
    assert!(
        edits
            .iter()
            .any(|e| e["data"]["files"] == json!(["util.py"])
                || e["data"]["files"] == json!(["helpers.py"])),
        "the REST file creation is an edit of util.py"
    );
    // Chat, run, presence and file list changes.
    let chats = of("chat");
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0]["data"]["body"], "looks good");
    assert_eq!(chats[0]["userName"], "Bob");
    let runs = of("run");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["data"]["stdout"], "3\n");
    assert_eq!(runs[0]["data"]["exitCode"], 0);
    assert_eq!(of("join").len(), 1);
    assert_eq!(of("join")[0]["userId"], bob.id);
    assert_eq!(of("leave").len(), 1);
    let files = of("files");
    let ops: Vec<&Value> = files
        .iter()
        .flat_map(|e| e["data"]["changes"].as_array().into_iter().flatten())
        .map(|c| &c["op"])
        .collect();
    assert!(
        ops.contains(&&json!("created")) && ops.contains(&&json!("renamed")),
        "{files:?}"
    );
    assert!(files.last().unwrap()["data"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "helpers.py"));
    assert!(!all
        .iter()
        .any(|e| e["data"]["body"] == "before" || e["data"]["body"] == "after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_is_a_download_with_the_documented_schema() {
    let Busy {
        app,
        owner,
        pad,
        rec,
        initial_text,
        ..
    } = busy_recording().await;
    let r = app
        .get(
            &rec_path(&pad, &format!("/{rec}/export")),
            Some(&owner.token),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.header("content-disposition"),
        Some(format!("attachment; filename=\"recording-{}-{rec}.json\"", pad.slug).as_str())
    );
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let export = &r.body;
    let keys: Vec<&str> = export
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "version",
        "exportedAt",
        "pad",
        "recording",
        "files",
        "initialState",
        "events",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    assert_eq!(export["version"], 1);
    assert!(export["exportedAt"].as_i64().unwrap() > 0);
    assert_eq!(
        export["pad"],
        json!({ "slug": pad.slug, "title": "interview", "language": "python", "kind": "sandbox" })
    );
    let recording = &export["recording"];
    assert_eq!(recording["id"], rec);
    assert_eq!(recording["name"], "Round 1");
    assert!(recording["startedAt"].is_i64() && recording["endedAt"].is_i64());
    assert_eq!(recording["active"], false);
    assert_eq!(export["files"], json!({ pad.name.clone(): initial_text }));
    assert_eq!(
        export["events"].as_array().unwrap(),
        &whole_timeline(&app, &owner, &pad, rec, 1000).await
    );

    // initialState + every edit's update reproduce the document at the end of the window.
    let doc = collab_support::new_doc();
    let mut updates = vec![STANDARD
        .decode(export["initialState"].as_str().unwrap())
        .unwrap()];
    for event in export["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "edit")
    {
        updates.push(
            STANDARD
                .decode(event["data"]["update"].as_str().unwrap())
                .unwrap(),
        );
    }
    for update in updates {
        doc.transact_mut()
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
    }
    let end = recording["endedAt"].as_i64().unwrap();
    let state = app
        .get(
            &rec_path(&pad, &format!("/{rec}/state?t={end}&yjs=true")),
            Some(&owner.token),
        )
        .await;
    assert_eq!(state.status, 200);
    let files: BTreeMap<String, String> =
        serde_json::from_value(state.body["files"].clone()).unwrap();
    assert_eq!(files.get(&pad.name), Some(&text_of(&doc, &pad.file)));
    assert_eq!(
        files.get("helpers.py").map(String::as_str),
        Some("def f():\n    pass\n")
    );
    assert!(
        !files.contains_key("util.py"),
        "a renamed-away file is not shown"
    );
    assert!(state.body["yjsState"].is_string());
}

// ---------------------------------------------------------------------------------------------
// Roles, validation, audit

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_enforced_on_every_recording_route() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Owner").await;
    let collaborator = app.signup("Collab").await;
    let candidate = app.signup("Candidate").await;
    let viewer = app.signup("Viewer").await;
    let stranger = app.signup("Stranger").await;
    let pad = new_pad(&app, &owner).await;
    app.add_member(&owner, &pad.slug, &collaborator, "collaborator")
        .await;
    app.add_member(&owner, &pad.slug, &candidate, "candidate")
        .await;
    app.add_member(&owner, &pad.slug, &viewer, "viewer").await;

    // Start: owner and collaborator only.
    for user in [&candidate, &viewer] {
        let r = app
            .post(&rec_path(&pad, ""), Some(&user.token), json!({}))
            .await;
        assert_eq!(r.status, 403, "{} may not start: {:?}", user.name, r.body);
    }
    let rec = start_recording(&app, &collaborator, &pad, "by collaborator").await;
    let now = chrono::Utc::now().timestamp_millis();
    let watch = [
        rec_path(&pad, ""),
        rec_path(&pad, &format!("/{rec}/timeline")),
        rec_path(&pad, &format!("/{rec}/state?t={now}")),
        rec_path(&pad, &format!("/{rec}/export")),
    ];
    for path in &watch {
        for user in [&owner, &collaborator, &viewer] {
            let r = app.get(path, Some(&user.token)).await;
            assert_eq!(
                r.status, 200,
                "{} may watch {path}: {:?}",
                user.name, r.body
            );
        }
        let r = app.get(path, Some(&candidate.token)).await;
        assert_eq!(r.status, 403, "a candidate may not watch {path}");
        assert_eq!(r.body["error"], "forbidden");
        assert_eq!(
            app.get(path, Some(&stranger.token)).await.status,
            404,
            "a non-member learns nothing"
        );
        assert_eq!(app.get(path, None).await.status, 401);
    }
    // Stop: not viewer or candidate.
    for user in [&candidate, &viewer] {
        let r = app
            .post(
                &rec_path(&pad, &format!("/{rec}/stop")),
                Some(&user.token),
                json!({}),
            )
            .await;
        assert_eq!(r.status, 403);
    }
    stop_recording(&app, &collaborator, &pad, rec).await;
    // Delete and settings: owner only.
    for user in [&collaborator, &candidate, &viewer] {
        assert_eq!(
            app.delete(&rec_path(&pad, &format!("/{rec}")), Some(&user.token))
                .await
                .status,
            403
        );
        let r = app
            .patch(
                &format!("/api/pads/{}/recording-settings", pad.slug),
                Some(&user.token),
                json!({ "autoRecord": true }),
            )
            .await;
        assert_eq!(r.status, 403);
    }
    let r = app
        .patch(
            &format!("/api/pads/{}/recording-settings", pad.slug),
            Some(&owner.token),
            json!({ "autoRecord": true }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({ "autoRecord": true }));
    assert_eq!(
        app.get(&rec_path(&pad, ""), Some(&viewer.token)).await.body["autoRecord"],
        true
    );
    assert_eq!(
        app.delete(&rec_path(&pad, &format!("/{rec}")), Some(&stranger.token))
            .await
            .status,
        404
    );
    let r = app
        .delete(&rec_path(&pad, &format!("/{rec}")), Some(&owner.token))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_stop_and_delete_are_audited_and_conflicts_are_409() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Ada").await;
    let pad = new_pad(&app, &owner).await;
    let other = new_pad(&app, &owner).await;
    let rec = start_recording(&app, &owner, &pad, "  Round 1  ").await;
    let again = app
        .post(
            &rec_path(&pad, ""),
            Some(&owner.token),
            json!({ "name": "second" }),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["error"], "already_recording");
    let listed = app.get(&rec_path(&pad, ""), Some(&owner.token)).await;
    assert_eq!(listed.body["recordings"][0]["name"], "Round 1");
    assert_eq!(listed.body["recordings"][0]["active"], true);
    assert_eq!(
        listed.body["recordings"][0]["createdBy"],
        json!({ "userId": owner.id, "name": "Ada" })
    );
    // Another pad's recording is as unknown as a missing one.
    assert_eq!(
        app.post(
            &rec_path(&other, &format!("/{rec}/stop")),
            Some(&owner.token),
            json!({})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.get(
            &rec_path(&other, &format!("/{rec}/timeline")),
            Some(&owner.token)
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.get(&rec_path(&pad, "/junk/timeline"), Some(&owner.token))
            .await
            .status,
        404
    );

    let stopped = stop_recording(&app, &owner, &pad, rec).await;
    assert_eq!(stopped["stopReason"], "manual");
    assert_eq!(
        stopped["durationMs"],
        stopped["endedAt"].as_i64().unwrap() - stopped["startedAt"].as_i64().unwrap()
    );
    let twice = app
        .post(
            &rec_path(&pad, &format!("/{rec}/stop")),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.body["error"], "not_recording");

    let updates_before: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM doc_updates WHERE pad_id = ?")
            .bind(pad.id)
            .fetch_one(app.sql())
            .await
            .unwrap();
    assert_eq!(
        app.delete(&rec_path(&pad, &format!("/{rec}")), Some(&owner.token))
            .await
            .status,
        200
    );
    assert_eq!(
        app.delete(&rec_path(&pad, &format!("/{rec}")), Some(&owner.token))
            .await
            .status,
        404
    );
    assert!(
        app.get(&rec_path(&pad, ""), Some(&owner.token)).await.body["recordings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let updates_after: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM doc_updates WHERE pad_id = ?")
            .bind(pad.id)
            .fetch_one(app.sql())
            .await
            .unwrap();
    assert_eq!(
        updates_after, updates_before,
        "deleting a recording keeps the pad's log"
    );

    for action in ["recording.start", "recording.stop", "recording.delete"] {
        let rows = app.audit_rows(action).await;
        assert_eq!(rows.len(), 1, "{action}: {rows:?}");
        let (user, target, meta) = &rows[0];
        assert_eq!(*user, Some(owner.id), "{action}");
        assert_eq!(target.as_deref(), Some(pad.slug.as_str()), "{action}");
        let meta: Value = serde_json::from_str(meta.as_deref().unwrap()).unwrap();
        assert_eq!(meta["recordingId"], rec, "{action}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_answered_400() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Ada").await;
    let pad = new_pad(&app, &owner).await;
    let bad_name = app
        .post(
            &rec_path(&pad, ""),
            Some(&owner.token),
            json!({ "name": "x".repeat(101) }),
        )
        .await;
    assert_eq!(bad_name.status, 400);
    assert_eq!(bad_name.body["error"], "invalid_name");
    let rec = start_recording(&app, &owner, &pad, "r").await;
    for (query, code) in [
        ("/state", "invalid_query"),
        ("/state?t=soon", "invalid_query"),
        ("/timeline?limit=0", "invalid_limit"),
        ("/timeline?limit=1001", "invalid_limit"),
        ("/timeline?limit=ten", "invalid_query"),
        ("/timeline?after=garbage", "invalid_cursor"),
    ] {
        let r = app
            .get(
                &rec_path(&pad, &format!("/{rec}{query}")),
                Some(&owner.token),
            )
            .await;
        assert_eq!(r.status, 400, "{query}: {:?}", r.body);
        assert_eq!(r.body["error"], code, "{query}");
    }
    // A `t` outside the window is moved into it.
    let r = app
        .get(
            &rec_path(&pad, &format!("/{rec}/state?t=0")),
            Some(&owner.token),
        )
        .await;
    assert_eq!(r.status, 200);
    let listed = app.get(&rec_path(&pad, ""), Some(&owner.token)).await;
    assert_eq!(r.body["t"], listed.body["recordings"][0]["startedAt"]);
}

// ---------------------------------------------------------------------------------------------
// Auto-record

async fn recordings_of(app: &TestApp, user: &TestUser, pad: &Pad) -> Vec<Value> {
    app.get(&rec_path(pad, ""), Some(&user.token)).await.body["recordings"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_record_starts_on_the_first_join_and_stops_after_the_idle_grace() {
    let app = TestApp::spawn().await;
    app.state
        .recordings
        .set_idle_grace(Duration::from_millis(300));
    let owner = app.signup("Ada").await;
    let pad = new_pad(&app, &owner).await;
    let r = app
        .patch(
            &format!("/api/pads/{}/recording-settings", pad.slug),
            Some(&owner.token),
            json!({ "autoRecord": true }),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        recordings_of(&app, &owner, &pad).await.is_empty(),
        "nothing records before anyone joins"
    );

    let mut peer = collab_support::connect(&app.base, &pad.slug, &owner.token).await;
    peer.synced().await;
    eventually("an auto recording starts on the first join", || async {
        recordings_of(&app, &owner, &pad)
            .await
            .first()
            .is_some_and(|r| r["active"] == true && r["autoStarted"] == true)
    })
    .await;
    // Everyone on the pad is told (a candidate too: the session is being recorded).
    assert!(
        peer.until(Duration::from_secs(5), |p| p
            .app_messages("recordings.changed")
            .iter()
            .any(|m| m["recording"].is_i64()))
            .await,
        "recordings.changed reaches the socket"
    );
    // A second connection does not start another.
    let mut second = collab_support::connect(&app.base, &pad.slug, &owner.token).await;
    second.synced().await;
    peer.append(&pad.file, "typed while recorded\n").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(recordings_of(&app, &owner, &pad).await.len(), 1);

    // Leaving and coming back within the grace keeps the recording going.
    second.close().await;
    peer.close().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut back = collab_support::connect(&app.base, &pad.slug, &owner.token).await;
    back.synced().await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let recordings = recordings_of(&app, &owner, &pad).await;
    assert_eq!(recordings.len(), 1);
    assert_eq!(
        recordings[0]["active"], true,
        "a rejoin within the grace cancels the stop"
    );

    // Everyone gone for the grace: stopped, ending when the last person left.
    let left_at = chrono::Utc::now().timestamp_millis();
    back.close().await;
    eventually("the auto recording stops after the grace", || async {
        recordings_of(&app, &owner, &pad).await[0]["active"] == false
    })
    .await;
    let recording = &recordings_of(&app, &owner, &pad).await[0];
    assert_eq!(recording["stopReason"], "idle");
    let ended = recording["endedAt"].as_i64().unwrap();
    assert!(
        ended >= left_at - 50 && ended <= left_at + 250,
        "ended {ended}, left {left_at}"
    );
    let id = recording["id"].as_i64().unwrap();
    // The window holds the joins, the typing and the leaves.
    let events = whole_timeline(&app, &owner, &pad, id, 100).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"join") && kinds.contains(&"edit") && kinds.contains(&"leave"),
        "{kinds:?}"
    );
    // Audited, with the joiner as the actor of the start and no actor for the idle stop.
    let starts = app.audit_rows("recording.start").await;
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].0, Some(owner.id));
    assert_eq!(starts[0].1.as_deref(), Some(pad.slug.as_str()));
    let stops = app.audit_rows("recording.stop").await;
    assert_eq!(stops.len(), 1);
    assert!(stops[0].2.as_deref().unwrap().contains("idle"));

    // The next first join starts a new recording.
    let again = collab_support::connect(&app.base, &pad.slug, &owner.token).await;
    eventually("a new first join records again", || async {
        recordings_of(&app, &owner, &pad).await.len() == 2
    })
    .await;
    again.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_stop_of_an_auto_recording_is_final() {
    let app = TestApp::spawn().await;
    app.state
        .recordings
        .set_idle_grace(Duration::from_millis(200));
    let owner = app.signup("Ada").await;
    let pad = new_pad(&app, &owner).await;
    app.patch(
        &format!("/api/pads/{}/recording-settings", pad.slug),
        Some(&owner.token),
        json!({ "autoRecord": true }),
    )
    .await;
    let peer = collab_support::connect(&app.base, &pad.slug, &owner.token).await;
    eventually("auto recording", || async {
        !recordings_of(&app, &owner, &pad).await.is_empty()
    })
    .await;
    let id = recordings_of(&app, &owner, &pad).await[0]["id"]
        .as_i64()
        .unwrap();
    let stopped = stop_recording(&app, &owner, &pad, id).await;
    peer.close().await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let recordings = recordings_of(&app, &owner, &pad).await;
    assert_eq!(recordings.len(), 1);
    assert_eq!(
        recordings[0], stopped,
        "the idle stop does not touch a stopped recording"
    );
    assert_eq!(app.audit_rows("recording.stop").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_auto_record_joining_records_nothing_but_presence_is_logged() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Ada").await;
    let pad = new_pad(&app, &owner).await;
    let peer = collab_support::connect(&app.base, &pad.slug, &owner.token).await;
    eventually("the join is logged", || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pad_events WHERE pad_id = ? AND kind = 'join'",
        )
        .bind(pad.id)
        .fetch_one(app.sql())
        .await
        .unwrap();
        n == 1
    })
    .await;
    peer.close().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(recordings_of(&app, &owner, &pad).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_auto_record_on_while_people_are_on_the_pad_records_at_once() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Ada").await;
    let pad = new_pad(&app, &owner).await;
    let mut peer = collab_support::connect(&app.base, &pad.slug, &owner.token).await;
    peer.synced().await;
    let r = app
        .patch(
            &format!("/api/pads/{}/recording-settings", pad.slug),
            Some(&owner.token),
            json!({ "autoRecord": true }),
        )
        .await;
    assert_eq!(r.status, 200);
    let recordings = recordings_of(&app, &owner, &pad).await;
    assert_eq!(recordings.len(), 1);
    assert_eq!(recordings[0]["active"], true);
    assert_eq!(recordings[0]["autoStarted"], true);
    peer.close().await;
}

// ---------------------------------------------------------------------------------------------
// Budgets: the state's merge bound and the per-user rate limits of state and export

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_that_would_merge_more_than_its_budget_is_refused_with_413() {
    let app = TestApp::spawn_with(&[("RECORDING_STATE_MAX_BYTES", "8192")]).await;
    let owner = app.signup("Ada").await;
    let pad = new_pad(&app, &owner).await;
    let rec = start_recording(&app, &owner, &pad, "long").await;
    // About 40 × 600 bytes of single updates after the recording's start: over 8 KiB.
    for i in 0..40 {
        let (file, text) = (
            opencoder::db::FileId(pad.file_id),
            format!("# revision {i}\n{}", "x = 1\n".repeat(100)),
        );
        app.state
            .docs
            .edit(
                PadId(pad.id),
                Some(opencoder::db::UserId(owner.id)),
                move |txn| opencoder::collab::set_text(txn, file, &text),
            )
            .await
            .unwrap();
    }
    app.state.docs.flush_log().await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let recording = stop_recording(&app, &owner, &pad, rec).await;
    let (start, end) = (
        recording["startedAt"].as_i64().unwrap(),
        recording["endedAt"].as_i64().unwrap(),
    );

    let refused = app
        .get(
            &rec_path(&pad, &format!("/{rec}/state?t={end}")),
            Some(&owner.token),
        )
        .await;
    assert_eq!(refused.status, 413, "{:?}", refused.body);
    assert_eq!(refused.body["error"], "payload_too_large");
    assert!(
        refused.body["message"].as_str().unwrap().contains("8192"),
        "{:?}",
        refused.body
    );
    // An instant with little history before it is still answered.
    let early = app
        .get(
            &rec_path(&pad, &format!("/{rec}/state?t={start}")),
            Some(&owner.token),
        )
        .await;
    assert_eq!(early.status, 200, "{:?}", early.body);
    // The export streams the same history page by page: no budget is hit.
    assert_eq!(
        app.get(
            &rec_path(&pad, &format!("/{rec}/export")),
            Some(&owner.token)
        )
        .await
        .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_state_are_rate_limited_per_user() {
    let app = TestApp::spawn_with(&[
        ("RECORDING_EXPORTS_PER_MINUTE", "2"),
        ("RECORDING_STATES_PER_MINUTE", "3"),
    ])
    .await;
    let owner = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let pad = new_pad(&app, &owner).await;
    app.add_member(&owner, &pad.slug, &bob, "viewer").await;
    let rec = start_recording(&app, &owner, &pad, "r").await;
    stop_recording(&app, &owner, &pad, rec).await;
    let export = rec_path(&pad, &format!("/{rec}/export"));
    let state = rec_path(&pad, &format!("/{rec}/state?t=0"));

    for (path, budget) in [(&export, 2), (&state, 3)] {
        for i in 0..budget {
            assert_eq!(
                app.get(path, Some(&owner.token)).await.status,
                200,
                "{path} call {i}"
            );
        }
        let limited = app.get(path, Some(&owner.token)).await;
        assert_eq!(limited.status, 429, "{path}: {:?}", limited.body);
        assert_eq!(limited.body["error"], "rate_limited");
        let retry: u64 = limited
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        // Another user of the same pad (and address) is unaffected.
        assert_eq!(
            app.get(path, Some(&bob.token)).await.status,
            200,
            "{path} for Bob"
        );
    }
}

/// The file list at a recording's start is logged even when a list equal to today's was logged
/// a moment later (the background handling a file change runs on its own schedule): comparing
/// with that later list would leave playback at the start with an older list, missing an empty
/// file.
#[tokio::test]
async fn the_file_list_at_a_start_is_compared_with_the_list_then_not_with_a_later_one() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Ada").await;
    let pad = new_pad(&app, &owner).await;
    let id = PadId(pad.id);
    let now = opencoder::recordings::now_ms();
    service::record_file_list(&app.state, id, now - 1_000)
        .await
        .unwrap();
    // A file made through the store: no file-change event, so only the lists below are logged.
    opencoder::pads::files_store::create(&app.state.db, id, "empty.txt", "plaintext", 50)
        .await
        .unwrap()
        .unwrap();
    let files: Vec<Value> = opencoder::pads::files_store::list(&app.state.db, id)
        .await
        .unwrap()
        .into_iter()
        .map(|f| json!({ "id": f.id.0, "name": f.name, "language": f.language }))
        .collect();
    store::insert_pad_event(
        &app.state.db,
        None,
        id,
        now + 60_000,
        "files",
        None,
        &json!({ "files": files }),
    )
    .await
    .unwrap();

    service::record_file_list(&app.state, id, now)
        .await
        .unwrap();
    let listed = opencoder::recordings::export::listed_files(&app.state.db, id, now)
        .await
        .unwrap()
        .unwrap();
    assert!(
        listed.contains("empty.txt"),
        "the list at the start lacks the empty file: {listed:?}"
    );
}
