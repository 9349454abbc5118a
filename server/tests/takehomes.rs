//! Take-homes with test cases (issue 13 §7) over the real HTTP API and pad socket, with real
//! sandbox runs (Docker and the runner image are required, as for `exec_api`): test cases and
//! their limits, the comparison modes, hidden cases kept from candidates, the link's window, the
//! deadline, submission (read-only, graded once).

mod collab_support;
mod common;
mod exec_support;
mod takehome_support;

use std::time::Duration;

use collab_support::{connect, BinaryServer};
use common::{TestApp, TestUser};
use opencoder::interviews::takehomes::{MAX_TIME_LIMIT_MS, MIN_TIME_LIMIT_MS};
use opencoder::interviews::test_cases::{
    MAX_TEST_CASES, MAX_TEST_EXPECTED_BYTES, MAX_TEST_NAME_CHARS, MAX_TEST_STDIN_BYTES,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use takehome_support::{code, graded, now_ms, run_tests, spawn, start, takehome, verdicts, window};

/// Marks what only interviewers may ever see: the hidden case's name, stdin and expected output.
const HIDDEN_NAME: &str = "hidden-secret-case";
const HIDDEN_STDIN: &str = "4100 2345\n";
const HIDDEN_EXPECTED: &str = "  6445  \n\n";
/// Answers on stdin when run, and as `add(a, b)` when a function case's harness loads it.
const SOLUTION: &str = "import sys\n\ndef add(a, b):\n    return a + b\n\nif __name__ == \"__main__\":\n    a, b = map(int, sys.stdin.read().split())\n    print(add(a, b))\n";
/// A hidden function case (`function_tests` covers them in depth): kept from candidates alike.
const HIDDEN_CALL: &str = "hidden-secret-call";

/// One case per comparison mode that the solution passes, one it fails (exact, no final
/// newline), and the hidden one (lines).
fn cases() -> Value {
    json!([
        { "name": "exact", "stdin": "2 3\n", "expected": "5\n", "compare": "exact" },
        { "name": "trimmed", "stdin": "10 20\n", "expected": "30", "compare": "trimmed" },
        { "name": "exact-without-newline", "stdin": "2 2\n", "expected": "4", "compare": "exact" },
        { "name": HIDDEN_NAME, "stdin": HIDDEN_STDIN, "expected": HIDDEN_EXPECTED, "hidden": true, "compare": "lines" },
    ])
}

fn question(tests: Value) -> Value {
    json!({
        "title": "Add two numbers",
        "prompt": "Read two integers, print their sum.",
        "difficulty": "easy",
        "languages": [{ "language": "python", "files": [{ "name": "main.py", "content": "# your code\n" }] }],
        "guidance": "trivial",
        "tests": tests,
    })
}

async fn create_question(app: &TestApp, user: &TestUser) -> i64 {
    let r = app
        .post("/api/questions", Some(&user.token), question(cases()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn test_cases_are_written_by_the_questions_people_within_their_limits() {
    let app = TestApp::spawn().await;
    let (ada, bob, eve) = (
        app.signup("Ada").await,
        app.signup("Bob").await,
        app.signup("Eve").await,
    );
    let id = create_question(&app, &ada).await;
    let r = app
        .get(&format!("/api/questions/{id}"), Some(&ada.token))
        .await;
    let tests = r.body["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 4);
    assert_eq!(tests[3]["hidden"], true);
    assert_eq!(tests[3]["compare"], "lines");
    assert_eq!(tests[1]["compare"], "trimmed");
    // Cases are no secret to be found by a stranger.
    assert_eq!(
        app.get(&format!("/api/questions/{id}"), Some(&eve.token))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A co-editor changes them; a default name and comparison are filled in.
    let shared = app
        .put(
            &format!("/api/questions/{id}/editors/{}", bob.id),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(shared.status, StatusCode::OK, "{:?}", shared.body);
    let r = app
        .put(
            &format!("/api/questions/{id}"),
            Some(&bob.token),
            question(json!([{ "stdin": "1 1\n", "expected": "2\n" }])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["tests"],
        json!([{ "name": "Case 1", "kind": "stdin", "stdin": "1 1\n", "expected": "2\n", "hidden": false, "compare": "trimmed" }])
    );
    let case = |stdin: usize, expected: usize| json!({ "stdin": "1".repeat(stdin), "expected": "2".repeat(expected) });
    // At each limit: accepted. One past: refused, and what was saved stays.
    let at_limits = json!([
        case(MAX_TEST_STDIN_BYTES, MAX_TEST_EXPECTED_BYTES),
        { "name": "n".repeat(MAX_TEST_NAME_CHARS), "expected": "" },
    ]);
    let r = app
        .put(
            &format!("/api/questions/{id}"),
            Some(&bob.token),
            question(at_limits),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let many: Vec<Value> = (0..MAX_TEST_CASES).map(|_| case(1, 1)).collect();
    let r = app
        .put(
            &format!("/api/questions/{id}"),
            Some(&bob.token),
            question(json!(many)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let too_many: Vec<Value> = (0..=MAX_TEST_CASES).map(|_| case(1, 1)).collect();
    let refused: [(Value, StatusCode, &str); 5] = [
        (json!(too_many), StatusCode::BAD_REQUEST, "too_many_tests"),
        (
            json!([case(MAX_TEST_STDIN_BYTES + 1, 1)]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "test_stdin_too_large",
        ),
        (
            json!([case(1, MAX_TEST_EXPECTED_BYTES + 1)]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "test_expected_too_large",
        ),
        (
            json!([{ "name": "n".repeat(MAX_TEST_NAME_CHARS + 1), "expected": "" }]),
            StatusCode::BAD_REQUEST,
            "invalid_test_name",
        ),
        (
            json!([{ "expected": "", "compare": "fuzzy" }]),
            StatusCode::BAD_REQUEST,
            "",
        ),
    ];
    for (tests, status, code) in refused {
        let r = app
            .put(
                &format!("/api/questions/{id}"),
                Some(&bob.token),
                question(tests),
            )
            .await;
        assert_eq!(r.status, status, "{:?}", r.body);
        if !code.is_empty() {
            assert_eq!(r.body["error"], code);
        }
    }
    let r = app
        .get(&format!("/api/questions/{id}"), Some(&ada.token))
        .await;
    assert_eq!(r.body["tests"].as_array().unwrap().len(), MAX_TEST_CASES);
}

#[tokio::test]
async fn each_comparison_mode_is_judged_on_real_runs_and_hidden_cases_stay_with_interviewers() {
    let app = spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let mut tests = cases();
    tests.as_array_mut().unwrap().push(json!({
        "name": HIDDEN_CALL, "kind": "function", "args": "[7301, 8402]", "expected": "15703", "hidden": true,
    }));
    let mut body = question(tests);
    body["signature"] = json!({ "function": "add", "params": ["a", "b"] });
    let r = app.post("/api/questions", Some(&ada.token), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let token = takehome(&app, &ada, id, window(MAX_TIME_LIMIT_MS)).await;
    let (slug, file) = start(&app, &cam, &token).await;
    let mut watcher = connect(&app.base, &slug, &cam.token).await;
    watcher.synced().await;
    code(&app, &cam, &slug, file, SOLUTION).await;

    // The candidate sees and runs the visible cases only.
    let listed = app
        .get(&format!("/api/pads/{slug}/tests"), Some(&cam.token))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    assert_eq!(listed.body["tests"].as_array().unwrap().len(), 3);
    let refused = run_tests(&app, &cam, &slug, true).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    let r = run_tests(&app, &cam, &slug, false).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        verdicts(&r.body["results"]),
        vec![
            ("exact".to_string(), true),
            ("trimmed".to_string(), true),
            ("exact-without-newline".to_string(), false),
        ]
    );
    assert_eq!(r.body["results"][0]["actual"], "5\n");
    assert_eq!(r.body["results"][0]["outcome"], "ok");

    // The interviewer runs every case; the hidden one passes on `lines` (spaces, blank lines).
    let all = run_tests(&app, &ada, &slug, true).await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.body);
    assert_eq!(
        verdicts(&all.body["results"])[3],
        (HIDDEN_NAME.to_string(), true)
    );
    assert_eq!(all.body["results"][3]["actual"], "6445\n");
    assert_eq!(
        verdicts(&all.body["results"])[4],
        (HIDDEN_CALL.to_string(), true)
    );
    assert_eq!(all.body["results"][4]["returned"], "15703");
    assert_eq!(
        (all.body["passed"].as_u64(), all.body["total"].as_u64()),
        (Some(4), Some(5))
    );

    // Nothing the candidate can reach mentions the hidden cases: REST, the socket, the document,
    // a fork.
    assert!(
        watcher
            .until(Duration::from_secs(10), |p| p
                .app_messages("tests.finished")
                .len()
                >= 2)
            .await
    );
    assert!(watcher
        .app_messages("tests.finished")
        .iter()
        .all(|m| m["userId"].is_i64() && m["results"].as_array().unwrap().len() == 3));
    let mut seen = serde_json::to_string(&watcher.apps).unwrap();
    seen.push_str(&watcher.text(&file.to_string()));
    for path in ["tests", "interview", "takehome", "files"] {
        let r = app
            .get(&format!("/api/pads/{slug}/{path}"), Some(&cam.token))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {:?}", r.body);
        seen.push_str(&r.body.to_string());
    }
    // The recording's export is not the candidate's to take.
    let recordings = app
        .get(&format!("/api/pads/{slug}/recordings"), Some(&ada.token))
        .await;
    let recording = recordings.body["recordings"][0]["id"].as_i64().unwrap();
    for path in [
        "recordings".to_string(),
        format!("recordings/{recording}/export"),
    ] {
        let r = app
            .get(&format!("/api/pads/{slug}/{path}"), Some(&cam.token))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {:?}", r.body);
        seen.push_str(&r.body.to_string());
    }
    let fork = app
        .post(
            &format!("/api/pads/{slug}/fork"),
            Some(&cam.token),
            json!({}),
        )
        .await;
    seen.push_str(&fork.body.to_string());
    if fork.status == StatusCode::CREATED {
        let forked = fork.body["pad"]["slug"].as_str().unwrap();
        let r = app
            .get(&format!("/api/pads/{forked}/tests"), Some(&cam.token))
            .await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "a fork carries no test cases"
        );
    }
    for secret in [
        HIDDEN_NAME,
        "4100",
        "2345",
        "6445",
        HIDDEN_CALL,
        "7301",
        "8402",
        "15703",
    ] {
        assert!(
            !seen.contains(secret),
            "{secret} reached the candidate: {seen}"
        );
    }
}

#[tokio::test]
async fn a_link_opens_and_closes_on_time_and_is_started_once() {
    let app = TestApp::spawn().await;
    let (ada, cam, dan) = (
        app.signup("Ada").await,
        app.signup("Cam").await,
        app.signup("Dan").await,
    );
    let id = create_question(&app, &ada).await;
    let create = |body: Value| {
        let app = &app;
        let ada = &ada;
        async move {
            app.post(
                &format!("/api/questions/{id}/takehomes"),
                Some(&ada.token),
                body,
            )
            .await
        }
    };
    let now = now_ms();
    let refused = [
        (
            json!({ "closesAtMs": now + 60_000, "timeLimitMs": MIN_TIME_LIMIT_MS - 1 }),
            "invalid_time_limit",
        ),
        (
            json!({ "closesAtMs": now + 60_000, "timeLimitMs": MAX_TIME_LIMIT_MS + 1 }),
            "invalid_time_limit",
        ),
        (
            json!({ "closesAtMs": now - 1, "timeLimitMs": 60_000 }),
            "invalid_window",
        ),
        (
            json!({ "opensAtMs": now, "closesAtMs": now + 91 * 24 * 3_600_000, "timeLimitMs": 60_000 }),
            "invalid_window",
        ),
        (
            json!({ "closesAtMs": now + 60_000, "timeLimitMs": 60_000, "languages": ["go"] }),
            "invalid_language",
        ),
    ];
    for (body, code) in refused {
        let r = create(body).await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code))
        );
    }
    // A stranger to the question cannot make one.
    let r = app
        .post(
            &format!("/api/questions/{id}/takehomes"),
            Some(&dan.token),
            window(60_000),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Before the window: not open yet.
    let later = takehome(
        &app,
        &ada,
        id,
        json!({ "opensAtMs": now + 3_600_000, "closesAtMs": now + 7_200_000, "timeLimitMs": 60_000 }),
    )
    .await;
    let r = app
        .get(&format!("/api/takehome-links/{later}"), Some(&cam.token))
        .await;
    assert_eq!(r.body["status"], "not_open", "{:?}", r.body);
    assert!(r.body.get("prompt").is_none(), "no prompt before Start");
    let r = app
        .post(
            &format!("/api/takehome-links/{later}/start"),
            Some(&cam.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::CONFLICT, Some("takehome_not_open"))
    );

    // After the window: closed.
    let brief = takehome(
        &app,
        &ada,
        id,
        json!({ "closesAtMs": now_ms() + 1_000, "timeLimitMs": 60_000 }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let r = app
        .post(
            &format!("/api/takehome-links/{brief}/start"),
            Some(&cam.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::GONE, Some("takehome_closed"))
    );

    // Open: the creator may not take it; the first candidate does, once; nobody else after.
    let open = takehome(&app, &ada, id, window(60_000)).await;
    let r = app
        .post(
            &format!("/api/takehome-links/{open}/start"),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("own_takehome"))
    );
    let (slug, _) = start(&app, &cam, &open).await;
    let again = app
        .post(
            &format!("/api/takehome-links/{open}/start"),
            Some(&cam.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (again.status, again.body["slug"].as_str()),
        (StatusCode::CREATED, Some(slug.as_str()))
    );
    let r = app
        .post(
            &format!("/api/takehome-links/{open}/start"),
            Some(&dan.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::GONE, Some("takehome_used"))
    );
    assert_eq!(
        app.get(&format!("/api/pads/{slug}"), Some(&dan.token))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "the candidate works alone"
    );
    // An unknown or malformed token looks the same: 404.
    for token in ["x".repeat(32), "short".to_string()] {
        let r = app
            .get(&format!("/api/takehome-links/{token}"), Some(&cam.token))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    // The candidate is the pad's candidate, admitted, with the countdown; the creator owns it.
    let pad = app
        .get(&format!("/api/pads/{slug}"), Some(&cam.token))
        .await;
    assert_eq!(pad.body["myRole"], "candidate", "{:?}", pad.body);
    let interview = app
        .get(&format!("/api/pads/{slug}/interview"), Some(&cam.token))
        .await;
    assert_eq!(interview.body["timer"]["durationMs"], 60_000);
    assert!(interview.body.get("guidance").is_none());
    let recordings = app
        .get(&format!("/api/pads/{slug}/recordings"), Some(&ada.token))
        .await;
    assert_eq!(recordings.status, StatusCode::OK, "{:?}", recordings.body);
    assert_eq!(recordings.body["autoRecord"], true);
    assert_eq!(recordings.body["recordings"].as_array().unwrap().len(), 1);
    assert_eq!(app.audit_rows("takehome.create").await.len(), 3);
    assert_eq!(app.audit_rows("takehome.start").await.len(), 1);
}

#[tokio::test]
async fn a_submission_locks_the_pad_and_is_graded_once_with_every_case() {
    let app = spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let id = create_question(&app, &ada).await;
    let token = takehome(&app, &ada, id, window(MAX_TIME_LIMIT_MS)).await;
    let (slug, file) = start(&app, &cam, &token).await;
    code(&app, &cam, &slug, file, SOLUTION).await;

    // Only the candidate submits; two submissions at once: one wins.
    let r = app
        .post(
            &format!("/api/pads/{slug}/takehome/submit"),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let path = format!("/api/pads/{slug}/takehome/submit");
    let (a, b) = tokio::join!(
        app.post(&path, Some(&cam.token), json!({})),
        app.post(&path, Some(&cam.token), json!({}))
    );
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 409], "{:?} {:?}", a.body, b.body);
    assert_eq!(app.audit_rows("takehome.submit").await.len(), 1);

    // Read-only for the candidate: socket edits, REST writes, runs and test runs are refused.
    let mut peer = connect(&app.base, &slug, &cam.token).await;
    peer.synced().await;
    peer.insert(&file.to_string(), 0, "# after the end\n").await;
    assert!(
        peer.until(Duration::from_secs(5), |p| p.permission_denied >= 1
            || p.has_error("interview_ended"))
            .await,
        "{:?}",
        peer.apps
    );
    let r = app
        .post(
            &format!("/api/pads/{slug}/files"),
            Some(&cam.token),
            json!({ "name": "b.py" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("interview_ended"))
    );
    let content = app
        .get(&format!("/api/pads/{slug}/files/{file}"), Some(&ada.token))
        .await;
    assert!(
        !content.body["content"]
            .as_str()
            .unwrap()
            .contains("after the end"),
        "{:?}",
        content.body
    );
    let r = run_tests(&app, &cam, &slug, false).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("interview_ended"))
    );
    let r = app
        .post(
            &format!("/api/takehome-links/{token}/start"),
            Some(&cam.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::GONE, Some("takehome_submitted"))
    );

    // Graded once: every case, hidden included, for interviewers; the candidate sees no grading.
    let body = graded(&app, &ada, &slug).await;
    assert_eq!(body["submittedBy"], "candidate");
    let grading = &body["grading"];
    assert_eq!(
        verdicts(&grading["results"]),
        vec![
            ("exact".to_string(), true),
            ("trimmed".to_string(), true),
            ("exact-without-newline".to_string(), false),
            (HIDDEN_NAME.to_string(), true),
        ]
    );
    assert_eq!(
        (grading["passed"].as_u64(), grading["total"].as_u64()),
        (Some(3), Some(4))
    );
    assert!(grading["timeTakenMs"].as_i64().unwrap() >= 0);
    let mine = app
        .get(&format!("/api/pads/{slug}/takehome"), Some(&cam.token))
        .await;
    assert!(mine.body.get("grading").is_none(), "{:?}", mine.body);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM takehome_results")
        .fetch_one(app.sql())
        .await
        .unwrap();
    assert_eq!(rows, 4);
    // The summary shows the graded result and the recording to play back.
    let summary = app
        .get(
            &format!("/api/pads/{slug}/interview/summary"),
            Some(&ada.token),
        )
        .await;
    assert_eq!(summary.body["takehome"]["passed"], 3, "{:?}", summary.body);
    assert!(!summary.body["recordings"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_deadline_submits_and_grades_by_itself() {
    let app = spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let id = create_question(&app, &ada).await;
    let token = takehome(&app, &ada, id, window(MIN_TIME_LIMIT_MS)).await;
    let (slug, file) = start(&app, &cam, &token).await;
    code(&app, &cam, &slug, file, SOLUTION).await;
    let body = graded(&app, &ada, &slug).await;
    assert_eq!(body["submittedBy"], "deadline");
    let taken = body["grading"]["timeTakenMs"].as_i64().unwrap();
    assert!(taken >= MIN_TIME_LIMIT_MS, "{taken}");
    assert_eq!(body["grading"]["passed"], 3);
    let r = app
        .post(
            &format!("/api/pads/{slug}/takehome/submit"),
            Some(&cam.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::CONFLICT, Some("takehome_submitted"))
    );
    assert_eq!(app.audit_rows("takehome.submit").await.len(), 1);
}

/// Every test-case and take-home endpoint × {anonymous, non-member, viewer, candidate,
/// collaborator, owner} on a take-home pad (its creator the owner, its candidate started it).
/// Each cell gets a fresh take-home; the question has no cases, so runs need no sandbox.
#[tokio::test]
async fn every_takehome_endpoint_answers_each_role() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Owner").await;
    let viewer = app.signup("Viewer").await;
    let candidate = app.signup("Candidate").await;
    let collaborator = app.signup("Collaborator").await;
    let outsider = app.signup("Outsider").await;
    let callers: [Option<&TestUser>; 6] = [
        None,
        Some(&outsider),
        Some(&viewer),
        Some(&candidate),
        Some(&collaborator),
        Some(&owner),
    ];
    let member = [401, 404, 200, 200, 200, 200];
    let questions_people = [401, 404, 404, 404, 404, 200];
    let rows: Vec<(reqwest::Method, &str, Value, [u16; 6])> = vec![
        (
            reqwest::Method::GET,
            "/api/pads/{slug}/tests",
            json!(null),
            member,
        ),
        (
            reqwest::Method::POST,
            "/api/pads/{slug}/tests/run",
            json!({ "hidden": false }),
            [401, 404, 403, 200, 200, 200],
        ),
        (
            reqwest::Method::POST,
            "/api/pads/{slug}/tests/run",
            json!({ "hidden": true }),
            [401, 404, 403, 403, 200, 200],
        ),
        (
            reqwest::Method::GET,
            "/api/pads/{slug}/takehome",
            json!(null),
            member,
        ),
        (
            reqwest::Method::POST,
            "/api/pads/{slug}/takehome/submit",
            json!(null),
            [401, 404, 403, 200, 403, 403],
        ),
        (
            reqwest::Method::GET,
            "/api/questions/{question}/takehomes",
            json!(null),
            questions_people,
        ),
        (
            reqwest::Method::POST,
            "/api/questions/{question}/takehomes",
            window(60_000),
            [401, 404, 404, 404, 404, 201],
        ),
        // The link is the capability: anyone signed in may look; once started it is the
        // candidate's alone.
        (
            reqwest::Method::GET,
            "/api/takehome-links/{token}",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        (
            reqwest::Method::POST,
            "/api/takehome-links/{token}/start",
            json!({}),
            [401, 410, 410, 201, 410, 410],
        ),
    ];
    let mut failures = Vec::new();
    for (method, template, body, expected) in &rows {
        for (caller, want) in callers.iter().zip(expected) {
            let r = app
                .post("/api/questions", Some(&owner.token), question(json!([])))
                .await;
            let question_id = r.body["id"].as_i64().unwrap();
            let token = takehome(&app, &owner, question_id, window(60_000)).await;
            let (slug, _) = start(&app, &candidate, &token).await;
            app.add_member(&owner, &slug, &viewer, "viewer").await;
            app.add_member(&owner, &slug, &collaborator, "collaborator")
                .await;
            let path = template
                .replace("{slug}", &slug)
                .replace("{question}", &question_id.to_string())
                .replace("{token}", &token);
            let body = (!body.is_null()).then(|| body.clone());
            let r = app
                .request(
                    method.clone(),
                    &path,
                    caller.map(|u| u.token.as_str()),
                    body,
                )
                .await;
            if r.status.as_u16() != *want {
                failures.push(format!(
                    "{method} {template} as {:?}: expected {want}, got {} {:?}",
                    caller.map(|u| &u.name),
                    r.status,
                    r.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The matrix above must cover every route of the `takehomes` tag.
#[tokio::test]
async fn the_matrix_covers_every_published_takehome_route() {
    let app = TestApp::spawn().await;
    let spec = app.get("/api/openapi.json", None).await;
    let mut published: Vec<String> = Vec::new();
    for (path, item) in spec.body["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tags = op["tags"].as_array().cloned().unwrap_or_default();
            if tags.iter().any(|t| t == "takehomes") {
                published.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    published.sort();
    assert_eq!(
        published,
        vec![
            "GET /api/pads/{slug}/takehome",
            "GET /api/pads/{slug}/tests",
            "GET /api/questions/{id}/takehomes",
            "GET /api/takehome-links/{token}",
            "POST /api/pads/{slug}/takehome/submit",
            "POST /api/pads/{slug}/tests/run",
            "POST /api/questions/{id}/takehomes",
            "POST /api/takehome-links/{token}/start",
        ]
    );
}

/// The deadline is a column, not a timer in memory: a server killed before it and started again
/// after it submits and grades the attempt on its first sweep. (And the link's token stays out of
/// the request log.)
#[tokio::test]
async fn a_deadline_that_passed_while_the_server_was_down_is_kept_when_it_is_back() {
    oc_sandbox::testing::hold_shared_docker_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut server = BinaryServer::start(dir.path()).await;
    let http = server.http();
    let (_, ada) = http.signup("Ada").await;
    let (_, cam) = http.signup("Cam").await;
    let (status, created) = http
        .call(
            reqwest::Method::POST,
            "/api/questions",
            Some(&ada),
            Some(question(cases())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (status, made) = http
        .call(
            reqwest::Method::POST,
            &format!("/api/questions/{id}/takehomes"),
            Some(&ada),
            Some(window(MIN_TIME_LIMIT_MS)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let token = made["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let (status, attempt) = http
        .call(
            reqwest::Method::POST,
            &format!("/api/takehome-links/{token}/start"),
            Some(&cam),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{attempt}");
    let slug = attempt["slug"].as_str().unwrap().to_string();
    let deadline = attempt["deadlineMs"].as_i64().unwrap();
    // The link's token is a capability: the request log names its routes, never the token.
    http.client
        .get(format!("{}/take-home/{token}", server.base))
        .send()
        .await
        .unwrap();
    let mut log = String::new();
    for _ in 0..100 {
        log = server.log_text();
        if log.contains("/api/takehome-links/[redacted]/start")
            && log.contains("/take-home/[redacted]")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        log.contains("/api/takehome-links/[redacted]/start"),
        "{log}"
    );
    assert!(log.contains("/take-home/[redacted]"), "{log}");
    assert!(!log.contains(&token), "the token reached the log");

    server.kill9();
    tokio::time::sleep(Duration::from_millis(MIN_TIME_LIMIT_MS as u64 + 1_000)).await;
    let server = BinaryServer::start(dir.path()).await;
    let http = server.http();
    for _ in 0..300 {
        let (status, body) = http
            .call(
                reqwest::Method::GET,
                &format!("/api/pads/{slug}/takehome"),
                Some(&ada),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["gradedAtMs"].is_i64() {
            assert_eq!(body["submittedBy"], "deadline");
            assert!(body["submittedAtMs"].as_i64().unwrap() >= deadline);
            assert_eq!(body["grading"]["total"], 4, "{body}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not graded after the restart; log:\n{}", server.log_text());
}

/// A submission with nothing to run is graded (every case fails, saying why) rather than retried
/// forever.
#[tokio::test]
async fn an_attempt_with_nothing_to_run_is_graded_as_failing() {
    let app = TestApp::spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let id = create_question(&app, &ada).await;
    let token = takehome(&app, &ada, id, window(MAX_TIME_LIMIT_MS)).await;
    let (slug, file) = start(&app, &cam, &token).await;
    let r = app
        .patch(
            &format!("/api/pads/{slug}/files/{file}"),
            Some(&cam.token),
            json!({ "name": "notes.txt" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app
        .post(
            &format!("/api/pads/{slug}/takehome/submit"),
            Some(&cam.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let body = graded(&app, &ada, &slug).await;
    let results = body["grading"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert!(
        results
            .iter()
            .all(|r| r["passed"] == false && r["outcome"] == "no_entry"),
        "{results:?}"
    );
}
