//! Local (subprocess) fallback: no Docker needed, uses the host's python3.

mod common;

use std::time::{Duration, Instant};

use common::*;
use oc_sandbox::{LocalBackend, LocalConfig, SandboxBackend, SandboxError};

fn local() -> LocalBackend {
    LocalBackend::new(LocalConfig::default())
}

fn host_has_process(needle: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim() == needle)
            .unwrap_or(false)
    })
}

#[tokio::test]
async fn hello_world_and_stdin() {
    let b = local();
    let r = run(&b, spec("python", "main.py", "print('Hello, world!')")).await;
    assert!(r.outcome.success(), "{}", r.all());
    assert_eq!(r.stdout, "Hello, world!\n");
    assert_eq!(r.outcome.backend, oc_sandbox::BackendKind::Local);
    let mut s = spec(
        "python",
        "main.py",
        "import sys\nprint(sys.stdin.read().upper(), end='')",
    );
    s.stdin = b"shout\n".to_vec();
    assert_eq!(run(&b, s).await.stdout, "SHOUT\n");
    let r = run(&b, spec("python", "main.py", "import sys\nsys.exit(4)")).await;
    assert_eq!(r.outcome.exit_code, Some(4));
    assert!(!b.health().await.isolated);
}

#[tokio::test]
async fn environment_is_empty_and_dir_is_private() {
    // SAFETY: set before spawning anything in this test binary's process... tests run in
    // threads, but nothing else here reads this variable.
    unsafe { std::env::set_var("OC_SECRET_FOR_TEST", "leak") };
    let b = local();
    let code = "import os\nprint(','.join(sorted(os.environ)))\nprint(os.getcwd())\nprint(oct(os.stat('..').st_mode & 0o777))\n";
    let r = run(&b, spec("python", "main.py", code)).await;
    assert!(r.outcome.success(), "{}", r.all());
    let mut lines = r.stdout.lines();
    let keys = lines.next().unwrap();
    assert!(
        !keys.contains("OC_SECRET_FOR_TEST"),
        "host env leaked: {keys}"
    );
    for k in keys.split(',') {
        assert!(
            [
                "HOME",
                "LANG",
                "PATH",
                "TMPDIR",
                "OPENCODER_RUN_ID",
                "PYTHONDONTWRITEBYTECODE",
                "PYTHONUNBUFFERED",
                "LC_CTYPE"
            ]
            .contains(&k),
            "unexpected variable {k} in {keys}"
        );
    }
    let cwd = lines.next().unwrap().to_string();
    assert!(cwd.contains("opencoder-run-"), "{cwd}");
    assert_eq!(lines.next().unwrap(), "0o700");
    assert!(
        !std::path::Path::new(&cwd).exists(),
        "run dir was not removed"
    );
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let b = local();
    let code = r#"
import subprocess, time
subprocess.Popen(["sleep", "4242"])                        # same process group
subprocess.Popen(["setsid", "sleep", "4343"])              # own session: escapes the group
print("spawned", flush=True)
while True:
    pass
"#;
    let mut s = spec("python", "main.py", code);
    s.limits.wall = Duration::from_secs(2);
    let t = Instant::now();
    let r = run(&b, s).await;
    assert!(r.outcome.timed_out, "{}", r.all());
    assert!(t.elapsed() < Duration::from_secs(20));
    assert_eq!(r.stdout, "spawned\n");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !host_has_process("sleep 4242"),
        "child in the process group survived"
    );
    assert!(!host_has_process("sleep 4343"), "setsid child survived");

    // Detached children of a program that exits normally die too.
    let code = "import subprocess\nsubprocess.Popen(['setsid', 'sleep', '4444'])\nsubprocess.Popen(['sleep', '4545'])\nprint('bye')\n";
    let r = run(&b, spec("python", "main.py", code)).await;
    assert!(!r.outcome.timed_out, "{}", r.all());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!host_has_process("sleep 4444"));
    assert!(!host_has_process("sleep 4545"));
}

#[tokio::test]
async fn output_cap_and_limits() {
    let b = local();
    let mut s = spec(
        "python",
        "main.py",
        "import sys\nwhile True:\n    sys.stdout.write('y' * 10000)\n",
    );
    s.limits.output_bytes = 100_000;
    let r = run(&b, s).await;
    assert!(r.outcome.truncated);
    assert_eq!(r.stdout.len(), 100_000);
    assert!(r.stderr.contains("[output truncated at 100000 bytes]"));

    // RLIMIT_NOFILE
    let code = "fds = []\ntry:\n    while True: fds.append(open('/dev/null'))\nexcept OSError:\n    print(len(fds) + 3)\n";
    let r = run(&b, spec("python", "main.py", code)).await;
    assert!(
        r.stdout.trim().parse::<usize>().unwrap() <= 64,
        "{}",
        r.all()
    );

    // RLIMIT_DATA: a memory bomb fails instead of eating the host.
    let mut s = spec(
        "python",
        "main.py",
        "a = []\nwhile True:\n    a.append(bytearray(10**7))\n",
    );
    s.limits.memory_mb = 200;
    let r = run(&b, s).await;
    assert!(r.stderr.contains("MemoryError"), "{}", r.all());
}

#[tokio::test]
async fn missing_toolchain_is_a_clear_error() {
    let b = LocalBackend::new(LocalConfig {
        path: "/nonexistent-bin".into(),
        ..LocalConfig::default()
    });
    match try_run(&b, spec("python", "main.py", "print(1)")).await {
        Err(SandboxError::Unavailable(m)) => {
            assert!(m.contains("python3") && m.contains("not found"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        try_run(&b, spec("python", "../main.py", "print(1)")).await,
        Err(SandboxError::InvalidFileName(_))
    ));
}
