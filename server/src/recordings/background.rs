//! The recordings module's background task (on `state.tasks`, so shutdown waits for it):
//!
//! - room presence (the `collab::Rooms` presence hook) → `join` / `leave` events, auto-record
//!   start on the first join, and the idle watch that stops auto recordings after the grace;
//! - `FilesChanged` domain events → `files` events;
//! - seek data for active recordings: a checkpoint at the start, then a segment every
//!   `Recorder::segment_updates()` updates;
//! - at start-up, closing auto recordings a crash left open.
//!
//! One task handles all of it in arrival order, so a pad's join and leave are logged in order.
//! Lost notifications (a lagging channel) are repaired from the rooms' real connection counts.
//!
//! With several nodes, what must happen once per pad is the pad's owner's (`cluster`): a node
//! wants the lease of every pad it has sockets of, and only the owner starts an auto recording on
//! a first join (or, having just gained the pad, when it has sockets and none runs) and writes
//! seek data, each write fenced by its epoch. An idle stop needs nobody on the pad on any node:
//! a node whose room emptied stops the recording after the grace only if no other node holds the
//! pad's lease (a node with sockets of the pad would).

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use std::collections::HashMap;

use super::store::Recording;
use super::{now_ms, seek, service, store, CHECKPOINT_SCAN_EVERY};
use crate::bus::DomainEvent;
use crate::cluster::{Interest, OwnershipChange};
use crate::collab::room::Counts;
use crate::collab::rooms::PresenceChange;
use crate::db::PadId;
use crate::AppState;

/// Upper bound on how long the task sleeps when no idle deadline is pending.
const IDLE_CHECK_CAP: Duration = Duration::from_secs(1);

pub fn spawn_background(state: &AppState) {
    let state = state.clone();
    let mut presence = state.rooms.subscribe_presence();
    let mut events = state.bus.subscribe();
    let mut ownership = state.ownership.subscribe();
    state.tasks.clone().spawn(async move {
        // The pads this node has sockets of, whose leases it wants.
        let mut interests: HashMap<PadId, Interest> = HashMap::new();
        if let Err(err) = service::reconcile(&state).await {
            tracing::error!(error = %err, "closing recordings left open failed");
        }
        let mut checkpoints = tokio::time::interval(CHECKPOINT_SCAN_EVERY);
        checkpoints.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let sleep = next_idle_sleep(&state);
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                received = presence.recv() => match received {
                    Ok(change) if !change.here => on_remote_presence(&state, change).await,
                    Ok(change) => {
                        if change.counts.room_here == 0 {
                            interests.remove(&change.pad);
                        } else {
                            interests.entry(change.pad).or_insert_with(|| state.ownership.want(change.pad));
                        }
                        on_presence(&state, change).await
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "recordings lagged behind room presence; re-checking rooms");
                        recheck_rooms(&state).await;
                    }
                    Err(RecvError::Closed) => break,
                },
                received = events.recv() => match received {
                    Ok(DomainEvent::FilesChanged { pad }) => {
                        if let Err(err) = files_changed(&state, pad).await {
                            tracing::warn!(error = %err, %pad, "logging a file list change failed");
                        }
                    }
                    // Every node drops the deleted pad's histories (its id may come back).
                    Ok(DomainEvent::PadDeleted { pad }) => state.recordings.histories().forget_pad(pad),
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => tracing::warn!(missed, "recordings missed domain events"),
                    Err(RecvError::Closed) => break,
                },
                received = ownership.recv() => match received {
                    Ok(OwnershipChange::Gained(pad)) => on_gained(&state, pad).await,
                    Ok(OwnershipChange::Lost(_)) => {}
                    Err(RecvError::Lagged(_)) => {
                        for pad in interests.keys() {
                            on_gained(&state, *pad).await;
                        }
                    }
                    Err(RecvError::Closed) => break,
                },
                _ = tokio::time::sleep(sleep) => stop_idle(&state).await,
                _ = state.recordings.woken() => {
                    stop_idle(&state).await;
                    write_checkpoints(&state).await;
                }
                _ = checkpoints.tick() => write_checkpoints(&state).await,
            }
        }
    });
}

fn next_idle_sleep(state: &AppState) -> Duration {
    match state.recordings.next_idle_deadline() {
        Some(deadline) => Duration::from_millis(
            (deadline - now_ms()).clamp(0, IDLE_CHECK_CAP.as_millis() as i64) as u64,
        ),
        None => IDLE_CHECK_CAP,
    }
}

async fn on_presence(state: &AppState, change: PresenceChange) {
    let at = now_ms();
    let pad = change.pad;
    if change.joined {
        // The user's first connection here: logged unless the log already says `join` (another
        // node's connection came first), so news of a closing connection elsewhere that this node
        // still counts never keeps the join out.
        if change.counts.user_here == 1 {
            log_event(state, pad, at, change, || Some("join")).await;
        }
        if change.counts.room_here == 1 {
            if let Err(err) = first_join(state, pad, change.user).await {
                tracing::error!(error = %err, %pad, "auto-record on join failed");
            }
        } else {
            state.recordings.mark_occupied(pad);
        }
    } else {
        if change.counts.user_everywhere == 0 {
            log_event(state, pad, at, change, || Some("leave")).await;
        }
        if change.counts.room_here == 0 {
            state.recordings.mark_empty(pad, at);
        }
    }
}

/// Another node's news changed a user's connections: the log says `join` while the user has
/// connections here (a join this node did not log because it counted a connection elsewhere that
/// was closing), `leave` once none remain anywhere; a no-op when it already says so. Stale news
/// of connections elsewhere never logs a join.
async fn on_remote_presence(state: &AppState, change: PresenceChange) {
    if presence_now(state, change).is_none() {
        return;
    }
    log_event(state, change.pad, now_ms(), change, || {
        presence_now(state, change)
    })
    .await;
}

/// What the log should say of `change.user` after another node's news, counted now rather than
/// when the news came (and again under the log's lock): this node's last connection may have
/// closed since, and the other node may have logged the leave meanwhile; a join logged from the
/// old count would reopen the user's presence after it.
fn presence_now(state: &AppState, change: PresenceChange) -> Option<&'static str> {
    let counts = match state.rooms.get(change.pad) {
        Some(room) => room.counts(change.user),
        // The room closed since: nobody is here, the others count as the news said.
        None => Counts {
            user_here: 0,
            user_everywhere: change.counts.user_everywhere - change.counts.user_here,
            room_here: 0,
        },
    };
    match (counts.user_here > 0, counts.user_everywhere) {
        (true, _) => Some("join"),
        (false, 0) => Some("leave"),
        (false, _) => None,
    }
}

/// Auto-record on this node's first join, if this node owns the pad (taking the lease now when
/// nobody holds it; the owner elsewhere has started it otherwise).
async fn first_join(state: &AppState, pad: PadId, user: crate::db::UserId) -> anyhow::Result<()> {
    state.recordings.mark_occupied(pad);
    if let crate::cluster::Claim::Owned(_) = state.ownership.claim(pad).await? {
        service::on_first_join(state, pad, user).await?;
    }
    Ok(())
}

/// Every node hears of a file change; the pad's owner logs it (this node takes the pad when
/// nobody holds it).
async fn files_changed(state: &AppState, pad: PadId) -> anyhow::Result<()> {
    if let crate::cluster::Claim::Owned(_) = state.ownership.claim(pad).await? {
        service::record_file_list(state, pad, now_ms()).await?;
    }
    Ok(())
}

/// This node took the pad over (its owner left or died): start the auto recording its sockets
/// would have started, if none runs.
async fn on_gained(state: &AppState, pad: PadId) {
    let Some(user) = state
        .rooms
        .get(pad)
        .and_then(|room| room.presence().first().map(|u| u.user_id))
    else {
        return;
    };
    if let Err(err) = service::on_first_join(state, pad, user).await {
        tracing::error!(error = %err, %pad, "auto-record after a takeover failed");
    }
}

/// Log the `join` or `leave` that `kind` decides under the log's lock (see
/// `store::insert_presence_event`).
async fn log_event(
    state: &AppState,
    pad: PadId,
    at: i64,
    change: PresenceChange,
    kind: impl FnOnce() -> Option<&'static str>,
) {
    if let Err(err) = store::insert_presence_event(&state.db, pad, at, change.user, kind).await {
        tracing::warn!(error = %err, %pad, joined = change.joined, "logging a presence event failed");
    }
}

fn connections(state: &AppState, pad: PadId) -> usize {
    state
        .rooms
        .get(pad)
        .map_or(0, |room| room.connection_count())
}

/// Stop the auto recordings of pads empty for the whole grace (if they are still empty).
async fn stop_idle(state: &AppState) {
    for (pad, since) in state.recordings.take_idle(now_ms()) {
        if connections(state, pad) > 0 || occupied_elsewhere(state, pad).await {
            continue;
        }
        if let Err(err) = service::on_idle(state, pad, since).await {
            tracing::error!(error = %err, %pad, "stopping an idle recording failed");
        }
    }
}

/// Whether another node holds the pad's lease: it has sockets of the pad (or its terminal).
async fn occupied_elsewhere(state: &AppState, pad: PadId) -> bool {
    match state.ownership.owner_of(pad).await {
        Ok(owner) => owner.is_some_and(|owner| owner != state.ownership.node()),
        Err(err) => {
            tracing::warn!(error = %err, %pad, "reading the pad's lease failed; not stopping its recording");
            true
        }
    }
}

/// Presence notifications were lost: every pad with an auto recording and nobody connected is
/// put on the idle watch.
async fn recheck_rooms(state: &AppState) {
    match store::all_active_recordings(&state.db).await {
        Ok(active) => {
            for recording in active.iter().filter(|r| r.auto_started) {
                if connections(state, recording.pad_id) == 0 {
                    state.recordings.mark_empty(recording.pad_id, now_ms());
                } else {
                    state.recordings.mark_occupied(recording.pad_id);
                }
            }
        }
        Err(err) => tracing::error!(error = %err, "reading active recordings failed"),
    }
}

async fn write_checkpoints(state: &AppState) {
    let active = match store::all_active_recordings(&state.db).await {
        Ok(active) => active,
        Err(err) => {
            tracing::error!(error = %err, "reading active recordings failed");
            return;
        }
    };
    let owned: Vec<Recording> = active
        .into_iter()
        .filter(|r| state.ownership.owned(r.pad_id).is_some())
        .collect();
    state.metrics.recordings_active(owned.len());
    for recording in owned {
        if let Err(err) = write_due_checkpoints(state, &recording).await {
            tracing::warn!(error = %err, pad = %recording.pad_id, "writing a seek checkpoint failed");
        }
    }
}

/// Bring the recording's seek data up to date: a full checkpoint at its start (the document
/// after the last update before it), then a segment for every `segment_updates` updates after
/// that. Segments merge log rows without loading a document, so catching up is cheap. Only the
/// pad's owner writes them, fenced by its epoch (`FencedError::Stale` when another node took the
/// pad over). Public so tests and the benchmark can do it without waiting for the scan.
pub async fn write_due_checkpoints(state: &AppState, recording: &Recording) -> anyhow::Result<()> {
    let Some(owner) = state.ownership.owned(recording.pad_id) else {
        return Ok(());
    };
    let fence = owner.fence;
    let _writer = state.recordings.writer().await;
    state.docs.flush_log().await;
    let every = state.recordings.segment_updates() as i64;
    let db = &state.db;
    let pad = recording.pad_id;
    let start = store::last_update_at_or_before(db, pad, recording.started_at_ms - 1).await?;
    if start > 0 && store::newest_recording_checkpoint(db, pad, recording.id).await? == 0 {
        let doc = seek::doc_after_update(db, pad, start).await?;
        store::insert_recording_checkpoint(
            db,
            fence,
            pad,
            recording.id,
            start,
            &seek::encode_checkpoint(&doc),
        )
        .await?;
    }
    let mut newest = store::newest_segment(db, pad, recording.id)
        .await?
        .unwrap_or(start);
    while let Some(target) = store::nth_update_after(db, pad, newest, every).await? {
        let updates = store::updates_between(db, pad, newest, Some(target), None).await?;
        let merged = tokio::task::spawn_blocking(move || seek::merge_segment(&updates)).await?;
        store::insert_segment(db, fence, pad, recording.id, newest, target, &merged).await?;
        state.metrics.recording_segment_written();
        newest = target;
    }
    Ok(())
}
