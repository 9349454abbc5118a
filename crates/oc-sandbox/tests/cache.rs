//! Compile cache against real compiles: the second identical run is a hit and skips the
//! compiler; LRU eviction under a small limit keeps the recently used entry. Needs Docker.

mod common;

use std::time::Duration;

use common::*;
use oc_sandbox::{CacheStatus, Phase};

fn c_program(tag: &str) -> String {
    format!("#include <stdio.h>\nint main(void) {{ char b[64]; if (fgets(b, sizeof b, stdin)) printf(\"{tag} %s\", b); else puts(\"{tag}\"); return 0; }}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_identical_run_skips_compile() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.cache_dir = Some(dir.path().to_path_buf());
    let b = backend_with(cfg).await;

    let mut s = spec("c", "main.c", &c_program("first"));
    s.stdin = b"one\n".to_vec();
    let r = run(&b, s.clone()).await;
    assert_eq!(r.stdout, "first one\n", "{}", r.all());
    assert_eq!(r.outcome.compile_cache, Some(CacheStatus::Miss));
    assert_eq!(b.cache().unwrap().stats().entries, 1);

    // Same sources, different stdin: hit, and the compiler does not run. A compiler warning
    // proves it: it shows up on the miss and not on the hit.
    let warn_src =
        "#include <stdio.h>\nint main(void) { int unused; puts(\"warned\"); return 0; }\n";
    let r1 = run(&b, spec("c", "main.c", warn_src)).await;
    assert_eq!(r1.outcome.compile_cache, Some(CacheStatus::Miss));
    assert!(
        r1.stderr.contains("unused"),
        "expected a -Wall warning:\n{}",
        r1.all()
    );
    let r2 = run(&b, spec("c", "main.c", warn_src)).await;
    assert_eq!(
        r2.outcome.compile_cache,
        Some(CacheStatus::Hit),
        "{}",
        r2.all()
    );
    assert!(
        !r2.stderr.contains("unused"),
        "compiler ran on a cache hit:\n{}",
        r2.all()
    );
    assert_eq!(r2.stdout, "warned\n");
    assert_eq!(r2.outcome.phase, Phase::Run);

    s.stdin = b"two\n".to_vec();
    let r = run(&b, s).await;
    assert_eq!(r.outcome.compile_cache, Some(CacheStatus::Hit));
    assert_eq!(r.stdout, "first one\n".replace("one", "two"));

    // Other compiled languages use it too (java: a directory of classes).
    let java = "public class Main { public static void main(String[] a) { System.out.println(\"cached java\"); } }\n";
    let r = run(&b, spec("java", "Main.java", java)).await;
    assert_eq!(r.outcome.compile_cache, Some(CacheStatus::Miss));
    let r = run(&b, spec("java", "Main.java", java)).await;
    assert_eq!(
        r.outcome.compile_cache,
        Some(CacheStatus::Hit),
        "{}",
        r.all()
    );
    assert_eq!(r.stdout, "cached java\n");

    // Compile errors are not cached.
    let bad = spec("c", "main.c", "int main(void) { return nope; }\n");
    assert_eq!(
        run(&b, bad.clone()).await.outcome.compile_cache,
        Some(CacheStatus::Miss)
    );
    assert_eq!(
        run(&b, bad).await.outcome.compile_cache,
        Some(CacheStatus::Miss)
    );

    // Interpreted languages don't touch it.
    assert_eq!(
        run(&b, spec("python", "main.py", "print(1)"))
            .await
            .outcome
            .compile_cache,
        None
    );

    let m = b.metrics().snapshot();
    assert_eq!(m.cache_hits, 3);
    b.shutdown().await;

    // Survives a restart: a new backend on the same dir hits right away.
    let mut cfg = config();
    cfg.cache_dir = Some(dir.path().to_path_buf());
    let b = backend_with(cfg).await;
    let r = run(&b, spec("c", "main.c", warn_src)).await;
    assert_eq!(r.outcome.compile_cache, Some(CacheStatus::Hit));
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lru_eviction_keeps_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    // Size the cache for four entries from the size of one.
    let probe_dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.cache_dir = Some(probe_dir.path().to_path_buf());
    let b = backend_with(cfg).await;
    run(&b, spec("c", "main.c", &c_program("probe"))).await;
    let one = b.cache().unwrap().stats().bytes;
    assert!(one > 0);
    b.shutdown().await;

    let mut cfg = config();
    cfg.cache_dir = Some(dir.path().to_path_buf());
    // max_entry_bytes is a quarter of the cache: room for exactly four entries.
    cfg.cache_max_bytes = one * 4 + one / 2;
    let b = backend_with(cfg).await;
    let progs: Vec<String> = (0..5).map(|i| c_program(&format!("prog{i}"))).collect();
    for p in &progs[..4] {
        let r = run(&b, spec("c", "main.c", p)).await;
        assert_eq!(r.outcome.compile_cache, Some(CacheStatus::Miss));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(b.cache().unwrap().stats().entries, 4);
    // Use the OLDEST entry, then add a fifth: the least recently used (prog1) must go.
    assert_eq!(
        run(&b, spec("c", "main.c", &progs[0]))
            .await
            .outcome
            .compile_cache,
        Some(CacheStatus::Hit)
    );
    assert_eq!(
        run(&b, spec("c", "main.c", &progs[4]))
            .await
            .outcome
            .compile_cache,
        Some(CacheStatus::Miss)
    );
    let st = b.cache().unwrap().stats();
    assert_eq!(st.entries, 4, "{st:?}");
    assert!(st.bytes <= b.cache().unwrap().max_bytes());
    assert_eq!(
        run(&b, spec("c", "main.c", &progs[0]))
            .await
            .outcome
            .compile_cache,
        Some(CacheStatus::Hit),
        "recently used entry was evicted"
    );
    assert_eq!(
        run(&b, spec("c", "main.c", &progs[1]))
            .await
            .outcome
            .compile_cache,
        Some(CacheStatus::Miss),
        "least recently used entry was kept"
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_entry_falls_back_to_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.cache_dir = Some(dir.path().to_path_buf());
    let b = backend_with(cfg).await;
    let prog = c_program("corrupt");
    assert_eq!(
        run(&b, spec("c", "main.c", &prog))
            .await
            .outcome
            .compile_cache,
        Some(CacheStatus::Miss)
    );
    let entry = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".tar"))
        .expect("cache entry on disk");
    std::fs::write(entry.path(), b"definitely not a tar archive").unwrap();
    let r = run(&b, spec("c", "main.c", &prog)).await;
    assert_eq!(r.stdout, "corrupt\n", "{}", r.all());
    assert_eq!(r.outcome.compile_cache, Some(CacheStatus::Miss));
    // Re-cached properly.
    let r = run(&b, spec("c", "main.c", &prog)).await;
    assert_eq!(
        r.outcome.compile_cache,
        Some(CacheStatus::Hit),
        "{}",
        r.all()
    );
    assert_eq!(r.stdout, "corrupt\n");
    b.shutdown().await;
}
