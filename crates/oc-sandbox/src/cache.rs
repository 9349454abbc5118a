//! Compile cache: build artifacts (a tar of the language's `artifacts` under the build dir),
//! keyed by sha256(image id, language, compile command, environment, entry, every file name and
//! its bytes), stored as `<dir>/<key>.tar`, bounded by `max_bytes` with least-recently-USED
//! eviction.
//!
//! Recency lives in the index (in memory) and in each file's mtime, which a hit bumps, so the
//! order survives restarts: [`CompileCache::open`] rebuilds the index from the directory.
//! (The original bumped a sibling file that eviction never read, so it evicted FIFO.)

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::SourceFile;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheStats {
    pub entries: usize,
    pub bytes: u64,
    pub max_bytes: u64,
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    size: u64,
    /// Nanoseconds since the epoch of the last use (strictly increasing within a process).
    last_used: u128,
}

#[derive(Debug, Default)]
struct Index {
    entries: HashMap<String, Entry>,
    total: u64,
    clock: u128,
}

impl Index {
    fn tick(&mut self) -> u128 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        self.clock = now.max(self.clock + 1);
        self.clock
    }
}

#[derive(Debug)]
pub struct CompileCache {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

fn is_key(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl CompileCache {
    /// Opens (creating) the cache directory and rebuilds the index from it; evicts down to
    /// `max_bytes` right away (the limit may have shrunk since the last run).
    pub fn open(dir: impl Into<PathBuf>, max_bytes: u64) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        let mut index = Index::default();
        for ent in fs::read_dir(&dir)? {
            let ent = ent?;
            let name = ent.file_name().to_string_lossy().into_owned();
            let path = ent.path();
            if name.ends_with(".tmp") {
                let _ = fs::remove_file(&path); // an interrupted write
                continue;
            }
            let Some(key) = name.strip_suffix(".tar").filter(|k| is_key(k)) else {
                continue;
            };
            let Ok(meta) = ent.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let last_used = meta
                .modified()
                .ok()
                .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            index.total += meta.len();
            index.entries.insert(
                key.to_string(),
                Entry {
                    size: meta.len(),
                    last_used,
                },
            );
        }
        let cache = Self {
            dir,
            max_bytes,
            index: Mutex::new(index),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        };
        {
            let mut idx = cache.lock();
            cache.evict_locked(&mut idx, 0);
        }
        Ok(cache)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Largest single entry accepted (a quarter of the cache, at most 64 MiB).
    pub fn max_entry_bytes(&self) -> u64 {
        (self.max_bytes / 4).min(64 * 1024 * 1024)
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.tar"))
    }

    /// The cache key of a compile.
    pub fn key(
        image_id: &str,
        language: &str,
        compile: &[String],
        env: &[(String, String)],
        entry: &str,
        files: &[SourceFile],
    ) -> String {
        let mut h = Sha256::new();
        let mut field = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        field(b"oc-sandbox compile cache v1");
        field(image_id.as_bytes());
        field(language.as_bytes());
        for a in compile {
            field(a.as_bytes());
        }
        field(b"--env");
        for (k, v) in env {
            field(k.as_bytes());
            field(v.as_bytes());
        }
        field(b"--entry");
        field(entry.as_bytes());
        let mut sorted: Vec<&SourceFile> = files.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        for f in sorted {
            field(f.name.as_bytes());
            field(&f.content);
        }
        hex::encode(h.finalize())
    }

    /// Looks `key` up; a hit marks it most recently used (in the index and the file's mtime).
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        if !is_key(key) {
            return None;
        }
        let known = {
            let mut idx = self.lock();
            let now = idx.tick();
            match idx.entries.get_mut(key) {
                Some(e) => {
                    e.last_used = now;
                    true
                }
                None => false,
            }
        };
        if !known {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let path = self.path(key);
        match tokio::fs::read(&path).await {
            Ok(data) => {
                let p = path.clone();
                // Persist the recency (best effort).
                let _ = tokio::task::spawn_blocking(move || {
                    fs::File::options()
                        .write(true)
                        .open(&p)
                        .and_then(|f| f.set_modified(SystemTime::now()))
                })
                .await;
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(data)
            }
            Err(_) => {
                // Deleted behind our back (or evicted concurrently): forget it.
                let mut idx = self.lock();
                if let Some(e) = idx.entries.remove(key) {
                    idx.total -= e.size;
                }
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Stores `data` under `key` (atomically: temp file + rename), then evicts least recently
    /// used entries until the total fits `max_bytes`. Entries over [`Self::max_entry_bytes`]
    /// are not stored.
    pub async fn put(&self, key: &str, data: &[u8]) -> io::Result<()> {
        if !is_key(key) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad cache key"));
        }
        let size = data.len() as u64;
        if size > self.max_entry_bytes() || size == 0 {
            return Ok(());
        }
        let tmp = self
            .dir
            .join(format!(".{key}.{}.tmp", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&tmp, data).await?;
        let final_path = self.path(key);
        if let Err(e) = tokio::fs::rename(&tmp, &final_path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        {
            let mut idx = self.lock();
            let now = idx.tick();
            if let Some(old) = idx.entries.insert(
                key.to_string(),
                Entry {
                    size,
                    last_used: now,
                },
            ) {
                idx.total -= old.size;
            }
            idx.total += size;
            self.evict_locked(&mut idx, 0);
        }
        Ok(())
    }

    /// Evicts least recently used entries while the total exceeds `max_bytes - reserve`.
    /// Files are removed synchronously (they are small and few).
    fn evict_locked(&self, idx: &mut Index, reserve: u64) -> usize {
        let budget = self.max_bytes.saturating_sub(reserve);
        let mut removed = 0;
        while idx.total > budget && !idx.entries.is_empty() {
            let (key, entry) = idx
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, e)| (k.clone(), *e))
                .expect("non-empty");
            idx.entries.remove(&key);
            idx.total -= entry.size;
            let _ = fs::remove_file(self.path(&key));
            self.evictions.fetch_add(1, Ordering::Relaxed);
            removed += 1;
        }
        removed
    }

    /// Drops an entry (e.g. one that turned out to be unusable).
    pub async fn remove(&self, key: &str) {
        let removed = {
            let mut idx = self.lock();
            match idx.entries.remove(key) {
                Some(e) => {
                    idx.total -= e.size;
                    true
                }
                None => false,
            }
        };
        if removed {
            let _ = tokio::fs::remove_file(self.path(key)).await;
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.lock().entries.contains_key(key)
    }

    pub fn stats(&self) -> CacheStats {
        let idx = self.lock();
        CacheStats {
            entries: idx.entries.len(),
            bytes: idx.total,
            max_bytes: self.max_bytes,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }
}

/// Used by tests: sets a cache file's mtime (simulating older use).
#[doc(hidden)]
pub fn set_mtime_for_tests(path: &Path, age: Duration) -> io::Result<()> {
    let f = fs::File::options().write(true).open(path)?;
    f.set_modified(SystemTime::now() - age)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u8) -> String {
        hex::encode([n; 32])
    }

    #[tokio::test]
    async fn lru_evicts_least_recently_used_not_oldest_written() {
        let dir = tempfile::tempdir().unwrap();
        let c = CompileCache::open(dir.path(), 400).unwrap(); // entry max = 100
        c.put(&k(1), &[1; 100]).await.unwrap();
        c.put(&k(2), &[2; 100]).await.unwrap();
        c.put(&k(3), &[3; 100]).await.unwrap();
        c.put(&k(4), &[4; 100]).await.unwrap();
        // Use the oldest-written entry: it becomes the most recently used.
        assert!(c.get(&k(1)).await.is_some());
        c.put(&k(5), &[5; 100]).await.unwrap();
        assert!(
            c.contains(&k(1)),
            "recently used entry was evicted (FIFO instead of LRU)"
        );
        assert!(!c.contains(&k(2)), "least recently used entry survived");
        assert!(!dir.path().join(format!("{}.tar", k(2))).exists());
        assert_eq!(c.stats().entries, 4);
        assert!(c.stats().bytes <= 400);
    }

    #[tokio::test]
    async fn survives_restart_with_recency() {
        let dir = tempfile::tempdir().unwrap();
        {
            let c = CompileCache::open(dir.path(), 300).unwrap();
            c.put(&k(1), &[1; 70]).await.unwrap();
            c.put(&k(2), &[2; 70]).await.unwrap();
            c.put(&k(3), &[3; 70]).await.unwrap();
        }
        // Make k1 look old and k2 older; k3 newest. Then use k2 in a new process.
        set_mtime_for_tests(
            &dir.path().join(format!("{}.tar", k(1))),
            Duration::from_secs(100),
        )
        .unwrap();
        set_mtime_for_tests(
            &dir.path().join(format!("{}.tar", k(2))),
            Duration::from_secs(200),
        )
        .unwrap();
        std::fs::write(dir.path().join(".junk.tmp"), b"x").unwrap();
        let c = CompileCache::open(dir.path(), 300).unwrap();
        assert_eq!(c.stats().entries, 3);
        assert!(!dir.path().join(".junk.tmp").exists());
        assert_eq!(c.get(&k(2)).await.unwrap(), vec![2; 70]);
        drop(c);
        // Reopen with a smaller limit: the least recently used (k1) must go first.
        let c = CompileCache::open(dir.path(), 150).unwrap();
        assert!(!c.contains(&k(1)));
        assert!(c.contains(&k(2)) || c.contains(&k(3)));
        assert!(c.stats().bytes <= 150);
    }

    #[test]
    fn key_depends_on_everything() {
        let f = |c: &str| vec![SourceFile::new("main.c", c)];
        let base = CompileCache::key("img", "c", &["gcc".into()], &[], "main.c", &f("x"));
        assert_eq!(
            base,
            CompileCache::key("img", "c", &["gcc".into()], &[], "main.c", &f("x"))
        );
        assert_ne!(
            base,
            CompileCache::key("img2", "c", &["gcc".into()], &[], "main.c", &f("x"))
        );
        assert_ne!(
            base,
            CompileCache::key("img", "c", &["g++".into()], &[], "main.c", &f("x"))
        );
        assert_ne!(
            base,
            CompileCache::key("img", "c", &["gcc".into()], &[], "main.c", &f("y"))
        );
        assert!(is_key(&base));
    }
}
