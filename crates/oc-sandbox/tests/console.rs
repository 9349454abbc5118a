//! Console input: a program reads lines that arrive while it runs, after the pre-filled stdin,
//! and sees EOF when the input stream is closed. Docker needs a running engine and the runner
//! image; the local backend uses the host's python3.

mod common;

use std::time::Duration;

use common::*;
use oc_sandbox::{LocalBackend, LocalConfig, OutputChunk, SandboxBackend, Stream};
use tokio::sync::mpsc;

const PROGRAM: &str = "import sys\n\
print('ready', flush=True)\n\
for _ in range(3):\n    print('got:' + sys.stdin.readline().strip(), flush=True)\n\
print('rest:' + repr(sys.stdin.read()), flush=True)\n";

/// Sends each console line only once the program answered the previous one (so it cannot have
/// been read before the program started), the last two 300 ms apart, then closes the input.
async fn interactive_run(backend: &dyn SandboxBackend) {
    let mut spec = spec("python", "main.py", PROGRAM);
    spec.stdin = b"zero\n".to_vec();
    let (input, live) = mpsc::channel(4);
    spec.live_stdin = Some(live);
    let (tx, mut rx) = mpsc::channel::<OutputChunk>(64);
    let driver = async move {
        let mut stdout = String::new();
        let mut input = Some(input);
        let mut sent = 0;
        while let Some(chunk) = rx.recv().await {
            assert_eq!(
                chunk.stream,
                Stream::Stdout,
                "{}",
                String::from_utf8_lossy(&chunk.data)
            );
            stdout.push_str(&String::from_utf8_lossy(&chunk.data));
            if sent == 0 && stdout.contains("got:zero\n") {
                input
                    .as_ref()
                    .unwrap()
                    .send(b"one\n".to_vec())
                    .await
                    .unwrap();
                sent = 1;
            }
            if sent == 1 && stdout.contains("got:one\n") {
                tokio::time::sleep(Duration::from_millis(300)).await;
                input
                    .as_ref()
                    .unwrap()
                    .send(b"two\n".to_vec())
                    .await
                    .unwrap();
                sent = 2;
            }
            if sent == 2 && stdout.contains("got:two\n") {
                input = None; // EOF
                sent = 3;
            }
        }
        assert!(input.is_none());
        stdout
    };
    let (outcome, stdout) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(backend.run(spec, tx), driver)
    })
    .await
    .expect("the run did not finish");
    let outcome = outcome.expect("run failed");
    assert!(outcome.success(), "{outcome:?}\n{stdout}");
    assert_eq!(stdout, "ready\ngot:zero\ngot:one\ngot:two\nrest:''\n");
}

#[tokio::test]
async fn docker_program_reads_console_lines_then_eof() {
    interactive_run(&backend().await).await;
}

#[tokio::test]
async fn local_program_reads_console_lines_then_eof() {
    interactive_run(&LocalBackend::new(LocalConfig::default())).await;
}

/// Without a live stream the program sees EOF right after the pre-filled bytes, as before.
#[tokio::test]
async fn docker_prefilled_stdin_alone_ends_in_eof() {
    let b = backend().await;
    let mut s = spec(
        "python",
        "main.py",
        "import sys\nprint(repr(sys.stdin.read()))",
    );
    s.stdin = b"a\nb".to_vec();
    let r = run(&b, s).await;
    assert!(r.outcome.success(), "{}", r.all());
    assert_eq!(r.stdout, "'a\\nb'\n");
}
