//! `/metrics` (issue 14 §4): who may read it (a `METRICS_TOKEN` Bearer token, or loopback and
//! trusted proxies), every subsystem's families after real traffic (sign-up, a pad, a socket
//! edit, a run on real Docker, a rate-limited request, a refused token), labels that are route
//! templates and never a slug or a token, one registry per server, and the Grafana dashboard's
//! queries against the output of a server that served that traffic.

mod collab_support;
mod common;
mod exec_support;
mod redis_support;

use std::collections::BTreeSet;
use std::time::Duration;

use collab_support::Http;
use common::TestApp;
use futures_util::SinkExt;
use redis_support::RedisServer;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const SHARED_SECRET: &str = "metrics-cluster-test-secret-0123456789abcdef";
const TOKEN: &str = "metrics-token-0123456789abcdef0123456789";
/// An address outside loopback and the trusted proxies, as a trusted proxy (loopback) reports it.
const REMOTE: &str = "203.0.113.7";

/// `/metrics` as a client at `REMOTE` behind the loopback proxy, with an optional Bearer token.
async fn scrape_from_remote(app: &TestApp, token: Option<&str>) -> (StatusCode, String) {
    let mut request = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", REMOTE);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// `/metrics` from loopback (always allowed).
async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// The value of the sample `series` (name and labels exactly as rendered), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Sum of every sample of the metric `name` (any labels).
fn total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Polls `app`'s `/metrics` until `done` holds for it (or the wait is over); the last scrape.
async fn scrape_until(app: &TestApp, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + exec_support::WAIT;
    loop {
        let text = scrape(app).await;
        if done(&text) || tokio::time::Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn metrics_need_the_token_or_a_trusted_address() {
    let app = TestApp::spawn_with(&[("METRICS_TOKEN", TOKEN)]).await;
    // Loopback without a token, as before.
    assert!(scrape(&app)
        .await
        .contains("# TYPE opencoder_exec_queue_waiting gauge"));
    // A remote client: nothing without the token, the same 404 with a wrong one.
    let (status, body) = scrape_from_remote(&app, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("opencoder_"), "{body}");
    for wrong in [&TOKEN[1..], &format!("{TOKEN}x"), "", &TOKEN.to_uppercase()] {
        let (status, _) = scrape_from_remote(&app, Some(wrong)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "token {wrong:?}");
    }
    let (status, body) = scrape_from_remote(&app, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(
            r#"opencoder_http_requests_total{method="GET",route="/metrics",status="2xx"} 1"#
        ),
        "{body}"
    );

    // Without METRICS_TOKEN no token opens it to a remote client.
    let open = TestApp::spawn().await;
    assert_eq!(
        scrape_from_remote(&open, Some(TOKEN)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        scrape_from_remote(&open, Some("")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn rejections_name_the_budget_that_refused() {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_PER_MINUTE", "2")]).await;
    let statuses = [
        app.get("/api/health", None).await.status,
        app.get("/api/health", None).await.status,
        app.get("/api/health", None).await.status,
    ];
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let text = scrape(&app).await;
    let global = r#"opencoder_rate_limit_rejections_total{limiter="global",route="/api/health"}"#;
    assert_eq!(sample(&text, global), Some(1.0), "{text}");
    assert_eq!(total(&text, "opencoder_rate_limit_rejections_total"), 1.0);
}

#[tokio::test]
async fn two_servers_in_one_process_count_apart() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn().await;
    for _ in 0..3 {
        assert_eq!(first.get("/api/health", None).await.status, StatusCode::OK);
    }
    let series = r#"opencoder_http_requests_total{method="GET",route="/api/health",status="2xx"}"#;
    assert_eq!(sample(&scrape(&first).await, series), Some(3.0));
    assert_eq!(
        sample(&scrape(&second).await, series),
        None,
        "the second server saw none of them"
    );
    assert_eq!(second.get("/api/health", None).await.status, StatusCode::OK);
    assert_eq!(sample(&scrape(&second).await, series), Some(1.0));
    assert_eq!(sample(&scrape(&first).await, series), Some(3.0));
}

#[tokio::test]
async fn every_subsystem_reports_after_real_traffic() {
    let app = exec_support::spawn_docker(&[("SIGNUP_RATE_LIMIT_PER_MINUTE", "2")]).await;
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    // The signup budget is spent: the next sign-ups are refused.
    let refused = app
        .post("/api/auth/guest", None, json!({ "name": "Third" }))
        .await;
    let refused_again = app
        .post("/api/auth/guest", None, json!({ "name": "Fourth" }))
        .await;
    assert!(
        [refused.status, refused_again.status].contains(&StatusCode::TOO_MANY_REQUESTS),
        "{:?} {:?}",
        refused.body,
        refused_again.body
    );
    // A request with a token that is not a session.
    assert_eq!(
        app.get(&format!("/api/pads/{}", pad.slug), Some("not-a-session"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get(&format!("/api/pads/{}", pad.slug), Some(&owner))
            .await
            .status,
        StatusCode::OK
    );

    // A recording with a seek segment every two updates.
    app.state.recordings.set_segment_updates(2);
    let recording = app
        .post(
            &format!("/api/pads/{}/recordings", pad.slug),
            Some(&owner),
            json!({}),
        )
        .await;
    assert!(recording.status.is_success(), "{:?}", recording.body);

    let mut peer = collab_support::connect(&app.base, &pad.slug, &owner).await;
    peer.synced().await;
    for line in ["\n# edited", " over", " the socket\n"] {
        peer.append(&pad.file, line).await;
    }
    let while_open = scrape_until(&app, |t| {
        total(t, "opencoder_persist_commit_seconds_count") >= 1.0
            && sample(t, "opencoder_recording_segments_written_total") >= Some(1.0)
    })
    .await;
    assert_eq!(
        sample(&while_open, "opencoder_recordings_active"),
        Some(1.0),
        "{while_open}"
    );
    assert!(
        sample(&while_open, "opencoder_recording_segments_written_total") >= Some(1.0),
        "{while_open}"
    );
    assert_eq!(
        sample(&while_open, "opencoder_pad_sockets_open"),
        Some(1.0),
        "{while_open}"
    );
    assert_eq!(sample(&while_open, "opencoder_pad_rooms_live"), Some(1.0));
    assert!(
        sample(
            &while_open,
            r#"opencoder_pad_frames_received_total{kind="update"}"#
        ) >= Some(1.0),
        "{while_open}"
    );
    assert!(
        sample(
            &while_open,
            r#"opencoder_pad_frames_received_total{kind="sync_request"}"#
        ) >= Some(1.0)
    );
    assert!(sample(&while_open, "opencoder_pad_fanout_seconds_count") >= Some(1.0));
    assert!(
        total(&while_open, "opencoder_persist_commit_seconds_count") >= 1.0,
        "{while_open}"
    );
    assert!(total(&while_open, "opencoder_persist_batch_items_sum") >= 1.0);
    assert!(sample(&while_open, "opencoder_persist_docs_loaded") >= Some(1.0));
    peer.close().await;
    // A socket the server closes: a text frame is refused with 1003.
    let mut texting = collab_support::connect(&app.base, &pad.slug, &owner).await;
    texting.synced().await;
    texting
        .ws
        .send(WsMessage::Text("not a y-protocols frame".into()))
        .await
        .unwrap();
    assert_eq!(texting.closed_within(exec_support::WAIT).await, Some(1003));

    let run = app
        .post(
            &format!("/api/pads/{}/runs?wait=1", pad.slug),
            Some(&owner),
            json!({ "entry": pad.name }),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{:?}", run.body);

    let text = scrape_until(&app, |t| {
        sample(t, r#"opencoder_pad_sockets_closed_total{code="client"}"#).is_some()
            && sample(t, "opencoder_pad_sockets_open") == Some(0.0)
    })
    .await;
    // HTTP, by route template and status class, with latency.
    assert!(
        sample(
            &text,
            r#"opencoder_http_requests_total{method="POST",route="/api/pads",status="2xx"}"#
        ) >= Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            r#"opencoder_http_requests_total{method="GET",route="/api/pads/{slug}",status="2xx"}"#
        ) >= Some(1.0)
    );
    assert!(
        sample(
            &text,
            r#"opencoder_http_requests_total{method="POST",route="/api/auth/guest",status="4xx"}"#
        ) >= Some(1.0)
    );
    assert!(
        sample(
            &text,
            r#"opencoder_http_request_duration_seconds_count{route="/api/pads/{slug}/runs"}"#
        ) >= Some(1.0)
    );
    // Rejections and auth failures.
    let signup_refusals =
        r#"opencoder_rate_limit_rejections_total{limiter="endpoint",route="/api/auth/guest"}"#;
    assert!(sample(&text, signup_refusals) >= Some(1.0), "{text}");
    assert!(
        total(&text, "opencoder_auth_failures_total") >= 1.0,
        "{text}"
    );
    // Sockets: the client's close and the server's, nothing open any more.
    assert_eq!(
        sample(
            &text,
            r#"opencoder_pad_sockets_closed_total{code="client"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"opencoder_pad_sockets_closed_total{code="1003"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "opencoder_pad_sockets_open"), Some(0.0));
    // Runs: outcome by language, duration, the queue drained, a container made.
    assert!(total(&text, "opencoder_exec_runs_total") >= 1.0, "{text}");
    assert_eq!(
        sample(
            &text,
            r#"opencoder_exec_run_duration_seconds_count{language="python"}"#
        ),
        Some(1.0)
    );
    assert_eq!(sample(&text, "opencoder_exec_queue_running"), Some(0.0));
    assert_eq!(sample(&text, "opencoder_exec_queue_waiting"), Some(0.0));
    assert!(sample(&text, "opencoder_exec_containers_created_total") >= Some(1.0));
    assert_eq!(sample(&text, "opencoder_terminal_sessions_open"), Some(0.0));
    // Bounded labels: templates, never the pad's slug or anyone's token.
    for secret in [pad.slug.as_str(), owner.as_str(), "not-a-session"] {
        assert!(!text.contains(secret), "{secret} leaked into /metrics");
    }
    let routes: BTreeSet<&str> = text
        .lines()
        .filter_map(|line| line.split("route=\"").nth(1)?.split('"').next())
        .collect();
    assert!(
        routes
            .iter()
            .all(|r| *r == "unmatched" || r.starts_with('/')),
        "{routes:?}"
    );
    assert!(routes.contains("/api/pads/{slug}"), "{routes:?}");
    assert_the_dashboard_queries_exist(&text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bus_messages_and_lease_takeovers_are_counted_per_node() {
    let redis = RedisServer::start();
    let url = redis.url();
    let a = TestApp::spawn_with(&[("REDIS_URL", &url), ("JWT_SECRET", SHARED_SECRET)]).await;
    let db_url = format!(
        "sqlite://{}",
        a.state.config.data_dir.join("opencoder.db").display()
    );
    let b = TestApp::spawn_with(&[
        ("REDIS_URL", &url),
        ("JWT_SECRET", SHARED_SECRET),
        ("DATABASE_URL", &db_url),
    ])
    .await;
    let http = Http::new(&a.base);
    let (_, owner) = http.signup("Owner").await;
    let pad = http.create_pad(&owner).await;
    let gained = |kind: &str| format!("opencoder_cluster_leases_gained_total{{kind=\"{kind}\"}}");
    let published = r#"opencoder_bus_messages_total{direction="published"}"#;
    let received = r#"opencoder_bus_messages_total{direction="received"}"#;
    let before = scrape(&b).await;
    // Creating the pad already relayed its starter text live: the count need not be zero.
    let received_before = sample(&before, received)
        .unwrap_or_else(|| panic!("every bus series is there from the start: {before}"));
    assert_eq!(sample(&before, &gained("takeover")), Some(0.0));

    // A socket on A: A owns the pad (the first holder) and relays the edit to B through Redis.
    let mut on_a = collab_support::connect(&a.base, &pad.slug, &owner).await;
    on_a.synced().await;
    on_a.append(&pad.file, "relayed;").await;
    let text_a = scrape_until(&a, |t| {
        sample(t, &gained("new")) >= Some(1.0) && sample(t, published) >= Some(1.0)
    })
    .await;
    assert_eq!(sample(&text_a, &gained("new")), Some(1.0), "{text_a}");
    assert!(sample(&text_a, published) >= Some(1.0), "{text_a}");
    let text_b = scrape_until(&b, |t| sample(t, received) > Some(received_before)).await;
    assert!(
        sample(&text_b, received) > Some(received_before),
        "{text_b}"
    );
    assert_eq!(
        sample(&text_b, &gained("new")),
        Some(0.0),
        "B holds nothing yet"
    );

    // A stops renewing; B, with a socket of the pad, takes it over; A, resumed, counts the loss.
    a.state.ownership.pause_renewals(true);
    let mut on_b = collab_support::connect(&b.base, &pad.slug, &owner).await;
    on_b.synced().await;
    let text_b = scrape_until(&b, |t| sample(t, &gained("takeover")) >= Some(1.0)).await;
    assert_eq!(sample(&text_b, &gained("takeover")), Some(1.0), "{text_b}");
    a.state.ownership.pause_renewals(false);
    let text_a = scrape_until(&a, |t| {
        sample(t, "opencoder_cluster_leases_lost_total") >= Some(1.0)
    })
    .await;
    assert_eq!(
        sample(&text_a, "opencoder_cluster_leases_lost_total"),
        Some(1.0),
        "{text_a}"
    );
    assert_eq!(sample(&text_a, &gained("takeover")), Some(0.0));
    for reason in ["queue_full", "publish_failed", "malformed"] {
        assert_eq!(
            sample(
                &text_a,
                &format!("opencoder_bus_dropped_total{{reason=\"{reason}\"}}")
            ),
            Some(0.0)
        );
    }
}

/// The metric names a dashboard's queries use (histogram series by their family name).
fn queried_metrics(dashboard: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let panels = dashboard["panels"].as_array().expect("panels");
    for target in panels
        .iter()
        .flat_map(|p| p["targets"].as_array().expect("targets").iter())
    {
        let expr = target["expr"].as_str().expect("expr");
        let mut rest = expr;
        while let Some(at) = rest.find("opencoder_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(&name);
            names.insert(family.to_string());
        }
    }
    names
}

/// Every metric the Grafana dashboard queries is a family of the scraped `text`.
fn assert_the_dashboard_queries_exist(text: &str) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/grafana/opencoder.json"
    );
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .expect("the dashboard is JSON");
    let queried = queried_metrics(&dashboard);
    assert!(queried.len() >= 20, "{queried:?}");
    let families: BTreeSet<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.split(' ').next())
        .collect();
    let missing: Vec<&String> = queried
        .iter()
        .filter(|name| !families.contains(name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics /metrics does not have: {missing:?}"
    );
}
