//! Restoring an archive into an empty (or, forced, wiped) database and data directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

use super::archive::{open_verified, Verified};
use super::manifest::{BackendName, Manifest};
use super::schema::{foreign_key_order, Table};
use super::value::{Bound, ColumnKind, Value};
use super::{store, BackupError, MAX_BIND_PARAMETERS, RESTORE_BATCH_BYTES, RESTORE_BATCH_ROWS};
use crate::audit::cli::{ChainVerifier, Verification};
use crate::audit::AuditRow;
use crate::db::{Backend, Db, WriteTx};

/// The hash-chained table, walked before and after a restore.
const AUDIT_TABLE: &str = "audit_log";

/// Where a restore goes: the server's `DATABASE_URL` and `DATA_DIR`.
#[derive(Debug, Clone)]
pub struct Target {
    pub database_url: String,
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Restored {
    pub manifest: Manifest,
    /// The target's migration the archive's tables were restored at (before the newer ones ran).
    pub restored_at_version: i64,
    /// Audit rows verified in the restored database (the same chain as the archive's).
    pub audit_rows: u64,
}

/// Restore `archive` into `target`. Without `force` a target holding any row, or a data file
/// that differs from the archive's, is refused; with it the target is wiped first. Nothing is
/// written to the target before the archive is verified.
pub async fn restore(
    archive: &Path,
    target: &Target,
    force: bool,
) -> Result<Restored, BackupError> {
    let path = archive.to_path_buf();
    // Reading and hashing the whole archive is blocking file work.
    let verified = tokio::task::spawn_blocking(move || {
        let verified = open_verified(&path)?;
        if let Some((id, why)) = verify_archived_chain(&verified)?.broken {
            return Err(BackupError::AuditBroken {
                place: "in the archive",
                id,
                why: why.describe(),
            });
        }
        Ok(verified)
    })
    .await
    .map_err(|e| BackupError::Io(std::io::Error::other(e)))??;
    let manifest = &verified.manifest;
    let source = Backend::from(manifest.backend);
    let known = source
        .migrator()
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    if manifest.schema_version > known {
        return Err(BackupError::NewerSchema {
            backend: manifest.backend.as_str(),
            version: manifest.schema_version,
            known,
        });
    }
    if !source.migrator().version_exists(manifest.schema_version) {
        return Err(BackupError::BadArchive(format!(
            "schema version {} is none of this opencoder's {} migrations",
            manifest.schema_version,
            manifest.backend.as_str()
        )));
    }
    if !force {
        refuse_differing_files(&verified, &target.data_dir)?;
    }
    let loaded = match Backend::of_url(&target.database_url) {
        Some(Backend::Postgres) => restore_postgres(&verified, &target.database_url, force).await?,
        _ => restore_sqlite(&verified, &target.database_url, force).await?,
    };
    std::fs::create_dir_all(&target.data_dir)?;
    for name in &manifest.files {
        write_private(&target.data_dir.join(name), &verified.file(name)?)?;
    }
    Ok(Restored {
        manifest: manifest.clone(),
        restored_at_version: loaded.at_version,
        audit_rows: loaded.audit_rows,
    })
}

fn refuse_differing_files(verified: &Verified, data_dir: &Path) -> Result<(), BackupError> {
    for name in &verified.manifest.files {
        let existing = data_dir.join(name);
        if existing.exists() && std::fs::read(&existing)? != verified.file(name)? {
            return Err(BackupError::TargetNotEmpty(format!(
                "{} exists and differs from the archive's",
                existing.display()
            )));
        }
    }
    Ok(())
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = super::archive::private_file(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Walks audit rows given as cells in `columns` order.
struct ChainCheck {
    columns: Vec<String>,
    verifier: ChainVerifier,
}

impl ChainCheck {
    fn new(columns: Vec<String>) -> ChainCheck {
        ChainCheck {
            columns,
            verifier: ChainVerifier::default(),
        }
    }

    /// `false` once the chain is broken.
    fn push(&mut self, cells: Vec<Value>) -> Result<bool, BackupError> {
        let row = audit_row(&self.columns, cells).map_err(BackupError::Schema)?;
        Ok(self.verifier.push(&row))
    }
}

/// The archive's audit chain, walked before anything is written.
fn verify_archived_chain(verified: &Verified) -> Result<Verification, BackupError> {
    let Some(table) = verified
        .manifest
        .tables
        .iter()
        .find(|t| t.name == AUDIT_TABLE)
    else {
        return Ok(ChainVerifier::default().finish());
    };
    let mut check = ChainCheck::new(table.columns.clone());
    for cells in verified.rows(&table.name)? {
        if !check.push(cells?)? {
            break;
        }
    }
    Ok(check.verifier.finish())
}

/// The restored audit chain, walked inside the restore's transaction before it commits.
async fn verify_restored_chain(tx: &mut WriteTx) -> Result<u64, BackupError> {
    let tables = store::tables(tx).await?;
    let Some(table) = tables.iter().find(|t| t.name == AUDIT_TABLE) else {
        return Ok(0);
    };
    let mut check = ChainCheck::new(table.column_names());
    // The walk goes on past a break (a stream is not stopped half-way); only the first counts.
    store::stream_rows(tx, table, |cells| check.push(cells).map(|_| ())).await?;
    let verification = check.verifier.finish();
    match verification.broken {
        Some((id, why)) => Err(BackupError::AuditBroken {
            place: "of the restored database",
            id,
            why: why.describe(),
        }),
        None => Ok(verification.rows),
    }
}

fn audit_row(columns: &[String], cells: Vec<Value>) -> Result<AuditRow, String> {
    let mut by_name: BTreeMap<&str, Value> =
        columns.iter().map(String::as_str).zip(cells).collect();
    let mut take = |name: &str| {
        by_name
            .remove(name)
            .ok_or_else(|| format!("audit_log has no column {name}"))
    };
    let text = |value: Value| match value {
        Value::Text(s) => Ok(Some(s)),
        Value::Null => Ok(None),
        other => Err(format!("audit_log: {other:?} is not text")),
    };
    let int = |value: Value| match value {
        Value::Int(n) => Ok(Some(n)),
        Value::Null => Ok(None),
        other => Err(format!("audit_log: {other:?} is not an integer")),
    };
    let required = |value: Option<String>| {
        value.ok_or_else(|| "audit_log: a required field is NULL".to_string())
    };
    Ok(AuditRow {
        id: int(take("id")?)?.ok_or("audit_log: NULL id")?,
        at: required(text(take("at")?)?)?,
        user_id: int(take("user_id")?)?,
        action: required(text(take("action")?)?)?,
        target: text(take("target")?)?,
        ip: text(take("ip")?)?,
        user_agent: text(take("user_agent")?)?,
        meta: text(take("meta")?)?,
        prev_hash: required(text(take("prev_hash")?)?)?,
        hash: required(text(take("hash")?)?)?,
    })
}

/// What the target holds that a restore would lose, if anything.
async fn holds_rows(tx: &mut WriteTx) -> Result<Option<String>, BackupError> {
    for table in store::tables(tx).await? {
        if store::has_rows(tx, &table.name).await? {
            return Ok(Some(format!("table {} has rows", table.name)));
        }
    }
    Ok(None)
}

async fn restore_postgres(
    verified: &Verified,
    url: &str,
    force: bool,
) -> Result<Loaded, BackupError> {
    let db = Db::connect(url).await.map_err(BackupError::Connect)?;
    let outcome = async {
        let mut tx = db.write_tx().await?;
        if let Some(what) = holds_rows(&mut tx).await? {
            if !force {
                return Err(BackupError::TargetNotEmpty(what));
            }
        }
        store::wipe_schema(&mut tx).await?;
        let loaded = fill(&mut tx, Backend::Postgres, verified).await?;
        tx.commit().await?;
        Ok(loaded)
    }
    .await;
    db.close().await;
    outcome
}

/// SQLite: restore into a staged file beside the database and rename it into place once it is
/// complete and its chain verifies, so a failed restore leaves the target as it was.
async fn restore_sqlite(
    verified: &Verified,
    url: &str,
    force: bool,
) -> Result<Loaded, BackupError> {
    let path = SqliteConnectOptions::from_str(url)?
        .get_filename()
        .to_path_buf();
    if path.exists() {
        let existing = Db::connect(url).await.map_err(BackupError::Connect)?;
        let held = async {
            let mut tx = existing.snapshot_tx().await?;
            holds_rows(&mut tx).await
        }
        .await;
        existing.close().await;
        if let Some(what) = held? {
            if !force {
                return Err(BackupError::TargetNotEmpty(what));
            }
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let staged = sidecar(&path, ".restoring");
    remove_database_files(&staged)?;
    let db = Db::connect(&format!("sqlite://{}", staged.display()))
        .await
        .map_err(BackupError::Connect)?;
    let outcome = async {
        let mut tx = db.write_tx().await?;
        let loaded = fill(&mut tx, Backend::Sqlite, verified).await?;
        tx.commit().await?;
        store::checkpoint_wal(&db).await?;
        Ok(loaded)
    }
    .await;
    db.close().await;
    match outcome {
        Ok(loaded) => {
            remove_database_files(&path)?;
            std::fs::rename(&staged, &path)?;
            remove_database_files(&staged)?;
            Ok(loaded)
        }
        Err(err) => {
            remove_database_files(&staged)?;
            Err(err)
        }
    }
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A SQLite database and its WAL companions.
fn remove_database_files(path: &Path) -> std::io::Result<()> {
    for file in [
        path.to_path_buf(),
        sidecar(path, "-wal"),
        sidecar(path, "-shm"),
    ] {
        match std::fs::remove_file(&file) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
    }
    Ok(())
}

/// Table and column names, for comparing a schema with the archive's.
fn shape<'a>(
    tables: impl Iterator<Item = (&'a str, Vec<String>)>,
) -> BTreeMap<String, BTreeSet<String>> {
    tables
        .map(|(name, columns)| (name.to_string(), columns.into_iter().collect()))
        .collect()
}

/// What `fill` did.
struct Loaded {
    /// The target's migration the rows were loaded at.
    at_version: i64,
    /// Audit rows verified in the restored database.
    audit_rows: u64,
}

/// Build the schema the archive was taken at in an empty database, load every table, run the
/// migrations that came after, and verify the restored audit chain, all before the caller commits.
async fn fill(
    tx: &mut WriteTx,
    target: Backend,
    verified: &Verified,
) -> Result<Loaded, BackupError> {
    let manifest = &verified.manifest;
    let wanted = shape(
        manifest
            .tables
            .iter()
            .map(|t| (t.name.as_str(), t.columns.clone())),
    );
    let migrations: Vec<_> = target
        .migrator()
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    let same_backend = Backend::from(manifest.backend) == target;
    let mut applied = 0;
    let mut at_version = None;
    // Same backend: exactly the archive's version. Across backends the numbering differs, so the
    // archive's version is the first of the target's whose tables and columns are the archive's.
    while let Some(migration) = migrations.get(applied) {
        if same_backend && migration.version > manifest.schema_version {
            break;
        }
        store::apply_migration(tx, migration).await?;
        applied += 1;
        if !same_backend {
            let tables = store::tables(tx).await?;
            if shape(tables.iter().map(|t| (t.name.as_str(), t.column_names()))) == wanted {
                at_version = Some(migration.version);
                break;
            }
        }
    }
    let at_version = match (same_backend, at_version) {
        (true, _) => manifest.schema_version,
        (false, Some(version)) => version,
        (false, None) => {
            return Err(BackupError::Schema(format!(
                "no {} schema of this opencoder has the archive's tables and columns ({} schema version {}); restore it into \
                 a {} database, start this opencoder on it once to upgrade it, and back that up",
                BackendName::from(target).as_str(),
                manifest.backend.as_str(),
                manifest.schema_version,
                manifest.backend.as_str(),
            )))
        }
    };
    let tables = foreign_key_order(store::tables(tx).await?).map_err(BackupError::Schema)?;
    let found = shape(tables.iter().map(|t| (t.name.as_str(), t.column_names())));
    if found != wanted {
        return Err(BackupError::Schema(
            "the archive's tables and columns do not match its schema version".into(),
        ));
    }
    for table in &tables {
        load_table(tx, table, verified).await?;
    }
    store::reset_sequences(tx).await?;
    for migration in &migrations[applied..] {
        store::apply_migration(tx, migration).await?;
    }
    let audit_rows = verify_restored_chain(tx).await?;
    Ok(Loaded {
        at_version,
        audit_rows,
    })
}

/// Insert one table's rows in pages bounded by rows, parameters and bytes.
async fn load_table(
    tx: &mut WriteTx,
    table: &Table,
    verified: &Verified,
) -> Result<(), BackupError> {
    let entry = verified
        .manifest
        .tables
        .iter()
        .find(|t| t.name == table.name)
        .ok_or_else(|| BackupError::Schema(format!("the archive has no table {}", table.name)))?;
    let kinds: Vec<ColumnKind> = entry
        .columns
        .iter()
        .map(|name| {
            table
                .columns
                .iter()
                .find(|c| c.name == *name)
                .map(|c| c.kind)
                .unwrap_or(ColumnKind::Any)
        })
        .collect();
    let rows_per_page = RESTORE_BATCH_ROWS
        .min(MAX_BIND_PARAMETERS / entry.columns.len().max(1))
        .max(1);
    let mut page: Vec<Vec<Bound>> = Vec::new();
    let mut page_bytes = 0usize;
    let mut count = 0u64;
    for cells in verified.rows(&entry.name)? {
        let cells = cells?;
        if cells.len() != kinds.len() {
            return Err(BackupError::BadArchive(format!(
                "a row of {} has {} cells for {} columns",
                entry.name,
                cells.len(),
                kinds.len()
            )));
        }
        page_bytes += cells.iter().map(Value::weight).sum::<usize>();
        let bound = cells
            .into_iter()
            .zip(&kinds)
            .zip(&entry.columns)
            .map(|((cell, kind), column)| {
                cell.bind_as(*kind)
                    .map_err(|why| format!("{}.{column}: {why}", entry.name))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(BackupError::Schema)?;
        page.push(bound);
        count += 1;
        if page.len() >= rows_per_page || page_bytes >= RESTORE_BATCH_BYTES {
            store::insert_rows(tx, &entry.name, &entry.columns, std::mem::take(&mut page)).await?;
            page_bytes = 0;
        }
    }
    if !page.is_empty() {
        store::insert_rows(tx, &entry.name, &entry.columns, page).await?;
    }
    if count != entry.rows {
        return Err(BackupError::BadArchive(format!(
            "{} has {count} rows, the manifest says {}",
            entry.name, entry.rows
        )));
    }
    Ok(())
}
