//! Pads, files, roles, members, invites, passwords and fork (SPEC §3).
//!
//! - `roles`            — the SPEC §3 capability table
//! - `access`           — `PadAccess`: the pad in the path plus the caller's current role
//! - `languages`        — language ids, aliases, extensions, starter files
//! - `lifecycle`        — create, read, change, delete and fork pads
//! - `files`            — file names, limits, create/rename/re-language/delete
//! - `members`          — role changes, kicks (which stick until a re-admit), leaving
//! - `invites`          — invite links: create, list, revoke, preview, accept
//! - `passwords`        — password pads: set, clear, preview, unlock
//! - `unlock_throttle`  — growing per-pad and per-client delays for unlock attempts
//! - `unlock_shared`    — the same counts kept in Redis, across nodes
//! - `store`, `files_store`, `invites_store` — the only SQL of this module
//! - `routes`           — the thin HTTP handlers

pub mod access;
pub mod files;
pub mod files_store;
pub mod invites;
pub mod invites_store;
pub mod languages;
pub mod lifecycle;
pub mod members;
pub mod passwords;
pub mod roles;
pub(crate) mod routes;
pub mod store;
pub mod unlock_shared;
pub mod unlock_throttle;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub use files::{MAX_FILES_PER_PAD, MAX_FILE_BYTES};

/// Every route of SPEC §3; merged into `api_router` by `lib.rs`.
pub fn router() -> OpenApiRouter<AppState> {
    routes::router()
}
