//! The shared terminal (SPEC §6), against real Docker: one shell per pad in a locked-down session
//! container, shared output, typing only for roles that may run code, scrollback for late
//! joiners, idle/lifetime limits, restart and file sync, kicks, auth, and what gets recorded.
//!
//! Needs Docker and the runner image (scripts/ensure-docker.sh, scripts/build-runner-image.sh);
//! fails, never skips, without them.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{TestApp, TestUser};
use futures_util::{SinkExt, StreamExt};
use oc_sandbox::docker::INSTANCE_LABEL;
use oc_sandbox::{BackendKind, TerminalBackend};
use opencoder::db::PadId;
use opencoder::terminal::{TerminalChoice, Terminals};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A terminal socket client: output accumulated as text, control messages as JSON.
struct Term {
    ws: Ws,
    output: String,
    messages: Vec<Value>,
    closed: Option<(u16, String)>,
    selected_protocol: Option<String>,
    response_headers: String,
}

fn term_url(app: &TestApp, slug: &str) -> String {
    format!("ws://{}/ws/pad/{slug}/terminal", app.addr)
}

async fn connect_raw(app: &TestApp, slug: &str, headers: &[(&str, String)]) -> Result<Term, u16> {
    let mut request = term_url(app, slug).into_client_request().unwrap();
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
    Ok(Term {
        ws,
        output: String::new(),
        messages: Vec::new(),
        closed: None,
        selected_protocol: response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap().to_string()),
        response_headers: format!("{:?}", response.headers()),
    })
}

async fn connect(app: &TestApp, slug: &str, user: &TestUser) -> Term {
    let protocols = format!("opencoder.v1, oc.bearer.{}", user.token);
    connect_raw(app, slug, &[("sec-websocket-protocol", protocols)])
        .await
        .expect("terminal socket connects")
}

impl Term {
    async fn send_input(&mut self, text: &str) {
        self.ws
            .send(Message::Binary(text.as_bytes().to_vec().into()))
            .await
            .expect("send input");
    }

    async fn send_control(&mut self, value: Value) {
        self.ws
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("send control");
    }

    /// Read until `done` holds or `timeout` passes; `true` when it held.
    async fn until(&mut self, timeout: Duration, mut done: impl FnMut(&Term) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if self.closed.is_some() {
                return false;
            }
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return done(self),
                Ok(None) => {
                    self.closed.get_or_insert((1006, String::new()));
                }
                Ok(Some(Err(_))) => {
                    self.closed.get_or_insert((1006, String::new()));
                }
                Ok(Some(Ok(message))) => match message {
                    Message::Binary(bytes) => {
                        self.output.push_str(&String::from_utf8_lossy(&bytes))
                    }
                    Message::Text(text) => self
                        .messages
                        .push(serde_json::from_str(text.as_str()).expect("control JSON")),
                    Message::Close(frame) => {
                        self.closed = Some(frame.map_or((1005, String::new()), |f| {
                            (f.code.into(), f.reason.to_string())
                        }));
                    }
                    _ => {}
                },
            }
        }
    }

    async fn expect_output(&mut self, needle: &str) {
        let found = self
            .until(Duration::from_secs(30), |t| t.output.contains(needle))
            .await;
        assert!(
            found,
            "output never contained {needle:?}; got {:?} (messages {:?}, closed {:?})",
            self.output, self.messages, self.closed
        );
    }

    fn has(&self, kind: &str, key: &str, value: &str) -> bool {
        self.messages
            .iter()
            .any(|m| m["type"] == kind && m[key] == value)
    }

    async fn expect_message(&mut self, kind: &str, key: &str, value: &str) {
        let found = self
            .until(Duration::from_secs(30), |t| t.has(kind, key, value))
            .await;
        assert!(
            found,
            "no {kind} with {key}={value}; messages {:?}, closed {:?}",
            self.messages, self.closed
        );
    }

    async fn running(&mut self) {
        self.expect_message("status", "state", "running").await;
    }

    async fn expect_closed(&mut self, code: u16) {
        let closed = self
            .until(Duration::from_secs(10), |t| t.closed.is_some())
            .await;
        assert!(
            closed,
            "socket was not closed; messages {:?}",
            self.messages
        );
        assert_eq!(self.closed.as_ref().unwrap().0, code, "{:?}", self.closed);
    }
}

/// A test server that removes every container its Docker connections created when it is dropped
/// (the test's end, or its panic). Nothing else would: a `TestApp` is never shut down — its
/// runtime just stops, so the sessions' asynchronous removal never runs — and its node id is new
/// (a fresh `DATA_DIR`), so no later server's leftover sweep, which takes only its own node's
/// containers of dead processes, ever claims them.
struct App {
    app: TestApp,
    /// `opencoder.sandbox.instance` of each Docker connection of its terminals (runs share them).
    instances: Vec<String>,
}

impl std::ops::Deref for App {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if self.instances.is_empty() {
            return;
        }
        // Nothing new starts once the server shuts down; then remove what is there. This blocks
        // the test's runtime on purpose: its tasks cannot start a container meanwhile, and
        // after the drop the runtime ends without running them again. A create the daemon was
        // already handling may land a moment later, hence the second empty listing.
        self.app.state.shutdown.cancel();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut empty_listings = 0;
        while empty_listings < 2 && Instant::now() < deadline {
            let ids = self.containers();
            if ids.is_empty() {
                empty_listings += 1;
            } else {
                empty_listings = 0;
                let _ = std::process::Command::new("docker")
                    .args(["rm", "--force", "--volumes"])
                    .args(&ids)
                    .output();
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl App {
    /// Ids of every container (any state) of this server's Docker connections.
    fn containers(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for instance in &self.instances {
            let Ok(output) = std::process::Command::new("docker")
                .args(["ps", "--all", "--quiet", "--no-trunc", "--filter"])
                .arg(format!("label={INSTANCE_LABEL}={instance}"))
                .output()
            else {
                continue;
            };
            ids.extend(
                String::from_utf8_lossy(&output.stdout)
                    .split_whitespace()
                    .map(str::to_string),
            );
        }
        ids
    }
}

async fn spawn(extra: &[(&str, &str)]) -> App {
    oc_sandbox::testing::hold_shared_docker_lock();
    let app = TestApp::spawn_with(extra).await;
    let instances = match app.state.terminals.backend() {
        TerminalChoice::Ready(b) => b
            .hosts()
            .iter()
            .map(|host| host.instance_id().to_string())
            .collect(),
        TerminalChoice::Unavailable(_) => Vec::new(),
    };
    App { app, instances }
}

/// A pad owned by a fresh user, with a second file `notes.txt`.
async fn pad(app: &TestApp) -> (TestUser, String, i64) {
    let owner = app.signup("Owner").await;
    let body = app
        .create_pad(&owner, json!({ "title": "term", "language": "python" }))
        .await;
    let slug = body["pad"]["slug"].as_str().unwrap().to_string();
    let id = body["pad"]["id"].as_i64().unwrap();
    let r = app
        .post(
            &format!("/api/pads/{slug}/files"),
            Some(&owner.token),
            json!({ "name": "notes.txt", "content": "pad-notes-123\n" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    (owner, slug, id)
}

/// The server's terminal backend, which must be Docker.
fn docker_terminals(app: &TestApp) -> &dyn TerminalBackend {
    match app.state.terminals.backend() {
        TerminalChoice::Ready(b) if b.kind() == BackendKind::Docker => b.as_ref(),
        _ => panic!("terminals are not on Docker"),
    }
}

/// Ids of this server's containers labelled as the pad's terminal (through the Docker API).
async fn terminal_containers(app: &TestApp, pad_id: i64) -> Vec<String> {
    let docker = docker_terminals(app);
    docker
        .containers(Some(&Terminals::container_key(PadId(pad_id))))
        .await
        .expect("docker list")
}

/// Poll the pad's terminal containers until `done` holds of them (20 s at most, then fail with `what`).
async fn wait_for_containers(
    app: &TestApp,
    pad_id: i64,
    what: &str,
    done: impl Fn(&[String]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = terminal_containers(app, pad_id).await;
        if done(&now) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {now:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_no_containers(app: &TestApp, pad_id: i64) {
    wait_for_containers(app, pad_id, "terminal containers remain", |now| {
        now.is_empty()
    })
    .await;
}

#[tokio::test]
async fn two_sockets_share_the_shell_and_a_viewer_may_only_watch() {
    let app = spawn(&[]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let viewer = app.signup("Viewer").await;
    app.add_member(&owner, &slug, &viewer, "viewer").await;

    let mut a = connect(&app, &slug, &owner).await;
    a.expect_message("role", "role", "owner").await;
    a.running().await;
    assert_eq!(
        terminal_containers(&app, pad_id).await.len(),
        1,
        "one session container per pad"
    );
    let mut v = connect(&app, &slug, &viewer).await;
    v.expect_message("role", "role", "viewer").await;
    assert!(v
        .messages
        .iter()
        .any(|m| m["type"] == "role" && m["canType"] == false));

    // The typist's size wins and everyone is told.
    a.send_control(json!({ "type": "resize", "cols": 101, "rows": 31 }))
        .await;
    v.send_control(json!({ "type": "resize", "cols": 40, "rows": 10 }))
        .await;
    a.send_input("echo shared-$((6*7)) $(stty size | tr ' ' x)\n")
        .await;
    a.expect_output("shared-42 31x101").await;
    v.expect_output("shared-42 31x101").await;
    assert!(
        v.until(Duration::from_secs(5), |t| t
            .messages
            .iter()
            .any(|m| m["type"] == "size" && m["cols"] == 101))
            .await
    );

    // A viewer's input is refused with a message; the socket stays open and keeps watching.
    v.send_input("echo viewer-typed-$((1+1))\n").await;
    v.expect_message("error", "code", "read_only").await;
    a.send_input("echo after-$((2+3))\n").await;
    v.expect_output("after-5").await;
    assert!(v.closed.is_none());
    assert!(
        !a.output.contains("viewer-typed-2") && !v.output.contains("viewer-typed"),
        "viewer input reached the shell"
    );
    // The viewer's restart is refused too: nothing restarts.
    let starts = |t: &Term| {
        t.messages
            .iter()
            .filter(|m| m["state"] == "starting")
            .count()
    };
    let before = starts(&a);
    v.send_control(json!({ "type": "restart" })).await;
    a.until(Duration::from_millis(500), |_| false).await;
    assert_eq!(starts(&a), before, "a viewer restarted the terminal");
    a.send_input("echo still-$((3*3))\n").await;
    a.expect_output("still-9").await;
}

#[tokio::test]
async fn the_shell_runs_locked_down_in_the_pads_workspace() {
    let app = spawn(&[]).await;
    let (owner, slug, _) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    t.send_input("echo UID=$(id -u) CWD=$(pwd) HOME=$HOME\n")
        .await;
    t.expect_output("UID=65534 CWD=/tmp/work HOME=/tmp").await;
    t.send_input("cat notes.txt; ls main.py && echo HAS-MAIN\n")
        .await;
    t.expect_output("pad-notes-123").await;
    t.expect_output("HAS-MAIN").await;
    t.send_input("getent hosts example.com >/dev/null 2>&1 || echo NO-DNS-$((1+1))\n")
        .await;
    t.expect_output("NO-DNS-2").await;
    t.send_input("(exec 3<>/dev/tcp/192.0.2.1/80) 2>/dev/null || echo NO-TCP-$((2+2))\n")
        .await;
    t.expect_output("NO-TCP-4").await;
    t.send_input("touch /x 2>/dev/null || echo RO-ROOT-$((3+3))\n")
        .await;
    t.expect_output("RO-ROOT-6").await;
    // No host environment: only the sandbox's own variables.
    t.send_input("echo HOSTVARS=$(env | grep -c -E 'JWT|DATABASE|DATA_DIR|CARGO|RUST')\n")
        .await;
    t.expect_output("HOSTVARS=0").await;
    // The workspace is writable (tmpfs), the files are the pad's.
    t.send_input("echo hi > out.txt && cat out.txt | sed s/hi/WRITABLE/\n")
        .await;
    t.expect_output("WRITABLE").await;
}

#[tokio::test]
async fn idle_terminal_is_destroyed_and_clients_are_told() {
    let app = spawn(&[("TERMINAL_IDLE_MS", "2000")]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    assert_eq!(terminal_containers(&app, pad_id).await.len(), 1);
    t.expect_message("status", "state", "idle_timeout").await;
    wait_no_containers(&app, pad_id).await;
    assert!(
        t.closed.is_none(),
        "the socket stays open after an idle timeout"
    );
    // Typing now is refused; a restart brings a fresh shell.
    t.send_input("echo x\n").await;
    t.expect_message("error", "code", "not_running").await;
    let restarted = app
        .post(
            &format!("/api/pads/{slug}/terminal/restart"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(restarted.status, StatusCode::OK, "{:?}", restarted.body);
    let before = t
        .messages
        .iter()
        .filter(|m| m["state"] == "running")
        .count();
    assert!(
        t.until(Duration::from_secs(30), |t| t
            .messages
            .iter()
            .filter(|m| m["state"] == "running")
            .count()
            > before)
            .await
    );
    t.send_input("echo back-$((5+5))\n").await;
    t.expect_output("back-10").await;
}

#[tokio::test]
async fn max_lifetime_ends_the_session() {
    let app = spawn(&[("TERMINAL_MAX_MS", "3000")]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    t.expect_message("status", "state", "max_lifetime").await;
    wait_no_containers(&app, pad_id).await;
}

#[tokio::test]
async fn late_joiner_gets_the_scrollback() {
    let app = spawn(&[]).await;
    let (owner, slug, _) = pad(&app).await;
    let mut a = connect(&app, &slug, &owner).await;
    a.running().await;
    a.send_input("echo early-$((10*10))\n").await;
    a.expect_output("early-100").await;
    let mut b = connect(&app, &slug, &owner).await;
    b.expect_output("early-100").await;
    assert!(b.has("status", "state", "running"));
}

#[tokio::test]
async fn kicked_member_terminal_closes_with_4003_and_a_downgrade_applies_on_the_next_message() {
    let app = spawn(&[]).await;
    let (owner, slug, _) = pad(&app).await;
    let kicked = app.signup("Kicked").await;
    let demoted = app.signup("Demoted").await;
    app.add_member(&owner, &slug, &kicked, "collaborator").await;
    app.add_member(&owner, &slug, &demoted, "candidate").await;
    let mut k = connect(&app, &slug, &kicked).await;
    let mut d = connect(&app, &slug, &demoted).await;
    k.running().await;
    d.running().await;
    d.send_input("echo cand-$((7+7))\n").await;
    d.expect_output("cand-14").await;

    let r = app
        .delete(
            &format!("/api/pads/{slug}/members/{}", kicked.id),
            Some(&owner.token),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    k.expect_closed(4003).await;
    assert_eq!(
        connect_raw(
            &app,
            &slug,
            &[(
                "sec-websocket-protocol",
                format!("opencoder.v1, oc.bearer.{}", kicked.token)
            )]
        )
        .await
        .err(),
        Some(404)
    );

    let r = app
        .patch(
            &format!("/api/pads/{slug}/members/{}", demoted.id),
            Some(&owner.token),
            json!({ "role": "viewer" }),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    d.expect_message("role", "role", "viewer").await;
    d.send_input("echo demoted-$((8+8))\n").await;
    d.expect_message("error", "code", "read_only").await;
    assert!(d.closed.is_none());
}

#[tokio::test]
async fn handshake_never_echoes_the_token_and_strangers_are_refused() {
    let app = spawn(&[]).await;
    let (owner, slug, _) = pad(&app).await;
    let t = connect(&app, &slug, &owner).await;
    assert_eq!(t.selected_protocol.as_deref(), Some("opencoder.v1"));
    assert!(
        !t.response_headers.contains(&owner.token),
        "token echoed: {}",
        t.response_headers
    );

    // Anonymous: 401. Non-member: 404 like a missing pad. Token in the URL: refused.
    assert_eq!(
        connect_raw(
            &app,
            &slug,
            &[("sec-websocket-protocol", "opencoder.v1".into())]
        )
        .await
        .err(),
        Some(401)
    );
    let stranger = app.signup("Stranger").await;
    let offered = format!("opencoder.v1, oc.bearer.{}", stranger.token);
    assert_eq!(
        connect_raw(&app, &slug, &[("sec-websocket-protocol", offered.clone())])
            .await
            .err(),
        Some(404)
    );
    assert_eq!(
        connect_raw(&app, "no-such-pad", &[("sec-websocket-protocol", offered)])
            .await
            .err(),
        Some(404)
    );
    let mut request = format!("{}?token={}", term_url(&app, &slug), owner.token)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("opencoder.v1"),
    );
    assert!(
        tokio_tungstenite::connect_async(request).await.is_err(),
        "a token in the URL is refused"
    );
    // The cookie only from a trusted origin.
    let cookie = format!("oc_token={}", owner.token);
    let foreign = [
        ("cookie", cookie.clone()),
        ("origin", "http://evil.example".to_string()),
    ];
    assert_eq!(connect_raw(&app, &slug, &foreign).await.err(), Some(403));
    let same = [
        ("cookie", cookie),
        ("origin", format!("http://{}", app.addr)),
    ];
    assert!(connect_raw(&app, &slug, &same).await.is_ok());
    // REST actions: viewers may not restart or sync.
    let viewer = app.signup("Viewer").await;
    app.add_member(&owner, &slug, &viewer, "viewer").await;
    let r = app
        .post(
            &format!("/api/pads/{slug}/terminal/restart"),
            Some(&viewer.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            &format!("/api/pads/{slug}/terminal/sync-files"),
            Some(&viewer.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            &format!("/api/pads/{slug}/terminal/restart"),
            Some(&stranger.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sync_files_writes_the_current_files_into_the_workspace() {
    let app = spawn(&[]).await;
    let (owner, slug, _) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    let r = app
        .post(
            &format!("/api/pads/{slug}/files"),
            Some(&owner.token),
            json!({ "name": "later.txt", "content": "added-later-77\n" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = app
        .post(
            &format!("/api/pads/{slug}/terminal/sync-files"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["files"], 3);
    t.send_input("cat later.txt\n").await;
    t.expect_output("added-later-77").await;
}

#[tokio::test]
async fn output_is_recorded_but_hidden_keystrokes_are_not() {
    let app = spawn(&[]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    // `read -s` turns the TTY's echo off, as password prompts do: what is typed never shows.
    t.send_input("read -s SECRET; echo; echo got-${#SECRET}-chars\n")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    t.send_input("hunter2-password\n").await;
    t.expect_output("got-16-chars").await;
    assert!(!t.output.contains("hunter2"), "hidden input was echoed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, data FROM pad_events WHERE pad_id = ? AND kind LIKE 'terminal%' ORDER BY id",
    )
    .bind(pad_id)
    .fetch_all(app.sql())
    .await
    .unwrap();
    let all: String = rows
        .iter()
        .map(|(_, d)| d.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(rows.iter().any(|(k, _)| k == "terminal.status"), "{all}");
    assert!(all.contains("got-16-chars"), "output not recorded: {all}");
    assert!(!all.contains("hunter2"), "a keystroke was recorded: {all}");
}

#[tokio::test]
async fn pad_deletion_closes_the_terminal_and_removes_its_container() {
    let app = spawn(&[]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    let r = app
        .delete(&format!("/api/pads/{slug}"), Some(&owner.token))
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    t.expect_closed(4004).await;
    wait_no_containers(&app, pad_id).await;
}

/// An operator's Stop (issue 14 §5) ends the terminal as shutdown would, for this pad only.
#[tokio::test]
async fn an_admin_stops_a_pads_terminal_and_its_container() {
    let app = spawn(&[]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let admin = app.signup("Operator").await;
    opencoder::admin::store::set_admin(&app.state.db, opencoder::db::UserId(admin.id), true)
        .await
        .unwrap();
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    let listed = app.get("/api/admin/sandboxes", Some(&admin.token)).await;
    assert_eq!(
        listed.body["terminals"][0]["slug"],
        slug.as_str(),
        "{:?}",
        listed.body
    );
    let path = format!("/api/admin/terminals/{slug}/stop");
    assert_eq!(
        app.post(&path, Some(&owner.token), json!({})).await.status,
        403
    );
    let stopped = app.post(&path, Some(&admin.token), json!({})).await;
    assert_eq!(stopped.status, 202, "{:?}", stopped.body);
    t.expect_closed(1001).await;
    wait_no_containers(&app, pad_id).await;
    let listed = app.get("/api/admin/sandboxes", Some(&admin.token)).await;
    assert_eq!(listed.body["terminals"], json!([]));
    assert_eq!(
        app.post(&path, Some(&admin.token), json!({})).await.status,
        404
    );
    assert_eq!(app.audit_rows("admin.terminal.stop").await.len(), 1);
}

#[tokio::test]
async fn last_client_leaving_removes_the_container_after_the_grace() {
    let app = spawn(&[("TERMINAL_GRACE_MS", "500")]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    let _ = t.ws.close(None).await;
    drop(t);
    wait_no_containers(&app, pad_id).await;
    // A new client gets a fresh terminal.
    let mut again = connect(&app, &slug, &owner).await;
    again.running().await;
    again.send_input("echo fresh-$((9+9))\n").await;
    again.expect_output("fresh-18").await;
}

#[tokio::test]
async fn output_is_rate_limited_by_pausing_the_shell() {
    let app = spawn(&[("TERMINAL_OUTPUT_BYTES_PER_SEC", "16384")]).await;
    let (owner, slug, _) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    // 64 KiB of output at 16 KiB/s (burst 16 KiB) takes about 3 s; nothing is dropped.
    let started = Instant::now();
    t.send_input("head -c 65536 /dev/zero | tr '\\0' x; echo; echo flood-$((20+1))\n")
        .await;
    t.expect_output("flood-21").await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(2500),
        "output was not paused: {elapsed:?}"
    );
    assert!(t.output.matches('x').count() >= 65536, "output was dropped");
}

#[tokio::test]
async fn shutdown_closes_terminal_sockets_and_removes_the_containers() {
    let app = spawn(&[]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    assert_eq!(terminal_containers(&app, pad_id).await.len(), 1);
    app.state.shutdown.cancel();
    t.expect_closed(1001).await;
    wait_no_containers(&app, pad_id).await;
}

#[tokio::test]
async fn local_fallback_only_when_allowed_and_never_in_production() {
    // Production refuses a host shell outright.
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("OPENCODER_ENV".into(), "production".into());
    vars.insert("JWT_SECRET".into(), "0123456789abcdef".repeat(4));
    vars.insert("TERMINAL_ALLOW_LOCAL".into(), "1".into());
    vars.insert("EXEC_ALLOW_LOCAL".into(), "1".into());
    vars.insert("HOST".into(), "127.0.0.1".into());
    let config = opencoder::config::Config::from_vars(&vars).expect("config parses");
    let sandboxes =
        opencoder::exec::build_sandboxes(&config, Default::default(), Default::default()).await;
    let err = sandboxes.err().expect("refused in production").to_string();
    assert!(err.contains("TERMINAL_ALLOW_LOCAL"), "{err}");

    // Runs forced local without the opt-in: terminals are unavailable, never a host shell.
    let app = spawn(&[
        ("EXEC_FORCE_LOCAL", "1"),
        ("EXEC_ALLOW_LOCAL", "1"),
        ("HOST", "127.0.0.1"),
    ])
    .await;
    assert!(matches!(
        app.state.terminals.backend(),
        TerminalChoice::Unavailable(_)
    ));
    let (owner, slug, _) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.expect_message("error", "code", "terminal_unavailable")
        .await;
    t.expect_message("status", "state", "exited").await;

    // With the opt-in (development): a PTY on the host, flagged `local` to every client.
    let app = spawn(&[
        ("EXEC_FORCE_LOCAL", "1"),
        ("EXEC_ALLOW_LOCAL", "1"),
        ("HOST", "127.0.0.1"),
        ("TERMINAL_ALLOW_LOCAL", "1"),
    ])
    .await;
    assert!(
        matches!(app.state.terminals.backend(), TerminalChoice::Ready(b) if b.kind() == BackendKind::Local)
    );
    let (owner, slug, _) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    assert!(t
        .messages
        .iter()
        .any(|m| m["type"] == "status" && m["local"] == true));
    t.send_input(
        "cat notes.txt; echo HOSTVARS=$(env | grep -c -E 'JWT|DATABASE|DATA_DIR|CARGO')\n",
    )
    .await;
    t.expect_output("pad-notes-123").await;
    t.expect_output("HOSTVARS=0").await;
}

/// Seconds since the epoch, as `docker events --since/--until` take them.
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Containers Docker created for the pad's terminal (this server's only) since `since`, from the
/// daemon's event log: every create counts, including containers already removed again.
async fn terminal_containers_created(app: &TestApp, pad_id: i64, since: f64) -> usize {
    let host = docker_terminals(app).hosts()[0];
    // Let the daemon's event log catch up with the last call.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let output = std::process::Command::new("docker")
        .args([
            "events",
            "--since",
            &format!("{since:.3}"),
            "--until",
            &format!("{:.3}", unix_now()),
        ])
        .args(["--filter", "type=container", "--filter", "event=create"])
        .args([
            "--filter",
            &format!("label={INSTANCE_LABEL}={}", host.instance_id()),
        ])
        .args([
            "--filter",
            &format!(
                "label=opencoder.terminal={}",
                Terminals::container_key(PadId(pad_id))
            ),
        ])
        .args(["--format", "{{.ID}}"])
        .output()
        .expect("docker events runs");
    assert!(
        output.status.success(),
        "docker events: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// A second pad of `owner`.
async fn another_pad(app: &TestApp, owner: &TestUser) -> (String, i64) {
    let body = app
        .create_pad(owner, json!({ "title": "second", "language": "python" }))
        .await;
    (
        body["pad"]["slug"].as_str().unwrap().to_string(),
        body["pad"]["id"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn a_viewer_alone_never_starts_a_container() {
    let app = spawn(&[]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let viewer = app.signup("Viewer").await;
    app.add_member(&owner, &slug, &viewer, "viewer").await;
    let since = unix_now();

    let mut v = connect(&app, &slug, &viewer).await;
    v.expect_message("role", "role", "viewer").await;
    // Restart and input from the viewer are refused; nothing is created.
    v.send_control(json!({ "type": "restart" })).await;
    v.send_input("echo x\n").await;
    v.until(Duration::from_secs(3), |_| false).await;
    assert!(v.closed.is_none(), "the viewer keeps watching");
    assert_eq!(
        terminal_containers_created(&app, pad_id, since).await,
        0,
        "a viewer caused a container start"
    );
    assert!(terminal_containers(&app, pad_id).await.is_empty());
    // And is told why nothing runs.
    v.expect_message("error", "code", "not_running").await;
    assert!(
        v.has("status", "state", "exited"),
        "a viewer is told nothing runs: {:?}",
        v.messages
    );
    let r = app
        .post(
            &format!("/api/pads/{slug}/terminal/restart"),
            Some(&viewer.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Someone who may type opens it: one container, and the viewer watches it start.
    let mut o = connect(&app, &slug, &owner).await;
    o.running().await;
    v.running().await;
    o.send_input("echo watched-$((4*4))\n").await;
    v.expect_output("watched-16").await;
    assert_eq!(terminal_containers_created(&app, pad_id, since).await, 1);
}

#[tokio::test]
async fn a_burst_of_restarts_creates_at_most_a_couple_of_containers() {
    let app = spawn(&[]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    let since = unix_now();
    for _ in 0..200 {
        t.send_control(json!({ "type": "restart" })).await;
    }
    // Whatever was accepted settles into one running shell.
    tokio::time::sleep(Duration::from_secs(3)).await;
    t.send_input("echo settled-$((6+6))\n").await;
    t.expect_output("settled-12").await;
    let created = terminal_containers_created(&app, pad_id, since).await;
    assert!(created <= 2, "200 restarts created {created} containers");
    wait_one_container(&app, pad_id).await;
    // The refused ones were answered, and the socket stays open.
    t.expect_message("error", "code", "restart_too_soon").await;
    assert!(t.closed.is_none(), "{:?}", t.closed);
    // REST restarts inside the window are refused the same way, with Retry-After.
    let r = app
        .post(
            &format!("/api/pads/{slug}/terminal/restart"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app
        .post(
            &format!("/api/pads/{slug}/terminal/restart"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
    assert!(r.header("retry-after").is_some(), "{:?}", r.body);
}

async fn wait_one_container(app: &TestApp, pad_id: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = terminal_containers(app, pad_id).await;
        if now.len() == 1 {
            return;
        }
        assert!(Instant::now() < deadline, "expected one container: {now:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_user_over_the_container_cap_is_refused_and_runs_share_the_cap() {
    let app = spawn(&[
        ("EXEC_PER_USER_CONCURRENCY", "1"),
        ("TERMINAL_GRACE_MS", "200"),
    ])
    .await;
    let (owner, slug_a, pad_a) = pad(&app).await;
    let (slug_b, pad_b) = another_pad(&app, &owner).await;
    let mut a = connect(&app, &slug_a, &owner).await;
    a.running().await;

    // A second terminal of the same user: refused with a clear message, no container.
    let mut b = connect(&app, &slug_b, &owner).await;
    b.expect_message("error", "code", "too_many_containers")
        .await;
    b.expect_message("status", "state", "exited").await;
    assert!(b.closed.is_none());
    assert!(terminal_containers(&app, pad_b).await.is_empty());
    // A run is refused too: the terminal holds the user's place.
    let run = app
        .post(
            &format!("/api/pads/{slug_a}/runs"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(run.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", run.body);

    // Closing the first terminal gives the place back.
    let _ = a.ws.close(None).await;
    drop(a);
    wait_no_containers(&app, pad_a).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.state.terminals.containers_held() > 0 {
        assert!(
            Instant::now() < deadline,
            "the container place was not given back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.send_control(json!({ "type": "restart" })).await;
    b.running().await;
    b.send_input("echo second-$((3+4))\n").await;
    b.expect_output("second-7").await;
}

#[tokio::test]
async fn the_global_container_cap_refuses_a_start_beyond_it() {
    let app = spawn(&[("TERMINAL_MAX_CONTAINERS", "1")]).await;
    let (owner, slug, _) = pad(&app).await;
    let mut a = connect(&app, &slug, &owner).await;
    a.running().await;
    let other = app.signup("Other").await;
    let (other_slug, other_pad) = another_pad(&app, &other).await;
    let mut b = connect(&app, &other_slug, &other).await;
    b.expect_message("error", "code", "too_many_containers")
        .await;
    assert!(terminal_containers(&app, other_pad).await.is_empty());
    assert_eq!(app.state.terminals.containers_held(), 1);
}

#[tokio::test]
async fn a_user_over_the_terminal_socket_cap_is_closed_1008() {
    let app = spawn(&[]).await;
    let (owner, slug, _) = pad(&app).await;
    let viewer = app.signup("Viewer").await;
    app.add_member(&owner, &slug, &viewer, "viewer").await;
    let mut open = Vec::new();
    for _ in 0..opencoder::terminal::session::MAX_SOCKETS_PER_USER {
        let mut t = connect(&app, &slug, &viewer).await;
        t.expect_message("role", "role", "viewer").await;
        open.push(t);
    }
    let mut over = connect(&app, &slug, &viewer).await;
    over.expect_closed(1008).await;
    assert!(
        over.closed.as_ref().unwrap().1.contains("this user"),
        "{:?}",
        over.closed
    );
    // Another user is not affected, and a closed socket gives its place back.
    let mut o = connect(&app, &slug, &owner).await;
    o.expect_message("role", "role", "owner").await;
    let mut first = open.remove(0);
    let _ = first.ws.close(None).await;
    first
        .until(Duration::from_secs(5), |t| t.closed.is_some())
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = connect(&app, &slug, &viewer).await;
        if again
            .until(Duration::from_millis(500), |t| {
                t.has("role", "role", "viewer")
            })
            .await
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed socket's place was not given back"
        );
    }
}

#[tokio::test]
async fn restarts_do_not_reset_the_recording_budget() {
    let app = spawn(&[("TERMINAL_RECORD_BYTES", "4096")]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let mut t = connect(&app, &slug, &owner).await;
    t.running().await;
    t.send_input("head -c 8000 /dev/zero | tr '\\0' y; echo; echo first-$((1+1))\n")
        .await;
    t.expect_output("first-2").await;
    // Past the debounce, a fresh container: its output must not be recorded.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let runs = t
        .messages
        .iter()
        .filter(|m| m["state"] == "running")
        .count();
    t.send_control(json!({ "type": "restart" })).await;
    assert!(
        t.until(Duration::from_secs(30), |t| t
            .messages
            .iter()
            .filter(|m| m["state"] == "running")
            .count()
            > runs)
            .await,
        "no restart: {:?}",
        t.messages
    );
    t.send_input("head -c 8000 /dev/zero | tr '\\0' z; echo; echo second-$((2+2))\n")
        .await;
    t.expect_output("second-4").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT data FROM pad_events WHERE pad_id = ? AND kind = 'terminal' ORDER BY id",
    )
    .bind(pad_id)
    .fetch_all(app.sql())
    .await
    .unwrap();
    let events: Vec<Value> = rows
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let recorded: u64 = events.iter().map(|e| e["bytes"].as_u64().unwrap()).sum();
    let markers = events.iter().filter(|e| e["truncated"] == true).count();
    let text: String = events.iter().map(|e| e["text"].as_str().unwrap()).collect();
    assert!(
        recorded <= 4096,
        "recorded {recorded} bytes with a 4096-byte budget"
    );
    assert_eq!(markers, 1, "one truncated marker per window: {events:?}");
    assert!(
        !text.contains("zzzz"),
        "the new container's output was recorded past the budget"
    );
}

/// Busy-waits `micros` (a timer's millisecond granularity is too coarse to aim at a join).
fn spin(micros: i64) {
    let until = Instant::now() + Duration::from_micros(micros.max(0) as u64);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kick_that_lands_during_the_join_is_never_missed() {
    let app = spawn(&[]).await;
    let (owner, slug, _) = pad(&app).await;
    let mut o = connect(&app, &slug, &owner).await;
    o.running().await;
    let member = app.signup("Member").await;
    let offered = format!("opencoder.v1, oc.bearer.{}", member.token);
    // How long the kick waits after the connect starts (negative: the connect waits). Aimed by
    // a staircase: a kick that beat the role check moves later, one that came after the join
    // moves earlier, so the attempts cluster where the join happens.
    let (mut offset_us, step_us) = (0i64, 150i64);
    let (mut refused, mut closed) = (0, 0);
    for attempt in 0..150 {
        app.add_member(&owner, &slug, &member, "collaborator").await;
        let connecting = {
            let url = term_url(&app, &slug);
            let offered = offered.clone();
            tokio::spawn(async move {
                spin(-offset_us);
                let mut request = url.into_client_request().unwrap();
                request.headers_mut().insert(
                    "sec-websocket-protocol",
                    HeaderValue::from_str(&offered).unwrap(),
                );
                tokio_tungstenite::connect_async(request).await
            })
        };
        spin(offset_us);
        let r = app
            .delete(
                &format!("/api/pads/{slug}/members/{}", member.id),
                Some(&owner.token),
            )
            .await;
        assert!(r.status.is_success(), "{:?}", r.body);
        // A kick sticks until a re-admit; the next attempt's invite needs one.
        let r = app
            .delete(
                &format!("/api/pads/{slug}/removed/{}", member.id),
                Some(&owner.token),
            )
            .await;
        assert!(r.status.is_success(), "{:?}", r.body);
        match connecting.await.unwrap() {
            Err(_) => {
                refused += 1;
                offset_us += step_us;
            }
            Ok((ws, _)) => {
                let mut t = Term {
                    ws,
                    output: String::new(),
                    messages: Vec::new(),
                    closed: None,
                    selected_protocol: None,
                    response_headers: String::new(),
                };
                t.until(Duration::from_secs(5), |t| t.closed.is_some())
                    .await;
                assert_eq!(
                    t.closed.as_ref().map(|c| c.0),
                    Some(4003),
                    "attempt {attempt} (kick {offset_us} µs after the connect): a kicked member's socket stayed open: {:?}",
                    t.messages
                );
                closed += 1;
                offset_us -= step_us;
            }
        }
    }
    eprintln!("refused at the upgrade: {refused}, closed after joining: {closed}, final offset {offset_us} µs");
    assert!(
        closed > 0 && refused > 0,
        "the kicks never met the joins; the test proves nothing"
    );
}

/// Process command lines in the shell's container that contain `needle` (the probe itself
/// excluded), printed as `<tag>=<count>`.
fn count_processes(needle: &str, tag: &str) -> String {
    format!(
        "n=0; for p in /proc/[0-9]*; do c=$(tr '\\0' ' ' < $p/cmdline 2>/dev/null); case \"$c\" in \"{needle}\"*) n=$((n+1));; esac; done; echo {tag}=$n\n"
    )
}

#[tokio::test]
async fn a_typist_who_loses_access_leaves_nothing_running() {
    let app = spawn(&[]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let typist = app.signup("Typist").await;
    app.add_member(&owner, &slug, &typist, "collaborator").await;
    let mut o = connect(&app, &slug, &owner).await;
    o.running().await;
    let mut c = connect(&app, &slug, &typist).await;
    c.running().await;

    for (round, change) in ["downgrade", "kick"].into_iter().enumerate() {
        let before = terminal_containers(&app, pad_id).await;
        assert_eq!(before.len(), 1);
        c.send_input("sleep 1000 & echo left-running-$((5*5))\n")
            .await;
        c.expect_output("left-running-25").await;
        o.send_input(&count_processes("sleep 1000", &format!("before{round}")))
            .await;
        o.expect_output(&format!("before{round}=1")).await;
        let starts = o
            .messages
            .iter()
            .filter(|m| m["state"] == "starting")
            .count();
        let runs = o
            .messages
            .iter()
            .filter(|m| m["state"] == "running")
            .count();
        let r = if change == "downgrade" {
            app.patch(
                &format!("/api/pads/{slug}/members/{}", typist.id),
                Some(&owner.token),
                json!({ "role": "viewer" }),
            )
            .await
        } else {
            app.delete(
                &format!("/api/pads/{slug}/members/{}", typist.id),
                Some(&owner.token),
            )
            .await
        };
        assert!(r.status.is_success(), "{:?}", r.body);
        // Everyone is told; a fresh container replaces the one the typist used.
        o.expect_output("terminal restarted").await;
        assert!(
            o.until(Duration::from_secs(30), |t| t
                .messages
                .iter()
                .filter(|m| m["state"] == "starting")
                .count()
                > starts)
                .await
        );
        assert!(
            o.until(Duration::from_secs(30), |t| t
                .messages
                .iter()
                .filter(|m| m["state"] == "running")
                .count()
                > runs)
                .await
        );
        o.send_input(&count_processes("sleep 1000", &format!("after{round}")))
            .await;
        o.expect_output(&format!("after{round}=0")).await;
        wait_no_containers_but(&app, pad_id, &before[0]).await;
        if change == "downgrade" {
            c.expect_message("role", "role", "viewer").await;
            let r = app
                .patch(
                    &format!("/api/pads/{slug}/members/{}", typist.id),
                    Some(&owner.token),
                    json!({ "role": "collaborator" }),
                )
                .await;
            assert!(r.status.is_success(), "{:?}", r.body);
            c.expect_message("role", "role", "collaborator").await;
        } else {
            c.expect_closed(4003).await;
        }
    }
}

/// Wait until the container `gone` is removed and exactly one other container serves the pad.
async fn wait_no_containers_but(app: &TestApp, pad_id: i64, gone: &str) {
    let what = format!("the typist's container was not replaced (old {gone})");
    wait_for_containers(app, pad_id, &what, |now| now.len() == 1 && now[0] != gone).await;
}

#[tokio::test]
async fn deleting_an_account_closes_its_pads_terminals_for_everyone() {
    let app = spawn(&[]).await;
    let (owner, slug, pad_id) = pad(&app).await;
    let member = app.signup("Member").await;
    app.add_member(&owner, &slug, &member, "collaborator").await;
    let mut m = connect(&app, &slug, &member).await;
    m.running().await;
    assert_eq!(terminal_containers(&app, pad_id).await.len(), 1);
    let r = app
        .request(
            reqwest::Method::DELETE,
            "/api/auth/me",
            Some(&owner.token),
            Some(json!({ "confirm": "DELETE" })),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    m.expect_closed(4004).await;
    wait_no_containers(&app, pad_id).await;
}

#[tokio::test]
async fn a_typist_who_deletes_their_account_leaves_nothing_running() {
    let app = spawn(&[]).await;
    let (owner, slug, _) = pad(&app).await;
    let typist = app.signup("Typist").await;
    app.add_member(&owner, &slug, &typist, "collaborator").await;
    let mut o = connect(&app, &slug, &owner).await;
    o.running().await;
    let mut c = connect(&app, &slug, &typist).await;
    c.running().await;
    c.send_input("sleep 1000 & echo left-running-$((5*5))\n")
        .await;
    c.expect_output("left-running-25").await;
    let runs = o
        .messages
        .iter()
        .filter(|m| m["state"] == "running")
        .count();
    let r = app
        .request(
            reqwest::Method::DELETE,
            "/api/auth/me",
            Some(&typist.token),
            Some(json!({ "confirm": "DELETE" })),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    c.expect_closed(4001).await;
    o.expect_output("terminal restarted").await;
    assert!(
        o.until(Duration::from_secs(30), |t| t
            .messages
            .iter()
            .filter(|m| m["state"] == "running")
            .count()
            > runs)
            .await
    );
    o.send_input(&count_processes("sleep 1000", "after")).await;
    o.expect_output("after=0").await;
}
