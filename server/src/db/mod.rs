//! Storage: one SQLite pool (WAL, foreign keys, busy timeout, `synchronous` from `SQLITE_SYNCHRONOUS`)
//! and the embedded migrations.
//!
//! SQL lives in each domain's `store.rs`, which take a `&Db`; handlers never see SQL. Swapping in
//! another backend means changing `Db` and those stores, not the handlers.

pub mod ids;
pub mod inline_reads;
pub mod settings;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

use inline_reads::{InlineError, InlineReads};

pub use ids::{FileId, PadId, UserId};
pub use settings::{DbSettings, Synchronous};

/// How long a writer waits for the database lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections in the pool; SQLite serialises writers anyway.
pub const MAX_CONNECTIONS: u32 = 8;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone, Debug)]
pub struct Db {
    pool: SqlitePool,
    /// The hot reads' hand-off-free path (file databases only).
    inline: Option<std::sync::Arc<InlineReads>>,
}

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
        Ok(Db { pool, inline: InlineReads::for_url(url).map(std::sync::Arc::new) })
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Run a hot read on the calling task (see `inline_reads`). `None`: this database has no
    /// inline path or it was busy — run the same read through the pool.
    pub fn inline<T>(&self, read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> Option<sqlx::Result<T>> {
        match self.inline.as_ref()?.run(read) {
            Ok(value) => Some(Ok(value)),
            Err(InlineError::Busy) => None,
            Err(InlineError::Failed(err)) => Some(Err(sqlx::Error::Io(std::io::Error::other(err)))),
        }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn ping(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Timestamps are stored as RFC 3339 UTC text so they sort and read well in the CLI.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
