//! A long recording's export is streamed: the server's memory grows by about a page while it
//! sends a body many times larger. Alone in its own test binary, so no other test's allocations
//! show in the process's resident set.

mod common;

use std::io::{BufReader, Write};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::TestApp;
use opencoder::db::{PadId, UserId};
use serde_json::{json, Value};
use yrs::updates::decoder::Decode;
use yrs::{GetString, Text, Transact, Update, WriteTxn};

/// Runs in the recording, each with `RUN_OUTPUT_BYTES` of output (the default `EXEC_OUTPUT_BYTES`).
const RUNS: usize = 192;
const RUN_OUTPUT_BYTES: usize = 1 << 20;
const EDITS: usize = 500;

/// The process's resident set, in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_recording_is_exported_in_bounded_memory_and_complete() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Ada").await;
    let body = app
        .create_pad(&owner, json!({ "title": "long", "language": "python" }))
        .await;
    let slug = body["pad"]["slug"].as_str().unwrap().to_string();
    let pad = PadId(body["pad"]["id"].as_i64().unwrap());
    let file = body["files"][0]["name"].as_str().unwrap().to_string();
    let started = app
        .post(
            &format!("/api/pads/{slug}/recordings"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(started.status, 201);
    let rec = started.body["recording"]["id"].as_i64().unwrap();

    // The history: edits through the collaboration engine and runs with a full output each.
    for i in 0..EDITS {
        let (file, line) = (file.clone(), format!("print({i})\n"));
        app.state
            .docs
            .edit(pad, Some(UserId(owner.id)), move |txn| {
                let text = txn.get_or_insert_text(format!("file:{file}").as_str());
                let end = text.len(txn);
                text.insert(txn, end, &line);
            })
            .await
            .unwrap();
    }
    app.state.docs.flush_log().await;
    let now = chrono::Utc::now().timestamp_millis();
    for i in 0..RUNS {
        let stdout = format!("{i:08}").repeat(RUN_OUTPUT_BYTES / 8);
        sqlx::query(
            "INSERT INTO runs (id, pad_id, user_id, language, entry, started_at_ms, finished_at_ms, exit_code, signal, \
             timed_out, oom_killed, truncated, backend, outcome, stdout, stderr) \
             VALUES (?, ?, ?, 'python', 'main.py', ?, ?, 0, NULL, 0, 0, 1, 'docker', 'ok', ?, '')",
        )
        .bind(format!("run-{i:04}"))
        .bind(pad)
        .bind(owner.id)
        .bind(now + i as i64)
        .bind(now + i as i64 + 1)
        .bind(stdout)
        .execute(app.sql())
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopped = app
        .post(
            &format!("/api/pads/{slug}/recordings/{rec}/stop"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(stopped.status, 200);

    // Stream the export to a file, sampling the resident set as it arrives.
    let baseline = rss_bytes();
    let mut peak = baseline;
    let mut response = app
        .client
        .get(app.url(&format!("/api/pads/{slug}/recordings/{rec}/export")))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("content-length").is_none(),
        "the export is streamed, not built first"
    );
    let mut saved = tempfile::NamedTempFile::new().unwrap();
    let mut received = 0u64;
    while let Some(chunk) = response.chunk().await.unwrap() {
        received += chunk.len() as u64;
        saved.write_all(&chunk).unwrap();
        peak = peak.max(rss_bytes());
    }
    saved.flush().unwrap();
    let growth = peak.saturating_sub(baseline);
    let output_total = (RUNS * RUN_OUTPUT_BYTES) as u64;
    println!("export: {received} bytes; resident set grew by {growth} bytes (baseline {baseline})");
    assert!(received > output_total, "{received} bytes received");
    // Building the export in memory held every event and then the serialised body: at least twice
    // the body. Streamed, the growth is a few pages (their rows, their JSON) per allocator arena
    // (each pooled connection's thread has one): measured 50–85 MB here, whatever the body's size.
    assert!(
        growth < received / 2,
        "the server held the recording: RSS grew {growth} bytes for a {received}-byte export"
    );

    // The download is one valid JSON document holding the whole window.
    let export: Value =
        serde_json::from_reader(BufReader::new(std::fs::File::open(saved.path()).unwrap()))
            .unwrap();
    assert_eq!(export["version"], 1);
    assert_eq!(export["recording"]["id"], rec);
    let events = export["events"].as_array().unwrap();
    let runs: Vec<&Value> = events.iter().filter(|e| e["kind"] == "run").collect();
    assert_eq!(runs.len(), RUNS);
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run["data"]["runId"], format!("run-{i:04}"));
        assert_eq!(
            run["data"]["stdout"].as_str().unwrap().len(),
            RUN_OUTPUT_BYTES
        );
    }
    let edits: Vec<&Value> = events.iter().filter(|e| e["kind"] == "edit").collect();
    assert_eq!(edits.len(), EDITS);
    let ats: Vec<i64> = events.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert!(
        ats.windows(2).all(|w| w[0] <= w[1]),
        "events are in time order"
    );
    // initialState plus every edit reproduce the file.
    let doc = yrs::Doc::new();
    let mut updates = vec![STANDARD
        .decode(export["initialState"].as_str().unwrap())
        .unwrap()];
    updates.extend(edits.iter().map(|e| {
        STANDARD
            .decode(e["data"]["update"].as_str().unwrap())
            .unwrap()
    }));
    for update in updates {
        doc.transact_mut()
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
    }
    let text = doc.get_or_insert_text(format!("file:{file}").as_str());
    let expected: String = (0..EDITS).map(|i| format!("print({i})\n")).collect();
    assert!(text.get_string(&doc.transact()).ends_with(&expected));
}
