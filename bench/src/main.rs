//! `oc-bench`: load generators for opencoder. Every result states the machine and the commit it
//! was measured on, so figures from different runs are compared knowingly.
//!
//! Traffic goes only to the server URL given (a local server started by `bench/http.sh`); every
//! run is bounded in time and stops by itself.

mod collab;
mod exec;
mod heap;
mod http;
mod machine;
mod playback;
mod setup_api;
mod terminal;

use clap::{Parser, Subcommand};

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

#[derive(Parser)]
#[command(name = "oc-bench", version, about = "Load generators for opencoder")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// HTTP API throughput and latency: authenticated pad reads, then pad creation.
    Http(http::HttpArgs),
    /// Pad WebSocket load: typists and watchers, propagation latency, server CPU and RSS.
    Collab(collab::CollabArgs),
    /// Code runs over HTTP: warm/cold hello-world latency, throughput, `docker run` baseline.
    Exec(exec::ExecArgs),
    /// Recording playback: state at a random instant (library and HTTP), bytes per keystroke.
    Playback(playback::PlaybackArgs),
    /// Shared terminal: keystroke echo round trip through the server (p50/p99).
    Terminal(terminal::TerminalArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Http(args) => runtime.block_on(http::run(args)),
        Command::Collab(args) => runtime.block_on(collab::run(args)),
        Command::Exec(args) => runtime.block_on(exec::run(args)),
        Command::Playback(args) => runtime.block_on(playback::run(args)),
        Command::Terminal(args) => runtime.block_on(terminal::run(args)),
    }
}
