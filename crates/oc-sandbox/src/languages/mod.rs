//! The language table: built-in defaults plus an optional TOML override file.
//!
//! Commands are argv templates (never shell strings). Placeholders, substituted per run:
//! * `{entry}`       the entry file name (relative to the working directory, e.g. `main.py`)
//! * `{entry_stem}`  the entry file name without its extension (`Main` for `Main.java`)
//! * `{sources}`     as a whole argument: expands to every file whose extension is in
//!   `source_extensions` (sorted), or the entry when there is none
//! * `{out}`         the build output directory (absolute)
//! * `{src}`         the working directory holding the sources (absolute)
//! * `{home}`        the writable home directory (absolute; `/tmp` in Docker)
//!
//! The override file (`EXEC_LANGUAGES_FILE` in the server) looks like:
//! ```toml
//! [[language]]            # a new language: every required field
//! id = "zig"
//! name = "Zig"
//! extensions = ["zig"]
//! default_file = "main.zig"
//! template = 'pub fn main() void {}'
//! run = ["zig", "run", "{entry}"]
//! image = "my-runner-with-zig:latest"
//!
//! [[language]]            # changing a built-in one: only the fields given are replaced
//! id = "python"
//! run = ["python3", "-X", "utf8", "{entry}"]
//! repl = ["python3", "-i", "{entry}"]   # the session after the entry ran (same placeholders)
//!
//! [[language]]
//! id = "csharp"
//! disabled = true         # removes it
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::SandboxError;

mod builtin;

use builtin::builtin_languages;

/// One language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Language {
    /// Stable id (`python`, `cpp`, ...): `[a-z0-9_+-]+`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other names accepted by [`LanguageTable::get`] (`py`, `c++`, `node`, ...).
    pub aliases: Vec<String>,
    /// File extensions without the dot; the first is the main one.
    pub extensions: Vec<String>,
    /// Editor (Monaco) language id.
    pub editor_mode: String,
    /// File name of a new pad's first file (`main.py`, `Main.java`).
    pub default_file: String,
    /// Starter program ("hello world").
    pub template: String,
    /// Docker image; `None` = the backend's default runner image.
    pub image: Option<String>,
    /// Compile step, if any (argv template).
    pub compile: Option<Vec<String>>,
    /// Run step (argv template).
    pub run: Vec<String>,
    /// REPL (argv template): runs the entry, then reads expressions from stdin in its context.
    /// `None`: no REPL for this language.
    pub repl: Option<Vec<String>>,
    /// What the compile step produces, relative to `{out}` (`.` = everything); cached.
    pub artifacts: Vec<String>,
    /// Extensions that `{sources}` picks up; default: `extensions`.
    pub source_extensions: Vec<String>,
    /// Extra environment for compile and run (values may use placeholders).
    pub env: BTreeMap<String, String>,
    /// Whether compile results may be cached.
    pub cache: bool,
    /// Local backend only: minimum RLIMIT_AS in MiB (VMs such as the JVM or V8 reserve much
    /// more address space than they use; their real memory is still capped by RLIMIT_DATA).
    pub local_min_address_space_mb: u64,
}

impl Language {
    /// The main extension (without dot).
    pub fn extension(&self) -> &str {
        self.extensions.first().map(String::as_str).unwrap_or("")
    }

    pub fn has_compile_step(&self) -> bool {
        self.compile.is_some()
    }

    /// This language with its REPL as the run step, if it has one.
    pub fn for_repl(&self) -> Option<Language> {
        let repl = self.repl.clone()?;
        Some(Language {
            run: repl,
            ..self.clone()
        })
    }

    fn matches_ext(name: &str, exts: &[String]) -> bool {
        match name.rsplit_once('.') {
            Some((_, ext)) => exts.iter().any(|e| e == ext),
            None => false,
        }
    }

    /// Picks the entry among `names`: the default file if present, else the first (sorted) file
    /// with one of the language's extensions.
    pub fn pick_entry<'a>(&self, names: impl Iterator<Item = &'a str>) -> Option<String> {
        let mut names: Vec<&str> = names.collect();
        names.sort_unstable();
        if names.contains(&self.default_file.as_str()) {
            return Some(self.default_file.clone());
        }
        let exts = if self.source_extensions.is_empty() {
            &self.extensions
        } else {
            &self.source_extensions
        };
        names
            .into_iter()
            .find(|n| Self::matches_ext(n, exts))
            .map(str::to_string)
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 40
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_+-".contains(&b));
        if !id_ok {
            return Err(format!("invalid language id {:?}", self.id));
        }
        if self.run.is_empty() {
            return Err(format!("{}: empty run command", self.id));
        }
        if matches!(&self.compile, Some(c) if c.is_empty()) {
            return Err(format!("{}: empty compile command", self.id));
        }
        if matches!(&self.repl, Some(r) if r.is_empty()) {
            return Err(format!("{}: empty repl command", self.id));
        }
        if self.extensions.is_empty() {
            return Err(format!("{}: no extensions", self.id));
        }
        crate::validate_file_name(&self.default_file)
            .map_err(|_| format!("{}: invalid default_file {:?}", self.id, self.default_file))?;
        for a in &self.artifacts {
            if a != "." && crate::validate_file_name(a).is_err() {
                return Err(format!("{}: invalid artifact path {a:?}", self.id));
            }
        }
        for k in self.env.keys() {
            if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!("{}: invalid env name {k:?}", self.id));
            }
        }
        Ok(())
    }
}

/// Directories a plan is expanded against.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub home: String,
    pub src: String,
    pub out: String,
}

/// A language's commands resolved for one run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub compile: Option<Vec<String>>,
    pub run: Vec<String>,
    pub env: Vec<(String, String)>,
    pub artifacts: Vec<String>,
}

impl Language {
    pub(crate) fn plan(&self, entry: &str, file_names: &[&str], paths: &Paths) -> Plan {
        let exts = if self.source_extensions.is_empty() {
            &self.extensions
        } else {
            &self.source_extensions
        };
        let mut sources: Vec<String> = file_names
            .iter()
            .filter(|n| Self::matches_ext(n, exts))
            .map(|s| s.to_string())
            .collect();
        sources.sort();
        if sources.is_empty() {
            sources.push(entry.to_string());
        }
        let stem = entry.rsplit_once('.').map(|(s, _)| s).unwrap_or(entry);
        let subst = |s: &str| -> String {
            s.replace("{entry_stem}", stem)
                .replace("{entry}", entry)
                .replace("{out}", &paths.out)
                .replace("{src}", &paths.src)
                .replace("{home}", &paths.home)
        };
        let expand = |argv: &[String]| -> Vec<String> {
            let mut v = Vec::new();
            for a in argv {
                if a == "{sources}" {
                    v.extend(sources.iter().cloned());
                } else {
                    v.push(subst(a));
                }
            }
            v
        };
        Plan {
            compile: self.compile.as_deref().map(expand),
            run: expand(&self.run),
            env: self
                .env
                .iter()
                .map(|(k, v)| (k.clone(), subst(v)))
                .collect(),
            artifacts: if self.artifacts.is_empty() {
                vec![".".into()]
            } else {
                self.artifacts.clone()
            },
        }
    }
}

/// Fields of an override entry; everything but `id` optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LanguageOverride {
    id: String,
    #[serde(default)]
    disabled: bool,
    name: Option<String>,
    aliases: Option<Vec<String>>,
    extensions: Option<Vec<String>>,
    editor_mode: Option<String>,
    default_file: Option<String>,
    template: Option<String>,
    image: Option<String>,
    compile: Option<Vec<String>>,
    /// `no_compile = true` removes a built-in compile step.
    #[serde(default)]
    no_compile: bool,
    run: Option<Vec<String>>,
    repl: Option<Vec<String>>,
    artifacts: Option<Vec<String>>,
    source_extensions: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    cache: Option<bool>,
    local_min_address_space_mb: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    #[serde(default)]
    language: Vec<LanguageOverride>,
}

/// The set of languages a backend knows.
#[derive(Debug, Clone)]
pub struct LanguageTable {
    langs: Vec<Language>,
}

impl LanguageTable {
    /// The built-in table.
    pub fn builtin() -> Self {
        Self {
            langs: builtin_languages(),
        }
    }

    /// The built-in table with the TOML file at `path` applied (see the module docs).
    pub fn load_with_overrides(path: &Path) -> Result<Self, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SandboxError::Internal(format!("cannot read language file {}: {e}", path.display()))
        })?;
        Self::builtin()
            .with_overrides_toml(&text)
            .map_err(|e| SandboxError::Internal(format!("language file {}: {e}", path.display())))
    }

    /// Applies overrides given as TOML text.
    pub fn with_overrides_toml(mut self, text: &str) -> Result<Self, String> {
        let file: OverrideFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for o in file.language {
            let idx = self.langs.iter().position(|l| l.id == o.id);
            if o.disabled {
                if let Some(i) = idx {
                    self.langs.remove(i);
                }
                continue;
            }
            let mut lang = match idx {
                Some(i) => self.langs[i].clone(),
                None => {
                    let missing: Vec<&str> = [
                        ("name", o.name.is_none()),
                        ("extensions", o.extensions.is_none()),
                        ("default_file", o.default_file.is_none()),
                        ("template", o.template.is_none()),
                        ("run", o.run.is_none()),
                    ]
                    .iter()
                    .filter(|(_, m)| *m)
                    .map(|(n, _)| *n)
                    .collect();
                    if !missing.is_empty() {
                        return Err(format!(
                            "new language {:?} lacks {}",
                            o.id,
                            missing.join(", ")
                        ));
                    }
                    Language {
                        id: o.id.clone(),
                        name: String::new(),
                        aliases: vec![],
                        extensions: vec![],
                        editor_mode: "plaintext".into(),
                        default_file: String::new(),
                        template: String::new(),
                        image: None,
                        compile: None,
                        run: vec![],
                        repl: None,
                        artifacts: vec![],
                        source_extensions: vec![],
                        env: BTreeMap::new(),
                        cache: true,
                        local_min_address_space_mb: 0,
                    }
                }
            };
            macro_rules! set {
                ($($f:ident),*) => { $( if let Some(v) = o.$f { lang.$f = v; } )* };
            }
            set!(
                name,
                aliases,
                extensions,
                editor_mode,
                default_file,
                template,
                run,
                artifacts,
                source_extensions,
                env,
                cache,
                local_min_address_space_mb
            );
            if o.image.is_some() {
                lang.image = o.image;
            }
            if o.repl.is_some() {
                lang.repl = o.repl;
            }
            if o.no_compile {
                lang.compile = None;
            } else if o.compile.is_some() {
                lang.compile = o.compile;
            }
            lang.validate()?;
            match idx {
                Some(i) => self.langs[i] = lang,
                None => self.langs.push(lang),
            }
        }
        // Aliases and ids must resolve uniquely.
        let mut names = std::collections::HashMap::new();
        for l in &self.langs {
            for n in std::iter::once(&l.id).chain(l.aliases.iter()) {
                if let Some(other) = names.insert(n.to_ascii_lowercase(), l.id.clone()) {
                    if other != l.id {
                        return Err(format!("name {n:?} used by both {other} and {}", l.id));
                    }
                }
            }
        }
        Ok(self)
    }

    pub fn languages(&self) -> &[Language] {
        &self.langs
    }

    /// Looks a language up by id or alias (case-insensitive).
    pub fn get(&self, id_or_alias: &str) -> Option<&Language> {
        let q = id_or_alias.trim().to_ascii_lowercase();
        self.langs.iter().find(|l| l.id == q).or_else(|| {
            self.langs
                .iter()
                .find(|l| l.aliases.iter().any(|a| a.to_ascii_lowercase() == q))
        })
    }

    /// The language whose main extension is `ext` (for "which language is this file").
    pub fn for_extension(&self, ext: &str) -> Option<&Language> {
        let ext = ext.trim_start_matches('.').to_ascii_lowercase();
        self.langs
            .iter()
            .find(|l| l.extension() == ext)
            .or_else(|| self.langs.iter().find(|l| l.extensions.contains(&ext)))
    }
}

impl Default for LanguageTable {
    fn default() -> Self {
        Self::builtin()
    }
}

/// The built-in languages.
pub fn languages() -> &'static [Language] {
    static TABLE: OnceLock<LanguageTable> = OnceLock::new();
    TABLE.get_or_init(LanguageTable::builtin).languages()
}

/// A built-in language by id or alias.
pub fn language(id_or_alias: &str) -> Option<&'static Language> {
    static TABLE: OnceLock<LanguageTable> = OnceLock::new();
    TABLE.get_or_init(LanguageTable::builtin).get(id_or_alias)
}

#[cfg(test)]
mod tests {
    use super::builtin::v;
    use super::*;

    #[test]
    fn builtin_is_valid_and_lookup_works() {
        let t = LanguageTable::builtin();
        for l in t.languages() {
            l.validate().unwrap();
        }
        for id in [
            "python",
            "javascript",
            "typescript",
            "go",
            "rust",
            "java",
            "c",
            "cpp",
            "ruby",
            "csharp",
            "kotlin",
            "scala",
            "haskell",
            "php",
            "perl",
            "lua",
            "r",
            "elixir",
            "bash",
            "sql",
        ] {
            assert_eq!(t.get(id).unwrap().id, id);
        }
        assert_eq!(t.get("sqlite").unwrap().id, "sql");
        assert_eq!(t.get("sh").unwrap().id, "bash");
        assert_eq!(t.for_extension("R").unwrap().id, "r");
        assert_eq!(t.for_extension("exs").unwrap().id, "elixir");
        assert_eq!(t.get("PY").unwrap().id, "python");
        assert_eq!(t.get("c++").unwrap().id, "cpp");
        assert_eq!(t.get("node").unwrap().id, "javascript");
        assert!(t.get("cobol").is_none());
        assert_eq!(t.for_extension(".rs").unwrap().id, "rust");
        assert_eq!(language("golang").unwrap().id, "go");
        assert!(languages().len() >= 20);
    }

    #[test]
    fn plan_expands_placeholders() {
        let t = LanguageTable::builtin();
        let paths = Paths {
            home: "/tmp".into(),
            src: "/tmp/app".into(),
            out: "/tmp/.oc/build".into(),
        };
        let c = t.get("c").unwrap().plan(
            "main.c",
            &["util.c", "main.c", "util.h", "notes.txt"],
            &paths,
        );
        let compile = c.compile.unwrap();
        assert_eq!(
            compile,
            v(&[
                "gcc",
                "-O2",
                "-std=gnu17",
                "-Wall",
                "-o",
                "/tmp/.oc/build/main",
                "main.c",
                "util.c",
                "-lm"
            ])
        );
        assert_eq!(c.run, v(&["/tmp/.oc/build/main"]));
        let j = t
            .get("java")
            .unwrap()
            .plan("Main.java", &["Main.java"], &paths);
        assert_eq!(j.run.last().unwrap(), "Main");
        let g = t.get("go").unwrap().plan("main.go", &["main.go"], &paths);
        assert!(g
            .env
            .contains(&("GOCACHE".into(), "/tmp/.cache/go-build".into())));
        // SQL reads the pad's setup script (if any) before the entry, whichever file is the entry.
        let sql = t.get("sql").unwrap();
        let report = sql.plan("report.sql", &["report.sql", "setup.sql"], &paths);
        assert!(report.compile.is_none());
        assert_eq!(
            &report.run[report.run.len() - 2..],
            &v(&[
                ".read '|[ report.sql = setup.sql ] || cat setup.sql 2>/dev/null'",
                ".read report.sql"
            ])
        );
        let k = t
            .get("kotlin")
            .unwrap()
            .plan("main.kt", &["main.kt", "util.kt"], &paths);
        assert_eq!(
            k.compile.unwrap(),
            v(&[
                "kotlinc",
                "-nowarn",
                "-include-runtime",
                "-d",
                "/tmp/.oc/build/main.jar",
                "main.kt",
                "util.kt"
            ])
        );
        assert_eq!(k.artifacts, v(&["main.jar"]));
    }

    #[test]
    fn entry_picking() {
        let t = LanguageTable::builtin();
        let py = t.get("python").unwrap();
        assert_eq!(
            py.pick_entry(["b.py", "main.py"].into_iter()).unwrap(),
            "main.py"
        );
        assert_eq!(py.pick_entry(["b.py", "a.py"].into_iter()).unwrap(), "a.py");
        assert!(py.pick_entry(["a.txt"].into_iter()).is_none());
    }

    #[test]
    fn overrides() {
        let t = LanguageTable::builtin()
            .with_overrides_toml(
                r#"
                [[language]]
                id = "python"
                run = ["python3", "-X", "utf8", "{entry}"]

                [[language]]
                id = "csharp"
                disabled = true

                [[language]]
                id = "zig"
                name = "Zig"
                extensions = ["zig"]
                default_file = "main.zig"
                template = 'pub fn main() void {}'
                run = ["zig", "run", "{entry}"]
                image = "custom:1"
                "#,
            )
            .unwrap();
        assert_eq!(t.get("python").unwrap().run[2], "utf8");
        assert_eq!(t.get("python").unwrap().name, "Python 3");
        assert!(t.get("csharp").is_none());
        assert_eq!(t.get("zig").unwrap().image.as_deref(), Some("custom:1"));
        assert_eq!(t.get("lua").unwrap().image, None);

        let bad = LanguageTable::builtin()
            .with_overrides_toml("[[language]]\nid = \"x\"\nname = \"X\"\n");
        assert!(bad.unwrap_err().contains("lacks"));
        let clash = LanguageTable::builtin()
            .with_overrides_toml("[[language]]\nid = \"ruby\"\naliases = [\"py\"]\n");
        assert!(clash.is_err());
        let unknown_field = LanguageTable::builtin()
            .with_overrides_toml("[[language]]\nid = \"ruby\"\nrunn = []\n");
        assert!(unknown_field.is_err());
    }
}
