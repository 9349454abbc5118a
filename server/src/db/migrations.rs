//! Where a database stands against the migrations this binary embeds: what is applied, what
//! would run next, and what the database has that this binary does not know (it was migrated by
//! a newer opencoder). Read by the server's start, `opencoder migrate --dry-run` and `doctor`.

use sqlx::migrate::Migration;

use super::Db;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Migrations this binary embeds.
    pub known: usize,
    /// Applied and matching this binary's.
    pub applied: usize,
    /// Known versions not applied yet, oldest first.
    pub pending: Vec<i64>,
    /// Applied versions this binary does not embed: the database is newer than the binary.
    pub unknown: Vec<i64>,
    /// Applied versions whose file changed since (migrations are never edited once merged).
    pub changed: Vec<i64>,
    /// Versions that failed half-way.
    pub dirty: Vec<i64>,
}

/// The database was migrated by a newer opencoder: this binary must not touch it.
#[derive(Debug, thiserror::Error)]
#[error(
    "the database has migrations {unknown:?} that this opencoder ({version}) does not know: it was upgraded by a newer \
     opencoder. Run that version or a newer one; downgrades are not supported (restore a backup taken before the upgrade \
     to go back)"
)]
pub struct NewerDatabase {
    pub unknown: Vec<i64>,
    pub version: &'static str,
}

/// This binary's migrations for `db`'s backend, oldest first (down migrations left out).
pub fn known(db: &Db) -> Vec<&'static Migration> {
    db.migrator()
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect()
}

pub async fn status(db: &Db) -> sqlx::Result<MigrationStatus> {
    let known = known(db);
    let applied = db.applied_migrations().await?;
    let mut status = MigrationStatus {
        known: known.len(),
        ..Default::default()
    };
    for (version, checksum, success) in &applied {
        match known.iter().find(|m| m.version == *version) {
            None => status.unknown.push(*version),
            Some(_) if !success => status.dirty.push(*version),
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => status.changed.push(*version),
            Some(_) => status.applied += 1,
        }
    }
    status.pending = known
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.iter().any(|(a, _, _)| a == v))
        .collect();
    Ok(status)
}

/// Refuse a database migrated by a newer binary, before anything is applied to it.
pub async fn refuse_newer(db: &Db) -> anyhow::Result<()> {
    let status = status(db).await?;
    if !status.unknown.is_empty() {
        return Err(NewerDatabase {
            unknown: status.unknown,
            version: env!("CARGO_PKG_VERSION"),
        }
        .into());
    }
    Ok(())
}

/// What `opencoder migrate` would do to the database at `url`, without creating or changing
/// anything: `(version, description)` of each pending migration, oldest first.
pub async fn plan(url: &str) -> anyhow::Result<Vec<(i64, String)>> {
    let backend = super::Backend::of_url(url).unwrap_or(super::Backend::Sqlite);
    let describe = |m: &Migration| (m.version, m.description.to_string());
    if backend == super::Backend::Sqlite {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
        if !options.get_filename().exists() {
            let all = backend
                .migrator()
                .iter()
                .filter(|m| !m.migration_type.is_down_migration())
                .map(describe)
                .collect();
            return Ok(all);
        }
    }
    let db = Db::connect(url).await?;
    let outcome = async {
        refuse_newer(&db).await?;
        let pending = status(&db).await?.pending;
        Ok(known(&db)
            .into_iter()
            .filter(|m| pending.contains(&m.version))
            .map(describe)
            .collect())
    }
    .await;
    db.close().await;
    outcome
}
