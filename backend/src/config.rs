//! Server settings: every one is a flag with an environment twin (see DESIGN.md, "Configuration").

use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Where SQLite, artifacts and the generated secret live.
    #[arg(long, env = "MYELIN_DATA_DIR", default_value = ".myelin")]
    pub data_dir: PathBuf,
    /// Address to serve the UI and API on.
    #[arg(long, env = "MYELIN_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: String,
    /// sqlite://... or postgres://...; defaults to a SQLite file in the data dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Where artifacts and logs are kept: `file:///dir` or `s3://bucket[/prefix]` (with `AWS_*` variables);
    /// defaults to `<data dir>/artifacts`.
    #[arg(long, env = "MYELIN_ARTIFACTS_URL")]
    pub artifacts_url: Option<String>,
    /// Mark session cookies `Secure` (set this when serving over HTTPS).
    #[arg(long, env = "MYELIN_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,
    /// Where runs execute: `local` (child processes on this machine) or `kubernetes` (the cluster of the
    /// kubeconfig — `KUBECONFIG`, `~/.kube/config` — or the in-cluster service account).
    #[arg(long, env = "MYELIN_EXECUTOR", value_enum, default_value_t = ExecutorKind::Local)]
    pub executor: ExecutorKind,
    /// How runs reach this server (tracking URI, run API); defaults to `http://<listen>`. Set it when pods
    /// run elsewhere (a cluster).
    #[arg(long, env = "MYELIN_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The Kubernetes namespace runs go to (default: the kubeconfig context's, else `default`).
    #[arg(long, env = "MYELIN_NAMESPACE")]
    pub namespace: Option<String>,
    /// Directory of the built site (pkg/ with the wasm bundle, CSS, favicon).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExecutorKind {
    Local,
    Kubernetes,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    #[arg(long, env = "MYELIN_DATA_DIR", default_value = ".myelin")]
    pub data_dir: PathBuf,
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DbArgs {
    pub fn url(&self) -> String {
        database_url(&self.data_dir, self.database_url.as_deref())
    }
}

impl ServeArgs {
    pub fn db(&self) -> DbArgs {
        DbArgs { data_dir: self.data_dir.clone(), database_url: self.database_url.clone() }
    }
}

/// The configured URL, or the SQLite file under the data dir.
pub fn database_url(data_dir: &std::path::Path, configured: Option<&str>) -> String {
    match configured {
        Some(url) if !url.is_empty() => url.to_string(),
        _ => format!("sqlite://{}?mode=rwc", data_dir.join("myelin.db").display()),
    }
}
