//! Pad leases (`pad_leases`): the only SQL that reads or writes them, and the fence other stores
//! put into the writes only a pad's owner may make.
//!
//! Time is the database's clock (`NOW_MS_*`), never a node's: every node compares expiries against
//! the one clock, so skew between nodes cannot make two of them believe they hold one lease.

use crate::db::{on_pool, Backend, Db, PadId};

/// The database's clock in ms since the epoch, per backend.
const NOW_MS_SQLITE: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
const NOW_MS_POSTGRES: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

fn now_ms(db: &Db) -> &'static str {
    match db.backend() {
        Backend::Sqlite => NOW_MS_SQLITE,
        Backend::Postgres => NOW_MS_POSTGRES,
    }
}

/// Proof of ownership a guarded write carries: the pad and the epoch its owner holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub pad: PadId,
    pub epoch: i64,
}

/// A guarded write was refused: another node took the pad's lease since this one got its fence.
#[derive(Debug, thiserror::Error)]
pub enum FencedError {
    #[error("this node no longer owns pad {0}: the write was refused")]
    Stale(PadId),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The condition a fenced write adds to its `WHERE`: the lease of the pad bound at `pad_param`
/// still has the epoch bound at `epoch_param`. Checked in the write's own statement, so no
/// takeover can slip between a check and the write.
pub fn fence_condition(pad_param: &str, epoch_param: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM pad_leases WHERE pad_id = {pad_param} AND epoch = {epoch_param})"
    )
}

/// After a fenced write changed no row: `Stale` when the fence is why, `Ok` when it was something
/// else (the row it writes to is gone). One extra read, on that rare path only.
pub async fn check_fence(db: &Db, fence: Option<Fence>) -> Result<(), FencedError> {
    match fence {
        Some(fence) if !is_current(db, fence).await? => Err(FencedError::Stale(fence.pad)),
        _ => Ok(()),
    }
}

/// Whether the pad's lease still has the fence's epoch.
pub async fn is_current(db: &Db, fence: Fence) -> sqlx::Result<bool> {
    const CURRENT: &str = "SELECT COUNT(*) FROM pad_leases WHERE pad_id = $1 AND epoch = $2";
    let found: i64 = on_pool!(db, |pool| sqlx::query_scalar(CURRENT)
        .bind(fence.pad)
        .bind(fence.epoch)
        .fetch_one(pool)
        .await)?;
    Ok(found == 1)
}

/// Take or renew the pad's lease for `owner` until `ttl_ms` from now, in one compare-and-set
/// statement: it succeeds when nobody holds the pad, `owner` holds it already, or the holder's
/// lease has expired. The epoch grows by one whenever the holder changes. `Some(epoch)` when
/// `owner` holds the lease now; `None` when another live holder has it.
pub async fn acquire(db: &Db, pad: PadId, owner: &str, ttl_ms: i64) -> sqlx::Result<Option<i64>> {
    let now = now_ms(db);
    let sql = format!(
        "INSERT INTO pad_leases (pad_id, owner, epoch, expires_at_ms) VALUES ($1, $2, 1, {now} + $3) \
         ON CONFLICT (pad_id) DO UPDATE SET \
           epoch = CASE WHEN pad_leases.owner = excluded.owner THEN pad_leases.epoch ELSE pad_leases.epoch + 1 END, \
           owner = excluded.owner, expires_at_ms = excluded.expires_at_ms \
         WHERE pad_leases.owner = excluded.owner OR pad_leases.expires_at_ms <= {now} \
         RETURNING epoch"
    );
    on_pool!(db, |pool| sqlx::query_scalar(&sql)
        .bind(pad)
        .bind(owner)
        .bind(ttl_ms)
        .fetch_optional(pool)
        .await)
}

/// Give the lease up now (it expires at once; the row and its epoch stay, so the next holder's
/// epoch is still higher than every earlier one).
pub async fn release(db: &Db, pad: PadId, owner: &str) -> sqlx::Result<()> {
    let now = now_ms(db);
    let sql =
        format!("UPDATE pad_leases SET expires_at_ms = {now} WHERE pad_id = $1 AND owner = $2");
    on_pool!(db, |pool| sqlx::query(&sql)
        .bind(pad)
        .bind(owner)
        .execute(pool)
        .await
        .map(drop))?;
    Ok(())
}

/// A lease as it stands.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Lease {
    pub pad_id: PadId,
    pub owner: String,
    pub epoch: i64,
    /// ms until it expires by the database's clock (≤ 0: expired).
    pub remaining_ms: i64,
}

/// The pad's lease, expired or not.
pub async fn lease(db: &Db, pad: PadId) -> sqlx::Result<Option<Lease>> {
    let now = now_ms(db);
    let sql =
        format!("SELECT pad_id, owner, epoch, expires_at_ms - {now} AS remaining_ms FROM pad_leases WHERE pad_id = $1");
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(pad)
        .fetch_optional(pool)
        .await)
}

/// Every unexpired lease, by pad (for `opencoder doctor`).
pub async fn live_leases(db: &Db) -> sqlx::Result<Vec<Lease>> {
    let now = now_ms(db);
    let sql = format!(
        "SELECT pad_id, owner, epoch, expires_at_ms - {now} AS remaining_ms FROM pad_leases \
         WHERE expires_at_ms > {now} ORDER BY pad_id"
    );
    on_pool!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)
}
