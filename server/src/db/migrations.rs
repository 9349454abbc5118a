//! Where a database stands against the migrations this binary embeds: what is applied, what
//! would run next, and what the database has that this binary does not know (it was migrated by
//! a newer opencoder). Read by `doctor`.

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

/// This binary's migrations for `db`'s backend, oldest first (down migrations left out).
pub fn known(db: &Db) -> Vec<&'static Migration> {
    db.migrator().iter().filter(|m| !m.migration_type.is_down_migration()).collect()
}

pub async fn status(db: &Db) -> sqlx::Result<MigrationStatus> {
    let known = known(db);
    let applied = db.applied_migrations().await?;
    let mut status = MigrationStatus { known: known.len(), ..Default::default() };
    for (version, checksum, success) in &applied {
        match known.iter().find(|m| m.version == *version) {
            None => status.unknown.push(*version),
            Some(_) if !success => status.dirty.push(*version),
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => status.changed.push(*version),
            Some(_) => status.applied += 1,
        }
    }
    status.pending = known.iter().map(|m| m.version).filter(|v| !applied.iter().any(|(a, _, _)| a == v)).collect();
    Ok(status)
}
