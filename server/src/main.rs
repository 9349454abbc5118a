//! The `opencoder` binary: `serve` (default), `migrate`, `audit`, `doctor`.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "opencoder", version, about = "Self-hosted collaborative coding pad")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web client, the API and the WebSockets (the default).
    Serve,
    /// Apply the embedded database migrations and exit.
    Migrate,
}

fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

fn load_config() -> anyhow::Result<opencoder::config::Config> {
    let vars = opencoder::config::environment();
    let mut config = opencoder::config::Config::from_vars(&vars).map_err(|e| anyhow::anyhow!("configuration error: {e}"))?;
    config.prepare().map_err(|e| anyhow::anyhow!("configuration error: {e}"))?;
    Ok(config)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("opencoder: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = load_config()?;
    init_tracing(config.log_json);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            for warning in config.warnings() {
                tracing::warn!("{warning}");
            }
            let addr = std::net::SocketAddr::new(config.host, config.port);
            let state = opencoder::AppState::new(config).await?;
            let listener = tokio::net::TcpListener::bind(addr).await?;
            tracing::info!(addr = %listener.local_addr()?, "opencoder listening");
            opencoder::serve(state, listener).await
        }
        Command::Migrate => {
            let db = opencoder::db::Db::connect(&config.database_url).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
    }
}
