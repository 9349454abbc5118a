//! Pads, files, roles, members, invites, passwords and fork (SPEC §3).

pub mod access;
pub mod roles;
pub mod store;
pub mod unlock_throttle;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
