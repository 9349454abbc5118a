//! The other event sources of the timeline: pad events, chat and runs, a page at a time.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::db::{on_pool, Backend, Db, PadId, UserId};

/// The `pad_events` kind only interviewers see (the integrity timeline, `interviews::integrity`).
pub const INTERVIEWER_ONLY_KIND: &str = "integrity";

/// Who reads a timeline: whether it may include interviewer-only events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// `Role::can_see_interviewer_notes`.
    Interviewers,
    /// Anyone else who may watch playback (viewers).
    Everyone,
}

impl Audience {
    pub fn of(role: crate::pads::roles::Role) -> Audience {
        if role.can_see_interviewer_notes() {
            Audience::Interviewers
        } else {
            Audience::Everyone
        }
    }
}

/// The position of a source ordered by `(at_ms, id)`: events strictly after it come next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TimePos<I> {
    pub at: i64,
    pub id: I,
}

#[derive(Debug, Clone, FromRow)]
pub struct PadEventRow {
    pub id: i64,
    pub at_ms: i64,
    pub kind: String,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub data: String,
}

/// Up to `limit` pad events after `pos` and at or before `to_ms`, in `(at_ms, id)` order; the
/// interviewer-only kinds (`INTERVIEWER_ONLY_KIND`) only when `audience` may see them.
pub async fn pad_events_page(
    db: &Db,
    pad: PadId,
    pos: &TimePos<i64>,
    to_ms: i64,
    limit: i64,
    audience: Audience,
) -> sqlx::Result<Vec<PadEventRow>> {
    let hide = match audience {
        Audience::Interviewers => "",
        Audience::Everyone => " AND e.kind <> $6",
    };
    let sql = format!(
        "SELECT e.id, e.at_ms, e.kind, e.user_id, u.name AS user_name, e.data FROM pad_events e \
         LEFT JOIN users u ON u.id = e.user_id \
         WHERE e.pad_id = $1 AND (e.at_ms > $2 OR (e.at_ms = $2 AND e.id > $3)) AND e.at_ms <= $4{hide} \
         ORDER BY e.at_ms, e.id LIMIT $5",
    );
    on_pool!(db, |pool| {
        let query = sqlx::query_as(&sql)
            .bind(pad)
            .bind(pos.at)
            .bind(pos.id)
            .bind(to_ms)
            .bind(limit);
        let query = match audience {
            Audience::Interviewers => query,
            Audience::Everyone => query.bind(INTERVIEWER_ONLY_KIND),
        };
        query.fetch_all(pool).await
    })
}

#[derive(Debug, Clone, FromRow)]
pub struct ChatRow {
    pub id: i64,
    pub at_ms: i64,
    pub user_id: Option<UserId>,
    pub user_name: String,
    pub body: String,
}

/// Chat times are RFC 3339 text; this is their instant in ms.
fn chat_at_ms(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "CAST(ROUND((julianday(c.created_at) - 2440587.5) * 86400000.0) AS INTEGER)"
        }
        Backend::Postgres => {
            "CAST(ROUND(EXTRACT(EPOCH FROM CAST(c.created_at AS TIMESTAMPTZ)) * 1000) AS BIGINT)"
        }
    }
}

/// Up to `limit` chat messages after `pos` and at or before `to_ms`, in `(at_ms, id)` order.
pub async fn chat_page(
    db: &Db,
    pad: PadId,
    pos: &TimePos<i64>,
    to_ms: i64,
    limit: i64,
) -> sqlx::Result<Vec<ChatRow>> {
    let chat_at_ms = chat_at_ms(db.backend());
    on_pool!(db, |pool| {
        sqlx::query_as(&format!(
        "SELECT id, at_ms, user_id, user_name, body FROM ( \
            SELECT c.id, {chat_at_ms} AS at_ms, c.user_id, COALESCE(u.name, c.user_name) AS user_name, c.body \
            FROM chat_messages c LEFT JOIN users u ON u.id = c.user_id WHERE c.pad_id = $1) AS chat \
         WHERE (at_ms > $2 OR (at_ms = $2 AND id > $3)) AND at_ms <= $4 ORDER BY at_ms, id LIMIT $5"
    ))
    .bind(pad)
    .bind(pos.at)
    .bind(pos.id)
    .bind(to_ms)
    .bind(limit)
    .fetch_all(pool)
    .await
    })
}

#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: String,
    pub at_ms: i64,
    pub finished_at_ms: i64,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub language: String,
    pub entry: String,
    pub exit_code: Option<i64>,
    pub signal: Option<String>,
    pub timed_out: bool,
    pub oom_killed: bool,
    pub truncated: bool,
    pub outcome: String,
    pub stdout: String,
    pub stderr: String,
}

/// Up to `limit` finished runs started after `pos` and at or before `to_ms`, in
/// `(started_at_ms, id)` order.
pub async fn runs_page(
    db: &Db,
    pad: PadId,
    pos: &TimePos<String>,
    to_ms: i64,
    limit: i64,
) -> sqlx::Result<Vec<RunRow>> {
    on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT r.id, r.started_at_ms AS at_ms, r.finished_at_ms, r.user_id, u.name AS user_name, r.language, r.entry, \
                r.exit_code, r.signal, r.timed_out, r.oom_killed, r.truncated, r.outcome, r.stdout, r.stderr \
         FROM runs r LEFT JOIN users u ON u.id = r.user_id \
         WHERE r.pad_id = $1 AND (r.started_at_ms > $2 OR (r.started_at_ms = $2 AND r.id > $3)) AND r.started_at_ms <= $4 \
         ORDER BY r.started_at_ms, r.id LIMIT $5",
    )
    .bind(pad)
    .bind(pos.at)
    .bind(&pos.id)
    .bind(to_ms)
    .bind(limit)
    .fetch_all(pool)
    .await
    })
}
