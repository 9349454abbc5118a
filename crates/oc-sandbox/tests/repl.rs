//! The REPL after a run (issue 12): the entry program runs, then a session evaluates what arrives
//! on stdin in its context, in the same locked-down container as a run. Needs Docker + the runner
//! image (fails with instructions otherwise); the local backend uses the host's python3.

mod common;

use std::time::Duration;

use common::*;
use oc_sandbox::{LocalBackend, LocalConfig, OutputChunk, RunSpec, SandboxBackend, SandboxError};
use tokio::sync::mpsc;

/// `spec` as a REPL session.
fn repl(mut spec: RunSpec) -> RunSpec {
    spec.repl = true;
    spec
}

/// Runs a REPL session of `spec`: once the first prompt shows, each line of `lines` is typed only
/// after the previous one was answered with a prompt (one of `prompts`, continuation prompts
/// included); then the input is closed (end of file ends the session). Returns stdout and stderr.
async fn session(
    backend: &dyn SandboxBackend,
    mut spec: RunSpec,
    prompts: &[&str],
    lines: &[&str],
) -> (String, String) {
    let (input, live) = mpsc::channel(4);
    spec.live_stdin = Some(live);
    let (tx, mut rx) = mpsc::channel::<OutputChunk>(64);
    let driver = async move {
        let (mut stdout, mut stderr) = (String::new(), String::new());
        let mut input = Some(input);
        let mut typed = 0;
        while let Some(chunk) = rx.recv().await {
            let text = String::from_utf8_lossy(&chunk.data);
            match chunk.stream {
                oc_sandbox::Stream::Stdout => stdout.push_str(&text),
                oc_sandbox::Stream::Stderr => stderr.push_str(&text),
            }
            let shown: usize = prompts.iter().map(|p| stdout.matches(p).count()).sum();
            if input.is_some() && shown == typed + 1 {
                match lines.get(typed) {
                    Some(line) => input
                        .as_ref()
                        .unwrap()
                        .send(format!("{line}\n").into_bytes())
                        .await
                        .unwrap(),
                    None => input = None,
                }
                typed += 1;
            }
        }
        (stdout, stderr)
    };
    let (outcome, (stdout, stderr)) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(backend.run(spec, tx), driver)
    })
    .await
    .expect("the session did not end");
    let outcome = outcome.expect("the session failed");
    assert!(
        outcome.success(),
        "{outcome:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    (stdout, stderr)
}

const PYTHON: &str = "def f(x):\n    return x * 2 + 2\n\nprint('loaded', __name__)\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sees_the_programs_functions() {
    let b = backend().await;
    let (stdout, stderr) = session(
        &b,
        repl(spec("python", "main.py", PYTHON)),
        &[">>> "],
        &["f(20)", "nope"],
    )
    .await;
    assert_eq!(stdout, "loaded __main__\n>>> 42\n>>> >>> ", "{stderr}");
    assert!(
        stderr.contains("NameError: name 'nope' is not defined"),
        "{stderr}"
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_sees_the_programs_functions_and_constants() {
    let b = backend().await;
    let program =
        "function f(x) { return x * 2 + 2; }\nconst base = 100;\nconsole.log('loaded');\n";
    let (stdout, stderr) = session(
        &b,
        repl(spec("javascript", "main.js", program)),
        &["> "],
        &["f(20)", "f(base)"],
    )
    .await;
    assert_eq!(stdout, "loaded\n> 42\n> 202\n> ", "{stderr}");
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ruby_sees_the_programs_methods_and_reads_multi_line_statements() {
    let b = backend().await;
    let program = "def f(x)\n  x * 2 + 2\nend\nbase = 100\nputs 'loaded'\n";
    let lines = ["f(20)", "f(base)", "def g", "  f(1)", "end", "g"];
    let (stdout, stderr) = session(
        &b,
        repl(spec("ruby", "main.rb", program)),
        &[">> ", ".. "],
        &lines,
    )
    .await;
    assert_eq!(
        stdout, "loaded\n>> => 42\n>> => 202\n>> .. .. => :g\n>> => 4\n>> ",
        "{stderr}"
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_fails_still_leaves_a_repl_in_its_context() {
    let b = backend().await;
    let program = "def f(x):\n    return x + 1\n\nraise ValueError('broken')\n";
    let (stdout, stderr) = session(
        &b,
        repl(spec("python", "main.py", program)),
        &[">>> "],
        &["f(1)"],
    )
    .await;
    assert_eq!(stdout, ">>> 2\n>>> ");
    assert!(
        stderr.contains("File \"main.py\", line 4") && stderr.contains("ValueError: broken"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("<string>"),
        "the driver's own frame is not shown: {stderr}"
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repl_is_locked_down_like_a_run() {
    let b = backend().await;
    // The probes run as the entry program, then the session ends at end of input.
    let network = run(
        &b,
        repl(spec("python", "main.py", &lockdown::network_probe().await)),
    )
    .await;
    lockdown::assert_no_network(&network);
    let filesystem = run(
        &b,
        repl(spec("python", "main.py", lockdown::FILESYSTEM_PROBE)),
    )
    .await;
    lockdown::assert_locked_filesystem(&filesystem);
    assert!(
        filesystem.stdout.ends_with(">>> "),
        "the probes ran inside the REPL session: {}",
        filesystem.all()
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_without_a_repl_is_refused() {
    let b = backend().await;
    let refused = try_run(
        &b,
        repl(spec("c", "main.c", "int main(void) { return 0; }\n")),
    )
    .await;
    assert!(
        matches!(&refused, Err(SandboxError::InvalidRequest(m)) if m == "C has no REPL"),
        "{refused:?}"
    );
    b.shutdown().await;
}

#[tokio::test]
async fn the_local_backend_runs_the_same_python_repl() {
    let b = LocalBackend::new(LocalConfig::default());
    let (stdout, _) = session(
        &b,
        repl(spec("python", "main.py", PYTHON)),
        &[">>> "],
        &["f(20)"],
    )
    .await;
    assert_eq!(stdout, "loaded __main__\n>>> 42\n>>> ");
}
