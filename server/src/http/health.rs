//! Liveness and readiness. `/healthz` answers while the process serves requests (a container's
//! liveness probe: it touches nothing else, so a slow database never gets the process killed).
//! `/readyz` is for load balancers and orchestrators: ready when the database answers, Redis
//! answers when `REDIS_URL` is set, and at least one execution backend can run code; otherwise 503
//! naming the failing checks. `/health` (older, kept for existing load balancer configurations)
//! fails only on the database: execution being down does not fail it, the pad still works for
//! editing, and `exec.available` says what is wrong. `/api/health` is the client's view, which
//! also shows whether code runs sandboxed.
//!
//! Both are unauthenticated, so neither may let a caller make the server work per request: the
//! execution backend's check (a Docker ping and an image lookup) is done at most once per
//! `EXEC_CHECK_TTL` and shared by every caller; only the database ping (local, cheap) is live.
//! `/health` says up or down and nothing else; the software version and the backend's detail
//! (the daemon's version, its error, every Docker host with its image, pool and load) are for
//! signed-in users of `/api/health` only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use oc_sandbox::BackendHealth;
use serde_json::json;
use tokio::sync::Mutex;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::extractors::{authenticate, token_from_headers};
use crate::AppState;

/// How long one check of the execution backend is reused.
pub const EXEC_CHECK_TTL: Duration = Duration::from_secs(5);
/// How long `/readyz` waits for the database's and Redis's answer before it counts them as down.
pub const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(api_health))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// The last check of the execution backend, and how many checks were made (for tests and
/// operators: it grows by at most one per `EXEC_CHECK_TTL`).
#[derive(Clone, Default)]
pub struct HealthCache {
    last: Arc<Mutex<Option<ExecCheck>>>,
    checks: Arc<AtomicU64>,
}

#[derive(Clone)]
struct ExecCheck {
    health: BackendHealth,
    at: Instant,
    at_ms: i64,
}

impl HealthCache {
    /// Checks of the execution backend made so far.
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// The backend's health, checked again only when the last check is older than the TTL.
    /// Callers arriving during a check wait for it rather than starting their own.
    async fn exec(&self, state: &AppState) -> ExecCheck {
        let mut last = self.last.lock().await;
        if let Some(check) = last.as_ref().filter(|c| c.at.elapsed() < EXEC_CHECK_TTL) {
            return check.clone();
        }
        self.checks.fetch_add(1, Ordering::Relaxed);
        let check = ExecCheck {
            health: state.exec.health().await,
            at: Instant::now(),
            at_ms: chrono::Utc::now().timestamp_millis(),
        };
        *last = Some(check.clone());
        check
    }
}

fn status_of(database: bool) -> StatusCode {
    if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// Up or down, for load balancers: no version, no detail.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, description = "healthy"), (status = 503)))]
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.db.ping().await;
    let exec = state.health.exec(&state).await;
    let body = json!({
        "ok": database,
        "database": if database { "ok" } else { "unreachable" },
        "exec": { "available": exec.health.available, "checkedAt": exec.at_ms },
    });
    (status_of(database), axum::Json(body))
}

/// The process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "the process serves requests")))]
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "ok": true }))
}

/// Whether Redis answers a PING in time; `None` when this node runs without Redis.
async fn redis_answers(state: &AppState) -> Option<bool> {
    let mut redis = state.redis.clone()?;
    let command = redis::cmd("PING");
    let ping = command.query_async::<String>(&mut redis);
    Some(matches!(
        tokio::time::timeout(READY_CHECK_TIMEOUT, ping).await,
        Ok(Ok(_))
    ))
}

async fn database_answers(state: &AppState) -> bool {
    tokio::time::timeout(READY_CHECK_TIMEOUT, state.db.ping())
        .await
        .unwrap_or(false)
}

/// Ready for traffic: the database, Redis when configured, and a backend that runs code.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses((status = 200, description = "ready"), (status = 503, description = "not ready; `failing` names the checks"))
)]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (database, redis, exec) = tokio::join!(
        database_answers(&state),
        redis_answers(&state),
        state.health.exec(&state)
    );
    let mut checks = serde_json::Map::new();
    checks.insert("database".into(), json!(database));
    if let Some(redis) = redis {
        checks.insert("redis".into(), json!(redis));
    }
    checks.insert("exec".into(), json!(exec.health.available));
    let failing: Vec<&String> = checks
        .iter()
        .filter(|(_, ok)| **ok == json!(false))
        .map(|(name, _)| name)
        .collect();
    let status = if failing.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(json!({ "ready": failing.is_empty(), "failing": failing, "checks": checks })),
    )
}

/// The client's view: whether runs are sandboxed; signed-in callers also get the version and the
/// backend's detail.
#[utoipa::path(get, path = "/api/health", tag = "health", responses((status = 200, description = "healthy"), (status = 503)))]
async fn api_health(State(state): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let database = state.db.ping().await;
    let exec = state.health.exec(&state).await;
    let mut body = json!({
        "ok": database,
        "name": "opencoder",
        "mode": if state.config.is_production() { "production" } else { "development" },
        // Several nodes share pads through Redis (`REDIS_URL`); otherwise this node is alone.
        "cluster": state.config.redis_url.is_some(),
        "database": if database { "ok" } else { "unreachable" },
        // The client shows a banner when `isolated` is false: runs are not sandboxed.
        "exec": {
            "backend": exec.health.kind.as_str(),
            "isolated": exec.health.isolated,
            "available": exec.health.available,
            "checkedAt": exec.at_ms,
        },
    });
    let signed_in = match token_from_headers(&headers) {
        Some((token, _)) => authenticate(&state, &token).await.is_ok(),
        None => false,
    };
    if signed_in {
        body["version"] = json!(env!("CARGO_PKG_VERSION"));
        body["exec"]["detail"] = json!(exec.health.detail);
        // Every Docker host: address (no credentials), version, image, pool, load.
        body["exec"]["hosts"] = json!(exec.health.hosts);
    }
    (status_of(database), axum::Json(body))
}
