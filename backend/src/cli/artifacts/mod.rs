//! `myelin artifacts upload|download`: a run's files and folders through the server only — the client needs no
//! store credentials, which is how air-gapped clusters and laptops reach the store. Files larger than
//! [`ONE_REQUEST_MAX`] go in parts and resume where an interrupted upload stopped (run the same command again);
//! downloads resume from `NAME.part`. Every upload is checked against the sha256 the server computed.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use super::client::{decode, Client};

mod download;
mod upload;

pub use download::download;
pub use upload::{upload, upload_file, Uploaded};

/// Files up to this size go in one request; larger ones in resumable parts.
pub const ONE_REQUEST_MAX: u64 = 16 * 1024 * 1024;
/// Tries of one request before giving up (with growing pauses between them).
const ATTEMPTS: u32 = 5;

#[derive(Debug, clap::Subcommand)]
pub enum ArtifactsCommand {
    /// Upload a file or a folder into a run through the server (large files in parts: run it again to resume).
    Upload {
        /// The run's uuid.
        run: uuid::Uuid,
        /// A file or a folder.
        local: PathBuf,
        /// The folder of the run it goes into.
        #[arg(long, default_value = "artifacts")]
        to: String,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
    },
    /// Download a run's file or folder (the whole run without PATH) into OUTPUT/<its name>; a partial download
    /// resumes.
    Download {
        /// The run's uuid.
        run: uuid::Uuid,
        /// A file or folder of the run, e.g. `artifacts/model`.
        path: Option<String>,
        #[arg(short, long, default_value = ".")]
        output: PathBuf,
        #[arg(short, long, env = "MYELIN_PROJECT")]
        project: String,
    },
}

pub async fn run(cmd: ArtifactsCommand) -> Result<(), String> {
    let client = Client::from_env()?;
    match cmd {
        ArtifactsCommand::Upload { run, local, to, project } => {
            let t = Target::new(&client, &project, run).await?;
            upload(&t, &local, &to).await
        }
        ArtifactsCommand::Download { run, path, output, project } => {
            let t = Target::new(&client, &project, run).await?;
            download(&t, path.as_deref(), &output).await
        }
    }
}

/// A run on the server.
pub struct Target<'a> {
    client: &'a Client,
    run: uuid::Uuid,
    /// `/projects/{owner}/{name}/runs/{uuid}`.
    base: String,
}

impl<'a> Target<'a> {
    pub async fn new(client: &'a Client, project: &str, run: uuid::Uuid) -> Result<Self, String> {
        let project = super::ops::project_path(client, project).await?;
        Ok(Self { client, run, base: format!("/projects/{project}/runs/{run}") })
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, String> {
        decode(self.client.send(req).await?).await
    }
}

/// Names a local file as of now: an open upload with the same fingerprint is this file, unchanged.
pub fn fingerprint(meta: &std::fs::Metadata) -> String {
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    format!("{}-{}", meta.len(), mtime.map_or(0, |d| d.as_nanos()))
}

fn bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// `f` again after a failure to reach the server or a server error, with growing pauses.
async fn retried<T, F, Fut>(mut f: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut attempt = 1;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < ATTEMPTS && transient(&e) => {
                tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Worth trying again: the network or the server's side, not the request.
fn transient(e: &str) -> bool {
    e.starts_with("nothing answers")
        || e.contains("did not answer in time")
        || e.starts_with("cannot reach")
        || e.contains("(internal)")
        || e.contains("(store_unavailable)")
        || e.starts_with("server answered 5")
}
