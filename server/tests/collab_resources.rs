//! Resource bounds of the pad socket under attack (SPEC §4 "Limits"): parked updates with
//! missing dependencies, the update log's growth, full-state requests and typing bursts. Each
//! test attacks over a real WebSocket and checks what the server kept, not just that it lived.

mod collab_support;
mod common;

use std::time::Duration;

use collab_support::{connect, new_doc, Http, Peer, TestPad};
use common::TestApp;
use opencoder::collab::limits;
use opencoder::db::PadId;
use yrs::{Text, Transact};

struct Setup {
    app: TestApp,
    owner: String,
    pad: TestPad,
}

async fn setup(vars: &[(&str, &str)]) -> Setup {
    let app = TestApp::spawn_with(vars).await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    Setup { app, owner, pad }
}

impl Setup {
    async fn peer(&self) -> Peer {
        let mut p = connect(&self.app.base, &self.pad.slug, &self.owner).await;
        p.synced().await;
        p
    }

    /// The pad's text as REST reads it from the loaded (or freshly loaded) document.
    async fn rest_text(&self) -> String {
        Http::new(&self.app.base)
            .file_text(&self.owner, &self.pad, self.pad.file_id)
            .await
    }

    /// Checkpoint, close the room and drop the document, so the next use loads it from the
    /// database (checkpoint + log tail).
    async fn reload(&self) {
        // The server notices closed sockets asynchronously; the room goes once it is empty.
        let rooms = &self.app.state.rooms;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let later = std::time::Instant::now()
                + opencoder::collab::rooms::ROOM_IDLE_GRACE
                + Duration::from_secs(1);
            rooms.sweep(later).await;
            if rooms.live_rooms() == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the room did not empty"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.app.state.docs.flush_all().await;
        self.app.state.docs.unload(PadId(self.pad.id)).await;
        assert_eq!(
            self.app.state.docs.loaded_count(),
            0,
            "the document is unloaded"
        );
    }
}

/// `count` updates of `bytes_each` characters from one Yjs client whose first update is never
/// sent: every one of them depends on it, so the server can only park them.
fn updates_after_a_gap(file: &str, count: usize, bytes_each: usize) -> Vec<Vec<u8>> {
    let doc = new_doc();
    let text = doc.get_or_insert_text(format!("file:{file}").as_str());
    text.insert(&mut doc.transact_mut(), 0, "withheld");
    (0..count)
        .map(|_| {
            let mut txn = doc.transact_mut();
            let len = text.len(&txn);
            text.insert(&mut txn, len, &"x".repeat(bytes_each));
            txn.encode_update_v1()
        })
        .collect()
}

#[tokio::test]
async fn updates_with_a_clock_gap_are_bounded_refused_with_1008_and_never_checkpointed() {
    let s = setup(&[]).await;
    let mut writer = s.peer().await;
    writer.insert(&s.pad.file, 0, "before ").await;

    // A little parked content is allowed (a relaying client may briefly be ahead)…
    let mut relay = s.peer().await;
    for update in updates_after_a_gap(&s.pad.file, 2, 100) {
        relay.send(oc_proto::encode_update(&update)).await;
    }
    relay.drain(Duration::from_millis(300)).await;
    assert!(
        relay.closed.is_none(),
        "a small gap is tolerated: {:?}",
        relay.closed
    );
    let doc = s.app.state.docs.open(PadId(s.pad.id)).await.unwrap();
    assert!(doc.pending_len() > 0, "the gap is parked and counted");

    // … but a client that keeps sending content after a gap is closed with 1008 once the parked
    // content would pass the allowance, long before it could grow memory.
    let mut attacker = s.peer().await;
    let each = 8 * 1024;
    let updates = updates_after_a_gap(&s.pad.file, 4 * limits::MAX_PENDING_BYTES / each, each);
    for update in updates {
        attacker.send(oc_proto::encode_update(&update)).await;
    }
    assert_eq!(
        attacker.closed_within(Duration::from_secs(5)).await,
        Some(1008),
        "gap flood closes 1008"
    );
    let parked = doc.pending_len();
    assert!(
        parked <= limits::MAX_PENDING_BYTES,
        "parked bytes stay within the allowance: {parked}"
    );

    // The pad still takes ordinary edits, from the same and from new sockets.
    writer.drain(Duration::from_millis(100)).await;
    writer.append(&s.pad.file, "after").await;
    let mut reader = s.peer().await;
    let file = s.pad.file.clone();
    assert!(
        reader
            .until(Duration::from_secs(3), |p| p
                .text(&file)
                .starts_with("before ")
                && p.text(&file).ends_with("after"))
            .await
    );
    drop(doc);

    // Checkpoint and reload: nothing parked is baked in, and edits keep landing.
    writer.close().await;
    relay.close().await;
    reader.close().await;
    s.reload().await;
    let mut again = s.peer().await;
    assert!(
        !again.text(&s.pad.file).contains("withheld") && !again.text(&s.pad.file).contains("xxx")
    );
    again.append(&s.pad.file, " reloaded").await;
    let expected = again.text(&s.pad.file);
    assert!(
        expected.starts_with("before ") && expected.ends_with("after reloaded"),
        "{expected}"
    );
    again.drain(Duration::from_millis(200)).await;
    assert_eq!(s.rest_text().await, expected);
    assert_eq!(
        s.app
            .state
            .docs
            .open(PadId(s.pad.id))
            .await
            .unwrap()
            .pending_len(),
        0
    );
    again.close().await;
    s.reload().await;
    assert_eq!(
        s.rest_text().await,
        expected,
        "the edit after the reload survives another reload"
    );
}

/// Rows and bytes of the pad's update log, and the running total the server keeps.
async fn log_totals(app: &TestApp, pad: i64) -> (i64, i64, i64) {
    let db = app.sql();
    let (rows, bytes): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(update_bytes)), 0) FROM doc_updates WHERE pad_id = ?",
    )
    .bind(pad)
    .fetch_one(db)
    .await
    .unwrap();
    let counted: i64 = sqlx::query_scalar("SELECT history_bytes FROM pads WHERE id = ?")
        .bind(pad)
        .fetch_one(db)
        .await
        .unwrap();
    (rows, bytes, counted)
}

/// Insert `chunk` at the start of the file, then delete it again: the document stays small, the
/// log grows by the chunk every round.
async fn insert_then_delete(peer: &mut Peer, file: &str, chunk: &str) {
    peer.insert(file, 0, chunk).await;
    let update = {
        let text = peer.doc.get_or_insert_text(format!("file:{file}").as_str());
        let mut txn = peer.doc.transact_mut();
        text.remove_range(&mut txn, 0, chunk.len() as u32);
        txn.encode_update_v1()
    };
    peer.send(oc_proto::encode_update(&update)).await;
}

#[tokio::test]
async fn insert_delete_churn_stops_at_the_pad_history_budget_and_the_client_is_told() {
    let budget: i64 = 1 << 20;
    let s = setup(&[("COLLAB_HISTORY_BYTES", &budget.to_string())]).await;
    let mut churner = s.peer().await;
    let chunk = "c".repeat(100_000);
    // Six times the budget in inserts, a document that never holds more than one chunk.
    for _ in 0..60 {
        insert_then_delete(&mut churner, &s.pad.file, &chunk).await;
        churner.drain(Duration::from_millis(5)).await;
    }
    churner.drain(Duration::from_millis(300)).await;
    s.app.state.docs.flush_log().await;
    let (rows, bytes, counted) = log_totals(&s.app, s.pad.id).await;
    assert!(
        bytes <= budget,
        "the log stopped at the budget: {bytes} bytes in {rows} rows"
    );
    assert!(
        bytes > budget / 2,
        "the budget was used, not refused early: {bytes}"
    );
    assert_eq!(counted, bytes, "the running total matches the log");
    assert!(
        churner.has_error("history_full"),
        "the client is told: {:?}",
        churner.apps
    );
    assert!(
        churner.permission_denied > 0,
        "y-protocols clients are told too"
    );
    assert!(
        churner.closed.is_none(),
        "the socket stays open for reading: {:?}",
        churner.closed
    );

    // Nothing more is logged, the pad stays readable, and REST edits get 409 history_full.
    let refused_before = churner.app_messages("error").len();
    churner.insert(&s.pad.file, 0, &"m".repeat(100_000)).await;
    churner.drain(Duration::from_millis(200)).await;
    assert!(
        churner.app_messages("error").len() > refused_before,
        "each refused edit is told"
    );
    s.app.state.docs.flush_log().await;
    assert_eq!(log_totals(&s.app, s.pad.id).await.1, bytes);
    assert!(!s.rest_text().await.contains("mmm"));
    let created = s
        .app
        .post(
            &format!("/api/pads/{}/files", s.pad.slug),
            Some(&s.owner),
            serde_json::json!({"name": "b.py", "content": "x"}),
        )
        .await;
    assert_eq!(
        created.status,
        reqwest::StatusCode::CONFLICT,
        "{:?}",
        created.body
    );
    assert_eq!(created.body["error"], "history_full", "{:?}", created.body);

    // The budget is a count in the database: a reload does not reset it.
    churner.close().await;
    s.reload().await;
    let mut again = s.peer().await;
    again.insert(&s.pad.file, 0, &"r".repeat(100_000)).await;
    again.drain(Duration::from_millis(300)).await;
    assert!(again.has_error("history_full"));
    s.app.state.docs.flush_log().await;
    assert_eq!(log_totals(&s.app, s.pad.id).await.1, bytes);
}

#[tokio::test]
async fn one_oversized_update_closes_1009_and_nothing_is_logged() {
    let s = setup(&[]).await;
    let mut p = s.peer().await;
    s.app.state.docs.flush_log().await;
    let before = log_totals(&s.app, s.pad.id).await;
    // Under the frame limit, over the update limit.
    let big = "u".repeat(limits::MAX_UPDATE_BYTES + 1024);
    assert!(big.len() + 64 < limits::MAX_FRAME_BYTES);
    p.insert(&s.pad.file, 0, &big).await;
    assert_eq!(p.closed_within(Duration::from_secs(5)).await, Some(1009));
    s.app.state.docs.flush_log().await;
    assert_eq!(log_totals(&s.app, s.pad.id).await, before, "nothing logged");
    assert!(!s.rest_text().await.contains("uuuu"), "nothing applied");
}

#[tokio::test]
async fn a_full_log_queue_pauses_the_socket_instead_of_growing_memory() {
    let queue: usize = 4 << 20;
    let s = setup(&[("COLLAB_PERSIST_QUEUE_BYTES", &queue.to_string())]).await;
    let mut p = s.peer().await;
    // Another connection holds SQLite's write lock: the log writer cannot commit meanwhile.
    let mut blocker = <sqlx::SqliteConnection as sqlx::Connection>::connect(
        s.app.state.config.database_url.expose(),
    )
    .await
    .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let docs = s.app.state.docs.clone();
    let sampler = tokio::spawn(async move {
        let mut most = 0;
        for _ in 0..400 {
            most = most.max(docs.queued_log_bytes());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        most
    });
    let releaser = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    });
    // Big inserts that are deleted again, so the file stays under `MAX_FILE_BYTES` while the
    // log queue takes several megabytes; the last one stays.
    let chunk = "q".repeat(450_000);
    let rounds = 10;
    for _ in 0..rounds - 1 {
        insert_then_delete(&mut p, &s.pad.file, &chunk).await;
    }
    p.insert(&s.pad.file, 0, &chunk).await;
    let most = sampler.await.unwrap();
    releaser.await.unwrap();
    assert!(
        most <= queue + limits::MAX_UPDATE_BYTES,
        "the queue stays bounded in bytes while the writer is stuck: {most} > {queue}"
    );
    // Once the writer catches up every update lands; the socket was slowed, not closed.
    p.drain(Duration::from_millis(500)).await;
    assert!(p.closed.is_none(), "{:?}", p.closed);
    s.app.state.docs.flush_log().await;
    assert_eq!(s.rest_text().await.matches('q').count(), chunk.len());
}

#[tokio::test]
async fn full_state_requests_have_their_own_low_budget_and_others_stay_prompt() {
    let s = setup(&[]).await;
    let big = "s".repeat(1_500_000);
    // Server-side ballast outside the pad's files, so the starter file stays editable (a file
    // over `MAX_FILE_BYTES` would refuse every edit).
    s.app
        .state
        .docs
        .edit(PadId(s.pad.id), None, move |txn| {
            let ballast = yrs::WriteTxn::get_or_insert_text(txn, "ballast");
            yrs::Text::insert(&ballast, txn, 0, &big);
        })
        .await
        .unwrap();
    assert!(
        s.app
            .state
            .docs
            .open(PadId(s.pad.id))
            .await
            .unwrap()
            .approx_len()
            > limits::OFFLOAD_ENCODE_BYTES,
        "the document is large enough to be encoded off the async workers"
    );
    let mut watcher = s.peer().await;
    let mut writer = s.peer().await;
    let mut spammer = s.peer().await;
    let doc = s.app.state.docs.open(PadId(s.pad.id)).await.unwrap();
    let answered_before = doc.sync_answers();
    let started = std::time::Instant::now();
    // Two bytes each, asking for the whole document every time.
    for _ in 0..100 {
        spammer.send(oc_proto::encode_sync_step1(&[0])).await;
    }
    // Meanwhile an edit reaches the other sockets promptly.
    writer.insert(&s.pad.file, 0, "prompt ").await;
    let sent = std::time::Instant::now();
    assert!(
        watcher
            .until(Duration::from_secs(2), |p| p
                .text(&s.pad.file)
                .starts_with("prompt "))
            .await
    );
    let latency = sent.elapsed();
    assert!(
        latency < Duration::from_millis(1000),
        "an edit took {latency:?} to reach another socket"
    );
    spammer.drain(Duration::from_millis(2000)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let answered = doc.sync_answers() - answered_before;
    let allowed = limits::SYNC_REQUESTS_BURST + limits::SYNC_REQUESTS_PER_SEC * elapsed + 1.0;
    assert!(
        answered as f64 <= allowed,
        "{answered} full-state answers in {elapsed:.1}s (allowed {allowed:.0})"
    );
    assert!(
        spammer.closed.is_none(),
        "slowed, not closed, within the flood window: {:?}",
        spammer.closed
    );
}

#[tokio::test]
async fn a_fast_typist_is_slowed_not_disconnected_and_every_edit_lands_in_order() {
    let s = setup(&[]).await;
    let mut watcher = s.peer().await;
    let mut typist = s.peer().await;
    let file = s.pad.file.clone();
    let typed = 450;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / 150));
    let mut expected = String::new();
    for i in 0..typed {
        tick.tick().await;
        let c = char::from(b'a' + (i % 26) as u8);
        expected.push(c);
        typist.append(&file, &c.to_string()).await;
    }
    let expected_text = typist.text(&file);
    assert!(expected_text.ends_with(&expected));
    assert!(
        watcher
            .until(Duration::from_secs(10), |p| p.text(&file) == expected_text)
            .await,
        "every edit reached the other socket in order (typist closed: {:?})",
        typist.closed
    );
    typist.drain(Duration::from_millis(100)).await;
    assert!(
        typist.closed.is_none(),
        "150 updates/s for 3 s is slowed, not closed: {:?}",
        typist.closed
    );
}

#[tokio::test]
async fn a_sustained_flood_is_closed_with_1008_after_the_flood_window() {
    let s = setup(&[("COLLAB_FLOOD_CLOSE_MS", "1000")]).await;
    let mut watcher = s.peer().await;
    let mut flooder = s.peer().await;
    let file = s.pad.file.clone();
    let before = watcher.text(&file).matches('f').count();
    let started = std::time::Instant::now();
    // The burst, then far more than the refill rate for far longer than the window.
    for _ in 0..(limits::UPDATES_BURST as usize + 400) {
        flooder.append(&file, "f").await;
    }
    assert_eq!(
        flooder.closed_within(Duration::from_secs(10)).await,
        Some(1008)
    );
    let lasted = started.elapsed();
    assert!(
        lasted >= Duration::from_millis(1000),
        "closed only after the window: {lasted:?}"
    );
    // Throttled updates were applied, not refused: more than the burst landed.
    watcher.drain(Duration::from_millis(300)).await;
    let landed = watcher.text(&file).matches('f').count() - before;
    assert!(
        landed > limits::UPDATES_BURST as usize + 30,
        "only {landed} landed"
    );
    // The pad carries on for everyone else.
    let mut writer = s.peer().await;
    writer.insert(&file, 0, "still ").await;
    assert!(
        watcher
            .until(Duration::from_secs(3), |p| p
                .text(&file)
                .starts_with("still "))
            .await
    );
}
