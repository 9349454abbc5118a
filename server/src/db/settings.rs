//! `SQLITE_*` settings: how hard SQLite works to keep an acknowledged write across a power loss.
//! Parsed with the rest of the configuration; every variable is listed in the README.
//!
//! In WAL mode, `synchronous=NORMAL` syncs the log only at checkpoints: a commit (an edit the
//! socket has acknowledged, an audit row) can be lost if the machine loses power before the next
//! one, though the database is never corrupted. `FULL` syncs the log at every commit, so an
//! acknowledged write survives; the cost is one fsync per commit, which the update log's group
//! commit (one transaction per 40 ms batch) keeps small.

use std::collections::HashMap;

use sqlx::sqlite::SqliteSynchronous;

use crate::config::ConfigError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit is on disk before it is acknowledged.
    Full,
    /// Commits since the last WAL checkpoint may be lost on power loss (never on a crash of the
    /// process alone); faster on slow disks.
    Normal,
}

impl Synchronous {
    pub fn as_sqlite(self) -> SqliteSynchronous {
        match self {
            Synchronous::Full => SqliteSynchronous::Full,
            Synchronous::Normal => SqliteSynchronous::Normal,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DbSettings {
    /// `SQLITE_SYNCHRONOUS` (full): `full` keeps every acknowledged write across a power loss;
    /// `normal` trades the writes of the last moments before a power loss for fewer fsyncs.
    pub synchronous: Synchronous,
}

impl Default for DbSettings {
    fn default() -> Self {
        DbSettings {
            synchronous: Synchronous::Full,
        }
    }
}

impl DbSettings {
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<DbSettings, ConfigError> {
        let raw = vars
            .get("SQLITE_SYNCHRONOUS")
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty());
        let synchronous = match raw.as_deref() {
            None | Some("full") => Synchronous::Full,
            Some("normal") => Synchronous::Normal,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "SQLITE_SYNCHRONOUS",
                    message: format!("expected full or normal, got {other:?}"),
                })
            }
        };
        Ok(DbSettings { synchronous })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn full_by_default_normal_on_request_and_bad_values_name_the_variable() {
        assert_eq!(
            DbSettings::from_vars(&vars(&[])).unwrap().synchronous,
            Synchronous::Full
        );
        assert_eq!(
            DbSettings::from_vars(&vars(&[("SQLITE_SYNCHRONOUS", "NORMAL")]))
                .unwrap()
                .synchronous,
            Synchronous::Normal
        );
        let err = DbSettings::from_vars(&vars(&[("SQLITE_SYNCHRONOUS", "off")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("SQLITE_SYNCHRONOUS"), "{err}");
    }
}
