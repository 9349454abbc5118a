//! Display-name rules (SPEC §2): 1–60 characters after trimming, no control characters, and no
//! invisible formatting characters that could make one name look like another.

use crate::error::AppError;

pub const MAX_NAME_CHARS: usize = 60;

fn is_disallowed(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

pub fn validate_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "invalid_name",
            format!("name must be 1–{MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(is_disallowed) {
        return Err(AppError::invalid(
            "invalid_name",
            "name must not contain control or invisible characters",
        ));
    }
    Ok(name.to_string())
}

/// A valid name made from a name someone else chose (an identity provider's `name` claim):
/// disallowed characters dropped, cut to `MAX_NAME_CHARS`. `None` when nothing is left.
pub fn fit_name(raw: &str) -> Option<String> {
    let kept: String = raw.chars().filter(|c| !is_disallowed(*c)).collect();
    let cut: String = kept.trim().chars().take(MAX_NAME_CHARS).collect();
    validate_name(&cut).ok()
}

#[cfg(test)]
mod tests {
    use super::{fit_name, validate_name};

    #[test]
    fn foreign_names_are_fitted() {
        assert_eq!(
            fit_name(" Ada\u{202E} Lovelace ").as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(fit_name(&"y".repeat(80)).unwrap().chars().count(), 60);
        assert_eq!(fit_name("\u{200B} \u{0007}"), None);
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(validate_name("  Ada  ").unwrap(), "Ada");
        assert!(validate_name("   ").is_err());
        assert!(validate_name(&"x".repeat(61)).is_err());
        assert!(validate_name(&"é".repeat(60)).is_ok());
        assert!(validate_name("a\u{0007}b").is_err());
        assert!(validate_name("evil\u{202E}gnp").is_err());
    }
}
