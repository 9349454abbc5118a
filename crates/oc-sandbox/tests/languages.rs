//! Every built-in language: hello world and a stdin echo, under the full sandbox flags, offline,
//! as uid 65534; SQL pads with their setup script; the libraries the image carries. Needs Docker +
//! the runner image (fails with instructions otherwise). `EXEC_IMAGE` points the suite at another
//! runner image, such as a fresh build under its own tag, before it replaces the default one.

mod common;

use std::path::PathBuf;

use common::*;
use oc_sandbox::{CacheStatus, DockerBackend, DockerConfig, Phase};

fn image_under_test() -> String {
    std::env::var("EXEC_IMAGE").unwrap_or_else(|_| IMAGE.to_string())
}

async fn langs_backend(cache_dir: Option<PathBuf>) -> DockerBackend {
    backend_with(DockerConfig {
        image: image_under_test(),
        cache_dir,
        ..config()
    })
    .await
}

struct Case {
    lang: &'static str,
    file: &'static str,
    echo: &'static str,
}

const CASES: &[Case] = &[
    Case {
        lang: "python",
        file: "main.py",
        echo: "import sys\nprint('hello python')\nfor line in sys.stdin:\n    print('echo:' + line.rstrip())\n",
    },
    Case {
        lang: "javascript",
        file: "main.js",
        echo: "const fs = require('fs');\nconsole.log('hello javascript');\nfor (const l of fs.readFileSync(0, 'utf8').split('\\n').filter(Boolean)) console.log('echo:' + l);\n",
    },
    Case {
        lang: "typescript",
        file: "main.ts",
        echo: "import * as fs from 'fs';\nconst lines: string[] = fs.readFileSync(0, 'utf8').split('\\n').filter((l: string) => l.length > 0);\nconsole.log('hello typescript');\nfor (const l of lines) console.log('echo:' + l);\n",
    },
    Case {
        lang: "go",
        file: "main.go",
        echo: "package main\n\nimport (\n\t\"bufio\"\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tfmt.Println(\"hello go\")\n\ts := bufio.NewScanner(os.Stdin)\n\tfor s.Scan() {\n\t\tfmt.Println(\"echo:\" + s.Text())\n\t}\n}\n",
    },
    Case {
        lang: "rust",
        file: "main.rs",
        echo: "use std::io::BufRead;\nfn main() {\n    println!(\"hello rust\");\n    for l in std::io::stdin().lock().lines() {\n        println!(\"echo:{}\", l.unwrap());\n    }\n}\n",
    },
    Case {
        lang: "java",
        file: "Main.java",
        echo: "import java.io.*;\npublic class Main {\n  public static void main(String[] a) throws IOException {\n    System.out.println(\"hello java\");\n    BufferedReader r = new BufferedReader(new InputStreamReader(System.in));\n    String l;\n    while ((l = r.readLine()) != null) System.out.println(\"echo:\" + l);\n  }\n}\n",
    },
    Case {
        lang: "c",
        file: "main.c",
        echo: "#include <stdio.h>\n#include <string.h>\nint main(void) {\n  char b[256];\n  printf(\"hello c\\n\");\n  while (fgets(b, sizeof b, stdin)) { b[strcspn(b, \"\\n\")] = 0; printf(\"echo:%s\\n\", b); }\n  return 0;\n}\n",
    },
    Case {
        lang: "cpp",
        file: "main.cpp",
        echo: "#include <iostream>\n#include <string>\nint main() {\n  std::cout << \"hello cpp\" << std::endl;\n  std::string l;\n  while (std::getline(std::cin, l)) std::cout << \"echo:\" << l << std::endl;\n}\n",
    },
    Case {
        lang: "ruby",
        file: "main.rb",
        echo: "puts 'hello ruby'\nSTDIN.each_line { |l| puts 'echo:' + l.chomp }\n",
    },
    Case {
        lang: "csharp",
        file: "main.cs",
        echo: "using System;\nclass P {\n  static void Main() {\n    Console.WriteLine(\"hello csharp\");\n    string l;\n    while ((l = Console.ReadLine()) != null) Console.WriteLine(\"echo:\" + l);\n  }\n}\n",
    },
    Case {
        lang: "kotlin",
        file: "main.kt",
        echo: "fun main() {\n    println(\"hello kotlin\")\n    generateSequence(::readLine).forEach { println(\"echo:\" + it) }\n}\n",
    },
    Case {
        lang: "scala",
        file: "Main.scala",
        echo: "object Main {\n  def main(args: Array[String]): Unit = {\n    println(\"hello scala\")\n    for (l <- scala.io.Source.stdin.getLines()) println(\"echo:\" + l)\n  }\n}\n",
    },
    Case {
        lang: "haskell",
        file: "main.hs",
        echo: "main :: IO ()\nmain = do\n  putStrLn \"hello haskell\"\n  s <- getContents\n  mapM_ (putStrLn . (\"echo:\" ++)) (lines s)\n",
    },
    Case {
        lang: "php",
        file: "main.php",
        echo: "<?php\necho \"hello php\\n\";\nwhile (($l = fgets(STDIN)) !== false) echo \"echo:\" . rtrim($l, \"\\n\") . \"\\n\";\n",
    },
    Case {
        lang: "perl",
        file: "main.pl",
        echo: "use strict;\nuse warnings;\nprint \"hello perl\\n\";\nwhile (my $l = <STDIN>) { chomp $l; print \"echo:$l\\n\"; }\n",
    },
    Case {
        lang: "lua",
        file: "main.lua",
        echo: "print(\"hello lua\")\nfor l in io.lines() do print(\"echo:\" .. l) end\n",
    },
    Case {
        lang: "r",
        file: "main.R",
        echo: "cat(\"hello r\\n\")\nfor (l in readLines(file(\"stdin\"))) cat(\"echo:\", l, \"\\n\", sep = \"\")\n",
    },
    Case {
        lang: "elixir",
        file: "main.exs",
        echo: "IO.puts(\"hello elixir\")\nIO.stream(:stdio, :line) |> Enum.each(fn l -> IO.puts(\"echo:\" <> String.trim_trailing(l, \"\\n\")) end)\n",
    },
    Case {
        lang: "bash",
        file: "main.sh",
        echo: "echo \"hello bash\"\nwhile IFS= read -r l; do echo \"echo:$l\"; done\n",
    },
    Case {
        lang: "sql",
        file: "main.sql",
        echo: ".print hello sql\nCREATE TABLE input(line TEXT);\n.import --csv /dev/stdin input\n.mode list\nSELECT 'echo:' || line FROM input;\n",
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_language_hello_world_template() {
    let b = langs_backend(None).await;
    for lang in oc_sandbox::languages() {
        let r = run(&b, spec(&lang.id, &lang.default_file, &lang.template)).await;
        assert!(
            r.outcome.success(),
            "{} template failed:\n{}",
            lang.id,
            r.all()
        );
        assert!(
            r.stdout.contains("Hello, world!"),
            "{}:\n{}",
            lang.id,
            r.all()
        );
        assert!(
            !r.stdout.contains("OCSB1"),
            "control frame leaked:\n{}",
            r.all()
        );
    }
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_language_echoes_stdin() {
    let b = langs_backend(None).await;
    assert_eq!(
        CASES.len(),
        oc_sandbox::languages().len(),
        "a built-in language has no test case"
    );
    for c in CASES {
        let mut s = spec(c.lang, c.file, c.echo);
        s.stdin = b"first line\nsecond line\n".to_vec();
        let r = run(&b, s).await;
        assert!(r.outcome.success(), "{} failed:\n{}", c.lang, r.all());
        let want = format!("hello {}\necho:first line\necho:second line\n", c.lang);
        assert_eq!(r.stdout, want, "{}:\n{}", c.lang, r.all());
        assert_eq!(r.outcome.phase, oc_sandbox::Phase::Run);
    }
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_errors_are_reported_as_compile_phase() {
    let b = langs_backend(None).await;
    for (lang, file, code) in [
        (
            "c",
            "main.c",
            "int main(void) { return undefined_thing; }\n",
        ),
        (
            "java",
            "Main.java",
            "public class Main { void x() { int a = \"s\"; } }\n",
        ),
        (
            "typescript",
            "main.ts",
            "const x: number = 'not a number';\nconsole.log(x);\n",
        ),
        ("kotlin", "main.kt", "fun main() {\n    val x: Int = \"s\"\n}\n"),
        (
            "scala",
            "Main.scala",
            "object Main {\n  def main(args: Array[String]): Unit = {\n    val x: Int = \"s\"\n  }\n}\n",
        ),
        ("haskell", "main.hs", "main :: IO ()\nmain = putStrLn (1 :: Int)\n"),
    ] {
        let r = run(&b, spec(lang, file, code)).await;
        assert_eq!(
            r.outcome.phase,
            oc_sandbox::Phase::Compile,
            "{lang}:\n{}",
            r.all()
        );
        assert!(
            matches!(r.outcome.exit_code, Some(c) if c != 0),
            "{lang}:\n{}",
            r.all()
        );
        assert!(
            !r.stderr.is_empty() || !r.stdout.is_empty(),
            "{lang}: no compiler message:\n{}",
            r.all()
        );
    }
    // Multi-file C program with a header.
    let r = run(
        &b,
        spec_files(
            "c",
            &[
                ("main.c", "#include \"util.h\"\n#include <stdio.h>\nint main(void){ printf(\"%d\\n\", twice(21)); return 0; }\n"),
                ("util.c", "#include \"util.h\"\nint twice(int x){ return 2*x; }\n"),
                ("util.h", "int twice(int x);\n"),
            ],
            "",
        ),
    )
    .await;
    assert_eq!(r.stdout, "42\n", "{}", r.all());
    // Non-zero exit of the program itself.
    let r = run(
        &b,
        spec(
            "python",
            "main.py",
            "import sys\nprint('bye')\nsys.exit(3)\n",
        ),
    )
    .await;
    assert_eq!(r.outcome.exit_code, Some(3));
    assert_eq!(r.outcome.phase, oc_sandbox::Phase::Run);
    assert_eq!(r.outcome.signal, None);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_file_programs() {
    let b = langs_backend(None).await;
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "typescript",
            &[
                ("main.ts", "import { twice } from './util';\nconsole.log(twice(21));\n"),
                ("util.ts", "export function twice(x: number): number { return 2 * x; }\n"),
            ],
            "42\n",
        ),
        (
            "go",
            &[
                ("go.mod", "module example.com/pad\n\ngo 1.19\n"),
                ("main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(twice(21)) }\n"),
                ("util.go", "package main\n\nfunc twice(x int) int { return 2 * x }\n"),
            ],
            "42\n",
        ),
        (
            "java",
            &[
                ("Main.java", "public class Main { public static void main(String[] a) { System.out.println(Util.twice(21)); } }\n"),
                ("Util.java", "public class Util { static int twice(int x) { return 2 * x; } }\n"),
            ],
            "42\n",
        ),
        (
            "python",
            &[("main.py", "from util import twice\nprint(twice(21))\n"), ("util.py", "def twice(x):\n    return 2 * x\n")],
            "42\n",
        ),
        (
            "rust",
            &[("main.rs", "mod util;\nfn main() { println!(\"{}\", util::twice(21)); }\n"), ("util.rs", "pub fn twice(x: i32) -> i32 { 2 * x }\n")],
            "42\n",
        ),
        (
            "csharp",
            &[
                ("main.cs", "class P { static void Main() { System.Console.WriteLine(U.Twice(21)); } }\n"),
                ("util.cs", "static class U { public static int Twice(int x) { return 2 * x; } }\n"),
            ],
            "42\n",
        ),
        (
            "kotlin",
            &[("main.kt", "fun main() {\n    println(twice(21))\n}\n"), ("util.kt", "fun twice(x: Int): Int = 2 * x\n")],
            "42\n",
        ),
        (
            "scala",
            &[
                ("Main.scala", "object Main {\n  def main(args: Array[String]): Unit = println(Util.twice(21))\n}\n"),
                ("Util.scala", "object Util {\n  def twice(x: Int): Int = 2 * x\n}\n"),
            ],
            "42\n",
        ),
        (
            "haskell",
            &[
                ("main.hs", "import Util (twice)\n\nmain :: IO ()\nmain = print (twice 21)\n"),
                ("Util.hs", "module Util (twice) where\n\ntwice :: Int -> Int\ntwice x = 2 * x\n"),
            ],
            "42\n",
        ),
    ];
    for (lang, files, want) in cases {
        let r = run(&b, spec_files(lang, files, "")).await;
        assert_eq!(&r.stdout, want, "{lang}:\n{}", r.all());
    }
    b.shutdown().await;
}

/// A database pad: `setup.sql` creates and fills the tables, then the entry's query prints them as
/// a table; without `setup.sql` the entry runs alone against an empty database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_runs_the_setup_script_first_and_prints_a_table() {
    let b = langs_backend(None).await;
    let setup = "CREATE TABLE employees(name TEXT, dept TEXT, salary INTEGER);\nINSERT INTO employees VALUES ('Ada', 'eng', 120), ('Grace', 'eng', 110), ('Linus', 'ops', 90);\n";
    let query = "SELECT dept, COUNT(*) AS people, SUM(salary) AS total\nFROM employees GROUP BY dept ORDER BY dept;\n";
    let r = run(
        &b,
        spec_files("sql", &[("main.sql", query), ("setup.sql", setup)], ""),
    )
    .await;
    assert!(r.outcome.success(), "{}", r.all());
    let want = "\
┌──────┬────────┬───────┐
│ dept │ people │ total │
├──────┼────────┼───────┤
│ eng  │ 2      │ 230   │
│ ops  │ 1      │ 90    │
└──────┴────────┴───────┘
";
    assert_eq!(r.stdout, want, "{}", r.all());

    // Running the setup script itself (the open file) runs it once, not twice.
    let setup_with_count = format!("{setup}SELECT COUNT(*) AS rows FROM employees;\n");
    let mut s = spec_files(
        "sql",
        &[("main.sql", query), ("setup.sql", &setup_with_count)],
        "",
    );
    s.entry = Some("setup.sql".into());
    let r = run(&b, s).await;
    assert!(r.outcome.success(), "{}", r.all());
    assert!(r.stdout.contains("│ 3    │"), "{}", r.all());
    assert!(!r.stdout.contains("dept"), "{}", r.all());

    // Every run starts from a fresh database: the table of the previous run is gone.
    let r = run(
        &b,
        spec("sql", "main.sql", "SELECT COUNT(*) FROM employees;\n"),
    )
    .await;
    assert!(!r.outcome.success(), "{}", r.all());
    assert!(r.stderr.contains("no such table: employees"), "{}", r.all());
    b.shutdown().await;
}

/// An error stops the script (nothing after it runs) and names its line in the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_errors_report_their_line() {
    let b = langs_backend(None).await;
    let query = "SELECT 1 AS one;\n\nSELECT missing_column FROM t;\nSELECT 'not reached';\n";
    let r = run(
        &b,
        spec_files(
            "sql",
            &[("main.sql", query), ("setup.sql", "CREATE TABLE t(a);\n")],
            "",
        ),
    )
    .await;
    assert_eq!(r.outcome.phase, Phase::Run, "{}", r.all());
    assert!(
        matches!(r.outcome.exit_code, Some(c) if c != 0),
        "{}",
        r.all()
    );
    assert!(r.stderr.contains("line 3"), "{}", r.all());
    assert!(
        r.stderr.contains("no such column: missing_column"),
        "{}",
        r.all()
    );
    assert!(r.stdout.contains("one"), "{}", r.all());
    assert!(!r.stdout.contains("not reached"), "{}", r.all());

    // An error in the setup script stops the run before the query.
    let r = run(
        &b,
        spec_files(
            "sql",
            &[
                ("main.sql", "SELECT 'query ran';\n"),
                ("setup.sql", "CREATE TABLE;\n"),
            ],
            "",
        ),
    )
    .await;
    assert!(
        matches!(r.outcome.exit_code, Some(c) if c != 0),
        "{}",
        r.all()
    );
    assert!(r.stderr.contains("line 1"), "{}", r.all());
    assert!(!r.stdout.contains("query ran"), "{}", r.all());
    b.shutdown().await;
}

/// The Python libraries of the image import offline and work; `requests` imports too, but a
/// request fails at once with a connection error: the sandbox has no network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_libraries_work_offline_and_requests_cannot_reach_the_network() {
    let b = langs_backend(None).await;
    let code = r#"
import time
import numpy as np
import pandas as pd
import scipy.linalg
import requests

print("numpy", int(np.arange(10).sum()))
print("pandas", pd.DataFrame({"a": [1, 2], "b": [3, 4]})["b"].sum())
print("scipy", round(float(scipy.linalg.det(np.array([[1.0, 2.0], [3.0, 4.0]]))), 6))
for url in ("https://example.com/", "http://1.1.1.1/"):
    start = time.monotonic()
    try:
        requests.get(url, timeout=30)
        print("reached", url)
    except requests.exceptions.ConnectionError:
        print("no network", url, time.monotonic() - start < 3)
"#;
    let r = run(&b, spec("python", "main.py", code)).await;
    assert!(r.outcome.success(), "{}", r.all());
    assert_eq!(
        r.stdout,
        "numpy 45\npandas 7\nscipy -2.0\nno network https://example.com/ True\nno network http://1.1.1.1/ True\n",
        "{}",
        r.all()
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_has_lodash() {
    let b = langs_backend(None).await;
    let code = "const _ = require('lodash');\nconsole.log(JSON.stringify(_.chunk([1, 2, 3, 4, 5], 2)), _.VERSION);\n";
    let r = run(&b, spec("javascript", "main.js", code)).await;
    assert!(r.outcome.success(), "{}", r.all());
    assert_eq!(r.stdout, "[[1,2],[3,4],[5]] 4.17.21\n", "{}", r.all());
    b.shutdown().await;
}

/// The slow compilers (Kotlin's and Scala's on the JVM, GHC) go through the compile cache: the
/// second identical run does not compile again and prints the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jvm_and_haskell_compiles_are_cached() {
    let dir = tempfile::tempdir().unwrap();
    let b = langs_backend(Some(dir.path().to_path_buf())).await;
    for lang in ["kotlin", "scala", "haskell"] {
        let case = CASES.iter().find(|c| c.lang == lang).unwrap();
        let mut s = spec(lang, case.file, case.echo);
        s.stdin = b"cached\n".to_vec();
        let first = run(&b, s.clone()).await;
        assert_eq!(
            first.outcome.compile_cache,
            Some(CacheStatus::Miss),
            "{lang}:\n{}",
            first.all()
        );
        let second = run(&b, s).await;
        assert_eq!(
            second.outcome.compile_cache,
            Some(CacheStatus::Hit),
            "{lang}:\n{}",
            second.all()
        );
        let want = format!("hello {lang}\necho:cached\n");
        assert_eq!(first.stdout, want, "{lang}:\n{}", first.all());
        assert_eq!(second.stdout, want, "{lang}:\n{}", second.all());
    }
    b.shutdown().await;
}
