//! Scorecard rows: the only SQL that touches `interview_scorecards` and `scorecard_templates`. A
//! scorecard whose `submitted_at_ms` is set is never written again: `write` leaves it untouched,
//! which is what makes a submission final even when two requests race.

use crate::db::{on_pool, Db, PadId, UserId};

/// One interviewer's scorecard; `body` is the JSON `scorecards` validated before writing it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScorecardRow {
    pub user_id: UserId,
    pub name: String,
    pub body: String,
    pub updated_at_ms: i64,
    pub submitted_at_ms: Option<i64>,
}

const SELECT_ROWS: &str = "SELECT s.user_id, u.name, s.body, s.updated_at_ms, s.submitted_at_ms
    FROM interview_scorecards s JOIN users u ON u.id = s.user_id";

/// Write `user`'s scorecard, as a draft (`submitted_at_ms` `None`) or submitted. `false` when
/// they had submitted it already (nothing written).
pub async fn write(
    db: &Db,
    pad: PadId,
    user: UserId,
    body: &str,
    at_ms: i64,
    submitted_at_ms: Option<i64>,
) -> sqlx::Result<bool> {
    let written = on_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO interview_scorecards (pad_id, user_id, body, updated_at_ms, submitted_at_ms)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (pad_id, user_id) DO UPDATE
             SET body = excluded.body, updated_at_ms = excluded.updated_at_ms, submitted_at_ms = excluded.submitted_at_ms
             WHERE interview_scorecards.submitted_at_ms IS NULL"
    )
    .bind(pad)
    .bind(user)
    .bind(body)
    .bind(at_ms)
    .bind(submitted_at_ms)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(written > 0)
}

/// `user`'s own scorecard on the pad, draft or submitted.
pub async fn find(db: &Db, pad: PadId, user: UserId) -> sqlx::Result<Option<ScorecardRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "{SELECT_ROWS} WHERE s.pad_id = $1 AND s.user_id = $2"
    ))
    .bind(pad)
    .bind(user)
    .fetch_optional(pool)
    .await)
}

/// Every submitted scorecard of the pad except `user`'s, in the order they were submitted. Drafts
/// are never read for anyone but their author.
pub async fn submitted_by_others(
    db: &Db,
    pad: PadId,
    user: UserId,
) -> sqlx::Result<Vec<ScorecardRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "{SELECT_ROWS} WHERE s.pad_id = $1 AND s.user_id != $2 AND s.submitted_at_ms IS NOT NULL
         ORDER BY s.submitted_at_ms, s.user_id"
    ))
    .bind(pad)
    .bind(user)
    .fetch_all(pool)
    .await)
}

/// `user`'s own template (JSON sections), if they saved one.
pub async fn template(db: &Db, user: UserId) -> sqlx::Result<Option<String>> {
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT body FROM scorecard_templates WHERE user_id = $1"
    )
    .bind(user)
    .fetch_optional(pool)
    .await)
}

pub async fn set_template(db: &Db, user: UserId, body: &str, at_ms: i64) -> sqlx::Result<()> {
    on_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO scorecard_templates (user_id, body, updated_at_ms) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET body = excluded.body, updated_at_ms = excluded.updated_at_ms"
    )
    .bind(user)
    .bind(body)
    .bind(at_ms)
    .execute(pool)
    .await
    .map(|_| ())
    })
}
