//! Pad chat (SPEC §3: every role may send chat): the `chat` app message and the history endpoint `GET /api/pads/{slug}/chat`.
//!
//! A message's author name is read from the database (never the client); history shows the
//! author's current name, or the name at sending time once the account is gone.

use axum::extract::{Query, State};
use axum::Json;
use oc_proto::AppMessage;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::app::{AppCtx, AppMsgError};
pub use super::chat_store::ChatMessage;
use super::chat_store::{insert, page};
use super::limits::{CHAT_BURST, CHAT_PER_SEC, MAX_CHAT_CHARS};
use crate::error::{AppError, AppResult};
use crate::pads::access::PadAccess;
use crate::AppState;

/// Default and largest page of `GET /api/pads/{slug}/chat`.
pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;

/// Trim and check a chat body: 1–`MAX_CHAT_CHARS` characters.
pub fn validate_body(raw: &str) -> Result<&str, AppMsgError> {
    let body = raw.trim();
    let chars = body.chars().count();
    if chars == 0 || chars > MAX_CHAT_CHARS {
        return Err(AppMsgError::new(
            "invalid_chat",
            format!("a chat message has 1 to {MAX_CHAT_CHARS} characters"),
        ));
    }
    Ok(body)
}

#[derive(Deserialize)]
struct ChatIn {
    body: String,
}

/// `{type:"chat", body}` → stored, then `{type:"chat", id, userId, name, body, at}` to everyone
/// on the pad, the sender included.
pub async fn handle(ctx: AppCtx, message: AppMessage) -> Result<(), AppMsgError> {
    if !ctx.role.can_chat() {
        return Err(AppMsgError::new("forbidden", "your role may not chat"));
    }
    let input: ChatIn = message
        .deserialize()
        .map_err(|_| AppMsgError::new("invalid_chat", "expected {type:\"chat\", body: string}"))?;
    let body = validate_body(&input.body)?;
    ctx.take_token("chat", CHAT_PER_SEC, CHAT_BURST)?;
    let stored = insert(&ctx.state.db, ctx.room.pad, ctx.user, body)
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "storing a chat message failed");
            AppMsgError::new("internal", "the message could not be stored")
        })?;
    let mut out = serde_json::to_value(&stored).unwrap_or_default();
    out["type"] = json!("chat");
    ctx.room.share_app(&out);
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Only messages with an id below this (the `id` of the oldest message already shown).
    pub before: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatPage {
    /// Oldest first.
    pub messages: Vec<ChatMessage>,
    /// Whether older messages exist (ask again with `before` = the first message's id).
    pub has_more: bool,
}

/// Chat history, newest page first, each page oldest-first (SPEC §3: every member may read chat).
#[utoipa::path(
    get,
    path = "/api/pads/{slug}/chat",
    tag = "chat",
    params(("slug" = String, Path, description = "pad slug"), PageQuery),
    responses(
        (status = 200, body = ChatPage),
        (status = 400, description = "limit out of range"),
        (status = 401, description = "not signed in"),
        (status = 404, description = "no such pad, or not a member"),
    ),
    security(("bearer" = []))
)]
pub async fn history(
    State(state): State<AppState>,
    access: PadAccess,
    Query(query): Query<PageQuery>,
) -> AppResult<Json<ChatPage>> {
    access.require(crate::pads::roles::Role::can_view, "read chat")?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::invalid(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let mut messages = page(&state.db, access.pad.id, query.before, limit + 1).await?;
    let has_more = messages.len() as i64 > limit;
    if has_more {
        messages.remove(0);
    }
    Ok(Json(ChatPage { messages, has_more }))
}
