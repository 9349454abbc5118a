//! A pad's life (SPEC §3): create with a starter file, read, change title/language/kind, delete,
//! fork. Callers have already checked the caller's role (`PadAccess::require`).

use rand::Rng;
use serde::Serialize;

use super::files::TEXT_ENCODING_SLACK;
use super::files_store;
use super::files_store::{NewFile, PadFile};
use super::languages;
use super::roles::Role;
use super::store::{self, Member, NewPad, Pad};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::bus::DomainEvent;
use crate::collab::doc_store::set_text;
use crate::collab::whiteboard;
use crate::db::{FileId, UserId};
use crate::error::{AppError, AppResult};
use crate::AppState;
use oc_sandbox::Language;
use yrs::Any;

/// Characters in a title after trimming (SPEC §3).
pub const MAX_TITLE_CHARS: usize = 120;
/// What a fork appends to the title.
pub const FORK_SUFFIX: &str = " (fork)";
/// Slug alphabet: lowercase letters and digits without the look-alikes `l`, `o`, `0`, `1`,
/// 32 symbols = 5 bits each.
const SLUG_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
/// 14 symbols × 5 bits = 70 bits from the OS-seeded CSPRNG (SPEC §3 asks for ≥ 64), so slugs can
/// be neither guessed nor enumerated.
pub const SLUG_LEN: usize = 14;
const _: () = assert!(SLUG_LEN * 5 >= 64, "slugs need at least 64 bits");
/// Fresh slugs drawn before giving up; a collision at 70 bits is already astronomically unlikely.
const SLUG_ATTEMPTS: usize = 5;

pub const KINDS: [&str; 2] = ["sandbox", "interview"];

pub fn generate_slug() -> String {
    let mut rng = rand::rng();
    (0..SLUG_LEN)
        .map(|_| SLUG_ALPHABET[rng.random_range(0..SLUG_ALPHABET.len())] as char)
        .collect()
}

/// Same rule as display names (`auth::names`): no control characters and no invisible or
/// direction-changing formatting characters that would make one title masquerade as another.
fn is_disallowed_in_title(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

pub fn validate_title(raw: &str) -> AppResult<String> {
    let title = raw.trim();
    let count = title.chars().count();
    if count == 0 || count > MAX_TITLE_CHARS {
        return Err(AppError::invalid(
            "invalid_title",
            format!("a title is 1–{MAX_TITLE_CHARS} characters"),
        ));
    }
    if title.chars().any(is_disallowed_in_title) {
        return Err(AppError::invalid(
            "invalid_title",
            "a title must not contain control or invisible characters",
        ));
    }
    Ok(title.to_string())
}

pub fn parse_kind(raw: &str) -> AppResult<&'static str> {
    KINDS
        .iter()
        .copied()
        .find(|k| *k == raw.trim())
        .ok_or_else(|| AppError::invalid("invalid_kind", "kind is sandbox or interview"))
}

/// The title of a fork: the original's, cut so that the suffix still fits.
pub fn fork_title(title: &str) -> String {
    let room = MAX_TITLE_CHARS - FORK_SUFFIX.chars().count();
    let kept: String = title.chars().take(room).collect();
    format!("{}{FORK_SUFFIX}", kept.trim_end())
}

/// Insert the pad with a fresh slug (retrying on the improbable collision) and write the files'
/// texts into its new document (`file:<id>` of each new row). If the document write fails — or the
/// texts would not fit in a document (413 `doc_too_large`) — the pad is removed again, so a pad
/// never exists without its content.
pub(crate) async fn insert_pad(
    state: &AppState,
    owner: UserId,
    title: &str,
    language: &str,
    kind: &str,
    files: Vec<(NewFile, String)>,
) -> AppResult<(Pad, Vec<PadFile>)> {
    insert_pad_with_board(state, owner, title, language, kind, files, Vec::new()).await
}

/// `insert_pad` whose new document also gets whiteboard elements (a fork's copy), written in the
/// same edit as the texts, so the pad never exists with half its content.
async fn insert_pad_with_board(
    state: &AppState,
    owner: UserId,
    title: &str,
    language: &str,
    kind: &str,
    files: Vec<(NewFile, String)>,
    board: Vec<(String, Any)>,
) -> AppResult<(Pad, Vec<PadFile>)> {
    let rows: Vec<NewFile> = files.iter().map(|(f, _)| f.clone()).collect();
    let mut created = None;
    for _ in 0..SLUG_ATTEMPTS {
        let slug = generate_slug();
        let new = NewPad {
            slug: &slug,
            title,
            language,
            kind,
            owner,
        };
        match store::create_with_files(&state.db, &new, &rows).await {
            Ok(done) => {
                created = Some(done);
                break;
            }
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => continue,
            Err(err) => return Err(err.into()),
        }
    }
    let (pad, rows) = created.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("no free slug after {SLUG_ATTEMPTS} tries"))
    })?;
    // Rows come back in the order they were given.
    let texts: Vec<(FileId, String)> = rows
        .iter()
        .zip(files)
        .map(|(row, (_, text))| (row.id, text))
        .collect();
    let growth = texts
        .iter()
        .map(|(_, text)| text.len() + TEXT_ENCODING_SLACK)
        .sum::<usize>()
        + whiteboard::entries_len(&board)
        + board.len() * TEXT_ENCODING_SLACK;
    let written = state
        .docs
        .edit_within(pad.id, Some(owner), growth, move |txn| {
            for (file, text) in &texts {
                set_text(txn, *file, text);
            }
            whiteboard::write_entries(txn, board);
        })
        .await;
    if let Err(err) = written {
        state.docs.unload(pad.id).await;
        store::delete(&state.db, pad.id).await?;
        return Err(AppError::from(err));
    }
    Ok((pad, rows))
}

pub struct CreatePad<'a> {
    pub title: Option<&'a str>,
    pub language: Option<&'a str>,
    pub kind: Option<&'a str>,
}

/// Create a pad owned by `owner` with the language's starter file (SPEC §3).
pub async fn create(
    state: &AppState,
    owner: UserId,
    req: CreatePad<'_>,
) -> AppResult<(Pad, Vec<PadFile>)> {
    let language: &Language = match req.language {
        Some(lang) => languages::resolve(lang)?,
        None => languages::find(languages::DEFAULT_LANGUAGE)
            .expect("the default language is in the table"),
    };
    let title = match req.title {
        Some(title) => validate_title(title)?,
        None => format!("{} pad", language.name),
    };
    let kind = req.kind.map(parse_kind).transpose()?.unwrap_or("sandbox");
    let starter = NewFile {
        name: language.default_file.to_string(),
        language: language.id.to_string(),
    };
    insert_pad(
        state,
        owner,
        &title,
        &language.id,
        kind,
        vec![(starter, language.template.to_string())],
    )
    .await
}

/// What a member sees when opening a pad.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PadDetails {
    pub pad: Pad,
    pub files: Vec<PadFile>,
    pub members: Vec<Member>,
    pub my_role: Role,
}

pub async fn details(state: &AppState, pad: Pad, role: Role) -> AppResult<PadDetails> {
    let files = files_store::list(&state.db, pad.id).await?;
    let members = store::members(&state.db, pad.id).await?;
    Ok(PadDetails {
        pad,
        files,
        members,
        my_role: role,
    })
}

pub struct UpdatePad<'a> {
    pub title: Option<&'a str>,
    pub language: Option<&'a str>,
    pub kind: Option<&'a str>,
}

/// Change title, language and/or kind (owner). Existing files keep their languages.
pub async fn update(state: &AppState, pad: &Pad, req: UpdatePad<'_>) -> AppResult<Pad> {
    let title = req.title.map(validate_title).transpose()?;
    let language = req
        .language
        .map(languages::resolve)
        .transpose()?
        .map(|l| l.id.as_str());
    let kind = req.kind.map(parse_kind).transpose()?;
    let updated = store::update(&state.db, pad.id, title.as_deref(), language, kind)
        .await?
        .ok_or(AppError::NotFound)?;
    state.bus.publish(DomainEvent::PadChanged { pad: pad.id });
    Ok(updated)
}

/// Delete the pad and everything in it (its owner, or an operator), audited as `action`; open
/// sockets are closed by the event.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    pad: &Pad,
    action: AuditAction,
) -> AppResult<()> {
    // Audited first: a deletion that cannot be audited does not happen (see `audit`).
    state
        .audit
        .require(
            actor,
            AuditEvent::new(action)
                .target(&pad.slug)
                .meta(serde_json::json!({ "title": pad.title })),
        )
        .await?;
    if !store::delete(&state.db, pad.id).await? {
        return Err(AppError::NotFound);
    }
    state.docs.unload(pad.id).await;
    state.bus.publish(DomainEvent::PadDeleted { pad: pad.id });
    Ok(())
}

/// Copy the pad for `user` (SPEC §3): title + " (fork)", language, kind, and every file's name,
/// language and *current* text from the document. Members, chat, history, password, invites and
/// notes stay behind.
pub async fn fork(
    state: &AppState,
    actor: &Actor,
    user: UserId,
    pad: &Pad,
) -> AppResult<(Pad, Vec<PadFile>)> {
    let rows = files_store::list(&state.db, pad.id).await?;
    let doc = state.docs.open(pad.id).await.map_err(AppError::from)?;
    let mut texts = doc.file_texts().await;
    let board = doc.whiteboard();
    let files: Vec<(NewFile, String)> = rows
        .into_iter()
        .map(|row| {
            let text = texts.remove(&row.id).unwrap_or_default();
            (
                NewFile {
                    name: row.name,
                    language: row.language,
                },
                text,
            )
        })
        .collect();
    let (forked, files) = insert_pad_with_board(
        state,
        user,
        &fork_title(&pad.title),
        &pad.language,
        &pad.kind,
        files,
        board,
    )
    .await?;
    state
        .audit
        .record(
            actor,
            AuditEvent::new(AuditAction::PadFork)
                .target(&forked.slug)
                .meta(serde_json::json!({ "from": pad.slug })),
        )
        .await;
    Ok((forked, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_long_and_from_the_alphabet() {
        let a = generate_slug();
        assert_eq!(a.len(), SLUG_LEN);
        assert!(a.bytes().all(|b| SLUG_ALPHABET.contains(&b)));
        assert_ne!(a, generate_slug());
    }

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(validate_title("  Interview  ").unwrap(), "Interview");
        assert!(validate_title("   ").is_err());
        assert!(validate_title(&"t".repeat(121)).is_err());
        assert!(validate_title(&"é".repeat(120)).is_ok());
        assert!(validate_title("a\u{202E}b").is_err());
    }

    #[test]
    fn fork_titles_fit() {
        assert_eq!(fork_title("Two sum"), "Two sum (fork)");
        let long = fork_title(&"é".repeat(120));
        assert_eq!(long.chars().count(), MAX_TITLE_CHARS);
        assert!(long.ends_with(FORK_SUFFIX));
    }

    #[test]
    fn kinds_are_checked() {
        assert_eq!(parse_kind("interview").unwrap(), "interview");
        assert!(parse_kind("party").is_err());
    }
}
