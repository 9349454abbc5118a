//! Test clients for the pad socket: a Yjs peer (yrs document + oc-proto codec over
//! tokio-tungstenite), HTTP helpers for pads and members, and a real-binary server for the
//! durability tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use oc_proto::{AwarenessEntry, AwarenessUpdate, Limits, Message};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, Update};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub fn new_doc() -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    })
}

/// A pad created over HTTP.
#[derive(Debug, Clone)]
pub struct TestPad {
    pub slug: String,
    pub id: i64,
    /// The starter file's id, its text's root suffix in the document (`file:<id>`) — what the
    /// peer helpers take — and its name.
    pub file_id: i64,
    pub file: String,
    pub name: String,
}

/// Minimal HTTP client used by the helpers (works against the in-process app and the binary).
#[derive(Clone)]
pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
}

impl Http {
    pub fn new(base: &str) -> Http {
        Http {
            base: base.to_string(),
            client: reqwest::Client::new(),
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let bytes = res.bytes().await.unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn signup(&self, name: &str) -> (i64, String) {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/auth/guest",
                None,
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "signup: {body}");
        (
            body["user"]["id"].as_i64().unwrap(),
            body["token"].as_str().unwrap().to_string(),
        )
    }

    pub async fn create_pad(&self, token: &str) -> TestPad {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/pads",
                Some(token),
                Some(json!({ "title": "collab", "language": "python" })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "create pad: {body}");
        TestPad {
            slug: body["pad"]["slug"].as_str().unwrap().to_string(),
            id: body["pad"]["id"].as_i64().unwrap(),
            file_id: body["files"][0]["id"].as_i64().unwrap(),
            file: body["files"][0]["id"].as_i64().unwrap().to_string(),
            name: body["files"][0]["name"].as_str().unwrap().to_string(),
        }
    }

    /// Make `user_token`'s user a member with `role` through an invite.
    pub async fn add_member(&self, owner_token: &str, pad: &TestPad, user_token: &str, role: &str) {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/api/pads/{}/invites", pad.slug),
                Some(owner_token),
                Some(json!({ "role": role })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "invite: {body}");
        let invite = body["invite"]["token"].as_str().unwrap().to_string();
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/api/invites/{invite}/accept"),
                Some(user_token),
                Some(json!({})),
            )
            .await;
        assert!(status.is_success(), "accept: {status} {body}");
    }

    pub async fn file_text(&self, token: &str, pad: &TestPad, file_id: i64) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/api/pads/{}/files/{file_id}", pad.slug),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "file: {body}");
        body["content"].as_str().unwrap().to_string()
    }
}

/// What the peer saw close the socket.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

/// A Yjs peer on the pad socket.
pub struct Peer {
    pub ws: Ws,
    pub doc: Doc,
    pub apps: Vec<Value>,
    pub awareness: HashMap<u64, Value>,
    pub permission_denied: usize,
    pub closed: Option<Closed>,
    /// Sync step 2 replies received (the answer to our step 1).
    pub step2_received: usize,
    pub step2_sizes: Vec<usize>,
    pub client_id: u64,
    pub awareness_clock: u64,
    pub frames_received: usize,
    /// The handshake response's `Sec-WebSocket-Protocol`, and all its header text.
    pub selected_protocol: Option<String>,
    pub response_headers: String,
}

pub fn ws_url(base: &str, slug: &str) -> String {
    format!("{}/ws/pad/{slug}", base.replacen("http://", "ws://", 1))
}

/// The interviewers' private notes socket of an interview pad.
pub fn notes_url(base: &str, slug: &str) -> String {
    format!("{}/notes", ws_url(base, slug))
}

/// Open the notes socket with the browser-style subprotocols; `Err` is the HTTP status of a
/// refused upgrade.
pub async fn open_notes(base: &str, slug: &str, token: &str) -> Result<Peer, u16> {
    connect_url(
        &notes_url(base, slug),
        &[(
            "sec-websocket-protocol",
            &format!("opencoder.v1, oc.bearer.{token}"),
        )],
        new_doc(),
    )
    .await
}

/// The notes socket, synced, with the id of the file whose root holds the notes (`notes.ready`).
pub async fn notes_peer(base: &str, slug: &str, token: &str) -> (Peer, String) {
    let mut peer = open_notes(base, slug, token)
        .await
        .expect("notes socket opens");
    assert!(
        peer.until(Duration::from_secs(5), |p| p.has_app("notes.ready")
            && p.step2_received > 0)
            .await,
        "notes.ready and the initial sync"
    );
    let root = peer.app_messages("notes.ready")[0]["root"]
        .as_str()
        .unwrap()
        .to_string();
    let file = root.strip_prefix("file:").expect("a file root").to_string();
    (peer, file)
}

/// Connect with the standard browser-style subprotocols.
pub async fn connect(base: &str, slug: &str, token: &str) -> Peer {
    connect_with(
        base,
        slug,
        &[(
            "sec-websocket-protocol",
            &format!("opencoder.v1, oc.bearer.{token}"),
        )],
        new_doc(),
    )
    .await
    .expect("socket connects")
}

/// Connect with extra headers and an existing local document; returns the HTTP status on refusal.
pub async fn connect_with(
    base: &str,
    slug: &str,
    headers: &[(&str, &str)],
    doc: Doc,
) -> Result<Peer, u16> {
    connect_url(&ws_url(base, slug), headers, doc).await
}

pub async fn connect_url(url: &str, headers: &[(&str, &str)], doc: Doc) -> Result<Peer, u16> {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let (ws, response) = match tokio_tungstenite::connect_async(request).await {
        Ok(ok) => ok,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            return Err(response.status().as_u16())
        }
        Err(other) => panic!("websocket connect failed: {other}"),
    };
    let selected_protocol = response
        .headers()
        .get("sec-websocket-protocol")
        .map(|v| v.to_str().unwrap().to_string());
    let response_headers = format!("{:?}", response.headers());
    let client_id = doc.client_id().get();
    let mut peer = Peer {
        ws,
        doc,
        apps: Vec::new(),
        awareness: HashMap::new(),
        permission_denied: 0,
        closed: None,
        step2_received: 0,
        step2_sizes: Vec::new(),
        client_id,
        awareness_clock: 0,
        frames_received: 0,
        selected_protocol,
        response_headers,
    };
    let sv = peer.doc.transact().state_vector().encode_v1();
    peer.send(oc_proto::encode_sync_step1(&sv)).await;
    Ok(peer)
}

impl Peer {
    pub async fn send(&mut self, frame: Vec<u8>) {
        let _ = self.ws.send(WsMessage::Binary(frame.into())).await;
    }

    pub async fn send_app(&mut self, value: Value) {
        self.send(oc_proto::AppMessage::new(value).unwrap().encode())
            .await;
    }

    /// Handle one incoming frame.
    async fn handle(&mut self, frame: &[u8]) {
        self.frames_received += 1;
        match oc_proto::decode(frame, &Limits::UNLIMITED).expect("server frames decode") {
            Message::SyncStep1(sv) => {
                let sv = StateVector::decode_v1(&sv).unwrap();
                let diff = self.doc.transact().encode_state_as_update_v1(&sv);
                self.send(oc_proto::encode_sync_step2(&diff)).await;
            }
            Message::SyncStep2(update) => {
                self.step2_received += 1;
                self.step2_sizes.push(update.len());
                self.doc
                    .transact_mut()
                    .apply_update(Update::decode_v1(&update).unwrap())
                    .unwrap();
            }
            Message::Update(update) => {
                self.doc
                    .transact_mut()
                    .apply_update(Update::decode_v1(&update).unwrap())
                    .unwrap();
            }
            Message::Awareness(payload) => {
                let update = AwarenessUpdate::decode(&payload, &Limits::UNLIMITED).unwrap();
                for entry in update.entries {
                    match entry.state {
                        Some(state) => {
                            self.awareness.insert(entry.client_id, state);
                        }
                        None => {
                            self.awareness.remove(&entry.client_id);
                        }
                    }
                }
            }
            Message::QueryAwareness => {}
            Message::Auth(_) => self.permission_denied += 1,
            Message::App(app) => self.apps.push(app.into_value()),
        }
    }

    /// Read frames until `done` holds or `within` passes; returns whether it held.
    pub async fn until(&mut self, within: Duration, mut done: impl FnMut(&Peer) -> bool) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if done(self) {
                return true;
            }
            if self.closed.is_some() {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => return done(self),
                Ok(None) => {
                    self.closed.get_or_insert(Closed {
                        code: 1006,
                        reason: "eof".into(),
                    });
                }
                Ok(Some(Err(_))) => {
                    self.closed.get_or_insert(Closed {
                        code: 1006,
                        reason: "error".into(),
                    });
                }
                Ok(Some(Ok(WsMessage::Binary(bytes)))) => self.handle(&bytes).await,
                Ok(Some(Ok(WsMessage::Close(frame)))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    self.closed = Some(Closed { code, reason });
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Wait for the initial sync (our step 1 answered).
    pub async fn synced(&mut self) {
        assert!(
            self.until(Duration::from_secs(5), |p| p.step2_received > 0)
                .await,
            "initial sync"
        );
    }

    /// Read everything that arrives within `quiet`.
    pub async fn drain(&mut self, quiet: Duration) {
        self.until(quiet, |_| false).await;
    }

    /// Wait for the socket to close; returns the close code.
    pub async fn closed_within(&mut self, within: Duration) -> Option<u16> {
        self.until(within, |p| p.closed.is_some()).await;
        self.closed.as_ref().map(|c| c.code)
    }

    pub fn text(&self, file: &str) -> String {
        let txn = self.doc.transact();
        txn.get_text(format!("file:{file}").as_str())
            .map(|t| t.get_string(&txn))
            .unwrap_or_default()
    }

    /// Insert locally and send the update.
    pub async fn insert(&mut self, file: &str, index: u32, text: &str) -> Vec<u8> {
        let update = {
            let t = self.doc.get_or_insert_text(format!("file:{file}").as_str());
            let mut txn = self.doc.transact_mut();
            t.insert(&mut txn, index, text);
            txn.encode_update_v1()
        };
        self.send(oc_proto::encode_update(&update)).await;
        update
    }

    /// Insert at the end of the local text.
    pub async fn append(&mut self, file: &str, text: &str) -> Vec<u8> {
        let len = {
            let t = self.doc.get_or_insert_text(format!("file:{file}").as_str());
            let txn = self.doc.transact();
            t.len(&txn)
        };
        self.insert(file, len, text).await
    }

    /// Publish our awareness state.
    pub async fn set_awareness(&mut self, state: Value) {
        self.awareness_clock += 1;
        let update = AwarenessUpdate {
            entries: vec![AwarenessEntry {
                client_id: self.client_id,
                clock: self.awareness_clock,
                state: Some(state),
            }],
        };
        self.send(update.encode_frame()).await;
    }

    pub fn app_messages(&self, msg_type: &str) -> Vec<&Value> {
        self.apps.iter().filter(|m| m["type"] == msg_type).collect()
    }

    pub fn has_app(&self, msg_type: &str) -> bool {
        self.apps.iter().any(|m| m["type"] == msg_type)
    }

    pub fn has_error(&self, code: &str) -> bool {
        self.apps
            .iter()
            .any(|m| m["type"] == "error" && m["code"] == code)
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// Rows in the update log of a pad.
pub async fn logged_updates(db_url: &str, pad: i64) -> i64 {
    let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM doc_updates WHERE pad_id = ?")
        .bind(pad)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

/// The real `opencoder` binary on a free port with its own data directory.
pub struct BinaryServer {
    pub child: Child,
    pub port: u16,
    pub base: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl BinaryServer {
    pub async fn start(data_dir: &Path) -> BinaryServer {
        Self::start_with(data_dir, &[]).await
    }

    /// Start with extra environment variables (they override the defaults below).
    pub async fn start_with(data_dir: &Path, vars: &[(&str, &str)]) -> BinaryServer {
        let port = free_port();
        let log = data_dir.join(format!("server-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_opencoder"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATA_DIR", data_dir)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("RATE_LIMIT_PER_MINUTE", "100000")
            .env("SIGNUP_RATE_LIMIT_PER_MINUTE", "10000")
            .env("EXEC_POOL", "")
            .env("EXEC_REMOVE_LEFTOVERS", "0")
            .env("RUST_LOG", "info,sqlx=warn")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start the opencoder binary");
        let base = format!("http://127.0.0.1:{port}");
        let server = BinaryServer {
            child,
            port,
            base,
            data_dir: data_dir.to_path_buf(),
            log,
        };
        let http = Http::new(&server.base);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(res) = http
                .client
                .get(format!("{}/api/health", server.base))
                .send()
                .await
            {
                if res.status().is_success() || res.status().as_u16() == 503 {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "server did not start; log:\n{}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    pub fn http(&self) -> Http {
        Http::new(&self.base)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn db_url(&self) -> String {
        format!("sqlite://{}", self.data_dir.join("opencoder.db").display())
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for BinaryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
