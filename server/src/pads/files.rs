//! Files of a pad (SPEC §3): names, limits, create, rename, change language, delete.
//!
//! A file is a row (`files_store`: name, language, order) plus a text in the pad's document
//! (`file:<name>`, SPEC §4). Every change here writes the row and then the document through
//! `DocStore::edit`, so live rooms see the same change a REST client made, and ends with a
//! `FilesChanged` event so open sockets refresh their file list.

use serde::Serialize;

use super::files_store::{self, DeleteOutcome, PadFile};
use super::languages;
use super::store::Pad;
use crate::collab::doc_store::{get_text, set_text};
use crate::db::{FileId, UserId};
use crate::error::{AppError, AppResult, OnUnique};
use crate::events::DomainEvent;
use crate::AppState;

/// Files per pad (SPEC §3).
pub const MAX_FILES_PER_PAD: usize = 50;
/// Bytes of UTF-8 text per file (SPEC §3); bigger content is answered with 413.
pub const MAX_FILE_BYTES: usize = 512 * 1024;
/// Characters in a file name.
pub const MAX_FILE_NAME_CHARS: usize = 100;

/// A file name is one path segment: `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$` with no `..` (SPEC §3).
/// ASCII only, so look-alikes (Cyrillic `а`, fullwidth letters, bidi overrides) and anything a
/// shell or a file system would read specially (`/`, `\`, NUL, a leading dot) are refused. The same
/// names are safe to hand to the sandbox as file names (the original's path traversal, §12 #2).
pub fn validate_file_name(name: &str) -> AppResult<()> {
    let bytes = name.as_bytes();
    let first_ok = bytes.first().is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let rest_ok = bytes.iter().skip(1).all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
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
        return Err(AppError::too_large(format!("a file holds at most {MAX_FILE_BYTES} bytes")));
    }
    Ok(())
}

/// A file id from a path; anything that is not one is as unknown as a missing file.
pub fn parse_file_id(raw: &str) -> AppResult<FileId> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).map(FileId).ok_or(AppError::NotFound)
}

/// The canonical language of a file: the one asked for, else the extension's, else the pad's.
fn file_language(requested: Option<&str>, name: &str, pad_language: &str) -> AppResult<String> {
    Ok(match requested {
        Some(lang) => languages::resolve(lang)?.id.to_string(),
        None => languages::for_file_name(name).map(|l| l.id.as_str()).unwrap_or(pad_language).to_string(),
    })
}

fn doc_failure(err: crate::collab::doc_store::DocError) -> AppError {
    AppError::from(err)
}

fn name_taken() -> AppError {
    AppError::conflict("name_taken", "a file with this name already exists in the pad")
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
    let file = files_store::find(&state.db, pad.id, file).await?.ok_or(AppError::NotFound)?;
    let doc = state.docs.open(pad.id).await.map_err(doc_failure)?;
    let content = doc.file_text(&file.name).await;
    Ok(FileWithContent { file, content })
}

pub struct NewFileRequest<'a> {
    pub name: &'a str,
    pub language: Option<&'a str>,
    pub content: &'a str,
}

/// Create a file with its initial text. 409 `name_taken`, 409 `too_many_files` at the cap.
pub async fn create(state: &AppState, pad: &Pad, user: UserId, new: NewFileRequest<'_>) -> AppResult<PadFile> {
    validate_file_name(new.name)?;
    check_content(new.content)?;
    let language = file_language(new.language, new.name, &pad.language)?;
    let file = files_store::create(&state.db, pad.id, new.name, &language, MAX_FILES_PER_PAD)
        .await
        .on_unique(name_taken)?
        .ok_or_else(|| {
            AppError::conflict("too_many_files", format!("a pad holds at most {MAX_FILES_PER_PAD} files"))
        })?;
    // Always write the text, even when empty: it replaces anything a deleted namesake left behind.
    let content = new.content.to_string();
    let name = file.name.clone();
    if let Err(err) = state.docs.edit(pad.id, Some(user), move |txn| set_text(txn, &name, &content)).await {
        files_store::remove(&state.db, pad.id, file.id).await?;
        return Err(doc_failure(err));
    }
    state.events.publish(DomainEvent::FilesChanged { pad: pad.id });
    Ok(file)
}

/// Rename and/or change the language. A rename moves the text from `file:old` to `file:new` in one
/// document edit; without an explicit language it re-infers one from a recognised new extension.
pub async fn update(
    state: &AppState,
    pad: &Pad,
    user: UserId,
    file: FileId,
    new_name: Option<&str>,
    new_language: Option<&str>,
) -> AppResult<PadFile> {
    if let Some(name) = new_name {
        validate_file_name(name)?;
    }
    let current = files_store::find(&state.db, pad.id, file).await?.ok_or(AppError::NotFound)?;
    let name = new_name.unwrap_or(&current.name);
    let renamed = name != current.name;
    let language = match new_language {
        Some(lang) => languages::resolve(lang)?.id.to_string(),
        None if renamed => languages::for_file_name(name).map(|l| l.id.to_string()).unwrap_or(current.language.clone()),
        None => current.language.clone(),
    };
    let updated = files_store::update(&state.db, pad.id, file, name, &language)
        .await
        .on_unique(name_taken)?
        .ok_or(AppError::NotFound)?;
    if renamed {
        let (old, new) = (current.name.clone(), updated.name.clone());
        let moved = state
            .docs
            .edit(pad.id, Some(user), move |txn| {
                let text = get_text(txn, &old);
                set_text(txn, &new, &text);
                set_text(txn, &old, "");
            })
            .await;
        if let Err(err) = moved {
            files_store::restore_name(&state.db, pad.id, file, &current.name, &current.language).await?;
            return Err(doc_failure(err));
        }
    }
    state.events.publish(DomainEvent::FilesChanged { pad: pad.id });
    Ok(updated)
}

/// Delete a file and clear its text. 400 `last_file`: a pad always keeps one file.
pub async fn delete(state: &AppState, pad: &Pad, user: UserId, file: FileId) -> AppResult<()> {
    let deleted = match files_store::delete_unless_last(&state.db, pad.id, file).await? {
        DeleteOutcome::Deleted(file) => file,
        DeleteOutcome::NotFound => return Err(AppError::NotFound),
        DeleteOutcome::LastFile => {
            return Err(AppError::invalid("last_file", "a pad keeps at least one file; create another first"))
        }
    };
    let name = deleted.name.clone();
    state.docs.edit(pad.id, Some(user), move |txn| set_text(txn, &name, "")).await.map_err(doc_failure)?;
    state.events.publish(DomainEvent::FilesChanged { pad: pad.id });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_the_spec_pattern() {
        for ok in ["main.py", "Main.java", "_x", "a-b.c", "A1_.tar.gz", "9", &"x".repeat(100)] {
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
