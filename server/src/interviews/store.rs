//! Interview rows (one per pad started from a question) and the waiting room's admissions. The
//! only SQL that touches `interviews` and `interview_admissions`.

use serde::Serialize;

use crate::db::{now_text, on_pool, Db, PadId, UserId};

/// A pad's interview: the copy of its question and the switches.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InterviewRow {
    pub pad_id: PadId,
    pub question_id: Option<i64>,
    pub language: String,
    pub title: String,
    pub prompt: String,
    pub guidance: String,
    pub locked: bool,
    pub run_disabled: bool,
    pub terminal_disabled: bool,
    pub prompt_hidden: bool,
    pub timer_mode: Option<String>,
    pub timer_started_ms: Option<i64>,
    pub timer_duration_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
    /// The question's scorecard template when the interview started (JSON), if it had one.
    pub scorecard_template: Option<String>,
}

const INTERVIEW_COLUMNS: &str = "pad_id, question_id, language, title, prompt, guidance, locked, run_disabled, \
terminal_disabled, prompt_hidden, timer_mode, timer_started_ms, timer_duration_ms, ended_at_ms, scorecard_template";

pub struct NewInterview<'a> {
    pub pad: PadId,
    pub question: i64,
    pub language: &'a str,
    pub title: &'a str,
    pub prompt: &'a str,
    pub guidance: &'a str,
    pub scorecard_template: Option<&'a str>,
    pub created_by: UserId,
}

pub async fn create(db: &Db, new: &NewInterview<'_>) -> sqlx::Result<()> {
    on_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO interviews (pad_id, question_id, language, title, prompt, guidance, created_by, created_at, scorecard_template)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(new.pad)
    .bind(new.question)
    .bind(new.language)
    .bind(new.title)
    .bind(new.prompt)
    .bind(new.guidance)
    .bind(new.created_by)
    .bind(now_text())
    .bind(new.scorecard_template)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

pub async fn find(db: &Db, pad: PadId) -> sqlx::Result<Option<InterviewRow>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {INTERVIEW_COLUMNS} FROM interviews WHERE pad_id = $1"
    ))
    .bind(pad)
    .fetch_optional(pool)
    .await)
}

/// The pad's interview and, for `user`, their admission status (`None`: never knocked).
pub async fn find_with_admission(
    db: &Db,
    pad: PadId,
    user: UserId,
) -> sqlx::Result<Option<(InterviewRow, Option<String>)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        interview: InterviewRow,
        status: Option<String>,
    }
    let row: Option<Row> = on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT {INTERVIEW_COLUMNS}, (SELECT status FROM interview_admissions a WHERE a.pad_id = $1 AND a.user_id = $2) AS status
         FROM interviews WHERE pad_id = $1"
    ))
    .bind(pad)
    .bind(user)
    .fetch_optional(pool)
    .await
    })?;
    Ok(row.map(|r| (r.interview, r.status)))
}

/// The switches an interviewer sets; the timer is all three columns or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchValues {
    pub locked: bool,
    pub run_disabled: bool,
    pub terminal_disabled: bool,
    pub prompt_hidden: bool,
    pub timer_mode: Option<String>,
    pub timer_started_ms: Option<i64>,
    pub timer_duration_ms: Option<i64>,
}

/// Store the switches of an interview that has not ended; `None` when it has (or is gone).
pub async fn set_switches(
    db: &Db,
    pad: PadId,
    values: &SwitchValues,
) -> sqlx::Result<Option<InterviewRow>> {
    on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "UPDATE interviews SET locked = $2, run_disabled = $3, terminal_disabled = $4, prompt_hidden = $5,
             timer_mode = $6, timer_started_ms = $7, timer_duration_ms = $8
         WHERE pad_id = $1 AND ended_at_ms IS NULL RETURNING {INTERVIEW_COLUMNS}"
    ))
    .bind(pad)
    .bind(values.locked)
    .bind(values.run_disabled)
    .bind(values.terminal_disabled)
    .bind(values.prompt_hidden)
    .bind(values.timer_mode.as_deref())
    .bind(values.timer_started_ms)
    .bind(values.timer_duration_ms)
    .fetch_optional(pool)
    .await
    })
}

/// End the interview once; `None` when it had already ended (or is gone).
pub async fn end(
    db: &Db,
    pad: PadId,
    by: UserId,
    at_ms: i64,
) -> sqlx::Result<Option<InterviewRow>> {
    on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "UPDATE interviews SET ended_at_ms = $2, ended_by = $3 WHERE pad_id = $1 AND ended_at_ms IS NULL
         RETURNING {INTERVIEW_COLUMNS}"
    ))
    .bind(pad)
    .bind(at_ms)
    .bind(by)
    .fetch_optional(pool)
    .await
    })
}

/// Admission states; stored as text.
pub const WAITING: &str = "waiting";
pub const ADMITTED: &str = "admitted";
pub const REFUSED: &str = "refused";

/// Put `user` in the pad's waiting room unless they already have a status; returns the status
/// and whether this call created it.
pub async fn knock(db: &Db, pad: PadId, user: UserId) -> sqlx::Result<(String, bool)> {
    let inserted = on_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO interview_admissions (pad_id, user_id, status, requested_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (pad_id, user_id) DO NOTHING"
    )
    .bind(pad)
    .bind(user)
    .bind(WAITING)
    .bind(now_text())
    .execute(pool)
    .await
    .map(|done| done.rows_affected() > 0)
    })?;
    let status: String = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT status FROM interview_admissions WHERE pad_id = $1 AND user_id = $2"
    )
    .bind(pad)
    .bind(user)
    .fetch_one(pool)
    .await)?;
    Ok((status, inserted))
}

/// Admit or turn away someone who knocked; `false` when they never did.
pub async fn decide(
    db: &Db,
    pad: PadId,
    user: UserId,
    status: &str,
    by: UserId,
) -> sqlx::Result<bool> {
    let done = on_pool!(db, |pool| {
        sqlx::query(
        "UPDATE interview_admissions SET status = $3, decided_at = $4, decided_by = $5 WHERE pad_id = $1 AND user_id = $2"
    )
    .bind(pad)
    .bind(user)
    .bind(status)
    .bind(now_text())
    .bind(by)
    .execute(pool)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(done > 0)
}

/// Someone in (or turned away from) the waiting room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Admission {
    #[schema(value_type = i64)]
    pub user_id: UserId,
    pub name: String,
    pub status: String,
    pub requested_at: String,
}

/// The pad's candidates who knocked and were not admitted, oldest first (admitted people are on
/// the pad; someone kicked since is not listed).
pub async fn not_admitted(db: &Db, pad: PadId) -> sqlx::Result<Vec<Admission>> {
    on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT a.user_id, u.name, a.status, a.requested_at FROM interview_admissions a
         JOIN users u ON u.id = a.user_id
         JOIN pad_members m ON m.pad_id = a.pad_id AND m.user_id = a.user_id AND m.role = 'candidate'
         WHERE a.pad_id = $1 AND a.status != $2 ORDER BY a.requested_at, a.user_id"
    )
    .bind(pad)
    .bind(ADMITTED)
    .fetch_all(pool)
    .await
    })
}
