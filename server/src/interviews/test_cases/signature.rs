//! A question's function signature (issue 13 §7, the harnesses): the function's name and its
//! ordered parameter names. From it each language with a harness gets a generated starter file,
//! and `function` test cases give one JSON argument per parameter. Names must be identifiers in
//! every harness language, so one signature serves them all.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};

/// Parameters of a question's function.
pub const MAX_FUNCTION_PARAMS: usize = 10;
/// Characters of the function's name and of each parameter's.
pub const MAX_IDENTIFIER_CHARS: usize = 64;

/// Words reserved in Python, JavaScript or TypeScript (and `solution`, the harness's name for
/// the candidate's module).
const RESERVED: &[&str] = &[
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "def",
    "default",
    "del",
    "delete",
    "do",
    "elif",
    "else",
    "enum",
    "eval",
    "except",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "from",
    "function",
    "global",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "is",
    "lambda",
    "let",
    "new",
    "nonlocal",
    "not",
    "null",
    "or",
    "package",
    "pass",
    "private",
    "protected",
    "public",
    "raise",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "arguments",
    "solution",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Signature {
    /// The function the tests call.
    pub function: String,
    /// Its parameters, in order; a case's `args` holds one value per parameter.
    #[serde(default)]
    pub params: Vec<String>,
}

fn identifier(what: &str, name: &str) -> AppResult<()> {
    let mut chars = name.chars();
    let well_formed = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_IDENTIFIER_CHARS;
    if !well_formed {
        return Err(AppError::invalid(
            "invalid_signature",
            format!("{what} {name:?} is not an identifier: 1–{MAX_IDENTIFIER_CHARS} characters of A–Z, a–z, 0–9, '_', not starting with a digit"),
        ));
    }
    if RESERVED.contains(&name) || name.starts_with("__") {
        return Err(AppError::invalid(
            "invalid_signature",
            format!("{what} {name:?} is reserved in Python, JavaScript or TypeScript (or by the test harness)"),
        ));
    }
    Ok(())
}

/// Check the names and limits.
pub fn validate(signature: Signature) -> AppResult<Signature> {
    identifier("the function's name", &signature.function)?;
    if signature.params.len() > MAX_FUNCTION_PARAMS {
        return Err(AppError::invalid(
            "invalid_signature",
            format!("a function takes at most {MAX_FUNCTION_PARAMS} parameters"),
        ));
    }
    for (i, param) in signature.params.iter().enumerate() {
        identifier("a parameter's name", param)?;
        if signature.params[..i].contains(param) || *param == signature.function {
            return Err(AppError::invalid(
                "invalid_signature",
                format!("{param} is named twice in the signature"),
            ));
        }
    }
    Ok(signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(function: &str, params: &[&str]) -> Signature {
        Signature {
            function: function.into(),
            params: params.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn names_are_identifiers_of_every_harness_language() {
        assert!(validate(sig("two_sum", &["nums", "target"])).is_ok());
        assert!(validate(sig("f", &[])).is_ok());
        for bad in [
            sig("", &[]),
            sig("1f", &[]),
            sig("f-g", &[]),
            sig("class", &[]),
            sig("f", &["None"]),
            sig("__init__", &[]),
            sig("f", &["a", "a"]),
            sig("f", &["f"]),
            sig(&"f".repeat(MAX_IDENTIFIER_CHARS + 1), &[]),
            sig("f", &["a"; MAX_FUNCTION_PARAMS + 1]),
        ] {
            assert_eq!(validate(bad).unwrap_err().code(), "invalid_signature");
        }
        assert!(validate(sig(&"f".repeat(MAX_IDENTIFIER_CHARS), &[])).is_ok());
    }
}
