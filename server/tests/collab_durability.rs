//! Durability (SPEC §4): group commit within 100 ms survives `kill -9`, graceful shutdown flushes,
//! load = checkpoint + tail. The crash and shutdown tests run the real binary.

mod collab_support;
mod common;

use std::time::Duration;

use collab_support::{connect, connect_with, BinaryServer, Http, Peer};
use common::TestApp;
use opencoder::collab::doc_store::CHECKPOINT_EVERY_UPDATES;
use opencoder::collab::{get_text, set_text};
use opencoder::db::{FileId, PadId};

async fn type_chars(peer: &mut Peer, file: &str, prefix: char, count: usize) -> String {
    let mut typed = String::new();
    for i in 0..count {
        let c = char::from_u32(prefix as u32 + (i % 20) as u32).unwrap();
        peer.append(file, &c.to_string()).await;
        typed.push(c);
    }
    typed
}

async fn db_count(url: &str, sql: &str, pad: i64) -> i64 {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let n = sqlx::query_scalar(sql)
        .bind(pad)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn kill_9_after_relay_loses_nothing_and_reconnecting_clients_converge() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = BinaryServer::start(dir.path()).await;
    let http = server.http();
    let (_, owner) = http.signup("Owner").await;
    let (_, other) = http.signup("Other").await;
    let pad = http.create_pad(&owner).await;
    http.add_member(&owner, &pad, &other, "collaborator").await;
    let file = pad.file.clone();

    let mut a = connect(&server.base, &pad.slug, &owner).await;
    let mut b = connect(&server.base, &pad.slug, &other).await;
    a.synced().await;
    b.synced().await;
    a.insert(&file, 0, "\n--A:").await;
    let typed_a = type_chars(&mut a, &file, 'a', 120).await;
    let typed_b = type_chars(&mut b, &file, 'A', 120).await;
    // Each side has received the other's edits: the server accepted and relayed all of them.
    let (ta, tb) = (typed_a.clone(), typed_b.clone());
    assert!(
        b.until(Duration::from_secs(5), |p| p.text(&file).contains(&ta))
            .await
    );
    assert!(
        a.until(Duration::from_secs(5), |p| p.text(&file).contains(&tb))
            .await
    );
    let acknowledged = a.text(&file);
    assert_eq!(acknowledged, b.text(&file));
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.kill9();

    // Clients keep typing while the server is down.
    let (doc_a, doc_b) = (a.doc.clone(), b.doc.clone());
    drop(a);
    drop(b);
    let offline_a = "[offline A]";
    let offline_b = "[offline B]";
    for (doc, text) in [(&doc_a, offline_a), (&doc_b, offline_b)] {
        use yrs::{Text, Transact};
        let t = doc.get_or_insert_text(format!("file:{file}").as_str());
        let mut txn = doc.transact_mut();
        t.insert(&mut txn, 0, text);
    }

    let mut server = BinaryServer::start(dir.path()).await;
    let http = Http::new(&server.base);
    let persisted = http.file_text(&owner, &pad, pad.file_id).await;
    assert_eq!(
        persisted, acknowledged,
        "every acknowledged edit survived kill -9"
    );

    let proto_a = format!("opencoder.v1, oc.bearer.{owner}");
    let proto_b = format!("opencoder.v1, oc.bearer.{other}");
    let mut a = connect_with(
        &server.base,
        &pad.slug,
        &[("sec-websocket-protocol", &proto_a)],
        doc_a,
    )
    .await
    .unwrap();
    let mut b = connect_with(
        &server.base,
        &pad.slug,
        &[("sec-websocket-protocol", &proto_b)],
        doc_b,
    )
    .await
    .unwrap();
    a.synced().await;
    b.synced().await;
    let done = |p: &Peer| {
        let t = p.text(&file);
        t.contains(offline_a) && t.contains(offline_b)
    };
    assert!(a.until(Duration::from_secs(5), done).await);
    assert!(b.until(Duration::from_secs(5), done).await);
    let final_text = a.text(&file);
    assert_eq!(final_text, b.text(&file));
    assert_eq!(
        final_text.chars().count(),
        acknowledged.chars().count() + offline_a.len() + offline_b.len(),
        "zero lost characters"
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(http.file_text(&owner, &pad, pad.file_id).await, final_text);
    server.terminate();
}

#[tokio::test]
async fn sigterm_flushes_pending_updates_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = BinaryServer::start(dir.path()).await;
    let http = server.http();
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let file = pad.file.clone();
    let mut a = connect(&server.base, &pad.slug, &owner).await;
    let mut b = connect(&server.base, &pad.slug, &owner).await;
    a.synced().await;
    b.synced().await;
    let typed = type_chars(&mut a, &file, 'k', 50).await;
    let t = typed.clone();
    assert!(
        b.until(Duration::from_secs(5), |p| p.text(&file).contains(&t))
            .await
    );
    let expected = b.text(&file);
    // Immediately: the group commit window has likely not elapsed yet.
    let status = server.terminate();
    assert!(
        status.success(),
        "clean exit on SIGTERM: {status:?}\n{}",
        server.log_text()
    );
    assert_eq!(
        b.closed_within(Duration::from_secs(2)).await,
        Some(1001),
        "sockets are told the server is going away"
    );
    let url = server.db_url();
    assert!(
        db_count(
            &url,
            "SELECT COUNT(*) FROM doc_checkpoints WHERE pad_id = ?",
            pad.id
        )
        .await
            >= 1,
        "shutdown checkpoints"
    );
    let log = server.log_text();
    assert!(
        log.contains("pad socket opened"),
        "the per-connection span logs"
    );
    assert!(!log.contains(&owner), "a token reached the log");

    let server = BinaryServer::start(dir.path()).await;
    assert_eq!(
        Http::new(&server.base)
            .file_text(&owner, &pad, pad.file_id)
            .await,
        expected
    );
}

#[tokio::test]
async fn load_is_checkpoint_plus_tail_and_the_whole_log_is_kept() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let pad_id = PadId(pad.id);
    let file = FileId(pad.file_id);
    let edits = CHECKPOINT_EVERY_UPDATES as usize + 37;
    for i in 0..edits {
        app.state
            .docs
            .edit(pad_id, None, move |txn| {
                let current = get_text(txn, file);
                set_text(txn, file, &format!("{current}{}", i % 10));
            })
            .await
            .unwrap();
    }
    let expected = app
        .state
        .docs
        .open(pad_id)
        .await
        .unwrap()
        .file_text(file)
        .await;
    app.state.docs.flush_log().await;
    let db = app.sql();
    let checkpoints: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, upto_update_id FROM doc_checkpoints WHERE pad_id = ?")
            .bind(pad.id)
            .fetch_all(db)
            .await
            .unwrap();
    assert_eq!(checkpoints.len(), 1, "one checkpoint after {edits} updates");
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM doc_updates WHERE pad_id = ?")
        .bind(pad.id)
        .fetch_one(db)
        .await
        .unwrap();
    assert!(logged >= edits as i64, "the whole log is kept ({logged})");
    let tail: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM doc_updates WHERE pad_id = ? AND id > ?")
            .bind(pad.id)
            .bind(checkpoints[0].1)
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!(tail, 37 + logged - edits as i64);

    app.state.docs.unload(pad_id).await;
    let reloaded = app.state.docs.open(pad_id).await.unwrap();
    assert_eq!(reloaded.file_text(file).await, expected);
}

#[tokio::test]
async fn idle_room_unloads_after_the_grace_period_and_reloads_on_join() {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let mut a = connect(&app.base, &pad.slug, &owner).await;
    a.synced().await;
    a.insert(&pad.file, 0, "kept ").await;
    a.drain(Duration::from_millis(50)).await;
    a.close().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let rooms = &app.state.rooms;
    let now = std::time::Instant::now();
    rooms.sweep(now).await;
    assert_eq!(rooms.live_rooms(), 1, "kept during the grace period");
    rooms
        .sweep(now + opencoder::collab::rooms::ROOM_IDLE_GRACE + Duration::from_secs(1))
        .await;
    assert_eq!(rooms.live_rooms(), 0);
    assert_eq!(app.state.docs.loaded_count(), 0);
    let mut b = connect(&app.base, &pad.slug, &owner).await;
    b.synced().await;
    assert!(b.text(&pad.file).starts_with("kept "));
}
