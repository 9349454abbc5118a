//! Console input: a program reads lines that arrive while it runs, after the pre-filled stdin,
//! and sees EOF when the input stream is closed. Docker needs a running engine and the runner
//! image; the local backend uses the host's python3.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use oc_sandbox::{
    DockerConfig, LocalBackend, LocalConfig, Outcome, OutputChunk, PoolConfig, SandboxBackend,
    Stream,
};
use tokio::sync::mpsc;

const PROGRAM: &str = "import sys\n\
print('ready', flush=True)\n\
for _ in range(3):\n    print('got:' + sys.stdin.readline().strip(), flush=True)\n\
print('rest:' + repr(sys.stdin.read()), flush=True)\n";

/// Sends each console line only once the program answered the previous one (so it cannot have
/// been read before the program started), the last two 300 ms apart, then closes the input.
async fn interactive_run(backend: &dyn SandboxBackend) -> Outcome {
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
    outcome
}

#[tokio::test]
async fn docker_program_reads_console_lines_then_eof() {
    interactive_run(&backend().await).await;
}

/// The same through a pre-started interpreter from the warm pool.
#[tokio::test]
async fn docker_pre_started_program_reads_console_lines_then_eof() {
    let b = backend_with(DockerConfig {
        pool: PoolConfig {
            sizes: BTreeMap::from([("python".to_string(), 1)]),
            ..PoolConfig::default()
        },
        ..config()
    })
    .await;
    let t = Instant::now();
    while b.pool_stats().languages[0].ready == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "the pool never filled"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(interactive_run(&b).await.pooled);
    b.shutdown().await;
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
