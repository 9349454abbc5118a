//! Storage: the database handle over SQLite (the one-node default) or PostgreSQL (chosen by a
//! `postgres://` `DATABASE_URL`), write serialisation, and the embedded migrations of each.
//!
//! SQL lives in each domain's store module (`store.rs`, `*_store.rs`), which take a `&Db`;
//! handlers never see SQL or a pool. A store runs its query on whichever pool `Db` holds with
//! `on_pool!` (the body is compiled once per backend, so each runs with its driver's native types)
//! and writes that read first inside `Db::write_tx`.
//!
//! Placeholders are written `$1, $2, …` everywhere: SQLite binds `$N` by number too, so one SQL
//! text serves both where the dialects agree. Where they differ, a store keeps both texts side by
//! side and picks one with `Db::backend`.
//!
//! SQLite has one writer at a time, so id order is commit order and a read-then-write in
//! `BEGIN IMMEDIATE` sees no interleaving. PostgreSQL has neither: several nodes write at once and
//! ids are drawn before commit. What relies on them takes a `WriteLock` inside its transaction.

pub mod ids;
pub mod inline_reads;
pub mod migrations;
pub mod settings;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use inline_reads::{InlineError, InlineReads};

pub use ids::{FileId, PadId, UserId};
pub use settings::{DbSettings, Synchronous};

/// How long a writer waits for the database lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in the SQLite pool; SQLite serialises writers anyway.
pub const MAX_CONNECTIONS: u32 = 8;
/// Connections in the PostgreSQL pool of one node (the server's `max_connections` must cover
/// this times the number of nodes).
pub const POSTGRES_MAX_CONNECTIONS: u32 = 16;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a `Db` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The migrations this binary embeds for this backend.
    pub fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        }
    }

    /// The backend a `DATABASE_URL` names, or `None` for an unsupported scheme.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The pool `Db` holds; stores reach it only through `on_pool!`.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    /// The hot reads' hand-off-free path (SQLite file databases only).
    inline: Option<std::sync::Arc<InlineReads>>,
}

/// Run `$body` with `$pool` bound to the handle's pool, whichever backend it is.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db.backend_pool() {
            $crate::db::Pool::Sqlite($pool) => $body,
            $crate::db::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Run `$body` with `$conn` bound to the transaction's connection (`&mut` to the driver's own
/// connection type), whichever backend it is.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx.backend_tx() {
            $crate::db::TxInner::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::db::TxInner::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Db {
    /// Open the database at `url` with the default settings (every acknowledged write durable).
    /// A SQLite file is created if needed; a PostgreSQL database must exist. Does not migrate.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::connect_with(url, &DbSettings::default()).await
    }

    /// Open the database at `url` (see `connect`). Does not migrate.
    pub async fn connect_with(url: &str, settings: &DbSettings) -> anyhow::Result<Db> {
        let pool = match Backend::of_url(url) {
            Some(Backend::Postgres) => {
                let options = PgConnectOptions::from_str(url)?;
                Pool::Postgres(
                    PgPoolOptions::new()
                        .max_connections(POSTGRES_MAX_CONNECTIONS)
                        .connect_with(options)
                        .await?,
                )
            }
            Some(Backend::Sqlite) | None => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(settings.synchronous.as_sqlite())
                    .foreign_keys(true)
                    .busy_timeout(BUSY_TIMEOUT);
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(MAX_CONNECTIONS)
                        .connect_with(options)
                        .await?,
                )
            }
        };
        Ok(Db {
            pool,
            inline: InlineReads::for_url(url).map(std::sync::Arc::new),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The migrations this binary embeds for the handle's backend.
    pub fn migrator(&self) -> &'static Migrator {
        self.backend().migrator()
    }

    /// Apply every pending migration. A database migrated by a newer binary is refused with a
    /// message saying so (sqlx alone would only say a version is "missing").
    pub async fn migrate(&self) -> anyhow::Result<()> {
        migrations::refuse_newer(self).await?;
        on_pool!(self, |pool| self.migrator().run(pool).await)?;
        Ok(())
    }

    /// Run a hot read on the calling task (see `inline_reads`). `None`: this database has no
    /// inline path or it was busy — run the same read through the pool.
    pub fn inline<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Option<sqlx::Result<T>> {
        match self.inline.as_ref()?.run(read) {
            Ok(value) => Some(Ok(value)),
            Err(InlineError::Busy) => None,
            Err(InlineError::Closed) => Some(Err(sqlx::Error::PoolClosed)),
            Err(InlineError::Failed(err)) => Some(Err(sqlx::Error::Io(std::io::Error::other(err)))),
        }
    }

    /// Rows of the migration table as `(version, checksum, success)`, oldest first; empty when
    /// the database was never migrated.
    pub async fn applied_migrations(&self) -> sqlx::Result<Vec<(i64, Vec<u8>, bool)>> {
        let has_table = match self.backend() {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        const APPLIED: &str =
            "SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version";
        on_pool!(self, |pool| {
            let tables: i64 = sqlx::query_scalar(has_table).fetch_one(pool).await?;
            if tables == 0 {
                return Ok(Vec::new());
            }
            sqlx::query_as(APPLIED).fetch_all(pool).await
        })
    }

    /// For the stores' `on_pool!`; nothing outside `db` and the store modules reaches a pool.
    pub(crate) fn backend_pool(&self) -> &Pool {
        &self.pool
    }

    /// Begin a transaction that writes after it reads. SQLite takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead of failing
    /// with a stale snapshot, and nothing interleaves. PostgreSQL begins an ordinary (read
    /// committed) transaction: the caller takes the `WriteLock` its invariant needs.
    pub async fn write_tx(&self) -> sqlx::Result<WriteTx> {
        let inner = match &self.pool {
            Pool::Sqlite(pool) => TxInner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => TxInner::Postgres(pool.begin().await?),
        };
        Ok(WriteTx { inner })
    }

    /// Begin a transaction that only reads, every read from one snapshot while writers carry on:
    /// SQLite's deferred transaction pins its WAL snapshot at the first read, PostgreSQL's
    /// `REPEATABLE READ` at the first statement. What a backup reads through.
    pub async fn snapshot_tx(&self) -> sqlx::Result<WriteTx> {
        let inner = match &self.pool {
            Pool::Sqlite(pool) => TxInner::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                TxInner::Postgres(tx)
            }
        };
        Ok(WriteTx { inner })
    }

    pub async fn ping(&self) -> bool {
        on_pool!(self, |pool| sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(pool)
            .await
            .is_ok())
    }

    pub async fn close(&self) {
        if let Some(inline) = &self.inline {
            inline.close();
        }
        on_pool!(self, |pool| pool.close().await)
    }
}

/// What a write transaction serialises on across every node sharing the database. Held until the
/// transaction ends. SQLite needs none of them (`BEGIN IMMEDIATE` already serialises every
/// writer); on PostgreSQL each is a transaction-scoped advisory lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WriteLock {
    /// The audit chain's head: appends read it and insert after it.
    AuditChain,
    /// A pad's membership, removals, invites' use counts and file list: reads that decide a write.
    Pad(PadId),
    /// A pad's document log: appends hold it, so within a pad a row committed later always has a
    /// higher id, and a checkpoint's `MAX(id)` covers exactly the updates committed before it.
    DocLog(PadId),
    /// A pad's chat: history pages by id, so ids must be in commit order within a pad.
    Chat(PadId),
    /// A user's question bank: the count that bounds it (`interviews::questions`).
    QuestionsOf(UserId),
    /// One question's co-editor list and its take-homes: the counts that bound them.
    Question(i64),
    /// A pad's joins and leaves: each is appended only when it differs from the user's latest,
    /// which nodes logging at once must not both read before either writes.
    Presence(PadId),
}

impl WriteLock {
    /// `(class, key)` of `pg_advisory_xact_lock(int, int)`. Pad ids wider than 31 bits share a
    /// key with another pad: that costs waiting, never correctness.
    fn advisory_key(self) -> (i32, i32) {
        let key = |pad: PadId| (pad.0 & i64::from(i32::MAX)) as i32;
        match self {
            WriteLock::AuditChain => (1, 0),
            WriteLock::Pad(pad) => (2, key(pad)),
            WriteLock::DocLog(pad) => (3, key(pad)),
            WriteLock::Chat(pad) => (4, key(pad)),
            WriteLock::QuestionsOf(user) => (5, (user.0 & i64::from(i32::MAX)) as i32),
            WriteLock::Question(id) => (6, (id & i64::from(i32::MAX)) as i32),
            WriteLock::Presence(pad) => (7, key(pad)),
        }
    }
}

/// A transaction begun by `Db::write_tx`; rolled back when dropped without `commit`.
pub struct WriteTx {
    inner: TxInner,
}

/// For the stores' `on_tx!`.
pub enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl WriteTx {
    pub(crate) fn backend_tx(&mut self) -> &mut TxInner {
        &mut self.inner
    }

    /// Take `lock` until this transaction ends (a no-op on SQLite; see `WriteLock`). Several
    /// locks are taken in one fixed order (by `WriteLock`'s order) so two nodes never deadlock.
    pub async fn lock(&mut self, lock: WriteLock) -> sqlx::Result<()> {
        if let TxInner::Postgres(tx) = &mut self.inner {
            let (class, key) = lock.advisory_key();
            sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind(class)
                .bind(key)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await,
            TxInner::Postgres(tx) => tx.commit().await,
        }
    }
}

/// Timestamps are stored as RFC 3339 UTC text so they sort and read well in the CLI.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `PRAGMA synchronous` of as many pool connections at once as the pool holds (it is a
    /// per-connection setting): 1 = NORMAL, 2 = FULL.
    async fn synchronous_of_every_connection(db: &Db) -> Vec<i64> {
        let Pool::Sqlite(pool) = &db.pool else {
            panic!("a SQLite handle")
        };
        let mut connections = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            connections.push(pool.acquire().await.unwrap());
        }
        let mut values = Vec::new();
        for conn in &mut connections {
            values.push(
                sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(&mut **conn)
                    .await
                    .unwrap(),
            );
        }
        values
    }

    #[tokio::test]
    async fn sqlite_syncs_every_commit_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sync.db").display());
        let default = Db::connect(&url).await.unwrap();
        assert_eq!(
            synchronous_of_every_connection(&default).await,
            vec![2; MAX_CONNECTIONS as usize]
        );
        let relaxed = Db::connect_with(
            &url,
            &DbSettings {
                synchronous: Synchronous::Normal,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            synchronous_of_every_connection(&relaxed).await,
            vec![1; MAX_CONNECTIONS as usize]
        );
    }
}
