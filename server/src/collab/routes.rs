//! The collaboration module's routes: the pad socket `GET /ws/pad/{slug}` (SPEC §4; not in the
//! OpenAPI description, which cannot describe WebSockets) and the chat history endpoint.

use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(super::chat::history))
        .route("/ws/pad/{slug}", get(super::ws::upgrade))
}
