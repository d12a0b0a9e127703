//! Executors run what the scheduler dispatches: `local` (the default) runs a job's command as a child process
//! group on this machine; `kubernetes` submits the compiled workload to a cluster and watches it.

pub mod context;
pub mod init;
pub mod kube;
pub mod local;
pub mod logs;
pub mod sandbox;

use std::sync::Arc;

use spec::lifecycle::RunKind;
use tokio::sync::broadcast;
use uuid::Uuid;

pub use self::kube::KubeExecutor;
use crate::entities::run;
pub use local::LocalExecutor;

/// What a run's process is given to report to Myelin (`mlflow` reads the `MLFLOW_*` ones unmodified); the
/// same on both executors. `server_url` is how the job reaches the server.
pub fn tracking_env(r: &run::Model, server_url: &str, token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MYELIN_RUN_UUID", r.id.to_string()),
        ("MYELIN_PROJECT_ID", r.project_id.to_string()),
        ("MYELIN_URL", server_url.to_string()),
        ("MYELIN_API", format!("{server_url}/api/v1")),
        ("MYELIN_RUN_TOKEN", token.to_string()),
        ("MLFLOW_TRACKING_URI", server_url.to_string()),
        ("MLFLOW_RUN_ID", r.id.simple().to_string()),
        ("MLFLOW_EXPERIMENT_ID", r.project_id.simple().to_string()),
        ("MLFLOW_TRACKING_TOKEN", token.to_string()),
    ]
}

/// The server's executor.
#[derive(Clone)]
pub enum Executor {
    Local(Arc<LocalExecutor>),
    Kubernetes(Arc<KubeExecutor>),
}

impl Executor {
    pub fn name(&self) -> &'static str {
        match self {
            Executor::Local(_) => "local",
            Executor::Kubernetes(_) => self::kube::EXECUTOR,
        }
    }

    /// Whether runs of this kind can be executed here (`Err` says why not).
    pub fn supports(&self, kind: RunKind) -> Result<(), String> {
        use RunKind::*;
        match (self, kind) {
            (_, Job) => Ok(()),
            (Executor::Kubernetes(_), Service | TfJob | PyTorchJob | MpiJob | RayCluster | DaskCluster) => Ok(()),
            (Executor::Local(_), k) => Err(format!(
                "the local executor runs jobs; a {k} run needs the Kubernetes executor (myelin serve --executor kubernetes)"
            )),
            (Executor::Kubernetes(_), k) => Err(format!("the Kubernetes executor cannot run a {k}")),
        }
    }

    /// Whether this user may run jobs here (local jobs need isolation, or a site admin: `sandbox`).
    pub fn admits(&self, site_admin: bool) -> Result<(), String> {
        match self {
            Executor::Local(l) => l.sandbox().admits(site_admin),
            Executor::Kubernetes(_) => Ok(()),
        }
    }

    /// Why no node could ever take the run (Kubernetes only; `None` when it fits or nothing is known).
    pub fn preflight(&self, compiled: &spec::compile::Run) -> Option<spec::placement::Finding> {
        match self {
            Executor::Local(_) => None,
            Executor::Kubernetes(k) => k.preflight(compiled),
        }
    }

    /// False while the executor cannot take runs (an unreachable cluster, during its backoff).
    pub fn accepting(&self) -> bool {
        match self {
            Executor::Local(_) => true,
            Executor::Kubernetes(k) => k.accepting(),
        }
    }

    pub fn start(&self, r: run::Model) {
        match self {
            Executor::Local(l) => l.start(r),
            Executor::Kubernetes(k) => k.start(r),
        }
    }

    /// Ends a run the service moved to `stopping`.
    pub fn stop(&self, run: Uuid) {
        match self {
            Executor::Local(l) => l.stop(run),
            Executor::Kubernetes(k) => k.stop(run),
        }
    }

    /// Where runs' logs are (the spool while they run, the artifact store after).
    pub fn logs(&self) -> &logs::LogSpool {
        match self {
            Executor::Local(l) => l.logs(),
            Executor::Kubernetes(k) => k.logs(),
        }
    }

    pub fn subscribe(&self, run: Uuid) -> Option<broadcast::Receiver<String>> {
        match self {
            Executor::Local(l) => l.subscribe(run),
            Executor::Kubernetes(k) => k.subscribe(run),
        }
    }

    /// Brings runs left behind by a previous server process to a true status. Returns how many it touched.
    pub async fn recover(&self) -> crate::Result<usize> {
        match self {
            Executor::Local(l) => l.recover().await,
            Executor::Kubernetes(k) => k.recover().await,
        }
    }

    pub fn local(&self) -> Option<&Arc<LocalExecutor>> {
        match self {
            Executor::Local(l) => Some(l),
            Executor::Kubernetes(_) => None,
        }
    }

    pub fn kubernetes(&self) -> Option<&Arc<KubeExecutor>> {
        match self {
            Executor::Kubernetes(k) => Some(k),
            Executor::Local(_) => None,
        }
    }
}
