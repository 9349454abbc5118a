//! Liveness and readiness: `/health` for load balancers, `/api/health` for the client, which also
//! shows whether code runs sandboxed. Execution being down does not fail the check: the pad
//! still works for editing, and `exec.available` says what is wrong.
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

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(api_health))
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
        let check = ExecCheck { health: state.exec.health().await, at: Instant::now(), at_ms: chrono::Utc::now().timestamp_millis() };
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
