//! The `opencoder` binary: `serve` (default), `migrate`, `backup`, `restore`, `audit`, `doctor`,
//! `healthcheck`, `admin`, `--version`.
//!
//! Thin on purpose: parse the command line, read the configuration, hand over to the library.
//! Configuration errors exit non-zero with a message naming the variable (from `config`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use opencoder::admin::cli::AdminArgs;
use opencoder::audit::cli::AuditArgs;
use opencoder::config::Config;

#[derive(Parser)]
#[command(
    name = "opencoder",
    version,
    about = "Self-hosted collaborative coding pad"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web client, the API and the WebSockets (the default).
    Serve,
    /// Apply the embedded database migrations and exit.
    Migrate {
        /// List the migrations that would run, oldest first, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a consistent snapshot of the database (taken while the server runs) and of the
    /// DATA_DIR files that matter (the generated JWT secret and node id) into one archive.
    Backup {
        /// The archive to write (default: opencoder-backup-<UTC time>.tar.gz here). Keep it
        /// private: it holds every account's data and, when generated, the signing secret.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
    /// Restore an archive from `opencoder backup` into this configuration's database and
    /// DATA_DIR (SQLite or PostgreSQL, whichever the archive came from). Stop every server first.
    Restore {
        /// The archive to restore. Every checksum is verified before anything is written.
        file: std::path::PathBuf,
        /// Wipe the target first: restore over a database that holds rows (its tables are
        /// dropped; on PostgreSQL every table and function of the current schema) and replace the
        /// DATA_DIR files the archive carries. Without it such a target is refused.
        #[arg(long)]
        force: bool,
    },
    /// List the audit log (newest rows, as a table or JSON) or verify its hash chain.
    Audit(AuditArgs),
    /// Check the configuration, data directory and database; exit 1 if any check fails.
    Doctor,
    /// Ask this server's `/healthz` (with --ready: `/readyz`) on its configured port; exit 0 on
    /// a 200, 1 otherwise. The container image's HEALTHCHECK.
    Healthcheck {
        /// Check readiness (database, Redis, execution backend) instead of liveness.
        #[arg(long)]
        ready: bool,
    },
    /// Administer the server: grant or revoke the admin role, list and disable accounts, open
    /// or close sign-up.
    Admin(AdminArgs),
}

/// Where log lines go: the server logs to stdout; the one-shot tools keep stdout for their output.
#[derive(Clone, Copy, PartialEq)]
enum LogTarget {
    Server,
    Tool,
}

fn init_tracing(json: bool, target: LogTarget) {
    use tracing_subscriber::EnvFilter;
    let default = match target {
        LogTarget::Server => "info,sqlx=warn",
        LogTarget::Tool => "warn,sqlx=error",
    };
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match (json, target) {
        (true, LogTarget::Server) => builder.json().flatten_event(true).init(),
        (true, LogTarget::Tool) => builder
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .init(),
        (false, LogTarget::Server) => builder.init(),
        (false, LogTarget::Tool) => builder.with_writer(std::io::stderr).init(),
    }
}

fn config_error(err: opencoder::config::ConfigError) -> anyhow::Error {
    anyhow::anyhow!("configuration error: {err}")
}

/// The configuration with the production refusals applied, as `serve` needs it.
fn load_config() -> anyhow::Result<Config> {
    Config::from_vars(&opencoder::config::environment()).map_err(config_error)
}

/// The configuration without the production refusals: for tools that neither serve nor sign.
fn load_config_for_tools() -> anyhow::Result<Config> {
    Config::parse_vars(&opencoder::config::environment()).map_err(config_error)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("opencoder: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let mut config = load_config()?;
            config.prepare().map_err(config_error)?;
            init_tracing(config.log_json, LogTarget::Server);
            for warning in config.warnings() {
                tracing::warn!("{warning}");
            }
            let addr = std::net::SocketAddr::new(config.host, config.port);
            let state = opencoder::AppState::new(config).await?;
            let listener = tokio::net::TcpListener::bind(addr).await?;
            tracing::info!(addr = %listener.local_addr()?, "opencoder listening");
            opencoder::serve(state, listener).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { dry_run: true } => {
            let config = load_config_for_tools()?;
            init_tracing(config.log_json, LogTarget::Tool);
            let pending = opencoder::db::migrations::plan(config.database_url.expose()).await?;
            if pending.is_empty() {
                println!("nothing to apply: the database is up to date");
            }
            for (version, description) in &pending {
                println!("would apply {version:04} {description}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { dry_run: false } => {
            // Migrating needs the data directory, not the signing secret: it may run before
            // secrets are provisioned.
            let config = load_config_for_tools()?;
            init_tracing(config.log_json, LogTarget::Tool);
            config.ensure_data_dir().map_err(config_error)?;
            let db = opencoder::db::Db::connect(config.database_url.expose()).await?;
            db.migrate().await?;
            db.close().await;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { output } => {
            let config = load_config_for_tools()?;
            init_tracing(config.log_json, LogTarget::Tool);
            let output = output.unwrap_or_else(|| {
                format!(
                    "opencoder-backup-{}.tar.gz",
                    chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
                )
                .into()
            });
            let db = opencoder::audit::cli::open(config.database_url.expose()).await?;
            let files = opencoder::backup::data_files(&config);
            let outcome = opencoder::backup::create(&db, &config.data_dir, &files, &output).await;
            db.close().await;
            let manifest = outcome?;
            let rows: u64 = manifest.tables.iter().map(|t| t.rows).sum();
            println!(
                "backup written to {}: {} tables, {rows} rows, schema version {}, files {:?}",
                output.display(),
                manifest.tables.len(),
                manifest.schema_version,
                manifest.files
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file, force } => {
            let config = load_config_for_tools()?;
            init_tracing(config.log_json, LogTarget::Tool);
            let target = opencoder::backup::Target {
                database_url: config.database_url.expose().clone(),
                data_dir: config.data_dir.clone(),
            };
            let restored = opencoder::backup::restore(&file, &target, force).await?;
            let rows: u64 = restored.manifest.tables.iter().map(|t| t.rows).sum();
            println!(
                "restored {} tables, {rows} rows from {} (taken {} on {} at schema version {}; loaded at this database's \
                 version {}, then migrated); audit chain verified, {} rows",
                restored.manifest.tables.len(),
                file.display(),
                restored.manifest.created_at,
                restored.manifest.backend.as_str(),
                restored.manifest.schema_version,
                restored.restored_at_version,
                restored.audit_rows
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(args) => {
            let config = load_config_for_tools()?;
            init_tracing(config.log_json, LogTarget::Tool);
            let db = opencoder::audit::cli::open(config.database_url.expose()).await?;
            let outcome =
                opencoder::audit::cli::run(&db, &args, &mut std::io::stdout().lock()).await;
            db.close().await;
            outcome?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(args) => {
            let config = load_config_for_tools()?;
            init_tracing(config.log_json, LogTarget::Tool);
            let db = opencoder::audit::cli::open(config.database_url.expose()).await?;
            let outcome = async {
                // The admin columns may be newer than a database no server has started on since.
                db.migrate().await?;
                let redis_url = config.redis_url.as_ref().map(|url| url.expose().as_str());
                opencoder::admin::cli::run(&db, redis_url, &args, &mut std::io::stdout().lock())
                    .await
            }
            .await;
            db.close().await;
            outcome?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor => {
            let config = load_config_for_tools()?;
            init_tracing(config.log_json, LogTarget::Tool);
            println!("opencoder doctor {}", env!("CARGO_PKG_VERSION"));
            let report = opencoder::doctor::run(&config).await;
            report.render(&mut std::io::stdout().lock())?;
            Ok(if report.has_failures() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Healthcheck { ready } => {
            let config = load_config_for_tools()?;
            let probe = if ready {
                opencoder::healthcheck::Probe::Ready
            } else {
                opencoder::healthcheck::Probe::Live
            };
            let addr = opencoder::healthcheck::target(config.host, config.port);
            match opencoder::healthcheck::check(addr, probe).await {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(err) => {
                    eprintln!("opencoder healthcheck: {err}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
