//! A Myelin server (SQLite, the Kubernetes executor with the least-privilege identity of
//! deploy/kubernetes/role.yaml and clusterrole.yaml) on its own namespace and fake Nodes: 2 GPU nodes (8 GPUs each, tainted), 2
//! CPU nodes, all run by the kubelet stand-in.

use std::sync::Arc;
use std::time::Duration;

use backend::executor::{Executor, KubeExecutor};
use backend::services::projects::{ProjectAccess, ProjectUpdate};
use backend::services::runs::{RunDetail, Submission};
use serde_json::json;
use uuid::Uuid;

use crate::kubelet::Kubelet;
use crate::support::{node_with_kubelet, Api};

pub struct Fixture {
    pub api: Api,
    pub ns: String,
    pub dir: String,
    pub state: backend::AppState,
    pub exec: Arc<KubeExecutor>,
    pub access: ProjectAccess,
    pub user: backend::entities::user::Model,
    pub data: std::path::PathBuf,
    /// `(admin url, database)` of a PostgreSQL database made for this test, dropped at the end.
    postgres: Option<(String, String)>,
    nodes: Vec<String>,
    _kubelet: Kubelet,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// The dispatcher's identity, bound as `deploy/kubernetes` documents: the read-only ClusterRole cluster-wide,
/// the Role in the runs' namespace `ns` only.
pub async fn grant(api: &Api, ns: &str) {
    let read = |file: &str| {
        let path = format!("{}/../deploy/kubernetes/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        spec::yaml::parse(file, &text).expect("the RBAC file parses").value
    };
    let subject =
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "myelin-dispatcher"}]);
    api.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", read("clusterrole.yaml")).await;
    api.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        json!({"metadata": {"name": "myelin-executor-read"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "myelin-executor-read"},
            "subjects": subject}),
    )
    .await;
    api.post(&format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles"), read("role.yaml")).await;
    api.post(
        &format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings"),
        json!({"metadata": {"name": "myelin-executor"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "myelin-executor"},
            "subjects": subject}),
    )
    .await;
}

/// The dispatcher's kubeconfig, optionally pointed at another address (a proxy in front of the API server).
pub async fn config(dir: &str, server: Option<&str>) -> kube::Config {
    let mut kc = kube::config::Kubeconfig::read_from(format!("{dir}/dispatcher.kc")).unwrap();
    if let Some(s) = server {
        for c in &mut kc.clusters {
            if let Some(cluster) = c.cluster.as_mut() {
                cluster.server = Some(s.to_string());
                cluster.tls_server_name = Some("127.0.0.1".into());
            }
        }
    }
    kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.unwrap()
}

impl Fixture {
    pub async fn start() -> Option<Fixture> {
        Self::start_with(None, false).await
    }

    /// On a fresh PostgreSQL database (`MYELIN_TEST_DATABASE_URL`; required under CI).
    pub async fn start_on_postgres() -> Option<Fixture> {
        if std::env::var("MYELIN_TEST_DATABASE_URL").is_err() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but MYELIN_TEST_DATABASE_URL is not set"
            );
            eprintln!("skipping the PostgreSQL variant: MYELIN_TEST_DATABASE_URL is not set");
            return None;
        }
        Self::start_with(None, true).await
    }

    /// `server`: the API server address the executor uses (default: the real one).
    pub async fn start_with(server: Option<&str>, postgres: bool) -> Option<Fixture> {
        let turn = crate::support::cluster().await?;
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = crate::support::dir()?;
        let api = Api::connect();
        let ns = format!("exec-{}", &Uuid::new_v4().simple().to_string()[..10]);
        api.post("/api/v1/namespaces", json!({"metadata": {"name": ns}})).await;
        grant(&api, &ns).await;
        let kubelet = Kubelet::start(api.clone(), &dir, &ns).await;
        let mut nodes = Vec::new();
        for (suffix, gpus) in [("gpu-1", Some(8)), ("gpu-2", Some(8)), ("cpu-1", None), ("cpu-2", None)] {
            let name = format!("{ns}-{suffix}");
            let labels = if gpus.is_some() { json!({"gpu-type": "v100"}) } else { json!({}) };
            api.post("/api/v1/nodes", node_with_kubelet(&name, gpus, labels, Some(kubelet.port))).await;
            nodes.push(name);
        }
        let data = std::env::temp_dir().join(format!("myelin-k8s-{ns}"));
        std::fs::create_dir_all(&data).unwrap();
        let mut pg = None;
        let url = if postgres {
            use sea_orm::ConnectionTrait;
            let admin_url = std::env::var("MYELIN_TEST_DATABASE_URL").unwrap();
            let name = format!("myelin_k8s_{}", Uuid::new_v4().simple());
            let admin =
                sea_orm::Database::connect(&admin_url).await.expect("PostgreSQL (scripts/postgres-up)");
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
            admin.close().await.ok();
            let base = admin_url.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or_default();
            pg = Some((admin_url, name.clone()));
            format!("{base}/{name}")
        } else {
            format!("sqlite://{}?mode=rwc", data.join("myelin.db").display())
        };
        let (mut state, _store) =
            backend::server::prepare(&url, false, &data, "http://myelin.test:8000", None).await.unwrap();
        let exec = KubeExecutor::with_config(
            config(&dir, server).await,
            state.db.clone(),
            &data,
            "http://myelin.test:8000".into(),
            state.artifacts.clone(),
            Some(ns.clone()),
            state.wake.clone(),
        )
        .unwrap();
        state.executor = Executor::Kubernetes(exec.clone());
        state.spawn_scheduler();
        let user = backend::services::accounts::sign_up(&state.db, "ada", "correct horse battery", None)
            .await
            .unwrap();
        backend::services::projects::create(&state.db, &user, "gpu", "").await.unwrap();
        let access = backend::services::projects::access(&state.db, Some(&user), "ada", "gpu").await.unwrap();
        let more = ProjectUpdate { concurrency: Some(50), ..Default::default() };
        backend::services::projects::update(&state.db, &access, &more).await.unwrap();
        let access = backend::services::projects::access(&state.db, Some(&user), "ada", "gpu").await.unwrap();
        let fx = Fixture {
            api,
            ns,
            dir,
            state,
            exec,
            access,
            user,
            data,
            postgres: pg,
            nodes,
            _kubelet: kubelet,
            _turn: turn,
        };
        if server.is_none() {
            fx.until("the executor lists the nodes", || async { fx.exec.cluster().nodes.len() >= 4 }).await;
        }
        Some(fx)
    }

    /// A new executor on the same database, as after a server restart (the old one is shut down first).
    pub async fn restart(&mut self) -> Arc<KubeExecutor> {
        self.exec.shutdown();
        let exec = KubeExecutor::with_config(
            config(&self.dir, None).await,
            self.state.db.clone(),
            &self.data,
            "http://myelin.test:8000".into(),
            self.state.artifacts.clone(),
            Some(self.ns.clone()),
            self.state.wake.clone(),
        )
        .unwrap();
        self.exec = exec.clone();
        self.state.executor = Executor::Kubernetes(exec.clone());
        exec
    }

    pub async fn submit(&self, yaml: &str, force: bool) -> backend::Result<Uuid> {
        let sub = Submission { content: yaml.into(), force, ..Default::default() };
        let r = self.state.submit(&self.access, &self.user, &sub).await?;
        self.state.wake.notify_one();
        Ok(r.summary.uuid)
    }

    pub async fn run(&self, id: Uuid) -> RunDetail {
        backend::services::runs::get(&self.state.db, &self.access, id).await.unwrap()
    }

    /// Waits (up to 30 s) until the run satisfies `ok`; panics with the run as it was last seen.
    pub async fn wait(&self, id: Uuid, what: &str, ok: impl Fn(&RunDetail) -> bool) -> RunDetail {
        let mut last = self.run(id).await;
        for _ in 0..600 {
            if ok(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            last = self.run(id).await;
        }
        panic!(
            "run never became {what}: status {} ({:?}), diagnosis {:?}, timeline {:#?}",
            last.summary.status, last.status_message, last.diagnosis, last.timeline
        );
    }

    pub async fn until<F: std::future::Future<Output = bool>>(&self, what: &str, ok: impl Fn() -> F) {
        for _ in 0..600 {
            if ok().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting until {what}");
    }

    pub async fn stop(&self, id: Uuid) {
        backend::services::runs::stop(&self.state.db, &self.state.executor, &self.access, id).await.unwrap();
    }

    pub async fn end(self) {
        self.exec.shutdown();
        self.api.delete(&format!("/api/v1/namespaces/{}", self.ns)).await;
        for n in &self.nodes {
            self.api.delete(&format!("/api/v1/nodes/{n}")).await;
        }
        let _ = std::fs::remove_dir_all(&self.data);
        if let Some((admin_url, name)) = &self.postgres {
            use sea_orm::ConnectionTrait;
            self.state.db.clone().close().await.ok();
            if let Ok(admin) = sea_orm::Database::connect(admin_url).await {
                let _ =
                    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            }
        }
    }
}

/// A job polyaxonfile: `image`, then YAML under `run.container` (indented 4), `run.environment` (indented 4)
/// and `termination` (indented 2), each possibly empty.
pub fn job(image: &str, container: &str, environment: &str, termination: &str) -> String {
    let mut y = format!(
        "version: 1.1\nkind: component\nname: train\nrun:\n  kind: job\n  container:\n    image: {image}\n    command: [python, train.py]\n"
    );
    for line in container.lines().filter(|l| !l.trim().is_empty()) {
        y.push_str(&format!("    {line}\n"));
    }
    if !environment.trim().is_empty() {
        y.push_str("  environment:\n");
        for line in environment.lines().filter(|l| !l.trim().is_empty()) {
            y.push_str(&format!("    {line}\n"));
        }
    }
    if !termination.trim().is_empty() {
        y.push_str("termination:\n");
        for line in termination.lines().filter(|l| !l.trim().is_empty()) {
            y.push_str(&format!("  {line}\n"));
        }
    }
    y
}

pub const TOLERATE_GPU: &str = "tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]";

pub fn gpus(n: u32) -> String {
    format!("resources: {{limits: {{nvidia.com/gpu: {n}}}, requests: {{cpu: 1, memory: 1Gi}}}}")
}
