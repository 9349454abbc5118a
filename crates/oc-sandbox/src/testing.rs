//! Coordination between test processes that share one Docker daemon.
//!
//! The daemon-restart test of this crate stops the local Docker daemon for a few seconds, which
//! breaks any other test that uses Docker at that moment (in this or another crate, e.g. the
//! server's exec tests). Tests that use Docker call [`hold_shared_docker_lock`] once (it blocks
//! while a restart test runs, and then holds a shared lock until the process exits); the
//! restart test takes [`exclusive_docker_lock`], which waits until no other test process holds
//! the shared lock. The lock is an `flock` on [`LOCK_PATH`].

use std::fs::File;
use std::sync::OnceLock;

/// The lock file.
pub const LOCK_PATH: &str = "/tmp/opencoder-docker-tests.lock";

/// Holds an `flock` until dropped.
#[derive(Debug)]
pub struct DockerTestLock {
    _file: File,
}

fn lock(kind: libc::c_int) -> std::io::Result<DockerTestLock> {
    use std::os::unix::io::AsRawFd;
    let file = File::options().create(true).append(true).open(LOCK_PATH)?;
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), kind) } == 0 {
            return Ok(DockerTestLock { _file: file });
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Takes (once per process) a shared lock held until the process exits. Blocking.
pub fn hold_shared_docker_lock() {
    static HELD: OnceLock<Option<DockerTestLock>> = OnceLock::new();
    HELD.get_or_init(|| match lock(libc::LOCK_SH) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!("warning: could not take the shared docker test lock {LOCK_PATH}: {e}");
            None
        }
    });
}

/// Takes the exclusive lock (waits for every holder of the shared lock). Blocking.
pub fn exclusive_docker_lock() -> std::io::Result<DockerTestLock> {
    lock(libc::LOCK_EX)
}
