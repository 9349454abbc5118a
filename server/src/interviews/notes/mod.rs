//! Private interviewer notes (issue 13 §3): one Markdown document per interview, co-edited live by
//! its interviewers and never sent to a candidate.
//!
//! The guarantee is structural rather than a filter. The notes live in their own Yjs document: a
//! hidden companion pad (`notes::store`) whose document log, checkpoints, relay across nodes, gap
//! repair and history budget are the collaboration module's, unchanged. The interview pad's
//! document never holds them, so its sync, awareness, playback, export and fork cannot carry them.
//! The companion is reached only through `GET /ws/pad/{slug}/notes` (`upgrade`): it has no
//! members, so no pad route answers for it, and lookups by slug skip it.
//!
//! Who may open the notes socket: members whose *current* role on the interview pad may see
//! interviewer notes (owners, collaborators); others get 403 (404 for non-members, like the pad
//! socket). The role is re-read after joining and follows the interview pad's membership events:
//! a downgrade to candidate or viewer, a kick, a revoked session or the pad's deletion closes the
//! notes socket (`collab::ws::Channel::admits`, `collab::Rooms`).
//!
//! Limits: the notes are one file of the companion, so one file's size (`MAX_FILE_BYTES`) bounds
//! them, and the companion has its own history budget (`COLLAB_HISTORY_BYTES`) and connection
//! limits, like any pad.

pub mod store;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::auth::extractors::authenticate;
use crate::collab::ws::{accept, upgrade_token, Channel};
use crate::error::{AppError, AppResult};
use crate::pads::access::load_access;
use crate::pads::lifecycle::generate_slug;
use crate::AppState;

/// `GET /ws/pad/{slug}/notes`: authenticate like the pad socket, check the role on the interview
/// pad, create the notes on first use, upgrade.
pub async fn upgrade(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    let token = upgrade_token(&headers, &state)?;
    let user = authenticate(&state, &token).await?;
    let (pad, role) = load_access(&state, &slug, user.id).await?;
    if !role.can_see_interviewer_notes() {
        return Err(AppError::forbidden(format!(
            "your role ({}) may not see the interviewer notes",
            role.as_str()
        )));
    }
    // Notes belong to an interview: a pad without one has none.
    super::switches::find(&state, pad.id).await?;
    let (notes, file) =
        store::find_or_create(&state.db, pad.id, pad.owner_id, &generate_slug()).await?;
    Ok(accept(
        state,
        ws,
        user,
        Channel::Notes {
            interview: pad.id,
            notes,
            file,
        },
    ))
}
