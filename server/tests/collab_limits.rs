//! Malformed frames and limits (SPEC §4 "Limits"): each closes only the offending socket with its
//! code; the process and the other clients on the pad carry on.

mod collab_support;
mod common;

use std::time::Duration;

use collab_support::{connect, Http, Peer, TestPad};
use common::TestApp;
use futures_util::SinkExt;
use oc_proto::{AwarenessEntry, AwarenessUpdate};
use opencoder::collab::limits;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::Message as WsMessage;

struct Setup {
    app: TestApp,
    http: Http,
    owner: String,
    pad: TestPad,
    /// Two bystanders on the same pad that must keep working.
    watcher: Peer,
    writer: Peer,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let mut watcher = connect(&app.base, &pad.slug, &owner).await;
    watcher.synced().await;
    let mut writer = connect(&app.base, &pad.slug, &owner).await;
    writer.synced().await;
    Setup {
        app,
        http,
        owner,
        pad,
        watcher,
        writer,
    }
}

impl Setup {
    async fn offender(&self) -> Peer {
        let mut p = connect(&self.app.base, &self.pad.slug, &self.owner).await;
        p.synced().await;
        p
    }

    /// The bystanders still sync with each other.
    async fn bystanders_still_work(&mut self, marker: &str) {
        // A client must read what it is sent; the writer catches up first.
        self.writer.drain(Duration::from_millis(300)).await;
        self.writer.insert(&self.pad.file, 0, marker).await;
        let file = self.pad.file.clone();
        let marker = marker.to_string();
        assert!(
            self.watcher.until(Duration::from_secs(3), |p| p.text(&file).contains(&marker)).await,
            "bystander stopped receiving after {marker}: watcher closed {:?}, writer closed {:?}, watcher text len {}",
            self.watcher.closed,
            self.writer.closed,
            self.watcher.text(&file).len()
        );
        assert!(self.watcher.closed.is_none() && self.writer.closed.is_none());
    }
}

async fn expect_close(mut p: Peer, frame: WsMessage, code: u16, what: &str) {
    let _ = p.ws.send(frame).await;
    assert_eq!(
        p.closed_within(Duration::from_secs(5)).await,
        Some(code),
        "{what}"
    );
}

#[tokio::test]
async fn malformed_frames_close_that_socket_only() {
    let mut s = setup().await;
    let cases: Vec<(WsMessage, u16, &str)> = vec![
        (
            WsMessage::Binary(vec![0x80].into()),
            1007,
            "truncated varint",
        ),
        (
            WsMessage::Binary(vec![0xff; 12].into()),
            1007,
            "overlong varint",
        ),
        (
            WsMessage::Binary(vec![0, 2, 10, 1, 2].into()),
            1007,
            "length beyond the frame",
        ),
        (
            WsMessage::Binary(vec![0, 2, 1, 0, 9].into()),
            1007,
            "trailing bytes",
        ),
        (
            WsMessage::Binary(vec![0, 2, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01].into()),
            1007,
            "garbage update",
        ),
        (
            WsMessage::Binary(vec![0, 0, 3, 0xff, 0xff, 0x7f].into()),
            1007,
            "garbage state vector",
        ),
        (
            WsMessage::Binary(
                oc_proto::AppMessage::new(json!({"type": "x"}))
                    .unwrap()
                    .encode()[..2]
                    .to_vec()
                    .into(),
            ),
            1007,
            "truncated app message",
        ),
        (
            WsMessage::Binary(vec![100, 3, b'{', b'x', b'}'].into()),
            1007,
            "invalid JSON",
        ),
        (
            WsMessage::Binary(vec![100, 2, b'[', b']'].into()),
            1007,
            "app message not an object",
        ),
        (
            WsMessage::Binary(vec![1, 5, 1, 1, 1, 1, b'{'].into()),
            1007,
            "invalid awareness JSON",
        ),
        (
            WsMessage::Binary(vec![7].into()),
            1003,
            "unknown message type",
        ),
        (
            WsMessage::Binary(vec![0, 9, 0].into()),
            1003,
            "unknown sync subtype",
        ),
        (WsMessage::Text("hello".into()), 1003, "text frame"),
    ];
    for (i, (frame, code, what)) in cases.into_iter().enumerate() {
        let p = s.offender().await;
        expect_close(p, frame, code, what).await;
        s.bystanders_still_work(&format!("[{i}]")).await;
    }
}

#[tokio::test]
async fn oversized_frames_close_with_1009() {
    let mut s = setup().await;
    // Just over the frame limit: refused by the decoder.
    let mut frame = vec![0, 2];
    frame.extend(vec![0u8; limits::MAX_FRAME_BYTES + 10]);
    expect_close(
        s.offender().await,
        WsMessage::Binary(frame.into()),
        1009,
        "frame over MAX_FRAME_BYTES",
    )
    .await;
    // Far over it: refused by the WebSocket layer.
    let frame = vec![0u8; 3 * limits::MAX_FRAME_BYTES];
    expect_close(
        s.offender().await,
        WsMessage::Binary(frame.into()),
        1009,
        "frame over the socket limit",
    )
    .await;
    // Awareness payload over its limit.
    let big = "y".repeat(limits::MAX_AWARENESS_BYTES);
    let update = AwarenessUpdate {
        entries: vec![AwarenessEntry {
            client_id: 1,
            clock: 1,
            state: Some(json!({ "x": big })),
        }],
    };
    expect_close(
        s.offender().await,
        WsMessage::Binary(update.encode_frame().into()),
        1009,
        "awareness over its limit",
    )
    .await;
    s.bystanders_still_work("after big frames").await;
}

/// Updates over their rate are slowed rather than closed: `collab_resources` floods them.
#[tokio::test]
async fn awareness_rate_is_limited_with_1008() {
    let mut s = setup().await;
    let mut p = s.offender().await;
    for _ in 0..(limits::AWARENESS_BURST as usize + 50) {
        p.set_awareness(json!({ "cursor": 1 })).await;
    }
    assert_eq!(
        p.closed_within(Duration::from_secs(5)).await,
        Some(1008),
        "awareness flood"
    );
    s.bystanders_still_work("after floods").await;
}

#[tokio::test]
async fn too_many_awareness_client_ids_is_1008() {
    let mut s = setup().await;
    let mut p = s.offender().await;
    for client in 0..(limits::MAX_CLIENT_IDS_PER_CONN as u64 + 1) {
        let update = AwarenessUpdate {
            entries: vec![AwarenessEntry {
                client_id: 1000 + client,
                clock: 1,
                state: Some(json!({})),
            }],
        };
        p.send(update.encode_frame()).await;
    }
    assert_eq!(p.closed_within(Duration::from_secs(5)).await, Some(1008));
    s.bystanders_still_work("after client ids").await;
}

#[tokio::test]
async fn document_size_limit_closes_with_1009_and_keeps_the_document() {
    let mut s = setup().await;
    let mut p = s.offender().await;
    // Each insert just under the single-update limit, so the document limit is what trips.
    let chunk = "x".repeat(limits::MAX_UPDATE_BYTES - 1024);
    let file = s.pad.file.clone();
    let mut code = None;
    for _ in 0..(limits::MAX_DOC_BYTES / chunk.len() + 2) {
        p.insert(&file, 0, &chunk).await;
        p.drain(Duration::from_millis(30)).await;
        if let Some(closed) = &p.closed {
            code = Some(closed.code);
            break;
        }
    }
    let code = match code {
        Some(code) => Some(code),
        None => p.closed_within(Duration::from_secs(5)).await,
    };
    assert_eq!(code, Some(1009));
    let len = s
        .http
        .file_text(&s.owner, &s.pad, s.pad.file_id)
        .await
        .len();
    assert!(len <= limits::MAX_DOC_BYTES, "document grew to {len}");
    s.bystanders_still_work("after the size limit").await;
}

#[tokio::test]
async fn connections_per_user_are_limited() {
    let s = setup().await;
    // The setup holds 2 of the owner's sockets.
    let mut extra = Vec::new();
    for _ in 2..limits::MAX_CONNECTIONS_PER_USER {
        let mut p = connect(&s.app.base, &s.pad.slug, &s.owner).await;
        p.synced().await;
        extra.push(p);
    }
    let mut over = connect(&s.app.base, &s.pad.slug, &s.owner).await;
    assert_eq!(over.closed_within(Duration::from_secs(5)).await, Some(1008));
    // Closing one frees a slot.
    extra.pop().unwrap().close().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = connect(&s.app.base, &s.pad.slug, &s.owner).await;
    again.synced().await;
}

#[tokio::test]
async fn connections_per_pad_are_limited() {
    let s = setup().await;
    let mut peers = Vec::new();
    let mut open = 2; // the setup's
    while open < limits::MAX_CONNECTIONS_PER_PAD {
        let (_, token) = s.http.signup("Crowd").await;
        s.http.add_member(&s.owner, &s.pad, &token, "viewer").await;
        for _ in 0..limits::MAX_CONNECTIONS_PER_USER.min(limits::MAX_CONNECTIONS_PER_PAD - open) {
            peers.push(connect(&s.app.base, &s.pad.slug, &token).await);
            open += 1;
        }
    }
    let (_, late) = s.http.signup("Late").await;
    s.http.add_member(&s.owner, &s.pad, &late, "viewer").await;
    let mut over = connect(&s.app.base, &s.pad.slug, &late).await;
    assert_eq!(over.closed_within(Duration::from_secs(5)).await, Some(1008));
}
