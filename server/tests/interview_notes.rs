//! Private interviewer notes (issue 13 §3) over the real socket and HTTP API: interviewers
//! converge on them, candidates and viewers cannot open them, and nothing of them — text or
//! awareness — reaches a candidate's pad socket, the pad's REST views, its fork, its recordings
//! or the interview summary. The notes' hidden companion pad answers no pad route, access follows
//! the interview pad's membership live (on every node), and the notes survive a restart.

mod collab_support;
mod common;
mod redis_support;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use collab_support::{
    connect, connect_url, new_doc, notes_peer, notes_url, open_notes, ws_url, BinaryServer, Http,
    Peer,
};
use common::{TestApp, TestUser};
use futures_util::{SinkExt, StreamExt};
use opencoder::pads::files::MAX_FILE_BYTES;
use redis_support::RedisServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const MARKER: &str = "NOTES-MARKER-5f1c0a77: candidate hesitated on edge cases";

fn bearer(token: &str) -> String {
    format!("opencoder.v1, oc.bearer.{token}")
}

/// An interview run by Ada (owner) and Bob (collaborator), with Cam admitted as candidate.
struct Interview {
    app: TestApp,
    ada: TestUser,
    bob: TestUser,
    cam: TestUser,
    slug: String,
    file: i64,
}

async fn interview() -> Interview {
    let app = TestApp::spawn().await;
    let (ada, bob, cam) = (
        app.signup("Ada").await,
        app.signup("Bob").await,
        app.signup("Cam").await,
    );
    let (slug, file) = app.start_interview(&ada).await;
    app.add_member(&ada, &slug, &bob, "collaborator").await;
    app.admit_candidate(&ada, &slug, &cam).await;
    Interview {
        app,
        ada,
        bob,
        cam,
        slug,
        file,
    }
}

/// The companion pad's slug and id, read from the database (no API ever names them).
async fn companion(app: &TestApp) -> (String, i64) {
    sqlx::query_as("SELECT slug, id FROM pads WHERE notes_of IS NOT NULL")
        .fetch_one(app.sql())
        .await
        .unwrap()
}

/// A raw pad socket that keeps every frame it receives, byte for byte.
struct RawSocket {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    frames: Vec<Vec<u8>>,
}

impl RawSocket {
    async fn open(base: &str, slug: &str, token: &str) -> RawSocket {
        let mut request = ws_url(base, slug).into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(&bearer(token)).unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        // An empty state vector: the server answers with the whole document.
        let empty = yrs::StateVector::default();
        let sv = yrs::updates::encoder::Encode::encode_v1(&empty);
        ws.send(WsMessage::Binary(oc_proto::encode_sync_step1(&sv).into()))
            .await
            .unwrap();
        RawSocket {
            ws,
            frames: Vec::new(),
        }
    }

    /// Ask for everyone's awareness again, then collect frames for `window`.
    async fn collect(&mut self, window: Duration) {
        self.ws
            .send(WsMessage::Binary(oc_proto::encode_query_awareness().into()))
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            if let WsMessage::Binary(bytes) = message {
                self.frames.push(bytes.to_vec());
            }
        }
    }

    fn contains(&self, needle: &[u8]) -> bool {
        self.frames
            .iter()
            .any(|f| f.windows(needle.len()).any(|w| w == needle))
    }
}

/// Whether `value` holds the marker anywhere: in a string, or in a string's base64 decoding
/// (Yjs states travel as base64).
fn holds_marker(value: &Value) -> bool {
    match value {
        Value::String(s) => {
            s.contains(MARKER)
                || STANDARD
                    .decode(s)
                    .is_ok_and(|bytes| bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()))
        }
        Value::Array(items) => items.iter().any(holds_marker),
        Value::Object(map) => map.values().any(holds_marker),
        _ => false,
    }
}

#[tokio::test]
async fn two_interviewers_converge_on_the_notes() {
    let Interview {
        app,
        ada,
        bob,
        slug,
        ..
    } = interview().await;
    let (mut ada_notes, file) = notes_peer(&app.base, &slug, &ada.token).await;
    let (mut bob_notes, bob_file) = notes_peer(&app.base, &slug, &bob.token).await;
    assert_eq!(file, bob_file, "one notes document per interview");
    assert_eq!(
        ada_notes.app_messages("notes.ready")[0]["maxBytes"],
        MAX_FILE_BYTES
    );
    ada_notes.append(&file, "## Ada\n").await;
    bob_notes.append(&file, "## Bob\n").await;
    let converged = |p: &Peer| {
        let text = p.text(&file);
        text.contains("## Ada\n") && text.contains("## Bob\n")
    };
    assert!(ada_notes.until(Duration::from_secs(5), converged).await);
    assert!(bob_notes.until(Duration::from_secs(5), converged).await);
    assert_eq!(ada_notes.text(&file), bob_notes.text(&file));
    // Presence in the notes is among interviewers too.
    ada_notes.set_awareness(json!({ "cursor": 3 })).await;
    assert!(
        bob_notes
            .until(Duration::from_secs(5), |p| p
                .awareness
                .values()
                .any(|s| s["user"]["name"] == "Ada"))
            .await
    );
    // The notes socket carries the document and presence only: no chat, no run input.
    bob_notes
        .send_app(json!({ "type": "chat", "body": MARKER }))
        .await;
    assert!(
        bob_notes
            .until(Duration::from_secs(5), |p| p.has_error("unknown_type"))
            .await
    );
    let chat = app
        .get(&format!("/api/pads/{slug}/chat"), Some(&ada.token))
        .await;
    assert_eq!(chat.status, StatusCode::OK);
    assert!(!holds_marker(&chat.body), "{:?}", chat.body);
    // A root other than the notes file is refused like on any pad.
    ada_notes.append("999999", "elsewhere").await;
    assert_eq!(
        ada_notes.closed_within(Duration::from_secs(5)).await,
        Some(1008)
    );
}

#[tokio::test]
async fn the_notes_are_bounded_by_one_files_size() {
    let Interview { app, ada, slug, .. } = interview().await;
    let (mut notes, file) = notes_peer(&app.base, &slug, &ada.token).await;
    let chunk = "n".repeat(64 * 1024);
    let mut sent = 0;
    while sent <= MAX_FILE_BYTES {
        notes.append(&file, &chunk).await;
        sent += chunk.len();
    }
    assert_eq!(
        notes.closed_within(Duration::from_secs(10)).await,
        Some(1009)
    );
    let (again, _) = notes_peer(&app.base, &slug, &ada.token).await;
    assert!(again.text(&file).len() <= MAX_FILE_BYTES);
}

#[tokio::test]
async fn only_interviewers_may_open_the_notes() {
    let Interview {
        app,
        ada,
        bob,
        cam,
        slug,
        ..
    } = interview().await;
    let (vic, eve, dan) = (
        app.signup("Vic").await,
        app.signup("Eve").await,
        app.signup("Dan").await,
    );
    app.add_member(&ada, &slug, &vic, "viewer").await;
    // A candidate still waiting is refused too.
    app.add_member(&ada, &slug, &dan, "candidate").await;
    assert_eq!(
        open_notes(&app.base, &slug, &cam.token).await.err(),
        Some(403)
    );
    assert_eq!(
        open_notes(&app.base, &slug, &dan.token).await.err(),
        Some(403)
    );
    assert_eq!(
        open_notes(&app.base, &slug, &vic.token).await.err(),
        Some(403)
    );
    assert_eq!(
        open_notes(&app.base, &slug, &eve.token).await.err(),
        Some(404)
    );
    assert_eq!(
        open_notes(&app.base, &slug, "not-a-token").await.err(),
        Some(401)
    );
    assert!(open_notes(&app.base, &slug, &bob.token).await.is_ok());
    // A pad that holds no interview has no notes.
    let sandbox = app.create_pad(&ada, json!({ "title": "plain" })).await;
    let plain = sandbox["pad"]["slug"].as_str().unwrap();
    assert_eq!(
        open_notes(&app.base, plain, &ada.token).await.err(),
        Some(404)
    );
}

#[tokio::test]
async fn the_candidates_pad_socket_never_carries_the_notes() {
    let Interview {
        app,
        ada,
        bob,
        cam,
        slug,
        file,
    } = interview().await;
    let pad = format!("/api/pads/{slug}");
    let recording = app
        .post(
            &format!("{pad}/recordings"),
            Some(&ada.token),
            json!({ "name": "round 1" }),
        )
        .await;
    assert_eq!(
        recording.status,
        StatusCode::CREATED,
        "{:?}",
        recording.body
    );
    let rec = recording.body["recording"]["id"].as_i64().unwrap();

    let mut candidate = RawSocket::open(&app.base, &slug, &cam.token).await;
    let mut ada_pad = connect(&app.base, &slug, &ada.token).await;
    ada_pad.synced().await;
    let (mut ada_notes, notes_file) = notes_peer(&app.base, &slug, &ada.token).await;
    let (mut bob_notes, _) = notes_peer(&app.base, &slug, &bob.token).await;
    ada_notes.append(&notes_file, MARKER).await;
    ada_notes.set_awareness(json!({ "note": MARKER })).await;
    assert!(
        bob_notes
            .until(Duration::from_secs(5), |p| p.text(&notes_file) == MARKER)
            .await
    );
    // The pad itself changes meanwhile, so the candidate's socket demonstrably receives traffic.
    ada_pad
        .append(&file.to_string(), "# visible to everyone\n")
        .await;
    ada_pad.set_awareness(json!({ "cursor": 1 })).await;
    candidate.collect(Duration::from_secs(2)).await;
    assert!(candidate.contains(b"# visible to everyone"));
    assert!(
        candidate.contains(b"Ada"),
        "the interviewer's presence arrives"
    );
    assert!(
        !candidate.contains(MARKER.as_bytes()),
        "the notes reached the candidate's socket"
    );

    let stopped = app
        .post(
            &format!("{pad}/recordings/{rec}/stop"),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{:?}", stopped.body);
    let now = chrono::Utc::now().timestamp_millis();
    let forked = app
        .post(&format!("{pad}/fork"), Some(&ada.token), json!({}))
        .await;
    assert_eq!(forked.status, StatusCode::CREATED, "{:?}", forked.body);
    let fork_slug = forked.body["pad"]["slug"].as_str().unwrap();
    let fork_file = forked.body["files"][0]["id"].as_i64().unwrap();
    let mut views = vec![
        (pad.clone(), ada.token.clone()),
        (format!("{pad}/files"), ada.token.clone()),
        (format!("{pad}/files/{file}"), ada.token.clone()),
        (format!("{pad}/files/{file}"), cam.token.clone()),
        (format!("{pad}/chat"), ada.token.clone()),
        (format!("{pad}/interview"), cam.token.clone()),
        (format!("{pad}/interview"), ada.token.clone()),
        (format!("{pad}/interview/summary"), ada.token.clone()),
        (
            format!("{pad}/recordings/{rec}/state?t={now}&yjs=true"),
            ada.token.clone(),
        ),
        (
            format!("{pad}/recordings/{rec}/timeline"),
            ada.token.clone(),
        ),
        (format!("{pad}/recordings/{rec}/export"), ada.token.clone()),
        (
            format!("/api/pads/{fork_slug}/files/{fork_file}"),
            ada.token.clone(),
        ),
        ("/api/pads".into(), ada.token.clone()),
    ];
    views.push((
        format!("{pad}/recordings/{rec}/state?t={now}"),
        ada.token.clone(),
    ));
    for (path, token) in &views {
        let r = app.get(path, Some(token)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {:?}", r.body);
        assert!(
            !holds_marker(&r.body),
            "{path} holds the notes: {:?}",
            r.body
        );
    }
    // The recording saw the pad's edit: the views above were looking at live data.
    let state = app
        .get(
            &format!("{pad}/recordings/{rec}/state?t={now}"),
            Some(&ada.token),
        )
        .await;
    assert!(state.body.to_string().contains("# visible to everyone"));
    let markdown = app
        .client
        .get(app.url(&format!("{pad}/interview/summary/markdown")))
        .bearer_auth(&ada.token)
        .send()
        .await
        .unwrap();
    assert_eq!(markdown.status(), StatusCode::OK);
    let markdown = markdown.text().await.unwrap();
    assert!(markdown.contains("visible to everyone") && !markdown.contains(MARKER));
}

#[tokio::test]
async fn the_companion_is_no_pad_to_anyone() {
    let Interview { app, ada, slug, .. } = interview().await;
    let (mut notes, file) = notes_peer(&app.base, &slug, &ada.token).await;
    notes.append(&file, MARKER).await;
    notes.drain(Duration::from_millis(300)).await;
    let (hidden, _) = companion(&app).await;
    let base = format!("/api/pads/{hidden}");
    for path in [
        base.clone(),
        format!("{base}/files"),
        format!("{base}/files/{file}"),
        format!("{base}/members"),
        format!("{base}/chat"),
        format!("{base}/recordings"),
        format!("{base}/runs/last"),
        format!("{base}/interview"),
        format!("{base}/preview"),
    ] {
        let r = app.get(&path, Some(&ada.token)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {:?}", r.body);
    }
    for (method, path, body) in [
        (Method::POST, format!("{base}/fork"), json!({})),
        (
            Method::POST,
            format!("{base}/unlock"),
            json!({ "password": "x" }),
        ),
        (
            Method::POST,
            format!("{base}/invites"),
            json!({ "role": "candidate" }),
        ),
        (
            Method::POST,
            format!("{base}/recordings"),
            json!({ "name": "x" }),
        ),
        (Method::PATCH, base.clone(), json!({ "title": "found it" })),
        (Method::DELETE, base.clone(), json!({})),
    ] {
        let r = app
            .request(method.clone(), &path, Some(&ada.token), Some(body))
            .await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {:?}",
            r.body
        );
    }
    for url in [
        ws_url(&app.base, &hidden),
        notes_url(&app.base, &hidden),
        format!("{}/terminal", ws_url(&app.base, &hidden)),
    ] {
        let refused = connect_url(
            &url,
            &[("sec-websocket-protocol", &bearer(&ada.token))],
            new_doc(),
        )
        .await
        .err();
        assert_eq!(refused, Some(404), "{url}");
    }
    let listed = app.get("/api/pads", Some(&ada.token)).await;
    assert_eq!(
        listed.body["pads"].as_array().unwrap().len(),
        1,
        "{:?}",
        listed.body
    );
    assert!(!listed.body.to_string().contains(&hidden));
    // Deleting the interview takes its notes with it and closes the notes socket.
    let deleted = app
        .delete(&format!("/api/pads/{slug}"), Some(&ada.token))
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{:?}", deleted.body);
    assert_eq!(
        notes.closed_within(Duration::from_secs(5)).await,
        Some(4004)
    );
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pads")
        .fetch_one(app.sql())
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn losing_the_interviewer_role_or_the_session_closes_the_notes_socket() {
    let Interview {
        app,
        ada,
        bob,
        slug,
        ..
    } = interview().await;
    let (mut ada_notes, file) = notes_peer(&app.base, &slug, &ada.token).await;
    let (mut bob_notes, _) = notes_peer(&app.base, &slug, &bob.token).await;
    let mut bob_pad = connect(&app.base, &slug, &bob.token).await;
    bob_pad.synced().await;
    let member = format!("/api/pads/{slug}/members/{}", bob.id);
    let r = app
        .patch(&member, Some(&ada.token), json!({ "role": "candidate" }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        bob_notes.closed_within(Duration::from_secs(5)).await,
        Some(4003)
    );
    // The pad socket stays: Bob is still a member, now a candidate.
    bob_pad.drain(Duration::from_millis(300)).await;
    assert!(bob_pad.closed.is_none());
    assert_eq!(
        open_notes(&app.base, &slug, &bob.token).await.err(),
        Some(403)
    );
    // Ada's notes carry on, and Bob sees none of them any more.
    ada_notes.append(&file, MARKER).await;
    ada_notes.drain(Duration::from_millis(300)).await;
    assert!(ada_notes.closed.is_none());

    // Back to collaborator, then kicked: the kick closes the notes socket too.
    let r = app
        .patch(&member, Some(&ada.token), json!({ "role": "collaborator" }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let (mut bob_notes, _) = notes_peer(&app.base, &slug, &bob.token).await;
    assert_eq!(bob_notes.text(&file), MARKER);
    let r = app.delete(&member, Some(&ada.token)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        bob_notes.closed_within(Duration::from_secs(5)).await,
        Some(4003)
    );
    // Signing out everywhere closes the interviewer's own notes socket.
    let r = app
        .post("/api/auth/logout-all", Some(&ada.token), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        ada_notes.closed_within(Duration::from_secs(5)).await,
        Some(4001)
    );
}

/// Two nodes on one database and one Redis: the notes relay between them like a pad's document,
/// and a downgrade made through one node closes the notes socket open on the other.
#[tokio::test]
async fn the_notes_and_their_access_follow_across_nodes() {
    const SECRET: &str = "interview-notes-cluster-secret-0123456789abcdef";
    let redis = RedisServer::start();
    let url = redis.url();
    let a = TestApp::spawn_with(&[("REDIS_URL", &url), ("JWT_SECRET", SECRET)]).await;
    let db_url = format!(
        "sqlite://{}",
        a.state.config.data_dir.join("opencoder.db").display()
    );
    let b = TestApp::spawn_with(&[
        ("REDIS_URL", &url),
        ("JWT_SECRET", SECRET),
        ("DATABASE_URL", &db_url),
    ])
    .await;
    let (ada, bob) = (a.signup("Ada").await, a.signup("Bob").await);
    let (slug, _) = a.start_interview(&ada).await;
    a.add_member(&ada, &slug, &bob, "collaborator").await;
    let (mut on_a, file) = notes_peer(&a.base, &slug, &ada.token).await;
    let (mut on_b, file_b) = notes_peer(&b.base, &slug, &bob.token).await;
    assert_eq!(file, file_b);
    on_a.append(&file, "from A;").await;
    on_b.append(&file, "from B;").await;
    let both = |p: &Peer| {
        let text = p.text(&file);
        text.contains("from A;") && text.contains("from B;")
    };
    assert!(on_a.until(Duration::from_secs(5), both).await);
    assert!(on_b.until(Duration::from_secs(5), both).await);
    let r = a
        .patch(
            &format!("/api/pads/{slug}/members/{}", bob.id),
            Some(&ada.token),
            json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(on_b.closed_within(Duration::from_secs(2)).await, Some(4003));
    drop(redis);
}

#[tokio::test]
async fn the_notes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (token, slug, file) = {
        let mut server = BinaryServer::start(dir.path()).await;
        let http = server.http();
        let (_, token) = http.signup("Ada").await;
        let slug = start_with(&http, &token).await;
        let (mut notes, file) = notes_peer(&server.base, &slug, &token).await;
        notes.append(&file, MARKER).await;
        notes.drain(Duration::from_millis(500)).await;
        notes.close().await;
        assert!(server.terminate().success());
        (token, slug, file)
    };
    let server = BinaryServer::start(dir.path()).await;
    let (notes, again) = notes_peer(&server.base, &slug, &token).await;
    assert_eq!(again, file, "the same companion after the restart");
    assert_eq!(notes.text(&file), MARKER);
}

async fn start_with(http: &Http, token: &str) -> String {
    let (status, q) = http
        .call(
            Method::POST,
            "/api/questions",
            Some(token),
            Some(json!({
                "title": "Restart",
                "prompt": "p",
                "difficulty": "easy",
                "tags": [],
                "languages": [{ "language": "python", "files": [] }],
                "guidance": "",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{q}");
    let (status, started) = http
        .call(
            Method::POST,
            &format!("/api/questions/{}/interviews", q["id"]),
            Some(token),
            Some(json!({ "language": "python" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    started["pad"]["slug"].as_str().unwrap().to_string()
}
