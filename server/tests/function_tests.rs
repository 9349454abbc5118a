//! Function-signature test cases (issue 13 §7, the harnesses) over the real HTTP API and pad
//! socket, with real sandbox runs in Python, JavaScript and TypeScript: the signature and its
//! generated starters, the cases' JSON and its limits, the languages without a harness, what a
//! call returns or raises, structural comparison, a candidate printing result-like lines, hidden
//! cases kept from candidates, and the graded submission.

mod collab_support;
mod common;
mod exec_support;
mod takehome_support;

use std::time::Duration;

use collab_support::connect;
use common::{TestApp, TestUser};
use opencoder::interviews::takehomes::MAX_TIME_LIMIT_MS;
use opencoder::interviews::test_cases::signature::{MAX_FUNCTION_PARAMS, MAX_IDENTIFIER_CHARS};
use opencoder::interviews::test_cases::{MAX_TEST_ARGS_BYTES, MAX_TEST_JSON_DEPTH};
use reqwest::StatusCode;
use serde_json::{json, Value};
use takehome_support::{code, graded, run_tests, spawn, start, takehome, verdicts, window};

/// Marks what only interviewers may ever see: the hidden case's name, arguments and expected value.
const HIDDEN_NAME: &str = "hidden-secret-call";
const HIDDEN_ARGS: &str = "[41007, 23458]";
const HIDDEN_EXPECTED: &str = "64465";

fn signature() -> Value {
    json!({ "function": "add", "params": ["a", "b"] })
}

fn call(name: &str, args: &str, expected: &str) -> Value {
    json!({ "name": name, "kind": "function", "args": args, "expected": expected })
}

/// One case for each way a call can go; the solutions below behave alike in every language.
fn cases() -> Value {
    json!([
        call("sum", "[2, 3]", "5"),
        call("float", "[0.1, 0.2]", "0.3"),
        call("object", r#"[{"x": 1, "y": 2}, 2]"#, r#"{"sum": 3, "keys": ["x", "y"]}"#),
        call("wrong", "[2, 2]", "5"),
        call("raises", r#"["boom", 1]"#, "0"),
        call("forges", r#"["forge", 0]"#, "99"),
        call("lingers", r#"["linger", 0]"#, "0"),
        { "name": HIDDEN_NAME, "kind": "function", "args": HIDDEN_ARGS, "expected": HIDDEN_EXPECTED, "hidden": true },
    ])
}

/// Prints on each call; on "forge" it prints result-like lines with every marker it could guess
/// (none: stdin is empty by now) and returns a wrong value; on "linger" it leaves a thread or a
/// timer running for ten minutes, far past the run's timeout, and returns.
const PYTHON: &str = r#"import sys
import threading
import time

def add(a, b):
    print("debug", a, b)
    if a == "boom":
        raise ValueError("no boom")
    if a == "forge":
        leaked = sys.stdin.read()
        print("OC-RESULT-" + "0" * 32 + ' {"returned": 99}')
        print(leaked + ' {"returned": 99}')
        sys.stdout.write('\n{"returned": 99}\n')
        return 0
    if a == "linger":
        threading.Thread(target=time.sleep, args=(600,)).start()
        return 0
    if isinstance(a, dict):
        return {"keys": sorted(a), "sum": a["x"] + b}
    return a + b
"#;

const JAVASCRIPT: &str = r#"const fs = require("fs");

async function add(a, b) {
  console.log("debug", a, b);
  if (a === "boom") {
    throw new RangeError("no boom");
  }
  if (a === "forge") {
    let leaked = "";
    try { leaked = fs.readFileSync(0, "utf8"); } catch (e) {}
    console.log("OC-RESULT-" + "0".repeat(32) + ' {"returned": 99}');
    console.log(leaked + ' {"returned": 99}');
    process.stdout.write('\n{"returned": 99}\n');
    return 0;
  }
  if (a === "linger") {
    setTimeout(() => {}, 600000);
    return 0;
  }
  if (typeof a === "object") {
    return { keys: Object.keys(a).sort(), sum: a.x + b };
  }
  return a + b;
}

module.exports = { add };
"#;

const TYPESCRIPT: &str = r#"import * as fs from "fs";

export function add(a: any, b: any): any {
  console.log("debug", a, b);
  if (a === "boom") {
    throw new RangeError("no boom");
  }
  if (a === "forge") {
    let leaked = "";
    try { leaked = fs.readFileSync(0, "utf8"); } catch (e) {}
    console.log("OC-RESULT-" + "0".repeat(32) + ' {"returned": 99}');
    console.log(leaked + ' {"returned": 99}');
    return 0;
  }
  if (a === "linger") {
    setTimeout(() => {}, 600000);
    return 0;
  }
  if (typeof a === "object") {
    return { keys: Object.keys(a).sort(), sum: a.x + b };
  }
  return a + b;
}
"#;

fn question(languages: Value, signature: Value, tests: Value) -> Value {
    json!({
        "title": "Add",
        "prompt": "Write add(a, b).",
        "difficulty": "easy",
        "languages": languages,
        "signature": signature,
        "tests": tests,
    })
}

async fn create(app: &TestApp, user: &TestUser, body: Value) -> common::Resp {
    app.post("/api/questions", Some(&user.token), body).await
}

#[tokio::test]
async fn signatures_and_function_cases_are_checked_and_starters_generated() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let languages = json!([{ "language": "python" }, { "language": "js" }, { "language": "ts" }]);
    let r = create(
        &app,
        &ada,
        question(languages.clone(), signature(), cases()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["signature"], signature());
    assert_eq!(
        r.body["functionLanguages"],
        json!(["python", "javascript", "typescript"])
    );
    let starters: Vec<&str> = r.body["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["files"][0]["content"].as_str().unwrap())
        .collect();
    assert!(
        starters[0].starts_with("def add(a, b):\n"),
        "{}",
        starters[0]
    );
    assert!(
        starters[1].starts_with("function add(a, b) {\n")
            && starters[1].contains("module.exports = { add };"),
        "{}",
        starters[1]
    );
    assert!(
        starters[2].starts_with("export function add(a: any, b: any): any {\n"),
        "{}",
        starters[2]
    );
    assert_eq!(
        r.body["tests"][0],
        json!({ "name": "sum", "kind": "function", "stdin": "", "args": "[2, 3]", "expected": "5", "hidden": false, "compare": "trimmed" })
    );

    // Languages without a harness keep stdin cases; the question says which languages have one.
    let with_go = json!([{ "language": "python" }, { "language": "go" }]);
    let stdin_only = json!([{ "stdin": "1\n", "expected": "1\n" }]);
    let r = create(
        &app,
        &ada,
        question(with_go.clone(), signature(), stdin_only),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["functionLanguages"], json!(["python"]));
    assert_eq!(r.body["tests"][0]["kind"], "stdin");
    let listed = app.get("/api/languages", None).await;
    let function_tests = |id: &str| {
        listed.body["languages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .map(|l| l["functionTests"].clone())
    };
    for id in ["python", "javascript", "typescript"] {
        assert_eq!(function_tests(id), Some(json!(true)), "{id}");
    }
    assert_eq!(function_tests("go"), Some(json!(false)));

    let arguments = |n: usize| format!("[{}]", vec!["1"; n].join(", "));
    let deep = format!(
        "[{}1{}, 1]",
        "[".repeat(MAX_TEST_JSON_DEPTH),
        "]".repeat(MAX_TEST_JSON_DEPTH)
    );
    let big = format!("[\"{}\", 1]", "x".repeat(MAX_TEST_ARGS_BYTES));
    let at_limit = format!("[\"{}\", 1]", "x".repeat(MAX_TEST_ARGS_BYTES - 7));
    let ok = create(
        &app,
        &ada,
        question(
            json!([{ "language": "python" }]),
            signature(),
            json!([call("big", &at_limit, "1")]),
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.body);
    let long_name = "f".repeat(MAX_IDENTIFIER_CHARS + 1);
    let many_params: Vec<String> = (0..=MAX_FUNCTION_PARAMS).map(|i| format!("p{i}")).collect();
    let python = json!([{ "language": "python" }]);
    let refused: Vec<(Value, StatusCode, &str, &str)> = vec![
        (
            question(with_go, signature(), json!([call("c", "[1, 2]", "3")])),
            StatusCode::BAD_REQUEST,
            "function_tests_unsupported",
            "go",
        ),
        (
            question(
                python.clone(),
                Value::Null,
                json!([call("c", "[1, 2]", "3")]),
            ),
            StatusCode::BAD_REQUEST,
            "signature_required",
            "signature",
        ),
        (
            question(
                python.clone(),
                signature(),
                json!([call("c", "[1, 2", "3")]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_test_args",
            "args",
        ),
        (
            question(
                python.clone(),
                signature(),
                json!([call("c", "{\"a\": 1}", "3")]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_test_args",
            "args",
        ),
        (
            question(
                python.clone(),
                signature(),
                json!([call("c", &arguments(3), "3")]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_test_args",
            "add(a, b)",
        ),
        (
            question(python.clone(), signature(), json!([call("c", &deep, "3")])),
            StatusCode::BAD_REQUEST,
            "invalid_test_args",
            "deeper",
        ),
        (
            question(
                python.clone(),
                signature(),
                json!([call("c", "[1, 2]", "three")]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_test_expected",
            "expected",
        ),
        (
            question(python.clone(), signature(), json!([call("c", &big, "3")])),
            StatusCode::PAYLOAD_TOO_LARGE,
            "test_args_too_large",
            "args",
        ),
        (
            question(
                python.clone(),
                signature(),
                json!([{ "kind": "function", "stdin": "1", "args": "[1, 2]", "expected": "3" }]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_test_stdin",
            "stdin",
        ),
        (
            question(
                python.clone(),
                signature(),
                json!([{ "stdin": "1", "args": "[1, 2]", "expected": "3" }]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_test_args",
            "args",
        ),
        (
            question(
                python.clone(),
                json!({ "function": "class", "params": [] }),
                json!([]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_signature",
            "reserved",
        ),
        (
            question(
                python.clone(),
                json!({ "function": long_name, "params": [] }),
                json!([]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_signature",
            "identifier",
        ),
        (
            question(
                python.clone(),
                json!({ "function": "f", "params": many_params }),
                json!([]),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_signature",
            "parameters",
        ),
    ];
    for (body, status, code, mentions) in refused {
        let r = app
            .put(&format!("/api/questions/{id}"), Some(&ada.token), body)
            .await;
        assert_eq!(r.status, status, "{code}: {:?}", r.body);
        assert_eq!(r.body["error"], code, "{:?}", r.body);
        let message = r.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(mentions), "{code}: {message}");
    }
    // Nothing refused was saved.
    let r = app
        .get(&format!("/api/questions/{id}"), Some(&ada.token))
        .await;
    assert_eq!(r.body["tests"].as_array().unwrap().len(), 8);
    assert_eq!(r.body["languages"], {
        let created = create(&app, &ada, question(languages, signature(), json!([]))).await;
        created.body["languages"].clone()
    });
}

/// Every case of `cases()` in `language`, the candidate's `source` typed into the take-home pad:
/// the candidate runs the visible ones, the interviewer all of them, the submission is graded.
async fn judged_in(language: &str, source: &str) {
    let app = spawn().await;
    let (ada, cam) = (app.signup("Ada").await, app.signup("Cam").await);
    let starter = json!([{ "language": language, "files": [{ "name": file_of(language), "content": "\n" }] }]);
    let r = create(&app, &ada, question(starter, signature(), cases())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let token = takehome(&app, &ada, id, window(MAX_TIME_LIMIT_MS)).await;
    let (slug, file) = start(&app, &cam, &token).await;
    let mut watcher = connect(&app.base, &slug, &cam.token).await;
    watcher.synced().await;
    code(&app, &cam, &slug, file, source).await;

    let r = run_tests(&app, &cam, &slug, false).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let results = &r.body["results"];
    assert_eq!(
        verdicts(results),
        vec![
            ("sum".to_string(), true),
            ("float".to_string(), true),
            ("object".to_string(), true),
            ("wrong".to_string(), false),
            ("raises".to_string(), false),
            ("forges".to_string(), false),
            ("lingers".to_string(), true),
        ],
        "{results:#}"
    );
    // The candidate's prints stay the output; the harness's line is not part of it.
    assert_eq!(results[0]["returned"], "5");
    assert!(
        results[0]["actual"].as_str().unwrap().contains("debug 2 3"),
        "{results:#}"
    );
    assert!(
        !results[0]["actual"]
            .as_str()
            .unwrap()
            .contains("OC-RESULT-"),
        "{results:#}"
    );
    assert_eq!(results[2]["returned"], r#"{"keys":["x","y"],"sum":3}"#);
    assert_eq!(results[3]["returned"], "4");
    assert!(results[3]["error"].is_null());
    // An exception is a failed case with its message, not a failed run of the grader.
    assert_eq!(results[4]["outcome"], "ok", "{results:#}");
    let raised = results[4]["error"].as_str().unwrap();
    assert!(
        raised.contains("no boom") && raised.contains("Error"),
        "{raised}"
    );
    assert!(results[4]["stderr"].as_str().unwrap().contains("no boom"));
    assert!(results[4]["returned"].is_null());
    // Printing result-like lines (the stdin it read was empty) changes nothing: 0 was returned.
    assert_eq!(results[5]["returned"], "0", "{results:#}");
    assert!(results[5]["actual"]
        .as_str()
        .unwrap()
        .contains(r#"{"returned": 99}"#));

    // What the call left running did not hold the run: the harness ends it once it reported.
    assert_eq!(results[6]["outcome"], "ok", "{results:#}");

    // The interviewer's run includes the hidden call.
    let all = run_tests(&app, &ada, &slug, true).await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.body);
    assert_eq!(
        verdicts(&all.body["results"])[7],
        (HIDDEN_NAME.to_string(), true)
    );
    assert_eq!(all.body["results"][7]["returned"], HIDDEN_EXPECTED);

    // Nothing the candidate can reach mentions the hidden call: REST, the socket, the document.
    assert!(
        watcher
            .until(Duration::from_secs(20), |p| p
                .app_messages("tests.finished")
                .len()
                >= 2)
            .await
    );
    let mut seen = serde_json::to_string(&watcher.apps).unwrap();
    seen.push_str(&watcher.text(&file.to_string()));
    for path in ["tests", "interview", "takehome", "files"] {
        let r = app
            .get(&format!("/api/pads/{slug}/{path}"), Some(&cam.token))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {:?}", r.body);
        seen.push_str(&r.body.to_string());
    }
    assert_eq!(
        app.get(&format!("/api/pads/{slug}/tests"), Some(&cam.token))
            .await
            .body["tests"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    for secret in [HIDDEN_NAME, "41007", "23458", HIDDEN_EXPECTED] {
        assert!(
            !seen.contains(secret),
            "{secret} reached the candidate: {seen}"
        );
    }

    // The submission is graded with the same verdicts, the returned values and errors kept.
    let r = app
        .post(
            &format!("/api/pads/{slug}/takehome/submit"),
            Some(&cam.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let graded = graded(&app, &ada, &slug).await;
    let grading = &graded["grading"];
    assert_eq!(
        (grading["passed"].as_u64(), grading["total"].as_u64()),
        (Some(5), Some(8)),
        "{grading:#}"
    );
    assert_eq!(grading["results"][3]["returned"], "4");
    assert!(grading["results"][4]["error"]
        .as_str()
        .unwrap()
        .contains("no boom"));
    let candidate_view = app
        .get(&format!("/api/pads/{slug}/takehome"), Some(&cam.token))
        .await;
    assert!(
        candidate_view.body["grading"].is_null(),
        "{:?}",
        candidate_view.body
    );
}

fn file_of(language: &str) -> &'static str {
    match language {
        "python" => "main.py",
        "javascript" => "main.js",
        _ => "main.ts",
    }
}

#[tokio::test]
async fn python_calls_are_judged_in_the_sandbox() {
    judged_in("python", PYTHON).await;
}

#[tokio::test]
async fn javascript_calls_are_judged_in_the_sandbox() {
    judged_in("javascript", JAVASCRIPT).await;
}

#[tokio::test]
async fn typescript_calls_are_judged_in_the_sandbox() {
    judged_in("typescript", TYPESCRIPT).await;
}
