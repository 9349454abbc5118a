//! The local development fallback: a shell on a host PTY in a private temp dir, with an empty
//! environment (PATH, HOME = the session dir, TERM, LANG), its own session and process group,
//! and rlimits on core dumps, file size and open files. **NO ISOLATION**: the server only uses
//! it when the operator explicitly enabled it, and flags it loudly.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

use super::workspace::workspace_tar;
use super::{
    Shell, TermSize, TerminalBackend, TerminalEvent, TerminalLimits, TerminalSession, EVENT_BUFFER,
    PROMPT, READ_CHUNK, WRITE_TIMEOUT,
};
use crate::docker::lockdown::PATH;
use crate::docker::DockerHost;
use crate::{BackendKind, SandboxError, SourceFile};

/// Open files the local shell and its children may have.
const LOCAL_NOFILE: u64 = 256;

/// Configuration of the local fallback.
#[derive(Debug, Clone)]
pub struct LocalTerminalConfig {
    /// PATH of the shell (its only way to find programs).
    pub path: String,
    /// Where the private session directories are created (default: the system temp dir).
    pub temp_root: Option<PathBuf>,
}

impl Default for LocalTerminalConfig {
    fn default() -> Self {
        Self {
            path: PATH.into(),
            temp_root: None,
        }
    }
}

/// Shells on the host (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct LocalTerminals {
    cfg: LocalTerminalConfig,
}

impl LocalTerminals {
    pub fn new(cfg: LocalTerminalConfig) -> Self {
        Self { cfg }
    }
}

#[async_trait]
impl TerminalBackend for LocalTerminals {
    fn kind(&self) -> BackendKind {
        BackendKind::Local
    }

    async fn check(&self) -> Result<(), SandboxError> {
        Ok(())
    }

    async fn start(
        &self,
        limits: &TerminalLimits,
        _key: &str,
        files: &[SourceFile],
        size: TermSize,
    ) -> Result<(TerminalSession, mpsc::Receiver<TerminalEvent>), SandboxError> {
        start_local(&self.cfg, limits, files, size)
    }

    /// Local shells have no containers: each dies with its session.
    async fn containers(&self, _key: Option<&str>) -> Result<Vec<String>, SandboxError> {
        Ok(Vec::new())
    }

    async fn remove_all(&self) -> Result<usize, SandboxError> {
        Ok(0)
    }

    fn hosts(&self) -> Vec<&DockerHost> {
        Vec::new()
    }
}

struct LocalShell {
    master: Arc<tokio::io::unix::AsyncFd<OwnedFd>>,
    pid: libc::pid_t,
    dir: tempfile::TempDir,
    limits: TerminalLimits,
}

fn set_nonblocking(fd: i32) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn winsize(size: TermSize) -> libc::winsize {
    libc::winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl LocalShell {
    fn workspace(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    async fn write_all(&self, bytes: &[u8]) -> Result<(), SandboxError> {
        let mut rest = bytes;
        let deadline = tokio::time::Instant::now() + WRITE_TIMEOUT;
        while !rest.is_empty() {
            let mut guard = tokio::time::timeout_at(deadline, self.master.writable())
                .await
                .map_err(|_| {
                    SandboxError::Unavailable("the terminal is not reading its input".into())
                })?
                .map_err(|e| SandboxError::Unavailable(format!("terminal input: {e}")))?;
            let res = guard.try_io(|fd| {
                // SAFETY: write from a valid buffer to a descriptor we own.
                let n = unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match res {
                Ok(Ok(n)) => rest = &rest[n..],
                Ok(Err(e)) => {
                    return Err(SandboxError::Unavailable(format!("terminal input: {e}")))
                }
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    fn resize_now(&self, size: TermSize) -> Result<(), SandboxError> {
        let ws = winsize(size);
        // SAFETY: TIOCSWINSZ with a valid winsize on our PTY master.
        if unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
            return Err(SandboxError::Internal(format!(
                "terminal resize: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    fn kill(&self) {
        // SAFETY: signalling the shell's own process group (it called setsid, pgid == pid).
        unsafe {
            libc::killpg(self.pid, libc::SIGKILL);
        }
    }
}

#[async_trait]
impl Shell for LocalShell {
    async fn write(&self, bytes: &[u8]) -> Result<(), SandboxError> {
        self.write_all(bytes).await
    }

    async fn resize(&self, size: TermSize) -> Result<(), SandboxError> {
        self.resize_now(size)
    }

    async fn sync_files(&self, files: &[SourceFile]) -> Result<(), SandboxError> {
        write_local_files(&self.workspace(), files, &self.limits)
    }

    async fn end(&self) {
        self.kill();
    }

    fn end_in_background(&self) {
        self.kill();
    }

    fn container_id(&self) -> Option<&str> {
        None
    }
}

fn write_local_files(
    dir: &Path,
    files: &[SourceFile],
    limits: &TerminalLimits,
) -> Result<(), SandboxError> {
    // Same checks as the container's workspace.
    workspace_tar(files, limits)?;
    for f in files {
        std::fs::write(dir.join(&f.name), &f.content)
            .map_err(|e| SandboxError::Internal(format!("writing {}: {e}", f.name)))?;
    }
    Ok(())
}

fn start_local(
    cfg: &LocalTerminalConfig,
    limits: &TerminalLimits,
    files: &[SourceFile],
    size: TermSize,
) -> Result<(TerminalSession, mpsc::Receiver<TerminalEvent>), SandboxError> {
    use std::os::unix::process::CommandExt;
    let internal = |what: &str, e: std::io::Error| SandboxError::Internal(format!("{what}: {e}"));
    let dir = match &cfg.temp_root {
        Some(root) => tempfile::Builder::new().prefix("oc-term-").tempdir_in(root),
        None => tempfile::Builder::new().prefix("oc-term-").tempdir(),
    }
    .map_err(|e| internal("terminal directory", e))?;
    let work = dir.path().join("work");
    std::fs::create_dir(&work).map_err(|e| internal("terminal directory", e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700));
    }
    write_local_files(&work, files, limits)?;

    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let ws = winsize(size);
    // SAFETY: openpty with valid out-pointers and a winsize; no name buffer, default termios.
    if unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    } != 0
    {
        return Err(internal("openpty", std::io::Error::last_os_error()));
    }
    // SAFETY: openpty returned two fresh descriptors that we now own.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // SAFETY: FD_CLOEXEC on our master so the shell does not inherit it.
    unsafe {
        libc::fcntl(master.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
    }
    let shell = if Path::new("/bin/bash").exists() {
        "/bin/bash"
    } else {
        "/bin/sh"
    };
    let mut cmd = std::process::Command::new(shell);
    if shell == "/bin/bash" {
        cmd.args(["--noprofile", "--norc", "-i"]);
    } else {
        cmd.arg("-i");
    }
    let stdio = |fd: &OwnedFd| fd.try_clone().map(std::process::Stdio::from);
    cmd.env_clear()
        .env("PATH", &cfg.path)
        .env("HOME", dir.path())
        .env("TMPDIR", dir.path())
        .env("LANG", "C.UTF-8")
        .env("TERM", "xterm-256color")
        .env("PS1", PROMPT)
        .current_dir(&work)
        .stdin(stdio(&slave).map_err(|e| internal("pty", e))?)
        .stdout(stdio(&slave).map_err(|e| internal("pty", e))?)
        .stderr(stdio(&slave).map_err(|e| internal("pty", e))?);
    let fsize = limits.tmpfs_mb * 1024 * 1024;
    // SAFETY: only async-signal-safe calls (setsid, ioctl, setrlimit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY as _, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            let set = |res, v: u64| {
                let r = libc::rlimit {
                    rlim_cur: v as libc::rlim_t,
                    rlim_max: v as libc::rlim_t,
                };
                libc::setrlimit(res, &r)
            };
            set(libc::RLIMIT_CORE, 0);
            set(libc::RLIMIT_FSIZE, fsize);
            set(libc::RLIMIT_NOFILE, LOCAL_NOFILE);
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| internal("starting the local shell", e))?;
    drop(slave);
    let pid = child.id() as libc::pid_t;
    set_nonblocking(master.as_raw_fd()).map_err(|e| internal("pty", e))?;
    // SAFETY: an OwnedFd keeps its descriptor open and unchanged until the AsyncFd drops it.
    let master = Arc::new(
        unsafe { tokio::io::unix::AsyncFd::register(master) }
            .map_err(|e| internal("pty", e.into()))?,
    );
    tracing::warn!(
        pid,
        dir = %dir.path().display(),
        "LOCAL TERMINAL started: a shell on the HOST without isolation (development only)"
    );
    let (tx, rx) = mpsc::channel(EVENT_BUFFER);
    let reader_master = master.clone();
    let reader = tokio::spawn(async move {
        let mut child = child;
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            let Ok(mut guard) = reader_master.readable().await else {
                break;
            };
            let res = guard.try_io(|fd| {
                // SAFETY: read into a valid buffer from a descriptor we own.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match res {
                // EIO: every slave side is closed (the shell and its children are gone).
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => {
                    if tx
                        .send(TerminalEvent::Output(Bytes::copy_from_slice(&buf[..n])))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(_would_block) => continue,
            }
        }
        let code = tokio::task::spawn_blocking(move || child.wait().ok().and_then(|s| s.code()))
            .await
            .ok()
            .flatten()
            .map(i64::from);
        let _ = tx.send(TerminalEvent::Exited { code }).await;
    });
    let shell = LocalShell {
        master,
        pid,
        dir,
        limits: limits.clone(),
    };
    Ok((
        TerminalSession::new(Box::new(shell), BackendKind::Local, reader),
        rx,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::tests::collect_until;

    #[tokio::test]
    async fn local_session_is_a_pty_in_a_private_dir() {
        let files = [SourceFile::new("a.txt", "local\n")];
        let (session, mut rx) = LocalTerminals::default()
            .start(
                &TerminalLimits::default(),
                "unit-test",
                &files,
                TermSize { cols: 90, rows: 20 },
            )
            .await
            .unwrap();
        assert!(session.is_local());
        session
            .write(b"echo X$(cat a.txt)$(stty size | tr ' ' x) E${JWT_SECRET:-none}\n")
            .await
            .unwrap();
        collect_until(&mut rx, "Xlocal20x90 Enone").await;
        session.close().await;
    }
}
