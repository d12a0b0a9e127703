//! `myelin init KIND STEP`: one declarative init step, run as an init container of a run's pod on Kubernetes
//! (the compiled pod names it; the Kubernetes executor gives it the server's `--init-image`). It clones, writes
//! or copies into the artifacts context (or the step's own `path`, where the pod mounts a volume), reading
//! artifacts through the server with the run's own token, never from the store directly.

use std::path::PathBuf;

use bytes::Bytes;
use reqwest::Method;

use super::client::Client;
use crate::api::run_init::InitFiles;
use crate::executor::init::{Done, Place, Source};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The step's kind: git, file or artifacts.
    pub kind: String,
    /// The step as the compiled pod carries it (JSON).
    pub step: String,
    /// The run's artifacts context, where steps without a `path` of their own write.
    #[arg(long, env = "MYELIN_INIT_ROOT", default_value = crate::executor::context::ARTIFACTS_PATH)]
    pub root: PathBuf,
}

/// The server, as the run's token reaches it (`MYELIN_URL`, `MYELIN_RUN_TOKEN`, which the run's Secret holds).
struct Server<'a>(&'a Client);

impl Source for Server<'_> {
    async fn files(&self, path: &str, is_dir: bool) -> Result<Vec<(String, String)>, String> {
        let query = [("path", path.to_string()), ("dir", is_dir.to_string())];
        let files: InitFiles = self.0.call_with_query(Method::GET, "/init/files", &query, None).await?;
        Ok(files.files.into_iter().map(|f| (f.from, f.to)).collect())
    }

    async fn read(&self, rel: &str) -> Result<Bytes, String> {
        let resp = self.0.get_ok("/init/file", &[("path", rel)]).await?;
        resp.bytes().await.map_err(|e| format!("reading {rel:?} from the server: {e}"))
    }
}

pub async fn run(a: InitArgs) -> Result<(), String> {
    let url = std::env::var("MYELIN_URL").map_err(|_| "MYELIN_URL is not set (the run's Secret sets it)")?;
    let token = std::env::var("MYELIN_RUN_TOKEN")
        .map_err(|_| "MYELIN_RUN_TOKEN is not set (the run's Secret sets it)")?;
    for line in step(&Client::new(&url, &token), &a).await? {
        println!("{line}");
    }
    Ok(())
}

/// Runs the step through `server` (a client with the run's token); what it did, as log lines.
pub async fn step(server: &Client, a: &InitArgs) -> Result<Vec<String>, String> {
    let step: serde_json::Value =
        serde_json::from_str(&a.step).map_err(|e| format!("the init step is not JSON: {e}"))?;
    tokio::fs::create_dir_all(&a.root).await.map_err(|e| format!("{}: {e}", a.root.display()))?;
    let mut done = Done::default();
    let place = Place { workdir: &a.root, in_pod: true };
    crate::executor::init::step(&a.kind, &step, &place, &Server(server), &mut done).await?;
    Ok(done.lines)
}
