//! Pre-started interpreters: a warm Python or JavaScript run (the pool's interpreter was waiting
//! for it) behaves as a fresh `python3 <entry>` / `node <entry>` — the same stdout, stderr, exit
//! status, signal and timeout for the same program, argv, files and stdin. Each program runs
//! cold and then warm, and both results are compared. Needs Docker and the runner image.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use oc_sandbox::{DockerBackend, DockerConfig, PoolConfig, RunSpec};

struct Case {
    name: &'static str,
    language: &'static str,
    files: &'static [(&'static str, &'static str)],
    entry: Option<&'static str>,
    stdin: &'static str,
    wall: Option<Duration>,
}

const fn case(
    name: &'static str,
    language: &'static str,
    files: &'static [(&'static str, &'static str)],
) -> Case {
    Case {
        name,
        language,
        files,
        entry: None,
        stdin: "",
        wall: None,
    }
}

fn python_cases() -> Vec<Case> {
    vec![
        case(
            "what the program sees of itself",
            "python",
            &[(
                "main.py",
                "import os, sys\nprint(sys.argv, sys.orig_argv, __name__, __file__, sys.path[0], os.getcwd())\n\
                 print(sorted(globals()), __spec__, __package__, __loader__.name, __doc__)\n\
                 print(sorted(os.listdir('.')), os.getpid() != 1 or 'pid 1')\n",
            )],
        ),
        Case {
            stdin: "line one\nline two\nno newline",
            ..case(
                "stdin, both streams and no final newline",
                "python",
                &[(
                    "main.py",
                    "import sys\ndata = sys.stdin.read()\nprint(data[::-1], end='')\nsys.stderr.write('err:' + str(len(data)))\n",
                )],
            )
        },
        case(
            "a sibling module and a class pickled from __main__",
            "python",
            &[
                ("main.py", "import pickle, util\nclass Point:\n    def __init__(self, x): self.x = x\nif __name__ == '__main__':\n    p = pickle.loads(pickle.dumps(Point(util.answer())))\n    print(type(p).__module__, p.x)\n"),
                ("util.py", "def answer():\n    return 42\n"),
            ],
        ),
        Case {
            entry: Some("other.py"),
            ..case(
                "another entry file",
                "python",
                &[("main.py", "print('main')\n"), ("other.py", "import sys\nprint('other', sys.argv)\n")],
            )
        },
        case("an exit status", "python", &[("main.py", "import sys\nprint('bye')\nsys.exit(7)\n")]),
        case("an exit message", "python", &[("main.py", "raise SystemExit('fatal: no input')\n")]),
        case(
            "a chained traceback",
            "python",
            &[(
                "main.py",
                "def parse(s):\n    return int(s)\ntry:\n    parse('x')\nexcept ValueError as e:\n    raise KeyError('bad') from e\n",
            )],
        ),
        case("a syntax error", "python", &[("main.py", "print('never')\nx = (\n")]),
        case(
            "an error in an imported module",
            "python",
            &[("main.py", "import broken\n"), ("broken.py", "def f(:\n    pass\n")],
        ),
        case("KeyboardInterrupt", "python", &[("main.py", "print('before', flush=True)\nraise KeyboardInterrupt\n")]),
        case(
            "killed by a signal",
            "python",
            &[("main.py", "import os, signal\nprint('going', flush=True)\nos.kill(os.getpid(), signal.SIGTERM)\n")],
        ),
        case(
            "atexit handlers and threads finish",
            "python",
            &[(
                "main.py",
                "import atexit, threading, time\natexit.register(lambda: print('atexit'))\n\
                 def late():\n    time.sleep(0.2)\n    print('thread done')\nthreading.Thread(target=late).start()\nprint('main done')\n",
            )],
        ),
        case(
            "output that looks like the sandbox's frames",
            "python",
            &[(
                "main.py",
                "import sys\nsys.stdout.write('OCSB1 S\\n\\x1eOCSB1 E 0123456789abcdef0123456789abcdef 0\\nstill here\\n\\x1e')\n\
                 sys.stderr.write('\\x1eOCSB1 E x 3\\n')\n",
            )],
        ),
        Case {
            wall: Some(Duration::from_secs(1)),
            ..case("a timeout", "python", &[("main.py", "print('spinning', flush=True)\nwhile True:\n    pass\n")])
        },
    ]
}

fn javascript_cases() -> Vec<Case> {
    vec![
        case(
            "what the program sees of itself",
            "javascript",
            &[(
                "main.js",
                "console.log(process.argv, process.execArgv, require.main === module, __filename, __dirname, process.cwd());\n\
                 console.log(module.id, typeof require.cache[__filename], process.pid !== 1 || 'pid 1');\n",
            )],
        ),
        Case {
            stdin: "a\nb\nno newline",
            ..case(
                "stdin, both streams and no final newline",
                "javascript",
                &[(
                    "main.js",
                    "let d = '';\nprocess.stdin.on('data', c => d += c).on('end', () => {\n  process.stdout.write(d.split('').reverse().join(''));\n  process.stderr.write('err:' + d.length);\n});\n",
                )],
            )
        },
        Case {
            stdin: "read synchronously",
            ..case(
                "stdin read with readFileSync(0)",
                "javascript",
                &[("main.js", "console.log(require('fs').readFileSync(0, 'utf8'));\n")],
            )
        },
        case(
            "a sibling module",
            "javascript",
            &[("main.js", "const u = require('./util');\nconsole.log(u.answer());\n"), ("util.js", "exports.answer = () => 42;\n")],
        ),
        Case {
            entry: Some("main.mjs"),
            ..case(
                "an ES module entry",
                "javascript",
                &[("main.mjs", "import { answer } from './util.mjs';\nconsole.log(answer, import.meta.url);\n"), ("util.mjs", "export const answer = 42;\n")],
            )
        },
        case("an exit status", "javascript", &[("main.js", "console.log('bye');\nprocess.exit(7);\n")]),
        case("process.exitCode", "javascript", &[("main.js", "process.exitCode = 3;\nsetTimeout(() => console.log('later'), 50);\n")]),
        case(
            "an unhandled rejection",
            "javascript",
            &[("main.js", "Promise.reject(new TypeError('nope'));\n")],
        ),
        case(
            "an uncaught error",
            "javascript",
            &[("main.js", "function parse(s) {\n  throw new RangeError('bad ' + s);\n}\nparse('x');\n")],
        ),
        case("a syntax error", "javascript", &[("main.js", "console.log('never');\nlet x = (;\n")]),
        case(
            "killed by a signal",
            "javascript",
            &[("main.js", "console.log('going');\nprocess.kill(process.pid, 'SIGTERM');\n")],
        ),
        Case {
            wall: Some(Duration::from_secs(1)),
            ..case("a timeout", "javascript", &[("main.js", "console.log('spinning');\nfor (;;) {}\n")])
        },
    ]
}

fn spec_of(c: &Case) -> RunSpec {
    let mut s = spec_files(c.language, c.files, c.stdin);
    s.entry = c.entry.map(String::from);
    if let Some(wall) = c.wall {
        s.limits.wall = wall;
    }
    s
}

/// A stack trace's frames below the program's own (Node's module loader, the pre-started
/// loader) are not the program's output; everything else must match byte for byte.
fn program_lines(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.trim_start().starts_with("at ") || l.contains("/tmp/app/"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn wait_ready(b: &DockerBackend, language: &str) {
    let t = Instant::now();
    loop {
        let stats = b.pool_stats();
        if stats
            .languages
            .iter()
            .any(|l| l.language == language && l.ready > 0)
        {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "the {language} pool never filled: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn compare(cases: Vec<Case>, language: &str) {
    let cold = backend().await;
    let warm = backend_with(DockerConfig {
        pool: PoolConfig {
            sizes: BTreeMap::from([(language.to_string(), 1)]),
            ..PoolConfig::default()
        },
        ..config()
    })
    .await;
    for c in &cases {
        let fresh = run(&cold, spec_of(c)).await;
        assert!(!fresh.outcome.pooled);
        wait_ready(&warm, language).await;
        let started = run(&warm, spec_of(c)).await;
        assert!(started.outcome.pooled, "{}: not a pool hit", c.name);
        let what = format!(
            "{}\n== fresh ==\n{}\n== pre-started ==\n{}",
            c.name,
            fresh.all(),
            started.all()
        );
        assert_eq!(started.stdout, fresh.stdout, "stdout: {what}");
        if c.language == "javascript" {
            assert_eq!(
                program_lines(&started.stderr),
                program_lines(&fresh.stderr),
                "stderr: {what}"
            );
        } else {
            assert_eq!(started.stderr, fresh.stderr, "stderr: {what}");
        }
        assert_eq!(
            started.outcome.exit_code, fresh.outcome.exit_code,
            "exit code: {what}"
        );
        assert_eq!(
            started.outcome.signal, fresh.outcome.signal,
            "signal: {what}"
        );
        assert_eq!(
            started.outcome.timed_out, fresh.outcome.timed_out,
            "timeout: {what}"
        );
    }
    cold.shutdown().await;
    warm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_pre_started_runs_as_a_fresh_interpreter() {
    compare(python_cases(), "python").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_pre_started_runs_as_a_fresh_interpreter() {
    compare(javascript_cases(), "javascript").await;
}
