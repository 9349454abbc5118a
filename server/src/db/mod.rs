//! Storage: the database handle, write serialisation and the embedded migrations.
//!
//! SQL lives in each domain's store module (`store.rs`, `*_store.rs`), which take a `&Db`;
//! handlers never see SQL or a pool. A store runs its query on whichever pool `Db` holds with
//! `on_pool!` (the body is compiled once per backend, so each runs with its driver's native types)
//! and writes that read first inside `Db::write_tx`.
//!
//! Placeholders are written `$1, $2, …` everywhere.

pub mod ids;
pub mod settings;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub use ids::{FileId, PadId, UserId};
pub use settings::{DbSettings, Synchronous};

/// How long a writer waits for the database lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in the pool; SQLite serialises writers anyway.
pub const MAX_CONNECTIONS: u32 = 8;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// The pool `Db` holds; stores reach it only through `on_pool!`.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
}

/// Run `$body` with `$pool` bound to the handle's pool, whichever backend it is.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db.backend_pool() {
            $crate::db::Pool::Sqlite($pool) => $body,
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
        }
    };
}
pub(crate) use on_tx;

impl Db {
    /// Open (creating if needed) the database at `url` with the default settings (every
    /// acknowledged write durable). Does not migrate.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::connect_with(url, &DbSettings::default()).await
    }

    /// Open (creating if needed) the database at `url`. Does not migrate.
    pub async fn connect_with(url: &str, settings: &DbSettings) -> anyhow::Result<Db> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(settings.synchronous.as_sqlite())
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        Ok(Db { pool: Pool::Sqlite(pool) })
    }

    /// The migrations this binary embeds for the handle's backend.
    pub fn migrator(&self) -> &'static Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATOR,
        }
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        on_pool!(self, |pool| self.migrator().run(pool).await)?;
        Ok(())
    }

    /// Rows of the migration table as `(version, checksum, success)`, oldest first; empty when
    /// the database was never migrated.
    pub async fn applied_migrations(&self) -> sqlx::Result<Vec<(i64, Vec<u8>, bool)>> {
        const HAS_TABLE: &str = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";
        const APPLIED: &str = "SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version";
        on_pool!(self, |pool| {
            let tables: i64 = sqlx::query_scalar(HAS_TABLE).fetch_one(pool).await?;
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

    /// The SQLite pool, for the test suites that inspect or damage the database file directly
    /// (the HTTP and WebSocket suites run on SQLite). Product code goes through the stores.
    #[doc(hidden)]
    pub fn sqlite_pool_for_tests(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(pool) => Some(pool),
        }
    }

    /// Begin a transaction that writes after it reads. SQLite takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead of failing
    /// with a stale snapshot; what must also hold across processes is taken with `WriteTx::lock`.
    pub async fn write_tx(&self) -> sqlx::Result<WriteTx> {
        let inner = match &self.pool {
            Pool::Sqlite(pool) => TxInner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        };
        Ok(WriteTx { inner })
    }

    pub async fn ping(&self) -> bool {
        on_pool!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(pool).await.is_ok())
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

/// A transaction begun by `Db::write_tx`; rolled back when dropped without `commit`.
pub struct WriteTx {
    inner: TxInner,
}

/// For the stores' `on_tx!`.
pub enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
}

impl WriteTx {
    pub(crate) fn backend_tx(&mut self) -> &mut TxInner {
        &mut self.inner
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await,
        }
    }
}

/// Timestamps are stored as RFC 3339 UTC text so they sort and read well in the CLI.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
