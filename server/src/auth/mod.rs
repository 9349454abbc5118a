//! Identity (SPEC §2): name-only accounts, recovery keys, single sign-on (`oidc`), JWT sessions
//! with a revocable epoch, the session cookie, and the `CurrentUser` extractor every protected
//! handler takes.

pub mod cookie;
pub mod extractors;
pub mod names;
pub mod oidc;
pub mod recovery;
pub mod routes;
pub mod store;
pub mod tokens;

pub use extractors::CurrentUser;
pub use store::User;

pub fn router() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    routes::router().merge(oidc::router())
}
