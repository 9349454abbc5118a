//! `/api/admin/*`: what the admin page shows and does. Every handler takes [`AdminUser`], so a
//! caller who is not (or no longer) an admin gets 403 and an anonymous one 401.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::store::{self, PadOrder, PadRow, Page, UserRow};
use super::{sandboxes, AdminUser, SignupMode, UserChange};
use crate::audit::cli::AuditFilter;
use crate::audit::{AuditAction, AuditEvent, AuditRow};
use crate::auth::names::validate_name;
use crate::auth::routes::{delete_account, end_sessions};
use crate::bus::DomainEvent;
use crate::db::{PadId, UserId};
use crate::error::{AppError, AppResult};
use crate::exec::service::LiveRunView;
use crate::http::json::ApiJson;
use crate::AppState;

/// Rows per page of a listing when the request does not say.
pub const DEFAULT_PAGE: i64 = 50;
/// Most rows per page of any admin listing.
pub const MAX_PAGE: i64 = 200;
/// Longest search text of a listing, in characters.
pub const MAX_SEARCH_CHARS: usize = 100;
/// Pads in the storage tab's "largest histories".
pub const STORAGE_TOP_PADS: i64 = 10;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(rename_user, delete_user))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(end_user_sessions))
        .routes(routes!(list_pads))
        .routes(routes!(delete_pad))
        .routes(routes!(list_sandboxes))
        .routes(routes!(stop_run))
        .routes(routes!(stop_terminal))
        .routes(routes!(get_signup, set_signup))
        .routes(routes!(storage))
        .routes(routes!(audit_rows))
        .routes(routes!(audit_verify))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Part of a name (users) or of a title, slug or owner's name (pads), any case.
    pub search: Option<String>,
    /// Rows to skip.
    pub offset: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

impl ListQuery {
    fn window(&self) -> AppResult<(i64, i64)> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AppError::invalid(
                "invalid_limit",
                format!("limit must be between 1 and {MAX_PAGE}"),
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(AppError::invalid(
                "invalid_offset",
                "offset must not be negative",
            ));
        }
        Ok((offset, limit))
    }

    fn search(&self) -> AppResult<&str> {
        let search = self.search.as_deref().map_or("", str::trim);
        if search.chars().count() > MAX_SEARCH_CHARS {
            return Err(AppError::invalid(
                "invalid_search",
                format!("search text must be at most {MAX_SEARCH_CHARS} characters"),
            ));
        }
        Ok(search)
    }
}

async fn target_user(state: &AppState, id: i64) -> AppResult<UserRow> {
    store::find_user(&state.db, UserId(id))
        .await?
        .ok_or(AppError::NotFound)
}

/// Accounts, newest first.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", params(ListQuery),
    responses((status = 200, body = Page<UserRow>), (status = 400), (status = 401), (status = 403)))]
async fn list_users(
    _admin: AdminUser,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<Page<UserRow>>> {
    let (offset, limit) = query.window()?;
    Ok(Json(
        store::search_users(&state.db, query.search()?, offset, limit).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct RenameRequest {
    name: String,
}

/// Rename an account (the sign-up name rules apply).
#[utoipa::path(patch, path = "/api/admin/users/{id}", tag = "admin", params(("id" = i64, Path)),
    request_body = RenameRequest,
    responses((status = 200, body = UserRow), (status = 400), (status = 401), (status = 403), (status = 404)))]
async fn rename_user(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RenameRequest>,
) -> AppResult<Json<UserRow>> {
    let name = validate_name(&body.name)?;
    let user = target_user(&state, id).await?;
    state
        .audit
        .require(
            &admin.actor,
            AuditEvent::new(AuditAction::AdminUserRename)
                .target(user.id.to_string())
                .meta(json!({ "from": user.name, "to": name })),
        )
        .await?;
    crate::auth::store::rename(&state.db, user.id, &name)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(target_user(&state, id).await?))
}

/// Delete an account and every pad it owns (as the account's own deletion does).
#[utoipa::path(delete, path = "/api/admin/users/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, description = "{ok: true}"), (status = 401), (status = 403), (status = 404)))]
async fn delete_user(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let user = crate::auth::store::find(&state.db, UserId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    delete_account(&state, &admin.actor, &user, AuditAction::AdminUserDelete).await?;
    Ok(Json(json!({ "ok": true })))
}

/// Disable an account: it cannot sign in, its sessions end and its sockets close on every node.
#[utoipa::path(post, path = "/api/admin/users/{id}/disable", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = UserRow), (status = 401), (status = 403), (status = 404)))]
async fn disable_user(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<UserRow>> {
    let user = target_user(&state, id).await?;
    super::change_user(
        &state.db,
        &state.audit,
        &admin.actor,
        &user,
        UserChange::Disable,
    )
    .await?;
    state
        .bus
        .publish(DomainEvent::UserRevoked { user: user.id });
    Ok(Json(target_user(&state, id).await?))
}

/// Enable a disabled account again (it signs in with its recovery key).
#[utoipa::path(post, path = "/api/admin/users/{id}/enable", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = UserRow), (status = 401), (status = 403), (status = 404)))]
async fn enable_user(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<UserRow>> {
    let user = target_user(&state, id).await?;
    super::change_user(
        &state.db,
        &state.audit,
        &admin.actor,
        &user,
        UserChange::Enable,
    )
    .await?;
    Ok(Json(target_user(&state, id).await?))
}

/// End every session of an account (its logout everywhere).
#[utoipa::path(post, path = "/api/admin/users/{id}/logout-all", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, description = "{ok: true}"), (status = 401), (status = 403), (status = 404)))]
async fn end_user_sessions(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let user = target_user(&state, id).await?;
    end_sessions(
        &state,
        &admin.actor,
        user.id,
        AuditAction::AdminUserLogoutAll,
    )
    .await?;
    Ok(Json(json!({ "ok": true })))
}

/// Pads, newest first.
#[utoipa::path(get, path = "/api/admin/pads", tag = "admin", params(ListQuery),
    responses((status = 200, body = Page<PadRow>), (status = 400), (status = 401), (status = 403)))]
async fn list_pads(
    _admin: AdminUser,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<Page<PadRow>>> {
    let (offset, limit) = query.window()?;
    Ok(Json(
        store::search_pads(&state.db, query.search()?, PadOrder::Newest, offset, limit).await?,
    ))
}

/// Delete a pad and everything in it; its sockets close on every node.
#[utoipa::path(delete, path = "/api/admin/pads/{slug}", tag = "admin", params(("slug" = String, Path)),
    responses((status = 200, description = "{ok: true}"), (status = 401), (status = 403), (status = 404)))]
async fn delete_pad(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> AppResult<Json<serde_json::Value>> {
    let pad = crate::pads::store::find_by_slug(&state.db, &slug)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::pads::lifecycle::delete(&state, &admin.actor, &pad, AuditAction::AdminPadDelete).await?;
    Ok(Json(json!({ "ok": true })))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiveRunRow {
    #[serde(flatten)]
    run: LiveRunView,
    slug: String,
    title: String,
    /// The bus id of the node that hosts it.
    node: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TerminalRow {
    #[schema(value_type = i64)]
    pad: PadId,
    slug: String,
    title: String,
    node: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sandboxes {
    /// The nodes that answered (this one first); with several, those that answered in time.
    nodes: Vec<String>,
    runs: Vec<LiveRunRow>,
    terminals: Vec<TerminalRow>,
}

/// Runs in progress and running terminals on every node.
#[utoipa::path(get, path = "/api/admin/sandboxes", tag = "admin",
    responses((status = 200, body = Sandboxes), (status = 401), (status = 403)))]
async fn list_sandboxes(
    _admin: AdminUser,
    State(state): State<AppState>,
) -> AppResult<Json<Sandboxes>> {
    let hosted = sandboxes::across_cluster(&state).await;
    let mut listed = Sandboxes {
        nodes: hosted.iter().map(|h| h.node.clone()).collect(),
        runs: Vec::new(),
        terminals: Vec::new(),
    };
    for node in hosted {
        for run in node.runs {
            // A pad deleted while its run winds down has nothing left to name it by.
            if let Some(pad) = crate::pads::store::find(&state.db, run.pad).await? {
                listed.runs.push(LiveRunRow {
                    run,
                    slug: pad.slug,
                    title: pad.title,
                    node: node.node.clone(),
                });
            }
        }
        for id in node.terminals {
            if let Some(pad) = crate::pads::store::find(&state.db, id).await? {
                listed.terminals.push(TerminalRow {
                    pad: pad.id,
                    slug: pad.slug,
                    title: pad.title,
                    node: node.node.clone(),
                });
            }
        }
    }
    Ok(Json(listed))
}

/// Stop a run in progress on whichever node hosts it (as its pad's Stop does: `run.finished`
/// names the admin who stopped it).
#[utoipa::path(post, path = "/api/admin/runs/{id}/stop", tag = "admin", params(("id" = String, Path)),
    responses((status = 202, description = "{runId, stopping: true, node}"), (status = 401), (status = 403),
        (status = 404, description = "no node has that run in progress")))]
async fn stop_run(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let (node, run) = sandboxes::across_cluster(&state)
        .await
        .into_iter()
        .find_map(|h| {
            let run = h.runs.into_iter().find(|run| run.run_id == id)?;
            Some((h.node, run))
        })
        .ok_or(AppError::NotFound)?;
    state
        .audit
        .require(
            &admin.actor,
            AuditEvent::new(AuditAction::AdminRunStop)
                .target(&id)
                .meta(json!({ "padId": run.pad, "node": node })),
        )
        .await?;
    sandboxes::stop_run(&state, &node, run.pad, &id, admin.user.id, &admin.user.name);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "runId": id, "stopping": true, "node": node })),
    ))
}

/// End a pad's terminal on whichever node hosts it: its sockets close and its container is
/// removed.
#[utoipa::path(post, path = "/api/admin/terminals/{slug}/stop", tag = "admin", params(("slug" = String, Path)),
    responses((status = 202, description = "{stopping: true, node}"), (status = 401), (status = 403),
        (status = 404, description = "no such pad, or no node runs its terminal")))]
async fn stop_terminal(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let pad = crate::pads::store::find_by_slug(&state.db, &slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let node = sandboxes::across_cluster(&state)
        .await
        .into_iter()
        .find(|h| h.terminals.contains(&pad.id))
        .map(|h| h.node)
        .ok_or(AppError::NotFound)?;
    state
        .audit
        .require(
            &admin.actor,
            AuditEvent::new(AuditAction::AdminTerminalStop)
                .target(&pad.slug)
                .meta(json!({ "node": node })),
        )
        .await?;
    sandboxes::stop_terminal(&state, &node, pad.id).await;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "stopping": true, "node": node })),
    ))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SignupSetting {
    mode: SignupMode,
}

/// Who may create an account.
#[utoipa::path(get, path = "/api/admin/signup", tag = "admin",
    responses((status = 200, body = SignupSetting), (status = 401), (status = 403)))]
async fn get_signup(
    _admin: AdminUser,
    State(state): State<AppState>,
) -> AppResult<Json<SignupSetting>> {
    Ok(Json(SignupSetting {
        mode: super::signup_mode(&state.db).await?,
    }))
}

/// Open, close or restrict sign-up to invite holders (every node reads it from the database).
#[utoipa::path(put, path = "/api/admin/signup", tag = "admin", request_body = SignupSetting,
    responses((status = 200, body = SignupSetting), (status = 400), (status = 401), (status = 403)))]
async fn set_signup(
    AdminUser(admin): AdminUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignupSetting>,
) -> AppResult<Json<SignupSetting>> {
    super::change_signup_mode(&state.db, &state.audit, &admin.actor, body.mode).await?;
    Ok(Json(body))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    database_bytes: i64,
    recordings_bytes: i64,
    /// The pads with the largest history (update log and checkpoints), largest first.
    largest_pads: Vec<PadRow>,
    /// Whether every Docker engine has the runner image (false without Docker).
    runner_image: bool,
}

/// What the server stores, and whether runs can start.
#[utoipa::path(get, path = "/api/admin/storage", tag = "admin",
    responses((status = 200, body = Storage), (status = 401), (status = 403)))]
async fn storage(_admin: AdminUser, State(state): State<AppState>) -> AppResult<Json<Storage>> {
    let health = state.exec.health().await;
    Ok(Json(Storage {
        database_bytes: store::database_bytes(&state.db).await?,
        recordings_bytes: store::recordings_bytes(&state.db).await?,
        largest_pads: store::search_pads(
            &state.db,
            "",
            PadOrder::LargestHistory,
            0,
            STORAGE_TOP_PADS,
        )
        .await?
        .items,
        runner_image: !health.hosts.is_empty() && health.hosts.iter().all(|host| host.image),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action, e.g. `admin.user.disable`.
    pub action: Option<String>,
    /// Only rows by this user id.
    pub user: Option<i64>,
    /// Only rows about this pad slug.
    pub pad: Option<String>,
    /// Only rows at or after this RFC 3339 time.
    pub since: Option<DateTime<Utc>>,
    /// Only rows before this RFC 3339 time.
    pub until: Option<DateTime<Utc>>,
    /// Only rows with a smaller id (the `id` of the last row already shown).
    pub before: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Newest first, as `opencoder audit --json` prints each row.
    #[schema(value_type = Vec<Object>)]
    rows: Vec<serde_json::Value>,
    /// Whether older rows match (ask again with `before` = the last row's id).
    has_more: bool,
}

/// The audit log, newest first, filtered (read-only: no endpoint writes or deletes a row).
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400), (status = 401), (status = 403)))]
async fn audit_rows(
    _admin: AdminUser,
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> AppResult<Json<AuditPage>> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    let limit = u32::try_from(limit)
        .ok()
        .filter(|l| (1..=MAX_PAGE as u32).contains(l))
        .ok_or_else(|| {
            AppError::invalid(
                "invalid_limit",
                format!("limit must be between 1 and {MAX_PAGE}"),
            )
        })?;
    let filter = AuditFilter {
        since: query.since,
        until: query.until,
        user: query.user,
        action: query.action.filter(|a| !a.is_empty()),
        pad: query.pad.filter(|p| !p.is_empty()),
        before_id: query.before,
        limit: Some(limit + 1),
    };
    let mut rows: Vec<AuditRow> = crate::audit::store::newest_matching(&state.db, &filter).await?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(Json(AuditPage {
        rows: rows.iter().map(crate::audit::cli::row_json).collect(),
        has_more,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainStatus {
    /// Rows checked (up to and including the first broken one).
    rows: u64,
    /// The last good hash.
    head: String,
    /// Whether every row hashes and links as written.
    intact: bool,
    /// The first broken row's id and why, when not intact.
    broken_id: Option<i64>,
    broken_reason: Option<&'static str>,
}

/// Recompute the audit chain, as `opencoder audit --verify` does.
#[utoipa::path(get, path = "/api/admin/audit/verify", tag = "admin",
    responses((status = 200, body = ChainStatus), (status = 401), (status = 403)))]
async fn audit_verify(
    _admin: AdminUser,
    State(state): State<AppState>,
) -> AppResult<Json<ChainStatus>> {
    let outcome = crate::audit::cli::verify(&state.db).await?;
    Ok(Json(ChainStatus {
        rows: outcome.rows,
        head: outcome.head,
        intact: outcome.broken.is_none(),
        broken_id: outcome.broken.map(|(id, _)| id),
        broken_reason: outcome.broken.map(|(_, why)| why.describe()),
    }))
}
