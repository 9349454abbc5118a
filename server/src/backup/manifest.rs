//! The archive's table of contents (`manifest.json`, its last member): format version, where the
//! data came from, every table with its columns and row count, the data-directory files, and the
//! SHA-256 of every other member. Also the one place that says which member names may exist.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::db::Backend;

/// Bumped when the archive layout changes; restore refuses any other.
pub const FORMAT_VERSION: u32 = 1;
/// What `format` says, so a stray tarball is told apart from a backup.
pub const FORMAT_NAME: &str = "opencoder-backup";
pub const MANIFEST_MEMBER: &str = "manifest.json";
const TABLE_PREFIX: &str = "tables/";
const TABLE_SUFFIX: &str = ".jsonl";
const FILE_PREFIX: &str = "files/";

/// The `DATA_DIR` files a backup carries when present (and not replaced by their variable):
/// the generated signing secret (`JWT_SECRET`) and the node id (`NODE_ID`).
pub const DATA_FILES: &[&str] = &[
    crate::config::JWT_SECRET_FILE,
    crate::exec::node::NODE_ID_FILE,
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub opencoder_version: String,
    pub created_at: String,
    pub backend: BackendName,
    /// The last migration applied to the source database (its backend's numbering).
    pub schema_version: i64,
    /// In the source's foreign-key order.
    pub tables: Vec<TableEntry>,
    /// Names from `DATA_FILES`.
    pub files: Vec<String>,
    /// Member name → its size and SHA-256 (hex), for every member but the manifest.
    pub members: BTreeMap<String, MemberSum>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BackendName {
    Sqlite,
    Postgres,
}

impl BackendName {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendName::Sqlite => "sqlite",
            BackendName::Postgres => "postgres",
        }
    }
}

impl From<Backend> for BackendName {
    fn from(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => BackendName::Sqlite,
            Backend::Postgres => BackendName::Postgres,
        }
    }
}

impl From<BackendName> for Backend {
    fn from(name: BackendName) -> Self {
        match name {
            BackendName::Sqlite => Backend::Sqlite,
            BackendName::Postgres => Backend::Postgres,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TableEntry {
    pub name: String,
    pub columns: Vec<String>,
    pub primary_key: Vec<String>,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberSum {
    pub bytes: u64,
    pub sha256: String,
}

/// A table or column name as the schema discovery returns it; anything else in a manifest is
/// refused, so names are safe in member names and (quoted) in SQL.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

pub fn table_member(table: &str) -> String {
    format!("{TABLE_PREFIX}{table}{TABLE_SUFFIX}")
}

pub fn file_member(file: &str) -> String {
    format!("{FILE_PREFIX}{file}")
}

/// What a member name stands for; `None` for any name a backup never writes (`../x`, `/etc/…`,
/// `tables/a/b.jsonl`, unknown files).
#[derive(Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Manifest,
    Table(&'a str),
    File(&'a str),
}

pub fn classify(name: &str) -> Option<Member<'_>> {
    if name == MANIFEST_MEMBER {
        return Some(Member::Manifest);
    }
    if let Some(table) = name
        .strip_prefix(TABLE_PREFIX)
        .and_then(|rest| rest.strip_suffix(TABLE_SUFFIX))
    {
        return is_identifier(table).then_some(Member::Table(table));
    }
    let file = name.strip_prefix(FILE_PREFIX)?;
    DATA_FILES
        .iter()
        .find(|known| **known == file)
        .map(|known| Member::File(known))
}

impl Manifest {
    /// The manifest's own consistency: names are identifiers, and its members are exactly the
    /// tables and files it lists.
    pub fn check(&self) -> Result<(), String> {
        if self.format != FORMAT_NAME {
            return Err(format!(
                "not an opencoder backup (format {:?})",
                self.format
            ));
        }
        if self.format_version != FORMAT_VERSION {
            return Err(format!(
                "archive format {} is not the one this opencoder reads ({FORMAT_VERSION})",
                self.format_version
            ));
        }
        let mut expected: Vec<String> = Vec::new();
        for table in &self.tables {
            if !is_identifier(&table.name)
                || !table
                    .columns
                    .iter()
                    .chain(&table.primary_key)
                    .all(|c| is_identifier(c))
            {
                return Err(format!(
                    "table {:?} has a name that is not an identifier",
                    table.name
                ));
            }
            expected.push(table_member(&table.name));
        }
        for file in &self.files {
            if !DATA_FILES.contains(&file.as_str()) {
                return Err(format!("unknown data file {file:?}"));
            }
            expected.push(file_member(file));
        }
        expected.sort();
        let listed: Vec<String> = self.members.keys().cloned().collect();
        if expected != listed {
            return Err(
                "the manifest's checksums do not cover exactly its tables and files".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_names_a_backup_writes_are_members() {
        assert_eq!(classify("manifest.json"), Some(Member::Manifest));
        assert_eq!(
            classify("tables/pad_events.jsonl"),
            Some(Member::Table("pad_events"))
        );
        assert_eq!(
            classify("files/jwt_secret"),
            Some(Member::File("jwt_secret"))
        );
        for bad in [
            "../manifest.json",
            "/etc/passwd",
            "tables/../../x.jsonl",
            "tables/a/b.jsonl",
            "tables/.jsonl",
            "tables/users.json",
            "files/../jwt_secret",
            "files/opencoder.db",
            "./manifest.json",
        ] {
            assert_eq!(classify(bad), None, "{bad}");
        }
    }
}
