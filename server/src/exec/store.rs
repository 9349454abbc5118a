//! Run rows. The only SQL that touches `runs`.

use crate::db::{on_pool, Db, PadId, UserId};

use super::service::RunRecord;

pub async fn insert(db: &Db, pad: PadId, user: UserId, run: &RunRecord) -> sqlx::Result<()> {
    on_pool!(db, |pool| sqlx::query(
        "INSERT INTO runs (id, pad_id, user_id, language, entry, started_at_ms, finished_at_ms, exit_code, signal,
                           timed_out, oom_killed, truncated, backend, outcome, stdout, stderr)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&run.run_id)
    .bind(pad)
    .bind(user)
    .bind(&run.language)
    .bind(&run.entry)
    .bind(run.started_at_ms)
    .bind(run.finished_at_ms)
    .bind(run.exit_code)
    .bind(&run.signal)
    .bind(run.timed_out)
    .bind(run.oom_killed)
    .bind(run.truncated)
    .bind(&run.backend)
    .bind(&run.outcome)
    .bind(&run.stdout)
    .bind(&run.stderr)
    .execute(pool)
    .await.map(|done| done.rows_affected()))?;
    Ok(())
}
