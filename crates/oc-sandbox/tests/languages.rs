//! Every built-in language: hello world and a stdin echo, under the full sandbox flags, offline,
//! as uid 65534. Needs Docker + the runner image (fails with instructions otherwise).

mod common;

use common::*;

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
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_language_hello_world_template() {
    let b = backend().await;
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
    let b = backend().await;
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
    let b = backend().await;
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
    let b = backend().await;
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
    ];
    for (lang, files, want) in cases {
        let r = run(&b, spec_files(lang, files, "")).await;
        assert_eq!(&r.stdout, want, "{lang}:\n{}", r.all());
    }
    b.shutdown().await;
}
