//! The built-in languages: commands, templates and environment of each one the runner image has.

use std::collections::BTreeMap;

use super::Language;

/// JVM flags of the Kotlin and Scala compilers, whose launcher scripts read `JAVA_OPTS`: javac's
/// quick-start flags, a heap that fits the default 512 MiB run memory, and no VM warnings
/// (kotlinc's launcher passes the deprecated `-noverify`, which would print one per compile).
const JVM_COMPILER_OPTS: &str =
    "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -XX:-PrintWarnings -Xmx256m";

pub(super) fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[allow(clippy::too_many_arguments)]
fn lang(
    id: &str,
    name: &str,
    aliases: &[&str],
    extensions: &[&str],
    editor_mode: &str,
    default_file: &str,
    template: &str,
    compile: Option<&[&str]>,
    run: &[&str],
    artifacts: &[&str],
) -> Language {
    Language {
        id: id.into(),
        name: name.into(),
        aliases: v(aliases),
        extensions: v(extensions),
        editor_mode: editor_mode.into(),
        default_file: default_file.into(),
        template: template.into(),
        image: None,
        compile: compile.map(v),
        run: v(run),
        repl: crate::repl::builtin_command(id),
        artifacts: v(artifacts),
        source_extensions: vec![],
        env: BTreeMap::new(),
        cache: true,
        local_min_address_space_mb: 0,
    }
}

pub(super) fn builtin_languages() -> Vec<Language> {
    let mut out = Vec::new();

    let mut py = lang(
        "python",
        "Python 3",
        &["py", "python3"],
        &["py"],
        "python",
        "main.py",
        "print(\"Hello, world!\")\n",
        None,
        &["python3", "{entry}"],
        &[],
    );
    py.env.insert("PYTHONUNBUFFERED".into(), "1".into());
    py.env.insert("PYTHONDONTWRITEBYTECODE".into(), "1".into());
    out.push(py);

    let mut js = lang(
        "javascript",
        "JavaScript (Node.js)",
        &["js", "node", "nodejs"],
        &["js", "mjs", "cjs"],
        "javascript",
        "main.js",
        "console.log(\"Hello, world!\");\n",
        None,
        &["node", "{entry}"],
        &[],
    );
    js.local_min_address_space_mb = 4096;
    out.push(js);

    // Debian's node-typescript (tsc 4.8) type-checks against Debian nodejs' bundled @types/node.
    let mut ts = lang(
        "typescript",
        "TypeScript",
        &["ts"],
        &["ts"],
        "typescript",
        "main.ts",
        "const greeting: string = \"Hello, world!\";\nconsole.log(greeting);\n",
        Some(&[
            "tsc",
            "--skipLibCheck",
            "--target",
            "es2020",
            "--module",
            "commonjs",
            "--moduleResolution",
            "node",
            "--esModuleInterop",
            "--types",
            "node",
            "--typeRoots",
            "/usr/share/nodejs/@types",
            "--outDir",
            "{out}",
            "{entry}",
        ]),
        &["node", "{out}/{entry_stem}.js"],
        &["."],
    );
    ts.local_min_address_space_mb = 4096;
    out.push(ts);

    let mut go = lang(
        "go",
        "Go",
        &["golang"],
        &["go"],
        "go",
        "main.go",
        "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"Hello, world!\")\n}\n",
        Some(&["go", "build", "-o", "{out}/main", "{sources}"]),
        &["{out}/main"],
        &["main"],
    );
    for (k, val) in [
        ("GOCACHE", "{home}/.cache/go-build"),
        ("GOPATH", "{home}/go"),
        ("GOPROXY", "off"),
        ("GOSUMDB", "off"),
        ("GOFLAGS", "-mod=mod"),
        ("GOTOOLCHAIN", "local"),
        ("GOTELEMETRY", "off"),
    ] {
        go.env.insert(k.into(), val.into());
    }
    go.local_min_address_space_mb = 4096;
    out.push(go);

    out.push(lang(
        "rust",
        "Rust",
        &["rs"],
        &["rs"],
        "rust",
        "main.rs",
        "fn main() {\n    println!(\"Hello, world!\");\n}\n",
        Some(&[
            "rustc",
            "--edition",
            "2021",
            "-O",
            "-o",
            "{out}/main",
            "{entry}",
        ]),
        &["{out}/main"],
        &["main"],
    ));

    let mut java = lang(
        "java",
        "Java",
        &[],
        &["java"],
        "java",
        "Main.java",
        "public class Main {\n    public static void main(String[] args) {\n        System.out.println(\"Hello, world!\");\n    }\n}\n",
        Some(&[
            "javac",
            "-J-XX:+UseSerialGC",
            "-J-XX:TieredStopAtLevel=1",
            "-J-XX:-UsePerfData",
            "-encoding",
            "UTF-8",
            "-d",
            "{out}",
            "{sources}",
        ]),
        &["java", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-cp", "{out}", "{entry_stem}"],
        &["."],
    );
    java.local_min_address_space_mb = 8192;
    out.push(java);

    let mut c = lang(
        "c",
        "C",
        &[],
        &["c", "h"],
        "c",
        "main.c",
        "#include <stdio.h>\n\nint main(void) {\n    printf(\"Hello, world!\\n\");\n    return 0;\n}\n",
        Some(&["gcc", "-O2", "-std=gnu17", "-Wall", "-o", "{out}/main", "{sources}", "-lm"]),
        &["{out}/main"],
        &["main"],
    );
    c.source_extensions = v(&["c"]);
    out.push(c);

    let mut cpp = lang(
        "cpp",
        "C++",
        &["c++", "cxx"],
        &["cpp", "cc", "cxx", "hpp", "h"],
        "cpp",
        "main.cpp",
        "#include <iostream>\n\nint main() {\n    std::cout << \"Hello, world!\" << std::endl;\n    return 0;\n}\n",
        Some(&["g++", "-O2", "-std=gnu++20", "-Wall", "-o", "{out}/main", "{sources}"]),
        &["{out}/main"],
        &["main"],
    );
    cpp.source_extensions = v(&["cpp", "cc", "cxx"]);
    out.push(cpp);

    out.push(lang(
        "ruby",
        "Ruby",
        &["rb"],
        &["rb"],
        "ruby",
        "main.rb",
        "puts \"Hello, world!\"\n",
        None,
        &["ruby", "{entry}"],
        &[],
    ));

    let mut cs = lang(
        "csharp",
        "C# (Mono)",
        &["cs", "c#"],
        &["cs"],
        "csharp",
        "main.cs",
        "using System;\n\nclass Program {\n    static void Main() {\n        Console.WriteLine(\"Hello, world!\");\n    }\n}\n",
        Some(&["mcs", "-out:{out}/main.exe", "{sources}"]),
        &["mono", "{out}/main.exe"],
        &["main.exe"],
    );
    cs.local_min_address_space_mb = 4096;
    out.push(cs);

    // The jar carries the Kotlin runtime, so it runs on the plain JVM like Java's classes.
    let mut kotlin = lang(
        "kotlin",
        "Kotlin",
        &["kt"],
        &["kt"],
        "kotlin",
        "main.kt",
        "fun main() {\n    println(\"Hello, world!\")\n}\n",
        Some(&[
            "kotlinc",
            "-nowarn",
            "-include-runtime",
            "-d",
            "{out}/main.jar",
            "{sources}",
        ]),
        &[
            "java",
            "-XX:+UseSerialGC",
            "-XX:-UsePerfData",
            "-jar",
            "{out}/main.jar",
        ],
        &["main.jar"],
    );
    kotlin
        .env
        .insert("JAVA_OPTS".into(), JVM_COMPILER_OPTS.into());
    kotlin.local_min_address_space_mb = 8192;
    out.push(kotlin);

    let mut scala = lang(
        "scala",
        "Scala",
        &[],
        &["scala"],
        "scala",
        "Main.scala",
        "object Main {\n  def main(args: Array[String]): Unit = {\n    println(\"Hello, world!\")\n  }\n}\n",
        Some(&["scalac", "-nowarn", "-d", "{out}", "{sources}"]),
        &[
            "java",
            "-XX:+UseSerialGC",
            "-XX:-UsePerfData",
            "-cp",
            "{out}:/usr/share/java/scala-library.jar",
            "{entry_stem}",
        ],
        &["."],
    );
    scala
        .env
        .insert("JAVA_OPTS".into(), JVM_COMPILER_OPTS.into());
    scala.local_min_address_space_mb = 8192;
    out.push(scala);

    let mut haskell = lang(
        "haskell",
        "Haskell",
        &["hs"],
        &["hs"],
        "plaintext",
        "main.hs",
        "main :: IO ()\nmain = putStrLn \"Hello, world!\"\n",
        Some(&[
            "ghc",
            "-v0",
            "-outputdir",
            "{out}/obj",
            "-o",
            "{out}/main",
            "{sources}",
        ]),
        &["{out}/main"],
        &["main"],
    );
    haskell.local_min_address_space_mb = 4096;
    out.push(haskell);

    out.push(lang(
        "php",
        "PHP",
        &[],
        &["php"],
        "php",
        "main.php",
        "<?php\n\necho \"Hello, world!\\n\";\n",
        None,
        &["php", "{entry}"],
        &[],
    ));

    out.push(lang(
        "perl",
        "Perl",
        &["pl"],
        &["pl", "pm"],
        "perl",
        "main.pl",
        "use strict;\nuse warnings;\n\nprint \"Hello, world!\\n\";\n",
        None,
        &["perl", "{entry}"],
        &[],
    ));

    out.push(lang(
        "lua",
        "Lua",
        &[],
        &["lua"],
        "lua",
        "main.lua",
        "print(\"Hello, world!\")\n",
        None,
        &["lua5.4", "{entry}"],
        &[],
    ));

    out.push(lang(
        "r",
        "R",
        &["rscript"],
        &["R", "r"],
        "r",
        "main.R",
        "cat(\"Hello, world!\\n\")\n",
        None,
        &["Rscript", "--no-init-file", "{entry}"],
        &[],
    ));

    let mut elixir = lang(
        "elixir",
        "Elixir",
        &["ex", "exs"],
        &["exs", "ex"],
        "elixir",
        "main.exs",
        "IO.puts(\"Hello, world!\")\n",
        None,
        &["elixir", "{entry}"],
        &[],
    );
    elixir.local_min_address_space_mb = 4096;
    out.push(elixir);

    out.push(lang(
        "bash",
        "Bash",
        &["sh", "shell"],
        &["sh", "bash"],
        "shell",
        "main.sh",
        "echo \"Hello, world!\"\n",
        None,
        &["bash", "{entry}"],
        &[],
    ));

    // A fresh in-memory database per run. `setup.sql`, when the pad has one, runs first (schema
    // and rows, like a database pad's setup), unless it is the entry itself (the client runs the
    // open file); the shell reads it through `sh` so that a pad without one is not an error.
    // `-bail` stops at the first error, which the shell reports with its line in the file.
    out.push(lang(
        "sql",
        "SQL (SQLite)",
        &["sqlite", "sqlite3"],
        &["sql"],
        "sql",
        "main.sql",
        "SELECT 'Hello, world!' AS greeting;\n",
        None,
        &[
            "sqlite3",
            "-bail",
            "-box",
            ":memory:",
            ".read '|[ {entry} = setup.sql ] || cat setup.sql 2>/dev/null'",
            ".read {entry}",
        ],
        &[],
    ));

    for l in &out {
        debug_assert!(l.validate().is_ok(), "{:?}", l.validate());
    }
    out
}
