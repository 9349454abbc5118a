//! `/api/auth/*`: name-only sign-up, recovery, the account, logout (SPEC §2).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extractors::{cookie_value, token_from_headers, CurrentUser};
use super::names::validate_name;
use super::store::{self, User};
use super::{cookie, recovery};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::bus::DomainEvent;
use crate::db::UserId;
use crate::error::{AppError, AppResult};
use crate::http::client_ip::ClientIp;
use crate::http::json::ApiJson;
use crate::pads::roles::Role;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(recover))
        .routes(routes!(get_me, rename_me, delete_me))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(rotate_recovery_key))
}

#[derive(Deserialize, ToSchema)]
pub struct SignupRequest {
    name: String,
    /// A live pad invite token: required while sign-up is invite-only.
    invite: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoverRequest {
    recovery_key: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RenameRequest {
    name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct DeleteRequest {
    confirm: String,
}

fn session_response(
    status: StatusCode,
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    extra: serde_json::Value,
) -> Response {
    let (token, cookie) = cookie::new_session(state, user, headers);
    let mut body = json!({ "token": token, "user": user });
    if let (Some(body), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    (status, [(header::SET_COOKIE, cookie)], axum::Json(body)).into_response()
}

/// `user` has just signed in: `action` is audited as theirs (from the request's address) and the
/// answer carries a new session.
async fn signed_in(
    state: &AppState,
    actor: Actor,
    headers: &HeaderMap,
    user: &User,
    action: AuditAction,
    status: StatusCode,
    extra: serde_json::Value,
) -> Response {
    state
        .audit
        .record(
            &Actor {
                user: Some(user.id),
                ..actor
            },
            AuditEvent::new(action).target(user.id.to_string()),
        )
        .await;
    session_response(status, state, headers, user, extra)
}

/// With `AUTH_MODE=sso` the provider is the only way in: no name-only account is created and no
/// recovery key signs in (sessions already issued last until they end; see the README).
fn refuse_when_sso_only(state: &AppState) -> AppResult<()> {
    if state.config.oidc.names_allowed() {
        return Ok(());
    }
    let label = state
        .oidc
        .as_ref()
        .map_or("SSO", |p| p.settings.label.as_str());
    Err(AppError::Forbidden {
        code: "sso_only",
        message: format!("this server signs people in only with {label}"),
    })
}

/// Create a name-only account; the recovery key is shown this once.
#[utoipa::path(post, path = "/api/auth/guest", tag = "auth", request_body = SignupRequest,
    responses((status = 201, description = "{token, user, recoveryKey} and the oc_token cookie"), (status = 400),
        (status = 403, description = "signup_closed, signup_invite_required while sign-up is invite-only, or sso_only with AUTH_MODE=sso"), (status = 429)))]
async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    actor: Actor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignupRequest>,
) -> AppResult<Response> {
    state.rate_limits.signup.check_or_429(ip).await?;
    refuse_when_sso_only(&state)?;
    let name = validate_name(&body.name)?;
    crate::admin::admit_signup(&state, body.invite.as_deref()).await?;
    let key = recovery::generate();
    let hash = recovery::hash(&key).expect("generated keys are well-formed");
    let user = store::create(&state.db, &name, &hash).await?;
    Ok(signed_in(
        &state,
        actor,
        &headers,
        &user,
        AuditAction::UserSignup,
        StatusCode::CREATED,
        json!({ "recoveryKey": key }),
    )
    .await)
}

/// Exchange a recovery key for a fresh session.
#[utoipa::path(post, path = "/api/auth/recover", tag = "auth", request_body = RecoverRequest,
    responses((status = 200, description = "{token, user} and the oc_token cookie"), (status = 401),
        (status = 403, description = "account_disabled, or sso_only with AUTH_MODE=sso"), (status = 429)))]
async fn recover(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    actor: Actor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RecoverRequest>,
) -> AppResult<Response> {
    state.rate_limits.signup.check_or_429(ip).await?;
    refuse_when_sso_only(&state)?;
    let user = match recovery::hash(&body.recovery_key) {
        Some(hash) => store::find_by_recovery_hash(&state.db, &hash).await?,
        None => None,
    };
    let Some(user) = user else {
        state
            .audit
            .record(&actor, AuditEvent::new(AuditAction::UserRecoverFail))
            .await;
        return Err(AppError::Unauthenticated("invalid_recovery_key"));
    };
    let user = crate::admin::refuse_disabled(user)?;
    Ok(signed_in(
        &state,
        actor,
        &headers,
        &user,
        AuditAction::UserRecover,
        StatusCode::OK,
        json!({}),
    )
    .await)
}

/// Who is signed in. A request that carries no credentials at all is a visitor, not an error:
/// `200 {"user": null}`, so a landing page asking "am I signed in?" logs nothing. A token that is
/// present but bad or expired is still 401, so clients can tell "signed out" from "session ended".
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", responses(
    (status = 200, description = "`{user}`; `{\"user\": null}` when the request carries neither a bearer token nor the session cookie"),
    (status = 401, description = "a bearer token or cookie that is invalid or expired")))]
async fn get_me(
    headers: HeaderMap,
    current: Result<CurrentUser, AppError>,
) -> AppResult<impl IntoResponse> {
    if token_from_headers(&headers).is_none() {
        return Ok(axum::Json(json!({ "user": null })));
    }
    Ok(axum::Json(json!({ "user": current?.user })))
}

#[utoipa::path(patch, path = "/api/auth/me", tag = "auth", request_body = RenameRequest,
    responses((status = 200, description = "{user}"), (status = 400), (status = 401)))]
async fn rename_me(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<RenameRequest>,
) -> AppResult<impl IntoResponse> {
    let name = validate_name(&body.name)?;
    let user = store::rename(&state.db, current.user.id, &name)
        .await?
        .ok_or(AppError::Unauthenticated("invalid_token"))?;
    state
        .audit
        .record(
            &current.actor,
            AuditEvent::new(AuditAction::UserNameChange)
                .target(user.id.to_string())
                .meta(json!({ "from": current.user.name, "to": user.name })),
        )
        .await;
    Ok(axum::Json(json!({ "user": user })))
}

/// Delete the account and every pad it owns. Needs `{confirm: "DELETE"}`.
#[utoipa::path(delete, path = "/api/auth/me", tag = "auth", request_body = DeleteRequest,
    responses((status = 200, description = "{ok: true}; the cookie is cleared"), (status = 400), (status = 401)))]
async fn delete_me(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DeleteRequest>,
) -> AppResult<Response> {
    if body.confirm != "DELETE" {
        return Err(AppError::invalid(
            "confirmation_required",
            "send {\"confirm\": \"DELETE\"} to delete the account",
        ));
    }
    delete_account(
        &state,
        &current.actor,
        &current.user,
        AuditAction::UserDelete,
    )
    .await?;
    let cookie = cookie::clear_cookie(&headers, &state.config);
    Ok((
        [(header::SET_COOKIE, cookie)],
        axum::Json(json!({ "ok": true })),
    )
        .into_response())
}

/// Clear the session cookie on this browser. After a single sign-on, when the provider ends
/// sessions itself, `redirect` is its logout URL: the client sends the browser there, and the
/// provider sends it back to this server's front page.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", responses((status = 200, description = "{ok: true, redirect?: provider logout URL}")))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    use super::oidc::routes::{ID_TOKEN_COOKIE, ID_TOKEN_PATH};
    let id_token = cookie_value(&headers, ID_TOKEN_COOKIE);
    let redirect = match (&state.oidc, &id_token, &state.config.public_base_url) {
        (Some(provider), Some(token), Some(base)) => {
            super::oidc::logout::end_session_url(provider, Some(token), base).await
        }
        _ => None,
    };
    let mut body = json!({ "ok": true });
    if let Some(url) = redirect {
        body["redirect"] = json!(url);
    }
    let mut response = axum::Json(body).into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        cookie::clear_cookie(&headers, &state.config),
    );
    if id_token.is_some() {
        cookies.append(
            header::SET_COOKIE,
            cookie::clear_scoped_cookie(ID_TOKEN_COOKIE, ID_TOKEN_PATH, &headers, &state.config),
        );
    }
    response
}

/// Revoke every token of this account, everywhere.
#[utoipa::path(post, path = "/api/auth/logout-all", tag = "auth", responses((status = 200, description = "{ok: true}"), (status = 401)))]
async fn logout_all(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
) -> AppResult<Response> {
    end_sessions(
        &state,
        &current.actor,
        current.user.id,
        AuditAction::UserLogoutAll,
    )
    .await?;
    let cookie = cookie::clear_cookie(&headers, &state.config);
    Ok((
        [(header::SET_COOKIE, cookie)],
        axum::Json(json!({ "ok": true })),
    )
        .into_response())
}

/// Replace the recovery key; the old one stops working, and so does every other session: whoever
/// may have had the old key may have signed in with it. The caller gets a fresh session (the new
/// key is shown this once).
#[utoipa::path(post, path = "/api/auth/recovery-key", tag = "auth",
    responses((status = 200, description = "{recoveryKey, token, user} and the oc_token cookie"), (status = 401)))]
async fn rotate_recovery_key(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
) -> AppResult<Response> {
    // Audited first: a rotation that cannot be audited does not happen (see `audit`).
    state
        .audit
        .require(
            &current.actor,
            AuditEvent::new(AuditAction::UserRecoveryRotate).target(current.user.id.to_string()),
        )
        .await?;
    let key = recovery::generate();
    let hash = recovery::hash(&key).expect("generated keys are well-formed");
    store::set_recovery_hash(&state.db, current.user.id, &hash).await?;
    let epoch = revoke_sessions(&state, current.user.id).await?;
    let user = User {
        session_epoch: epoch,
        ..current.user
    };
    Ok(session_response(
        StatusCode::OK,
        &state,
        &headers,
        &user,
        json!({ "recoveryKey": key }),
    ))
}

/// Delete `user` and every pad it owns, audited as `action` (the account itself, or an operator)
/// before anything changes. Open sockets hear it on every node.
pub async fn delete_account(
    state: &AppState,
    actor: &Actor,
    user: &User,
    action: AuditAction,
) -> AppResult<()> {
    let memberships = crate::pads::store::memberships_of(&state.db, user.id).await?;
    let (owned, joined): (Vec<_>, Vec<_>) = memberships
        .into_iter()
        .partition(|(_, _, role)| *role == Role::Owner);
    // Audited first: an account is not deleted without its row.
    state
        .audit
        .require(
            actor,
            AuditEvent::new(action)
                .target(user.id.to_string())
                .meta(json!({
                    "name": user.name,
                    "padsDeleted": owned.iter().map(|(_, slug, _)| slug).collect::<Vec<_>>(),
                })),
        )
        .await?;
    store::delete(&state.db, user.id).await?;
    // The account's own sockets close first (4001, session revoked). Then everyone else on the
    // pads that went with the account is disconnected (4004, not left editing a document that can
    // no longer be saved), and the pads it belonged to hear it is gone (member lists, a shell it
    // typed into is replaced).
    state
        .bus
        .publish(DomainEvent::UserRevoked { user: user.id });
    for (pad, _, _) in &owned {
        state.bus.publish(DomainEvent::PadDeleted { pad: *pad });
    }
    for (pad, _, _) in &joined {
        state.bus.publish(DomainEvent::MemberChanged {
            pad: *pad,
            user: user.id,
            role: None,
        });
    }
    Ok(())
}

/// Revoke every token of `user` and close its sockets on every node, audited as `action` first.
pub async fn end_sessions(
    state: &AppState,
    actor: &Actor,
    user: UserId,
    action: AuditAction,
) -> AppResult<()> {
    state
        .audit
        .require(actor, AuditEvent::new(action).target(user.to_string()))
        .await?;
    revoke_sessions(state, user).await?;
    Ok(())
}

/// Every token of `user` stops working and its sockets close on every node; returns the new
/// session epoch.
pub async fn revoke_sessions(state: &AppState, user: UserId) -> AppResult<i64> {
    let epoch = store::bump_epoch(&state.db, user).await?;
    state.bus.publish(DomainEvent::UserRevoked { user });
    Ok(epoch)
}
