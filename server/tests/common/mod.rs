//! Black-box test harness: the real router on 127.0.0.1:0 with a fresh SQLite database, driven
//! over real HTTP.
#![allow(dead_code)]

pub mod postgres;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;

use opencoder::config::Config;
use opencoder::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    /// A pool of its own on the server's SQLite file (none on PostgreSQL).
    sql: Option<sqlx::SqlitePool>,
    _dir: tempfile::TempDir,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A signed-up user.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: i64,
    pub name: String,
    pub token: String,
    pub recovery_key: String,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Two nodes of one cluster: A owns the SQLite file, B opens the same one; both use the Redis
    /// at `redis_url` and sign with `secret`, so a token from either works on both.
    pub async fn spawn_two_nodes(redis_url: &str, secret: &str) -> (TestApp, TestApp) {
        let a = Self::spawn_with(&[("REDIS_URL", redis_url), ("JWT_SECRET", secret)]).await;
        let db_url = format!(
            "sqlite://{}",
            a.state.config.data_dir.join("opencoder.db").display()
        );
        let b = Self::spawn_with(&[
            ("REDIS_URL", redis_url),
            ("JWT_SECRET", secret),
            ("DATABASE_URL", &db_url),
        ])
        .await;
        (a, b)
    }

    /// Spawn with extra environment variables (as the server would read them).
    pub async fn spawn_with(vars: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env: HashMap<String, String> = HashMap::new();
        env.insert("DATA_DIR".into(), dir.path().display().to_string());
        // Generous budgets by default so tests that are not about rate limits never hit them.
        env.insert("RATE_LIMIT_PER_MINUTE".into(), "100000".into());
        env.insert("SIGNUP_RATE_LIMIT_PER_MINUTE".into(), "10000".into());
        env.insert("RECORDING_STATES_PER_MINUTE".into(), "100000".into());
        env.insert("RECORDING_EXPORTS_PER_MINUTE".into(), "100000".into());
        // Tests share one Docker daemon: no warm containers unless a test asks, and never remove
        // another test's sandbox containers at start-up.
        env.insert("EXEC_POOL".into(), "".into());
        env.insert("EXEC_REMOVE_LEFTOVERS".into(), "0".into());
        for (k, v) in vars {
            env.insert(k.to_string(), v.to_string());
        }
        let mut config = Config::from_vars(&env).expect("test config is valid");
        config.prepare().expect("prepare data dir");
        let database_url = config.database_url.expose().clone();
        let state = AppState::new(config).await.expect("state");
        let sql = match opencoder::db::Backend::of_url(&database_url) {
            Some(opencoder::db::Backend::Sqlite) => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(&database_url)
                    .expect("SQLite URL");
                Some(
                    sqlx::SqlitePool::connect_with(options)
                        .await
                        .expect("open the SQLite file"),
                )
            }
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let serve_state = state.clone();
        tokio::spawn(async move {
            opencoder::serve(serve_state, listener)
                .await
                .expect("serve");
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            addr,
            base: format!("http://{addr}"),
            state,
            client,
            sql,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Send a request; `token` becomes `Authorization: Bearer`, `body` JSON.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::finish(req).await
    }

    pub async fn finish(req: reqwest::RequestBuilder) -> Resp {
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None).await
    }
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::POST, path, token, Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::PATCH, path, token, Some(body)).await
    }
    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::PUT, path, token, Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::DELETE, path, token, None).await
    }

    pub async fn signup(&self, name: &str) -> TestUser {
        let r = self
            .post("/api/auth/guest", None, json!({ "name": name }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "signup failed: {:?}", r.body);
        TestUser {
            id: r.body["user"]["id"].as_i64().unwrap(),
            name: name.to_string(),
            token: r.body["token"].as_str().unwrap().to_string(),
            recovery_key: r.body["recoveryKey"].as_str().unwrap().to_string(),
        }
    }

    /// A pool on the server's SQLite file, for assertions on rows no endpoint shows.
    pub fn sql(&self) -> &sqlx::SqlitePool {
        self.sql.as_ref().expect("this suite runs on SQLite")
    }

    /// Rows of the audit log with this action.
    pub async fn audit_rows(
        &self,
        action: &str,
    ) -> Vec<(Option<i64>, Option<String>, Option<String>)> {
        sqlx::query_as("SELECT user_id, target, meta FROM audit_log WHERE action = ? ORDER BY id")
            .bind(action)
            .fetch_all(self.sql())
            .await
            .unwrap()
    }
}

/// Pad helpers (SPEC §3), shared by every suite that needs a pad with members.
impl TestApp {
    /// Send raw bytes with an optional Content-Type (malformed JSON, invalid UTF-8, …).
    pub async fn request_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut req = self.client.request(method, self.url(path)).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        Self::finish(req).await
    }

    /// Create a pad as `user` (asserting 201) and return the response body `{pad, files, myRole}`.
    pub async fn create_pad(&self, user: &TestUser, body: Value) -> Value {
        let r = self.post("/api/pads", Some(&user.token), body).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "create pad failed: {:?}",
            r.body
        );
        r.body
    }

    /// A pad of `user` in `language` whose file `name` holds `source`; returns its slug.
    pub async fn pad_with_file(
        &self,
        user: &TestUser,
        language: &str,
        name: &str,
        source: &str,
    ) -> String {
        let body = self
            .create_pad(user, json!({ "title": "runs", "language": language }))
            .await;
        let slug = body["pad"]["slug"].as_str().unwrap().to_string();
        let file = self
            .post(
                &format!("/api/pads/{slug}/files"),
                Some(&user.token),
                json!({ "name": name, "content": source }),
            )
            .await;
        assert_eq!(file.status, StatusCode::CREATED, "{:?}", file.body);
        slug
    }

    /// An interview pad started by `owner` from a fresh question (Python); returns its slug and
    /// first file id.
    pub async fn start_interview(&self, owner: &TestUser) -> (String, i64) {
        let question = self
            .post(
                "/api/questions",
                Some(&owner.token),
                json!({
                    "title": "Two sum", "prompt": "Find two numbers.", "difficulty": "easy",
                    "tags": [], "languages": [{ "language": "python", "files": [] }], "guidance": "",
                }),
            )
            .await;
        assert_eq!(question.status, StatusCode::CREATED, "{:?}", question.body);
        let started = self
            .post(
                &format!("/api/questions/{}/interviews", question.body["id"]),
                Some(&owner.token),
                json!({ "language": "python" }),
            )
            .await;
        assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
        (
            started.body["pad"]["slug"].as_str().unwrap().to_string(),
            started.body["files"][0]["id"].as_i64().unwrap(),
        )
    }

    /// `candidate` joins the interview through an invite, knocks and is let in by `owner`.
    pub async fn admit_candidate(&self, owner: &TestUser, slug: &str, candidate: &TestUser) {
        self.add_member(owner, slug, candidate, "candidate").await;
        let knocked = self
            .post(
                &format!("/api/pads/{slug}/interview/knock"),
                Some(&candidate.token),
                json!({}),
            )
            .await;
        assert_eq!(knocked.status, StatusCode::OK, "{:?}", knocked.body);
        let admitted = self
            .post(
                &format!("/api/pads/{slug}/interview/admissions/{}", candidate.id),
                Some(&owner.token),
                json!({ "admit": true }),
            )
            .await;
        assert_eq!(admitted.status, StatusCode::OK, "{:?}", admitted.body);
    }

    /// Make `member` join the pad with `role` through a fresh invite from `owner` (asserting success).
    pub async fn add_member(&self, owner: &TestUser, slug: &str, member: &TestUser, role: &str) {
        let invite = self
            .post(
                &format!("/api/pads/{slug}/invites"),
                Some(&owner.token),
                json!({ "role": role }),
            )
            .await;
        assert_eq!(
            invite.status,
            StatusCode::CREATED,
            "invite failed: {:?}",
            invite.body
        );
        let token = invite.body["invite"]["token"].as_str().unwrap().to_string();
        let accepted = self
            .post(
                &format!("/api/invites/{token}/accept"),
                Some(&member.token),
                json!({}),
            )
            .await;
        assert_eq!(
            accepted.status,
            StatusCode::OK,
            "accept failed: {:?}",
            accepted.body
        );
    }
}
