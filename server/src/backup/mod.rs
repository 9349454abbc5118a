//! `opencoder backup` and `opencoder restore`: one archive that round-trips between SQLite and
//! PostgreSQL.
//!
//! A backup reads every table from one snapshot while the server keeps serving (`Db::snapshot_tx`),
//! each as a member of backend-neutral JSON lines in key order (`value`), plus the `DATA_DIR`
//! files that matter, and a manifest with row counts and checksums (`manifest`, `archive`). The
//! tables are whatever the database's catalog lists (`schema`), so a table added by a later
//! migration needs no change here.
//!
//! A restore verifies the whole archive first (names, checksums, row counts, the audit chain),
//! refuses a non-empty target unless forced, builds the schema the archive was taken at, inserts
//! in foreign-key order in pages, runs the newer migrations, verifies the audit chain again, and
//! only then replaces the target (SQLite: a staged file renamed into place; PostgreSQL: one
//! transaction).

pub mod archive;
pub mod dump;
pub mod manifest;
pub mod restore;
pub mod schema;
pub mod store;
pub mod value;

pub use dump::create;
pub use restore::{restore, Restored, Target};

/// Largest manifest a restore reads (it lists tables, files and checksums: a few KiB).
pub const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;
/// Largest single row line a restore reads. Rows hold at most a document checkpoint or a run's
/// output, both capped far below this by their own settings; base64 adds a third.
pub const MAX_ROW_BYTES: u64 = 256 * 1024 * 1024;
/// Rows per `INSERT` on restore.
pub const RESTORE_BATCH_ROWS: usize = 500;
/// Bytes of cell data per `INSERT` on restore: what a page of rows may hold in memory.
pub const RESTORE_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Bound parameters per statement, under SQLite's limit (32766) and PostgreSQL's (65535).
pub const MAX_BIND_PARAMETERS: usize = 30_000;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot open the target database: {0:#}")]
    Connect(anyhow::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the archive was refused, nothing was restored: {0}")]
    BadArchive(String),
    #[error("the archive was refused, nothing was restored: member {member:?} does not match its checksum (the archive was changed or damaged)")]
    Checksum { member: String },
    #[error(
        "the archive was refused, nothing was restored: it was taken at {backend} schema version {version}, newer than \
         this opencoder knows ({known}); restore it with that version of opencoder or a newer one"
    )]
    NewerSchema {
        backend: &'static str,
        version: i64,
        known: i64,
    },
    #[error("the target is not empty ({0}); `restore --force` wipes it and restores over it")]
    TargetNotEmpty(String),
    #[error("schema: {0}")]
    Schema(String),
    #[error("the audit chain {place} is broken at row {id}: {why}")]
    AuditBroken {
        place: &'static str,
        id: i64,
        why: &'static str,
    },
}

/// The `DATA_DIR` files a backup of this configuration carries: the generated signing secret
/// unless `JWT_SECRET` is set, the generated node id unless `NODE_ID` is set.
pub fn data_files(config: &crate::config::Config) -> Vec<&'static str> {
    let mut files = Vec::new();
    if config.jwt_secret_source != crate::config::SecretSource::Environment {
        files.push(crate::config::JWT_SECRET_FILE);
    }
    if config.exec.node_id.is_none() {
        files.push(crate::exec::node::NODE_ID_FILE);
    }
    files
}
