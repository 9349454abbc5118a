//! Take-home rows: the links (`takehomes`), their one attempt each (`takehome_attempts`) and the
//! grading results (`takehome_results`). The only SQL that touches them.
//!
//! The attempt's clock moves by conditional updates only: `submit` sets `submitted_at_ms` where it
//! is still unset, `claim_grading` takes the grading where nobody graded and nobody holds a fresh
//! claim. Whoever's update changed the row acts; everybody else (a second Submit, the sweep of
//! another node) changes nothing.

use super::super::test_cases::run::CaseResult;
use crate::db::{now_text, on_pool, on_tx, Db, PadId, UserId, WriteLock};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TakehomeRow {
    pub id: i64,
    pub question_id: i64,
    pub created_by: UserId,
    /// Comma-separated language ids.
    pub languages: String,
    pub opens_at_ms: i64,
    pub closes_at_ms: i64,
    pub time_limit_ms: i64,
    pub created_at: String,
}

const TAKEHOME_COLUMNS: &str =
    "id, question_id, created_by, languages, opens_at_ms, closes_at_ms, time_limit_ms, created_at";

pub struct NewTakehome<'a> {
    pub question: i64,
    pub created_by: UserId,
    pub token_hash: &'a str,
    pub languages: &'a str,
    pub opens_at_ms: i64,
    pub closes_at_ms: i64,
    pub time_limit_ms: i64,
}

/// Insert a take-home unless the question already has `max_per_question`; `None` then.
pub async fn create(
    db: &Db,
    new: &NewTakehome<'_>,
    max_per_question: usize,
) -> sqlx::Result<Option<i64>> {
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::Question(new.question)).await?;
    let count: i64 = on_tx!(tx, |conn| sqlx::query_scalar(
        "SELECT COUNT(*) FROM takehomes WHERE question_id = $1"
    )
    .bind(new.question)
    .fetch_one(&mut *conn)
    .await)?;
    if count as usize >= max_per_question {
        return Ok(None);
    }
    let id: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar(
        "INSERT INTO takehomes (question_id, created_by, token_hash, languages, opens_at_ms, closes_at_ms, time_limit_ms, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"
    )
    .bind(new.question)
    .bind(new.created_by)
    .bind(new.token_hash)
    .bind(new.languages)
    .bind(new.opens_at_ms)
    .bind(new.closes_at_ms)
    .bind(new.time_limit_ms)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await
    })?;
    tx.commit().await?;
    Ok(Some(id))
}

pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<TakehomeRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {TAKEHOME_COLUMNS} FROM takehomes WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)
}

pub async fn find_by_token_hash(db: &Db, hash: &str) -> sqlx::Result<Option<TakehomeRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {TAKEHOME_COLUMNS} FROM takehomes WHERE token_hash = $1"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await)
}

/// A question's take-homes, newest first.
pub async fn for_question(db: &Db, question: i64) -> sqlx::Result<Vec<TakehomeRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {TAKEHOME_COLUMNS} FROM takehomes WHERE question_id = $1 ORDER BY id DESC"
    ))
    .bind(question)
    .fetch_all(pool)
    .await)
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttemptRow {
    pub takehome_id: i64,
    pub pad_id: PadId,
    pub candidate_id: UserId,
    pub language: String,
    pub started_at_ms: i64,
    pub deadline_ms: i64,
    pub submitted_at_ms: Option<i64>,
    /// `candidate` or `deadline`.
    pub submitted_by: Option<String>,
    pub graded_at_ms: Option<i64>,
}

const ATTEMPT_COLUMNS: &str =
    "takehome_id, pad_id, candidate_id, language, started_at_ms, deadline_ms, \
submitted_at_ms, submitted_by, graded_at_ms";

pub struct NewAttempt<'a> {
    pub takehome: i64,
    pub pad: PadId,
    pub candidate: UserId,
    pub language: &'a str,
    pub started_at_ms: i64,
    pub deadline_ms: i64,
}

/// Record the take-home's one attempt; `false` when it already has one (someone started first).
pub async fn insert_attempt(db: &Db, new: &NewAttempt<'_>) -> sqlx::Result<bool> {
    on_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO takehome_attempts (takehome_id, pad_id, candidate_id, language, started_at_ms, deadline_ms)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (takehome_id) DO NOTHING"
    )
    .bind(new.takehome)
    .bind(new.pad)
    .bind(new.candidate)
    .bind(new.language)
    .bind(new.started_at_ms)
    .bind(new.deadline_ms)
    .execute(pool)
    .await
    .map(|done| done.rows_affected() > 0)
    })
}

pub async fn attempt_of(db: &Db, takehome: i64) -> sqlx::Result<Option<AttemptRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {ATTEMPT_COLUMNS} FROM takehome_attempts WHERE takehome_id = $1"
    ))
    .bind(takehome)
    .fetch_optional(pool)
    .await)
}

pub async fn attempt_on_pad(db: &Db, pad: PadId) -> sqlx::Result<Option<AttemptRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {ATTEMPT_COLUMNS} FROM takehome_attempts WHERE pad_id = $1"
    ))
    .bind(pad)
    .fetch_optional(pool)
    .await)
}

/// Submit once: `None` when the attempt was already submitted (or is gone).
pub async fn submit(db: &Db, pad: PadId, at_ms: i64, by: &str) -> sqlx::Result<Option<AttemptRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "UPDATE takehome_attempts SET submitted_at_ms = $2, submitted_by = $3
         WHERE pad_id = $1 AND submitted_at_ms IS NULL RETURNING {ATTEMPT_COLUMNS}"
    ))
    .bind(pad)
    .bind(at_ms)
    .bind(by)
    .fetch_optional(pool)
    .await)
}

/// Attempts past their deadline and not submitted yet.
pub async fn overdue(db: &Db, now_ms: i64) -> sqlx::Result<Vec<PadId>> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT pad_id FROM takehome_attempts WHERE submitted_at_ms IS NULL AND deadline_ms <= $1"
    )
    .bind(now_ms)
    .fetch_all(pool)
    .await)
}

/// Submitted attempts nobody graded whose claim (if any) is older than `stale_before_ms`.
pub async fn ungraded(db: &Db, stale_before_ms: i64) -> sqlx::Result<Vec<PadId>> {
    on_pool!(db, |pool| {
        sqlx::query_scalar(
        "SELECT pad_id FROM takehome_attempts WHERE submitted_at_ms IS NOT NULL AND graded_at_ms IS NULL
         AND (grading_claimed_ms IS NULL OR grading_claimed_ms < $1)"
    )
    .bind(stale_before_ms)
    .fetch_all(pool)
    .await
    })
}

/// Take the grading of a submitted attempt: `None` when it is graded or someone holds a claim
/// made at or after `stale_before_ms`.
pub async fn claim_grading(
    db: &Db,
    pad: PadId,
    now_ms: i64,
    stale_before_ms: i64,
) -> sqlx::Result<Option<AttemptRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "UPDATE takehome_attempts SET grading_claimed_ms = $2
         WHERE pad_id = $1 AND submitted_at_ms IS NOT NULL AND graded_at_ms IS NULL
         AND (grading_claimed_ms IS NULL OR grading_claimed_ms < $3) RETURNING {ATTEMPT_COLUMNS}"
    ))
    .bind(pad)
    .bind(now_ms)
    .bind(stale_before_ms)
    .fetch_optional(pool)
    .await)
}

/// Store the grading's results and mark the attempt graded, in one transaction.
pub async fn store_results(
    db: &Db,
    pad: PadId,
    results: &[CaseResult],
    at_ms: i64,
) -> sqlx::Result<()> {
    let mut tx = db.write_tx().await?;
    on_tx!(tx, |conn| sqlx::query(
        "DELETE FROM takehome_results WHERE pad_id = $1"
    )
    .bind(pad)
    .execute(&mut *conn)
    .await
    .map(|_| ()))?;
    for result in results {
        on_tx!(tx, |conn| {
            sqlx::query(
            "INSERT INTO takehome_results (pad_id, sort_order, name, hidden, passed, outcome, actual, stderr, duration_ms, returned, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )
        .bind(pad)
        .bind(result.index as i64)
        .bind(&result.name)
        .bind(result.hidden)
        .bind(result.passed)
        .bind(&result.outcome)
        .bind(&result.actual)
        .bind(&result.stderr)
        .bind(result.duration_ms as i64)
        .bind(&result.returned)
        .bind(&result.error)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        })?;
    }
    on_tx!(tx, |conn| sqlx::query(
        "UPDATE takehome_attempts SET graded_at_ms = $2 WHERE pad_id = $1"
    )
    .bind(pad)
    .bind(at_ms)
    .execute(&mut *conn)
    .await
    .map(|_| ()))?;
    tx.commit().await
}

/// A stored result row.
#[derive(sqlx::FromRow)]
struct ResultRow {
    sort_order: i64,
    name: String,
    hidden: bool,
    passed: bool,
    outcome: String,
    actual: String,
    stderr: String,
    duration_ms: i64,
    returned: Option<String>,
    error: Option<String>,
}

pub async fn results(db: &Db, pad: PadId) -> sqlx::Result<Vec<CaseResult>> {
    let rows: Vec<ResultRow> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT sort_order, name, hidden, passed, outcome, actual, stderr, duration_ms, returned, error
         FROM takehome_results WHERE pad_id = $1 ORDER BY sort_order"
    )
    .bind(pad)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| CaseResult {
            index: row.sort_order as usize,
            name: row.name,
            hidden: row.hidden,
            passed: row.passed,
            outcome: row.outcome,
            actual: row.actual,
            stderr: row.stderr,
            duration_ms: row.duration_ms as u64,
            returned: row.returned,
            error: row.error,
        })
        .collect())
}
