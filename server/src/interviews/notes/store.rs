//! The SQL of private interviewer notes: the hidden companion pad of an interview pad (a `pads`
//! row with `notes_of` set, migration 0015) and its one file, whose root holds the notes text.

use crate::db::{now_text, on_pool, on_tx, Db, FileId, PadId, UserId, WriteLock};
use crate::pads::files_store::{self, NewFile};

/// The companion's title, language and file; nobody sees them as a pad, they only make the row
/// valid and say what it holds to whoever reads the database.
const TITLE: &str = "Interview notes";
const LANGUAGE: &str = "markdown";
const FILE_NAME: &str = "notes.md";

const FIND: &str = "SELECT p.id, f.id FROM pads p JOIN pad_files f ON f.pad_id = p.id \
                    WHERE p.notes_of = $1 ORDER BY f.id LIMIT 1";

/// The interview's notes companion and the file holding the notes, if created already.
pub async fn find(db: &Db, interview: PadId) -> sqlx::Result<Option<(PadId, FileId)>> {
    on_pool!(db, |pool| sqlx::query_as(FIND)
        .bind(interview)
        .fetch_optional(pool)
        .await)
}

/// The interview's notes companion, created on first use. Two interviewers opening the notes at
/// once serialise on the interview pad's write lock, so exactly one companion is created.
pub async fn find_or_create(
    db: &Db,
    interview: PadId,
    owner: UserId,
    slug: &str,
) -> sqlx::Result<(PadId, FileId)> {
    if let Some(found) = find(db, interview).await? {
        return Ok(found);
    }
    let mut tx = db.write_tx().await?;
    tx.lock(WriteLock::Pad(interview)).await?;
    let existing: Option<(PadId, FileId)> = on_tx!(tx, |conn| sqlx::query_as(FIND)
        .bind(interview)
        .fetch_optional(&mut *conn)
        .await)?;
    if let Some(found) = existing {
        tx.commit().await?;
        return Ok(found);
    }
    let now = now_text();
    let notes: PadId = on_tx!(tx, |conn| {
        sqlx::query_scalar(
        "INSERT INTO pads (slug, title, language, kind, owner_id, created_at, updated_at, notes_of)
         VALUES ($1, $2, $3, 'interview', $4, $5, $6, $7) RETURNING id"
    )
    .bind(slug)
    .bind(TITLE)
    .bind(LANGUAGE)
    .bind(owner)
    .bind(&now)
    .bind(&now)
    .bind(interview)
    .fetch_one(&mut *conn)
    .await
    })?;
    let files = files_store::insert_initial(
        &mut tx,
        notes,
        &[NewFile {
            name: FILE_NAME.into(),
            language: LANGUAGE.into(),
        }],
    )
    .await?;
    tx.commit().await?;
    let file = files
        .first()
        .map(|f| f.id)
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok((notes, file))
}
