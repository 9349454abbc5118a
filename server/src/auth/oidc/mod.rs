//! Single sign-on with OpenID Connect (issue 14 §6), beside name-only accounts or as the only way
//! in (`AUTH_MODE=sso`). Authorization code flow with PKCE, nonce and state, on the
//! `openidconnect` crate (discovery, token exchange, ID token verification); accounts are linked
//! to provider identities by (issuer, subject).
//!
//! - `settings` — `OIDC_*` and `AUTH_MODE`, and their refusals
//! - `provider` — discovery (cached, refreshed), the client, the HTTP client that follows no redirect
//! - `flow`     — starting and completing a sign-in; linking, creating or finding the account
//! - `claims`   — the name and the admin role a verified ID token gives
//! - `doctor`   — `opencoder doctor`'s check that the provider answers
//! - `logout`   — the provider's end-session URL for a signing-out browser
//! - `store`    — sign-ins under way and identity links
//! - `routes`   — `/api/auth/config`, `/api/auth/oidc/start`, `/api/auth/oidc/callback`

pub mod claims;
pub mod doctor;
pub mod flow;
pub mod logout;
pub mod provider;
pub mod routes;
pub mod settings;
pub mod store;

pub use provider::Provider;
pub use routes::router;
pub use settings::{AuthMode, OidcSettings};
