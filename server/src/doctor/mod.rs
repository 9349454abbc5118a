//! `opencoder doctor`: a list of named checks, each `ok`, `warn` or `fail`, printed for an
//! operator; any `fail` makes the command exit non-zero.
//!
//! Doctor diagnoses and never repairs: it creates no directory, no secret and no database, and it
//! prints no secret (values are masked as `***`). It reads the same configuration the server
//! does, but reports the production refusals (SPEC §8) as a failed check instead of stopping
//! before it has said anything else.
//!
//! Adding a check: write a function returning a [`Check`] (async if it needs I/O) and push its
//! result in [`run`], in the order an operator would fix things.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

use crate::config::{Config, Mode, SecretSource, JWT_SECRET_FILE, MIN_SECRET_BYTES};
use crate::db::migrations::MigrationStatus;
use crate::db::{Backend, Db};

mod execution;
pub use execution::execution;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` so the report's `{:^4}` column lines up.
        f.pad(match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        })
    }
}

/// One check's outcome: a one-line summary plus optional detail lines.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
}

impl Check {
    pub fn new(name: &'static str, status: Status, summary: impl Into<String>) -> Check {
        Check {
            name,
            status,
            summary: summary.into(),
            details: Vec::new(),
        }
    }
    pub fn ok(name: &'static str, summary: impl Into<String>) -> Check {
        Check::new(name, Status::Ok, summary)
    }
    pub fn warn(name: &'static str, summary: impl Into<String>) -> Check {
        Check::new(name, Status::Warn, summary)
    }
    pub fn fail(name: &'static str, summary: impl Into<String>) -> Check {
        Check::new(name, Status::Fail, summary)
    }
    pub fn detail(mut self, line: impl Into<String>) -> Check {
        self.details.push(line.into());
        self
    }
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    pub fn has_failures(&self) -> bool {
        self.count(Status::Fail) > 0
    }

    pub fn render(&self, out: &mut impl Write) -> std::io::Result<()> {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for check in &self.checks {
            writeln!(
                out,
                "[{:^4}] {:<width$}  {}",
                check.status, check.name, check.summary
            )?;
            for line in &check.details {
                writeln!(out, "       {:<width$}    {line}", "")?;
            }
        }
        writeln!(
            out,
            "\n{} ok, {} warning(s), {} failure(s)",
            self.count(Status::Ok),
            self.count(Status::Warn),
            self.count(Status::Fail)
        )
    }
}

/// Run every check against `config` (as parsed, before `prepare`).
pub async fn run(config: &Config) -> Report {
    let mut report = Report::default();
    report.push(summarize_config(config));
    report.push(production_refusals(config));
    for warning in config.warnings() {
        report.push(Check::warn("warning", warning));
    }
    report.push(jwt_secret(config));
    report.push(data_dir(&config.data_dir));
    let (database, db) = database(config.database_url.expose()).await;
    report.push(database);
    report.push(node(config));
    report.push(redis(config).await);
    report.push(crate::auth::oidc::doctor::check(config).await);
    if let Some(db) = db {
        report.push(audit_chain(&db).await);
        if config.redis_url.is_some() {
            report.push(pad_owners(&db).await);
        }
        db.close().await;
    }
    for check in execution(config).await {
        report.push(check);
    }
    report
}

/// This node's id (`NODE_ID`, or the one generated into `DATA_DIR`), read without creating it.
pub fn node(config: &Config) -> Check {
    if let Some(id) = &config.exec.node_id {
        return Check::ok("node", format!("node id {id} (NODE_ID)"));
    }
    let path = config.data_dir.join(crate::exec::node::NODE_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Check::ok(
            "node",
            format!("node id {} ({})", id.trim(), path.display()),
        ),
        _ => Check::ok(
            "node",
            "no node id yet: the server generates one into DATA_DIR at its first start",
        ),
    }
}

/// One node, or a cluster: with `REDIS_URL`, Redis must answer a PING (the pad bus and the shared
/// budgets run through it).
pub async fn redis(config: &Config) -> Check {
    let Some(url) = &config.redis_url else {
        return Check::ok(
            "cluster",
            "one node: no REDIS_URL, the pad bus is in-process",
        );
    };
    let answered = async {
        let client = redis::Client::open(url.expose().as_str())
            .map_err(|_| "REDIS_URL is not a Redis URL".to_string())?;
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|err| err.to_string())?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(|err| err.to_string())
    };
    match tokio::time::timeout(crate::http::health::READY_CHECK_TIMEOUT * 5, answered).await {
        Ok(Ok(_)) => Check::ok(
            "cluster",
            "several nodes: Redis answers (pad bus, shared budgets)",
        ),
        Ok(Err(err)) => Check::fail(
            "cluster",
            format!("REDIS_URL is set but Redis does not answer: {err}"),
        ),
        Err(_) => Check::fail(
            "cluster",
            "REDIS_URL is set but Redis did not answer within 5 s",
        ),
    }
}

/// The live nodes, as the holders of unexpired pad leases, and which pads each owns.
pub async fn pad_owners(db: &Db) -> Check {
    let leases = match crate::cluster::store::live_leases(db).await {
        Ok(leases) => leases,
        Err(err) => return Check::fail("owners", format!("reading pad leases failed: {err}")),
    };
    let mut by_holder: std::collections::BTreeMap<&str, Vec<i64>> =
        std::collections::BTreeMap::new();
    for lease in &leases {
        by_holder
            .entry(lease.owner.as_str())
            .or_default()
            .push(lease.pad_id.0);
    }
    let summary = match by_holder.len() {
        0 => "no node holds a pad lease right now (no pad is open)".to_string(),
        n => format!("{n} live node(s) own {} pad(s)", leases.len()),
    };
    by_holder
        .into_iter()
        .fold(Check::ok("owners", summary), |check, (holder, pads)| {
            let shown: Vec<String> = pads
                .iter()
                .take(MAX_PADS_LISTED)
                .map(i64::to_string)
                .collect();
            let more = pads.len().saturating_sub(MAX_PADS_LISTED);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            // A holder is `<NODE_ID>.<process>` (older builds: the process part alone).
            let holder = match holder.rsplit_once('.') {
                Some((node, process)) => format!("node {node} (process {process})"),
                None => holder.to_string(),
            };
            check.detail(format!("{holder}: pads {}{tail}", shown.join(", ")))
        })
}

/// Pad ids listed per node by the `owners` check.
const MAX_PADS_LISTED: usize = 20;

fn show<T: fmt::Display>(value: Option<T>, unset: &str) -> String {
    value.map_or_else(|| unset.to_string(), |v| v.to_string())
}

/// What the server would run with; secrets appear only as `***`.
pub fn summarize_config(config: &Config) -> Check {
    let mode = match config.mode {
        Mode::Production => "production",
        Mode::Development => "development",
    };
    let proxies: Vec<String> = config
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    Check::ok(
        "config",
        format!(
            "{mode} mode, listening on {}",
            std::net::SocketAddr::new(config.host, config.port)
        ),
    )
    .detail(format!("DATA_DIR={}", config.data_dir.display()))
    .detail(format!(
        "DATABASE_URL={}",
        mask_url_credentials(config.database_url.expose())
    ))
    .detail(format!(
        "JWT_SECRET=*** ({})",
        secret_source(config.jwt_secret_source)
    ))
    .detail(format!(
        "ALLOWED_ORIGINS={}",
        show(
            config.allowed_origins.as_ref().map(|o| o.join(",")),
            "(unset: only this site's own origin is trusted)"
        )
    ))
    .detail(format!(
        "RATE_LIMIT_PER_MINUTE={}",
        config.rate_limit_per_minute
    ))
    .detail(format!(
        "SIGNUP_RATE_LIMIT_PER_MINUTE={}",
        config.signup_rate_limit_per_minute
    ))
    .detail(format!("TRUSTED_PROXIES={}", proxies.join(",")))
    .detail(format!(
        "COOKIE_DOMAIN={}",
        show(config.cookie_domain.as_deref(), "(unset)")
    ))
    .detail(format!(
        "PUBLIC_BASE_URL={}",
        show(
            config.public_base_url.as_deref(),
            "(unset: from the request's Host)"
        )
    ))
    .detail(format!(
        "ENABLE_HSTS={}",
        if config.enable_hsts { "1" } else { "0" }
    ))
    .detail(format!("MAX_BODY_BYTES={}", config.max_body_bytes))
    .detail(format!(
        "WEB_DIR={}",
        show(
            config.web_dir.as_ref().map(|d| d.display().to_string()),
            "(unset: embedded client)"
        )
    ))
    .detail(format!(
        "LOG_FORMAT={}",
        if config.log_json { "json" } else { "text" }
    ))
}

fn secret_source(source: SecretSource) -> &'static str {
    match source {
        SecretSource::Environment => "from the environment",
        SecretSource::GeneratedFile => "generated, kept in DATA_DIR",
        SecretSource::Missing => "unset",
    }
}

/// `scheme://user:pass@host` → `scheme://***@host`; other URLs unchanged.
fn mask_url_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_string(),
    }
}

/// The refusals a production start applies (SPEC §8), reported instead of enforced.
pub fn production_refusals(config: &Config) -> Check {
    match (config.mode, config.validate()) {
        (_, Err(err)) => Check::fail(
            "production",
            format!("the server would refuse to start: {err}"),
        ),
        (Mode::Production, Ok(())) => Check::ok(
            "production",
            "production mode; the secret passes the refusals",
        ),
        (Mode::Development, Ok(())) => Check::ok(
            "production",
            "development mode (set OPENCODER_ENV=production for the production refusals)",
        ),
    }
}

/// Where the signing secret comes from, and whether the generated one is kept private.
pub fn jwt_secret(config: &Config) -> Check {
    let file = config.data_dir.join(JWT_SECRET_FILE);
    match config.jwt_secret_source {
        SecretSource::Environment if config.jwt_secret.expose().len() < MIN_SECRET_BYTES => Check::warn(
            "jwt secret",
            format!("JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes; production would refuse it"),
        ),
        SecretSource::Environment => Check::ok(
            "jwt secret",
            format!("from JWT_SECRET ({} bytes)", config.jwt_secret.expose().len()),
        ),
        SecretSource::Missing | SecretSource::GeneratedFile if config.mode == Mode::Production => {
            Check::fail("jwt secret", "JWT_SECRET is unset; production requires it (`openssl rand -hex 64`)")
        }
        SecretSource::Missing | SecretSource::GeneratedFile => match std::fs::read_to_string(&file) {
            Ok(text) if text.trim().len() >= MIN_SECRET_BYTES => match loose_permissions(&file) {
                Some(mode) => Check::warn(
                    "jwt secret",
                    format!("generated secret {} is readable by others (mode {mode:o}); chmod 600 it", file.display()),
                ),
                None => Check::ok("jwt secret", format!("generated once, kept in {}", file.display())),
            },
            _ => Check::ok(
                "jwt secret",
                format!("JWT_SECRET unset; one will be generated into {} at first start", file.display()),
            ),
        },
    }
}

#[cfg(unix)]
fn loose_permissions(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn loose_permissions(_: &Path) -> Option<u32> {
    None
}

/// `DATA_DIR` exists and takes a file, or can be created.
pub fn data_dir(dir: &Path) -> Check {
    if dir.is_dir() {
        return match probe_write(dir) {
            Ok(()) => Check::ok("data dir", format!("{} is writable", dir.display())),
            Err(err) => Check::fail(
                "data dir",
                format!("{} is not writable: {err}", dir.display()),
            ),
        };
    }
    if dir.exists() {
        return Check::fail(
            "data dir",
            format!("{} exists but is not a directory", dir.display()),
        );
    }
    let ancestor = dir
        .ancestors()
        .skip(1)
        .find(|a| a.is_dir())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    match probe_write(&ancestor) {
        Ok(()) => Check::warn(
            "data dir",
            format!(
                "{} does not exist yet; the server creates it at start",
                dir.display()
            ),
        ),
        Err(err) => Check::fail(
            "data dir",
            format!(
                "{} does not exist and {} is not writable: {err}",
                dir.display(),
                ancestor.display()
            ),
        ),
    }
}

fn probe_write(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".opencoder-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"probe")?;
    std::fs::remove_file(&probe)
}

/// The database is reachable and carries every migration this binary embeds. Returns the open
/// database for later checks when it is usable.
pub async fn database(url: &str) -> (Check, Option<Db>) {
    let name = match Backend::of_url(url) {
        Some(Backend::Postgres) => mask_url_credentials(url),
        Some(Backend::Sqlite) | None => {
            let path = match SqliteConnectOptions::from_str(url) {
                Ok(options) => options.get_filename().to_path_buf(),
                Err(err) => {
                    return (
                        Check::fail("database", format!("DATABASE_URL cannot be parsed: {err}")),
                        None,
                    )
                }
            };
            if !path.exists() {
                let check = Check::warn(
                    "database",
                    format!(
                        "{} does not exist yet; `opencoder migrate` or the first start creates it",
                        path.display()
                    ),
                );
                return (check, None);
            }
            path.display().to_string()
        }
    };
    let db = match Db::connect(url).await {
        Ok(db) => db,
        Err(err) => {
            return (
                Check::fail("database", format!("{name} cannot be opened: {err:#}")),
                None,
            )
        }
    };
    if !db.ping().await {
        return (
            Check::fail("database", format!("{name} does not answer queries")),
            Some(db),
        );
    }
    let check = match crate::db::migrations::status(&db).await {
        Ok(status) => migration_check(&status, &name),
        Err(err) => Check::fail(
            "database",
            format!("cannot read the migration table: {err}"),
        ),
    };
    let usable = check.status != Status::Fail;
    (check, Some(db).filter(|_| usable))
}

/// The database check's verdict on where its migrations stand.
fn migration_check(status: &MigrationStatus, name: &str) -> Check {
    let base = format!(
        "{name} reachable; {}/{} migrations applied",
        status.applied, status.known
    );
    if !status.dirty.is_empty() {
        Check::fail(
            "database",
            format!(
                "{base}; migration(s) {:?} failed part-way: restore a backup",
                status.dirty
            ),
        )
    } else if !status.changed.is_empty() {
        Check::fail(
            "database",
            format!(
                "{base}; applied migration(s) {:?} differ from this binary's",
                status.changed
            ),
        )
    } else if !status.unknown.is_empty() {
        Check::fail(
            "database",
            format!(
                "{base}; the database has newer migrations {:?}: run a newer binary",
                status.unknown
            ),
        )
    } else if !status.pending.is_empty() {
        Check::warn(
            "database",
            format!(
                "{base}; pending {:?} (`opencoder migrate` or the next start applies them)",
                status.pending
            ),
        )
    } else {
        Check::ok("database", base)
    }
}

/// The audit log's hash chain is intact (SPEC §9).
pub async fn audit_chain(db: &Db) -> Check {
    match crate::audit::cli::verify(db).await {
        Ok(v) => match v.broken {
            None => Check::ok("audit chain", format!("{} rows verified", v.rows)),
            Some((id, why)) => Check::fail(
                "audit chain",
                format!("broken at row {id}: {}", why.describe()),
            ),
        },
        Err(err) => Check::fail("audit chain", format!("cannot read the audit log: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::parse_vars(&vars).unwrap()
    }

    #[test]
    fn the_summary_never_shows_the_secret() {
        let secret = "s3cr3t-".repeat(10);
        let check = summarize_config(&config(&[("JWT_SECRET", &secret)]));
        let text = format!("{} {}", check.summary, check.details.join("\n"));
        assert!(!text.contains(&secret));
        assert!(text.contains("JWT_SECRET=***"));
    }

    #[test]
    fn url_credentials_are_masked() {
        assert_eq!(
            mask_url_credentials("postgres://u:p@db:5432/x"),
            "postgres://***@db:5432/x"
        );
        assert_eq!(
            mask_url_credentials("sqlite://./data/opencoder.db"),
            "sqlite://./data/opencoder.db"
        );
    }

    #[test]
    fn a_weak_production_secret_fails_naming_the_variable() {
        let c = config(&[("OPENCODER_ENV", "production"), ("JWT_SECRET", "changeme")]);
        let check = production_refusals(&c);
        assert_eq!(check.status, Status::Fail);
        assert!(check.summary.contains("JWT_SECRET"));
        assert_eq!(jwt_secret(&c).status, Status::Warn);
    }

    #[test]
    fn failures_are_counted() {
        let mut report = Report::default();
        report.push(Check::ok("a", "fine"));
        assert!(!report.has_failures());
        report.push(Check::fail("b", "broken").detail("why"));
        assert!(report.has_failures());
        let mut out = Vec::new();
        report.render(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("[FAIL] b  broken"), "{text}");
        assert!(text.contains("1 ok, 0 warning(s), 1 failure(s)"), "{text}");
    }
}
