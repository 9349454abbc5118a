//! The run console over the pad socket against the real Docker sandbox (issue 12): console input
//! from roles that may run reaches the program and is echoed to everyone; viewers, other pads,
//! finished runs, closed input and oversized input are refused.

mod collab_support;
mod common;
mod exec_support;

use std::time::Duration;

use common::{TestApp, TestUser};
use exec_support::{errors, joined, start, transcript, WAIT};
use opencoder::exec::console::{CONSOLE_BURST, CONSOLE_MESSAGE_BYTES, CONSOLE_RUN_BYTES};
use serde_json::json;

async fn spawn() -> TestApp {
    exec_support::spawn_docker(&[]).await
}

async fn pad_with(app: &TestApp, user: &TestUser, name: &str, source: &str) -> String {
    app.pad_with_file(user, "python", name, source).await
}

#[tokio::test]
async fn a_collaborators_input_reaches_the_program_and_everyone_sees_it() {
    let app = spawn().await;
    let (ada, bob, vic) = (
        app.signup("Ada").await,
        app.signup("Bob").await,
        app.signup("Vic").await,
    );
    let source = "import sys\nname = input('name? ')\nprint('hello ' + name, flush=True)\nprint('rest', repr(sys.stdin.read()))\n";
    let slug = pad_with(&app, &ada, "ask.py", source).await;
    app.add_member(&ada, &slug, &bob, "collaborator").await;
    app.add_member(&ada, &slug, &vic, "viewer").await;
    let other = pad_with(&app, &ada, "other.py", "print(1)\n").await;
    let (mut ada_ws, mut bob_ws, mut vic_ws) = (
        joined(&app, &slug, &ada).await,
        joined(&app, &slug, &bob).await,
        joined(&app, &slug, &vic).await,
    );
    let mut elsewhere = joined(&app, &other, &ada).await;

    let run_id = start(
        &app,
        &ada,
        &slug,
        json!({ "entry": "ask.py", "interactive": true }),
    )
    .await;
    assert!(
        bob_ws
            .until(WAIT, |p| transcript(p, &run_id) == "name? ")
            .await,
        "the prompt never came: {:?}",
        bob_ws.apps
    );
    assert_eq!(bob_ws.app_messages("run.started")[0]["interactive"], true);

    // A viewer, and a socket of another pad, are refused; neither input reaches the program.
    vic_ws
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "Vic\n" }))
        .await;
    assert!(
        vic_ws
            .until(WAIT, |p| !errors(p, "run.stdin").is_empty())
            .await
    );
    assert_eq!(errors(&vic_ws, "run.stdin"), ["forbidden"]);
    vic_ws
        .send_app(json!({ "type": "run.eof", "runId": run_id }))
        .await;
    assert!(
        vic_ws
            .until(WAIT, |p| !errors(p, "run.eof").is_empty())
            .await
    );
    assert_eq!(errors(&vic_ws, "run.eof"), ["forbidden"]);
    elsewhere
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "Eve\n" }))
        .await;
    assert!(
        elsewhere
            .until(WAIT, |p| !errors(p, "run.stdin").is_empty())
            .await
    );
    assert_eq!(errors(&elsewhere, "run.stdin"), ["unknown_run"]);
    // One message over the limit is refused whole.
    let big = "x".repeat(CONSOLE_MESSAGE_BYTES + 1);
    bob_ws
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": big }))
        .await;
    assert!(
        bob_ws
            .until(WAIT, |p| !errors(p, "run.stdin").is_empty())
            .await
    );
    assert_eq!(errors(&bob_ws, "run.stdin"), ["input_too_large"]);

    bob_ws
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "Bob\n" }))
        .await;
    for peer in [&mut ada_ws, &mut bob_ws, &mut vic_ws] {
        assert!(
            peer.until(WAIT, |p| transcript(p, &run_id)
                == "name? [in:Bob\n]hello Bob\n")
                .await,
            "{:?}",
            transcript(peer, &run_id)
        );
    }
    // A late joiner gets the exchange from the replay.
    let mut late = joined(&app, &slug, &ada).await;
    assert!(
        late.until(WAIT, |p| transcript(p, &run_id)
            .starts_with("name? [in:Bob\n]hello Bob\n"))
            .await
    );

    // Ctrl-D: everyone sees the input closed; the program sees EOF.
    ada_ws
        .send_app(json!({ "type": "run.eof", "runId": run_id }))
        .await;
    for peer in [&mut ada_ws, &mut bob_ws, &mut vic_ws, &mut late] {
        assert!(peer.until(WAIT, |p| p.has_app("run.finished")).await);
        assert_eq!(peer.app_messages("run.eof").len(), 1, "{:?}", peer.apps);
        assert_eq!(
            transcript(peer, &run_id),
            "name? [in:Bob\n]hello Bob\nrest ''\n"
        );
    }
    assert_eq!(ada_ws.app_messages("run.finished")[0]["exitCode"], 0);

    // Input after the run finished is refused; the stored run keeps the exchange.
    bob_ws
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "again\n" }))
        .await;
    assert!(
        bob_ws
            .until(WAIT, |p| errors(p, "run.stdin").len() == 2)
            .await
    );
    let code = errors(&bob_ws, "run.stdin")[1];
    assert!(code == "run_finished" || code == "unknown_run", "{code}");
    // `run.finished` goes out just before the run is stored.
    let mut last = app
        .get(&format!("/api/pads/{slug}/runs/last"), Some(&vic.token))
        .await;
    for _ in 0..50 {
        if last.body["run"]["runId"] == run_id.as_str() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = app
            .get(&format!("/api/pads/{slug}/runs/last"), Some(&vic.token))
            .await;
    }
    assert_eq!(last.body["run"]["runId"], run_id.as_str());
    assert_eq!(
        last.body["run"]["stdout"],
        "name? Bob\nhello Bob\nrest ''\n"
    );
    // After a reload the input still shows as input, where it was typed.
    assert_eq!(
        last.body["run"]["layout"],
        json!([["o", 6], ["i", 4], ["o", 18]])
    );
}

#[tokio::test]
async fn console_input_is_bounded_per_run_and_closed_input_is_refused() {
    let app = spawn().await;
    let ada = app.signup("Ada").await;
    let source = "import sys\nprint('ready', flush=True)\nprint(len(sys.stdin.read()))\n";
    let slug = pad_with(&app, &ada, "count.py", source).await;
    let mut ws = joined(&app, &slug, &ada).await;

    let run_id = start(
        &app,
        &ada,
        &slug,
        json!({ "entry": "count.py", "interactive": true }),
    )
    .await;
    assert!(
        ws.until(WAIT, |p| transcript(p, &run_id) == "ready\n")
            .await,
        "{:?}",
        ws.apps
    );
    let chunk = "y".repeat(CONSOLE_MESSAGE_BYTES);
    let messages = CONSOLE_RUN_BYTES / CONSOLE_MESSAGE_BYTES;
    for _ in 0..messages {
        ws.send_app(json!({ "type": "run.stdin", "runId": run_id, "data": chunk }))
            .await;
    }
    // The run's allowance is used up: one more byte is refused.
    ws.send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "z" }))
        .await;
    assert!(ws.until(WAIT, |p| !errors(p, "run.stdin").is_empty()).await);
    assert_eq!(errors(&ws, "run.stdin"), ["input_limit"]);
    ws.send_app(json!({ "type": "run.eof", "runId": run_id }))
        .await;
    assert!(ws.until(WAIT, |p| p.has_app("run.finished")).await);
    let out = transcript(&ws, &run_id);
    assert!(
        out.ends_with(&format!("]{CONSOLE_RUN_BYTES}\n")),
        "the program read all accepted input: {}",
        &out[out.len() - 20..]
    );
    assert_eq!(out.matches("[in:").count(), messages);

    // A run started without a console reads only its pre-filled stdin and refuses input.
    let slow = pad_with(
        &app,
        &ada,
        "slow.py",
        "import sys, time\nprint(repr(sys.stdin.read()), flush=True)\ntime.sleep(2)\n",
    )
    .await;
    let mut slow_ws = joined(&app, &slow, &ada).await;
    let run_id = start(
        &app,
        &ada,
        &slow,
        json!({ "entry": "slow.py", "stdin": "pre" }),
    )
    .await;
    assert!(
        slow_ws
            .until(WAIT, |p| transcript(p, &run_id) == "'pre'\n")
            .await,
        "{:?}",
        slow_ws.apps
    );
    slow_ws
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "late\n" }))
        .await;
    assert!(
        slow_ws
            .until(WAIT, |p| !errors(p, "run.stdin").is_empty())
            .await
    );
    assert_eq!(errors(&slow_ws, "run.stdin"), ["input_closed"]);
    assert_eq!(slow_ws.app_messages("run.started")[0]["interactive"], false);
}

#[tokio::test]
async fn console_messages_are_rate_limited_per_connection() {
    let app = spawn().await;
    let ada = app.signup("Ada").await;
    let slug = pad_with(&app, &ada, "one.py", "print(1)\n").await;
    let mut ws = joined(&app, &slug, &ada).await;
    let sent = CONSOLE_BURST as usize + 10;
    for _ in 0..sent {
        ws.send_app(json!({ "type": "run.eof", "runId": "no-such-run" }))
            .await;
    }
    assert!(
        ws.until(WAIT, |p| errors(p, "run.eof").len() == sent).await,
        "{:?}",
        ws.apps.len()
    );
    let codes = errors(&ws, "run.eof");
    assert!(
        codes.iter().filter(|c| **c == "rate_limited").count() >= 5,
        "{codes:?}"
    );
    assert!(
        codes
            .iter()
            .all(|c| *c == "rate_limited" || *c == "unknown_run"),
        "{codes:?}"
    );
}
