//! Run rows. The only SQL that touches `runs`.

use crate::db::{on_pool, Db, PadId, UserId};

use super::service::RunRecord;

pub async fn insert(db: &Db, pad: PadId, user: UserId, run: &RunRecord) -> sqlx::Result<()> {
    on_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO runs (id, pad_id, user_id, language, entry, started_at_ms, finished_at_ms, exit_code, signal,
                           timed_out, oom_killed, truncated, backend, outcome, stdout, stderr, kind, stopped_by, layout)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
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
    .bind(run.kind.as_str())
    .bind(run.stopped_by_user)
    .bind(run.layout.to_json())
    .execute(pool)
    .await.map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// A stored run as a client shows it after a reload.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRun {
    pub run_id: String,
    /// `run`, or `repl` for a REPL session.
    pub kind: String,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub language: String,
    pub entry: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub exit_code: Option<i64>,
    pub signal: Option<String>,
    pub timed_out: bool,
    pub oom_killed: bool,
    pub truncated: bool,
    pub backend: String,
    pub outcome: String,
    pub stdout: String,
    pub stderr: String,
    /// The current name of whoever stopped it (outcome `stopped`; null once their account is gone).
    pub stopped_by: Option<String>,
    /// How stdout, stderr and console input interleaved (`exec::transcript`), or null for a run
    /// stored before that was kept.
    #[serde(serialize_with = "super::transcript::serialize_stored")]
    pub layout: Option<String>,
}

/// The pad's run `run_id` if given, else its most recent run.
pub async fn find(db: &Db, pad: PadId, run_id: Option<&str>) -> sqlx::Result<Option<StoredRun>> {
    // CAST: PostgreSQL must know the parameter's type to test it for NULL.
    on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT r.id AS run_id, r.kind, r.user_id, u.name AS user_name, r.language, r.entry, r.started_at_ms, r.finished_at_ms,
                r.exit_code, r.signal, r.timed_out, r.oom_killed, r.truncated, r.backend, r.outcome, r.stdout, r.stderr,
                s.name AS stopped_by, r.layout
         FROM runs r LEFT JOIN users u ON u.id = r.user_id LEFT JOIN users s ON s.id = r.stopped_by
         WHERE r.pad_id = $1 AND (CAST($2 AS TEXT) IS NULL OR r.id = $2)
         ORDER BY r.started_at_ms DESC, r.id DESC LIMIT 1",
    )
    .bind(pad)
    .bind(run_id)
    .fetch_optional(pool)
    .await
    })
}

/// One run without its output: what a summary lists.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub run_id: String,
    pub kind: String,
    pub user_name: Option<String>,
    pub language: String,
    pub entry: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub exit_code: Option<i64>,
    pub outcome: String,
}

/// The pad's `limit` most recent runs, oldest first, without their output.
pub async fn recent_summaries(db: &Db, pad: PadId, limit: i64) -> sqlx::Result<Vec<RunSummary>> {
    let mut runs: Vec<RunSummary> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT r.id AS run_id, r.kind, u.name AS user_name, r.language, r.entry, r.started_at_ms, r.finished_at_ms,
                r.exit_code, r.outcome
         FROM runs r LEFT JOIN users u ON u.id = r.user_id
         WHERE r.pad_id = $1 ORDER BY r.started_at_ms DESC, r.id DESC LIMIT $2",
    )
    .bind(pad)
    .bind(limit)
    .fetch_all(pool)
    .await
    })?;
    runs.reverse();
    Ok(runs)
}
