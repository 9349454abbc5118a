//! Audit rows. The only SQL that touches `audit_log`.

use futures_util::TryStreamExt;
use sqlx::QueryBuilder;

use super::cli::AuditFilter;
use super::{AuditRow, GENESIS_HASH};
use crate::db::{on_pool, on_tx, Backend, Db, WriteLock};

const ROW_COLUMNS: &str = "id, at, user_id, action, target, ip, user_agent, meta, prev_hash, hash";

/// Append `row` (its `id`, `prev_hash` and `hash` are ignored) to the chain: the chain head is read
/// and the new row inserted under the chain's write lock (`WriteLock::AuditChain`, held by every
/// node), so each row's `prev_hash` is the hash of the row before it in id order.
pub async fn append(db: &Db, row: &AuditRow) -> sqlx::Result<()> {
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::AuditChain).await?;
    let prev: Option<String> = on_tx!(tx, |conn| sqlx::query_scalar(
        "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1"
    )
    .fetch_optional(&mut *conn)
    .await)?;
    let prev_hash = prev.unwrap_or_else(|| GENESIS_HASH.to_string());
    let hash = row.compute_hash(&prev_hash);
    on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO audit_log (at, user_id, action, target, ip, user_agent, meta, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&row.at)
    .bind(row.user_id)
    .bind(&row.action)
    .bind(&row.target)
    .bind(&row.ip)
    .bind(&row.user_agent)
    .bind(&row.meta)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await
}

/// The rows matching `filter`, newest first (at most `filter.limit`).
pub async fn newest_matching(db: &Db, filter: &AuditFilter) -> sqlx::Result<Vec<AuditRow>> {
    // A row whose meta is not a JSON object has no pad; the filter must not fail on it.
    let meta_pad = match db.backend() {
        Backend::Sqlite => "(CASE WHEN json_valid(meta) THEN json_extract(meta, '$.pad') END)",
        Backend::Postgres => "audit_meta_pad(meta)",
    };
    on_pool!(db, |pool| {
        let mut sql = QueryBuilder::new(format!("SELECT {ROW_COLUMNS} FROM audit_log WHERE 1 = 1"));
        if let Some(since) = &filter.since {
            // Stored times are RFC 3339 UTC with milliseconds, so text order is time order.
            sql.push(" AND at >= ")
                .push_bind(since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        if let Some(until) = &filter.until {
            sql.push(" AND at < ")
                .push_bind(until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        if let Some(before) = filter.before_id {
            sql.push(" AND id < ").push_bind(before);
        }
        if let Some(user) = filter.user {
            sql.push(" AND user_id = ").push_bind(user);
        }
        if let Some(action) = &filter.action {
            sql.push(" AND action = ").push_bind(action.clone());
        }
        if let Some(pad) = &filter.pad {
            sql.push(" AND (target = ")
                .push_bind(pad.clone())
                .push(format!(" OR {meta_pad} = "))
                .push_bind(pad.clone())
                .push(")");
        }
        sql.push(" ORDER BY id DESC");
        if let Some(limit) = filter.limit {
            sql.push(" LIMIT ").push_bind(i64::from(limit));
        }
        sql.build_query_as().fetch_all(pool).await
    })
}

/// Stream every row in id order into `visit` until it returns `false`.
pub async fn scan_in_order(db: &Db, mut visit: impl FnMut(&AuditRow) -> bool) -> sqlx::Result<()> {
    let sql = format!("SELECT {ROW_COLUMNS} FROM audit_log ORDER BY id");
    on_pool!(db, |pool| {
        let mut rows = sqlx::query_as::<_, AuditRow>(&sql).fetch(pool);
        while let Some(row) = rows.try_next().await? {
            if !visit(&row) {
                break;
            }
        }
        Ok(())
    })
}
