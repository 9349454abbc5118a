//! Writing a backup: the snapshot's tables, the data-directory files, the manifest.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::archive::{write_row, ArchiveWriter};
use super::manifest::{self, Manifest, TableEntry, FORMAT_NAME, FORMAT_VERSION};
use super::schema::foreign_key_order;
use super::{store, BackupError};
use crate::db::Db;

/// Back up `db` and the `files` of `data_dir` into a new archive at `output`. The archive is
/// written beside it under a `.partial` name and renamed into place once complete and synced, so
/// `output` never names half an archive.
pub async fn create(
    db: &Db,
    data_dir: &Path,
    files: &[&str],
    output: &Path,
) -> Result<Manifest, BackupError> {
    let mut partial = output.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let outcome = write(db, data_dir, files, &partial).await;
    match outcome {
        Ok(manifest) => {
            std::fs::rename(&partial, output)?;
            Ok(manifest)
        }
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            Err(err)
        }
    }
}

async fn write(
    db: &Db,
    data_dir: &Path,
    files: &[&str],
    path: &Path,
) -> Result<Manifest, BackupError> {
    let mut writer = ArchiveWriter::create(path)?;
    let mut tx = db.snapshot_tx().await?;
    // The first read pins the snapshot every later read sees.
    let schema_version = store::schema_version(&mut tx).await?;
    let tables = foreign_key_order(store::tables(&mut tx).await?).map_err(BackupError::Schema)?;
    let mut entries = Vec::with_capacity(tables.len());
    for table in &tables {
        let mut member = writer.member()?;
        let rows =
            store::stream_rows(&mut tx, table, |cells| Ok(write_row(&mut member, &cells)?)).await?;
        member.flush()?;
        writer.append(&manifest::table_member(&table.name), member)?;
        entries.push(TableEntry {
            name: table.name.clone(),
            columns: table.column_names(),
            primary_key: table.primary_key.clone(),
            rows,
        });
    }
    drop(tx);
    let mut carried = Vec::new();
    for name in files {
        let source = data_dir.join(name);
        if !source.exists() {
            continue;
        }
        let mut member = writer.member()?;
        member.write_all(&std::fs::read(&source)?)?;
        writer.append(&manifest::file_member(name), member)?;
        carried.push(name.to_string());
    }
    let manifest = Manifest {
        format: FORMAT_NAME.to_string(),
        format_version: FORMAT_VERSION,
        opencoder_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: crate::db::now_text(),
        backend: db.backend().into(),
        schema_version,
        tables: entries,
        files: carried,
        members: writer.sums().clone(),
    };
    writer.finish(&manifest)?;
    Ok(manifest)
}
