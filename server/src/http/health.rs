//! Liveness and readiness: `/health` for load balancers, `/api/health` for the client, which also
//! shows whether code runs sandboxed. Execution being down does not fail the check: the pad
//! still works for editing, and `exec.available` says what is wrong.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(api_health))
}

async fn report(state: &AppState) -> (StatusCode, axum::Json<serde_json::Value>) {
    let database = state.db.ping().await;
    let status = if database { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let exec = state.exec.health().await;
    let body = json!({
        "ok": database,
        "name": "opencoder",
        "version": env!("CARGO_PKG_VERSION"),
        "mode": if state.config.is_production() { "production" } else { "development" },
        "database": if database { "ok" } else { "unreachable" },
        // The client shows a banner when `isolated` is false: runs are not sandboxed.
        "exec": {
            "backend": exec.kind.as_str(),
            "isolated": exec.isolated,
            "available": exec.available,
            "detail": exec.detail,
        },
    });
    (status, axum::Json(body))
}

#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, description = "healthy"), (status = 503)))]
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    report(&state).await
}

#[utoipa::path(get, path = "/api/health", tag = "health", responses((status = 200, description = "healthy"), (status = 503)))]
async fn api_health(State(state): State<AppState>) -> impl IntoResponse {
    report(&state).await
}
