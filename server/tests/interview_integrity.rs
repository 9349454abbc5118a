//! The integrity timeline (issue 13 §5) over the real pad socket and HTTP API: a candidate's
//! client reports pastes, large insertions and focus changes; interviewers see them live, in
//! the summary and in the recording's timeline; nothing of them reaches a candidate or a
//! viewer; every rule of a report (who, shape, size, rate, per-pad cap) is tried.

mod collab_support;
mod common;
mod redis_support;

use std::time::Duration;

use collab_support::{connect, Peer};
use common::{TestApp, TestUser};
use opencoder::interviews::integrity::{
    INTEGRITY_MAX_EVENTS_PER_PAD, INTEGRITY_MAX_REPORT_BYTES, INTEGRITY_REPORTS_BURST,
};
use redis_support::RedisServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(5);

/// A pad of `owner` with one file, and `cam` as its candidate; returns (slug, file id).
async fn pad_with_candidate(app: &TestApp, owner: &TestUser, cam: &TestUser) -> (String, i64) {
    let body = app
        .create_pad(owner, json!({ "title": "Screening", "language": "python" }))
        .await;
    let slug = body["pad"]["slug"].as_str().unwrap().to_string();
    app.add_member(owner, &slug, cam, "candidate").await;
    (slug, body["files"][0]["id"].as_i64().unwrap())
}

async fn file_name(app: &TestApp, slug: &str, owner: &TestUser) -> String {
    let r = app
        .get(&format!("/api/pads/{slug}/files"), Some(&owner.token))
        .await;
    r.body["files"][0]["name"].as_str().unwrap().to_string()
}

fn paste(file: i64, chars: u32) -> Value {
    json!({ "type": "integrity", "kind": "paste", "chars": chars, "fileId": file })
}

async fn timeline(app: &TestApp, slug: &str, user: &TestUser) -> (StatusCode, Value) {
    let r = app
        .get(
            &format!("/api/pads/{slug}/interview/integrity"),
            Some(&user.token),
        )
        .await;
    (r.status, r.body)
}

async fn stored(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM pad_events WHERE kind = 'integrity'")
        .fetch_one(app.sql())
        .await
        .unwrap()
}

/// Everything a socket received besides the document: app messages and awareness states.
fn seen(peer: &Peer) -> String {
    format!(
        "{} {}",
        serde_json::to_string(&peer.apps).unwrap(),
        serde_json::to_string(&peer.awareness).unwrap()
    )
}

#[tokio::test]
async fn reports_reach_interviewers_live_and_in_rest_and_never_the_candidate() {
    let app = TestApp::spawn().await;
    let (ada, cam, val) = (
        app.signup("Ada").await,
        app.signup("Cam").await,
        app.signup("Val").await,
    );
    let (slug, file) = pad_with_candidate(&app, &ada, &cam).await;
    app.add_member(&ada, &slug, &val, "viewer").await;
    let mut interviewer = connect(&app.base, &slug, &ada.token).await;
    let mut viewer = connect(&app.base, &slug, &val.token).await;
    let mut candidate = connect(&app.base, &slug, &cam.token).await;
    for peer in [&mut interviewer, &mut viewer, &mut candidate] {
        peer.synced().await;
    }
    candidate.send_app(paste(file, 321)).await;
    candidate
        .send_app(json!({ "type": "integrity", "kind": "focusLost" }))
        .await;
    candidate
        .send_app(json!({ "type": "integrity", "kind": "focusRegained" }))
        .await;
    candidate
        .send_app(
            json!({ "type": "integrity", "kind": "largeInsert", "chars": 900, "fileId": file }),
        )
        .await;
    assert!(
        interviewer
            .until(WAIT, |p| p.app_messages("integrity.reported").len() == 4)
            .await,
        "the interviewer is told of each report: {:?}",
        interviewer.apps
    );

    let (status, body) = timeline(&app, &slug, &ada).await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    let kinds: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["paste", "focusLost", "focusRegained", "largeInsert"]
    );
    let first = &body["events"][0];
    assert_eq!(
        (
            first["chars"].clone(),
            first["fileId"].clone(),
            first["file"].clone(),
            first["userId"].clone(),
            first["userName"].clone(),
            body["capped"].clone(),
        ),
        (
            json!(321),
            json!(file),
            json!(file_name(&app, &slug, &ada).await),
            json!(cam.id),
            json!("Cam"),
            json!(false)
        )
    );
    assert!(first["at"].as_i64().unwrap() > 1_600_000_000_000);

    // Only interviewers read it.
    for user in [&cam, &val] {
        assert_eq!(timeline(&app, &slug, user).await.0, StatusCode::FORBIDDEN);
    }
    candidate.drain(Duration::from_millis(300)).await;
    viewer.drain(Duration::from_millis(300)).await;
    for (who, peer) in [("candidate", &candidate), ("viewer", &viewer)] {
        let text = seen(peer);
        assert!(
            !text.contains("integrity") && !text.contains("focusLost") && !text.contains("321"),
            "the {who}'s socket received an integrity event: {text}"
        );
    }
    assert!(candidate.closed.is_none());

    // The recording's timeline and export carry them for interviewers only.
    let rec = app
        .post(
            &format!("/api/pads/{slug}/recordings"),
            Some(&ada.token),
            json!({ "name": "r" }),
        )
        .await;
    assert_eq!(rec.status, StatusCode::CREATED, "{:?}", rec.body);
    let id = rec.body["recording"]["id"].as_i64().unwrap();
    candidate
        .send_app(json!({ "type": "integrity", "kind": "focusLost" }))
        .await;
    assert!(
        interviewer
            .until(WAIT, |p| p.app_messages("integrity.reported").len() == 5)
            .await
    );
    let timeline_of = |user: &TestUser| {
        let path = format!("/api/pads/{slug}/recordings/{id}/timeline");
        let token = user.token.clone();
        let app = &app;
        async move { app.get(&path, Some(&token)).await }
    };
    let owner_view = timeline_of(&ada).await;
    assert_eq!(owner_view.status, StatusCode::OK, "{:?}", owner_view.body);
    assert!(
        owner_view.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "integrity" && e["data"]["kind"] == "focusLost"),
        "{:?}",
        owner_view.body
    );
    let viewer_view = timeline_of(&val).await;
    assert_eq!(viewer_view.status, StatusCode::OK);
    assert!(!viewer_view
        .body
        .to_string()
        .contains("\"kind\":\"integrity\""));
    assert_eq!(timeline_of(&cam).await.status, StatusCode::FORBIDDEN);
    for (user, included) in [(&ada, true), (&val, false)] {
        let export = app
            .get(
                &format!("/api/pads/{slug}/recordings/{id}/export"),
                Some(&user.token),
            )
            .await;
        assert_eq!(export.status, StatusCode::OK);
        let text = export.body.to_string();
        assert_eq!(text.contains("\"kind\":\"integrity\""), included, "{text}");
    }
}

#[tokio::test]
async fn only_the_candidates_reports_are_kept() {
    let app = TestApp::spawn().await;
    let (ada, cam, col, val) = (
        app.signup("Ada").await,
        app.signup("Cam").await,
        app.signup("Col").await,
        app.signup("Val").await,
    );
    let (slug, file) = pad_with_candidate(&app, &ada, &cam).await;
    app.add_member(&ada, &slug, &col, "collaborator").await;
    app.add_member(&ada, &slug, &val, "viewer").await;
    for user in [&ada, &col, &val] {
        let mut peer = connect(&app.base, &slug, &user.token).await;
        peer.synced().await;
        peer.send_app(paste(file, 10)).await;
        assert!(
            peer.until(WAIT, |p| p.has_error("forbidden")).await,
            "{}'s report is refused: {:?}",
            user.name,
            peer.apps
        );
        assert!(peer.closed.is_none(), "a refused report keeps the socket");
    }
    assert_eq!(stored(&app).await, 0);
}

#[tokio::test]
async fn a_malformed_or_oversized_report_closes_that_socket_only() {
    let app = TestApp::spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let (slug, file) = pad_with_candidate(&app, &ada, &cam).await;
    let mut interviewer = connect(&app.base, &slug, &ada.token).await;
    interviewer.synced().await;
    let padding = "x".repeat(INTEGRITY_MAX_REPORT_BYTES);
    let cases = [
        (json!({ "type": "integrity", "kind": "copy" }), 1007),
        (
            json!({ "type": "integrity", "kind": "paste", "chars": 5 }),
            1007,
        ),
        (
            json!({ "type": "integrity", "kind": "focusLost", "chars": 5, "fileId": file }),
            1007,
        ),
        (
            json!({ "type": "integrity", "kind": "paste", "chars": 5, "fileId": file, "text": "secret" }),
            1007,
        ),
        (
            json!({ "type": "integrity", "kind": "paste", "chars": 5, "fileId": file, "pad": padding }),
            1009,
        ),
    ];
    for (report, code) in cases {
        let mut candidate = connect(&app.base, &slug, &cam.token).await;
        candidate.synced().await;
        candidate.send_app(report.clone()).await;
        assert_eq!(
            candidate.closed_within(WAIT).await,
            Some(code),
            "{report}: {:?}",
            candidate.apps
        );
        assert!(
            !candidate.has_app("error"),
            "a closing report gets no answer"
        );
    }
    // The interviewer's socket is untouched, and nothing was stored.
    interviewer
        .send_app(json!({ "type": "chat", "body": "still here" }))
        .await;
    assert!(interviewer.until(WAIT, |p| p.has_app("chat")).await);
    assert!(interviewer.closed.is_none());
    assert_eq!(stored(&app).await, 0);
}

#[tokio::test]
async fn reports_are_rate_limited_per_connection_and_capped_per_pad() {
    let app = TestApp::spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let (slug, file) = pad_with_candidate(&app, &ada, &cam).await;
    let mut candidate = connect(&app.base, &slug, &cam.token).await;
    candidate.synced().await;
    let burst = INTEGRITY_REPORTS_BURST as i64;
    for _ in 0..burst + 5 {
        candidate.send_app(paste(file, 3)).await;
    }
    assert!(candidate.until(WAIT, |p| p.has_error("rate_limited")).await);
    candidate.drain(Duration::from_millis(300)).await;
    let kept = stored(&app).await;
    assert!(
        (burst..burst + 2).contains(&kept),
        "a burst of {} kept {kept}",
        burst + 5
    );
    assert!(candidate.closed.is_none(), "over the rate is not a close");

    // The pad's cap: fill it up to one below, then two reports keep one.
    let pad_id: i64 = sqlx::query_scalar("SELECT id FROM pads WHERE slug = ?")
        .bind(&slug)
        .fetch_one(app.sql())
        .await
        .unwrap();
    for _ in kept..INTEGRITY_MAX_EVENTS_PER_PAD - 1 {
        sqlx::query(
            "INSERT INTO pad_events (pad_id, at_ms, kind, user_id, data) VALUES (?, 1, 'integrity', ?, '{\"kind\":\"focusLost\"}')",
        )
        .bind(pad_id)
        .bind(cam.id)
        .execute(app.sql())
        .await
        .unwrap();
    }
    let mut fresh = connect(&app.base, &slug, &cam.token).await;
    fresh.synced().await;
    fresh.send_app(paste(file, 7)).await;
    fresh.send_app(paste(file, 8)).await;
    fresh.drain(Duration::from_millis(500)).await;
    assert_eq!(stored(&app).await, INTEGRITY_MAX_EVENTS_PER_PAD);
    let (_, body) = timeline(&app, &slug, &ada).await;
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len() as i64, INTEGRITY_MAX_EVENTS_PER_PAD);
    assert_eq!(events.last().unwrap()["chars"], json!(7));
    assert_eq!(body["capped"], json!(true));
}

#[tokio::test]
async fn the_interview_summary_lists_the_reports_in_json_and_markdown() {
    let app = TestApp::spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let question = app
        .post(
            "/api/questions",
            Some(&ada.token),
            json!({ "title": "Sum", "prompt": "Add.", "difficulty": "easy", "tags": [],
                    "languages": [{ "language": "python", "files": [] }] }),
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
    let slug = started.body["pad"]["slug"].as_str().unwrap().to_string();
    let file = started.body["files"][0]["id"].as_i64().unwrap();
    app.add_member(&ada, &slug, &cam, "candidate").await;
    let knock = format!("/api/pads/{slug}/interview/knock");
    app.post(&knock, Some(&cam.token), json!({})).await;
    let admitted = app
        .post(
            &format!("/api/pads/{slug}/interview/admissions/{}", cam.id),
            Some(&ada.token),
            json!({ "admit": true }),
        )
        .await;
    assert_eq!(admitted.status, StatusCode::OK, "{:?}", admitted.body);
    let mut candidate = connect(&app.base, &slug, &cam.token).await;
    candidate.synced().await;
    candidate.send_app(paste(file, 4242)).await;
    candidate.drain(Duration::from_millis(500)).await;

    let summary = app
        .get(
            &format!("/api/pads/{slug}/interview/summary"),
            Some(&ada.token),
        )
        .await;
    assert_eq!(summary.status, StatusCode::OK, "{:?}", summary.body);
    assert_eq!(summary.body["integrity"]["events"][0]["kind"], "paste");
    assert_eq!(summary.body["integrity"]["events"][0]["chars"], 4242);
    let markdown = app
        .client
        .get(app.url(&format!("/api/pads/{slug}/interview/summary/markdown")))
        .bearer_auth(&ada.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        markdown.contains("## Integrity timeline")
            && markdown.contains("Cam paste: 4242 characters"),
        "{markdown}"
    );
    // The candidate reads neither.
    let refused = app
        .get(
            &format!("/api/pads/{slug}/interview/summary"),
            Some(&cam.token),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let theirs = app
        .get(&format!("/api/pads/{slug}/interview"), Some(&cam.token))
        .await;
    assert!(!theirs.body.to_string().contains("4242"));
}

/// Two nodes on one database and one Redis: a report made on node A reaches the interviewer on
/// node B, and not the viewer there.
#[tokio::test]
async fn the_notice_reaches_interviewers_on_another_node_only() {
    const SECRET: &str = "integrity-cluster-test-secret-0123456789abcdef";
    let redis = RedisServer::start();
    let (a, b) = TestApp::spawn_two_nodes(&redis.url(), SECRET).await;
    let (ada, cam, val) = (
        a.signup("Ada").await,
        a.signup("Cam").await,
        a.signup("Val").await,
    );
    let (slug, file) = pad_with_candidate(&a, &ada, &cam).await;
    a.add_member(&ada, &slug, &val, "viewer").await;
    let mut interviewer = connect(&b.base, &slug, &ada.token).await;
    let mut viewer = connect(&b.base, &slug, &val.token).await;
    let mut candidate = connect(&a.base, &slug, &cam.token).await;
    for peer in [&mut interviewer, &mut viewer, &mut candidate] {
        peer.synced().await;
    }
    candidate.send_app(paste(file, 77)).await;
    assert!(
        interviewer
            .until(WAIT, |p| p.has_app("integrity.reported"))
            .await,
        "the notice crossed to node B: {:?}",
        interviewer.apps
    );
    viewer.drain(Duration::from_millis(300)).await;
    assert!(!viewer.has_app("integrity.reported"));
    let (_, body) = timeline(&b, &slug, &ada).await;
    assert_eq!(body["events"][0]["chars"], json!(77));
}
