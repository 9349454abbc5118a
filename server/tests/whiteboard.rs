//! The pad's whiteboard (issue 13 §6) over the real pad socket: the root map `whiteboard` of
//! Excalidraw elements is relayed and stored like any edit, refused from read-only roles (viewers,
//! a locked interview's candidate), bounded (`collab::whiteboard` limits), and carried into fork,
//! playback and the recording export.

mod collab_support;
mod common;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use collab_support::{connect, Peer};
use common::{TestApp, TestUser};
use opencoder::collab::whiteboard::{
    MAX_WHITEBOARD_ELEMENTS, MAX_WHITEBOARD_ELEMENT_BYTES, WHITEBOARD_ROOT,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use yrs::updates::decoder::Decode;
use yrs::{Any, Doc, Map, Out, ReadTxn, Transact, Update};

struct Pad {
    slug: String,
    id: i64,
}

async fn new_pad(app: &TestApp, owner: &TestUser) -> Pad {
    let body = app
        .create_pad(owner, json!({ "title": "design", "language": "python" }))
        .await;
    Pad {
        slug: body["pad"]["slug"].as_str().unwrap().to_string(),
        id: body["pad"]["id"].as_i64().unwrap(),
    }
}

/// An Excalidraw rectangle as the clients store it.
fn rectangle(id: &str, version: u32) -> Any {
    element(id, version, false)
}

fn element(id: &str, version: u32, deleted: bool) -> Any {
    Any::from_json(
        &json!({
            "id": id, "type": "rectangle", "x": 10, "y": 20, "width": 100, "height": 50,
            "index": "a0", "version": version, "versionNonce": 1, "isDeleted": deleted,
        })
        .to_string(),
    )
    .unwrap()
}

/// Set elements on the peer's board and send the update.
async fn draw(peer: &mut Peer, elements: Vec<(String, Any)>) {
    let update = {
        let board = peer.doc.get_or_insert_map(WHITEBOARD_ROOT);
        let mut txn = peer.doc.transact_mut();
        for (id, element) in elements {
            board.insert(&mut txn, id, element);
        }
        txn.encode_update_v1()
    };
    peer.send(oc_proto::encode_update(&update)).await;
}

/// The element ids on a document's board.
fn board_ids(doc: &Doc) -> Vec<String> {
    let txn = doc.transact();
    let mut ids: Vec<String> = txn
        .get_map(WHITEBOARD_ROOT)
        .map(|m| m.keys(&txn).map(str::to_string).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

/// The element ids on the server's copy of the pad's board.
async fn stored_ids(app: &TestApp, pad: &Pad) -> Vec<String> {
    let doc = app
        .state
        .docs
        .open(opencoder::db::PadId(pad.id))
        .await
        .unwrap();
    let mut ids: Vec<String> = doc.whiteboard().into_iter().map(|(id, _)| id).collect();
    ids.sort();
    ids
}

async fn logged(app: &TestApp, pad: &Pad) -> i64 {
    app.state.docs.flush_log().await;
    sqlx::query_scalar("SELECT COUNT(*) FROM doc_updates WHERE pad_id = ?")
        .bind(pad.id)
        .fetch_one(app.sql())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_collaborators_drawing_is_stored_and_reaches_the_other_socket() {
    let app = TestApp::spawn().await;
    let (owner, bob) = (app.signup("Owner").await, app.signup("Bob").await);
    let pad = new_pad(&app, &owner).await;
    app.add_member(&owner, &pad.slug, &bob, "collaborator")
        .await;
    let mut watcher = connect(&app.base, &pad.slug, &owner.token).await;
    watcher.synced().await;
    let mut drawer = connect(&app.base, &pad.slug, &bob.token).await;
    drawer.synced().await;

    draw(&mut drawer, vec![("box".into(), rectangle("box", 1))]).await;
    assert!(
        watcher
            .until(Duration::from_secs(5), |p| board_ids(&p.doc) == ["box"])
            .await
    );
    // A newer version of the element replaces it for everyone.
    draw(&mut drawer, vec![("box".into(), rectangle("box", 2))]).await;
    assert!(
        watcher
            .until(Duration::from_secs(5), |p| {
                let txn = p.doc.transact();
                let board = txn.get_map(WHITEBOARD_ROOT).unwrap();
                match board.get(&txn, "box") {
                    Some(Out::Any(e)) => serde_json::to_value(&e).unwrap()["version"] == 2,
                    _ => false,
                }
            })
            .await
    );
    assert_eq!(stored_ids(&app, &pad).await, ["box"]);
    // A socket opened later gets it from the server.
    let mut late = connect(&app.base, &pad.slug, &owner.token).await;
    late.synced().await;
    assert_eq!(board_ids(&late.doc), ["box"]);
    assert!(drawer.closed.is_none() && watcher.closed.is_none());
}

#[tokio::test]
async fn a_viewers_drawing_is_refused_and_not_applied() {
    let app = TestApp::spawn().await;
    let (owner, vic) = (app.signup("Owner").await, app.signup("Vic").await);
    let pad = new_pad(&app, &owner).await;
    app.add_member(&owner, &pad.slug, &vic, "viewer").await;
    let mut watcher = connect(&app.base, &pad.slug, &owner.token).await;
    watcher.synced().await;
    let mut viewer = connect(&app.base, &pad.slug, &vic.token).await;
    viewer.synced().await;
    let rows = logged(&app, &pad).await;

    draw(
        &mut viewer,
        vec![("graffiti".into(), rectangle("graffiti", 1))],
    )
    .await;
    assert!(
        viewer
            .until(Duration::from_secs(5), |p| p.permission_denied > 0
                && p.has_error("read_only"))
            .await
    );
    watcher.drain(Duration::from_millis(300)).await;
    assert!(board_ids(&watcher.doc).is_empty(), "not relayed");
    assert!(stored_ids(&app, &pad).await.is_empty(), "not applied");
    assert_eq!(logged(&app, &pad).await, rows, "not logged");

    // The viewer still sees what others draw.
    draw(&mut watcher, vec![("box".into(), rectangle("box", 1))]).await;
    assert!(
        viewer
            .until(Duration::from_secs(5), |p| board_ids(&p.doc)
                .contains(&"box".to_string()))
            .await
    );
}

#[tokio::test]
async fn a_locked_interview_refuses_the_candidates_drawing() {
    let app = TestApp::spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let question = app
        .post(
            "/api/questions",
            Some(&ada.token),
            json!({
                "title": "Design a URL shortener", "prompt": "Draw the parts.", "difficulty": "medium",
                "tags": [], "languages": [{ "language": "python", "files": [] }],
            }),
        )
        .await;
    assert_eq!(question.status, StatusCode::CREATED, "{:?}", question.body);
    let started = app
        .post(
            &format!("/api/questions/{}/interviews", question.body["id"]),
            Some(&ada.token),
            json!({ "language": "python" }),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let pad = Pad {
        slug: started.body["pad"]["slug"].as_str().unwrap().to_string(),
        id: started.body["pad"]["id"].as_i64().unwrap(),
    };
    app.add_member(&ada, &pad.slug, &cam, "candidate").await;
    let knock = app
        .post(
            &format!("/api/pads/{}/interview/knock", pad.slug),
            Some(&cam.token),
            json!({}),
        )
        .await;
    assert_eq!(knock.status, StatusCode::OK, "{:?}", knock.body);
    let admitted = app
        .post(
            &format!("/api/pads/{}/interview/admissions/{}", pad.slug, cam.id),
            Some(&ada.token),
            json!({ "admit": true }),
        )
        .await;
    assert_eq!(admitted.status, StatusCode::OK, "{:?}", admitted.body);
    let mut candidate = connect(&app.base, &pad.slug, &cam.token).await;
    candidate.synced().await;
    draw(
        &mut candidate,
        vec![("before".into(), rectangle("before", 1))],
    )
    .await;
    for _ in 0..50 {
        if stored_ids(&app, &pad).await == ["before"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored_ids(&app, &pad).await, ["before"]);

    let locked = app
        .patch(
            &format!("/api/pads/{}/interview", pad.slug),
            Some(&ada.token),
            json!({ "locked": true }),
        )
        .await;
    assert_eq!(locked.status, StatusCode::OK, "{:?}", locked.body);
    assert!(
        candidate
            .until(Duration::from_secs(5), |p| p.has_app("interview.changed"))
            .await
    );
    draw(
        &mut candidate,
        vec![("while".into(), rectangle("while", 1))],
    )
    .await;
    assert!(
        candidate
            .until(Duration::from_secs(5), |p| p.has_error("pad_locked"))
            .await
    );
    assert_eq!(stored_ids(&app, &pad).await, ["before"]);
}

#[tokio::test]
async fn the_board_holds_its_element_cap_and_no_element_over_its_size() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Owner").await;
    let pad = new_pad(&app, &owner).await;
    let small = |i: u32| (format!("e{i}"), Any::from(i64::from(i)));

    // Exactly the cap fits, in one update.
    let mut peer = connect(&app.base, &pad.slug, &owner.token).await;
    peer.synced().await;
    draw(&mut peer, (0..MAX_WHITEBOARD_ELEMENTS).map(small).collect()).await;
    peer.drain(Duration::from_millis(500)).await;
    assert!(peer.closed.is_none(), "{:?}", peer.closed);
    for _ in 0..50 {
        if stored_ids(&app, &pad).await.len() == MAX_WHITEBOARD_ELEMENTS as usize {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        stored_ids(&app, &pad).await.len(),
        MAX_WHITEBOARD_ELEMENTS as usize
    );
    // Redrawing an element of the full board is fine.
    draw(&mut peer, vec![("e0".into(), rectangle("e0", 2))]).await;
    peer.drain(Duration::from_millis(300)).await;
    assert!(peer.closed.is_none(), "{:?}", peer.closed);
    // One more element closes the socket and is not applied.
    draw(&mut peer, vec![small(MAX_WHITEBOARD_ELEMENTS)]).await;
    assert_eq!(peer.closed_within(Duration::from_secs(5)).await, Some(1009));
    assert_eq!(
        stored_ids(&app, &pad).await.len(),
        MAX_WHITEBOARD_ELEMENTS as usize
    );

    // An element over its size limit on an empty board: refused the same way.
    let other = new_pad(&app, &owner).await;
    let mut peer = connect(&app.base, &other.slug, &owner.token).await;
    peer.synced().await;
    let huge = Any::from("x".repeat(MAX_WHITEBOARD_ELEMENT_BYTES));
    draw(&mut peer, vec![("huge".into(), huge)]).await;
    assert_eq!(peer.closed_within(Duration::from_secs(5)).await, Some(1009));
    assert!(stored_ids(&app, &other).await.is_empty());
}

#[tokio::test]
async fn a_fork_copies_the_board() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Owner").await;
    let pad = new_pad(&app, &owner).await;
    let mut peer = connect(&app.base, &pad.slug, &owner.token).await;
    peer.synced().await;
    draw(&mut peer, vec![("box".into(), rectangle("box", 3))]).await;
    for _ in 0..50 {
        if !stored_ids(&app, &pad).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let forked = app
        .post(
            &format!("/api/pads/{}/fork", pad.slug),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(forked.status, StatusCode::CREATED, "{:?}", forked.body);
    let fork = Pad {
        slug: forked.body["pad"]["slug"].as_str().unwrap().to_string(),
        id: forked.body["pad"]["id"].as_i64().unwrap(),
    };
    let mut reader = connect(&app.base, &fork.slug, &owner.token).await;
    reader.synced().await;
    assert_eq!(board_ids(&reader.doc), ["box"]);
}

/// The board at `t` from the playback state endpoint (its Yjs state).
async fn board_at(app: &TestApp, owner: &TestUser, pad: &Pad, rec: i64, t: i64) -> Vec<String> {
    let state = app
        .get(
            &format!(
                "/api/pads/{}/recordings/{rec}/state?t={t}&yjs=true",
                pad.slug
            ),
            Some(&owner.token),
        )
        .await;
    assert_eq!(state.status, StatusCode::OK, "{:?}", state.body);
    let bytes = STANDARD
        .decode(state.body["yjsState"].as_str().unwrap())
        .unwrap();
    let doc = collab_support::new_doc();
    doc.transact_mut()
        .apply_update(Update::decode_v1(&bytes).unwrap())
        .unwrap();
    board_ids(&doc)
}

#[tokio::test]
async fn playback_and_the_recording_export_carry_the_board() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Owner").await;
    let pad = new_pad(&app, &owner).await;
    let started = app
        .post(
            &format!("/api/pads/{}/recordings", pad.slug),
            Some(&owner.token),
            json!({ "name": "design round" }),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let rec = started.body["recording"]["id"].as_i64().unwrap();
    let from = started.body["recording"]["startedAt"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    let mut peer = connect(&app.base, &pad.slug, &owner.token).await;
    peer.synced().await;
    draw(
        &mut peer,
        vec![
            ("box".into(), rectangle("box", 1)),
            ("gone".into(), element("gone", 2, true)),
        ],
    )
    .await;
    for _ in 0..50 {
        if stored_ids(&app, &pad).await.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.state.docs.flush_log().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let stopped = app
        .post(
            &format!("/api/pads/{}/recordings/{rec}/stop", pad.slug),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{:?}", stopped.body);
    let to = stopped.body["recording"]["endedAt"].as_i64().unwrap();

    assert!(board_at(&app, &owner, &pad, rec, from).await.is_empty());
    assert_eq!(board_at(&app, &owner, &pad, rec, to).await, ["box", "gone"]);

    let export = app
        .get(
            &format!("/api/pads/{}/recordings/{rec}/export", pad.slug),
            Some(&owner.token),
        )
        .await;
    assert_eq!(export.status, StatusCode::OK, "{:?}", export.body);
    let file: &Value = &export.body["whiteboard"];
    assert_eq!(file["type"], "excalidraw");
    assert_eq!(file["version"], 2);
    let ids: Vec<&str> = file["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["box"], "erased elements are left out of the file");
    assert_eq!(file["elements"][0]["width"], 100);
}

#[tokio::test]
async fn an_export_of_a_pad_with_nothing_drawn_has_no_board() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Owner").await;
    let pad = new_pad(&app, &owner).await;
    let started = app
        .post(
            &format!("/api/pads/{}/recordings", pad.slug),
            Some(&owner.token),
            json!({}),
        )
        .await;
    let rec = started.body["recording"]["id"].as_i64().unwrap();
    let export = app
        .get(
            &format!("/api/pads/{}/recordings/{rec}/export", pad.slug),
            Some(&owner.token),
        )
        .await;
    assert_eq!(export.status, StatusCode::OK, "{:?}", export.body);
    assert!(export.body.get("whiteboard").is_none());
}
