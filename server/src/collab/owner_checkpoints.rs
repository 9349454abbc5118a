//! With several nodes, a node's own checkpoint claims only the log its document holds, and is
//! dropped when another node wrote the pad in between (`persist`): while two nodes write one pad
//! without pause, neither node's checkpoints may land and the log tail a load replays would grow
//! without end. The pad's owner (`cluster`) closes that gap: every [`SCAN_EVERY`] it looks at the
//! pads it owns and has open, and where [`TAIL_UPDATES`] or more updates follow the newest
//! checkpoint it builds one from the database — that checkpoint plus the next [`TAIL_UPDATES`]
//! updates of the log, exact by construction whoever wrote them — and stores it fenced by its
//! epoch. A long backlog is caught up one step per scan, so each build is bounded.

use std::time::Duration;

use super::doc_store::state_from_log;
use super::store;
use crate::AppState;

/// How often the owner looks for pads whose checkpoints fell behind.
pub const SCAN_EVERY: Duration = Duration::from_secs(10);
/// Updates after the newest checkpoint that make the owner build one from the log (and how many
/// one build folds in).
pub const TAIL_UPDATES: i64 = 500;

/// One scan (clustered nodes only: one node's own checkpoints always land).
pub async fn take_due(state: &AppState) {
    if !state.ownership.is_clustered() {
        return;
    }
    for pad in state.rooms.pads() {
        let Some(fence) = state.ownership.owned(pad).and_then(|owner| owner.fence) else {
            continue;
        };
        if let Err(err) = take_one(state, fence).await {
            tracing::warn!(error = %err, %pad, "building a checkpoint from the log failed");
        }
    }
}

async fn take_one(state: &AppState, fence: crate::cluster::Fence) -> anyhow::Result<()> {
    let pad = fence.pad;
    let checkpoint = store::latest_checkpoint(&state.db, pad).await?;
    let after = checkpoint.as_ref().map_or(0, |(upto, _)| *upto);
    let updates = store::log_page(&state.db, pad, after, TAIL_UPDATES).await?;
    if (updates.len() as i64) < TAIL_UPDATES {
        return Ok(());
    }
    let upto = updates.last().map_or(after, |(id, _)| *id);
    let (full, state_vector) = tokio::task::spawn_blocking(move || {
        state_from_log(
            pad,
            checkpoint.as_ref().map(|(_, state)| state.as_slice()),
            &updates,
        )
    })
    .await?;
    store::insert_owner_checkpoint(&state.db, fence, upto, &full, &state_vector).await?;
    tracing::debug!(%pad, upto, "checkpoint built from the log by the pad's owner");
    Ok(())
}
