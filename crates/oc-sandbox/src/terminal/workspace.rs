//! Which files may be placed in a session's workspace (names, count, size), as one tar.

use std::time::{SystemTime, UNIX_EPOCH};

use super::TerminalLimits;
use crate::{validate_file_name, SandboxError, SourceFile, MAX_FILES};

/// Owner of the workspace files in a container (the sandbox user).
const SANDBOX_UID: u64 = 65534;

/// Checks the files (names, count, size) and builds the tar written into the workspace.
pub(super) fn workspace_tar(
    files: &[SourceFile],
    limits: &TerminalLimits,
) -> Result<Vec<u8>, SandboxError> {
    if files.len() > MAX_FILES {
        return Err(SandboxError::TooLarge {
            what: "file count".into(),
            limit: MAX_FILES as u64,
            actual: files.len() as u64,
        });
    }
    let mut seen = std::collections::HashSet::new();
    for f in files {
        validate_file_name(&f.name)?;
        if !seen.insert(f.name.as_str()) {
            return Err(SandboxError::InvalidRequest(format!(
                "duplicate file name {:?}",
                f.name
            )));
        }
    }
    let total: u64 = files.iter().map(|f| f.content.len() as u64).sum();
    let limit = limits
        .max_files_bytes
        .min(limits.tmpfs_mb * 1024 * 1024 / 2);
    if total > limit {
        return Err(SandboxError::TooLarge {
            what: "files".into(),
            limit,
            actual: total,
        });
    }
    let mtime = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1);
    let mut b = tar::Builder::new(Vec::with_capacity(
        total as usize + files.len() * 1024 + 1024,
    ));
    for f in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(SANDBOX_UID);
        h.set_gid(SANDBOX_UID);
        h.set_mtime(mtime);
        h.set_size(f.content.len() as u64);
        // Names were validated (single segment, no '..'): every entry stays in the workspace.
        b.append_data(&mut h, &f.name, &f.content[..])
            .map_err(|e| SandboxError::Internal(format!("building the files archive: {e}")))?;
    }
    b.into_inner()
        .map_err(|e| SandboxError::Internal(format!("building the files archive: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_tar_checks_names_and_size() {
        let limits = TerminalLimits {
            max_files_bytes: 10,
            ..TerminalLimits::default()
        };
        assert!(workspace_tar(&[SourceFile::new("../x", "a")], &limits).is_err());
        assert!(workspace_tar(&[SourceFile::new("a", "0123456789x")], &limits).is_err());
        let t = workspace_tar(&[SourceFile::new("main.py", "print(1)")], &limits).unwrap();
        let mut a = tar::Archive::new(&t[..]);
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, vec!["main.py"]);
    }
}
