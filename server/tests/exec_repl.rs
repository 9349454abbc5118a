//! The REPL after a run over the pad socket against the real Docker sandbox (issue 12): a
//! collaborator opens a REPL with the pad's program loaded, everyone sees the prompts, the input
//! and the results; a viewer's input never reaches it; one run or REPL per pad; Stop names who
//! stopped it; the idle timeout and the lifetime close it with their own reason; input limits and
//! languages without a REPL are refused; the session is replayed to late joiners and stored.

mod collab_support;
mod common;
mod exec_support;

use std::time::{Duration, Instant};

use common::{TestApp, TestUser};
use exec_support::{errors, joined, spawn_docker, start, transcript, WAIT};
use opencoder::exec::console::{CONSOLE_MESSAGE_BYTES, CONSOLE_RUN_BYTES};
use serde_json::{json, Value};

const PROGRAM: &str = "def sq(x):\n    return x * x\n\nprint('loaded')\n";

/// Ada's pad with `squares.py` holding [`PROGRAM`].
async fn python_pad(app: &TestApp, ada: &TestUser) -> String {
    app.pad_with_file(ada, "python", "squares.py", PROGRAM)
        .await
}

async fn open_repl(app: &TestApp, user: &TestUser, slug: &str) -> String {
    start(
        app,
        user,
        slug,
        json!({ "repl": true, "entry": "squares.py" }),
    )
    .await
}

fn finished<'a>(peer: &'a collab_support::Peer, run_id: &str) -> Option<&'a Value> {
    peer.app_messages("run.finished")
        .into_iter()
        .find(|m| m["runId"] == run_id)
}

/// The pad's last stored run once it is `run_id` (`run.finished` goes out just before it is stored).
async fn stored(app: &TestApp, user: &TestUser, slug: &str, run_id: &str) -> Value {
    for _ in 0..50 {
        let last = app
            .get(&format!("/api/pads/{slug}/runs/last"), Some(&user.token))
            .await;
        if last.body["run"]["runId"] == run_id {
            return last.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("run {run_id} was never stored");
}

#[tokio::test]
async fn everyone_sees_a_collaborators_repl_and_a_viewers_input_never_reaches_it() {
    let app = spawn_docker(&[]).await;
    let (ada, bob, vic) = (
        app.signup("Ada").await,
        app.signup("Bob").await,
        app.signup("Vic").await,
    );
    let slug = python_pad(&app, &ada).await;
    app.add_member(&ada, &slug, &bob, "collaborator").await;
    app.add_member(&ada, &slug, &vic, "viewer").await;
    let (mut ada_ws, mut bob_ws, mut vic_ws) = (
        joined(&app, &slug, &ada).await,
        joined(&app, &slug, &bob).await,
        joined(&app, &slug, &vic).await,
    );

    // A viewer may not open one.
    let refused = app
        .post(
            &format!("/api/pads/{slug}/runs"),
            Some(&vic.token),
            json!({ "repl": true }),
        )
        .await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);

    let run_id = open_repl(&app, &bob, &slug).await;
    for peer in [&mut ada_ws, &mut bob_ws, &mut vic_ws] {
        assert!(
            peer.until(WAIT, |p| transcript(p, &run_id) == "loaded\n>>> ")
                .await,
            "{:?}",
            transcript(peer, &run_id)
        );
        let started = &peer.app_messages("run.started")[0];
        assert_eq!(
            (started["kind"].as_str(), started["interactive"].as_bool()),
            (Some("repl"), Some(true))
        );
    }

    // One thing at a time on a pad: neither a run nor a second REPL starts beside it.
    for body in [json!({}), json!({ "repl": true })] {
        let busy = app
            .post(&format!("/api/pads/{slug}/runs"), Some(&ada.token), body)
            .await;
        assert_eq!(
            (busy.status.as_u16(), busy.body["error"].as_str()),
            (409, Some("repl_open")),
            "{:?}",
            busy.body
        );
    }

    // The viewer's line is refused; had it reached the REPL, its answer would be in the transcript.
    vic_ws
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "sq(3)\n" }))
        .await;
    assert!(
        vic_ws
            .until(WAIT, |p| !errors(p, "run.stdin").is_empty())
            .await
    );
    assert_eq!(errors(&vic_ws, "run.stdin"), ["forbidden"]);
    bob_ws
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "sq(12)\n" }))
        .await;
    assert!(
        ada_ws
            .until(WAIT, |p| transcript(p, &run_id).ends_with("144\n>>> "))
            .await
    );
    ada_ws
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "total = sq(2) + 1\n" }))
        .await;
    assert!(
        ada_ws
            .until(WAIT, |p| transcript(p, &run_id).matches(">>> ").count()
                == 3)
            .await
    );
    ada_ws
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "total\n" }))
        .await;
    let exchange =
        "loaded\n>>> [in:sq(12)\n]144\n>>> [in:total = sq(2) + 1\n]>>> [in:total\n]5\n>>> ";
    for peer in [&mut ada_ws, &mut bob_ws, &mut vic_ws] {
        assert!(
            peer.until(WAIT, |p| transcript(p, &run_id) == exchange)
                .await,
            "{:?}",
            transcript(peer, &run_id)
        );
    }
    let mut late = joined(&app, &slug, &vic).await;
    assert!(
        late.until(WAIT, |p| transcript(p, &run_id) == exchange)
            .await,
        "the late joiner's replay: {:?}",
        transcript(&late, &run_id)
    );

    // Another member stops it: everyone is told who, and that it was a REPL.
    let stop = app
        .post(
            &format!("/api/pads/{slug}/runs/{run_id}/stop"),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(stop.status, 202, "{:?}", stop.body);
    for peer in [&mut ada_ws, &mut bob_ws, &mut vic_ws, &mut late] {
        assert!(peer.until(WAIT, |p| finished(p, &run_id).is_some()).await);
        let end = finished(peer, &run_id).unwrap();
        assert_eq!(
            (
                end["outcome"].as_str(),
                end["stoppedBy"].as_str(),
                end["kind"].as_str()
            ),
            (Some("stopped"), Some("Ada"), Some("repl"))
        );
    }
    let last = stored(&app, &vic, &slug, &run_id).await;
    assert_eq!(last["run"]["kind"], "repl");
    assert_eq!(
        last["run"]["stdout"],
        "loaded\n>>> sq(12)\n144\n>>> total = sq(2) + 1\n>>> total\n5\n>>> "
    );
    assert_eq!(last["replLimits"]["idleMs"], 300_000, "{last}");
    assert!(last["limits"].get("idleMs").is_none(), "{last}");

    // Input after the end is refused, and a run starts again.
    bob_ws
        .send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "sq(4)\n" }))
        .await;
    assert!(
        bob_ws
            .until(WAIT, |p| !errors(p, "run.stdin").is_empty())
            .await
    );
    let after = start(&app, &ada, &slug, json!({})).await;
    assert!(ada_ws.until(WAIT, |p| finished(p, &after).is_some()).await);
    assert_eq!(finished(&ada_ws, &after).unwrap()["kind"], "run");
}

#[tokio::test]
async fn an_idle_repl_is_closed_and_typing_keeps_it_open() {
    let idle = Duration::from_millis(3_000);
    let app = spawn_docker(&[("REPL_IDLE_MS", "3000")]).await;
    let ada = app.signup("Ada").await;
    let slug = python_pad(&app, &ada).await;
    let mut ws = joined(&app, &slug, &ada).await;
    let run_id = open_repl(&app, &ada, &slug).await;
    assert!(
        ws.until(WAIT, |p| transcript(p, &run_id).ends_with(">>> "))
            .await
    );
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    ws.send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "sq(5)\n" }))
        .await;
    let typed = Instant::now();
    assert!(
        ws.until(WAIT, |p| transcript(p, &run_id).ends_with("25\n>>> "))
            .await
    );
    // Over REPL_IDLE_MS after it opened, but not after the last input: still open.
    ws.drain(Duration::from_millis(1_500)).await;
    assert!(
        finished(&ws, &run_id).is_none(),
        "closed although someone typed {:?} ago",
        typed.elapsed()
    );

    assert!(ws.until(WAIT, |p| finished(p, &run_id).is_some()).await);
    assert!(
        typed.elapsed() >= idle - Duration::from_millis(300),
        "closed {:?} after the last input",
        typed.elapsed()
    );
    let end = finished(&ws, &run_id).unwrap().clone();
    assert_eq!(
        (end["outcome"].as_str(), end["kind"].as_str()),
        (Some("idle"), Some("repl")),
        "{end}"
    );
    assert_eq!(end["limits"]["idleMs"], 3_000);
    assert!(end["stoppedBy"].is_null(), "{end}");
    assert_eq!(
        stored(&app, &ada, &slug, &run_id).await["run"]["outcome"],
        "idle"
    );
}

#[tokio::test]
async fn a_repl_ends_at_its_lifetime_however_busy() {
    let app = spawn_docker(&[("REPL_MAX_MS", "4000")]).await;
    let ada = app.signup("Ada").await;
    let slug = python_pad(&app, &ada).await;
    let mut ws = joined(&app, &slug, &ada).await;
    let opened = Instant::now();
    let run_id = open_repl(&app, &ada, &slug).await;
    assert!(
        ws.until(WAIT, |p| transcript(p, &run_id).ends_with(">>> "))
            .await
    );
    let mut answered = 0;
    while finished(&ws, &run_id).is_none() && opened.elapsed() < WAIT {
        ws.send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "sq(3)\n" }))
            .await;
        ws.drain(Duration::from_millis(500)).await;
        answered = transcript(&ws, &run_id).matches("9\n").count();
    }
    let end = finished(&ws, &run_id)
        .expect("the REPL outlived its lifetime")
        .clone();
    assert!(answered >= 3, "it answered while it lived: {answered}");
    assert!(
        opened.elapsed() >= Duration::from_millis(4_000),
        "ended after {:?}",
        opened.elapsed()
    );
    assert_eq!(
        (end["timedOut"].as_bool(), end["outcome"].as_str()),
        (Some(true), Some("timeout")),
        "{end}"
    );
    assert_eq!(end["limits"]["timeoutMs"], 4_000);
}

#[tokio::test]
async fn repl_input_limits_and_languages_without_a_repl_are_refused() {
    let app = spawn_docker(&[]).await;
    let ada = app.signup("Ada").await;
    let c_pad = app
        .pad_with_file(&ada, "c", "prog.c", "int main(void) { return 0; }\n")
        .await;
    let refused = app
        .post(
            &format!("/api/pads/{c_pad}/runs"),
            Some(&ada.token),
            json!({ "repl": true }),
        )
        .await;
    assert_eq!(
        (refused.status.as_u16(), refused.body["error"].as_str()),
        (400, Some("no_repl")),
        "{:?}",
        refused.body
    );
    let message = refused.body["message"].as_str().unwrap();
    assert!(
        message.contains("Python 3") && message.contains("Ruby"),
        "{message}"
    );

    let slug = python_pad(&app, &ada).await;
    let timed = app
        .post(
            &format!("/api/pads/{slug}/runs"),
            Some(&ada.token),
            json!({ "repl": true, "timeoutMs": 5000 }),
        )
        .await;
    assert_eq!(
        (timed.status.as_u16(), timed.body["error"].as_str()),
        (400, Some("invalid_timeout"))
    );
    let languages = app.get("/api/languages", None).await;
    let repl_of = |id: &str| {
        languages.body["languages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .unwrap()["repl"]
            .clone()
    };
    assert_eq!(
        (
            repl_of("python"),
            repl_of("javascript"),
            repl_of("ruby"),
            repl_of("c")
        ),
        (json!(true), json!(true), json!(true), json!(false))
    );

    let mut ws = joined(&app, &slug, &ada).await;
    let run_id = open_repl(&app, &ada, &slug).await;
    assert!(
        ws.until(WAIT, |p| transcript(p, &run_id).ends_with(">>> "))
            .await
    );
    ws.send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "x".repeat(CONSOLE_MESSAGE_BYTES + 1) })).await;
    assert!(ws.until(WAIT, |p| !errors(p, "run.stdin").is_empty()).await);
    assert_eq!(errors(&ws, "run.stdin"), ["input_too_large"]);
    // Comment lines of exactly one message each use up the session's allowance.
    let line = format!("#{}\n", "y".repeat(CONSOLE_MESSAGE_BYTES - 2));
    let lines = CONSOLE_RUN_BYTES / CONSOLE_MESSAGE_BYTES;
    for _ in 0..lines {
        ws.send_app(json!({ "type": "run.stdin", "runId": run_id, "data": line }))
            .await;
    }
    ws.send_app(json!({ "type": "run.stdin", "runId": run_id, "data": "1\n" }))
        .await;
    assert!(ws.until(WAIT, |p| errors(p, "run.stdin").len() == 2).await);
    assert_eq!(errors(&ws, "run.stdin")[1], "input_limit");
    assert!(
        ws.until(WAIT, |p| transcript(p, &run_id).matches(">>> ").count()
            == lines + 1)
            .await,
        "every accepted line was read"
    );
    // Ctrl-D ends the session like the interpreter's own end of input.
    ws.send_app(json!({ "type": "run.eof", "runId": run_id }))
        .await;
    assert!(ws.until(WAIT, |p| finished(p, &run_id).is_some()).await);
    let end = finished(&ws, &run_id).unwrap();
    assert_eq!(
        (end["exitCode"].as_i64(), end["outcome"].as_str()),
        (Some(0), Some("ok")),
        "{end}"
    );
}
