//! HTTP handlers of SPEC §3, one file per noun. Handlers stay thin: extract (`PadAccess` for every
//! pad route, `CurrentUser` for the rest), check the capability, call one function of the domain
//! module, shape the response.
//!
//! Who may call what (401 anonymous, 404 non-member, 403 member without the capability):
//! - `can_view` (every member): read the pad, its files and members; leave (not the owner).
//! - `can_edit` (owner, collaborator, candidate): create, rename, re-language and delete files.
//! - `can_fork` (owner, collaborator, viewer): fork.
//! - `can_manage` (owner): change or delete the pad, password, invites, roles, kicks, re-admits.
//! - any signed-in user: create and list pads, preview/unlock a password pad, accept an invite.
//! - anyone: preview an invite.

mod files;
mod invites;
mod members;
mod pads;
mod passwords;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;

use crate::error::AppError;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(pads::router())
        .merge(files::router())
        .merge(members::router())
        .merge(invites::router())
        .merge(passwords::router())
}

/// Path parameters whose malformed values (bad percent-encoding, …) answer 404 like an unknown id,
/// in our error shape.
pub(crate) struct PathOr404<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathOr404<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| PathOr404(value))
            .map_err(|_| AppError::NotFound)
    }
}

/// `{ok: true}` for actions with nothing else to say.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Done {
    pub ok: bool,
}

pub(crate) fn done() -> axum::Json<Done> {
    axum::Json(Done { ok: true })
}
