//! Test case rows: a question's (`question_tests`) and the copy an interview took when it started
//! (`interview_tests`). The only SQL that touches them.

use super::super::test_cases::TestCase;
use crate::db::{on_pool, on_tx, Db, PadId, WriteTx};

const CASE_COLUMNS: &str = "name, kind, stdin, args, expected, hidden, compare, function_name";

/// Insert a question's cases in order, inside the caller's transaction.
pub async fn insert_for_question(
    tx: &mut WriteTx,
    question: i64,
    cases: &[TestCase],
) -> sqlx::Result<()> {
    for (order, case) in cases.iter().enumerate() {
        on_tx!(tx, |conn| {
            sqlx::query(
            "INSERT INTO question_tests (question_id, sort_order, name, stdin, expected, hidden, compare, kind, args, function_name)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )
        .bind(question)
        .bind(order as i64)
        .bind(&case.name)
        .bind(&case.stdin)
        .bind(&case.expected)
        .bind(case.hidden)
        .bind(case.compare.as_str())
        .bind(case.kind.as_str())
        .bind(&case.args)
        .bind(&case.function_name)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        })?;
    }
    Ok(())
}

/// A question's cases in order (the caller checked it may see the question).
pub async fn for_question(db: &Db, question: i64) -> sqlx::Result<Vec<TestCase>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {CASE_COLUMNS} FROM question_tests WHERE question_id = $1 ORDER BY sort_order"
    ))
    .bind(question)
    .fetch_all(pool)
    .await)
}

/// Copy the question's cases into the interview of `pad`.
pub async fn copy_to_interview(db: &Db, question: i64, pad: PadId) -> sqlx::Result<()> {
    on_pool!(db, |pool| {
        sqlx::query(
        "INSERT INTO interview_tests (pad_id, sort_order, name, stdin, expected, hidden, compare, kind, args, function_name)
         SELECT $1, sort_order, name, stdin, expected, hidden, compare, kind, args, function_name
         FROM question_tests WHERE question_id = $2"
    )
    .bind(pad)
    .bind(question)
    .execute(pool)
    .await
    .map(|_| ())
    })
}

/// The interview's cases in order.
pub async fn for_interview(db: &Db, pad: PadId) -> sqlx::Result<Vec<TestCase>> {
    on_pool!(db, |pool| sqlx::query_as(&format!(
        "SELECT {CASE_COLUMNS} FROM interview_tests WHERE pad_id = $1 ORDER BY sort_order"
    ))
    .bind(pad)
    .fetch_all(pool)
    .await)
}
