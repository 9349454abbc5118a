//! Files of a pad (SPEC §3): names, limits, create, rename, change language, delete.
//!
//! A file is a row (`files_store`: id, name, language, order) plus a text in the pad's document
//! under the root `file:<id>` (SPEC §4), so a rename or a language change is metadata only and
//! never touches text someone is typing. Creating and deleting write the row and then the
//! document through `DocStore`, so live rooms see the same change a REST client made, tell the
//! document which roots clients may now write, and end with a `FilesChanged` event so open
//! sockets refresh their id ↔ name map.

use serde::Serialize;

use super::files_store::{self, DeleteOutcome, PadFile};
use super::languages;
use super::store::Pad;
use crate::bus::DomainEvent;
use crate::collab::doc_store::set_text;
use crate::db::{FileId, PadId, UserId};
use crate::error::{AppError, AppResult, OnUnique};
use crate::AppState;

/// Files per pad (SPEC §3).
pub const MAX_FILES_PER_PAD: usize = 50;
/// Bytes of UTF-8 text per file (SPEC §3); bigger content is answered with 413.
pub const MAX_FILE_BYTES: usize = 512 * 1024;
/// Characters in a file name.
pub const MAX_FILE_NAME_CHARS: usize = 100;
/// Encoded bytes a written text may add to the document beyond its own UTF-8 bytes (the item's
/// id, root name and lengths, the delete set of the text it replaces), for the document size
/// check before a REST write (`DocStore::edit_within`).
pub const TEXT_ENCODING_SLACK: usize = 256;

/// A file name is one path segment: `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$` with no `..` (SPEC §3).
/// ASCII only, so look-alikes (Cyrillic `а`, fullwidth letters, bidi overrides) and anything a
/// shell or a file system would read specially (`/`, `\`, NUL, a leading dot) are refused. The same
/// names are safe to hand to the sandbox as file names (the original's path traversal, §12 #2).
pub fn validate_file_name(name: &str) -> AppResult<()> {
    let bytes = name.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let rest_ok = bytes
        .iter()
        .skip(1)
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if first_ok && rest_ok && bytes.len() <= MAX_FILE_NAME_CHARS && !name.contains("..") {
        Ok(())
    } else {
        Err(AppError::invalid(
            "invalid_file_name",
            format!(
                "a file name is 1–{MAX_FILE_NAME_CHARS} characters of A–Z, a–z, 0–9, '_', '.', '-', starts with a letter, digit or '_', and has no '..'"
            ),
        ))
    }
}

/// 413 when a file's content is over `MAX_FILE_BYTES`.
pub fn check_content(content: &str) -> AppResult<()> {
    if content.len() > MAX_FILE_BYTES {
        return Err(AppError::too_large(format!(
            "a file holds at most {MAX_FILE_BYTES} bytes"
        )));
    }
    Ok(())
}

/// A file id from a path; anything that is not one is as unknown as a missing file.
pub fn parse_file_id(raw: &str) -> AppResult<FileId> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(FileId)
        .ok_or(AppError::NotFound)
}

/// The canonical language of a file: the one asked for, else the extension's, else the pad's.
fn file_language(requested: Option<&str>, name: &str, pad_language: &str) -> AppResult<String> {
    Ok(match requested {
        Some(lang) => languages::resolve(lang)?.id.to_string(),
        None => languages::for_file_name(name)
            .map(|l| l.id.as_str())
            .unwrap_or(pad_language)
            .to_string(),
    })
}

/// Tell the pad's document which roots clients may write: one per file row.
async fn refresh_file_roots(state: &AppState, pad: PadId) -> AppResult<()> {
    let files = files_store::list(&state.db, pad).await?;
    let doc = state.docs.open(pad).await.map_err(AppError::from)?;
    doc.set_files(files.iter().map(|f| f.id));
    Ok(())
}

fn name_taken() -> AppError {
    AppError::conflict(
        "name_taken",
        "a file with this name already exists in the pad",
    )
}

pub async fn list(state: &AppState, pad: &Pad) -> AppResult<Vec<PadFile>> {
    Ok(files_store::list(&state.db, pad.id).await?)
}

/// A file and its current text in the document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FileWithContent {
    pub file: PadFile,
    pub content: String,
}

pub async fn read(state: &AppState, pad: &Pad, file: FileId) -> AppResult<FileWithContent> {
    let file = files_store::find(&state.db, pad.id, file)
        .await?
        .ok_or(AppError::NotFound)?;
    let doc = state.docs.open(pad.id).await.map_err(AppError::from)?;
    let content = doc.file_text(file.id).await;
    Ok(FileWithContent { file, content })
}

pub struct NewFileRequest<'a> {
    pub name: &'a str,
    pub language: Option<&'a str>,
    pub content: &'a str,
}

/// Create a file with its initial text. 409 `name_taken`, 409 `too_many_files` at the cap, 413
/// `doc_too_large` when the text does not fit in the pad's document.
pub async fn create(
    state: &AppState,
    pad: &Pad,
    user: UserId,
    new: NewFileRequest<'_>,
) -> AppResult<PadFile> {
    validate_file_name(new.name)?;
    check_content(new.content)?;
    let language = file_language(new.language, new.name, &pad.language)?;
    let file = files_store::create(&state.db, pad.id, new.name, &language, MAX_FILES_PER_PAD)
        .await
        .on_unique(name_taken)?
        .ok_or_else(|| {
            AppError::conflict(
                "too_many_files",
                format!("a pad holds at most {MAX_FILES_PER_PAD} files"),
            )
        })?;
    // Always write the text, even when empty: SQLite may reuse a deleted file's row id, and late
    // edits to that file's root must not show up in the new one.
    let content = new.content.to_string();
    let growth = content.len() + TEXT_ENCODING_SLACK;
    let id = file.id;
    if let Err(err) = state
        .docs
        .edit_within(pad.id, Some(user), growth, move |txn| {
            set_text(txn, id, &content)
        })
        .await
    {
        files_store::remove(&state.db, pad.id, file.id).await?;
        return Err(AppError::from(err));
    }
    refresh_file_roots(state, pad.id).await?;
    state.bus.publish(DomainEvent::FilesChanged { pad: pad.id });
    Ok(file)
}

/// Rename and/or change the language: the row only, the text stays in `file:<id>`. Without an
/// explicit language a rename re-infers one from a recognised new extension.
pub async fn update(
    state: &AppState,
    pad: &Pad,
    file: FileId,
    new_name: Option<&str>,
    new_language: Option<&str>,
) -> AppResult<PadFile> {
    if let Some(name) = new_name {
        validate_file_name(name)?;
    }
    let current = files_store::find(&state.db, pad.id, file)
        .await?
        .ok_or(AppError::NotFound)?;
    let name = new_name.unwrap_or(&current.name);
    let renamed = name != current.name;
    let language = match new_language {
        Some(lang) => languages::resolve(lang)?.id.to_string(),
        None if renamed => languages::for_file_name(name)
            .map(|l| l.id.to_string())
            .unwrap_or(current.language.clone()),
        None => current.language.clone(),
    };
    let updated = files_store::update(&state.db, pad.id, file, name, &language)
        .await
        .on_unique(name_taken)?
        .ok_or(AppError::NotFound)?;
    state.bus.publish(DomainEvent::FilesChanged { pad: pad.id });
    Ok(updated)
}

/// Delete a file and clear its text. 400 `last_file`: a pad always keeps one file.
pub async fn delete(state: &AppState, pad: &Pad, user: UserId, file: FileId) -> AppResult<()> {
    let deleted = match files_store::delete_unless_last(&state.db, pad.id, file).await? {
        DeleteOutcome::Deleted(file) => file,
        DeleteOutcome::NotFound => return Err(AppError::NotFound),
        DeleteOutcome::LastFile => {
            return Err(AppError::invalid(
                "last_file",
                "a pad keeps at least one file; create another first",
            ))
        }
    };
    let id = deleted.id;
    state
        .docs
        .edit(pad.id, Some(user), move |txn| set_text(txn, id, ""))
        .await
        .map_err(AppError::from)?;
    refresh_file_roots(state, pad.id).await?;
    state.bus.publish(DomainEvent::FilesChanged { pad: pad.id });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_the_spec_pattern() {
        for ok in [
            "main.py",
            "Main.java",
            "_x",
            "a-b.c",
            "A1_.tar.gz",
            "9",
            &"x".repeat(100),
        ] {
            validate_file_name(ok).unwrap_or_else(|_| panic!("{ok:?} refused"));
        }
        let long = "x".repeat(101);
        for bad in [
            "",
            ".env",
            "..",
            "../x",
            "a/b",
            "a\\b",
            "a..b",
            "-x",
            "a b",
            "a\0b",
            "m\u{0430}in.py",
            "\u{FF4D}ain.py",
            "evil\u{202E}yp.exe",
            long.as_str(),
        ] {
            assert!(validate_file_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn content_is_capped_in_bytes() {
        assert!(check_content(&"a".repeat(MAX_FILE_BYTES)).is_ok());
        assert!(check_content(&"a".repeat(MAX_FILE_BYTES + 1)).is_err());
        assert!(check_content(&"é".repeat(MAX_FILE_BYTES / 2 + 1)).is_err());
    }

    #[test]
    fn file_ids_parse_or_are_not_found() {
        assert_eq!(parse_file_id("12").unwrap(), FileId(12));
        assert!(parse_file_id("-1").is_err());
        assert!(parse_file_id("abc").is_err());
    }
}
