//! A throwaway PostgreSQL server for tests: `initdb` into a temp dir, `postgres` on an ephemeral
//! port on 127.0.0.1 with its unix socket in that dir, one fresh database per test. Run as root,
//! the server runs as the `postgres` user (PostgreSQL refuses root). The server is stopped and its
//! directory removed when the handle is dropped or, for `shared()`, when the test process exits
//! (it watches a pipe from the test process). When PostgreSQL cannot be started the test fails
//! with the reason; it is never skipped.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnection;
use sqlx::Connection;

/// How long a fresh server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The unprivileged account the server runs as when the tests run as root.
const SERVER_USER: &str = "postgres";
/// The superuser `initdb` creates; local connections are trusted.
const SUPERUSER: &str = "opencoder";

/// Stops the server when stdin closes (the handle dropped, or the test process gone), then removes
/// the directory.
const SUPERVISOR: &str = r#"
"$BIN/postgres" -D "$DIR/data" -p "$PORT" -k "$DIR" -c listen_addresses=127.0.0.1 \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 \
  >"$DIR/server.log" 2>&1 &
pid=$!
read -r _
kill -INT "$pid"
wait "$pid"
rm -rf "$DIR"
"#;

pub struct TempPostgres {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
}

static SHARED: OnceLock<TempPostgres> = OnceLock::new();
static NEXT_DB: AtomicU64 = AtomicU64::new(0);

impl TempPostgres {
    /// One server for the whole test process.
    pub fn shared() -> &'static TempPostgres {
        SHARED.get_or_init(TempPostgres::start)
    }

    /// Start a server of its own (stopped on drop).
    pub fn start() -> TempPostgres {
        let bin = server_bin_dir();
        let run_as_other = is_root();
        let dir = tempfile::Builder::new()
            .prefix("oc-pg-")
            .tempdir()
            .expect("temp dir for PostgreSQL")
            .keep();
        if run_as_other {
            let status = Command::new("chown")
                .arg("-R")
                .arg(format!("{SERVER_USER}:"))
                .arg(&dir)
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "cannot hand {} to the {SERVER_USER} user (is the postgresql package installed? run scripts/ensure-postgres.sh)",
                dir.display()
            );
        }
        let initdb = as_server_user(run_as_other, &bin.join("initdb"))
            .args(["-D"])
            .arg(dir.join("data"))
            .args([
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ])
            .output()
            .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let port = free_port();
        let mut child = as_server_user(run_as_other, Path::new("sh"))
            .args(["-c", SUPERVISOR])
            .env("BIN", &bin)
            .env("DIR", &dir)
            .env("PORT", port.to_string())
            .stdin(Stdio::piped())
            .spawn()
            .expect("start postgres");
        let stdin = child.stdin.take();
        let server = TempPostgres {
            port,
            dir,
            child: Some(child),
            stdin,
        };
        server.wait_ready();
        server
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// The postmaster writes "ready" into its pid file once it accepts connections.
    fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let pid_file = self.dir.join("data").join("postmaster.pid");
        loop {
            let status = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if status.lines().any(|line| line.trim() == "ready") {
                return;
            }
            if Instant::now() > deadline {
                let mut log = String::new();
                let _ = std::fs::File::open(self.dir.join("server.log"))
                    .map(|mut f| f.read_to_string(&mut log));
                panic!("PostgreSQL did not start within {START_TIMEOUT:?}; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A new, empty database on this server; returns its URL.
    pub async fn create_database(&self) -> String {
        let name = format!(
            "test_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(&self.url("postgres"))
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create database");
        self.url(&name)
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

fn as_server_user(run_as_other: bool, program: &Path) -> Command {
    if run_as_other {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", SERVER_USER, "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The newest installed server's binaries (Debian: /usr/lib/postgresql/<major>/bin).
fn server_bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!("no PostgreSQL server under /usr/lib/postgresql: run scripts/ensure-postgres.sh (or `make deps-test`)")
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
