//! The archive file: a gzip-compressed tar of members written one at a time, each hashed on the
//! way in, with the manifest last. Reading verifies before anything is used: every member name is
//! one a backup writes, every checksum and size matches the manifest, nothing is missing or extra.
//! Members are staged in a private temporary directory (under names of our own, never the
//! archive's), so memory stays bounded and tables can then be read in any order.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::manifest::{self, Manifest, Member, MemberSum};
use super::value::Value;
use super::{BackupError, MAX_MANIFEST_BYTES, MAX_ROW_BYTES};

/// Owner-only: archives carry the signing secret and every account's data.
const PRIVATE_MODE: u32 = 0o600;
/// Bytes read from the archive at a time while staging a member.
const COPY_BUFFER_BYTES: usize = 64 * 1024;

/// Create (or truncate) `path`, readable by its owner only.
pub(crate) fn private_file(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_MODE);
    options.open(path)
}

/// A member being written: a temporary file and the running hash of what went in.
pub struct MemberFile {
    out: BufWriter<File>,
    path: PathBuf,
    hasher: Sha256,
    bytes: u64,
}

impl Write for MemberFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

pub struct ArchiveWriter {
    tar: tar::Builder<GzEncoder<BufWriter<File>>>,
    scratch: tempfile::TempDir,
    sums: BTreeMap<String, MemberSum>,
}

fn header(bytes: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(bytes);
    header.set_mode(PRIVATE_MODE);
    header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
    header
}

impl ArchiveWriter {
    /// Start the archive at `path` (created owner-only); members are staged beside it.
    pub fn create(path: &Path) -> io::Result<ArchiveWriter> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let scratch = tempfile::Builder::new()
            .prefix(".opencoder-backup-")
            .tempdir_in(dir)?;
        let file = private_file(path)?;
        let gz = GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
        Ok(ArchiveWriter {
            tar: tar::Builder::new(gz),
            scratch,
            sums: BTreeMap::new(),
        })
    }

    pub fn member(&self) -> io::Result<MemberFile> {
        let path = self
            .scratch
            .path()
            .join(format!("member-{}", self.sums.len()));
        Ok(MemberFile {
            out: BufWriter::new(private_file(&path)?),
            path,
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    /// Add a finished member under `name` and forget its staging file.
    pub fn append(&mut self, name: &str, member: MemberFile) -> io::Result<()> {
        let MemberFile {
            out,
            path,
            hasher,
            bytes,
        } = member;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        let mut header = header(bytes);
        self.tar
            .append_data(&mut header, name, File::open(&path)?)?;
        std::fs::remove_file(&path)?;
        self.sums.insert(
            name.to_string(),
            MemberSum {
                bytes,
                sha256: hex::encode(hasher.finalize()),
            },
        );
        Ok(())
    }

    /// The checksums of what was appended so far, for the manifest.
    pub fn sums(&self) -> &BTreeMap<String, MemberSum> {
        &self.sums
    }

    /// Write the manifest last and close the archive, synced to disk.
    pub fn finish(mut self, manifest: &Manifest) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(manifest)?;
        let mut header = header(json.len() as u64);
        self.tar
            .append_data(&mut header, manifest::MANIFEST_MEMBER, json.as_slice())?;
        let gz = self.tar.into_inner()?;
        let file = gz.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }
}

/// A verified archive, its members staged on disk.
pub struct Verified {
    pub manifest: Manifest,
    staged: BTreeMap<String, PathBuf>,
    _scratch: tempfile::TempDir,
}

fn bad(why: impl Into<String>) -> BackupError {
    BackupError::BadArchive(why.into())
}

/// Read the whole archive, staging its members, and check it against its manifest. Nothing
/// outside the private staging directory is written.
pub fn open_verified(path: &Path) -> Result<Verified, BackupError> {
    let file = File::open(path).map_err(|e| bad(format!("cannot open {}: {e}", path.display())))?;
    let scratch = tempfile::Builder::new()
        .prefix("opencoder-restore-")
        .tempdir()?;
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::new(file)));
    let mut manifest_text: Option<Vec<u8>> = None;
    let mut staged: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut sums: BTreeMap<String, MemberSum> = BTreeMap::new();
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a backup archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("unreadable archive: {e}")))?;
        let name = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| bad("a member name is not UTF-8"))?;
        let Some(kind) = manifest::classify(&name) else {
            return Err(bad(format!("member {name:?} is not one a backup writes")));
        };
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(bad(format!("member {name:?} is not a regular file")));
        }
        if staged.contains_key(&name) || (kind == Member::Manifest && manifest_text.is_some()) {
            return Err(bad(format!("member {name:?} appears twice")));
        }
        if kind == Member::Manifest {
            let mut text = Vec::new();
            (&mut entry)
                .take(MAX_MANIFEST_BYTES + 1)
                .read_to_end(&mut text)
                .map_err(|e| bad(format!("unreadable manifest: {e}")))?;
            if text.len() as u64 > MAX_MANIFEST_BYTES {
                return Err(bad(format!(
                    "the manifest is larger than {MAX_MANIFEST_BYTES} bytes"
                )));
            }
            manifest_text = Some(text);
            continue;
        }
        let target = scratch.path().join(format!("member-{}", staged.len()));
        let mut out = BufWriter::new(private_file(&target)?);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; COPY_BUFFER_BYTES];
        let mut bytes = 0u64;
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| bad(format!("unreadable member {name:?}: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            bytes += n as u64;
        }
        out.flush()?;
        sums.insert(
            name.clone(),
            MemberSum {
                bytes,
                sha256: hex::encode(hasher.finalize()),
            },
        );
        staged.insert(name, target);
    }
    let text = manifest_text.ok_or_else(|| bad("the archive has no manifest.json"))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| bad(format!("the manifest cannot be read: {e}")))?;
    manifest.check().map_err(bad)?;
    for (name, expected) in &manifest.members {
        match sums.get(name) {
            None => return Err(bad(format!("member {name:?} is missing"))),
            Some(actual) if actual != expected => {
                return Err(BackupError::Checksum {
                    member: name.clone(),
                })
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = sums
        .keys()
        .find(|name| !manifest.members.contains_key(*name))
    {
        return Err(bad(format!("member {extra:?} is not in the manifest")));
    }
    Ok(Verified {
        manifest,
        staged,
        _scratch: scratch,
    })
}

impl Verified {
    /// The rows of `table`'s member, one at a time.
    pub fn rows(&self, table: &str) -> Result<Rows, BackupError> {
        let name = manifest::table_member(table);
        let path = self
            .staged
            .get(&name)
            .ok_or_else(|| bad(format!("no member for table {table}")))?;
        Ok(Rows::new(File::open(path)?, table, MAX_ROW_BYTES))
    }

    /// A data-directory file's bytes (small: a secret or an id).
    pub fn file(&self, name: &str) -> Result<Vec<u8>, BackupError> {
        let path = self
            .staged
            .get(&manifest::file_member(name))
            .ok_or_else(|| bad(format!("no member for file {name}")))?;
        Ok(std::fs::read(path)?)
    }
}

pub struct Rows {
    reader: BufReader<File>,
    table: String,
    line: Vec<u8>,
    max_row_bytes: u64,
}

impl Rows {
    fn new(file: File, table: &str, max_row_bytes: u64) -> Rows {
        Rows {
            reader: BufReader::new(file),
            table: table.to_string(),
            line: Vec::new(),
            max_row_bytes,
        }
    }
}

impl Iterator for Rows {
    type Item = Result<Vec<Value>, BackupError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.line.clear();
        let read = (&mut self.reader)
            .take(self.max_row_bytes + 1)
            .read_until(b'\n', &mut self.line);
        match read {
            Err(e) => Some(Err(e.into())),
            Ok(0) => None,
            Ok(_) if self.line.last() != Some(&b'\n') => Some(Err(bad(format!(
                "a row of {} is cut off or larger than {} bytes",
                self.table, self.max_row_bytes
            )))),
            Ok(_) => Some(
                parse_row(&self.line).map_err(|why| bad(format!("a row of {}: {why}", self.table))),
            ),
        }
    }
}

fn parse_row(line: &[u8]) -> Result<Vec<Value>, String> {
    let cells: Vec<serde_json::Value> = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    cells.into_iter().map(Value::from_json).collect()
}

/// One row as a member line.
pub fn write_row(out: &mut impl Write, cells: &[Value]) -> io::Result<()> {
    let json = serde_json::Value::Array(cells.iter().map(Value::to_json).collect());
    serde_json::to_writer(&mut *out, &json)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(text: &[u8], limit: u64) -> Vec<Result<Vec<Value>, String>> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(text).unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        Rows::new(file, "t", limit)
            .map(|row| row.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn a_row_longer_than_the_limit_or_cut_off_is_refused() {
        let rows = rows_of(b"[1,\"ab\"]\n[2,null]\n", 12);
        assert_eq!(
            rows,
            vec![
                Ok(vec![Value::Int(1), Value::Text("ab".into())]),
                Ok(vec![Value::Int(2), Value::Null])
            ]
        );
        let long = rows_of(b"[1,\"abcdefghijklmnop\"]\n", 12);
        assert!(
            long[0]
                .as_ref()
                .is_err_and(|e| e.contains("larger than 12 bytes")),
            "{long:?}"
        );
        let cut = rows_of(b"[1,2]\n[3,", 12);
        assert!(
            cut[0].is_ok() && cut[1].as_ref().is_err_and(|e| e.contains("cut off")),
            "{cut:?}"
        );
    }
}
