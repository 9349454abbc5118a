//! What must exist once per pad, across nodes (one PostgreSQL, one Redis, both throwaway): the
//! pad's owner holds a lease with a fencing epoch. One shell per pad whichever node a terminal
//! socket is on; a dead owner's pads are taken over within seconds; a paused owner's writes are
//! refused once another node took over.
//!
//! The terminal tests need Docker and the runner image (like `terminal.rs`).

mod collab_support;
mod common;
mod redis_support;

use std::time::{Duration, Instant};

use collab_support::{connect, BinaryServer, Http, TestPad};
use common::postgres::TempPostgres;
use common::TestApp;
use futures_util::{SinkExt, StreamExt};
use opencoder::cluster::{FencedError, LEASE_TTL, RENEW_EVERY};
use opencoder::db::PadId;
use redis_support::RedisServer;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;

const SHARED_SECRET: &str = "cluster-ownership-test-secret-0123456789abcdef";
/// A dead owner's pad is someone else's after its lease expires and one renewal round passes.
const TAKEOVER_WITHIN: Duration =
    Duration::from_secs(LEASE_TTL.as_secs() + 2 * RENEW_EVERY.as_secs() + 1);

/// A terminal socket: its output so far, its control messages, and its close code.
struct Shell {
    ws: collab_support::Ws,
    output: String,
    messages: Vec<serde_json::Value>,
    closed: Option<u16>,
}

impl Shell {
    async fn open(base: &str, slug: &str, token: &str) -> Shell {
        let url = format!(
            "{}/ws/pad/{slug}/terminal",
            base.replacen("http://", "ws://", 1)
        );
        let mut request = url.into_client_request().unwrap();
        let protocols = HeaderValue::from_str(&format!("opencoder.v1, oc.bearer.{token}")).unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocols);
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("terminal socket");
        Shell {
            ws,
            output: String::new(),
            messages: Vec::new(),
            closed: None,
        }
    }

    async fn type_line(&mut self, line: &str) {
        self.ws
            .send(Message::Binary(format!("{line}\n").into_bytes().into()))
            .await
            .unwrap();
    }

    /// Read until the output satisfies `done` (`false` on timeout or close).
    async fn until(&mut self, within: Duration, done: impl Fn(&str) -> bool) -> bool {
        self.until_shell(within, |shell| done(&shell.output)).await
    }

    /// Read until `done` holds for what was received (`false` on timeout or close).
    async fn until_shell(&mut self, within: Duration, done: impl Fn(&Shell) -> bool) -> bool {
        let deadline = Instant::now() + within;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.ws.next()).await {
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    self.output.push_str(&String::from_utf8_lossy(&bytes))
                }
                Ok(Some(Ok(Message::Text(text)))) => self
                    .messages
                    .push(serde_json::from_str(text.as_str()).unwrap()),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    self.closed = frame.map(|f| u16::from(f.code));
                    return done(self);
                }
                Ok(Some(Ok(_))) => {}
                _ => return false,
            }
        }
        true
    }

    fn has_error(&self, code: &str) -> bool {
        self.messages
            .iter()
            .any(|m| m["type"] == "error" && m["code"] == code)
    }
}

async fn owner_and_pad(http: &Http) -> (String, TestPad) {
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    (owner, pad)
}

/// Remove the sandbox containers a killed node left (its start-up sweep would, had it come back).
fn remove_containers_of(data_dir: &std::path::Path) {
    let node = std::fs::read_to_string(data_dir.join("node_id")).unwrap();
    let listed = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=opencoder.sandbox.node={}", node.trim()),
        ])
        .output()
        .unwrap();
    for id in String::from_utf8_lossy(&listed.stdout).split_whitespace() {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", id])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_shell_for_sockets_on_two_nodes_and_a_new_one_after_the_owner_is_killed() {
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
    let (owner, pad) = owner_and_pad(&a.http()).await;

    let mut on_a = Shell::open(&a.base, &pad.slug, &owner).await;
    on_a.type_line("export MARK=shared; echo ready-$((40+2))")
        .await;
    assert!(
        on_a.until(Duration::from_secs(30), |o| o.contains("ready-42"))
            .await,
        "shell on A: {:?}",
        on_a.output
    );

    // Node B does not own the pad: its socket reaches A's shell (scrollback first).
    let mut on_b = Shell::open(&b.base, &pad.slug, &owner).await;
    assert!(
        on_b.until(Duration::from_secs(10), |o| o.contains("ready-42"))
            .await,
        "scrollback on B: {:?}",
        on_b.output
    );
    on_b.type_line("echo \"x${MARK}y-$((2+3))\"").await;
    let same_shell = |o: &str| o.contains("xsharedy-5");
    assert!(
        on_b.until(Duration::from_secs(10), same_shell).await,
        "typed on B, run in A's shell: {:?}",
        on_b.output
    );
    assert!(
        on_a.until(Duration::from_secs(10), same_shell).await,
        "and A sees it: {:?}",
        on_a.output
    );
    let containers = |dir: &std::path::Path| {
        let node = std::fs::read_to_string(dir.join("node_id")).unwrap();
        let listed = std::process::Command::new("docker")
            .args([
                "ps",
                "-q",
                "--filter",
                &format!("label=opencoder.sandbox.node={}", node.trim()),
            ])
            .args([
                "--filter",
                &format!("label=opencoder.terminal=pad-{}", pad.id),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&listed.stdout)
            .split_whitespace()
            .count()
    };
    assert_eq!(
        (containers(dir_a.path()), containers(dir_b.path())),
        (1, 0),
        "one container, on the owner"
    );

    // The owner dies: B takes the pad over within seconds and starts a new shell.
    a.kill9();
    let killed = Instant::now();
    let restarted = |o: &str| o.contains("terminal restarted");
    assert!(
        on_b.until(TAKEOVER_WITHIN, restarted).await,
        "B took over: {:?}",
        on_b.output
    );
    let took = killed.elapsed();
    assert!(took <= TAKEOVER_WITHIN, "takeover took {took:?}");
    let before = on_b.output.len();
    on_b.type_line("echo \"x${MARK}y-$((3+4))\"").await;
    let fresh = |o: &str| o[before..].contains("xy-7");
    assert!(
        on_b.until(Duration::from_secs(30), fresh).await,
        "a new shell on B: {:?}",
        &on_b.output[before..]
    );
    assert_eq!(containers(dir_b.path()), 1);
    println!("terminal takeover after kill -9 of the owner: {took:?}");
    remove_containers_of(dir_a.path());
    drop(b);
}

/// Two in-process nodes on one PostgreSQL and one Redis.
async fn cluster() -> (TestApp, TestApp, RedisServer) {
    let db_url = TempPostgres::shared().create_database().await;
    let redis = RedisServer::start();
    let vars = [
        ("REDIS_URL", redis.url()),
        ("JWT_SECRET", SHARED_SECRET.to_string()),
        ("DATABASE_URL", db_url),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = TestApp::spawn_with(&vars).await;
    let b = TestApp::spawn_with(&vars).await;
    (a, b, redis)
}

async fn until(within: Duration, mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_owner_has_its_writes_refused_once_another_node_took_the_pad_over() {
    let (a, b, _redis) = cluster().await;
    let http = Http::new(&a.base);
    let (owner, pad) = owner_and_pad(&http).await;
    let id = PadId(pad.id);
    let mut peer_a = connect(&a.base, &pad.slug, &owner).await;
    peer_a.synced().await;
    let node_a = a.state.ownership.node().to_string();
    let owns = |app: &TestApp| app.state.ownership.owned(id).and_then(|owner| owner.fence);
    assert!(
        until(TAKEOVER_WITHIN, async || owns(&a).is_some()).await,
        "A, with a socket of the pad, owns it"
    );
    let (status, body) = http
        .call(
            reqwest::Method::POST,
            &format!("/api/pads/{}/recordings", pad.slug),
            Some(&owner),
            Some(json!({})),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let recording = opencoder::recordings::store::active_recording(&a.state.db, id)
        .await
        .unwrap()
        .unwrap();
    for i in 0..6 {
        peer_a.append(&pad.file, &format!("e{i};")).await;
    }
    a.state.docs.flush_log().await;

    // A stops renewing, as a paused process would; B, with a socket of the pad, takes it over.
    a.state.ownership.pause_renewals(true);
    let stale = owns(&a).unwrap();
    let mut peer_b = connect(&b.base, &pad.slug, &owner).await;
    peer_b.synced().await;
    assert!(
        until(TAKEOVER_WITHIN, async || owns(&b).is_some()).await,
        "B took the pad over"
    );
    assert!(owns(&b).unwrap().epoch > stale.epoch);
    assert_eq!(
        owns(&a),
        Some(stale),
        "paused, A still believes it owns the pad"
    );

    // Seek data falls due only now (A's own background would have written it while it owned the
    // pad), and A still writes as the owner it believes it is.
    a.state.recordings.set_segment_updates(2);
    let refused = opencoder::recordings::background::write_due_checkpoints(&a.state, &recording)
        .await
        .unwrap_err();
    assert!(
        matches!(refused.downcast_ref::<FencedError>(), Some(FencedError::Stale(p)) if *p == id),
        "{refused:?}"
    );
    let output = json!({ "text": "stale output", "bytes": 12 });
    let refused = opencoder::recordings::append_event(
        &a.state.db,
        Some(stale),
        id,
        "terminal",
        None,
        &output,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            refused.downcast_ref::<FencedError>(),
            Some(FencedError::Stale(_))
        ),
        "{refused:?}"
    );
    let lease = opencoder::cluster::store::lease(&a.state.db, id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(lease.owner, node_a);

    // Resumed, A learns at its next renewal that the pad is no longer its.
    a.state.ownership.pause_renewals(false);
    assert!(
        until(TAKEOVER_WITHIN, async || owns(&a).is_none()).await,
        "A gave the pad up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auto_record_on_two_nodes_makes_one_recording() {
    let (a, b, _redis) = cluster().await;
    let http = Http::new(&a.base);
    let (owner, pad) = owner_and_pad(&http).await;
    let (status, body) = http
        .call(
            reqwest::Method::PATCH,
            &format!("/api/pads/{}/recording-settings", pad.slug),
            Some(&owner),
            Some(json!({ "autoRecord": true })),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let (mut on_a, mut on_b) = tokio::join!(
        connect(&a.base, &pad.slug, &owner),
        connect(&b.base, &pad.slug, &owner)
    );
    on_a.synced().await;
    on_b.synced().await;
    let recordings = async || {
        let (_, body) = http
            .call(
                reqwest::Method::GET,
                &format!("/api/pads/{}/recordings", pad.slug),
                Some(&owner),
                None,
            )
            .await;
        body["recordings"].as_array().cloned().unwrap_or_default()
    };
    assert!(
        until(Duration::from_secs(5), async || !recordings()
            .await
            .is_empty())
        .await
    );
    tokio::time::sleep(TAKEOVER_WITHIN).await;
    assert_eq!(recordings().await.len(), 1, "{:?}", recordings().await);
}

/// The latest `presence` a peer got: (user id, connections) per user.
fn presence(peer: &collab_support::Peer) -> Vec<(i64, u64)> {
    let Some(last) = peer.app_messages("presence").last().cloned() else {
        return Vec::new();
    };
    last["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["userId"].as_i64().unwrap(),
                u["connections"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn presence_lists_every_node_s_connections_and_a_dead_node_s_drop_out() {
    let db_url = TempPostgres::shared().create_database().await;
    let redis = RedisServer::start();
    let redis_url = redis.url();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let vars = [
        ("DATABASE_URL", db_url.as_str()),
        ("REDIS_URL", redis_url.as_str()),
        ("JWT_SECRET", SHARED_SECRET),
    ];
    let a = BinaryServer::start_with(dir_a.path(), &vars).await;
    let mut b = BinaryServer::start_with(dir_b.path(), &vars).await;
    let http = a.http();
    let (owner_id, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let (member_id, member) = http.signup("Member").await;
    http.add_member(&owner, &pad, &member, "collaborator").await;

    let mut owner_on_a = connect(&a.base, &pad.slug, &owner).await;
    owner_on_a.synced().await;
    let mut member_on_b = connect(&b.base, &pad.slug, &member).await;
    let mut owner_on_b = connect(&b.base, &pad.slug, &owner).await;
    member_on_b.synced().await;
    owner_on_b.synced().await;
    let everyone = [(owner_id, 2), (member_id, 1)];
    let within = Duration::from_secs(3);
    assert!(
        owner_on_a.until(within, |p| presence(p) == everyone).await,
        "on A: {:?}",
        presence(&owner_on_a)
    );
    assert!(
        member_on_b.until(within, |p| presence(p) == everyone).await,
        "on B: {:?}",
        presence(&member_on_b)
    );

    // A leaving connection is gone from the other node's list at once.
    owner_on_b.close().await;
    let left = [(owner_id, 1), (member_id, 1)];
    assert!(
        owner_on_a.until(within, |p| presence(p) == left).await,
        "on A: {:?}",
        presence(&owner_on_a)
    );

    // A dead node's connections drop out once it stops repeating them.
    b.kill9();
    let expiry =
        opencoder::collab::limits::PRESENCE_EXPIRY + opencoder::collab::rooms::SWEEP_EVERY * 2;
    assert!(
        owner_on_a
            .until(expiry, |p| presence(p) == [(owner_id, 1)])
            .await,
        "on A: {:?}",
        presence(&owner_on_a)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn console_input_from_a_socket_on_another_node_reaches_the_run() {
    oc_sandbox::testing::hold_shared_docker_lock();
    let (a, b, _redis) = cluster().await;
    let http = Http::new(&a.base);
    let (owner, pad) = owner_and_pad(&http).await;
    let (_, bob) = http.signup("Bob").await;
    let (_, vic) = http.signup("Vic").await;
    http.add_member(&owner, &pad, &bob, "collaborator").await;
    http.add_member(&owner, &pad, &vic, "viewer").await;
    let source = "name = input('name? ')\nprint('hello ' + name, flush=True)\n";
    let (status, body) = http
        .call(
            reqwest::Method::POST,
            &format!("/api/pads/{}/files", pad.slug),
            Some(&owner),
            Some(json!({ "name": "ask.py", "content": source })),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let mut on_a = connect(&a.base, &pad.slug, &owner).await;
    let mut bob_on_b = connect(&b.base, &pad.slug, &bob).await;
    let mut vic_on_b = connect(&b.base, &pad.slug, &vic).await;
    for peer in [&mut on_a, &mut bob_on_b, &mut vic_on_b] {
        peer.synced().await;
    }
    // The run lives on node A.
    let (status, body) = http
        .call(
            reqwest::Method::POST,
            &format!("/api/pads/{}/runs", pad.slug),
            Some(&owner),
            Some(json!({ "entry": "ask.py", "interactive": true })),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let run_id = body["runId"].as_str().unwrap().to_string();
    let output = |peer: &collab_support::Peer| -> String {
        let mut chunks = std::collections::BTreeMap::new();
        for m in peer
            .app_messages("run.output")
            .into_iter()
            .filter(|m| m["runId"] == run_id.as_str())
        {
            chunks.insert(
                m["seq"].as_u64().unwrap(),
                m["data"].as_str().unwrap().to_string(),
            );
        }
        chunks.into_values().collect::<String>()
    };
    let wait = Duration::from_secs(30);
    assert!(
        bob_on_b.until(wait, |p| output(p) == "name? ").await,
        "{:?}",
        output(&bob_on_b)
    );

    // A viewer on B is refused there, as on the run's own node.
    vic_on_b
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "Vic\n" }))
        .await;
    assert!(vic_on_b.until(wait, |p| p.has_error("forbidden")).await);
    // Console input that reaches the run's node for a user whose role may not run code (as a
    // node that did not check would send it) is dropped there.
    let viewer_id = http
        .call(reqwest::Method::GET, "/api/auth/me", Some(&vic), None)
        .await
        .1["user"]["id"]
        .as_i64()
        .unwrap();
    let forged = opencoder::bus::NodeMessage::ConsoleInput {
        pad: PadId(pad.id),
        user: opencoder::db::UserId(viewer_id),
        run_id: run_id.clone(),
        data: Some("Vic\n".into()),
        // No request of node B's: the refusal it answers is dropped there.
        request: 0,
    };
    b.state.bus.send(None, forged);
    // The run's node answers refusals back to the typist's node, as if the run were there; input
    // for a run no node has is refused too, once no node answered.
    let too_large = "x".repeat(opencoder::exec::console::CONSOLE_MESSAGE_BYTES + 1);
    bob_on_b
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": too_large }))
        .await;
    assert!(
        bob_on_b
            .until(wait, |p| p.has_error("input_too_large"))
            .await,
        "{:?}",
        bob_on_b.app_messages("error")
    );
    bob_on_b
        .send_app(json!({ "type": "run.stdin", "runId": "no-such-run", "data": "x" }))
        .await;
    assert!(bob_on_b.until(wait, |p| p.has_error("unknown_run")).await);
    // A collaborator's input on B reaches the program on A; everyone sees the exchange.
    bob_on_b
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "Bob\n" }))
        .await;
    for peer in [&mut on_a, &mut bob_on_b] {
        assert!(
            peer.until(wait, |p| output(p) == "name? Bob\nhello Bob\n")
                .await,
            "{:?}",
            output(peer)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_owner_checkpoints_a_pad_other_writers_keep_its_own_checkpoints_off() {
    use opencoder::collab::owner_checkpoints::{take_due, TAIL_UPDATES};
    use opencoder::collab::store::{self as collab_store, LogWrite};
    use yrs::updates::decoder::Decode;
    use yrs::{GetString, Text, Transact};

    let (a, b, _redis) = cluster().await;
    let http = Http::new(&a.base);
    let (owner, pad) = owner_and_pad(&http).await;
    let id = PadId(pad.id);
    let mut on_a = connect(&a.base, &pad.slug, &owner).await;
    let mut on_b = connect(&b.base, &pad.slug, &owner).await;
    on_a.synced().await;
    on_b.synced().await;
    let owns = |app: &TestApp| {
        app.state
            .ownership
            .owned(id)
            .and_then(|owner| owner.fence)
            .is_some()
    };
    assert!(until(TAKEOVER_WITHIN, async || owns(&a) || owns(&b)).await);
    let (owner_node, other) = if owns(&a) { (&a, &b) } else { (&b, &a) };

    // A writer that is neither node's document (as another node's edits are to each) logs more
    // than a checkpoint's worth of updates.
    let writer = collab_support::new_doc();
    let root = format!("file:{}", pad.file);
    let updates: Vec<Vec<u8>> = (0..TAIL_UPDATES + 20)
        .map(|i| {
            let text = writer.get_or_insert_text(root.as_str());
            let mut txn = writer.transact_mut();
            let len = text.len(&txn);
            text.insert(&mut txn, len, &format!("{i};"));
            txn.encode_update_v1()
        })
        .collect();
    let writes: Vec<LogWrite<'_>> = updates
        .iter()
        .map(|bytes| LogWrite::Update {
            pad: id,
            user: None,
            at_ms: 1,
            bytes,
        })
        .collect();
    collab_store::commit_log(&owner_node.state.db, &writes)
        .await
        .unwrap();
    let newest = |db: opencoder::db::Db| async move {
        collab_store::latest_checkpoint(&db, id).await.unwrap()
    };
    let before = newest(owner_node.state.db.clone())
        .await
        .map(|(upto, _)| upto);

    take_due(&other.state).await;
    assert_eq!(
        newest(owner_node.state.db.clone())
            .await
            .map(|(upto, _)| upto),
        before,
        "only the owner builds one"
    );
    take_due(&owner_node.state).await;
    let (upto, state) = newest(owner_node.state.db.clone()).await.unwrap();
    let log = collab_store::log_page(&owner_node.state.db, id, 0, 10 * TAIL_UPDATES)
        .await
        .unwrap();
    // A node may have checkpointed the pad's first update before the writer came.
    let last = log
        .iter()
        .position(|(id, _)| *id > before.unwrap_or(0))
        .unwrap()
        + TAIL_UPDATES as usize
        - 1;
    assert_eq!(
        upto, log[last].0,
        "one step of the log after the newest checkpoint, exactly"
    );
    let checkpointed = collab_support::new_doc();
    checkpointed
        .transact_mut()
        .apply_update(yrs::Update::decode_v1(&state).unwrap())
        .unwrap();
    let replayed = collab_support::new_doc();
    for (_, bytes) in &log[..=last] {
        replayed
            .transact_mut()
            .apply_update(yrs::Update::decode_v1(bytes).unwrap())
            .unwrap();
    }
    let text = |doc: &yrs::Doc| {
        doc.get_or_insert_text(root.as_str())
            .get_string(&doc.transact())
    };
    assert_eq!(text(&checkpointed), text(&replayed));
    assert!(
        text(&checkpointed).contains("0;1;2;") && !text(&checkpointed).contains("519;"),
        "{:?}",
        text(&checkpointed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn roles_apply_to_terminal_sockets_linked_from_another_node() {
    let (a, b, _redis) = cluster().await;
    let http = Http::new(&a.base);
    let (owner, pad) = owner_and_pad(&http).await;
    let (viewer_id, viewer) = http.signup("Vic").await;
    let (member_id, member) = http.signup("Bob").await;
    http.add_member(&owner, &pad, &viewer, "viewer").await;
    http.add_member(&owner, &pad, &member, "collaborator").await;
    let mut on_a = Shell::open(&a.base, &pad.slug, &owner).await;
    on_a.type_line("echo ready-$((40+2))").await;
    assert!(
        on_a.until(Duration::from_secs(30), |o| o.contains("ready-42"))
            .await,
        "{:?}",
        on_a.output
    );

    // A viewer linked from node B watches but may not type: the owner refuses it.
    let mut vic = Shell::open(&b.base, &pad.slug, &viewer).await;
    assert!(
        vic.until(Duration::from_secs(10), |o| o.contains("ready-42"))
            .await
    );
    assert!(vic
        .messages
        .iter()
        .any(|m| m["type"] == "role" && m["role"] == "viewer" && m["canType"] == false));
    vic.type_line("echo vic-$((1+1))").await;
    assert!(
        vic.until_shell(Duration::from_secs(10), |s| s.has_error("read_only"))
            .await,
        "{:?}",
        vic.messages
    );
    // A collaborator linked from B types; then a kick through node A closes that socket on B.
    let mut bob = Shell::open(&b.base, &pad.slug, &member).await;
    bob.type_line("echo bob-$((1+1))").await;
    assert!(
        on_a.until(Duration::from_secs(10), |o| o.contains("bob-2"))
            .await,
        "{:?}",
        on_a.output
    );
    assert!(
        !on_a.output.contains("vic-2"),
        "the viewer's input never ran"
    );
    let (status, body) = http
        .call(
            reqwest::Method::DELETE,
            &format!("/api/pads/{}/members/{member_id}", pad.slug),
            Some(&owner),
            None,
        )
        .await;
    assert!(status.is_success(), "kick: {status} {body}");
    assert!(
        bob.until_shell(Duration::from_secs(2), |s| s.closed.is_some())
            .await,
        "{:?}",
        bob.messages
    );
    assert_eq!(bob.closed, Some(4003));
    // A downgrade reaches the linked viewer's role too.
    let (status, body) = http
        .call(
            reqwest::Method::PATCH,
            &format!("/api/pads/{}/members/{viewer_id}", pad.slug),
            Some(&owner),
            Some(json!({ "role": "collaborator" })),
        )
        .await;
    assert!(status.is_success(), "role change: {status} {body}");
    assert!(
        vic.until_shell(Duration::from_secs(2), |s| s
            .messages
            .iter()
            .any(|m| m["type"] == "role" && m["canType"] == true))
            .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_linked_terminal_socket_the_owner_dropped_while_redis_was_down_is_told_to_reconnect() {
    let (a, b, mut redis) = cluster().await;
    let http = Http::new(&a.base);
    let (owner, pad) = owner_and_pad(&http).await;
    let mut on_a = Shell::open(&a.base, &pad.slug, &owner).await;
    on_a.type_line("echo ready-$((40+2))").await;
    assert!(
        on_a.until(Duration::from_secs(30), |o| o.contains("ready-42"))
            .await,
        "{:?}",
        on_a.output
    );
    let mut on_b = Shell::open(&b.base, &pad.slug, &owner).await;
    assert!(
        on_b.until(Duration::from_secs(10), |o| o.contains("ready-42"))
            .await
    );

    // Longer than the owner waits for a linked socket's keepalive.
    redis.stop();
    tokio::time::sleep(opencoder::terminal::relay::SILENT_AFTER + RENEW_EVERY * 2).await;
    redis.restart();
    assert!(
        on_b.until_shell(Duration::from_secs(10), |s| s.closed.is_some())
            .await,
        "{:?}",
        on_b.messages
    );
    assert_eq!(
        on_b.closed,
        Some(1012),
        "reconnect to reach the terminal again"
    );
    // Reconnected, it is linked again.
    let mut again = Shell::open(&b.base, &pad.slug, &owner).await;
    again.type_line("echo back-$((2+2))").await;
    assert!(
        on_a.until(Duration::from_secs(10), |o| o.contains("back-4"))
            .await,
        "{:?}",
        on_a.output
    );
}
