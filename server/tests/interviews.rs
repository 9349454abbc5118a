//! Interviews, part 1 (issue 13 §1–§2) over the real HTTP API and pad socket: the question bank
//! and its limits, "Start interview", the waiting room, and the interviewer's switches — each
//! tried from a candidate's socket or request that attempts to get past it.

mod collab_support;
mod common;
mod redis_support;

use std::time::Duration;

use collab_support::connect;
use common::{TestApp, TestUser};
use futures_util::StreamExt;
use opencoder::interviews::questions::{
    MAX_EDITORS_PER_QUESTION, MAX_GUIDANCE_BYTES, MAX_PROMPT_BYTES, MAX_QUESTIONS_PER_USER,
    MAX_STARTER_FILES, MAX_STARTER_FILE_BYTES, MAX_TAGS, MAX_TAG_CHARS,
};
use opencoder::interviews::scorecards::{
    MAX_CRITERIA, MAX_LABEL_CHARS, MAX_LEVEL_CHARS, MAX_NOTES_BYTES, MAX_SECTIONS, RATING_LEVELS,
};
use opencoder::interviews::switches::{MAX_COUNTDOWN_MS, MIN_COUNTDOWN_MS};
use redis_support::RedisServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const GUIDANCE: &str = "SECRET-GUIDANCE: a hash map gives O(n)";
const PROMPT: &str = "Return the indices of the **two** numbers that add up to the target.";

fn question(title: &str) -> Value {
    json!({
        "title": title,
        "prompt": PROMPT,
        "difficulty": "easy",
        "tags": ["arrays", "hash-map"],
        "languages": [
            { "language": "python", "files": [{ "name": "solution.py", "content": "def two_sum(xs, t):\n    pass\n" }] },
            { "language": "go", "files": [] },
        ],
        "guidance": GUIDANCE,
    })
}

async fn create_question(app: &TestApp, user: &TestUser, body: Value) -> i64 {
    let r = app.post("/api/questions", Some(&user.token), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_i64().unwrap()
}

/// An interview started by `owner` from a fresh question; returns (slug, file id, question id).
async fn interview(app: &TestApp, owner: &TestUser) -> (String, i64, i64) {
    let id = create_question(app, owner, question("Two sum")).await;
    let r = app
        .post(
            &format!("/api/questions/{id}/interviews"),
            Some(&owner.token),
            json!({ "language": "python" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let slug = r.body["pad"]["slug"].as_str().unwrap().to_string();
    (slug, r.body["files"][0]["id"].as_i64().unwrap(), id)
}

/// `candidate` joins through an invite, knocks and is let in by `owner`.
async fn admit(app: &TestApp, owner: &TestUser, slug: &str, candidate: &TestUser) {
    app.add_member(owner, slug, candidate, "candidate").await;
    let knocked = app
        .post(
            &format!("/api/pads/{slug}/interview/knock"),
            Some(&candidate.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (knocked.status, knocked.body["status"].as_str()),
        (StatusCode::OK, Some("waiting"))
    );
    let r = app
        .post(
            &format!("/api/pads/{slug}/interview/admissions/{}", candidate.id),
            Some(&owner.token),
            json!({ "admit": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

async fn switch(app: &TestApp, owner: &TestUser, slug: &str, body: Value) -> Value {
    let r = app
        .patch(
            &format!("/api/pads/{slug}/interview"),
            Some(&owner.token),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

async fn file_text(app: &TestApp, user: &TestUser, slug: &str, file: i64) -> String {
    let r = app
        .get(&format!("/api/pads/{slug}/files/{file}"), Some(&user.token))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["content"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn questions_are_created_read_changed_and_deleted_by_their_people_only() {
    let app = TestApp::spawn().await;
    let (ada, bob, eve) = (
        app.signup("Ada").await,
        app.signup("Bob").await,
        app.signup("Eve").await,
    );
    let id = create_question(&app, &ada, question("Two sum")).await;
    let got = app
        .get(&format!("/api/questions/{id}"), Some(&ada.token))
        .await;
    assert_eq!(got.body["guidance"], GUIDANCE);
    assert_eq!(got.body["tags"], json!(["arrays", "hash-map"]));
    assert_eq!(got.body["languages"][0]["files"][0]["name"], "solution.py");
    // A language given without files gets its own starter file.
    assert_eq!(got.body["languages"][1]["language"], "go");
    assert_eq!(got.body["languages"][1]["files"][0]["name"], "main.go");
    assert_eq!(got.body["mine"], true);

    // A stranger learns nothing: every route answers like a missing question.
    let q = format!("/api/questions/{id}");
    for r in [
        app.get(&q, Some(&eve.token)).await,
        app.put(&q, Some(&eve.token), question("Mine now")).await,
        app.delete(&q, Some(&eve.token)).await,
        app.post(&format!("{q}/interviews"), Some(&eve.token), json!({}))
            .await,
        app.put(
            &format!("{q}/editors/{}", eve.id),
            Some(&eve.token),
            json!({}),
        )
        .await,
        app.get("/api/questions/99999", Some(&ada.token)).await,
        app.get("/api/questions/not-a-number", Some(&ada.token))
            .await,
    ] {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    }
    assert_eq!(app.get(&q, None).await.status, StatusCode::UNAUTHORIZED);
    assert!(
        app.get("/api/questions", Some(&eve.token)).await.body["questions"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A co-editor reads, changes and starts interviews; deleting and sharing stay the owner's.
    let shared = app
        .put(
            &format!("{q}/editors/{}", bob.id),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(shared.status, StatusCode::OK, "{:?}", shared.body);
    assert_eq!(shared.body["editors"][0]["name"], "Bob");
    assert_eq!(app.get(&q, Some(&bob.token)).await.body["mine"], false);
    let changed = app
        .put(&q, Some(&bob.token), question("Two sum, revised"))
        .await;
    assert_eq!(
        (changed.status, changed.body["title"].as_str()),
        (StatusCode::OK, Some("Two sum, revised"))
    );
    assert_eq!(
        app.post(&format!("{q}/interviews"), Some(&bob.token), json!({}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.delete(&q, Some(&bob.token)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.put(
            &format!("{q}/editors/{}", eve.id),
            Some(&bob.token),
            json!({})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&format!("{q}/editors/{}", bob.id), Some(&bob.token))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&q, Some(&bob.token)).await.status,
        StatusCode::NOT_FOUND,
        "no longer a co-editor"
    );
    assert_eq!(
        app.put(&format!("{q}/editors/999999"), Some(&ada.token), json!({}))
            .await
            .body["error"],
        "unknown_user"
    );

    assert_eq!(
        app.delete(&q, Some(&ada.token)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&q, Some(&ada.token)).await.status,
        StatusCode::NOT_FOUND
    );
    for action in [
        "question.create",
        "question.update",
        "question.share",
        "question.unshare",
        "question.delete",
        "interview.start",
    ] {
        assert!(
            !app.audit_rows(action).await.is_empty(),
            "{action} is audited"
        );
    }
}

#[tokio::test]
async fn every_question_limit_is_enforced() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let post = |body: Value| {
        let app = &app;
        let token = ada.token.clone();
        async move { app.post("/api/questions", Some(&token), body).await }
    };
    let with = |key: &str, value: Value| {
        let mut body = question("Limits");
        body[key] = value;
        body
    };
    let refused: [(Value, u16, &str); 11] = [
        (with("title", json!("t".repeat(121))), 400, "invalid_title"),
        (
            with("prompt", json!("p".repeat(MAX_PROMPT_BYTES + 1))),
            413,
            "prompt_too_large",
        ),
        (
            with("guidance", json!("g".repeat(MAX_GUIDANCE_BYTES + 1))),
            413,
            "guidance_too_large",
        ),
        (
            with(
                "tags",
                json!((0..=MAX_TAGS).map(|i| format!("t{i}")).collect::<Vec<_>>()),
            ),
            400,
            "invalid_tags",
        ),
        (
            with("tags", json!(["x".repeat(MAX_TAG_CHARS + 1)])),
            400,
            "invalid_tags",
        ),
        (
            with(
                "languages",
                json!([{ "language": "python", "files": (0..=MAX_STARTER_FILES).map(|i| json!({ "name": format!("f{i}.py") })).collect::<Vec<_>>() }]),
            ),
            400,
            "too_many_starter_files",
        ),
        (
            with(
                "languages",
                json!([{ "language": "python", "files": [{ "name": "a.py", "content": "x".repeat(MAX_STARTER_FILE_BYTES + 1) }] }]),
            ),
            413,
            "starter_too_large",
        ),
        (with("languages", json!([])), 400, "invalid_languages"),
        (
            with("languages", json!([{ "language": "cobol-ish" }])),
            400,
            "invalid_language",
        ),
        (
            with("difficulty", json!("brutal")),
            400,
            "invalid_difficulty",
        ),
        (
            with(
                "languages",
                json!([{ "language": "python", "files": [{ "name": "../up.py" }] }]),
            ),
            400,
            "invalid_file_name",
        ),
    ];
    for (body, status, code) in refused {
        let r = post(body).await;
        assert_eq!(
            (r.status.as_u16(), r.body["error"].as_str()),
            (status, Some(code)),
            "{:?}",
            r.body
        );
    }
    // Exactly at each limit is fine.
    let at_limits = json!({
        "title": "t".repeat(120),
        "prompt": "p".repeat(MAX_PROMPT_BYTES),
        "difficulty": "hard",
        "tags": (0..MAX_TAGS).map(|i| format!("t{i}")).collect::<Vec<_>>(),
        "languages": [{ "language": "python", "files": (0..MAX_STARTER_FILES).map(|i| json!({ "name": format!("f{i}.py"), "content": if i == 0 { "x".repeat(MAX_STARTER_FILE_BYTES) } else { String::new() } })).collect::<Vec<_>>() }],
        "guidance": "g".repeat(MAX_GUIDANCE_BYTES),
    });
    let r = post(at_limits).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body["error"]);
    assert!(
        app.get("/api/questions", Some(&ada.token)).await.body["questions"]
            .as_array()
            .unwrap()
            .len()
            == 1
    );

    // Questions per user: fill up to one below the limit directly, then the API takes the last.
    for i in 1..MAX_QUESTIONS_PER_USER - 1 {
        sqlx::query("INSERT INTO questions (owner_id, title, prompt, difficulty, guidance, created_at, updated_at) VALUES (?, ?, '', 'easy', '', 'x', 'x')")
            .bind(ada.id)
            .bind(format!("q{i}"))
            .execute(app.sql())
            .await
            .unwrap();
    }
    assert_eq!(post(question("Last")).await.status, StatusCode::CREATED);
    let over = post(question("One too many")).await;
    assert_eq!(
        (over.status, over.body["error"].as_str()),
        (StatusCode::CONFLICT, Some("too_many_questions"))
    );

    // Co-editors per question.
    let id = r.body["id"].as_i64().unwrap();
    for i in 0..MAX_EDITORS_PER_QUESTION {
        let editor = app.signup(&format!("Editor {i}")).await;
        let r = app
            .put(
                &format!("/api/questions/{id}/editors/{}", editor.id),
                Some(&ada.token),
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let one_more = app.signup("One more").await;
    let r = app
        .put(
            &format!("/api/questions/{id}/editors/{}", one_more.id),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::CONFLICT, Some("too_many_editors"))
    );

    // List page size and search text.
    assert_eq!(
        app.get("/api/questions?limit=101", Some(&ada.token))
            .await
            .body["error"],
        "invalid_limit"
    );
    assert_eq!(
        app.get("/api/questions?limit=0", Some(&ada.token))
            .await
            .body["error"],
        "invalid_limit"
    );
    let long = "q".repeat(101);
    assert_eq!(
        app.get(&format!("/api/questions?q={long}"), Some(&ada.token))
            .await
            .body["error"],
        "invalid_search"
    );
}

#[tokio::test]
async fn the_bank_is_searched_filtered_and_paged() {
    let app = TestApp::spawn().await;
    let (ada, bob) = (app.signup("Ada").await, app.signup("Bob").await);
    let mut graph = question("Graph walk");
    graph["tags"] = json!(["graphs"]);
    graph["difficulty"] = json!("hard");
    graph["prompt"] = json!("Walk the graph breadth_first; 100% of nodes.");
    graph["languages"] = json!([{ "language": "go" }]);
    let graph = create_question(&app, &ada, graph).await;
    let sum = create_question(&app, &ada, question("Two sum")).await;
    let bobs = create_question(&app, &bob, question("Bob's own")).await;
    app.put(
        &format!("/api/questions/{bobs}/editors/{}", ada.id),
        Some(&bob.token),
        json!({}),
    )
    .await;
    let ids = |r: &common::Resp| -> Vec<i64> {
        r.body["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["id"].as_i64().unwrap())
            .collect()
    };
    let list = |query: &str| {
        let app = &app;
        let token = ada.token.clone();
        let path = format!("/api/questions{query}");
        async move { app.get(&path, Some(&token)).await }
    };
    assert_eq!(
        ids(&list("").await),
        vec![bobs, sum, graph],
        "own and shared, newest first"
    );
    assert_eq!(ids(&list("?tag=GRAPHS").await), vec![graph]);
    assert_eq!(ids(&list("?language=golang").await), vec![bobs, sum, graph]);
    assert_eq!(ids(&list("?language=python").await), vec![bobs, sum]);
    assert_eq!(ids(&list("?difficulty=hard").await), vec![graph]);
    assert_eq!(
        ids(&list("?q=BREADTH_first").await),
        vec![graph],
        "text in the prompt, any case"
    );
    assert_eq!(
        ids(&list("?q=100%25").await),
        vec![graph],
        "% matches itself"
    );
    assert_eq!(ids(&list("?q=_").await), vec![graph], "_ matches itself");
    assert_eq!(
        ids(&list("?q=two&difficulty=easy&tag=arrays").await),
        vec![bobs, sum]
    );
    assert_eq!(
        list("?language=klingon").await.status,
        StatusCode::BAD_REQUEST
    );
    let first = list("?limit=2").await;
    assert_eq!(ids(&first), vec![bobs, sum]);
    let next = first.body["nextBefore"].as_i64().unwrap();
    let second = list(&format!("?limit=2&before={next}")).await;
    assert_eq!(ids(&second), vec![graph]);
    assert!(second.body.get("nextBefore").is_none());
    let summary = &list("?tag=graphs").await.body["questions"][0];
    assert_eq!(
        (
            summary["languages"].clone(),
            summary["owner"]["name"].clone()
        ),
        (json!(["go"]), json!("Ada"))
    );
    assert!(summary.get("guidance").is_none() && summary.get("prompt").is_none());
}

#[tokio::test]
async fn start_interview_makes_an_interview_pad_from_the_question() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let id = create_question(&app, &ada, question("Two sum")).await;
    let r = app
        .post(
            &format!("/api/questions/{id}/interviews"),
            Some(&ada.token),
            json!({ "language": "golang", "title": "Interview: Bo" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        (
            r.body["pad"]["kind"].as_str(),
            r.body["pad"]["language"].as_str()
        ),
        (Some("interview"), Some("go"))
    );
    assert_eq!(r.body["pad"]["title"], "Interview: Bo");
    assert_eq!(r.body["files"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["files"][0]["name"], "main.go");
    assert_eq!(r.body["interview"]["questionId"], id);
    assert_eq!(r.body["interview"]["guidance"], GUIDANCE);
    let slug = r.body["pad"]["slug"].as_str().unwrap();
    // The default language is the question's first; its starter text is the pad's.
    let r = app
        .post(
            &format!("/api/questions/{id}/interviews"),
            Some(&ada.token),
            json!({}),
        )
        .await;
    let (py_slug, py_file) = (
        r.body["pad"]["slug"].as_str().unwrap().to_string(),
        r.body["files"][0]["id"].as_i64().unwrap(),
    );
    assert_eq!(
        file_text(&app, &ada, &py_slug, py_file).await,
        "def two_sum(xs, t):\n    pass\n"
    );
    let r = app
        .post(
            &format!("/api/questions/{id}/interviews"),
            Some(&ada.token),
            json!({ "language": "rust" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_language"))
    );

    // The interview keeps its copy when the question changes or goes.
    app.put(&format!("/api/questions/{id}"), Some(&ada.token), {
        let mut q = question("Renamed");
        q["prompt"] = json!("other");
        q
    })
    .await;
    app.delete(&format!("/api/questions/{id}"), Some(&ada.token))
        .await;
    let got = app
        .get(&format!("/api/pads/{slug}/interview"), Some(&ada.token))
        .await;
    assert_eq!(
        (got.body["title"].as_str(), got.body["prompt"].as_str()),
        (Some("Two sum"), Some(PROMPT))
    );
    assert!(got.body["questionId"].is_null());
    // A pad that holds no interview has none to show.
    let plain = app.create_pad(&ada, json!({ "kind": "interview" })).await;
    let plain_slug = plain["pad"]["slug"].as_str().unwrap();
    assert_eq!(
        app.get(
            &format!("/api/pads/{plain_slug}/interview"),
            Some(&ada.token)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.audit_rows("interview.start").await.len(), 2);
}

#[tokio::test]
async fn a_candidate_waits_until_admitted_and_reaches_nothing_before() {
    let app = TestApp::spawn().await;
    let (ada, cam, vic) = (
        app.signup("Ada").await,
        app.signup("Cam").await,
        app.signup("Vic").await,
    );
    let (slug, file, _) = interview(&app, &ada).await;
    app.add_member(&ada, &slug, &cam, "candidate").await;
    app.add_member(&ada, &slug, &vic, "viewer").await;
    let pad = format!("/api/pads/{slug}");
    let c = Some(cam.token.as_str());
    for r in [
        app.get(&pad, c).await,
        app.get(&format!("{pad}/files/{file}"), c).await,
        app.get(&format!("{pad}/interview"), c).await,
        app.get(&format!("{pad}/chat"), c).await,
        app.post(&format!("{pad}/files"), c, json!({ "name": "x.py" }))
            .await,
        app.post(&format!("{pad}/runs"), c, json!({})).await,
    ] {
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("waiting_room")),
            "{:?}",
            r.body
        );
    }
    let refused = collab_support::connect_with(
        &app.base,
        &slug,
        &[(
            "sec-websocket-protocol",
            &format!("opencoder.v1, oc.bearer.{}", cam.token),
        )],
        collab_support::new_doc(),
    )
    .await;
    assert_eq!(
        refused.err(),
        Some(403),
        "the pad socket refuses a waiting candidate"
    );
    assert_eq!(
        terminal_upgrade(&app, &slug, &cam).await.err(),
        Some(403),
        "so does the terminal socket"
    );
    // A viewer is not a candidate: no waiting room.
    assert_eq!(app.get(&pad, Some(&vic.token)).await.status, StatusCode::OK);

    // The interviewer on the pad hears of the knock at once, and sees who waits.
    let mut owner = connect(&app.base, &slug, &ada.token).await;
    owner.synced().await;
    let knocked = app
        .post(&format!("{pad}/interview/knock"), c, json!({}))
        .await;
    assert_eq!(
        knocked.body,
        json!({ "status": "waiting", "title": "Two sum" })
    );
    assert!(
        owner
            .until(Duration::from_secs(5), |p| p.has_app("interview.changed"))
            .await
    );
    let waiting = app.get(&format!("{pad}/interview"), Some(&ada.token)).await;
    assert_eq!(waiting.body["waiting"][0]["name"], "Cam");
    assert_eq!(waiting.body["waiting"][0]["status"], "waiting");
    assert_eq!(
        app.post(&format!("{pad}/interview/knock"), c, json!({}))
            .await
            .body["status"],
        "waiting",
        "knocking again changes nothing"
    );

    // Turned away: still outside, and told so.
    let decide = |admit: bool| {
        let app = &app;
        let path = format!("{pad}/interview/admissions/{}", cam.id);
        let token = ada.token.clone();
        async move {
            app.post(&path, Some(&token), json!({ "admit": admit }))
                .await
        }
    };
    assert_eq!(decide(false).await.status, StatusCode::OK);
    assert_eq!(
        app.post(&format!("{pad}/interview/knock"), c, json!({}))
            .await
            .body["status"],
        "refused"
    );
    assert_eq!(app.get(&pad, c).await.status, StatusCode::FORBIDDEN);
    // Let in after all.
    assert_eq!(decide(true).await.status, StatusCode::OK);
    assert_eq!(
        app.post(&format!("{pad}/interview/knock"), c, json!({}))
            .await
            .body["status"],
        "admitted"
    );
    assert_eq!(app.get(&pad, c).await.status, StatusCode::OK);
    assert!(app
        .get(&format!("{pad}/interview"), Some(&ada.token))
        .await
        .body["waiting"]
        .as_array()
        .unwrap()
        .is_empty());
    let mut peer = connect(&app.base, &slug, &cam.token).await;
    peer.synced().await;
    // Someone who never knocked cannot be admitted.
    let r = app
        .post(
            &format!("{pad}/interview/admissions/{}", vic.id),
            Some(&ada.token),
            json!({ "admit": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.audit_rows("interview.admit").await.len(), 1);
    assert_eq!(app.audit_rows("interview.refuse").await.len(), 1);
}

async fn terminal_upgrade(
    app: &TestApp,
    slug: &str,
    user: &TestUser,
) -> Result<collab_support::Ws, u16> {
    let url = format!("ws://{}/ws/pad/{slug}/terminal", app.addr);
    let mut request = url.into_client_request().unwrap();
    let protocols = format!("opencoder.v1, oc.bearer.{}", user.token);
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(&protocols).unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("terminal connect failed: {other}"),
    }
}

#[tokio::test]
async fn the_candidate_never_receives_the_guidance_and_sees_the_prompt_only_when_shown() {
    let app = TestApp::spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let (slug, _, _) = interview(&app, &ada).await;
    admit(&app, &ada, &slug, &cam).await;
    let mut peer = connect(&app.base, &slug, &cam.token).await;
    peer.synced().await;
    let path = format!("/api/pads/{slug}/interview");
    let seen = app.get(&path, Some(&cam.token)).await;
    assert_eq!(seen.body["prompt"], PROMPT);
    for hidden in ["guidance", "questionId", "waiting"] {
        assert!(
            seen.body.get(hidden).is_none(),
            "{hidden} reached the candidate: {:?}",
            seen.body
        );
    }
    switch(&app, &ada, &slug, json!({ "promptHidden": true })).await;
    assert!(
        peer.until(Duration::from_secs(5), |p| p.has_app("interview.changed"))
            .await
    );
    let hidden = app.get(&path, Some(&cam.token)).await;
    assert_eq!(
        (
            hidden.body["prompt"].clone(),
            hidden.body["promptHidden"].clone()
        ),
        (Value::Null, json!(true))
    );
    assert_eq!(
        app.get(&path, Some(&ada.token)).await.body["prompt"],
        PROMPT,
        "interviewers still see it"
    );
    switch(&app, &ada, &slug, json!({ "promptHidden": false })).await;
    assert_eq!(
        app.get(&path, Some(&cam.token)).await.body["prompt"],
        PROMPT
    );
    peer.drain(Duration::from_millis(300)).await;
    let everything = serde_json::to_string(&peer.apps).unwrap();
    assert!(
        !everything.contains("SECRET-GUIDANCE"),
        "guidance on the candidate's socket"
    );
    // The pad itself (REST) carries no guidance either.
    let pad = app
        .get(&format!("/api/pads/{slug}"), Some(&cam.token))
        .await;
    assert!(!pad.body.to_string().contains("SECRET-GUIDANCE"));
}

#[tokio::test]
async fn a_locked_pad_refuses_the_candidates_edits_on_the_socket_and_over_rest() {
    let app = TestApp::spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let (slug, file, _) = interview(&app, &ada).await;
    admit(&app, &ada, &slug, &cam).await;
    let mut peer = connect(&app.base, &slug, &cam.token).await;
    peer.synced().await;
    let root = file.to_string();
    peer.insert(&root, 0, "# before\n").await;
    let saved = |expect: &'static str| {
        let app = &app;
        let ada = &ada;
        let slug = slug.clone();
        async move {
            for _ in 0..50 {
                if file_text(app, ada, &slug, file).await.contains(expect) {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        }
    };
    assert!(saved("# before").await);

    switch(&app, &ada, &slug, json!({ "locked": true })).await;
    assert!(
        peer.until(Duration::from_secs(5), |p| p.has_app("interview.changed"))
            .await
    );
    peer.insert(&root, 0, "# while locked\n").await;
    assert!(
        peer.until(Duration::from_secs(5), |p| p.has_error("pad_locked"))
            .await,
        "{:?}",
        peer.apps
    );
    assert!(peer.permission_denied >= 1);
    assert!(!file_text(&app, &ada, &slug, file)
        .await
        .contains("while locked"));
    // REST writes are refused too; the interviewer still edits.
    let r = app
        .post(
            &format!("/api/pads/{slug}/files"),
            Some(&cam.token),
            json!({ "name": "b.py" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("pad_locked"))
    );
    let r = app
        .patch(
            &format!("/api/pads/{slug}/files/{file}"),
            Some(&cam.token),
            json!({ "name": "c.py" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.post(
            &format!("/api/pads/{slug}/files"),
            Some(&ada.token),
            json!({ "name": "b.py" })
        )
        .await
        .status,
        StatusCode::CREATED
    );
    // A socket opened while locked is told it is read-only, and refused just the same.
    let mut late = connect(&app.base, &slug, &cam.token).await;
    late.synced().await;
    assert!(
        late.until(Duration::from_secs(5), |p| p.has_app("hello"))
            .await
    );
    assert_eq!(late.app_messages("hello")[0]["readOnly"], true);

    switch(&app, &ada, &slug, json!({ "locked": false })).await;
    assert!(
        peer.until(Duration::from_secs(5), |p| p
            .app_messages("interview.changed")
            .len()
            >= 2)
            .await
    );
    // (At the end: the refused text stays in this client's own copy, and an edit next to it would
    // wait for it on the server.)
    peer.append(&root, "# after\n").await;
    assert!(saved("# after").await);
    assert_eq!(app.audit_rows("interview.switch").await.len(), 2);
}

#[tokio::test]
async fn run_and_terminal_switches_hold_against_the_candidate() {
    let app = TestApp::spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let (slug, _, _) = interview(&app, &ada).await;
    admit(&app, &ada, &slug, &cam).await;
    switch(
        &app,
        &ada,
        &slug,
        json!({ "runDisabled": true, "terminalDisabled": true }),
    )
    .await;
    let r = app
        .post(
            &format!("/api/pads/{slug}/runs"),
            Some(&cam.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("run_disabled"))
    );
    assert_eq!(terminal_upgrade(&app, &slug, &cam).await.err(), Some(403));
    for action in ["restart", "sync-files"] {
        let r = app
            .post(
                &format!("/api/pads/{slug}/terminal/{action}"),
                Some(&cam.token),
                json!({}),
            )
            .await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("terminal_disabled")),
            "{action}"
        );
    }
    // Interviewers are never held by a switch.
    assert!(terminal_upgrade(&app, &slug, &ada).await.is_ok());
    let body = switch(&app, &ada, &slug, json!({ "runDisabled": false })).await;
    assert_eq!(
        (
            body["runDisabled"].as_bool(),
            body["terminalDisabled"].as_bool()
        ),
        (Some(false), Some(true))
    );
    let r = app
        .post(
            &format!("/api/pads/{slug}/runs"),
            Some(&cam.token),
            json!({ "timeoutMs": 1 }),
        )
        .await;
    assert_eq!(
        r.body["error"], "invalid_timeout",
        "past the switch, the run's own checks answer"
    );
}

#[tokio::test]
async fn turning_the_terminal_off_closes_an_open_candidate_terminal_at_its_next_input() {
    let app = TestApp::spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let (slug, _, _) = interview(&app, &ada).await;
    admit(&app, &ada, &slug, &cam).await;
    let mut ws = terminal_upgrade(&app, &slug, &cam)
        .await
        .expect("terminal opens while allowed");
    switch(&app, &ada, &slug, json!({ "terminalDisabled": true })).await;
    // The event reaches the terminal asynchronously; keep typing until it has.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut code = None;
    while code.is_none() && tokio::time::Instant::now() < deadline {
        use futures_util::SinkExt;
        let _ = ws
            .send(tokio_tungstenite::tungstenite::Message::Binary(
                b"echo hi\n".to_vec().into(),
            ))
            .await;
        if let Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame))))) =
            tokio::time::timeout(Duration::from_millis(200), ws.next()).await
        {
            code = Some(u16::from(frame.code));
        }
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_millis(10), ws.next()).await
        {
            if let tokio_tungstenite::tungstenite::Message::Close(Some(frame)) = message {
                code = Some(u16::from(frame.code));
            }
        }
    }
    assert_eq!(code, Some(4003));
}

#[tokio::test]
async fn ending_the_interview_makes_the_candidate_read_only_and_stops_the_recording() {
    let app = TestApp::spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let (slug, file, _) = interview(&app, &ada).await;
    admit(&app, &ada, &slug, &cam).await;
    let mut peer = connect(&app.base, &slug, &cam.token).await;
    peer.synced().await;
    let rec = app
        .post(
            &format!("/api/pads/{slug}/recordings"),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert!(rec.status.is_success(), "{:?}", rec.body);
    let before = opencoder::interviews::switches::now_ms();
    let body = switch(
        &app,
        &ada,
        &slug,
        json!({ "timer": { "mode": "countdown", "durationMs": 45 * 60 * 1000 } }),
    )
    .await;
    let started = body["timer"]["startedAtMs"].as_i64().unwrap();
    assert!(
        started >= before && started <= body["nowMs"].as_i64().unwrap(),
        "server-stamped"
    );
    assert_eq!(body["timer"]["durationMs"], 45 * 60 * 1000);
    for bad in [
        json!({ "mode": "countdown", "durationMs": MIN_COUNTDOWN_MS - 1 }),
        json!({ "mode": "countdown", "durationMs": MAX_COUNTDOWN_MS + 1 }),
        json!({ "mode": "backwards" }),
    ] {
        let r = app
            .patch(
                &format!("/api/pads/{slug}/interview"),
                Some(&ada.token),
                json!({ "timer": bad }),
            )
            .await;
        assert_eq!(r.body["error"], "invalid_timer");
    }
    // A candidate cannot end it.
    assert_eq!(
        app.post(
            &format!("/api/pads/{slug}/interview/end"),
            Some(&cam.token),
            json!({})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    let ended = app
        .post(
            &format!("/api/pads/{slug}/interview/end"),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{:?}", ended.body);
    assert!(ended.body["endedAtMs"].is_i64());
    assert!(
        peer.until(Duration::from_secs(5), |p| p.has_app("interview.changed"))
            .await
    );
    peer.insert(&file.to_string(), 0, "# after the end\n").await;
    assert!(
        peer.until(Duration::from_secs(5), |p| p.has_error("pad_locked"))
            .await
    );
    assert!(!file_text(&app, &ada, &slug, file)
        .await
        .contains("after the end"));
    let r = app
        .post(
            &format!("/api/pads/{slug}/runs"),
            Some(&cam.token),
            json!({}),
        )
        .await;
    assert_eq!(r.body["error"], "interview_ended");
    let recordings = app
        .get(&format!("/api/pads/{slug}/recordings"), Some(&ada.token))
        .await;
    let recording = &recordings.body["recordings"][0];
    assert_eq!(
        (recording["active"].as_bool(), recording["endedAt"].is_i64()),
        (Some(false), true),
        "{recording:?}"
    );
    // Ended is final; the pad and its history stay.
    let again = app
        .post(
            &format!("/api/pads/{slug}/interview/end"),
            Some(&ada.token),
            json!({}),
        )
        .await;
    assert_eq!(again.body["error"], "interview_ended");
    let r = app
        .patch(
            &format!("/api/pads/{slug}/interview"),
            Some(&ada.token),
            json!({ "locked": false }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::CONFLICT, Some("interview_ended"))
    );
    assert_eq!(
        app.get(&format!("/api/pads/{slug}"), Some(&cam.token))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(app.audit_rows("interview.end").await.len(), 1);
}

/// Every interview endpoint × {anonymous, non-member, viewer, candidate (admitted),
/// collaborator, owner}. Each cell gets a fresh interview.
#[tokio::test]
async fn every_interview_endpoint_answers_each_role() {
    let app = TestApp::spawn().await;
    let owner = app.signup("Owner").await;
    let viewer = app.signup("Viewer").await;
    let candidate = app.signup("Candidate").await;
    let collaborator = app.signup("Collaborator").await;
    let outsider = app.signup("Outsider").await;
    let waiter = app.signup("Waiter").await;
    let callers: [Option<&TestUser>; 6] = [
        None,
        Some(&outsider),
        Some(&viewer),
        Some(&candidate),
        Some(&collaborator),
        Some(&owner),
    ];
    let interviewer = [401, 404, 403, 403, 200, 200];
    let rows: Vec<(Method, &str, Value, [u16; 6])> = vec![
        (
            Method::GET,
            "/api/pads/{slug}/interview",
            json!(null),
            [401, 404, 200, 200, 200, 200],
        ),
        (
            Method::PATCH,
            "/api/pads/{slug}/interview",
            json!({ "locked": true }),
            interviewer,
        ),
        (
            Method::POST,
            "/api/pads/{slug}/interview/end",
            json!({}),
            interviewer,
        ),
        (
            Method::POST,
            "/api/pads/{slug}/interview/knock",
            json!({}),
            [401, 404, 200, 200, 200, 200],
        ),
        (
            Method::POST,
            "/api/pads/{slug}/interview/admissions/{waiter}",
            json!({ "admit": true }),
            interviewer,
        ),
        (
            Method::GET,
            "/api/pads/{slug}/interview/scorecards",
            json!(null),
            interviewer,
        ),
        (
            Method::PUT,
            "/api/pads/{slug}/interview/scorecards/mine",
            scorecard("draft", None, None),
            interviewer,
        ),
        (
            Method::POST,
            "/api/pads/{slug}/interview/scorecards/mine/submit",
            scorecard("final", Some(3), Some("yes")),
            interviewer,
        ),
        (
            Method::GET,
            "/api/pads/{slug}/interview/summary",
            json!(null),
            interviewer,
        ),
        (
            Method::GET,
            "/api/pads/{slug}/interview/integrity",
            json!(null),
            interviewer,
        ),
        // A scorecard template is the user's own, whatever their pad roles.
        (
            Method::GET,
            "/api/scorecard-template",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        (
            Method::PUT,
            "/api/scorecard-template",
            json!({ "sections": [] }),
            [401, 200, 200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/pads/{slug}/interview/summary/markdown",
            json!(null),
            interviewer,
        ),
        // Questions belong to the owner: a pad role grants nothing on them.
        (
            Method::GET,
            "/api/questions/{question}",
            json!(null),
            [401, 404, 404, 404, 404, 200],
        ),
        (
            Method::PUT,
            "/api/questions/{question}",
            question("Changed"),
            [401, 404, 404, 404, 404, 200],
        ),
        (
            Method::DELETE,
            "/api/questions/{question}",
            json!(null),
            [401, 404, 404, 404, 404, 200],
        ),
        (
            Method::POST,
            "/api/questions/{question}/interviews",
            json!({}),
            [401, 404, 404, 404, 404, 201],
        ),
        (
            Method::PUT,
            "/api/questions/{question}/editors/{waiter}",
            json!(null),
            [401, 404, 404, 404, 404, 200],
        ),
        (
            Method::DELETE,
            "/api/questions/{question}/editors/{waiter}",
            json!(null),
            [401, 404, 404, 404, 404, 404],
        ),
        (
            Method::GET,
            "/api/questions",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        (
            Method::POST,
            "/api/questions",
            question("Mine"),
            [401, 201, 201, 201, 201, 201],
        ),
    ];
    let mut failures = Vec::new();
    for (method, template, body, expected) in &rows {
        for (caller, want) in callers.iter().zip(expected) {
            let (slug, _, question_id) = interview(&app, &owner).await;
            app.add_member(&owner, &slug, &viewer, "viewer").await;
            app.add_member(&owner, &slug, &collaborator, "collaborator")
                .await;
            admit(&app, &owner, &slug, &candidate).await;
            app.add_member(&owner, &slug, &waiter, "candidate").await;
            app.post(
                &format!("/api/pads/{slug}/interview/knock"),
                Some(&waiter.token),
                json!({}),
            )
            .await;
            let path = template
                .replace("{slug}", &slug)
                .replace("{question}", &question_id.to_string())
                .replace("{waiter}", &waiter.id.to_string());
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

/// The matrix above must cover every interview route the server publishes.
#[tokio::test]
async fn the_matrix_covers_every_published_interview_route() {
    let app = TestApp::spawn().await;
    let spec = app.get("/api/openapi.json", None).await;
    let mut published: Vec<String> = Vec::new();
    for (path, item) in spec.body["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tags = op["tags"].as_array().cloned().unwrap_or_default();
            if tags.iter().any(|t| t == "questions" || t == "interviews") {
                published.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    published.sort();
    assert_eq!(
        published,
        vec![
            "DELETE /api/questions/{id}",
            "DELETE /api/questions/{id}/editors/{userId}",
            "GET /api/pads/{slug}/interview",
            "GET /api/pads/{slug}/interview/integrity",
            "GET /api/pads/{slug}/interview/scorecards",
            "GET /api/pads/{slug}/interview/summary",
            "GET /api/pads/{slug}/interview/summary/markdown",
            "GET /api/questions",
            "GET /api/questions/{id}",
            "GET /api/scorecard-template",
            "PATCH /api/pads/{slug}/interview",
            "POST /api/pads/{slug}/interview/admissions/{userId}",
            "POST /api/pads/{slug}/interview/end",
            "POST /api/pads/{slug}/interview/knock",
            "POST /api/pads/{slug}/interview/scorecards/mine/submit",
            "POST /api/questions",
            "POST /api/questions/{id}/interviews",
            "PUT /api/pads/{slug}/interview/scorecards/mine",
            "PUT /api/questions/{id}",
            "PUT /api/questions/{id}/editors/{userId}",
            "PUT /api/scorecard-template",
        ]
    );
}

/// A one-section scorecard with one criterion; `notes` makes it recognisable in any answer.
fn scorecard(notes: &str, rating: Option<u8>, recommendation: Option<&str>) -> Value {
    json!({
        "sections": [{
            "title": "Problem solving",
            "criteria": [{ "name": "Decomposition", "levels": ["none", "some", "solid", "excellent"], "rating": rating }],
        }],
        "notes": notes,
        "recommendation": recommendation,
    })
}

#[tokio::test]
async fn an_interviewer_reads_the_others_scorecards_only_after_submitting_their_own() {
    let app = TestApp::spawn().await;
    let (ada, bob, cam) = (
        app.signup("Ada").await,
        app.signup("Bob").await,
        app.signup("Cam").await,
    );
    let (slug, _, _) = interview(&app, &ada).await;
    app.add_member(&ada, &slug, &bob, "collaborator").await;
    admit(&app, &ada, &slug, &cam).await;
    let cards = format!("/api/pads/{slug}/interview/scorecards");
    let (mine, submit) = (format!("{cards}/mine"), format!("{cards}/mine/submit"));
    let (ada_t, bob_t) = (Some(ada.token.as_str()), Some(bob.token.as_str()));

    let draft = app
        .put(&mine, ada_t, scorecard("ADA-DRAFT-7f3", Some(2), None))
        .await;
    assert_eq!(draft.status, StatusCode::OK, "{:?}", draft.body);
    assert_eq!(
        (
            draft.body["mine"]["notes"].as_str(),
            &draft.body["mine"]["submittedAtMs"]
        ),
        (Some("ADA-DRAFT-7f3"), &Value::Null)
    );
    let seen = app.get(&cards, bob_t).await;
    assert_eq!(
        (
            &seen.body["mine"],
            &seen.body["others"],
            &seen.body["othersSubmitted"]
        ),
        (&Value::Null, &json!([]), &json!(0))
    );
    assert!(
        !seen.body.to_string().contains("ADA-DRAFT"),
        "a draft is its author's alone"
    );

    let submitted = app
        .post(
            &submit,
            ada_t,
            scorecard("ADA-FINAL-7f3", Some(4), Some("strongYes")),
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{:?}", submitted.body);
    assert!(submitted.body["mine"]["submittedAtMs"].is_i64());
    let seen = app.get(&cards, bob_t).await;
    assert_eq!(
        (
            seen.body["others"].as_array().unwrap().len(),
            seen.body["othersSubmitted"].as_u64()
        ),
        (0, Some(1))
    );
    assert!(
        !seen.body.to_string().contains("ADA-FINAL"),
        "Bob learns that Ada submitted, not what: {:?}",
        seen.body
    );

    // Bob's own draft does not unlock anything, nor does Ada see it.
    app.put(&mine, bob_t, scorecard("BOB-DRAFT-2c9", None, Some("no")))
        .await;
    assert!(app.get(&cards, bob_t).await.body["others"]
        .as_array()
        .unwrap()
        .is_empty());
    let ada_view = app.get(&cards, ada_t).await;
    assert_eq!(
        (
            ada_view.body["others"].clone(),
            ada_view.body["othersSubmitted"].as_u64()
        ),
        (json!([]), Some(0))
    );
    assert!(!ada_view.body.to_string().contains("BOB-DRAFT"));

    let bob_done = app
        .post(
            &submit,
            bob_t,
            scorecard("BOB-FINAL-2c9", Some(1), Some("no")),
        )
        .await;
    assert_eq!(bob_done.status, StatusCode::OK, "{:?}", bob_done.body);
    let others = bob_done.body["others"].as_array().unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(
        (others[0]["name"].as_str(), others[0]["notes"].as_str()),
        (Some("Ada"), Some("ADA-FINAL-7f3"))
    );
    assert_eq!(
        (
            others[0]["recommendation"].as_str(),
            others[0]["sections"][0]["criteria"][0]["rating"].as_u64()
        ),
        (Some("strongYes"), Some(4))
    );
    assert_eq!(
        app.get(&cards, ada_t).await.body["others"][0]["notes"],
        "BOB-FINAL-2c9"
    );
    assert_eq!(
        app.audit_rows("interview.scorecard.submit").await.len(),
        2,
        "each submission is audited"
    );

    // Submitted is final, through either route.
    for r in [
        app.put(&mine, ada_t, scorecard("rewritten", Some(1), None))
            .await,
        app.post(&submit, ada_t, scorecard("rewritten", Some(1), Some("no")))
            .await,
    ] {
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::CONFLICT, Some("scorecard_submitted")),
            "{:?}",
            r.body
        );
    }
    assert_eq!(
        app.get(&cards, ada_t).await.body["mine"]["notes"],
        "ADA-FINAL-7f3"
    );

    // The candidate reaches none of it; neither does a pad without an interview.
    for r in [
        app.get(&cards, Some(&cam.token)).await,
        app.put(&mine, Some(&cam.token), scorecard("x", None, None))
            .await,
    ] {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
        assert!(!r.body.to_string().contains("FINAL"));
    }
    let plain = app
        .pad_with_file(&ada, "python", "extra.py", "print(1)\n")
        .await;
    assert_eq!(
        app.get(&format!("/api/pads/{plain}/interview/scorecards"), ada_t)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.put(
            &format!("/api/pads/{plain}/interview/scorecards/mine"),
            ada_t,
            scorecard("x", None, None)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_new_scorecard_starts_from_its_interviewers_own_template() {
    let app = TestApp::spawn().await;
    let (ada, bob) = (app.signup("Ada").await, app.signup("Bob").await);
    let (slug, _, _) = interview(&app, &ada).await;
    app.add_member(&ada, &slug, &bob, "collaborator").await;
    let builtin = app.get("/api/scorecard-template", Some(&ada.token)).await;
    assert_eq!(
        (
            builtin.body["custom"].as_bool(),
            builtin.body["sections"][0]["title"].as_str()
        ),
        (Some(false), Some("Problem solving"))
    );

    let mine = json!({ "sections": [{ "title": "System design", "criteria": [
        { "name": "Scaling", "levels": ["none", "vertical", "horizontal", "with numbers"], "rating": 3 },
    ] }] });
    let saved = app
        .put("/api/scorecard-template", Some(&ada.token), mine)
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.body);
    assert_eq!(saved.body["custom"], true);
    assert_eq!(
        saved.body["sections"][0]["criteria"][0]["rating"],
        Value::Null,
        "a template holds no ratings"
    );

    let cards = format!("/api/pads/{slug}/interview/scorecards");
    let adas = app.get(&cards, Some(&ada.token)).await;
    assert_eq!(adas.body["template"][0]["criteria"][0]["name"], "Scaling");
    assert_eq!(
        app.get(&cards, Some(&bob.token)).await.body["template"],
        builtin.body["sections"],
        "Bob keeps the built-in one"
    );

    // A template meets the limits of a scorecard.
    let five_levels = json!({ "sections": [{ "title": "S", "criteria": [{ "name": "C", "levels": ["1", "2", "3", "4", "5"], "rating": null }] }] });
    let too_many = json!({ "sections": (0..=MAX_SECTIONS).map(|i| json!({ "title": format!("S{i}"), "criteria": [] })).collect::<Vec<_>>() });
    for bad in [five_levels, too_many] {
        let r = app
            .put("/api/scorecard-template", Some(&ada.token), bad)
            .await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_scorecard")),
            "{:?}",
            r.body
        );
    }
    assert_eq!(
        app.get("/api/scorecard-template", Some(&ada.token))
            .await
            .body["sections"][0]["title"],
        "System design"
    );
}

#[tokio::test]
async fn a_questions_template_is_what_its_interviews_scorecards_start_from() {
    let app = TestApp::spawn().await;
    let (ada, bob) = (app.signup("Ada").await, app.signup("Bob").await);
    let template = |title: &str| {
        json!({ "sections": [{ "title": title, "criteria": [
        { "name": "Collaboration", "levels": ["a", "b", "c", "d"], "rating": 2 },
    ] }] })
    };
    let mut body = question("Pair programming");
    body["scorecardTemplate"] = template("Pairing");
    let id = create_question(&app, &ada, body.clone()).await;
    let got = app
        .get(&format!("/api/questions/{id}"), Some(&ada.token))
        .await;
    assert_eq!(got.body["scorecardTemplate"][0]["title"], "Pairing");
    assert_eq!(
        got.body["scorecardTemplate"][0]["criteria"][0]["rating"],
        Value::Null,
        "a template holds no ratings"
    );
    app.put(
        "/api/scorecard-template",
        Some(&ada.token),
        template("Ada's own"),
    )
    .await;

    let start = format!("/api/questions/{id}/interviews");
    let first = app.post(&start, Some(&ada.token), json!({})).await.body["pad"]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    app.add_member(&ada, &first, &bob, "collaborator").await;
    let cards = |slug: &str| format!("/api/pads/{slug}/interview/scorecards");
    for user in [&ada, &bob] {
        let r = app.get(&cards(&first), Some(&user.token)).await;
        assert_eq!(
            r.body["template"][0]["title"], "Pairing",
            "the question's template wins for {}",
            user.name
        );
    }

    // An interview keeps the template it started with; the next one takes the question's new one.
    body["scorecardTemplate"] = template("Pairing, revised");
    assert_eq!(
        app.put(
            &format!("/api/questions/{id}"),
            Some(&ada.token),
            body.clone()
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&cards(&first), Some(&ada.token)).await.body["template"][0]["title"],
        "Pairing"
    );
    let second = app.post(&start, Some(&ada.token), json!({})).await.body["pad"]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.get(&cards(&second), Some(&ada.token)).await.body["template"][0]["title"],
        "Pairing, revised"
    );

    body["scorecardTemplate"] = json!({ "sections": [{ "title": "S", "criteria": [{ "name": "C", "levels": ["only one"], "rating": null }] }] });
    let refused = app
        .put(&format!("/api/questions/{id}"), Some(&ada.token), body)
        .await;
    assert_eq!(
        (refused.status, refused.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scorecard")),
        "{:?}",
        refused.body
    );
}

/// The Markdown export as `user` downloads it.
async fn summary_markdown(app: &TestApp, slug: &str, user: &TestUser) -> String {
    let r = app
        .get(
            &format!("/api/pads/{slug}/interview/summary/markdown"),
            Some(&user.token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("text/markdown; charset=utf-8")
    );
    assert_eq!(
        r.header("content-disposition"),
        Some(format!("attachment; filename=\"interview-{slug}.md\"").as_str())
    );
    r.body.as_str().expect("Markdown, not JSON").to_string()
}

/// Needs Docker and the runner image (one run), like the run API's tests.
#[tokio::test]
async fn the_summary_gathers_scorecards_code_runs_and_recordings_and_exports_them_as_markdown() {
    oc_sandbox::testing::hold_shared_docker_lock();
    let app = TestApp::spawn().await;
    let (ada, bob, cam) = (
        app.signup("Ada").await,
        app.signup("Bob").await,
        app.signup("Cam").await,
    );
    let (slug, _, _) = interview(&app, &ada).await;
    app.add_member(&ada, &slug, &bob, "collaborator").await;
    admit(&app, &ada, &slug, &cam).await;
    let pad = format!("/api/pads/{slug}");
    let code = "print('SUMMARY-OUT')  # FINAL-CODE-4a1 ```";
    let created = app
        .post(
            &format!("{pad}/files"),
            Some(&cam.token),
            json!({ "name": "final.py", "content": code }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let run = app
        .post(
            &format!("{pad}/runs?wait=1"),
            Some(&cam.token),
            json!({ "entry": "final.py" }),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{:?}", run.body);
    let rec = app
        .post(&format!("{pad}/recordings"), Some(&ada.token), json!({}))
        .await;
    assert_eq!(rec.status, StatusCode::CREATED, "{:?}", rec.body);
    let recording = rec.body["recording"]["id"].as_i64().unwrap();
    app.post(
        &format!("{pad}/interview/scorecards/mine/submit"),
        Some(&ada.token),
        scorecard("ADA-SUMMARY-NOTE", Some(4), Some("strongYes")),
    )
    .await;
    app.put(
        &format!("{pad}/interview/scorecards/mine"),
        Some(&bob.token),
        scorecard("BOB-SUMMARY-DRAFT", Some(1), None),
    )
    .await;

    // Bob has not submitted: his summary holds his draft, Ada's count, not her scorecard.
    let bobs = app
        .get(&format!("{pad}/interview/summary"), Some(&bob.token))
        .await;
    assert_eq!(bobs.status, StatusCode::OK, "{:?}", bobs.body);
    assert!(
        !bobs.body.to_string().contains("ADA-SUMMARY-NOTE"),
        "{:?}",
        bobs.body["scorecards"]
    );
    assert_eq!(bobs.body["scorecards"]["othersSubmitted"], 1);
    let bobs_md = summary_markdown(&app, &slug, &bob).await;
    assert!(
        !bobs_md.contains("ADA-SUMMARY-NOTE") && bobs_md.contains("1 other scorecard(s) submitted"),
        "{bobs_md}"
    );

    // Ada has: she sees everything submitted, the final code, the run and the recording.
    let summary = app
        .get(&format!("{pad}/interview/summary"), Some(&ada.token))
        .await;
    let body = &summary.body;
    assert_eq!(body["scorecards"]["mine"]["notes"], "ADA-SUMMARY-NOTE");
    assert!(
        !body.to_string().contains("BOB-SUMMARY-DRAFT"),
        "a draft stays its author's"
    );
    let file = body["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "final.py")
        .expect("final.py listed");
    assert_eq!(file["content"], code);
    assert_eq!(
        (
            body["runs"][0]["entry"].as_str(),
            body["runs"][0]["userName"].as_str()
        ),
        (Some("final.py"), Some("Cam"))
    );
    assert!(
        !body["runs"].to_string().contains("SUMMARY-OUT"),
        "runs are listed without their output"
    );
    assert_eq!(
        body["recordings"][0]["playbackPath"],
        format!("/p/{slug}/recordings/{recording}")
    );

    let md = summary_markdown(&app, &slug, &ada).await;
    assert!(md.starts_with("# Interview: Two sum"), "{md}");
    for expected in [
        "ADA-SUMMARY-NOTE",
        "strong yes",
        "Decomposition: 4/4 (excellent)",
        "ran final.py",
        &format!("/p/{slug}/recordings/{recording}"),
    ] {
        assert!(md.contains(expected), "{expected:?} missing from:\n{md}");
    }
    // The code's own backticks cannot close its fence.
    assert!(md.contains(&format!("````python\n{code}\n````")), "{md}");
    assert!(!md.contains("BOB-SUMMARY-DRAFT"));
    assert_eq!(
        app.get(&format!("{pad}/interview/summary"), Some(&cam.token))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn every_scorecard_limit_is_enforced() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let (slug, _, _) = interview(&app, &ada).await;
    let mine = format!("/api/pads/{slug}/interview/scorecards/mine");
    let t = Some(ada.token.as_str());
    let criterion = |name: &str, levels: Vec<String>, rating: Value| json!({ "name": name, "levels": levels, "rating": rating });
    let levels = || vec!["a".to_string(); RATING_LEVELS];
    let card = |sections: Vec<Value>, notes: String| json!({ "sections": sections, "notes": notes, "recommendation": null });
    let section =
        |title: &str, criteria: Vec<Value>| json!({ "title": title, "criteria": criteria });
    let one = |c: Value| vec![section("S", vec![c])];

    // At each limit: accepted.
    let at_limit = [
        card(
            (0..MAX_SECTIONS)
                .map(|i| section(&format!("S{i}"), vec![]))
                .collect(),
            String::new(),
        ),
        card(
            vec![section(
                "S",
                (0..MAX_CRITERIA)
                    .map(|i| criterion(&format!("C{i}"), levels(), json!(null)))
                    .collect(),
            )],
            String::new(),
        ),
        card(
            one(criterion(
                &"n".repeat(MAX_LABEL_CHARS),
                vec!["l".repeat(MAX_LEVEL_CHARS); RATING_LEVELS],
                json!(RATING_LEVELS),
            )),
            "x".repeat(MAX_NOTES_BYTES),
        ),
    ];
    for body in at_limit {
        let r = app.put(&mine, t, body).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    // One past each: refused, and what was saved stays.
    let past: Vec<(Value, StatusCode, &str)> = vec![
        (
            card(
                (0..=MAX_SECTIONS)
                    .map(|i| section(&format!("S{i}"), vec![]))
                    .collect(),
                String::new(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_scorecard",
        ),
        (
            card(
                vec![section(
                    "S",
                    (0..=MAX_CRITERIA)
                        .map(|i| criterion(&format!("C{i}"), levels(), json!(null)))
                        .collect(),
                )],
                String::new(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_scorecard",
        ),
        (
            card(
                vec![section(&"t".repeat(MAX_LABEL_CHARS + 1), vec![])],
                String::new(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_scorecard",
        ),
        (
            card(vec![section("  ", vec![])], String::new()),
            StatusCode::BAD_REQUEST,
            "invalid_scorecard",
        ),
        (
            card(
                one(criterion(
                    &"n".repeat(MAX_LABEL_CHARS + 1),
                    levels(),
                    json!(null),
                )),
                String::new(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_scorecard",
        ),
        (
            card(
                one(criterion(
                    "C",
                    vec!["a".to_string(); RATING_LEVELS - 1],
                    json!(null),
                )),
                String::new(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_scorecard",
        ),
        (
            card(
                one(criterion(
                    "C",
                    vec!["l".repeat(MAX_LEVEL_CHARS + 1); RATING_LEVELS],
                    json!(null),
                )),
                String::new(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_scorecard",
        ),
        (
            card(one(criterion("C", levels(), json!(0))), String::new()),
            StatusCode::BAD_REQUEST,
            "invalid_rating",
        ),
        (
            card(
                one(criterion("C", levels(), json!(RATING_LEVELS + 1))),
                String::new(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_rating",
        ),
        (
            card(vec![], "x".repeat(MAX_NOTES_BYTES + 1)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "scorecard_notes_too_large",
        ),
    ];
    for (body, status, code) in past {
        let r = app.put(&mine, t, body).await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (status, Some(code)),
            "{:?}",
            r.body
        );
    }
    let kept = app
        .get(&format!("/api/pads/{slug}/interview/scorecards"), t)
        .await;
    assert_eq!(
        kept.body["mine"]["notes"].as_str().map(str::len),
        Some(MAX_NOTES_BYTES)
    );
    let bad_recommendation = json!({ "sections": [], "notes": "", "recommendation": "maybe" });
    assert_eq!(
        app.put(&mine, t, bad_recommendation).await.status,
        StatusCode::BAD_REQUEST
    );

    // A submission is complete: every criterion rated, a recommendation given.
    let submit = format!("{mine}/submit");
    for body in [
        scorecard("n", None, Some("yes")),
        scorecard("n", Some(2), None),
    ] {
        let r = app.post(&submit, t, body).await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("scorecard_incomplete")),
            "{:?}",
            r.body
        );
    }
    assert!(app
        .get(&format!("/api/pads/{slug}/interview/scorecards"), t)
        .await
        .body["mine"]["submittedAtMs"]
        .is_null());
}

/// Two nodes on one database and one Redis: the lock set through node A holds the candidate's
/// socket on node B (the change crosses as `InterviewChanged`).
#[tokio::test]
async fn a_lock_set_on_one_node_holds_the_candidates_socket_on_the_other() {
    const SECRET: &str = "interviews-cluster-test-secret-0123456789abcdef";
    let redis = RedisServer::start();
    let (a, b) = TestApp::spawn_two_nodes(&redis.url(), SECRET).await;
    let (ada, cam) = (a.signup("Ada").await, a.signup("Cam").await);
    let (slug, file, _) = interview(&a, &ada).await;
    admit(&a, &ada, &slug, &cam).await;
    let mut on_b = connect(&b.base, &slug, &cam.token).await;
    on_b.synced().await;
    switch(&a, &ada, &slug, json!({ "locked": true })).await;
    assert!(
        on_b.until(Duration::from_secs(5), |p| p.has_app("interview.changed"))
            .await,
        "the change reached node B"
    );
    on_b.insert(&file.to_string(), 0, "# via node B\n").await;
    assert!(
        on_b.until(Duration::from_secs(5), |p| p.has_error("pad_locked"))
            .await,
        "{:?}",
        on_b.apps
    );
    assert!(!file_text(&a, &ada, &slug, file)
        .await
        .contains("via node B"));
}
