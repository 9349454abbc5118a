//! `GET /api/openapi.json`: the API description, derived from the routers themselves
//! (`utoipa-axum`), so a route cannot exist without appearing here.

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "opencoder", description = "Self-hosted collaborative coding pad. Authenticate with `Authorization: Bearer <token>` or the `oc_token` cookie."),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub fn router(spec: Arc<utoipa::openapi::OpenApi>) -> Router<AppState> {
    Router::new().route(
        "/api/openapi.json",
        get(move || {
            let spec = spec.clone();
            async move { axum::Json(spec.as_ref().clone()) }
        }),
    )
}
