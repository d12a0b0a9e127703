//! The `myelin` binary: `serve` runs the UI + API; every other subcommand is the CLI.

use clap::{CommandFactory, FromArgMatches};

/// `0.1.0 (commit 1a2b3c4d5e6f)`.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("MYELIN_COMMIT"), ")");

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let matches = backend::cli::Cli::command().version(VERSION).get_matches();
    let cli = backend::cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // The database, logs and the CLI's token file are this user's alone, whichever command makes them.
    backend::db::private_files();
    match cli.command {
        backend::cli::Command::Serve(args) => {
            if let Err(e) = app::serve::serve(*args).await {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
        other => std::process::exit(backend::cli::run(other).await),
    }
}
