//! Yjs sync over the pad socket (SPEC §4): convergence, REST ↔ socket, reconnects, awareness and
//! presence, `files.changed`.

mod collab_support;
mod common;

use std::time::Duration;

use collab_support::{connect, connect_with, Http, Peer, TestPad};
use common::TestApp;
use reqwest::Method;
use serde_json::json;
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, StateVector, Transact};

async fn setup() -> (TestApp, Http, String, TestPad) {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    (app, http, owner, pad)
}

async fn converge(peers: &mut [&mut Peer], file: &str, expected: &str) {
    for p in peers.iter_mut() {
        let ok = p
            .until(Duration::from_secs(5), |p| p.text(file) == expected)
            .await;
        assert!(
            ok,
            "peer did not converge: {:?} vs {:?}",
            p.text(file),
            expected
        );
    }
}

#[tokio::test]
async fn concurrent_typists_converge_with_the_rest_view() {
    let (app, http, owner, pad) = setup().await;
    let (_, other) = http.signup("Other").await;
    http.add_member(&owner, &pad, &other, "collaborator").await;
    let mut a = connect(&app.base, &pad.slug, &owner).await;
    let mut b = connect(&app.base, &pad.slug, &other).await;
    a.synced().await;
    b.synced().await;
    for i in 0..40 {
        a.insert(&pad.file, 0, &format!("a{i} ")).await;
        b.append(&pad.file, &format!(" b{i}")).await;
        if i % 10 == 0 {
            a.drain(Duration::from_millis(5)).await;
            b.drain(Duration::from_millis(5)).await;
        }
    }
    b.drain(Duration::from_millis(300)).await;
    let expected = b.text(&pad.file);
    converge(&mut [&mut a, &mut b], &pad.file, &expected).await;
    assert_eq!(http.file_text(&owner, &pad, pad.file_id).await, expected);
    for i in 0..40 {
        assert!(expected.contains(&format!("a{i} ")) && expected.contains(&format!(" b{i}")));
    }
    // A late joiner gets everything.
    let mut c = connect(&app.base, &pad.slug, &other).await;
    c.synced().await;
    assert_eq!(c.text(&pad.file), expected);
}

#[tokio::test]
async fn reconnect_receives_only_what_it_missed_and_uploads_offline_edits() {
    let (app, http, owner, pad) = setup().await;
    let mut a = connect(&app.base, &pad.slug, &owner).await;
    a.synced().await;
    let big = "x".repeat(20_000);
    a.insert(&pad.file, 0, &big).await;
    // The server has it before the second socket syncs.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while http.file_text(&owner, &pad, pad.file_id).await.len() < big.len() {
        assert!(
            std::time::Instant::now() < deadline,
            "the insert never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut b = connect(&app.base, &pad.slug, &owner).await;
    b.synced().await;
    let full_state_size = *b.step2_sizes.last().unwrap();
    assert!(full_state_size > 20_000);
    let doc = b.doc.clone();
    b.close().await;

    a.insert(&pad.file, 0, "missed ").await;
    a.drain(Duration::from_millis(100)).await;
    // Offline edit in the kept document.
    {
        use yrs::Text;
        let t = doc.get_or_insert_text(format!("file:{}", pad.file).as_str());
        let mut txn = doc.transact_mut();
        let len = t.len(&txn);
        t.insert(&mut txn, len, " offline");
    }
    let proto = format!("opencoder.v1, oc.bearer.{owner}");
    let mut b = connect_with(
        &app.base,
        &pad.slug,
        &[("sec-websocket-protocol", &proto)],
        doc,
    )
    .await
    .unwrap();
    b.synced().await;
    assert!(
        b.step2_sizes[0] < 200,
        "reconnect diff is {} bytes, full state {full_state_size}",
        b.step2_sizes[0]
    );
    assert!(b.text(&pad.file).starts_with("missed "));
    let expected = b.text(&pad.file);
    assert!(expected.ends_with(" offline"));
    converge(&mut [&mut a], &pad.file, &expected).await;
    assert_eq!(http.file_text(&owner, &pad, pad.file_id).await, expected);
    // Same state vector everywhere.
    assert_eq!(
        a.doc.transact().state_vector().encode_v1(),
        b.doc.transact().state_vector().encode_v1(),
        "{:?}",
        StateVector::default()
    );
}

#[tokio::test]
async fn rest_file_changes_reach_sockets_with_files_changed() {
    let (app, http, owner, pad) = setup().await;
    let mut a = connect(&app.base, &pad.slug, &owner).await;
    a.synced().await;
    let (status, body) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/files", pad.slug),
            Some(&owner),
            Some(json!({ "name": "util.py", "content": "def f():\n    return 1\n" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let file_id = body["file"]["id"].as_i64().unwrap();
    let util = file_id.to_string();
    assert!(
        a.until(Duration::from_secs(2), |p| p.text(&util)
            == "def f():\n    return 1\n")
            .await
    );
    assert!(
        a.until(Duration::from_secs(2), |p| p
            .app_messages("files.changed")
            .iter()
            .any(|m| m["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == "util.py" && f["id"] == file_id)))
            .await
    );
    // Socket edits are what REST reads.
    a.insert(&util, 0, "# header\n").await;
    a.drain(Duration::from_millis(100)).await;
    assert_eq!(
        http.file_text(&owner, &pad, file_id).await,
        "# header\ndef f():\n    return 1\n"
    );

    // Rename and delete are announced too.
    let before = a.app_messages("files.changed").len();
    let (status, _) = http
        .call(
            Method::PATCH,
            &format!("/api/pads/{}/files/{file_id}", pad.slug),
            Some(&owner),
            Some(json!({ "name": "helpers.py" })),
        )
        .await;
    assert!(status.is_success());
    assert!(
        a.until(Duration::from_secs(2), |p| p
            .app_messages("files.changed")
            .len()
            > before)
            .await
    );
    let last = a
        .app_messages("files.changed")
        .last()
        .unwrap()
        .to_owned()
        .clone();
    assert!(last["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "helpers.py"));
    // The text stays where it was: the root is the file's id, a rename is metadata only.
    assert!(a.text(&util).starts_with("# header"));
}

#[tokio::test]
async fn awareness_is_stamped_with_the_real_name_and_removed_on_disconnect() {
    let (app, http, owner, pad) = setup().await;
    let (other_id, other) = http.signup("Grace").await;
    http.add_member(&owner, &pad, &other, "viewer").await;
    let mut a = connect(&app.base, &pad.slug, &owner).await;
    a.synced().await;
    let mut b = connect(&app.base, &pad.slug, &other).await;
    b.synced().await;
    // B (a viewer may publish a cursor) claims to be someone else.
    b.set_awareness(json!({ "user": { "name": "Owner", "id": 1, "color": "#000000" }, "cursor": { "line": 3 } })).await;
    let b_client = b.client_id;
    assert!(
        a.until(Duration::from_secs(2), |p| p
            .awareness
            .contains_key(&b_client))
            .await
    );
    let state = a.awareness[&b_client].clone();
    assert_eq!(state["user"]["name"], "Grace");
    assert_eq!(state["user"]["id"], other_id);
    assert_ne!(state["user"]["color"], "#000000");
    assert_eq!(state["cursor"]["line"], 3);

    // Presence lists both; colours are stable per user.
    assert!(
        a.until(Duration::from_secs(2), |p| p
            .app_messages("presence")
            .last()
            .is_some_and(|m| m["users"].as_array().unwrap().len() == 2))
            .await
    );
    let presence = a
        .app_messages("presence")
        .last()
        .unwrap()
        .to_owned()
        .clone();
    let grace = presence["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["userId"] == other_id)
        .unwrap()
        .clone();
    assert_eq!(grace["name"], "Grace");
    assert_eq!(grace["color"], state["user"]["color"]);

    // A late joiner gets current awareness on connect; query-awareness answers too.
    let mut c = connect(&app.base, &pad.slug, &owner).await;
    assert!(
        c.until(Duration::from_secs(2), |p| p
            .awareness
            .contains_key(&b_client))
            .await
    );
    c.awareness.clear();
    c.send(vec![3]).await;
    assert!(
        c.until(Duration::from_secs(2), |p| p
            .awareness
            .contains_key(&b_client))
            .await
    );

    // A cannot publish for B's client id.
    let update = oc_proto::AwarenessUpdate {
        entries: vec![oc_proto::AwarenessEntry {
            client_id: b_client,
            clock: 99,
            state: Some(json!({ "evil": true })),
        }],
    };
    a.send(update.encode_frame()).await;
    assert!(
        a.until(Duration::from_secs(2), |p| p.has_error("awareness_refused"))
            .await
    );
    c.drain(Duration::from_millis(100)).await;
    assert!(c.awareness[&b_client].get("evil").is_none());

    // Disconnect removes B's state everywhere and updates presence.
    b.close().await;
    assert!(
        a.until(Duration::from_secs(2), |p| !p
            .awareness
            .contains_key(&b_client))
            .await
    );
    assert!(
        a.until(Duration::from_secs(2), |p| p
            .app_messages("presence")
            .last()
            .is_some_and(|m| m["users"].as_array().unwrap().len() == 1))
            .await
    );
    let room = app
        .state
        .rooms
        .get(opencoder::db::PadId(pad.id))
        .expect("room is live");
    room.check_invariants();
}

#[tokio::test]
async fn unknown_app_type_is_answered_with_an_error_not_a_close() {
    let (app, _, owner, pad) = setup().await;
    let mut a = connect(&app.base, &pad.slug, &owner).await;
    a.synced().await;
    a.send_app(json!({ "type": "no.such.thing" })).await;
    assert!(
        a.until(Duration::from_secs(2), |p| p.has_error("unknown_type"))
            .await
    );
    assert!(a.closed.is_none());
}

#[tokio::test]
async fn server_side_broadcast_reaches_everyone_on_the_pad() {
    let (app, _, owner, pad) = setup().await;
    let mut a = connect(&app.base, &pad.slug, &owner).await;
    a.synced().await;
    app.state.rooms.broadcast_app(
        opencoder::db::PadId(pad.id),
        &json!({ "type": "run.output", "stream": "stdout", "chunk": "hi" }),
    );
    assert!(
        a.until(Duration::from_secs(2), |p| p.has_app("run.output"))
            .await
    );
}
