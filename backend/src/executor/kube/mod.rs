//! The Kubernetes executor: each run attempt becomes its compiled workload (a `batch/v1` Job, a Deployment and
//! Service, a Kubeflow object), applied with server-side apply under the field manager `myelin`, with a
//! Secret that carries the run token and tracking settings. Watchers on the run-labelled Pods and workloads,
//! on Warning Events and on Nodes drive the run's status and its diagnosis (`assess`). Logs are followed
//! from the main container and stored like a local run's.
//!
//! The database is the source of truth: dispatch is idempotent (deterministic names, SSA), so after a restart
//! `recover` re-applies what was being dispatched and the watchers' first list brings every run up to date.
//! An unreachable API server puts runs back in the queue with the reason and a backoff.

pub mod assess;
mod cluster;
mod dispatch;
mod follow;
pub mod objects;
mod queue;
mod reconcile;
mod watch;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, DynamicObject, PropagationPolicy};
use kube::core::{ApiResource, GroupVersionKind};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;
use spec::lifecycle::Status;
use tokio::sync::{broadcast, Notify};
use uuid::Uuid;

pub use assess::Diagnosis;
pub use cluster::{ClusterView, NodeSummary};
use objects::Attempt;

use super::logs::{append, LogSpool};
use crate::artifacts::Artifacts;
use crate::entities::run;
use crate::store::status::{report, transition};

/// Which executor a run row was dispatched to.
pub const EXECUTOR: &str = "kubernetes";

pub struct KubeExecutor {
    this: Weak<KubeExecutor>,
    db: DatabaseConnection,
    client: kube::Client,
    namespace: String,
    server_url: String,
    logs: LogSpool,
    /// What the watchers have seen, by resource plural and object name.
    cache: watch::Cache,
    /// Runs whose objects changed, for the sync workers.
    dirty: queue::Queue,
    live: Mutex<HashMap<Uuid, broadcast::Sender<String>>>,
    /// Log followers by (run, attempt).
    following: Mutex<HashSet<(Uuid, i32)>>,
    /// Dynamic kinds (Kubeflow, Ray, Dask) already watched.
    watched: Mutex<HashSet<String>>,
    /// Set while the API server is unreachable: no dispatch before this instant.
    backoff: Mutex<Option<(Instant, Duration)>>,
    wake: Arc<Notify>,
    /// Requests sent to the API server (watch connections count once each).
    requests: Arc<AtomicU64>,
    /// The watchers, ended by `shutdown`.
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    /// Set by `shutdown`: no more dispatching.
    closed: std::sync::atomic::AtomicBool,
    /// Kubernetes Events for what users must see (`reconcile::recorder`).
    events: kube::runtime::events::Recorder,
    /// The image init containers run `myelin init` from (`--init-image`).
    init_image: std::sync::RwLock<String>,
}

impl KubeExecutor {
    /// Sets the image of the init containers that run declarative init steps (`myelin init`).
    pub fn set_init_image(&self, image: &str) {
        *self.init_image.write().unwrap_or_else(|e| e.into_inner()) = image.to_string();
    }

    fn init_image(&self) -> String {
        self.init_image.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The namespace runs go to.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The kubeconfig (`KUBECONFIG`, `~/.kube/config`) or the in-cluster service account.
    pub async fn infer_config() -> crate::Result<kube::Config> {
        kube::Config::infer()
            .await
            .map_err(|e| crate::Error::Internal(format!("Kubernetes configuration: {e}")))
    }

    /// The executor on `config`; its watchers start at once.
    pub fn with_config(
        config: kube::Config,
        db: DatabaseConnection,
        data_dir: &std::path::Path,
        server_url: String,
        artifacts: Arc<Artifacts>,
        namespace: Option<String>,
        wake: Arc<Notify>,
    ) -> crate::Result<Arc<Self>> {
        let namespace =
            namespace.filter(|n| !n.is_empty()).unwrap_or_else(|| config.default_namespace.clone());
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        let client = kube::client::ClientBuilder::try_from(config)
            .map_err(|e| crate::Error::Internal(format!("Kubernetes client: {e}")))?
            .with_layer(&tower::util::MapRequestLayer::new(move |req| {
                counter.fetch_add(1, Ordering::Relaxed);
                req
            }))
            .build();
        let events = reconcile::recorder(client.clone());
        let me = Arc::new_cyclic(|this| Self {
            this: this.clone(),
            db,
            client,
            namespace,
            server_url,
            logs: LogSpool::new(data_dir, artifacts),
            cache: watch::Cache::default(),
            dirty: queue::Queue::default(),
            live: Mutex::default(),
            following: Mutex::default(),
            watched: Mutex::default(),
            backoff: Mutex::default(),
            wake,
            requests,
            tasks: Mutex::default(),
            closed: Default::default(),
            events,
            init_image: std::sync::RwLock::new(objects::DEFAULT_INIT_IMAGE.to_string()),
        });
        watch::spawn(me.clone());
        Ok(me)
    }

    /// A handle for tasks the executor starts on its own behalf.
    fn this(&self) -> Option<Arc<Self>> {
        self.this.upgrade()
    }

    /// How many requests this executor has sent to the API server.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Ends the watchers (a server shutting down; tests that play a restart).
    pub fn shutdown(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.tasks.lock().expect("lock").drain(..).for_each(|t| t.abort());
    }

    pub fn logs(&self) -> &crate::executor::logs::LogSpool {
        &self.logs
    }

    pub fn subscribe(&self, run: Uuid) -> Option<broadcast::Receiver<String>> {
        self.live.lock().expect("lock").get(&run).map(|s| s.subscribe())
    }

    /// False while the API server is unreachable and the backoff has not run out.
    pub fn accepting(&self) -> bool {
        !self.closed.load(Ordering::Relaxed)
            && self.backoff.lock().expect("lock").is_none_or(|(until, _)| Instant::now() >= until)
    }

    /// Ends a run that is `stopping`: its workload is deleted (foreground, so its pods go first), then the run
    /// is marked stopped. Retried with backoff while the API server is unreachable.
    pub fn stop(self: &Arc<Self>, id: Uuid) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(500);
            loop {
                match me.delete(id).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(run = %id, "cannot delete the run's workload yet: {e}");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(30));
                    }
                }
            }
            report(&me.db, id, Status::Stopped, "StoppedByUser", Some("the workload was deleted")).await;
            me.finish(id).await;
        });
    }

    async fn delete(&self, id: Uuid) -> Result<(), kube::Error> {
        let Some(r) = run::Entity::find_by_id(id).one(&self.db).await.ok().flatten() else { return Ok(()) };
        let init_image = self.init_image();
        let attempt = Attempt {
            run: id,
            project: r.project_id,
            attempt: r.retries,
            namespace: &self.namespace,
            init_image: &init_image,
        };
        let dp =
            DeleteParams { propagation_policy: Some(PropagationPolicy::Foreground), ..Default::default() };
        let manifests = r.manifests().unwrap_or_default();
        for o in attempt.objects(&manifests) {
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), &self.namespace, &resource(&o));
            match api.delete(&attempt.name(), &dp).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// After a restart: runs that were being dispatched are applied again (idempotent); runs whose workload
    /// vanished while the server was down fail with that reason; `stopping` runs are stopped. Everything else
    /// is brought up to date by the watchers' first list. Local runs left behind are failed as the local
    /// executor does.
    pub async fn recover(self: &Arc<Self>) -> crate::Result<usize> {
        let runs = crate::store::runs::left_behind(&self.db).await?;
        let mut touched = 0;
        for r in runs {
            if r.executor != EXECUTOR {
                super::local::fail_orphan(&self.db, &self.logs, &r).await?;
                touched += 1;
                continue;
            }
            let status = r.status()?;
            if status == Status::Stopping {
                self.stop(r.id);
                touched += 1;
                continue;
            }
            let Some(first) = r.manifests()?.into_iter().next() else { continue };
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), &self.namespace, &resource(&first));
            match api.get_opt(&objects::name(r.id, r.retries)).await {
                Ok(Some(_)) => {}
                Ok(None) if matches!(status, Status::Scheduled | Status::Retrying) => {
                    self.start(r);
                    touched += 1;
                }
                Ok(None) => {
                    let msg = "the run's workload disappeared from the cluster while the server was down";
                    append(&self.logs.path(r.id), &system_line(msg)).await;
                    transition(&self.db, r.id, Status::Failed, "WorkloadLost", Some(msg)).await?;
                    self.logs.archive(r.project_id, r.id).await;
                    touched += 1;
                }
                Err(e) => {
                    tracing::warn!(run = %r.id, "cannot check the run's workload now ({e}); the watchers will");
                }
            }
        }
        Ok(touched)
    }

    async fn set_diagnosis(&self, id: Uuid, d: Option<&Diagnosis>) {
        let v = d.map(|d| serde_json::to_value(d).unwrap_or_default());
        let written = run::Entity::update_many()
            .col_expr(run::Column::Diagnosis, Expr::value(v))
            .filter(run::Column::Id.eq(id))
            .exec(&self.db)
            .await;
        if let Err(e) = written {
            tracing::error!(run = %id, error = ?e, "cannot store the run's diagnosis");
        }
    }

    /// A run ended: its log goes to the artifact store once the follower is done with it.
    async fn finish(&self, id: Uuid) {
        let Some(r) = run::Entity::find_by_id(id).one(&self.db).await.ok().flatten() else { return };
        follow::wait_done(self, id).await;
        self.logs.archive(r.project_id, id).await;
        self.live.lock().expect("lock").remove(&id);
    }
}

fn system_line(msg: &str) -> String {
    format!("{} system {msg}", chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// The API resource of a manifest (`apiVersion` + `kind`; plural by Kubernetes' rule for these kinds).
pub(crate) fn resource(o: &Value) -> ApiResource {
    let (group, version) = match o["apiVersion"].as_str().unwrap_or("v1").rsplit_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), o["apiVersion"].as_str().unwrap_or("v1").to_string()),
    };
    let kind = o["kind"].as_str().unwrap_or_default();
    ApiResource::from_gvk(&GroupVersionKind::gvk(&group, &version, kind))
}
