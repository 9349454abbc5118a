//! Question rows: the question itself, its tags, its starter files per language and its
//! co-editors. The only SQL that touches `questions` and `question_*`.
//!
//! A question is visible to its owner and its co-editors; every read here takes the caller and
//! answers `None` for a question they may not see, so a stranger learns nothing about its id.

use serde::Serialize;

use super::super::test_cases;
use super::super::test_cases::signature::Signature;
use super::super::test_cases::TestCase;
use crate::db::{now_text, on_pool, on_tx, Db, UserId, WriteLock, WriteTx};

/// One starter file of one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StarterFile {
    pub language: String,
    pub name: String,
    pub content: String,
}

/// What a question holds besides its id and people; validated by `questions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionFields {
    pub title: String,
    pub prompt: String,
    pub difficulty: String,
    pub guidance: String,
    pub tags: Vec<String>,
    /// In the order they are shown: languages in first-appearance order, files within them.
    pub files: Vec<StarterFile>,
    /// Validated JSON of `scorecards::TemplateInput`.
    pub scorecard_template: Option<String>,
    pub signature: Option<Signature>,
    pub tests: Vec<TestCase>,
}

impl QuestionFields {
    /// The signature as its column stores it.
    fn signature_json(&self) -> Option<String> {
        self.signature
            .as_ref()
            .map(|s| serde_json::json!(s).to_string())
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuestionRow {
    pub id: i64,
    pub owner_id: UserId,
    pub owner_name: String,
    pub title: String,
    pub prompt: String,
    pub difficulty: String,
    pub guidance: String,
    pub scorecard_template: Option<String>,
    /// JSON of `Signature`.
    pub signature: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A co-editor of a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Editor {
    #[schema(value_type = i64)]
    pub id: UserId,
    pub name: String,
}

/// A whole question as its owner and co-editors see it.
#[derive(Debug, Clone)]
pub struct Question {
    pub row: QuestionRow,
    pub tags: Vec<String>,
    pub files: Vec<StarterFile>,
    pub editors: Vec<Editor>,
    pub tests: Vec<TestCase>,
}

const QUESTION_COLUMNS: &str =
    "q.id, q.owner_id, u.name AS owner_name, q.title, q.prompt, q.difficulty, q.guidance, \
q.scorecard_template, q.signature, q.created_at, q.updated_at";

/// The caller (`$1`) is the owner or a co-editor of the question row named `table`.
fn visible_to(table: &str) -> String {
    format!(
        "({table}.owner_id = $1 OR EXISTS (SELECT 1 FROM question_editors e WHERE e.question_id = {table}.id AND e.user_id = $1))"
    )
}

async fn insert_children(tx: &mut WriteTx, id: i64, fields: &QuestionFields) -> sqlx::Result<()> {
    for tag in &fields.tags {
        on_tx!(tx, |conn| sqlx::query(
            "INSERT INTO question_tags (question_id, tag) VALUES ($1, $2)"
        )
        .bind(id)
        .bind(tag)
        .execute(&mut *conn)
        .await
        .map(|_| ()))?;
    }
    for (order, file) in fields.files.iter().enumerate() {
        on_tx!(tx, |conn| {
            sqlx::query(
            "INSERT INTO question_files (question_id, language, name, content, sort_order) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(id)
        .bind(&file.language)
        .bind(&file.name)
        .bind(&file.content)
        .bind(order as i64)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        })?;
    }
    test_cases::store::insert_for_question(tx, id, &fields.tests).await
}

/// Why a question was not created.
#[derive(Debug)]
pub enum CreateOutcome {
    Created(i64),
    /// The owner already has `max_per_user` questions.
    TooMany,
}

/// Insert a question for `owner`, unless they already own `max_per_user`. The count and the
/// insert share one write transaction under `WriteLock::QuestionsOf`, so two concurrent creates cannot both take the last place.
pub async fn create(
    db: &Db,
    owner: UserId,
    fields: &QuestionFields,
    max_per_user: usize,
) -> sqlx::Result<CreateOutcome> {
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::QuestionsOf(owner)).await?;
    let owned: i64 = on_tx!(tx, |conn| sqlx::query_scalar(
        "SELECT COUNT(*) FROM questions WHERE owner_id = $1"
    )
    .bind(owner)
    .fetch_one(&mut *conn)
    .await)?;
    if owned as usize >= max_per_user {
        return Ok(CreateOutcome::TooMany);
    }
    let now = now_text();
    let id: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar(
        "INSERT INTO questions (owner_id, title, prompt, difficulty, guidance, created_at, updated_at, scorecard_template, signature)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) RETURNING id"
    )
    .bind(owner)
    .bind(&fields.title)
    .bind(&fields.prompt)
    .bind(&fields.difficulty)
    .bind(&fields.guidance)
    .bind(&now)
    .bind(&fields.scorecard_template)
    .bind(fields.signature_json())
    .fetch_one(&mut *conn)
    .await
    })?;
    insert_children(&mut tx, id, fields).await?;
    tx.commit().await?;
    Ok(CreateOutcome::Created(id))
}

/// Replace every field of a question the caller may edit; `false` when there is none.
pub async fn update(
    db: &Db,
    id: i64,
    caller: UserId,
    fields: &QuestionFields,
) -> sqlx::Result<bool> {
    let mut tx = db.write_tx().await?;
    let sql = format!(
        "UPDATE questions SET title = $2, prompt = $3, difficulty = $4, guidance = $5, updated_at = $6,
             scorecard_template = $8, signature = $9
         WHERE questions.id = $7 AND {}",
        visible_to("questions")
    );
    let changed = on_tx!(tx, |conn| sqlx::query(&sql)
        .bind(caller)
        .bind(&fields.title)
        .bind(&fields.prompt)
        .bind(&fields.difficulty)
        .bind(&fields.guidance)
        .bind(now_text())
        .bind(id)
        .bind(&fields.scorecard_template)
        .bind(fields.signature_json())
        .execute(&mut *conn)
        .await
        .map(|done| done.rows_affected()))?;
    if changed == 0 {
        return Ok(false);
    }
    for table in ["question_tags", "question_files", "question_tests"] {
        on_tx!(tx, |conn| sqlx::query(&format!(
            "DELETE FROM {table} WHERE question_id = $1"
        ))
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|_| ()))?;
    }
    insert_children(&mut tx, id, fields).await?;
    tx.commit().await?;
    Ok(true)
}

/// Delete a question `owner` owns (its tags, files and co-editors go with it); interviews started
/// from it keep their copy of the prompt.
pub async fn delete(db: &Db, id: i64, owner: UserId) -> sqlx::Result<bool> {
    let done = on_pool!(db, |pool| sqlx::query(
        "DELETE FROM questions WHERE id = $1 AND owner_id = $2"
    )
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}

/// The question with everything in it, if `caller` may see it.
pub async fn find(db: &Db, id: i64, caller: UserId) -> sqlx::Result<Option<Question>> {
    let sql = format!(
        "SELECT {QUESTION_COLUMNS} FROM questions q JOIN users u ON u.id = q.owner_id WHERE q.id = $2 AND {}",
        visible_to("q")
    );
    let row: Option<QuestionRow> = on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(caller)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
    let Some(row) = row else { return Ok(None) };
    let (tags, files, editors) = on_pool!(db, |pool| {
        let tags: Vec<String> =
            sqlx::query_scalar("SELECT tag FROM question_tags WHERE question_id = $1 ORDER BY tag")
                .bind(id)
                .fetch_all(pool)
                .await?;
        let files: Vec<StarterFile> = sqlx::query_as(
            "SELECT language, name, content FROM question_files WHERE question_id = $1 ORDER BY sort_order",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let editors: Vec<Editor> = sqlx::query_as(
            "SELECT u.id, u.name FROM question_editors e JOIN users u ON u.id = e.user_id
             WHERE e.question_id = $1 ORDER BY e.added_at, u.id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        Ok::<_, sqlx::Error>((tags, files, editors))
    })?;
    let tests = test_cases::store::for_question(db, id).await?;
    Ok(Some(Question {
        row,
        tags,
        files,
        editors,
        tests,
    }))
}

/// What the list narrows to; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Lowercase text found in the title or the prompt.
    pub text: Option<String>,
    pub tag: Option<String>,
    pub language: Option<String>,
    pub difficulty: Option<String>,
    /// Only questions with an id below this (the previous page's `nextBefore`).
    pub before: Option<i64>,
}

/// One line of the question list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Summary {
    pub id: i64,
    pub owner_id: UserId,
    pub owner_name: String,
    pub title: String,
    pub difficulty: String,
    pub updated_at: String,
    /// Comma-joined, sorted; split by the caller.
    pub tags: Option<String>,
    pub languages: Option<String>,
}

/// `%` and `_` in a user's search text match themselves.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The caller's questions (owned or shared with them), newest first, at most `limit`.
pub async fn list(
    db: &Db,
    caller: UserId,
    filter: &Filter,
    limit: usize,
) -> sqlx::Result<Vec<Summary>> {
    // Tags and languages are gathered by correlated subqueries: their join order differs between
    // the backends' aggregate functions, so they are sorted in SQL and joined with ','.
    let (tags_of, languages_of) = match db.backend() {
        crate::db::Backend::Sqlite => (
            "(SELECT group_concat(tag, ',') FROM (SELECT tag FROM question_tags WHERE question_id = q.id ORDER BY tag))",
            "(SELECT group_concat(language, ',') FROM (SELECT DISTINCT language FROM question_files WHERE question_id = q.id ORDER BY language))",
        ),
        crate::db::Backend::Postgres => (
            "(SELECT string_agg(tag, ',' ORDER BY tag) FROM question_tags WHERE question_id = q.id)",
            "(SELECT string_agg(DISTINCT language, ',' ORDER BY language) FROM question_files WHERE question_id = q.id)",
        ),
    };
    let sql = format!(
        "SELECT q.id, q.owner_id, u.name AS owner_name, q.title, q.difficulty, q.updated_at,
                {tags_of} AS tags, {languages_of} AS languages
         FROM questions q JOIN users u ON u.id = q.owner_id
         WHERE {visible}
           AND ($2 IS NULL OR LOWER(q.title) LIKE $2 ESCAPE '\\' OR LOWER(q.prompt) LIKE $2 ESCAPE '\\')
           AND ($3 IS NULL OR EXISTS (SELECT 1 FROM question_tags t WHERE t.question_id = q.id AND t.tag = $3))
           AND ($4 IS NULL OR EXISTS (SELECT 1 FROM question_files f WHERE f.question_id = q.id AND f.language = $4))
           AND ($5 IS NULL OR q.difficulty = $5)
           AND ($6 IS NULL OR q.id < $6)
         ORDER BY q.id DESC LIMIT $7",
        visible = visible_to("q")
    );
    on_pool!(db, |pool| sqlx::query_as(&sql)
        .bind(caller)
        .bind(filter.text.as_deref().map(like_pattern))
        .bind(filter.tag.as_deref())
        .bind(filter.language.as_deref())
        .bind(filter.difficulty.as_deref())
        .bind(filter.before)
        .bind(limit as i64)
        .fetch_all(pool)
        .await)
}

/// Why a co-editor was not added.
#[derive(Debug, PartialEq, Eq)]
pub enum ShareOutcome {
    Added,
    /// Already a co-editor (nothing changed).
    Already,
    /// No such question owned by the caller, or no such user.
    Missing,
    TooMany,
}

/// Add `editor` as a co-editor of `owner`'s question, up to `max_editors`.
pub async fn add_editor(
    db: &Db,
    id: i64,
    owner: UserId,
    editor: UserId,
    max_editors: usize,
) -> sqlx::Result<ShareOutcome> {
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::Question(id)).await?;
    let owned: Option<i64> = on_tx!(tx, |conn| sqlx::query_scalar(
        "SELECT id FROM questions WHERE id = $1 AND owner_id = $2"
    )
    .bind(id)
    .bind(owner)
    .fetch_optional(&mut *conn)
    .await)?;
    let user_exists: Option<i64> = on_tx!(tx, |conn| sqlx::query_scalar(
        "SELECT id FROM users WHERE id = $1"
    )
    .bind(editor)
    .fetch_optional(&mut *conn)
    .await)?;
    if owned.is_none() || user_exists.is_none() || editor == owner {
        return Ok(ShareOutcome::Missing);
    }
    let already: Option<i64> = on_tx!(tx, |conn| sqlx::query_scalar(
        "SELECT user_id FROM question_editors WHERE question_id = $1 AND user_id = $2"
    )
    .bind(id)
    .bind(editor)
    .fetch_optional(&mut *conn)
    .await)?;
    if already.is_some() {
        return Ok(ShareOutcome::Already);
    }
    let count: i64 = on_tx!(tx, |conn| sqlx::query_scalar(
        "SELECT COUNT(*) FROM question_editors WHERE question_id = $1"
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await)?;
    if count as usize >= max_editors {
        return Ok(ShareOutcome::TooMany);
    }
    on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO question_editors (question_id, user_id, added_at) VALUES ($1, $2, $3)"
    )
    .bind(id)
    .bind(editor)
    .bind(now_text())
    .execute(&mut *conn)
    .await
    .map(|_| ()))?;
    tx.commit().await?;
    Ok(ShareOutcome::Added)
}

/// Remove a co-editor: the owner removes anyone, a co-editor only themselves.
pub async fn remove_editor(db: &Db, id: i64, caller: UserId, editor: UserId) -> sqlx::Result<bool> {
    let done = on_pool!(db, |pool| sqlx::query(
        "DELETE FROM question_editors WHERE question_id = $1 AND user_id = $2
           AND ($3 = $2 OR EXISTS (SELECT 1 FROM questions q WHERE q.id = $1 AND q.owner_id = $3))"
    )
    .bind(id)
    .bind(editor)
    .bind(caller)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}
