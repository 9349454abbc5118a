//! Pads shared across nodes: two servers on one PostgreSQL and one Redis (both throwaway), the
//! clients of one pad spread over both. Committed document updates, awareness and chat cross
//! nodes; a checkpoint claims only the log a node holds; a lost or duplicated relay message is
//! repaired from (or harmless to) the database, which is the truth.

mod collab_support;
mod common;
mod redis_support;

use std::time::{Duration, Instant};

use collab_support::{connect, connect_with, new_doc, BinaryServer, Http, Peer, TestPad};
use common::postgres::TempPostgres;
use common::TestApp;
use futures_util::StreamExt;
use opencoder::bus::{NodePresence, PadMessage, Relayed};
use opencoder::collab::doc_store::{GAP_REPAIR_AFTER, LIVE_CONFIRM_AFTER, LOG_CHECK_EVERY};
use opencoder::collab::limits::PRESENCE_EXPIRY;
use opencoder::db::{FileId, PadId, UserId};
use redis_support::RedisServer;
use serde_json::json;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{GetString, ReadTxn, StateVector, Text, Transact, Update};

const SHARED_SECRET: &str = "cluster-pads-test-secret-0123456789abcdef";
/// How long the nodes get to converge after the last edit.
const CONVERGE_WITHIN: Duration = Duration::from_secs(10);

struct Cluster {
    a: TestApp,
    b: TestApp,
    redis: RedisServer,
    db_url: String,
}

async fn node(db_url: &str, redis: &RedisServer) -> TestApp {
    TestApp::spawn_with(&[
        ("REDIS_URL", &redis.url()),
        ("JWT_SECRET", SHARED_SECRET),
        ("DATABASE_URL", db_url),
    ])
    .await
}

async fn cluster() -> Cluster {
    let db_url = TempPostgres::shared().create_database().await;
    let redis = RedisServer::start();
    let a = node(&db_url, &redis).await;
    let b = node(&db_url, &redis).await;
    Cluster {
        a,
        b,
        redis,
        db_url,
    }
}

async fn owner_pad(c: &Cluster) -> (String, TestPad) {
    let http = Http::new(&c.a.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    // Start from a settled log: the starter file's text committed.
    assert!(committed_within(&c.db_url, &pad, CONVERGE_WITHIN, "Hello").await);
    (owner, pad)
}

/// A client of the pad on node `app`, synced.
async fn joined(app: &TestApp, pad: &TestPad, token: &str) -> Peer {
    let mut peer = connect(&app.base, &pad.slug, token).await;
    peer.synced().await;
    peer
}

/// Read from both peers until their texts are equal and satisfy `done`.
async fn converge(pa: &mut Peer, pb: &mut Peer, file: &str, done: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + CONVERGE_WITHIN;
    loop {
        pa.drain(Duration::from_millis(50)).await;
        pb.drain(Duration::from_millis(50)).await;
        let (ta, tb) = (pa.text(file), pb.text(file));
        if ta == tb && done(&ta) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no convergence:\nA: {ta:?}\nB: {tb:?}"
        );
    }
}

/// The pad's document as each node holds it: text of the file and state vector.
async fn node_state(app: &TestApp, pad: &TestPad) -> (String, StateVector) {
    let doc = app.state.docs.open(PadId(pad.id)).await.unwrap();
    (
        doc.file_text(FileId(pad.file_id)).await,
        StateVector::decode_v1(&doc.state_vector().await).unwrap(),
    )
}

async fn nodes_converge(c: &Cluster, pad: &TestPad, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + CONVERGE_WITHIN;
    loop {
        let (a, b) = (node_state(&c.a, pad).await, node_state(&c.b, pad).await);
        if a == b && done(&a.0) {
            return a.0;
        }
        assert!(
            Instant::now() < deadline,
            "nodes differ:\nA: {a:?}\nB: {b:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every update committed to the pad's log, in log order.
async fn committed_rows(db_url: &str, pad: &TestPad) -> Vec<Vec<u8>> {
    let pool = sqlx::PgPool::connect(db_url).await.unwrap();
    let rows: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT update_bytes FROM doc_updates WHERE pad_id = $1 ORDER BY id")
            .bind(pad.id)
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    rows
}

/// The file's text replayed from every update committed to the pad's log.
async fn committed_text(db_url: &str, pad: &TestPad) -> String {
    let doc = new_doc();
    for row in committed_rows(db_url, pad).await {
        doc.transact_mut()
            .apply_update(Update::decode_v1(&row).unwrap())
            .unwrap();
    }
    let txn = doc.transact();
    txn.get_text(format!("file:{}", pad.file).as_str())
        .map(|t| t.get_string(&txn))
        .unwrap_or_default()
}

#[tokio::test]
async fn concurrent_edits_on_two_nodes_converge_with_equal_state_vectors() {
    let c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let mut pa = joined(&c.a, &pad, &owner).await;
    let mut pb = joined(&c.b, &pad, &owner).await;
    for i in 0..40 {
        pa.append(&pad.file, &format!("a{i};")).await;
        pb.append(&pad.file, &format!("b{i};")).await;
    }
    let all =
        |t: &str| (0..40).all(|i| t.contains(&format!("a{i};")) && t.contains(&format!("b{i};")));
    converge(&mut pa, &mut pb, &pad.file, all).await;
    let text = nodes_converge(&c, &pad, all).await;
    assert_eq!(
        text,
        pa.text(&pad.file),
        "the servers hold what the clients see"
    );
    assert_eq!(
        pa.doc.transact().state_vector(),
        pb.doc.transact().state_vector(),
        "clients on different nodes have equal state vectors"
    );
}

#[tokio::test]
async fn awareness_and_chat_cross_nodes_and_a_leaving_connection_is_cleaned_up() {
    let c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let mut pa = joined(&c.a, &pad, &owner).await;
    let mut pb = joined(&c.b, &pad, &owner).await;

    pa.set_awareness(json!({ "cursor": { "anchor": 3 } })).await;
    let id = pa.client_id;
    assert!(
        pb.until(Duration::from_secs(2), |p| p.awareness.contains_key(&id))
            .await,
        "awareness reaches node B"
    );

    pa.send_app(json!({ "type": "chat", "body": "hello from A" }))
        .await;
    assert!(
        pb.until(Duration::from_secs(2), |p| p
            .app_messages("chat")
            .iter()
            .any(|m| m["body"] == "hello from A"))
            .await,
        "chat reaches node B"
    );

    pa.close().await;
    assert!(
        pb.until(Duration::from_secs(2), |p| !p.awareness.contains_key(&id))
            .await,
        "the awareness state of a connection that left node A is removed on node B"
    );
}

#[tokio::test]
async fn a_checkpoint_claims_only_the_log_its_node_holds() {
    let mut c = cluster().await;
    let (_, pad) = owner_pad(&c).await;
    // Both nodes have the document loaded, then node A stops hearing from node B.
    node_state(&c.a, &pad).await;
    node_state(&c.b, &pad).await;
    c.redis.stop();
    let file = FileId(pad.file_id);
    c.b.state
        .docs
        .edit(PadId(pad.id), None, move |txn| {
            opencoder::collab::set_text(txn, file, "from B")
        })
        .await
        .unwrap();
    c.b.state.docs.flush_log().await;
    let pool = sqlx::PgPool::connect(&c.db_url).await.unwrap();
    let from_b: i64 = sqlx::query_scalar("SELECT MAX(id) FROM doc_updates WHERE pad_id = $1")
        .bind(pad.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    c.a.state
        .docs
        .edit(PadId(pad.id), None, move |txn| {
            let text = opencoder::collab::get_text(txn, file);
            opencoder::collab::set_text(txn, file, &format!("{text} and from A"));
        })
        .await
        .unwrap();
    // Node A's document lacks B's committed update; its checkpoint must not claim it.
    c.a.state.docs.flush_all().await;
    let upto: Option<i64> =
        sqlx::query_scalar("SELECT MAX(upto_update_id) FROM doc_checkpoints WHERE pad_id = $1")
            .bind(pad.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert!(
        upto.is_none_or(|upto| upto < from_b),
        "a checkpoint claims {upto:?}, past B's update {from_b} it lacks"
    );

    // A third node (Redis is still down) loads the pad from the database: every committed edit
    // is there.
    let fresh =
        TestApp::spawn_with(&[("JWT_SECRET", SHARED_SECRET), ("DATABASE_URL", &c.db_url)]).await;
    let loaded = node_state(&fresh, &pad).await.0;
    assert!(
        loaded.contains("from B") && loaded.contains("and from A"),
        "reloaded {loaded:?}"
    );

    // Node A's own commit named B's update as its predecessor: A notices the gap and repairs it
    // from the log while Redis is still down.
    let deadline = Instant::now() + CONVERGE_WITHIN;
    while !node_state(&c.a, &pad).await.0.contains("from B") {
        assert!(
            Instant::now() < deadline,
            "node A never repaired the gap in its pad's log"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Redis returns: both nodes converge.
    c.redis.restart();
    let text = nodes_converge(&c, &pad, |t| t.contains("from B")).await;
    assert_eq!(text, loaded);
}

#[tokio::test]
async fn edits_during_a_redis_restart_and_a_flushall_still_converge() {
    let mut c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let mut pa = joined(&c.a, &pad, &owner).await;
    let mut pb = joined(&c.b, &pad, &owner).await;
    for i in 0..10 {
        pa.append(&pad.file, &format!("a{i};")).await;
        if i == 3 {
            c.redis.stop();
        }
        if i == 6 {
            c.redis.restart();
        }
        pb.append(&pad.file, &format!("b{i};")).await;
        if i == 8 {
            let flushed = std::process::Command::new("redis-cli")
                .arg("-s")
                .arg(c.redis.url().trim_start_matches("redis+unix://"))
                .arg("FLUSHALL")
                .output()
                .unwrap();
            assert!(flushed.status.success());
        }
        pa.drain(Duration::from_millis(20)).await;
        pb.drain(Duration::from_millis(20)).await;
    }
    let all =
        |t: &str| (0..10).all(|i| t.contains(&format!("a{i};")) && t.contains(&format!("b{i};")));
    converge(&mut pa, &mut pb, &pad.file, all).await;
    nodes_converge(&c, &pad, all).await;
}

#[tokio::test]
async fn every_relayed_message_delivered_twice_changes_nothing() {
    let c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let client = redis::Client::open(c.redis.url()).unwrap();
    let mut tap = client.get_async_pubsub().await.unwrap();
    tap.subscribe("opencoder:bus").await.unwrap();
    let mut pa = joined(&c.a, &pad, &owner).await;
    let mut pb = joined(&c.b, &pad, &owner).await;
    for i in 0..10 {
        pa.append(&pad.file, &format!("a{i};")).await;
        pb.append(&pad.file, &format!("b{i};")).await;
    }
    let all =
        |t: &str| (0..10).all(|i| t.contains(&format!("a{i};")) && t.contains(&format!("b{i};")));
    converge(&mut pa, &mut pb, &pad.file, all).await;
    let before = nodes_converge(&c, &pad, all).await;

    let mut captured = Vec::new();
    {
        let mut messages = tap.on_message();
        while let Ok(Some(message)) =
            tokio::time::timeout(Duration::from_millis(300), messages.next()).await
        {
            captured.push(message.get_payload_bytes().to_vec());
        }
    }
    assert!(
        captured.len() >= 20,
        "every committed update was relayed ({} messages)",
        captured.len()
    );
    let mut publisher = client.get_multiplexed_async_connection().await.unwrap();
    for payload in &captured {
        let _: i64 = redis::cmd("PUBLISH")
            .arg("opencoder:bus")
            .arg(payload)
            .query_async(&mut publisher)
            .await
            .unwrap();
    }
    let frames = (pa.frames_received, pb.frames_received);
    pa.drain(Duration::from_millis(500)).await;
    pb.drain(Duration::from_millis(500)).await;
    assert_eq!(
        (pa.text(&pad.file), pb.text(&pad.file)),
        (before.clone(), before.clone())
    );
    assert_eq!(nodes_converge(&c, &pad, all).await, before);
    let replayed = (pa.frames_received - frames.0, pb.frames_received - frames.1);
    assert_eq!(
        replayed,
        (0, 0),
        "duplicates of applied updates are not fanned out again"
    );
}

#[tokio::test]
async fn a_node_killed_mid_edit_loses_no_committed_edit() {
    const EDITS: usize = 150;
    let db_url = TempPostgres::shared().create_database().await;
    let redis = RedisServer::start();
    let redis_url = redis.url();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let vars = [
        ("DATABASE_URL", db_url.as_str()),
        ("REDIS_URL", redis_url.as_str()),
        ("JWT_SECRET", SHARED_SECRET),
    ];
    let mut a = BinaryServer::start_with(dir_a.path(), &vars).await;
    let b = BinaryServer::start_with(dir_b.path(), &vars).await;
    let http = a.http();
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let mut typist = connect(&a.base, &pad.slug, &owner).await;
    let mut watcher = connect(&b.base, &pad.slug, &owner).await;
    typist.synced().await;
    watcher.synced().await;
    for i in 0..EDITS {
        typist.append(&pad.file, &format!("e{i};")).await;
    }
    // Some edits are committed, the last ones most likely not yet.
    a.kill9();
    let committed = committed_text(&db_url, &pad).await;
    let fresh = |t: &str| t.starts_with(committed.as_str());
    assert!(
        watcher
            .until(CONVERGE_WITHIN, |p| fresh(&p.text(&pad.file)))
            .await,
        "node B holds every committed edit: {:?} vs {committed:?}",
        watcher.text(&pad.file)
    );

    // The typist reconnects to node B with its own document: its unacknowledged edits come along.
    let protocol = format!("opencoder.v1, oc.bearer.{owner}");
    let mut back = connect_with(
        &b.base,
        &pad.slug,
        &[("sec-websocket-protocol", &protocol)],
        typist.doc.clone(),
    )
    .await
    .expect("reconnect to node B");
    back.synced().await;
    let everything = typist.text(&pad.file);
    assert!(everything.ends_with(&format!("e{};", EDITS - 1)));
    let mut late = connect(&b.base, &pad.slug, &owner).await;
    late.synced().await;
    assert!(
        late.until(CONVERGE_WITHIN, |p| p.text(&pad.file) == everything)
            .await,
        "{:?}",
        late.text(&pad.file)
    );
}

/// An update appending `text` to the file, made from node `app`'s copy of the document plus
/// `earlier` updates by a client of its own: what a node that dies right after applying it would
/// have relayed live.
async fn foreign_append(app: &TestApp, pad: &TestPad, earlier: &[&[u8]], text: &str) -> Vec<u8> {
    let doc = app.state.docs.open(PadId(pad.id)).await.unwrap();
    let ghost = new_doc();
    let state = doc
        .diff_since(&StateVector::default().encode_v1())
        .await
        .unwrap();
    for update in std::iter::once(state.as_slice()).chain(earlier.iter().copied()) {
        ghost
            .transact_mut()
            .apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
    }
    let before = ghost.transact().state_vector();
    let root = ghost.get_or_insert_text(format!("file:{}", pad.file).as_str());
    let mut txn = ghost.transact_mut();
    let end = root.len(&txn);
    root.insert(&mut txn, end, text);
    drop(txn);
    // Bound first: the transaction borrows `ghost`, which the block's end drops.
    let update = ghost.transact().encode_diff_v1(&before);
    update
}

fn relay_live(app: &TestApp, pad: &TestPad, update: Vec<u8>) {
    app.state.rooms.on_relayed(Relayed {
        pad: PadId(pad.id),
        message: PadMessage::Live {
            user: None,
            bytes: update.into(),
        },
    });
}

async fn committed_within(db_url: &str, pad: &TestPad, within: Duration, want: &str) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if committed_text(db_url, pad).await.contains(want) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_live_update_whose_node_never_commits_it_still_reaches_the_log() {
    let c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let mut pb = joined(&c.b, &pad, &owner).await;

    // Sockets see a live update at once; left unconfirmed, node B logs it itself.
    let injected = Instant::now();
    relay_live(&c.b, &pad, foreign_append(&c.b, &pad, &[], "ghost;").await);
    assert!(
        pb.until(Duration::from_secs(2), |p| p
            .text(&pad.file)
            .ends_with("ghost;"))
            .await,
        "the live update reached the socket on node B: {:?}",
        pb.text(&pad.file)
    );
    assert!(
        !committed_text(&c.db_url, &pad).await.contains("ghost;"),
        "not logged before its confirmation is overdue"
    );
    assert!(
        committed_within(&c.db_url, &pad, LIVE_CONFIRM_AFTER * 3, "ghost;").await,
        "an unconfirmed live update is logged once overdue"
    );
    assert!(injected.elapsed() >= LIVE_CONFIRM_AFTER);

    // An edit built on an unconfirmed update takes it into the log first, at once: otherwise the
    // log would hold an edit whose dependency is nowhere, and lose both on reload.
    let injected = Instant::now();
    relay_live(&c.b, &pad, foreign_append(&c.b, &pad, &[], "ghost2;").await);
    assert!(
        pb.until(Duration::from_secs(2), |p| p
            .text(&pad.file)
            .ends_with("ghost2;"))
            .await
    );
    pb.append(&pad.file, "mine;").await;
    assert!(
        committed_within(&c.db_url, &pad, Duration::from_secs(1), "ghost2;mine;").await,
        "committed: {:?}",
        committed_text(&c.db_url, &pad).await
    );
    assert!(injected.elapsed() < LIVE_CONFIRM_AFTER);
}

#[tokio::test]
async fn live_updates_confirmed_by_their_commit_are_logged_once() {
    let c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let mut pa = joined(&c.a, &pad, &owner).await;
    let mut pb = joined(&c.b, &pad, &owner).await;
    let rows_before = committed_rows(&c.db_url, &pad).await.len();
    for i in 0..10 {
        pa.append(&pad.file, &format!("a{i};")).await;
    }
    let all = |t: &str| t.ends_with("a9;");
    converge(&mut pa, &mut pb, &pad.file, all).await;
    // Past the confirmation deadline and a sweep: nothing left unconfirmed on B to adopt.
    tokio::time::sleep(LIVE_CONFIRM_AFTER + Duration::from_secs(2)).await;
    assert_eq!(
        committed_rows(&c.db_url, &pad).await.len() - rows_before,
        10,
        "each update logged once, by its own node"
    );
}

#[tokio::test]
async fn a_relayed_update_waiting_for_a_commit_whose_relay_was_lost_makes_its_node_repair() {
    let c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let mut pb = joined(&c.b, &pad, &owner).await;
    // A commit node B never hears about (its node died between committing and relaying), then a
    // live update that builds on it: nothing in the chain says what is missing.
    let lost = foreign_append(&c.b, &pad, &[], "lost;").await;
    let next = foreign_append(&c.b, &pad, &[&lost], "next;").await;

    log_directly(&c.db_url, &pad, &lost).await;
    relay_live(&c.b, &pad, next);
    // Sooner than the update's own adoption into the log (which would reveal the gap too).
    assert!(
        pb.until(LIVE_CONFIRM_AFTER + GAP_REPAIR_AFTER / 2, |p| {
            p.text(&pad.file).ends_with("\nlost;next;")
        })
        .await,
        "node B re-read the log for what the live update waited on: {:?}",
        pb.text(&pad.file)
    );
}

/// Commit an update to the pad's log behind every node's back: what a node that died between its
/// commit and the relay leaves.
async fn log_directly(db_url: &str, pad: &TestPad, update: &[u8]) {
    let pool = sqlx::PgPool::connect(db_url).await.unwrap();
    sqlx::query(
        "INSERT INTO doc_updates (pad_id, user_id, at_ms, update_bytes) VALUES ($1, NULL, 0, $2)",
    )
    .bind(pad.id)
    .bind(update)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn a_pads_last_commit_whose_relay_was_lost_still_reaches_every_node() {
    let c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let mut pb = joined(&c.b, &pad, &owner).await;
    // Nothing follows it, so no gap in the chain and no waiting update point at it.
    let lost = foreign_append(&c.b, &pad, &[], "tail;").await;
    log_directly(&c.db_url, &pad, &lost).await;
    assert!(
        pb.until(LOG_CHECK_EVERY * 3 + Duration::from_secs(1), |p| {
            p.text(&pad.file).ends_with("tail;")
        })
        .await,
        "the periodic log check found it: {:?}",
        pb.text(&pad.file)
    );
}

#[tokio::test]
async fn while_redis_is_down_edits_still_cross_nodes_through_the_database() {
    let mut c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let mut pa = joined(&c.a, &pad, &owner).await;
    let mut pb = joined(&c.b, &pad, &owner).await;
    c.redis.stop();
    pa.append(&pad.file, "from-a;").await;
    pb.append(&pad.file, "from-b;").await;
    let both = |t: &str| t.contains("from-a;") && t.contains("from-b;");
    let within = LOG_CHECK_EVERY * 3 + Duration::from_secs(1);
    assert!(
        pa.until(within, |p| both(&p.text(&pad.file))).await,
        "A: {:?}",
        pa.text(&pad.file)
    );
    assert!(
        pb.until(within, |p| both(&p.text(&pad.file))).await,
        "B: {:?}",
        pb.text(&pad.file)
    );
}

#[tokio::test]
async fn a_newcomer_on_one_node_sees_the_cursors_of_the_other_at_once() {
    let c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let mut pa = joined(&c.a, &pad, &owner).await;
    pa.set_awareness(json!({ "cursor": { "anchor": 1 } })).await;
    pa.drain(Duration::from_millis(200)).await;
    // Joins after A's state was published; A's client does not publish it again.
    let mut pb = joined(&c.b, &pad, &owner).await;
    let id = pa.client_id;
    assert!(
        pb.until(Duration::from_secs(2), |p| p.awareness.contains_key(&id))
            .await,
        "node A handed its awareness states to the newcomer's node"
    );
}

/// The pad's logged joins and leaves, oldest first.
async fn joins_and_leaves(db_url: &str, pad: &TestPad) -> Vec<String> {
    let pool = sqlx::PgPool::connect(db_url).await.unwrap();
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM pad_events WHERE pad_id = $1 AND kind IN ('join', 'leave') ORDER BY id",
    )
    .bind(pad.id)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    kinds
}

#[tokio::test]
async fn a_user_connected_through_two_nodes_joins_and_leaves_once() {
    let c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let on_a = joined(&c.a, &pad, &owner).await;
    let mut on_b = joined(&c.b, &pad, &owner).await;
    // Node B must have heard of the connection on A before its own joins: presence crosses
    // at once, so waiting for B to list A's connection is enough.
    assert!(
        on_b.until(Duration::from_secs(2), |p| p
            .app_messages("presence")
            .last()
            .is_some_and(|m| m["users"][0]["connections"] == 2))
            .await,
        "{:?}",
        on_b.app_messages("presence").last()
    );
    let third = connect(&c.b.base, &pad.slug, &owner).await;
    third.close().await;
    // The last connections on both nodes close at once: each node may still count the other's
    // when its own closes, and the leave is logged all the same once the news crosses.
    tokio::join!(on_b.close(), on_a.close());
    let deadline = Instant::now() + Duration::from_secs(5);
    while joins_and_leaves(&c.db_url, &pad).await.len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(joins_and_leaves(&c.db_url, &pad).await, ["join", "leave"]);
}

/// What a node that is not started tells of `user`'s connections to the pad there.
fn ghost_node_says(pad: &TestPad, user: i64, connections: usize) -> Relayed {
    let users = (connections > 0)
        .then(|| NodePresence {
            user_id: UserId(user),
            name: "Owner".into(),
            connections,
        })
        .into_iter()
        .collect();
    Relayed {
        pad: PadId(pad.id),
        message: PadMessage::Presence {
            node: "ghost.0".into(),
            users,
        },
    }
}

async fn until_logged(db_url: &str, pad: &TestPad, want: &[&str], within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let logged = joins_and_leaves(db_url, pad).await;
        if logged == want || Instant::now() >= deadline {
            return logged;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_leave_counted_on_another_node_is_logged_when_that_node_tells_or_is_forgotten() {
    let c = cluster().await;
    let (owner, pad) = owner_pad(&c).await;
    let user: i64 = {
        let pool = sqlx::PgPool::connect(&c.db_url).await.unwrap();
        let id = sqlx::query_scalar("SELECT owner_id FROM pads WHERE id = $1")
            .bind(pad.id)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        id
    };
    // Node A counts a connection of the user on another node when its own closes: no leave yet.
    let on_a = joined(&c.a, &pad, &owner).await;
    c.a.state.rooms.on_relayed(ghost_node_says(&pad, user, 1));
    on_a.close().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(joins_and_leaves(&c.db_url, &pad).await, ["join"]);
    // The other node tells its connection closed: the user is gone everywhere.
    c.a.state.rooms.on_relayed(ghost_node_says(&pad, user, 0));
    assert_eq!(
        until_logged(&c.db_url, &pad, &["join", "leave"], Duration::from_secs(3)).await,
        ["join", "leave"]
    );

    // News of a connection elsewhere logs nothing here (that node logs its own join): news may be
    // stale, and only this node's own connections are sure.
    c.a.state.rooms.on_relayed(ghost_node_says(&pad, user, 1));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(joins_and_leaves(&c.db_url, &pad).await, ["join", "leave"]);
    // The user's first connection here joins although another node is counted.
    let on_a = joined(&c.a, &pad, &owner).await;
    assert_eq!(
        until_logged(
            &c.db_url,
            &pad,
            &["join", "leave", "join"],
            Duration::from_secs(3)
        )
        .await,
        ["join", "leave", "join"]
    );
    // A node that never tells again (it died) is forgotten after `PRESENCE_EXPIRY`: the leave
    // follows.
    on_a.close().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        joins_and_leaves(&c.db_url, &pad).await,
        ["join", "leave", "join"]
    );
    assert_eq!(
        until_logged(
            &c.db_url,
            &pad,
            &["join", "leave", "join", "leave"],
            PRESENCE_EXPIRY + Duration::from_secs(5)
        )
        .await,
        ["join", "leave", "join", "leave"]
    );
}

#[tokio::test]
async fn a_nodes_bus_id_names_its_node_and_this_process() {
    let c = cluster().await;
    let config = &c.a.state.config;
    let node = opencoder::exec::node::node_id(&config.exec, &config.data_dir).unwrap();
    let (named, process) = c.a.state.bus.node().rsplit_once('.').unwrap();
    assert_eq!(named, node);
    assert_eq!(process.len(), 32, "a random id per process");
    assert_ne!(c.a.state.bus.node(), c.b.state.bus.node());
}
