//! The languages a pad or file may be written in (SPEC §3, §5), as the pads API sees them: one
//! table, shared with the sandbox (`oc_sandbox::languages()`), so a pad can only be created in a
//! language that can run, and its starter file is the one the runner expects.
//!
//! Ids are stored canonical: an alias such as `py` or `golang` resolves to its id before it reaches
//! the database (the original stored aliases as sent, §12 #26).

use oc_sandbox::Language;

use crate::error::AppError;

/// The language of a pad created without one.
pub const DEFAULT_LANGUAGE: &str = "python";

/// Longest language string worth looking up; anything longer is refused without echoing it.
const MAX_LANGUAGE_INPUT: usize = 32;

/// The language with this id or alias (case-insensitive), if any.
pub fn find(input: &str) -> Option<&'static Language> {
    let wanted = input.trim();
    if wanted.is_empty() || wanted.len() > MAX_LANGUAGE_INPUT {
        return None;
    }
    oc_sandbox::language(wanted)
}

/// Resolve a client-supplied language to its table entry, or 400 `invalid_language`.
pub fn resolve(input: &str) -> Result<&'static Language, AppError> {
    find(input).ok_or_else(|| {
        let known: Vec<&str> = oc_sandbox::languages()
            .iter()
            .map(|l| l.id.as_str())
            .collect();
        AppError::invalid(
            "invalid_language",
            format!("unknown language; expected one of {}", known.join(", ")),
        )
    })
}

/// The language a file name's extension implies, if any (`Main.JAVA` → java).
pub fn for_file_name(name: &str) -> Option<&'static Language> {
    let (_, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    oc_sandbox::languages()
        .iter()
        .find(|lang| lang.extensions.contains(&ext))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pads::files::validate_file_name;

    #[test]
    fn aliases_resolve_to_canonical_ids() {
        assert_eq!(find("py").unwrap().id, "python");
        assert_eq!(find("  GoLang ").unwrap().id, "go");
        assert_eq!(find("C++").unwrap().id, "cpp");
        assert_eq!(find("c#").unwrap().id, "csharp");
        assert!(find("cobol").is_none());
        assert!(find("").is_none());
        assert!(resolve(&"x".repeat(10_000)).is_err());
    }

    #[test]
    fn every_starter_file_is_a_valid_name_of_its_own_language() {
        assert!(find(DEFAULT_LANGUAGE).is_some());
        for lang in oc_sandbox::languages() {
            validate_file_name(&lang.default_file).unwrap();
            assert_eq!(
                for_file_name(&lang.default_file).map(|l| l.id.as_str()),
                Some(lang.id.as_str())
            );
            assert!(!lang.template.is_empty());
        }
        assert!(oc_sandbox::languages().len() >= 10);
    }

    #[test]
    fn extensions_infer_languages() {
        assert_eq!(for_file_name("Main.JAVA").unwrap().id, "java");
        assert_eq!(for_file_name("util.hpp").unwrap().id, "cpp");
        assert!(for_file_name("README").is_none());
        assert!(for_file_name("notes.md").is_none());
    }
}
