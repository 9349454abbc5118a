//! Pad ownership across nodes: what must exist once per pad (the shared terminal's container,
//! auto-record, recordings' seek data) runs on the one node that holds the pad's lease.
//!
//! A lease is a row per pad (`store`): the holder (this process's bus id), a fencing `epoch` and
//! an expiry on the database's clock. The holder renews every [`RENEW_EVERY`]; a lease not renewed
//! for [`LEASE_TTL`] may be taken by another node, which bumps the epoch. Writes only the owner may
//! make carry its [`Fence`] and are refused by the database when the epoch moved on, so a paused
//! owner that wakes up after a takeover cannot write over its successor. A holder that fails to
//! renew (another node took over, or the database was unreachable past the expiry) gives the pad
//! up: its [`PadLease`]s see `lost` and stop what they run.
//!
//! One node without Redis (`Ownership::solo`) owns every pad without asking the database: nothing
//! else could take a pad over, so there is no lease row and no fence, and nothing on a hot path
//! waits for the database.
//!
//! Leases are held while something wants them: a [`PadLease`] (a terminal running here), or an
//! [`Interest`] (the pad has sockets here: whichever node with sockets wins runs auto-record and
//! the recording's seek data). A node keeps trying for the pads it is interested in every
//! [`RENEW_EVERY`], so when an owner dies another interested node owns the pad within
//! [`LEASE_TTL`] + [`RENEW_EVERY`]. A pad nobody wants any more is released at the next renewal.

pub mod store;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use store::{Fence, FencedError};

use crate::bus::NodeMessage;
use crate::db::{Db, PadId};
use crate::metrics::ClusterMetrics;

/// How long a lease lasts without renewal: a dead node's pads are taken over this long (plus one
/// renewal round) after its last renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(3);
/// How often a holder renews its leases, and an interested node retries pads others hold.
pub const RENEW_EVERY: Duration = Duration::from_secs(1);
/// Ownership changes buffered per subscriber (a lagging one re-checks the pads it cares about).
const CHANGES_BUFFER: usize = 256;

/// This node gained or lost a pad's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnershipChange {
    Gained(PadId),
    Lost(PadId),
}

/// The outcome of [`Ownership::claim`].
pub enum Claim {
    /// This node owns the pad for as long as the lease is held and not `lost`.
    Owned(PadLease),
    /// Another live node owns it (its bus id; empty when the lease changed hands while this node
    /// asked twice: look again later).
    Elsewhere(String),
}

#[derive(Clone)]
pub struct Ownership {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    /// This process's id on the bus; the `owner` of the leases it holds.
    node: String,
    /// `false`: one node, every pad is its own (see the module doc).
    clustered: bool,
    pads: Mutex<Pads>,
    /// Renewal suspended (fencing tests play a paused node with it).
    paused: AtomicBool,
    changes: broadcast::Sender<OwnershipChange>,
    metrics: ClusterMetrics,
}

#[derive(Default)]
struct Pads {
    held: HashMap<PadId, Held>,
    /// Interests per pad (held or not).
    wanted: HashMap<PadId, usize>,
}

struct Held {
    epoch: i64,
    /// Live `PadLease`s of the pad.
    leases: usize,
    lost: CancellationToken,
}

/// A claim on a pad's lease while this node owns it; dropped, the claim ends (the lease is given
/// up at the next renewal when nothing else wants it).
pub struct PadLease {
    ownership: Ownership,
    pad: PadId,
    fence: Option<Fence>,
    lost: CancellationToken,
}

impl PadLease {
    /// What guarded writes carry (`None` on one node: nothing to fence against).
    pub fn fence(&self) -> Option<Fence> {
        self.fence
    }

    /// Resolves when this node lost the pad (never, on one node).
    pub async fn lost(&self) {
        self.lost.cancelled().await
    }
}

impl Drop for PadLease {
    fn drop(&mut self) {
        if self.fence.is_none() {
            return;
        }
        let mut pads = self.ownership.pads();
        if let Some(held) = pads.held.get_mut(&self.pad) {
            if held.lost.is_cancelled() || Some(held.epoch) != self.fence.map(|f| f.epoch) {
                return;
            }
            held.leases = held.leases.saturating_sub(1);
        }
    }
}

/// This node wants the pad's lease (it has sockets of the pad); dropped, it no longer does.
pub struct Interest {
    ownership: Ownership,
    pad: PadId,
}

impl Drop for Interest {
    fn drop(&mut self) {
        if !self.ownership.inner.clustered {
            return;
        }
        let mut pads = self.ownership.pads();
        if let Some(count) = pads.wanted.get_mut(&self.pad) {
            *count -= 1;
            if *count == 0 {
                pads.wanted.remove(&self.pad);
            }
        }
    }
}

/// What an owner knows about its pad without asking the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// `None` on one node.
    pub fence: Option<Fence>,
}

impl Ownership {
    /// One node: every pad is this node's.
    pub fn solo(db: Db, node: String, metrics: ClusterMetrics) -> Ownership {
        Ownership::new(db, node, false, metrics)
    }

    /// Several nodes on one database: pads are owned through leases.
    pub fn clustered(db: Db, node: String, metrics: ClusterMetrics) -> Ownership {
        Ownership::new(db, node, true, metrics)
    }

    fn new(db: Db, node: String, clustered: bool, metrics: ClusterMetrics) -> Ownership {
        Ownership {
            inner: Arc::new(Inner {
                db,
                node,
                clustered,
                pads: Mutex::new(Pads::default()),
                paused: AtomicBool::new(false),
                changes: broadcast::channel(CHANGES_BUFFER).0,
                metrics,
            }),
        }
    }

    fn pads(&self) -> MutexGuard<'_, Pads> {
        self.inner
            .pads
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub fn node(&self) -> &str {
        &self.inner.node
    }

    pub fn is_clustered(&self) -> bool {
        self.inner.clustered
    }

    /// Gains and losses of this node's leases from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<OwnershipChange> {
        self.inner.changes.subscribe()
    }

    /// Own the pad now if nobody else does (taking an expired lease over), or say who does.
    pub async fn claim(&self, pad: PadId) -> sqlx::Result<Claim> {
        if !self.inner.clustered {
            return Ok(Claim::Owned(PadLease {
                ownership: self.clone(),
                pad,
                fence: None,
                lost: CancellationToken::new(),
            }));
        }
        if let Some(lease) = self.held_lease(pad) {
            return Ok(Claim::Owned(lease));
        }
        // A lease released or expired between the two statements is tried for once more.
        for _ in 0..2 {
            if let Some(epoch) =
                store::acquire(&self.inner.db, pad, &self.inner.node, ttl_ms()).await?
            {
                self.gained(pad, epoch);
                if let Some(lease) = self.held_lease(pad) {
                    return Ok(Claim::Owned(lease));
                }
                continue;
            }
            match store::lease(&self.inner.db, pad).await? {
                Some(lease) if lease.owner != self.inner.node && lease.remaining_ms > 0 => {
                    return Ok(Claim::Elsewhere(lease.owner))
                }
                _ => continue,
            }
        }
        // Contended twice in a row: whoever holds it now is found at the next look.
        Ok(Claim::Elsewhere(String::new()))
    }

    fn held_lease(&self, pad: PadId) -> Option<PadLease> {
        let mut pads = self.pads();
        let held = pads
            .held
            .get_mut(&pad)
            .filter(|held| !held.lost.is_cancelled())?;
        held.leases += 1;
        Some(PadLease {
            ownership: self.clone(),
            pad,
            fence: Some(Fence {
                pad,
                epoch: held.epoch,
            }),
            lost: held.lost.clone(),
        })
    }

    fn gained(&self, pad: PadId, epoch: i64) {
        let mut pads = self.pads();
        if pads
            .held
            .get(&pad)
            .is_some_and(|held| held.epoch == epoch && !held.lost.is_cancelled())
        {
            return;
        }
        pads.held.insert(
            pad,
            Held {
                epoch,
                leases: 0,
                lost: CancellationToken::new(),
            },
        );
        drop(pads);
        tracing::debug!(%pad, epoch, "pad lease gained");
        self.inner.metrics.lease_gained(epoch);
        let _ = self.inner.changes.send(OwnershipChange::Gained(pad));
    }

    fn lose(&self, pad: PadId, epoch: i64) {
        let mut pads = self.pads();
        if pads.held.get(&pad).is_none_or(|held| held.epoch != epoch) {
            return;
        }
        if let Some(held) = pads.held.remove(&pad) {
            held.lost.cancel();
        }
        drop(pads);
        tracing::warn!(%pad, epoch, "pad lease lost to another node");
        self.inner.metrics.lease_lost();
        let _ = self.inner.changes.send(OwnershipChange::Lost(pad));
    }

    /// Whether this node owns the pad right now, from what it holds (no database round trip).
    pub fn owned(&self, pad: PadId) -> Option<Owner> {
        if !self.inner.clustered {
            return Some(Owner { fence: None });
        }
        let pads = self.pads();
        let held = pads
            .held
            .get(&pad)
            .filter(|held| !held.lost.is_cancelled())?;
        Some(Owner {
            fence: Some(Fence {
                pad,
                epoch: held.epoch,
            }),
        })
    }

    /// Want the pad's lease for as long as the returned guard lives (taken at the next renewal
    /// round when nobody else holds it).
    pub fn want(&self, pad: PadId) -> Interest {
        if self.inner.clustered {
            *self.pads().wanted.entry(pad).or_default() += 1;
        }
        Interest {
            ownership: self.clone(),
            pad,
        }
    }

    /// The live owner of the pad (its bus id), asking the database.
    pub async fn owner_of(&self, pad: PadId) -> sqlx::Result<Option<String>> {
        if !self.inner.clustered {
            return Ok(Some(self.inner.node.clone()));
        }
        Ok(store::lease(&self.inner.db, pad)
            .await?
            .filter(|lease| lease.remaining_ms > 0)
            .map(|lease| lease.owner))
    }

    /// Suspend (or resume) renewals, as a paused process would: the fencing tests' stale owner.
    pub fn pause_renewals(&self, paused: bool) {
        self.inner.paused.store(paused, Ordering::SeqCst);
    }

    /// One renewal round: renew what is wanted, give up what is not, try for wanted pads others
    /// held.
    async fn renew_all(&self) {
        if self.inner.paused.load(Ordering::SeqCst) {
            return;
        }
        let (renew, release, acquire) = {
            let mut pads = self.pads();
            let unwanted: Vec<PadId> = pads
                .held
                .iter()
                .filter(|(pad, held)| held.leases == 0 && !pads.wanted.contains_key(pad))
                .map(|(pad, _)| *pad)
                .collect();
            for pad in &unwanted {
                pads.held.remove(pad);
            }
            let renew: Vec<(PadId, i64)> = pads
                .held
                .iter()
                .map(|(pad, held)| (*pad, held.epoch))
                .collect();
            let acquire: Vec<PadId> = pads
                .wanted
                .keys()
                .filter(|pad| !pads.held.contains_key(pad))
                .copied()
                .collect();
            (renew, unwanted, acquire)
        };
        let db = &self.inner.db;
        let node = &self.inner.node;
        for pad in release {
            if let Err(err) = store::release(db, pad, node).await {
                tracing::warn!(error = %err, %pad, "giving a pad lease up failed; it expires by itself");
            }
        }
        for (pad, epoch) in renew {
            match store::acquire(db, pad, node, ttl_ms()).await {
                Ok(Some(now)) if now == epoch => {}
                Ok(_) => self.lose(pad, epoch),
                // Kept until the next round: the fence refuses writes if another node took over.
                Err(err) => tracing::warn!(error = %err, %pad, "renewing a pad lease failed"),
            }
        }
        for pad in acquire {
            match store::acquire(db, pad, node, ttl_ms()).await {
                Ok(Some(epoch)) => self.gained(pad, epoch),
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, %pad, "taking a pad lease failed"),
            }
        }
    }

    /// Give up every lease (at shutdown, so other nodes take over at once).
    async fn release_all(&self) {
        let held: Vec<(PadId, Held)> = self.pads().held.drain().collect();
        for (pad, held) in held {
            held.lost.cancel();
            if let Err(err) = store::release(&self.inner.db, pad, &self.inner.node).await {
                tracing::warn!(error = %err, %pad, "giving a pad lease up at shutdown failed");
            }
        }
    }
}

fn ttl_ms() -> i64 {
    LEASE_TTL.as_millis() as i64
}

/// The renewal loop (clustered nodes only), on `state.tasks`; leases are given up at shutdown.
/// Also routes what other nodes send this one (`NodeMessage`) to the terminal relay and the run
/// console.
pub fn spawn_background(state: &crate::AppState) {
    if !state.ownership.is_clustered() {
        return;
    }
    spawn_router(state);
    let ownership = state.ownership.clone();
    let shutdown = state.shutdown.clone();
    state.tasks.spawn(async move {
        let mut tick = tokio::time::interval(RENEW_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => ownership.renew_all().await,
            }
        }
        ownership.release_all().await;
    });
}

fn spawn_router(state: &crate::AppState) {
    let state = state.clone();
    let mut direct = state.bus.subscribe_direct();
    state.tasks.clone().spawn(async move {
        loop {
            let received = tokio::select! {
                _ = state.shutdown.cancelled() => break,
                received = direct.recv() => received,
            };
            match received {
                Ok(crate::bus::Direct { from, message: NodeMessage::ConsoleInput { pad, user, run_id, data, request } }) => {
                    let input = crate::exec::console::RelayedInput { from: &from, request, pad, user, run_id: &run_id, data: data.as_deref() };
                    crate::exec::console::on_relayed(&state, input).await
                }
                Ok(crate::bus::Direct { message: NodeMessage::ConsoleAnswer { request, refusal }, .. }) => {
                    state.exec.console_answers().answer(request, refusal)
                }
                Ok(direct) if crate::admin::sandboxes::is_for_admin(&direct.message) => {
                    crate::admin::sandboxes::on_message(&state, direct)
                }
                Ok(direct) => crate::terminal::relay::dispatch(&state, direct),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "messages from other nodes were dropped; terminal keepalives and owner checks recover");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}
