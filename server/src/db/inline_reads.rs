//! Hot-path reads that run on the calling task, without a thread hand-off.
//!
//! sqlx's SQLite driver runs every query on the connection's own worker thread, so each query
//! costs two thread wake-ups; on a virtual machine those dominated an authenticated request (most
//! of the CPU went to the scheduler, not to SQLite). The few point reads that every request and
//! every socket makes — the user behind a token, a pad with the caller's role, its files and
//! members — instead run here, on a small set of read-only connections used in place: an indexed
//! lookup takes microseconds, less than the hand-off it replaces.
//!
//! Reads see the latest committed state (WAL readers never wait for the writer), so nothing is
//! cached and nothing needs invalidating. Only file databases qualify; an in-memory database
//! (tests) is private to sqlx's pool and keeps using it.
//!
//! Must not: run scans here (a read holds a runtime worker while it runs): only indexed lookups
//! of a user, a pad and the pad's own rows.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Read connections kept open between reads (about one per runtime worker is enough).
pub const MAX_IDLE_READERS: usize = 8;
/// How long an inline read waits on a lock (only WAL recovery or a schema change hold one)
/// before the caller falls back to the pool, which waits off the runtime's threads.
pub const INLINE_BUSY_TIMEOUT: Duration = Duration::from_millis(20);
/// Prepared statements kept per connection: the hot reads are a handful of fixed texts.
const STATEMENT_CACHE: usize = 32;

pub struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Set by `close`: the database is shutting down, as it is for the pool.
    closed: std::sync::atomic::AtomicBool,
}

/// Why an inline read did not produce rows.
#[derive(Debug)]
pub enum InlineError {
    /// The database was locked: run the read through the pool instead.
    Busy,
    /// The database was closed (shutdown).
    Closed,
    Failed(rusqlite::Error),
}

impl From<rusqlite::Error> for InlineError {
    fn from(err: rusqlite::Error) -> Self {
        match err.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                InlineError::Busy
            }
            _ => InlineError::Failed(err),
        }
    }
}

impl InlineReads {
    /// Inline reads of the SQLite file behind `url`, or `None` for an in-memory database.
    pub fn for_url(url: &str) -> Option<InlineReads> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() || path.contains(":memory:") || path.starts_with("file:") {
            return None;
        }
        Some(InlineReads {
            path: PathBuf::from(path),
            idle: Mutex::new(Vec::new()),
            closed: Default::default(),
        })
    }

    /// Close every idle connection and refuse further reads.
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clear();
    }

    /// Run `read` on an idle read-only connection (opening one when none is idle).
    pub fn run<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, InlineError> {
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(InlineError::Closed);
        }
        let conn = match self.take_idle() {
            Some(conn) => conn,
            None => open(&self.path)?,
        };
        let result = read(&conn).map_err(InlineError::from);
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if idle.len() < MAX_IDLE_READERS && !self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            idle.push(conn);
        }
        result
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .pop()
    }
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(INLINE_BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl std::fmt::Debug for InlineReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReads")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path) -> (PathBuf, Connection) {
        let path = dir.join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "wal").unwrap();
        writer
            .execute_batch(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');",
            )
            .unwrap();
        (path, writer)
    }

    fn read_v(reads: &InlineReads) -> Result<String, InlineError> {
        reads.run(|c| {
            c.prepare_cached("SELECT v FROM t WHERE id = 1")?
                .query_row([], |r| r.get(0))
        })
    }

    #[test]
    fn only_file_databases_get_an_inline_path() {
        assert_eq!(
            InlineReads::for_url("sqlite:///var/lib/oc/opencoder.db")
                .unwrap()
                .path,
            Path::new("/var/lib/oc/opencoder.db")
        );
        assert_eq!(
            InlineReads::for_url("sqlite://data/oc.db?mode=rwc")
                .unwrap()
                .path,
            Path::new("data/oc.db")
        );
        assert_eq!(
            InlineReads::for_url("sqlite:oc.db").unwrap().path,
            Path::new("oc.db")
        );
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite:file:x?mode=memory",
            "postgres://h/db",
            "sqlite:",
        ] {
            assert!(InlineReads::for_url(url).is_none(), "{url}");
        }
    }

    #[test]
    fn reads_see_every_committed_write_and_reuse_connections() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = database(dir.path());
        let reads = InlineReads::for_url(&format!("sqlite://{}", path.display())).unwrap();
        assert_eq!(read_v(&reads).unwrap(), "a");
        writer
            .execute("UPDATE t SET v = 'b' WHERE id = 1", [])
            .unwrap();
        assert_eq!(read_v(&reads).unwrap(), "b", "no stale read after a commit");
        assert_eq!(
            reads.idle.lock().unwrap().len(),
            1,
            "one connection, reused"
        );
    }

    #[test]
    fn a_locked_database_reports_busy_so_the_caller_uses_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = database(dir.path());
        let reads = InlineReads::for_url(&format!("sqlite://{}", path.display())).unwrap();
        // A writer in exclusive locking mode keeps every other connection out.
        writer
            .pragma_update(None, "locking_mode", "exclusive")
            .unwrap();
        writer
            .execute("UPDATE t SET v = 'c' WHERE id = 1", [])
            .unwrap();
        assert!(matches!(read_v(&reads), Err(InlineError::Busy)));
    }

    #[test]
    fn closed_reads_are_refused_like_a_closed_pool() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _writer) = database(dir.path());
        let reads = InlineReads::for_url(&format!("sqlite://{}", path.display())).unwrap();
        assert_eq!(read_v(&reads).unwrap(), "a");
        reads.close();
        assert!(matches!(read_v(&reads), Err(InlineError::Closed)));
        assert!(reads.idle.lock().unwrap().is_empty());
    }

    #[test]
    fn read_only_connections_refuse_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _writer) = database(dir.path());
        let reads = InlineReads::for_url(&format!("sqlite://{}", path.display())).unwrap();
        let wrote = reads.run(|c| c.execute("DELETE FROM t", []));
        assert!(matches!(wrote, Err(InlineError::Failed(_))));
        assert_eq!(read_v(&reads).unwrap(), "a");
    }
}
