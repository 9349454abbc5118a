//! Adversarial programs against the Docker sandbox; every test asserts the containment result.
//! Needs Docker + the runner image (fails with instructions otherwise). The network and filesystem
//! probes live in `common::lockdown`, shared with the REPL's tests.

mod common;

use std::time::{Duration, Instant};

use common::*;
use oc_sandbox::{RunLimits, RunSpec, SandboxError, SourceFile};

fn py(code: &str) -> RunSpec {
    spec("python", "main.py", code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_network_at_all() {
    let b = backend().await;
    let r = run(&b, py(&lockdown::network_probe().await)).await;
    lockdown::assert_no_network(&r);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_identity_and_privileges() {
    let b = backend().await;
    let r = run(&b, py(lockdown::FILESYSTEM_PROBE)).await;
    lockdown::assert_locked_filesystem(&r);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_bomb_is_contained() {
    let b = backend().await;
    // Counts how many processes it can create before fork fails.
    let code = r#"
import os, time, sys
n = 0
try:
    while True:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
except OSError as e:
    print("FORK FAILED after", n, e.strerror, flush=True)
"#;
    let r = run(&b, py(code)).await;
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("FORK FAILED after"))
        .unwrap_or_else(|| panic!("{}", r.all()));
    let n: usize = line.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(n < 256, "created {n} processes: pids limit not applied");
    assert!(
        !r.outcome.timed_out,
        "the run should end when the parent exits (children die with PID 1):\n{}",
        r.all()
    );

    // The classic shell bomb: it ends either by the wall timeout or when the main shell itself
    // can't fork any more; either way the run ends and the whole container goes.
    let mut s = sh("bomb() { bomb | bomb & }; bomb; sleep 100");
    s.limits.wall = Duration::from_secs(3);
    let t = Instant::now();
    let r = run(&b, s).await;
    assert!(
        r.outcome.timed_out || r.stderr.contains("fork"),
        "{}",
        r.all()
    );
    assert!(t.elapsed() < Duration::from_secs(60));
    b.settle(Duration::from_secs(30)).await;
    assert!(
        b.own_containers().await.unwrap().is_empty(),
        "fork bomb container survived"
    );

    // And the machine is still usable.
    let r = run(&b, py("print('still fine')")).await;
    assert_eq!(r.stdout, "still fine\n");
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_is_oom_killed() {
    let b = backend().await;
    let mut s = py("a = []\nwhile True:\n    a.append(bytearray(16 * 1024 * 1024))\n");
    s.limits.memory_mb = 128;
    let r = run(&b, s).await;
    assert!(r.outcome.oom_killed, "{}", r.all());
    assert_eq!(r.outcome.exit_code, Some(137), "{}", r.all());
    assert_eq!(r.outcome.signal.as_deref(), Some("SIGKILL"));
    assert_eq!(r.outcome.label(), "oom");

    // tmpfs counts against the memory too, and is bounded by its size.
    let mut s = sh("dd if=/dev/zero of=/tmp/big bs=1M count=200 2>&1; echo rc=$?");
    s.limits.tmpfs_mb = 32;
    let r = run(&b, s).await;
    assert!(r.stdout.contains("No space left on device"), "{}", r.all());
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_descriptors_are_capped_at_64() {
    let b = backend().await;
    let code = r#"
import errno
fds = []
try:
    while True:
        fds.append(open("/dev/null"))
except OSError as e:
    print("OPEN FAILED", errno.errorcode[e.errno], "with", len(fds) + 3, "descriptors")
"#;
    let r = run(&b, py(code)).await;
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("OPEN FAILED"))
        .unwrap_or_else(|| panic!("{}", r.all()));
    assert!(line.contains("EMFILE"), "{line}");
    let n: usize = line.split_whitespace().nth(4).unwrap().parse().unwrap();
    assert!(n <= 64, "opened {n} descriptors");
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_times_out_and_container_is_gone() {
    let b = backend().await;
    let mut s = py("while True:\n    pass\n");
    s.limits.wall = Duration::from_secs(2);
    let t = Instant::now();
    let r = run(&b, s).await;
    assert!(r.outcome.timed_out, "{}", r.all());
    assert_eq!(r.outcome.exit_code, None);
    assert_eq!(r.outcome.signal.as_deref(), Some("SIGKILL"));
    assert!(t.elapsed() < Duration::from_secs(30));
    // Removed before run() returned.
    assert!(
        b.own_containers().await.unwrap().is_empty(),
        "timed-out container still exists"
    );

    // A program that sleeps while printing: output before the timeout arrives.
    let mut s = py("import time\nprint('before', flush=True)\ntime.sleep(60)\n");
    s.limits.wall = Duration::from_secs(2);
    let r = run(&b, s).await;
    assert!(r.outcome.timed_out);
    assert_eq!(r.stdout, "before\n");
    b.shutdown().await;
}

fn host_has_process(cmdline: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim() == cmdline)
            .unwrap_or(false)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detached_children_do_not_survive() {
    let b = backend().await;
    let r = run(
        &b,
        sh("setsid sleep 1234 & nohup sleep 1235 >/dev/null 2>&1 & (sleep 1236 &) ; echo started"),
    )
    .await;
    assert!(r.outcome.success(), "{}", r.all());
    assert!(!r.outcome.timed_out);
    assert_eq!(r.stdout, "started\n");
    b.settle(Duration::from_secs(30)).await;
    assert!(b.own_containers().await.unwrap().is_empty());
    // Neither in a container nor on the host (host PID namespace sees container processes).
    for c in ["sleep 1234", "sleep 1235", "sleep 1236"] {
        assert!(!host_has_process(c), "`{c}` is still running");
    }
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_flood_is_truncated_with_marker() {
    let b = backend().await;
    let mut s = py("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n");
    s.limits.output_bytes = 1024 * 1024;
    let before = vm_hwm_kb();
    let r = run(&b, s).await;
    assert!(r.outcome.truncated, "{}", &r.stderr);
    assert!(!r.outcome.timed_out);
    assert_eq!(
        r.stdout.len(),
        1024 * 1024,
        "stdout must stop exactly at the cap"
    );
    assert!(
        r.stderr.contains("[output truncated at 1048576 bytes]"),
        "{}",
        r.stderr
    );
    assert!(
        r.max_chunk <= 16 * 1024,
        "chunks are not small: {}",
        r.max_chunk
    );
    assert!(r.chunks >= 64);
    // The flood did not pile up in this process (the channel is bounded and the program killed).
    let after = vm_hwm_kb();
    assert!(
        after.saturating_sub(before) < 256 * 1024,
        "peak RSS grew by {} KiB",
        after - before
    );
    assert!(
        b.own_containers().await.unwrap().is_empty(),
        "flooding container still exists"
    );

    // Cap across both streams, stderr flood.
    let mut s = py("import sys\nprint('o' * 100)\nwhile True:\n    sys.stderr.write('e' * 4096)\n");
    s.limits.output_bytes = 10_000;
    let r = run(&b, s).await;
    assert!(r.outcome.truncated);
    let marker = "\n[output truncated at 10000 bytes]\n";
    assert!(r.stderr.ends_with(marker), "{}", r.stderr);
    assert_eq!(r.stdout.len() + r.stderr.len() - marker.len(), 10_000);
    b.shutdown().await;
}

fn vm_hwm_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_file_names_are_refused() {
    let b = backend().await;
    let bad = [
        "../x",
        "../../etc/passwd",
        "a/b",
        "/etc/passwd",
        ".env",
        "..",
        ".",
        "a\0b",
        "main.py\0.txt",
        "a..b",
        "-rf",
        "x -> /etc/passwd",
        "$(id)",
        "a;b",
        "a'b",
        "a\nb",
        "",
    ];
    for name in bad {
        let s = RunSpec {
            language: "python".into(),
            files: vec![SourceFile::new(name, "print(1)")],
            entry: None,
            stdin: vec![],
            live_stdin: None,
            repl: false,
            limits: RunLimits::default(),
        };
        match try_run(&b, s).await {
            Err(SandboxError::InvalidFileName(_)) => {}
            other => panic!("{name:?} was not refused: {other:?}"),
        }
    }
    // A valid file but a hostile entry.
    let s = RunSpec {
        language: "python".into(),
        files: vec![SourceFile::new("main.py", "print(1)")],
        entry: Some("../main.py".into()),
        stdin: vec![],
        live_stdin: None,
        repl: false,
        limits: RunLimits::default(),
    };
    assert!(matches!(
        try_run(&b, s).await,
        Err(SandboxError::InvalidFileName(_))
    ));
    // Entry not among the files.
    let mut s = spec("python", "main.py", "print(1)");
    s.entry = Some("other.py".into());
    assert!(matches!(
        try_run(&b, s).await,
        Err(SandboxError::InvalidRequest(_))
    ));
    // Unknown language.
    assert!(matches!(
        try_run(&b, spec("cobol", "main.cob", "x")).await,
        Err(SandboxError::UnknownLanguage(_))
    ));
    // Nothing reached Docker.
    assert_eq!(b.metrics().snapshot().containers_created, 0);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_and_exit_codes() {
    let b = backend().await;
    let r = run(
        &b,
        spec(
            "c",
            "main.c",
            "#include <signal.h>\nint main(void){ raise(SIGSEGV); return 0; }\n",
        ),
    )
    .await;
    assert_eq!(r.outcome.signal.as_deref(), Some("SIGSEGV"), "{}", r.all());
    assert_eq!(r.outcome.exit_code, Some(139));
    assert!(!r.outcome.oom_killed);
    // A program that kills itself with SIGTERM is not PID 1, so the signal works.
    let r = run(
        &b,
        py("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n"),
    )
    .await;
    assert_eq!(r.outcome.signal.as_deref(), Some("SIGTERM"), "{}", r.all());
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_runs_leave_nothing_behind() {
    let b = backend().await;
    for i in 0..100 {
        let r = run(&b, py(&format!("print({i})"))).await;
        assert_eq!(r.stdout, format!("{i}\n"), "{}", r.all());
    }
    b.settle(Duration::from_secs(60)).await;
    let left = b.own_containers().await.unwrap();
    assert!(left.is_empty(), "{} containers left behind", left.len());
    let snap = b.metrics().snapshot();
    assert_eq!(snap.containers_created, 100);
    assert_eq!(snap.containers_removed, 100);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_runs_complete() {
    let b = backend().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = py(&format!("import sys\nprint('run', {i}, sys.stdin.read())"));
            s.stdin = format!("input{i}").into_bytes();
            s.limits.wall = Duration::from_secs(60);
            run(&b, s).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let r = t.await.unwrap();
        assert_eq!(r.stdout, format!("run {i} input{i}\n"), "{}", r.all());
    }
    b.settle(Duration::from_secs(60)).await;
    assert!(b.own_containers().await.unwrap().is_empty());
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_run_removes_its_container() {
    let b = backend().await;
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let mut s = py("print('x', flush=True)\nwhile True:\n    pass\n");
    s.limits.wall = Duration::from_secs(120);
    let fut = oc_sandbox::SandboxBackend::run(&b, s, tx);
    // Give it time to start, then drop the future.
    assert!(tokio::time::timeout(Duration::from_secs(4), fut)
        .await
        .is_err());
    b.settle(Duration::from_secs(30)).await;
    assert!(
        b.own_containers().await.unwrap().is_empty(),
        "cancelled run left its container"
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_output_receiver_does_not_extend_the_wall_limit() {
    let b = backend().await;
    // A receiver that never reads: the bounded channel fills up and the sandbox must still
    // enforce the wall-clock limit.
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    let mut s = py("import sys\nwhile True:\n    sys.stdout.write('z' * 1000)\n");
    s.limits.wall = Duration::from_secs(2);
    s.limits.output_bytes = 100 * 1024 * 1024;
    let t = Instant::now();
    let o = tokio::time::timeout(
        Duration::from_secs(60),
        oc_sandbox::SandboxBackend::run(&b, s, tx),
    )
    .await
    .expect("run hung behind a stalled receiver")
    .unwrap();
    assert!(o.timed_out, "{o:?}");
    assert!(t.elapsed() < Duration::from_secs(30));
    assert!(b.own_containers().await.unwrap().is_empty());
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_seccomp_profile_is_applied_and_unconfined_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A (deliberately odd) profile: allow everything except setpriority.
    let profile = dir.path().join("profile.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["setpriority"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let mut cfg = config();
    cfg.seccomp_profile = Some(profile);
    let b = backend_with(cfg).await;
    let code = "import os\ntry:\n    os.setpriority(os.PRIO_PROCESS, 0, 5)\n    print('SETPRIORITY OK')\nexcept OSError as e:\n    print('SETPRIORITY DENIED', e.errno)\n";
    let r = run(&b, py(code)).await;
    assert_eq!(r.stdout, "SETPRIORITY DENIED 1\n", "{}", r.all());
    b.shutdown().await;
    // Without the profile (Docker's default) the same call works: the denial came from ours.
    let b = backend().await;
    let r = run(&b, py(code)).await;
    assert_eq!(r.stdout, "SETPRIORITY OK\n", "{}", r.all());
    b.shutdown().await;

    let unconfined = dir.path().join("unconfined.json");
    std::fs::write(&unconfined, "unconfined").unwrap();
    let mut cfg = config();
    cfg.seccomp_profile = Some(unconfined);
    assert!(
        oc_sandbox::DockerBackend::new(host().await, cfg)
            .await
            .is_err(),
        "unconfined profile accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_shm_is_bounded() {
    let b = backend().await;
    // Docker's default /dev/shm is 64 MiB: 32 MiB fit there, but not in SHM_BYTES (16 MiB).
    let r = run(
        &b,
        py(r#"
import os
st = os.statvfs("/dev/shm")
print("SHM", st.f_blocks * st.f_frsize)
try:
    with open("/dev/shm/fill", "wb") as f:
        for _ in range(32):
            f.write(b"x" * (1 << 20))
            f.flush()
    print("WROTE 32MiB")
except OSError as e:
    print("FULL", e.errno)
"#),
    )
    .await;
    assert!(r.outcome.success(), "{}", r.all());
    assert!(
        r.stdout
            .contains(&format!("SHM {}\n", oc_sandbox::docker::SHM_BYTES)),
        "{}",
        r.all()
    );
    assert!(
        r.stdout.contains("FULL 28"),
        "writing past /dev/shm did not fail with ENOSPC: {}",
        r.all()
    );
    b.shutdown().await;
}
