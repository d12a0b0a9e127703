//! The `myelin` binary: `serve` runs the UI + API; every other subcommand is the CLI.

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let cli = backend::cli::Cli::parse();
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
