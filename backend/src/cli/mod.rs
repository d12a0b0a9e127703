//! The `myelin` command line: `serve` (wired in `app`), operator commands against the database, and the
//! client commands that talk to a server's REST API.

mod admin;
pub mod artifacts;
pub mod client;
mod cluster;
mod compare;
pub mod compile;
pub mod init;
mod models;
mod ops;
mod project;

use clap::{Parser, Subcommand};

use crate::config::{DbArgs, ServeArgs};

#[derive(Debug, Parser)]
#[command(name = "myelin", version, about = "Myelin: run polyaxonfiles, track and compare experiments")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the UI and API.
    Serve(Box<ServeArgs>),
    /// Operator commands that work on the database directly (same data dir / DATABASE_URL as `serve`).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Save a server address and API token for the client commands.
    Login(client::LoginArgs),
    /// Projects.
    #[command(subcommand)]
    Project(project::ProjectCommand),
    /// Submit a polyaxonfile as a run (prints its uuid).
    Run(ops::RunArgs),
    /// Runs: ls, get, logs, stop, restart.
    #[command(subcommand)]
    Ops(ops::OpsCommand),
    /// The model registry: ls, get, versions, promote (asks reviewers to move an alias).
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Promotion requests: ls (your inbox), show, approve, reject, comment, cancel.
    #[command(subcommand)]
    Reviews(models::ReviewsCommand),
    /// A run's files through the server: upload (large files resume) and download.
    #[command(subcommand)]
    Artifacts(artifacts::ArtifactsCommand),
    /// The cluster: nodes, GPU allocation, runs per node, and the queue with why each run waits.
    Cluster(cluster::ClusterArgs),
    /// Compile a polyaxonfile offline: diagnostics, params, Kubernetes manifests, DAG ops, matrix.
    Compile(compile::CompileArgs),
    /// Check a polyaxonfile offline: errors and warnings only.
    Lint(compile::CompileArgs),
    /// Run one init step of a run's pod (the init containers the Kubernetes executor starts run this).
    #[command(hide = true)]
    Init(init::InitArgs),
    /// Print a shell completion script: `source <(myelin completions bash)`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user; the password is read from standard input.
    CreateUser {
        #[arg(long)]
        username: String,
        /// Read the password from stdin (the only way; flags would leak it into `ps`).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Make the user a site administrator.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Index files in the artifact store that the server has not recorded (stored by an older version, or
    /// copied into the store directly): each is read once for its sha256, so search, previews' digests and
    /// lineage see it. Safe to run again; files already indexed are skipped.
    ReindexArtifacts {
        /// Only this project's runs (`owner/name`); all projects without it.
        #[arg(long)]
        project: Option<String>,
        /// The artifact store, as `serve` is given it (local disk under the data directory without it).
        #[arg(long, env = "MYELIN_ARTIFACTS_URL")]
        artifacts_url: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Create a personal API token for a user and print it.
    CreateToken {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "created by myelin admin")]
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Output format of read commands.
#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum Output {
    #[default]
    Table,
    Json,
}

fn exit(r: Result<i32, String>) -> i32 {
    r.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        1
    })
}

/// Runs a non-`serve` command; returns the process exit code.
pub async fn run(cmd: Command) -> i32 {
    let result = match cmd {
        Command::Serve(_) => unreachable!("serve is handled by the app binary"),
        Command::Compile(a) => return compile::run(a, false),
        Command::Run(a) => return exit(ops::submit(a).await),
        Command::Ops(o) => return exit(ops::run(o).await),
        Command::Lint(a) => return compile::run(a, true),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "myelin", &mut std::io::stdout());
            return 0;
        }
        Command::Admin(a) => admin::run(a).await,
        Command::Login(l) => client::login(l).await,
        Command::Project(p) => project::run(p).await,
        Command::Cluster(c) => cluster::run(c).await,
        Command::Artifacts(a) => artifacts::run(a).await,
        Command::Init(a) => init::run(a).await,
        Command::Models(m) => models::models(m).await,
        Command::Reviews(r) => models::reviews(r).await,
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
