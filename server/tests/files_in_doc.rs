//! Files in the pad's document (SPEC §3–4), attacked over the real interfaces: every write path
//! meets the document and file size limits, an update may only write the pad's own file roots,
//! a file's text is keyed by its stable id so typing through a rename loses nothing, and
//! documents from before file ids are re-keyed on open while playback still reads their past.

mod collab_support;
mod common;

use std::time::Duration;

use collab_support::{connect, Http};
use common::TestApp;
use opencoder::collab::limits::MAX_DOC_BYTES;
use opencoder::db::{FileId, PadId};
use opencoder::pads::files::{MAX_FILES_PER_PAD, MAX_FILE_BYTES};
use reqwest::Method;
use serde_json::{json, Value};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{GetString, ReadTxn, Text, Transact};

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn encoded_len(app: &TestApp, pad: i64) -> usize {
    app.state
        .docs
        .open(PadId(pad))
        .await
        .unwrap()
        .encoded_len()
        .await
}

async fn file_names(http: &Http, token: &str, slug: &str) -> Vec<String> {
    let (status, body) = http
        .call(
            Method::GET,
            &format!("/api/pads/{slug}/files"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn rest_file_creation_stops_at_the_document_limit_and_live_edits_keep_working() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let full_file = "x".repeat(MAX_FILE_BYTES);
    let mut created = 0;
    let mut refused: Option<Value> = None;
    for i in 0..MAX_FILES_PER_PAD - 1 {
        let (status, body) = http
            .call(
                Method::POST,
                &format!("/api/pads/{}/files", pad.slug),
                Some(&owner),
                Some(json!({ "name": format!("f{i}.txt"), "content": full_file })),
            )
            .await;
        match status.as_u16() {
            201 => created += 1,
            413 => {
                refused = Some(body);
                break;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    // 8 MiB of document holds at most 15 full files next to the starter file.
    let refused = refused.expect("REST file creation must stop at MAX_DOC_BYTES");
    assert_eq!(refused["error"], "doc_too_large", "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("size limit"));
    assert!((10..16).contains(&created), "created {created} full files");
    // The refused file left nothing behind: no row, and the document stayed within the limit.
    assert_eq!(
        file_names(&http, &owner, &pad.slug).await.len(),
        created + 1
    );
    assert!(encoded_len(&app, pad.id).await <= MAX_DOC_BYTES);

    // The pad is not wedged: a live edit is accepted, relayed and saved.
    let mut a = connect(&app.base, &pad.slug, &owner).await;
    let mut b = connect(&app.base, &pad.slug, &owner).await;
    a.synced().await;
    b.synced().await;
    a.insert(&pad.file, 0, "# still editable\n").await;
    assert!(
        b.until(Duration::from_secs(5), |p| p
            .text(&pad.file)
            .starts_with("# still editable\n"))
            .await
    );
    assert_eq!(a.closed_within(Duration::from_millis(100)).await, None);
    assert!(http
        .file_text(&owner, &pad, pad.file_id)
        .await
        .starts_with("# still editable\n"));
}

#[tokio::test]
async fn forking_a_pad_whose_texts_do_not_fit_a_document_is_refused_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    // A pad over the limit, as REST could make one before the limit held on every write path.
    let mut ids = Vec::new();
    for i in 0..17 {
        let (status, body) = http
            .call(
                Method::POST,
                &format!("/api/pads/{}/files", pad.slug),
                Some(&owner),
                Some(json!({ "name": format!("f{i}.txt") })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(FileId(body["file"]["id"].as_i64().unwrap()));
    }
    let text = "y".repeat(MAX_FILE_BYTES);
    app.state
        .docs
        .edit(PadId(pad.id), None, move |txn| {
            for id in &ids {
                opencoder::collab::set_text(txn, *id, &text);
            }
        })
        .await
        .unwrap();
    assert!(encoded_len(&app, pad.id).await > MAX_DOC_BYTES);
    let pads_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pads")
        .fetch_one(app.sql())
        .await
        .unwrap();

    let (status, body) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/fork", pad.slug),
            Some(&owner),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "doc_too_large");
    let pads_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pads")
        .fetch_one(app.sql())
        .await
        .unwrap();
    assert_eq!(pads_after, pads_before, "no half-made fork is left behind");
}

#[tokio::test]
async fn forking_a_pad_within_the_limit_copies_it_within_the_limit() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let full_file = "z".repeat(MAX_FILE_BYTES);
    for i in 0..8 {
        let (status, body) = http
            .call(
                Method::POST,
                &format!("/api/pads/{}/files", pad.slug),
                Some(&owner),
                Some(json!({ "name": format!("f{i}.txt"), "content": full_file })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/fork", pad.slug),
            Some(&owner),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let fork_id = body["pad"]["id"].as_i64().unwrap();
    assert_eq!(body["files"].as_array().unwrap().len(), 9);
    let size = encoded_len(&app, fork_id).await;
    assert!(
        size > 8 * MAX_FILE_BYTES && size <= MAX_DOC_BYTES,
        "fork document is {size} bytes"
    );
}

#[tokio::test]
async fn a_socket_growing_a_file_past_the_file_limit_is_closed_1009_and_nothing_is_applied() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let (status, body) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/files", pad.slug),
            Some(&owner),
            Some(json!({ "name": "big.txt", "content": "b".repeat(MAX_FILE_BYTES - 5) })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let big = body["file"]["id"].as_i64().unwrap().to_string();
    let mut watcher = connect(&app.base, &pad.slug, &owner).await;
    let mut writer = connect(&app.base, &pad.slug, &owner).await;
    watcher.synced().await;
    writer.synced().await;

    // Up to the limit is fine (5 bytes: "é" is 2 of them) …
    writer.insert(&big, 0, "éabc").await;
    assert!(
        watcher
            .until(Duration::from_secs(5), |p| p.text(&big).starts_with("éabc"))
            .await
    );
    // … one byte more is refused, the socket closed 1009, and nobody sees the byte.
    writer.insert(&big, 0, "!").await;
    assert_eq!(
        writer.closed_within(Duration::from_secs(5)).await,
        Some(1009)
    );
    watcher.drain(Duration::from_millis(200)).await;
    assert!(watcher.closed.is_none());
    assert!(!watcher.text(&big).contains('!'));
    let saved = http.file_text(&owner, &pad, big.parse().unwrap()).await;
    assert_eq!(saved.len(), MAX_FILE_BYTES);
    assert!(saved.starts_with("éabc"));

    // A whole file in one update, into a file that is small, is refused the same way.
    let mut paster = connect(&app.base, &pad.slug, &owner).await;
    paster.synced().await;
    paster
        .insert(&pad.file, 0, &"Q".repeat(MAX_FILE_BYTES))
        .await;
    assert_eq!(
        paster.closed_within(Duration::from_secs(5)).await,
        Some(1009)
    );
    assert!(!http
        .file_text(&owner, &pad, pad.file_id)
        .await
        .contains("QQ"));

    // An empty file has no root in a reloaded document; its first text is checked all the same.
    let pad = http.create_pad(&owner).await;
    let (status, body) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/files", pad.slug),
            Some(&owner),
            Some(json!({ "name": "empty.txt" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let empty = body["file"]["id"].as_i64().unwrap();
    app.state.docs.unload(PadId(pad.id)).await;
    let mut fresh = connect(&app.base, &pad.slug, &owner).await;
    fresh.synced().await;
    fresh
        .insert(&empty.to_string(), 0, &"E".repeat(MAX_FILE_BYTES + 1))
        .await;
    assert_eq!(
        fresh.closed_within(Duration::from_secs(5)).await,
        Some(1009)
    );
    assert_eq!(http.file_text(&owner, &pad, empty).await, "");
}

#[tokio::test]
async fn updates_writing_a_root_that_is_not_a_file_of_the_pad_are_closed_1008_and_not_applied() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let other = http.create_pad(&owner).await;
    let (status, body) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/files", pad.slug),
            Some(&owner),
            Some(json!({ "name": "gone.py" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let gone = body["file"]["id"].as_i64().unwrap();
    let (status, _) = http
        .call(
            Method::DELETE,
            &format!("/api/pads/{}/files/{gone}", pad.slug),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let before = http.file_text(&owner, &pad, pad.file_id).await;

    let roots = [
        "file:nonexistent".to_string(),
        format!("file:{}", pad.name),
        format!("file:{gone}"),
        format!("file:{}", other.file_id),
        "notes".to_string(),
    ];
    for root in &roots {
        let mut rogue = connect(&app.base, &pad.slug, &owner).await;
        rogue.synced().await;
        let update = {
            let text = rogue.doc.get_or_insert_text(root.as_str());
            let mut txn = rogue.doc.transact_mut();
            text.insert(&mut txn, 0, "smuggled");
            txn.encode_update_v1()
        };
        rogue.send(oc_proto::encode_update(&update)).await;
        assert_eq!(
            rogue.closed_within(Duration::from_secs(5)).await,
            Some(1008),
            "{root}"
        );
        let doc = app.state.docs.open(PadId(pad.id)).await.unwrap();
        let full = doc
            .diff_since(&yrs::StateVector::default().encode_v1())
            .await
            .unwrap();
        let fresh = collab_support::new_doc();
        fresh
            .transact_mut()
            .apply_update(yrs::Update::decode_v1(&full).unwrap())
            .unwrap();
        let txn = fresh.transact();
        assert!(
            txn.get_text(root.as_str())
                .is_none_or(|t| t.get_string(&txn).is_empty()),
            "{root} was applied"
        );
    }
    // The pad's own file is still writable, and untouched by all of it.
    assert_eq!(http.file_text(&owner, &pad, pad.file_id).await, before);
    let mut ok = connect(&app.base, &pad.slug, &owner).await;
    ok.synced().await;
    ok.insert(&pad.file, 0, "fine ").await;
    assert_eq!(ok.closed_within(Duration::from_millis(300)).await, None);
}

#[tokio::test]
async fn typing_through_renames_loses_no_keystroke() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let (_, typist_token) = http.signup("Typist").await;
    let pad = http.create_pad(&owner).await;
    http.add_member(&owner, &pad, &typist_token, "collaborator")
        .await;
    let mut typist = connect(&app.base, &pad.slug, &typist_token).await;
    let mut watcher = connect(&app.base, &pad.slug, &owner).await;
    typist.synced().await;
    watcher.synced().await;
    let starter = typist.text(&pad.file);

    let renamer = {
        let (http, owner, slug, file_id) =
            (http.clone(), owner.clone(), pad.slug.clone(), pad.file_id);
        tokio::spawn(async move {
            for i in 0..8 {
                tokio::time::sleep(Duration::from_millis(40)).await;
                let (status, body) = http
                    .call(
                        Method::PATCH,
                        &format!("/api/pads/{slug}/files/{file_id}"),
                        Some(&owner),
                        Some(json!({ "name": format!("step{i}.py") })),
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
            }
        })
    };
    let mut typed = String::new();
    for i in 0..150 {
        let ch = char::from(b'a' + (i % 26) as u8);
        typist.append(&pad.file, &ch.to_string()).await;
        typed.push(ch);
        tokio::time::sleep(Duration::from_millis(4)).await;
    }
    renamer.await.unwrap();
    let expected = format!("{starter}{typed}");
    assert_eq!(typist.text(&pad.file), expected);
    assert!(
        watcher
            .until(Duration::from_secs(5), |p| p.text(&pad.file) == expected)
            .await,
        "the watcher sees every keystroke"
    );
    assert_eq!(typist.closed_within(Duration::from_millis(100)).await, None);
    let (status, body) = http
        .call(
            Method::GET,
            &format!("/api/pads/{}/files/{}", pad.slug, pad.file_id),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["file"]["name"], "step7.py");
    assert_eq!(body["content"], expected);
    // The socket's file list maps the id to the new name.
    assert!(
        watcher
            .until(Duration::from_secs(5), |p| p
                .app_messages("files.changed")
                .iter()
                .any(|m| {
                    m["files"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|f| f["id"] == pad.file_id && f["name"] == "step7.py")
                }))
            .await
    );
}

#[tokio::test]
async fn a_name_keyed_document_is_rekeyed_on_open_and_playback_before_that_still_shows_its_text() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let db = app.sql();
    // A document as it was written before file ids: the text under `file:<name>`.
    app.state.docs.unload(PadId(pad.id)).await;
    app.state.docs.flush_log().await;
    for table in ["doc_updates", "doc_checkpoints"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE pad_id = ?"))
            .bind(pad.id)
            .execute(db)
            .await
            .unwrap();
    }
    let legacy = {
        let doc = collab_support::new_doc();
        let text = doc.get_or_insert_text(format!("file:{}", pad.name).as_str());
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, "print('from before file ids')\n");
        txn.encode_update_v1()
    };
    sqlx::query(
        "INSERT INTO doc_updates (pad_id, user_id, at_ms, update_bytes) VALUES (?, NULL, ?, ?)",
    )
    .bind(pad.id)
    .bind(now_ms() - 1_000)
    .bind(&legacy)
    .execute(db)
    .await
    .unwrap();
    sqlx::query("INSERT INTO name_keyed_docs (pad_id) VALUES (?)")
        .bind(pad.id)
        .execute(db)
        .await
        .unwrap();
    let (status, body) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/recordings", pad.slug),
            Some(&owner),
            Some(json!({ "name": "r" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let rec = body["recording"]["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let before_rekey = now_ms();
    tokio::time::sleep(Duration::from_millis(20)).await;

    // Opening the document re-keys it: the text is there, under the file's id.
    assert_eq!(
        http.file_text(&owner, &pad, pad.file_id).await,
        "print('from before file ids')\n"
    );
    let rekeyed: Option<i64> =
        sqlx::query_scalar("SELECT rekeyed_at_ms FROM name_keyed_docs WHERE pad_id = ?")
            .bind(pad.id)
            .fetch_one(db)
            .await
            .unwrap();
    assert!(rekeyed.is_some_and(|at| at > before_rekey), "{rekeyed:?}");
    let texts = app
        .state
        .docs
        .open(PadId(pad.id))
        .await
        .unwrap()
        .file_texts()
        .await;
    assert_eq!(
        texts.get(&FileId(pad.file_id)).map(String::as_str),
        Some("print('from before file ids')\n")
    );
    // Live clients see it under the id and type into it.
    let mut peer = connect(&app.base, &pad.slug, &owner).await;
    peer.synced().await;
    assert_eq!(peer.text(&pad.file), "print('from before file ids')\n");
    assert_eq!(
        peer.text(&pad.name),
        "",
        "the old name-keyed root is emptied"
    );
    peer.append(&pad.file, "print('after')\n").await;
    peer.drain(Duration::from_millis(100)).await;
    app.state.docs.flush_log().await;
    // The re-keying happens once: a reload does not repeat it.
    app.state.docs.unload(PadId(pad.id)).await;
    let expected_now = "print('from before file ids')\nprint('after')\n";
    assert_eq!(
        http.file_text(&owner, &pad, pad.file_id).await,
        expected_now
    );

    let (status, body) = http
        .call(
            Method::POST,
            &format!("/api/pads/{}/recordings/{rec}/stop", pad.slug),
            Some(&owner),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let end = body["recording"]["endedAt"].as_i64().unwrap();
    let state_at = |t: i64| {
        let (http, owner, slug) = (http.clone(), owner.clone(), pad.slug.clone());
        async move {
            let (status, body) = http
                .call(
                    Method::GET,
                    &format!("/api/pads/{slug}/recordings/{rec}/state?t={t}"),
                    Some(&owner),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body["files"].clone()
        }
    };
    let past = state_at(before_rekey).await;
    assert_eq!(
        past[pad.name.as_str()],
        "print('from before file ids')\n",
        "{past}"
    );
    assert_eq!(past.as_object().unwrap().len(), 1, "{past}");
    let after = state_at(end).await;
    assert_eq!(after[pad.name.as_str()], expected_now, "{after}");
    assert_eq!(after.as_object().unwrap().len(), 1, "{after}");
}
