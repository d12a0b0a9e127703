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
    /// Mark session cookies `Secure` (implied by an `https://` public URL).
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
    /// The connections catalog (YAML in Polyaxon's agent format, `connections: [{name, kind, schema, secret,
    /// configMap}]`): what runs' `connections:` and `init[].connection` resolve against.
    #[arg(long, env = "MYELIN_CONNECTIONS")]
    pub connections: Option<PathBuf>,
    /// The Kubernetes namespace runs go to (default: the kubeconfig context's, else `default`).
    #[arg(long, env = "MYELIN_NAMESPACE")]
    pub namespace: Option<String>,
    /// Paths local jobs may read besides the system's (`/usr`, `/etc`, `/opt`), e.g. a shared virtualenv;
    /// `:`-separated in the environment. Jobs never see the data dir.
    #[arg(long = "job-read-only", env = "MYELIN_JOB_READ_ONLY", value_delimiter = ':')]
    pub job_read_only: Vec<PathBuf>,
    /// Run local jobs unisolated, for every member, when bubblewrap cannot isolate them. Unsafe: a job is then
    /// a shell on this server as its user.
    #[arg(long, env = "MYELIN_UNSAFE_LOCAL_JOBS", default_value_t = false)]
    pub unsafe_local_jobs: bool,
    /// More `Host` names this server answers to (`host` or `host:port`, comma-separated; `*` for any), besides
    /// the public URL's and, on a loopback or wildcard address, `localhost`/`127.0.0.1`/`[::1]` with the port.
    /// Other hosts get 421: a web page cannot reach the server through DNS rebinding.
    #[arg(long, env = "MYELIN_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Reverse proxies (IP addresses, comma-separated) whose `X-Forwarded-For` names the client, for the
    /// log-in limiter. Others' `X-Forwarded-For` is ignored.
    #[arg(long, env = "MYELIN_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The largest polyaxonfile (bytes) a request may submit or check.
    #[arg(long, env = "MYELIN_MAX_YAML_BYTES", default_value_t = spec::limits::Limits::default().yaml_bytes)]
    pub max_yaml_bytes: usize,
    /// The most values a file may hold once its YAML aliases are expanded.
    #[arg(long, env = "MYELIN_MAX_YAML_NODES", default_value_t = spec::limits::Limits::default().yaml_nodes)]
    pub max_yaml_nodes: usize,
    /// The deepest nesting of mappings and sequences in a file.
    #[arg(long, env = "MYELIN_MAX_YAML_DEPTH", default_value_t = spec::limits::Limits::default().yaml_depth)]
    pub max_yaml_depth: usize,
    /// The most steps one `{{ template }}` may take.
    #[arg(long, env = "MYELIN_TEMPLATE_FUEL", default_value_t = spec::limits::Limits::default().template_fuel)]
    pub template_fuel: u64,
    /// The most runs a matrix may ask for (every algorithm).
    #[arg(long, env = "MYELIN_MAX_MATRIX_RUNS", default_value_t = spec::limits::Limits::default().matrix_runs)]
    pub max_matrix_runs: usize,
    /// How long one compile may take before the request is answered with `limit_exceeded`.
    #[arg(long, env = "MYELIN_MAX_COMPILE_SECONDS", default_value_t = crate::compiling::DEFAULT_BUDGET.as_secs())]
    pub max_compile_seconds: u64,
    /// Bytes of artifacts each project's runs may keep (uploads past it are refused).
    #[arg(long, env = "MYELIN_ARTIFACT_QUOTA_BYTES", default_value_t = crate::artifacts::DEFAULT_QUOTA.bytes)]
    pub artifact_quota_bytes: u64,
    /// Artifact files each project's runs may keep.
    #[arg(long, env = "MYELIN_ARTIFACT_QUOTA_FILES", default_value_t = crate::artifacts::DEFAULT_QUOTA.files)]
    pub artifact_quota_files: u64,
    /// Event streams (live logs, run status) one account may hold open at once.
    #[arg(long, env = "MYELIN_MAX_STREAMS_PER_USER", default_value_t = crate::auth::limit::STREAMS_PER_USER)]
    pub max_streams_per_user: usize,
    /// The pod policy submitted runs must meet: `baseline` (the Kubernetes Pod Security Standard, plus no
    /// `nodeName`, allowed service accounts only, Secrets/ConfigMaps only through granted connections),
    /// `restricted`, or `privileged` (no checks).
    #[arg(long, env = "MYELIN_POD_POLICY", value_enum, default_value_t = PodPolicy::Baseline)]
    pub pod_policy: PodPolicy,
    /// Service accounts runs may name in `environment.serviceAccountName` (comma-separated).
    #[arg(long, env = "MYELIN_SERVICE_ACCOUNTS", value_delimiter = ',')]
    pub service_accounts: Vec<String>,
    /// The image init containers run declarative `init` steps from on Kubernetes (git, files, artifacts:
    /// `myelin init`, reading artifacts through this server with the run's token): `deploy/Dockerfile`, built and
    /// pushed to a registry the cluster pulls from.
    #[arg(long, env = "MYELIN_INIT_IMAGE", default_value = crate::executor::kube::objects::DEFAULT_INIT_IMAGE)]
    pub init_image: String,
    /// When a batch of logged metrics is acknowledged. `process`: once it survives Myelin's own crash or
    /// restart; a crash of the operating system (or of PostgreSQL itself) may lose the last moments of metrics
    /// (on PostgreSQL at most ~0.6 s: batches are appended to a journal in the data dir, flushed every 0.2 s,
    /// and written to the database just after their answer, with `synchronous_commit = off`; on SQLite the
    /// durability every write has in its WAL with `synchronous = NORMAL`). `disk`: once it is on disk, which
    /// costs PostgreSQL a WAL flush per batch (~0.15 ms here), and no journal is kept. Runs, params,
    /// artifacts and everything else are written to disk either way.
    #[arg(long, env = "MYELIN_METRICS_DURABILITY", value_enum, default_value_t = MetricsDurability::Process)]
    pub metrics_durability: MetricsDurability,
    /// Serve the site (pkg/ with the wasm bundle, CSS, favicon) from this directory instead of the one built into
    /// the binary (development).
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PodPolicy {
    Privileged,
    Baseline,
    Restricted,
}

pub use crate::services::tracking::ingest::Durability as MetricsDurability;

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
    /// The web policy of a server on `listen` reached at `public_url`.
    pub fn web_policy(&self, listen: std::net::SocketAddr, public_url: &str) -> crate::auth::web::WebPolicy {
        let secure = self.secure_cookies || public_url.starts_with("https://");
        crate::auth::web::WebPolicy {
            trusted_proxies: self.trusted_proxies.clone(),
            ..crate::auth::web::WebPolicy::for_server(Some(listen), public_url, &self.allowed_hosts, secure)
        }
    }

    /// The pod policy (`spec::policy`).
    pub fn policy(&self) -> spec::policy::Policy {
        use spec::policy::Profile;
        let profile = match self.pod_policy {
            PodPolicy::Privileged => Profile::Privileged,
            PodPolicy::Baseline => Profile::Baseline,
            PodPolicy::Restricted => Profile::Restricted,
        };
        spec::policy::Policy { profile, service_accounts: self.service_accounts.clone() }
    }

    /// The bounds on one compile (`spec::limits`).
    pub fn limits(&self) -> spec::limits::Limits {
        spec::limits::Limits {
            yaml_bytes: self.max_yaml_bytes,
            yaml_nodes: self.max_yaml_nodes,
            yaml_depth: self.max_yaml_depth,
            template_fuel: self.template_fuel,
            matrix_runs: self.max_matrix_runs,
        }
    }

    /// How local jobs are isolated (`executor::sandbox`).
    pub fn isolation(&self) -> crate::executor::sandbox::JobIsolation {
        crate::executor::sandbox::JobIsolation {
            read_only: self.job_read_only.clone(),
            unsafe_local_jobs: self.unsafe_local_jobs,
        }
    }

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

/// Reads the connections catalog; a located error when it is not valid.
pub fn connections(path: Option<&std::path::Path>) -> Result<spec::catalog::Catalog, String> {
    let Some(path) = path else { return Ok(spec::catalog::Catalog::default()) };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let doc = spec::yaml::parse(&name, &text)
        .map_err(|e| format!("{name}:{}:{}: {}", e.line, e.column, e.message))?;
    spec::catalog::Catalog::from_value(&doc.value).map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
mod tests {
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        serve: super::ServeArgs,
    }

    #[test]
    fn an_https_public_url_makes_cookies_secure_and_names_the_allowed_host() {
        use clap::Parser;
        let args = Cli::parse_from([
            "myelin",
            "--allowed-hosts",
            "gpu-box,10.0.0.5:8000",
            "--trusted-proxies",
            "10.0.0.1",
        ])
        .serve;
        let listen = "0.0.0.0:8000".parse().unwrap();
        let web = args.web_policy(listen, "https://ml.example.com");
        assert!(web.secure_cookies);
        assert_eq!(web.trusted_proxies, vec!["10.0.0.1".parse::<std::net::IpAddr>().unwrap()]);
        for host in ["ml.example.com", "gpu-box:8000", "10.0.0.5:8000", "localhost:8000"] {
            assert!(web.allows_host(host), "{host}");
        }
        assert!(!web.allows_host("evil.example"));
        assert!(!args.web_policy(listen, "http://ml.example.com").secure_cookies);
        assert_eq!(args.limits(), spec::limits::Limits::default(), "the flags' defaults are spec's");
    }

    #[test]
    fn a_bad_connections_file_is_a_located_error() {
        let dir = std::env::temp_dir().join(format!("myelin-conn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.yaml");
        std::fs::write(&bad, "connections:\n  - {name: a\n").unwrap();
        let e = super::connections(Some(&bad)).unwrap_err();
        assert!(e.starts_with(&format!("{}:", bad.display())) && e.contains(':'), "{e}");
        let nameless = dir.join("nameless.yaml");
        std::fs::write(&nameless, "connections:\n- {kind: s3}\n").unwrap();
        assert!(super::connections(Some(&nameless)).unwrap_err().contains("needs a `name`"));
        let missing = super::connections(Some(&dir.join("none.yaml"))).unwrap_err();
        assert!(missing.contains("none.yaml"), "{missing}");
        assert!(super::connections(None).unwrap().get("x").is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
