//! The languages a pad or file may be written in (SPEC §3, §5): id, label, aliases, file
//! extensions, the starter file's name and its hello-world template.
//!
//! Ids are stored canonical: an alias such as `py` or `golang` resolves to its id before it reaches
//! the database (the original stored aliases as sent, §12 #26). How code *runs* is the sandbox's
//! business (`crates/oc-sandbox` has its own table with the same ids and default file names); this
//! table only names and seeds files.

use crate::error::AppError;

/// The language of a pad created without one.
pub const DEFAULT_LANGUAGE: &str = "python";

/// Longest language string worth looking up; anything longer is refused without echoing it.
const MAX_LANGUAGE_INPUT: usize = 32;

#[derive(Debug)]
pub struct Language {
    /// Canonical id, stored in `pads.language` and `pad_files.language`.
    pub id: &'static str,
    pub label: &'static str,
    /// Other spellings clients may send; resolved to `id`.
    pub aliases: &'static [&'static str],
    /// The extension of the starter file (without the dot).
    pub extension: &'static str,
    /// Further extensions that mean this language when a file is created.
    pub other_extensions: &'static [&'static str],
    /// The starter file of a new pad (`Main.java` because javac insists on it).
    pub default_file: &'static str,
    /// The starter file's content.
    pub template: &'static str,
}

pub static LANGUAGES: &[Language] = &[
    Language {
        id: "python",
        label: "Python",
        aliases: &["py", "python3"],
        extension: "py",
        other_extensions: &[],
        default_file: "main.py",
        template: "print(\"Hello, world!\")\n",
    },
    Language {
        id: "javascript",
        label: "JavaScript",
        aliases: &["js", "node", "nodejs"],
        extension: "js",
        other_extensions: &["mjs", "cjs"],
        default_file: "main.js",
        template: "console.log(\"Hello, world!\");\n",
    },
    Language {
        id: "typescript",
        label: "TypeScript",
        aliases: &["ts"],
        extension: "ts",
        other_extensions: &[],
        default_file: "main.ts",
        template: "const greeting: string = \"Hello, world!\";\nconsole.log(greeting);\n",
    },
    Language {
        id: "go",
        label: "Go",
        aliases: &["golang"],
        extension: "go",
        other_extensions: &[],
        default_file: "main.go",
        template: "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"Hello, world!\")\n}\n",
    },
    Language {
        id: "rust",
        label: "Rust",
        aliases: &["rs"],
        extension: "rs",
        other_extensions: &[],
        default_file: "main.rs",
        template: "fn main() {\n    println!(\"Hello, world!\");\n}\n",
    },
    Language {
        id: "java",
        label: "Java",
        aliases: &[],
        extension: "java",
        other_extensions: &[],
        default_file: "Main.java",
        template: "public class Main {\n    public static void main(String[] args) {\n        System.out.println(\"Hello, world!\");\n    }\n}\n",
    },
    Language {
        id: "c",
        label: "C",
        aliases: &[],
        extension: "c",
        other_extensions: &["h"],
        default_file: "main.c",
        template: "#include <stdio.h>\n\nint main(void) {\n    printf(\"Hello, world!\\n\");\n    return 0;\n}\n",
    },
    Language {
        id: "cpp",
        label: "C++",
        aliases: &["c++", "cxx"],
        extension: "cpp",
        other_extensions: &["cc", "cxx", "hpp"],
        default_file: "main.cpp",
        template: "#include <iostream>\n\nint main() {\n    std::cout << \"Hello, world!\" << std::endl;\n    return 0;\n}\n",
    },
    Language {
        id: "ruby",
        label: "Ruby",
        aliases: &["rb"],
        extension: "rb",
        other_extensions: &[],
        default_file: "main.rb",
        template: "puts \"Hello, world!\"\n",
    },
    Language {
        id: "csharp",
        label: "C#",
        aliases: &["cs", "c#", "dotnet"],
        extension: "cs",
        other_extensions: &[],
        default_file: "main.cs",
        template: "using System;\n\nclass Program\n{\n    static void Main()\n    {\n        Console.WriteLine(\"Hello, world!\");\n    }\n}\n",
    },
];

/// The language with this id or alias (case-insensitive), if any.
pub fn find(input: &str) -> Option<&'static Language> {
    let wanted = input.trim();
    if wanted.is_empty() || wanted.len() > MAX_LANGUAGE_INPUT {
        return None;
    }
    let wanted = wanted.to_ascii_lowercase();
    LANGUAGES.iter().find(|lang| lang.id == wanted || lang.aliases.contains(&wanted.as_str()))
}

/// Resolve a client-supplied language to its table entry, or 400 `invalid_language`.
pub fn resolve(input: &str) -> Result<&'static Language, AppError> {
    find(input).ok_or_else(|| {
        let known: Vec<&str> = LANGUAGES.iter().map(|l| l.id).collect();
        AppError::invalid("invalid_language", format!("unknown language; expected one of {}", known.join(", ")))
    })
}

/// The language a file name's extension implies, if any (`Main.JAVA` → java).
pub fn for_file_name(name: &str) -> Option<&'static Language> {
    let (_, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    LANGUAGES.iter().find(|lang| lang.extension == ext || lang.other_extensions.contains(&ext.as_str()))
}

/// The table entry of a stored id. Stored ids always come from this table; a missing one would
/// mean a row written by something else, so fall back to the default rather than fail a read.
pub fn by_id(id: &str) -> &'static Language {
    LANGUAGES.iter().find(|lang| lang.id == id).unwrap_or_else(|| {
        LANGUAGES.iter().find(|l| l.id == DEFAULT_LANGUAGE).expect("the default language is in the table")
    })
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
    fn the_table_is_consistent() {
        assert!(find(DEFAULT_LANGUAGE).is_some());
        let mut seen = std::collections::HashSet::new();
        for lang in LANGUAGES {
            for name in std::iter::once(lang.id).chain(lang.aliases.iter().copied()) {
                assert!(seen.insert(name), "{name} names two languages");
            }
            validate_file_name(lang.default_file).unwrap();
            assert_eq!(for_file_name(lang.default_file).map(|l| l.id), Some(lang.id), "{}", lang.id);
            assert!(!lang.template.is_empty());
        }
        assert_eq!(LANGUAGES.len(), 10);
    }

    #[test]
    fn extensions_infer_languages() {
        assert_eq!(for_file_name("Main.JAVA").unwrap().id, "java");
        assert_eq!(for_file_name("util.hpp").unwrap().id, "cpp");
        assert!(for_file_name("README").is_none());
        assert!(for_file_name("notes.md").is_none());
    }
}
