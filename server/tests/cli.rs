//! The real `opencoder` binary: `--version`, `migrate` (and `--dry-run`), `audit` (listing,
//! filters, `--verify` against a tampered row), `doctor`, `backup` and `restore`, upgrading a
//! database of the first released schema, refusing a database newer than the binary, and the
//! production refusal to serve with a weak secret.
//!
//! Every child runs with a cleared environment and a temporary working directory, so neither the
//! developer's shell nor a stray `.env` can change what is tested.

mod common;
mod redis_support;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_opencoder");
const STRONG_SECRET: &str = "8c1f4e7a2b5d9e0f3a6c8b1d4e7f0a2c5e8b1d3f6a9c2e5f8b0d3a6c9e1f4a7b";

/// `opencoder <args>` with only `vars` in its environment, run in `dir`.
fn command(dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    cmd.env_clear()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

fn run(dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    command(dir, vars, args).output().expect("run opencoder")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A temporary DATA_DIR (inside a temporary working directory).
struct Scratch {
    dir: tempfile::TempDir,
    data: String,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data").display().to_string();
        Scratch { dir, data }
    }

    fn run(&self, extra: &[(&str, &str)], args: &[&str]) -> Output {
        let mut vars = vec![("DATA_DIR", self.data.as_str())];
        vars.extend_from_slice(extra);
        run(self.dir.path(), &vars, args)
    }

    fn db_path(&self) -> std::path::PathBuf {
        Path::new(&self.data).join("opencoder.db")
    }
}

/// The server binary on an ephemeral loopback port, stopped with SIGTERM on drop.
struct Server {
    child: tokio::process::Child,
    base: String,
}

impl Server {
    async fn start(scratch: &Scratch) -> Server {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.env_clear()
            .current_dir(scratch.dir.path())
            .env("DATA_DIR", &scratch.data)
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("start the server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                let Ok(event) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if event["message"] == "opencoder listening" {
                    return event["addr"].as_str().expect("addr field").to_string();
                }
            }
            panic!("the server exited before listening");
        })
        .await
        .expect("the server starts within 30 s");
        // Keep draining the log so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server {
            child,
            base: format!("http://{addr}"),
        }
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let mut req = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap()
    }

    /// SIGTERM, then wait for the graceful shutdown.
    async fn stop(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("stops")
            .unwrap();
        assert!(status.success(), "graceful shutdown exits 0: {status}");
    }
}

#[test]
fn version_prints_the_package_version() {
    let scratch = Scratch::new();
    let out = scratch.run(&[], &["--version"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("opencoder {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn migrate_creates_and_migrates_a_fresh_data_dir() {
    let scratch = Scratch::new();
    let out = scratch.run(&[], &["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout(&out).contains("migrations applied"));
    assert!(scratch.db_path().exists());
    assert!(
        !Path::new(&scratch.data).join("jwt_secret").exists(),
        "migrate needs no signing secret and generates none"
    );
    let again = scratch.run(&[], &["migrate"]);
    assert!(again.status.success(), "idempotent: {}", text(&again));
    // A production config with no secret may still migrate (secrets may come later).
    let prod = scratch.run(&[("OPENCODER_ENV", "production")], &["migrate"]);
    assert!(prod.status.success(), "{}", text(&prod));
}

#[test]
fn audit_refuses_a_missing_database() {
    let scratch = Scratch::new();
    for args in [&["audit"][..], &["audit", "--verify"][..]] {
        let out = scratch.run(&[], args);
        assert!(!out.status.success());
        assert!(text(&out).contains("no database"), "{}", text(&out));
    }
    assert!(
        !scratch.db_path().exists(),
        "audit never creates a database"
    );
}

#[test]
fn audit_rejects_bad_arguments() {
    let scratch = Scratch::new();
    assert!(scratch.run(&[], &["migrate"]).status.success());
    for args in [
        &["audit", "--since", "yesterday"][..],
        &["audit", "--limit", "-1"][..],
        &["audit", "--user", "alice"][..],
        &["audit", "--verify", "--action", "user.signup"][..],
    ] {
        let out = scratch.run(&[], args);
        assert!(!out.status.success(), "{args:?}");
    }
    let ok = scratch.run(&[], &["audit", "--since", "24h"]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(stdout(&ok).contains("0 rows"));
}

#[test]
fn admin_refuses_a_missing_database_and_bad_arguments_and_grants_on_a_migrated_one() {
    let scratch = Scratch::new();
    let missing = scratch.run(&[], &["admin", "list-admins"]);
    assert!(!missing.status.success());
    assert!(text(&missing).contains("no database"), "{}", text(&missing));
    assert!(
        !scratch.db_path().exists(),
        "admin never creates a database"
    );

    assert!(scratch.run(&[], &["migrate"]).status.success());
    for args in [
        &["admin"][..],
        &["admin", "grant"][..],
        &["admin", "signup", "sometimes"][..],
        &["admin", "users", "--limit", "3"][..],
        &["admin", "grant", "Nobody"][..],
        &["admin", "revoke", "#424242"][..],
    ] {
        let out = scratch.run(&[], args);
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
    }
    let mode = scratch.run(&[], &["admin", "signup"]);
    assert_eq!(stdout(&mode).trim(), "sign-up is open", "{}", text(&mode));
    let set = scratch.run(&[], &["admin", "signup", "invite-only"]);
    assert!(set.status.success(), "{}", text(&set));
    let mode = scratch.run(&[], &["admin", "signup"]);
    assert_eq!(stdout(&mode).trim(), "sign-up is invite-only");
    let empty = scratch.run(&[], &["admin", "list-admins"]);
    assert!(empty.status.success());
    assert_eq!(
        stdout(&empty).lines().count(),
        1,
        "only the header: {}",
        stdout(&empty)
    );
    let audit = scratch.run(&[], &["audit", "--action", "admin.signup.mode", "--json"]);
    let rows: Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["user_agent"], "opencoder admin");
}

#[tokio::test]
async fn audit_lists_filters_and_verifies_then_detects_tampering() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch).await;
    let mut users = Vec::new();
    for name in ["Ada", "Grace", "Edsger"] {
        let body = server
            .post("/api/auth/guest", None, json!({ "name": name }))
            .await;
        users.push((
            body["user"]["id"].as_i64().unwrap(),
            body["token"].as_str().unwrap().to_string(),
        ));
    }
    server
        .post("/api/auth/logout-all", Some(&users[1].1), json!({}))
        .await;
    server.stop().await;

    // Table by default, newest rows last.
    let table = scratch.run(&[], &["audit"]);
    assert!(table.status.success(), "{}", text(&table));
    let listing = stdout(&table);
    assert!(
        listing.lines().next().unwrap().starts_with("ID"),
        "{listing}"
    );
    assert!(
        listing.contains("user.signup") && listing.contains("user.logout_all"),
        "{listing}"
    );
    assert!(listing.contains("127.0.0.1"), "{listing}");
    assert!(listing.contains("4 rows"), "{listing}");

    // --action … --json: only those rows, as JSON.
    let json_out = scratch.run(&[], &["audit", "--action", "user.signup", "--json"]);
    assert!(json_out.status.success(), "{}", text(&json_out));
    let rows: Vec<Value> = serde_json::from_slice(&json_out.stdout).expect("a JSON array");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["action"] == "user.signup"));
    assert_eq!(
        rows.iter()
            .map(|r| r["user_id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        users.iter().map(|u| u.0).collect::<Vec<_>>()
    );
    assert!(rows
        .iter()
        .all(|r| r["ip"] == "127.0.0.1" && r["hash"].as_str().is_some_and(|h| h.len() == 64)));

    let by_user = scratch.run(&[], &["audit", "--user", &users[1].0.to_string(), "--json"]);
    let rows: Vec<Value> = serde_json::from_slice(&by_user.stdout).unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["user.signup", "user.logout_all"]
    );
    let limited = scratch.run(&[], &["audit", "--limit", "1", "--json", "--since", "1h"]);
    let rows: Vec<Value> = serde_json::from_slice(&limited.stdout).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["action"], "user.logout_all");

    let verified = scratch.run(&[], &["audit", "--verify"]);
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(stdout(&verified).starts_with("OK"), "{}", text(&verified));
    assert!(stdout(&verified).contains("4 rows"), "{}", text(&verified));

    // Behind the triggers' back: drop the guard and rewrite row 2's target.
    let url = format!("sqlite://{}", scratch.db_path().display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET target = '999' WHERE id = 2")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let broken = scratch.run(&[], &["audit", "--verify"]);
    assert!(
        !broken.status.success(),
        "a tampered chain must fail: {}",
        text(&broken)
    );
    let report = text(&broken);
    assert!(report.contains("row 2"), "{report}");
    assert!(
        !report.contains("row 3") && !report.contains("row 4"),
        "only the first broken row: {report}"
    );
}

#[test]
fn production_refuses_to_serve_with_a_weak_secret() {
    let scratch = Scratch::new();
    let base = [("HOST", "127.0.0.1"), ("PORT", "0")];
    let a64 = "a".repeat(64);
    for env_var in ["OPENCODER_ENV", "NODE_ENV"] {
        for secret in [
            None,
            Some("short"),
            Some("changeme"),
            Some(a64.as_str()),
            Some("   "),
        ] {
            let mut vars = base.to_vec();
            vars.push((env_var, "production"));
            if let Some(s) = secret {
                vars.push(("JWT_SECRET", s));
            }
            let mut child = command(scratch.dir.path(), &vars, &["serve"])
                .env("DATA_DIR", &scratch.data)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // A refused start exits at once; a started server would still be running.
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                if std::time::Instant::now() > deadline {
                    child.kill().unwrap();
                    panic!("{env_var}=production with JWT_SECRET={secret:?} started serving");
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            let out = child.wait_with_output().unwrap();
            assert!(!status.success(), "{env_var} {secret:?}");
            let message = text(&out);
            assert!(
                message.contains("JWT_SECRET"),
                "{env_var} {secret:?}: {message}"
            );
        }
    }
    // Nothing was created by a refused start.
    assert!(!scratch.db_path().exists());
}

#[test]
fn configuration_errors_name_the_variable() {
    let scratch = Scratch::new();
    for (var, value) in [
        ("PORT", "http"),
        ("TRUSTED_PROXIES", "everyone"),
        ("COOKIE_DOMAIN", "a; Secure"),
    ] {
        for args in [&["serve"][..], &["doctor"][..], &["audit"][..]] {
            let out = scratch.run(&[(var, value)], args);
            assert!(!out.status.success(), "{var} {args:?}");
            assert!(text(&out).contains(var), "{var} {args:?}: {}", text(&out));
        }
    }
}

#[test]
fn doctor_passes_on_a_healthy_dev_config_and_never_prints_the_secret() {
    let scratch = Scratch::new();
    let fresh = scratch.run(&[("JWT_SECRET", STRONG_SECRET)], &["doctor"]);
    assert!(
        fresh.status.success(),
        "a fresh data dir is not a failure: {}",
        text(&fresh)
    );

    assert!(scratch.run(&[], &["migrate"]).status.success());
    let out = scratch.run(&[("JWT_SECRET", STRONG_SECRET)], &["doctor"]);
    let report = stdout(&out);
    assert!(out.status.success(), "{}", text(&out));
    for check in [
        "config",
        "production",
        "jwt secret",
        "data dir",
        "database",
        "node",
        "cluster",
        "sso",
        "audit chain",
    ] {
        let line = report
            .lines()
            .find(|l| l.contains(&format!("] {check} ")))
            .unwrap_or_else(|| panic!("no {check} check: {report}"));
        assert!(line.starts_with("[ ok ]"), "{line}");
    }
    assert!(report.contains("development mode"));
    assert!(report.contains("JWT_SECRET=***"));
    assert!(!text(&out).contains(STRONG_SECRET), "the secret leaked");
    assert!(report.contains("0 failure(s)"));
}

#[test]
fn doctor_fails_on_a_production_config_the_server_would_refuse() {
    let scratch = Scratch::new();
    let out = scratch.run(
        &[("OPENCODER_ENV", "production"), ("JWT_SECRET", "changeme")],
        &["doctor"],
    );
    assert!(!out.status.success());
    let report = stdout(&out);
    let line = report
        .lines()
        .find(|l| l.contains("] production "))
        .expect("production check");
    assert!(
        line.starts_with("[FAIL]") && line.contains("JWT_SECRET"),
        "{line}"
    );
    assert!(
        report.contains("ALLOWED_ORIGINS"),
        "production warnings are listed: {report}"
    );
    assert!(
        !Path::new(&scratch.data).exists(),
        "doctor diagnoses, it does not create"
    );
}

#[tokio::test]
async fn backup_of_a_running_server_restores_through_the_binary_and_refuses_a_non_empty_target() {
    let source = Scratch::new();
    let server = Server::start(&source).await;
    let ada = server
        .post("/api/auth/guest", None, json!({ "name": "Ada" }))
        .await;
    let token = ada["token"].as_str().unwrap().to_string();
    let archive = source.dir.path().join("nightly.tar.gz");
    let archive_arg = archive.display().to_string();
    let out = source.run(&[], &["backup", "--output", &archive_arg]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains("backup written to") && stdout(&out).contains("jwt_secret"),
        "{}",
        text(&out)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the archive holds the secret: owner-only");
    }
    server.stop().await;

    let target = Scratch::new();
    let restored = target.run(&[], &["restore", &archive_arg]);
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(
        stdout(&restored).contains("audit chain verified"),
        "{}",
        text(&restored)
    );
    assert_eq!(
        std::fs::read(Path::new(&target.data).join("jwt_secret")).unwrap(),
        std::fs::read(Path::new(&source.data).join("jwt_secret")).unwrap(),
        "the generated secret came along"
    );
    let again = target.run(&[], &["restore", &archive_arg]);
    assert!(!again.status.success(), "a non-empty target is refused");
    assert!(text(&again).contains("--force"), "{}", text(&again));
    let forced = target.run(&[], &["restore", "--force", &archive_arg]);
    assert!(forced.status.success(), "{}", text(&forced));
    let verified = target.run(&[], &["audit", "--verify"]);
    assert!(
        verified.status.success() && stdout(&verified).starts_with("OK"),
        "{}",
        text(&verified)
    );

    // The restored server knows Ada's session (same secret, same epoch).
    let server = Server::start(&target).await;
    let me: Value = reqwest::Client::new()
        .get(format!("{}/api/auth/me", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["name"], "Ada");
    server.stop().await;
}

#[test]
fn restore_help_says_what_force_does() {
    let scratch = Scratch::new();
    let out = scratch.run(&[], &["restore", "--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    assert!(
        help.contains("--force") && help.contains("Wipe the target first"),
        "{help}"
    );
    let missing = scratch.run(&[], &["restore", "no-such-archive.tar.gz"]);
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("no-such-archive.tar.gz"),
        "{}",
        text(&missing)
    );
    assert!(
        !Path::new(&scratch.data).exists(),
        "a refused restore writes nothing"
    );
}

/// The first released schema's fixture (see `fixtures/first-schema/README.md`) as `scratch`'s
/// database.
async fn load_first_schema(scratch: &Scratch) {
    use sqlx::Connection;
    std::fs::create_dir_all(&scratch.data).unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(scratch.db_path())
        .create_if_missing(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::raw_sql(include_str!("fixtures/first-schema/opencoder-0001.sql"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

async fn applied_versions(scratch: &Scratch) -> Vec<i64> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", scratch.db_path().display()))
        .await
        .unwrap();
    let versions = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    versions
}

#[tokio::test]
async fn a_database_of_the_first_schema_upgrades_and_keeps_its_data() {
    let scratch = Scratch::new();
    load_first_schema(&scratch).await;
    assert_eq!(applied_versions(&scratch).await, [1]);

    let plan = scratch.run(&[], &["migrate", "--dry-run"]);
    assert!(plan.status.success(), "{}", text(&plan));
    let listed: Vec<String> = stdout(&plan).lines().map(str::to_string).collect();
    assert_eq!(
        listed.first().map(String::as_str),
        Some("would apply 0003 collab"),
        "{listed:?}"
    );
    assert!(
        listed.iter().any(|l| l == "would apply 0007 file ids"),
        "{listed:?}"
    );
    assert!(!listed.iter().any(|l| l.contains(" 0001 ")), "{listed:?}");
    assert_eq!(
        applied_versions(&scratch).await,
        [1],
        "a dry run changes nothing"
    );

    let migrated = scratch.run(&[], &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    assert_eq!(applied_versions(&scratch).await.len(), listed.len() + 1);
    let again = scratch.run(&[], &["migrate", "--dry-run"]);
    assert_eq!(
        stdout(&again).trim(),
        "nothing to apply: the database is up to date"
    );
    let verified = scratch.run(&[], &["audit", "--verify"]);
    assert!(
        verified.status.success() && stdout(&verified).contains("3 rows"),
        "{}",
        text(&verified)
    );

    // Through the API: both accounts sign in with their keys, the pad, its members and roles,
    // and the document (written when texts were keyed by file name) are all there.
    let server = Server::start(&scratch).await;
    let ada = server
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": "ocr_00112233445566778899aabbccddeeff00112233" }),
        )
        .await;
    assert_eq!(ada["user"]["name"], "Ada");
    let bob = server
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": "ocr_445566778899aabbccddeeff0011223344556677" }),
        )
        .await;
    assert_eq!(bob["user"]["name"], "Bob");
    let client = reqwest::Client::new();
    let get = |path: &str, token: &Value| {
        client
            .get(format!("{}{path}", server.base))
            .bearer_auth(token.as_str().unwrap())
            .send()
    };
    let pad: Value = get("/api/pads/first-schema-pad", &bob["token"])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pad["pad"]["title"], "Legacy interview", "{pad}");
    assert_eq!(pad["myRole"], "candidate", "{pad}");
    let file: Value = get("/api/pads/first-schema-pad/files/1", &ada["token"])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        file["content"], "print('written by the first schema')\n",
        "{file}"
    );
    server.stop().await;
    let verified = scratch.run(&[], &["audit", "--verify"]);
    assert!(
        verified.status.success(),
        "the upgraded chain still verifies: {}",
        text(&verified)
    );
}

#[tokio::test]
async fn migrate_dry_run_on_postgres_lists_and_creates_nothing() {
    let url = common::postgres::TempPostgres::shared()
        .create_database()
        .await;
    let scratch = Scratch::new();
    let plan = scratch.run(&[("DATABASE_URL", &url)], &["migrate", "--dry-run"]);
    assert!(plan.status.success(), "{}", text(&plan));
    assert!(
        stdout(&plan).starts_with("would apply 0001 schema"),
        "{}",
        text(&plan)
    );
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let tables: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert_eq!(tables, 0, "a dry run creates nothing");
    assert!(scratch
        .run(&[("DATABASE_URL", &url)], &["migrate"])
        .status
        .success());
    let after = scratch.run(&[("DATABASE_URL", &url)], &["migrate", "--dry-run"]);
    assert_eq!(
        stdout(&after).trim(),
        "nothing to apply: the database is up to date",
        "{}",
        text(&after)
    );
}

#[tokio::test]
async fn a_database_newer_than_the_binary_is_refused_by_serve_and_migrate_and_failed_by_doctor() {
    let scratch = Scratch::new();
    assert!(scratch.run(&[], &["migrate"]).status.success());
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", scratch.db_path().display()))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999, 'from a newer opencoder', 1, X'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let doctor = scratch.run(&[("JWT_SECRET", STRONG_SECRET)], &["doctor"]);
    assert!(!doctor.status.success());
    let report = stdout(&doctor);
    let line = report
        .lines()
        .find(|l| l.contains("] database "))
        .expect("database check");
    assert!(
        line.starts_with("[FAIL]") && line.contains("newer migrations [99999]"),
        "{line}"
    );

    for args in [&["migrate"][..], &["migrate", "--dry-run"][..]] {
        let out = scratch.run(&[], args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            text(&out).contains("[99999]") && text(&out).contains("newer opencoder"),
            "{args:?}: {}",
            text(&out)
        );
    }
    let mut child = command(
        scratch.dir.path(),
        &[
            ("DATA_DIR", scratch.data.as_str()),
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
        ],
        &["serve"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the server started on a database newer than itself");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let message = text(&out);
    assert!(
        message.contains("[99999]") && message.contains("downgrades are not supported"),
        "{message}"
    );
    assert_eq!(
        applied_versions(&scratch).await.last(),
        Some(&99999),
        "nothing was applied or removed"
    );
}

#[tokio::test]
async fn a_backup_of_the_first_schema_restores_at_that_schema_and_upgrades_but_not_across_backends()
{
    let old = Scratch::new();
    load_first_schema(&old).await;
    let archive = old.dir.path().join("old.tar.gz").display().to_string();
    let out = old.run(&[], &["backup", "--output", &archive]);
    assert!(
        out.status.success() && stdout(&out).contains("schema version 1"),
        "{}",
        text(&out)
    );

    // Same backend: restored at version 1, then upgraded by the migrations after it.
    let target = Scratch::new();
    let restored = target.run(&[], &["restore", &archive]);
    assert!(restored.status.success(), "{}", text(&restored));
    let plan = target.run(&[], &["migrate", "--dry-run"]);
    assert_eq!(
        stdout(&plan).trim(),
        "nothing to apply: the database is up to date",
        "{}",
        text(&plan)
    );
    let server = Server::start(&target).await;
    let ada = server
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": "ocr_00112233445566778899aabbccddeeff00112233" }),
        )
        .await;
    assert_eq!(ada["user"]["name"], "Ada");
    server.stop().await;

    // PostgreSQL never had that schema: refused, saying how to get there.
    let url = common::postgres::TempPostgres::shared()
        .create_database()
        .await;
    let refused = Scratch::new().run(&[("DATABASE_URL", &url)], &["restore", &archive]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("start this opencoder on it once to upgrade it"),
        "{}",
        text(&refused)
    );
}

/// Several nodes: doctor checks Redis answers, names this node, and lists the live nodes (the
/// holders of unexpired pad leases) with the pads each owns; a Redis that does not answer fails.
#[tokio::test]
async fn doctor_reports_redis_this_node_and_who_owns_which_pads() {
    let mut redis = redis_support::RedisServer::start();
    let scratch = Scratch::new();
    assert!(scratch.run(&[], &["migrate"]).status.success());
    let db = opencoder::db::Db::connect(&format!("sqlite://{}", scratch.db_path().display()))
        .await
        .unwrap();
    let owner = opencoder::auth::store::create(&db, "Ada", "hash")
        .await
        .unwrap()
        .id;
    let files = [opencoder::pads::files_store::NewFile {
        name: "main.py".into(),
        language: "python".into(),
    }];
    let new = opencoder::pads::store::NewPad {
        slug: "owned",
        title: "T",
        language: "python",
        kind: "sandbox",
        owner,
    };
    let pad = opencoder::pads::store::create_with_files(&db, &new, &files)
        .await
        .unwrap()
        .0
        .id;
    assert!(
        opencoder::cluster::store::acquire(&db, pad, "eu-2.4f1c", 60_000)
            .await
            .unwrap()
            .is_some()
    );
    db.close().await;

    let url = redis.url();
    let vars = [
        ("JWT_SECRET", STRONG_SECRET),
        ("REDIS_URL", url.as_str()),
        ("NODE_ID", "eu-1"),
    ];
    let out = scratch.run(&vars, &["doctor"]);
    let report = stdout(&out);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        report.contains("[ ok ] cluster") && report.contains("Redis answers"),
        "{report}"
    );
    assert!(report.contains("node id eu-1"), "{report}");
    assert!(report.contains("1 live node(s) own 1 pad(s)"), "{report}");
    assert!(
        report.contains(&format!("node eu-2 (process 4f1c): pads {}", pad.0)),
        "{report}"
    );

    redis.stop();
    let out = scratch.run(&vars, &["doctor"]);
    assert!(
        !out.status.success(),
        "a silent Redis is a failure: {}",
        text(&out)
    );
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with("[FAIL] cluster")),
        "{}",
        stdout(&out)
    );
}
