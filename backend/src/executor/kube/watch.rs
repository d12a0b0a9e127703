//! The watchers: Pods and workloads (Jobs, Deployments, and any dynamic kind a run used) carrying the run
//! label, Warning Events of Pods, and Nodes. Each keeps a mirror of what it saw (relisted atomically after a
//! watch restarts), and every change re-assesses the runs it concerns.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use spec::lifecycle::Status;
use spec::placement::NodeView;
use uuid::Uuid;

use super::assess::{assess, Seen};
use super::objects::{ATTEMPT, RUN};
use super::{resource, KubeExecutor, EXECUTOR};
use crate::entities::run;
use crate::store::status::transition_with;

#[derive(Default)]
pub struct Cache {
    objects: Mutex<HashMap<String, HashMap<String, Value>>>,
    synced: Mutex<HashSet<String>>,
}

impl Cache {
    pub fn synced(&self, plural: &str) -> bool {
        self.synced.lock().expect("lock").contains(plural)
    }

    pub fn get(&self, plural: &str, name: &str) -> Option<Value> {
        self.objects.lock().expect("lock").get(plural)?.get(name).cloned()
    }

    /// All objects of a kind that pass `keep`.
    pub fn all(&self, plural: &str, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
        let map = self.objects.lock().expect("lock");
        map.get(plural).into_iter().flat_map(|m| m.values()).filter(|v| keep(v)).cloned().collect()
    }

    fn put(&self, plural: &str, name: String, v: Option<Value>) {
        let mut map = self.objects.lock().expect("lock");
        let kind = map.entry(plural.to_string()).or_default();
        match v {
            Some(v) => kind.insert(name, v),
            None => kind.remove(&name),
        };
    }

    fn replace(&self, plural: &str, fresh: HashMap<String, Value>) {
        self.objects.lock().expect("lock").insert(plural.to_string(), fresh);
        self.synced.lock().expect("lock").insert(plural.to_string());
    }
}

fn core(group: &str, version: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// Sync workers: enough to overlap database round trips (SQLite still writes one at a time).
const WORKERS: usize = 4;

/// Starts the built-in watchers and the sync workers.
pub fn spawn(exec: Arc<KubeExecutor>) {
    let mut tasks = watchers(exec.clone());
    for _ in 0..WORKERS {
        let me = exec.clone();
        tasks.push(
            tokio::spawn(async move {
                loop {
                    let id = me.dirty.pop().await;
                    me.sync(id).await;
                    me.dirty.done(id);
                }
            })
            .abort_handle(),
        );
    }
    exec.tasks.lock().expect("lock").extend(tasks);
}

fn watchers(exec: Arc<KubeExecutor>) -> Vec<tokio::task::AbortHandle> {
    let mut out = Vec::new();
    let labelled = watcher::Config::default().labels(RUN);
    let spawn = |f| tokio::spawn(f).abort_handle();
    for ar in [core("", "v1", "Pod"), core("batch", "v1", "Job"), core("apps", "v1", "Deployment")] {
        out.push(spawn(mirror(exec.clone(), ar, labelled.clone(), Scope::Namespace, None)));
    }
    let warnings = watcher::Config::default().fields("type=Warning,involvedObject.kind=Pod");
    out.push(spawn(mirror(exec.clone(), core("", "v1", "Event"), warnings, Scope::Namespace, None)));
    let all = watcher::Config::default();
    out.push(spawn(mirror(exec.clone(), core("", "v1", "Node"), all, Scope::Cluster, None)));
    // What every bound, unfinished pod of the cluster requests: the Nodes' free resources.
    let bound =
        watcher::Config::default().fields("spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed");
    out.push(spawn(mirror(exec, core("", "v1", "Pod"), bound, Scope::Cluster, Some(BOUND))));
    out
}

/// Watches a dynamic kind (a Kubeflow job, ...) the first time a run uses it.
pub fn ensure(exec: &KubeExecutor, ar: &ApiResource) {
    if !exec.watched.lock().expect("lock").insert(ar.plural.clone()) {
        return;
    }
    if let Some(me) = exec.this() {
        let cfg = watcher::Config::default().labels(RUN);
        let task = tokio::spawn(mirror(me, ar.clone(), cfg, Scope::Namespace, None));
        exec.tasks.lock().expect("lock").push(task.abort_handle());
    }
}

/// The cache key of all bound, unfinished pods in the cluster.
pub const BOUND: &str = "bound-pods";

#[derive(Clone, Copy)]
enum Scope {
    Namespace,
    Cluster,
}

async fn mirror(
    exec: Arc<KubeExecutor>,
    ar: ApiResource,
    cfg: watcher::Config,
    scope: Scope,
    key: Option<&str>,
) {
    let api: Api<DynamicObject> = match scope {
        Scope::Namespace => Api::namespaced_with(exec.client.clone(), &exec.namespace, &ar),
        Scope::Cluster => Api::all_with(exec.client.clone(), &ar),
    };
    let plural = key.unwrap_or(&ar.plural).to_string();
    let mut stream = watcher::watcher(api, cfg).default_backoff().boxed();
    let mut fresh: Option<HashMap<String, Value>> = None;
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(Event::Init) => fresh = Some(HashMap::new()),
            Ok(Event::InitApply(o)) => {
                let v = as_json(&ar, o);
                fresh.get_or_insert_with(HashMap::new).insert(key_of(&v), v);
            }
            Ok(Event::InitDone) => {
                exec.cache.replace(&plural, fresh.take().unwrap_or_default());
                exec.resync(&plural).await;
            }
            Ok(Event::Apply(o)) => {
                let v = as_json(&ar, o);
                tracing::debug!(kind = %ar.kind, name = %key_of(&v), "watch: applied");
                exec.cache.put(&plural, key_of(&v), Some(v.clone()));
                exec.changed(&plural, &v, false).await;
            }
            Ok(Event::Delete(o)) => {
                let v = as_json(&ar, o);
                exec.cache.put(&plural, key_of(&v), None);
                exec.changed(&plural, &v, true).await;
            }
            Err(e) => tracing::warn!(kind = %ar.kind, "watch failed ({e}); retrying with backoff"),
        }
    }
}

fn as_json(ar: &ApiResource, o: DynamicObject) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or_default();
    v["apiVersion"] = Value::String(ar.api_version.clone());
    v["kind"] = Value::String(ar.kind.clone());
    v
}

/// The name, qualified by namespace outside Myelin's own namespace (bound pods of the whole cluster).
fn key_of(v: &Value) -> String {
    let name = v["metadata"]["name"].as_str().unwrap_or_default();
    match v["metadata"]["namespace"].as_str() {
        Some(ns) if v["kind"] == "Pod" && v["metadata"]["labels"][RUN].is_null() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

fn run_of(v: &Value) -> Option<Uuid> {
    v["metadata"]["labels"][RUN].as_str()?.parse().ok()
}

impl KubeExecutor {
    async fn changed(&self, plural: &str, v: &Value, deleted: bool) {
        match plural {
            "nodes" => self.resync("nodes").await,
            BOUND => {
                // A pod ended (finished pods leave this watch) or went away: runs waiting for resources may fit.
                if deleted {
                    self.resync("nodes").await;
                }
            }
            "events" => {
                let pod = v["involvedObject"]["name"].as_str().unwrap_or_default();
                if let Some(id) = self.cache.get("pods", pod).as_ref().and_then(run_of) {
                    self.dirty.push(id);
                }
            }
            _ => {
                if let Some(id) = run_of(v) {
                    self.dirty.push(id);
                }
            }
        }
    }

    /// After a (re)list: every active run dispatched here (or, for Node changes, every run waiting on them).
    async fn resync(&self, plural: &str) {
        let statuses: Vec<&str> = if plural == "nodes" {
            vec![Status::Unschedulable.as_str()]
        } else {
            spec::lifecycle::ALL.iter().filter(|s| s.is_active()).map(|s| s.as_str()).collect()
        };
        let ids: Vec<Uuid> = run::Entity::find()
            .filter(run::Column::Executor.eq(EXECUTOR))
            .filter(run::Column::Status.is_in(statuses))
            .all(&self.db)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.id)
            .collect();
        for id in ids {
            self.dirty.push(id);
        }
    }

    /// The Nodes as placement sees them, with the pods bound to each.
    pub(super) fn node_views(&self) -> Vec<NodeView> {
        let nodes = self.cache.all("nodes", |_| true);
        let bound = self.cache.all(BOUND, |_| true);
        let mut by_node: HashMap<&str, Vec<&Value>> = HashMap::new();
        for p in &bound {
            by_node.entry(p["spec"]["nodeName"].as_str().unwrap_or_default()).or_default().push(p);
        }
        nodes
            .iter()
            .map(|n| {
                let name = n["metadata"]["name"].as_str().unwrap_or_default();
                NodeView::of_node(n, by_node.get(name).map(Vec::as_slice).unwrap_or_default())
            })
            .collect()
    }

    /// Re-assesses one run from what the watchers hold and records what changed.
    pub(super) async fn sync(&self, id: Uuid) {
        if let Err(e) = self.try_sync(id).await {
            tracing::warn!(run = %id, error = ?e, "cannot update the run from the cluster");
        }
    }

    async fn try_sync(&self, id: Uuid) -> crate::Result<()> {
        let Some(r) = run::Entity::find_by_id(id).one(&self.db).await? else { return Ok(()) };
        let status = r.status()?;
        if r.executor != EXECUTOR
            || status.is_done()
            || matches!(status, Status::Stopping | Status::Queued | Status::Created | Status::Compiled)
        {
            return Ok(());
        }
        let name = super::objects::name(id, r.retries);
        let Some(first) = r.manifests()?.into_iter().next() else { return Ok(()) };
        let ar = resource(&first);
        let Some(top) = self.cache.get(&ar.plural, &name) else {
            tracing::debug!(plural = %ar.plural, %name, "sync: no workload seen");
            return Ok(());
        };
        let attempt = r.retries.to_string();
        let pods = self.cache.all("pods", |p| {
            run_of(p) == Some(id) && p["metadata"]["labels"][ATTEMPT].as_str() == Some(attempt.as_str())
        });
        let names: HashSet<&str> = pods.iter().filter_map(|p| p["metadata"]["name"].as_str()).collect();
        let warnings = self
            .cache
            .all("events", |e| e["involvedObject"]["name"].as_str().is_some_and(|n| names.contains(n)));
        // The Nodes matter only to explain a pod no node took; building their view is the costly part of a sync.
        let unplaced = pods.iter().any(|p| p["spec"]["nodeName"].is_null());
        let nodes = if unplaced { self.node_views() } else { Vec::new() };
        let o = assess(&Seen {
            top: &top,
            pods: pods.iter().collect(),
            warnings: warnings.iter().collect(),
            nodes: &nodes,
        });
        let diagnosis = match o.status {
            Status::Running | Status::Succeeded | Status::Starting => None,
            _ => o.diagnosis.as_ref().map(|d| serde_json::to_value(d).unwrap_or_default()),
        };
        // What changed besides the status, written with the transition so no reader sees one without the other.
        let mut also: Vec<(run::Column, SimpleExpr)> = Vec::new();
        if diagnosis != r.diagnosis {
            also.push((run::Column::Diagnosis, Expr::value(diagnosis)));
        }
        if o.node.is_some() && o.node != r.node {
            also.push((run::Column::Node, Expr::value(o.node.clone())));
        }
        let learnt = o.image_id.clone().filter(|i| Some(i) != r.image_id.as_ref());
        if let Some(digest) = &learnt {
            also.push((run::Column::ImageId, Expr::value(Some(digest.clone()))));
        }
        if o.exit_code.is_some() && o.exit_code != r.exit_code {
            also.push((run::Column::ExitCode, Expr::value(o.exit_code)));
        }
        if o.status == Status::Failed && r.retries < r.max_retries {
            let retries = r.retries + 1;
            also.push((run::Column::Retries, Expr::value(retries)));
            let msg = format!("{}; retry {retries} of {}", o.message, r.max_retries);
            if transition_with(&self.db, id, Status::Retrying, "Retrying", Some(&msg), also).await? {
                if let Some(next) = run::Entity::find_by_id(id).one(&self.db).await? {
                    if let Some(me) = self.this() {
                        me.start(next);
                    }
                }
            }
            return Ok(());
        }
        let moved = o.status != status
            && transition_with(&self.db, id, o.status, &o.reason, Some(&o.message), also.clone()).await?;
        if !moved && !also.is_empty() {
            let mut u = run::Entity::update_many().filter(run::Column::Id.eq(id));
            for (column, value) in also {
                u = u.col_expr(column, value);
            }
            u.exec(&self.db).await?;
        }
        if let Some(digest) = &learnt {
            crate::store::cache::learn_digest(&self.db, id, digest).await?;
        }
        if matches!(o.status, Status::Running) || o.status.is_done() {
            if let (Some(me), Some(pod)) = (
                self.this(),
                pods.iter().max_by_key(|p| p["metadata"]["creationTimestamp"].as_str().map(str::to_string)),
            ) {
                me.follow(id, r.retries, pod);
            }
        }
        if moved && o.status.is_done() {
            if let Some(me) = self.this() {
                tokio::spawn(async move { me.finish(id).await });
            }
        }
        Ok(())
    }
}
