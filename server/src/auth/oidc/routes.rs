//! `/api/auth/oidc/*` and `/api/auth/config`: which ways in exist, starting a single sign-on,
//! the provider's callback, and whether an account is linked.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::flow::{self, Callback};
use super::provider::Provider;
use super::settings::EXPIRED_NOTICE;
use crate::audit::Actor;
use crate::auth::extractors::cookie_value;
use crate::auth::tokens::TOKEN_TTL_SECS;
use crate::auth::{cookie, CurrentUser};
use crate::error::{AppError, AppResult};
use crate::http::client_ip::ClientIp;
use crate::http::json::ApiJson;
use crate::AppState;

/// Holds the value that names this browser's sign-in under way; only the callback receives it.
pub const BINDING_COOKIE: &str = "oc_sso";
const BINDING_PATH: &str = "/api/auth/oidc";
/// Holds the ID token of the last single sign-on, the `id_token_hint` of the provider's logout;
/// only `/api/auth/*` receives it.
pub const ID_TOKEN_COOKIE: &str = "oc_sso_id";
pub const ID_TOKEN_PATH: &str = "/api/auth";
/// Browsers drop cookies over 4 KiB; a larger ID token is not kept (logout then names the
/// client instead of hinting the token).
const MAX_ID_TOKEN_COOKIE_BYTES: usize = 3800;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth_config))
        .routes(routes!(start))
        .routes(routes!(callback))
        .routes(routes!(link_status))
}

/// Which ways in this server offers: name-only accounts (`names`), single sign-on (`sso`, with
/// the button's label), both, or SSO alone.
#[utoipa::path(get, path = "/api/auth/config", tag = "auth", responses(
    (status = 200, description = "`{names: bool, sso: {label} | null}`")))]
async fn auth_config(State(state): State<AppState>) -> impl IntoResponse {
    let sso = state
        .oidc
        .as_ref()
        .map(|p| json!({ "label": p.settings.label }));
    axum::Json(json!({ "names": state.config.oidc.names_allowed(), "sso": sso }))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct StartRequest {
    /// A live pad invite token: lets a first sign-in create its account while sign-up is
    /// invite-only.
    invite: Option<String>,
    /// Link the signed-in account to the identity that comes back instead of signing in.
    #[serde(default)]
    link: bool,
}

fn provider(state: &AppState) -> AppResult<&Provider> {
    state.oidc.as_ref().ok_or(AppError::NotFound)
}

/// Start a single sign-on: answers the provider's authorization URL (send the browser there) and
/// sets this browser's sign-in cookie. `link: true` (signed in) links the account instead.
#[utoipa::path(post, path = "/api/auth/oidc/start", tag = "auth", request_body = StartRequest,
    responses((status = 200, description = "`{url}` and the `oc_sso` cookie"),
        (status = 401, description = "`link` without a session"),
        (status = 404, description = "single sign-on is not configured"), (status = 429),
        (status = 503, description = "sso_unavailable: the provider cannot be reached")))]
async fn start(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    current: Result<CurrentUser, AppError>,
    ApiJson(body): ApiJson<StartRequest>,
) -> AppResult<Response> {
    state.rate_limits.signup.check_or_429(ip).await?;
    let provider = provider(&state)?;
    let link_user = match body.link {
        true => Some(current?.user.id),
        false => None,
    };
    let started = flow::start(&state, provider, link_user, body.invite.as_deref())
        .await
        .map_err(|err| {
            tracing::warn!(code = err.code(), error = %err, "single sign-on could not start");
            match err {
                flow::SsoError::Refused(err) => err,
                other => AppError::Unavailable {
                    code: other.code(),
                    message: "the identity provider cannot be reached; try again later".into(),
                },
            }
        })?;
    let binding = cookie::scoped_cookie(
        BINDING_COOKIE,
        &started.binding,
        BINDING_PATH,
        (state.config.oidc.login_ttl + EXPIRED_NOTICE).as_secs(),
        &headers,
        &state.config,
    );
    Ok((
        [(header::SET_COOKIE, binding)],
        axum::Json(json!({ "url": started.url })),
    )
        .into_response())
}

/// Whether the signed-in account is linked to an identity at the provider.
#[utoipa::path(get, path = "/api/auth/oidc/link", tag = "auth",
    responses((status = 200, description = "`{linked: bool}`"), (status = 401),
        (status = 404, description = "single sign-on is not configured")))]
async fn link_status(
    State(state): State<AppState>,
    current: CurrentUser,
) -> AppResult<impl IntoResponse> {
    provider(&state)?;
    let linked = super::store::is_linked(&state.db, current.user.id).await?;
    Ok(axum::Json(json!({ "linked": linked })))
}

#[derive(Deserialize, IntoParams)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    /// The provider's refusal (`access_denied`, …).
    error: Option<String>,
}

/// The provider sends the browser back here. Signs in (session cookie, like sign-up) and
/// redirects to `/`; on any failure redirects to `/?sso_error=<code>` and signs nobody in.
#[utoipa::path(get, path = "/api/auth/oidc/callback", tag = "auth", params(CallbackParams),
    responses((status = 303, description = "to `/` with the `oc_token` cookie, or to `/?sso_error=<code>`: sso_state_mismatch, sso_login_expired, sso_provider_error, sso_code_rejected, sso_id_token_invalid, sso_unavailable, sso_already_linked, signup_closed, signup_invite_required, account_disabled"),
        (status = 404, description = "single sign-on is not configured"), (status = 429)))]
async fn callback(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    actor: Actor,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> AppResult<Response> {
    state.rate_limits.signup.check_or_429(ip).await?;
    let provider = provider(&state)?;
    let binding = cookie_value(&headers, BINDING_COOKIE);
    let outcome = flow::complete(
        &state,
        provider,
        binding.as_deref(),
        Callback {
            code: params.code,
            state: params.state,
            error: params.error,
        },
        &actor,
    )
    .await;
    let clear_binding =
        cookie::clear_scoped_cookie(BINDING_COOKIE, BINDING_PATH, &headers, &state.config);
    let mut response = match outcome {
        Ok(done) => {
            let (_, session) = cookie::new_session(&state, &done.user, &headers);
            let mut response = see_other("/");
            let cookies = response.headers_mut();
            cookies.append(header::SET_COOKIE, session);
            if done.id_token.len() <= MAX_ID_TOKEN_COOKIE_BYTES {
                cookies.append(
                    header::SET_COOKIE,
                    cookie::scoped_cookie(
                        ID_TOKEN_COOKIE,
                        &done.id_token,
                        ID_TOKEN_PATH,
                        TOKEN_TTL_SECS as u64,
                        &headers,
                        &state.config,
                    ),
                );
            }
            response
        }
        Err(err) => {
            tracing::warn!(code = err.code(), error = %err, "single sign-on refused");
            see_other(&format!("/?sso_error={}", err.code()))
        }
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_binding);
    Ok(response)
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                HeaderValue::from_str(location).expect("locations are built from codes"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}
