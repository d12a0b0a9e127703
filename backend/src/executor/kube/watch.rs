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
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use spec::lifecycle::Status;
use spec::placement::NodeView;
use uuid::Uuid;

use super::objects::RUN;
use super::{KubeExecutor, EXECUTOR};
use crate::entities::run;

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

/// Starts the built-in watchers and the reconcile workers.
pub fn spawn(exec: Arc<KubeExecutor>) {
    let mut tasks = watchers(exec.clone());
    tasks.extend(super::reconcile::workers(exec.clone()));
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
    // A pod the apiserver refuses (quota, limit range) is said so on its creator, not on a pod: a Job, or a
    // Deployment's ReplicaSet.
    for (kind, key) in [("Job", JOB_EVENTS), ("ReplicaSet", REPLICA_SET_EVENTS)] {
        let refused = watcher::Config::default().fields(&format!("type=Warning,involvedObject.kind={kind}"));
        out.push(spawn(mirror(exec.clone(), core("", "v1", "Event"), refused, Scope::Namespace, Some(key))));
    }
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
/// The cache key of the Warning events of Jobs.
pub const JOB_EVENTS: &str = "job-events";
/// The cache key of the Warning events of ReplicaSets (a Deployment's pods are theirs to create).
pub const REPLICA_SET_EVENTS: &str = "replica-set-events";

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

pub(super) fn run_of(v: &Value) -> Option<Uuid> {
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
            JOB_EVENTS => {
                let job = v["involvedObject"]["name"].as_str().unwrap_or_default();
                if let Some(id) = self.cache.get("jobs", job).as_ref().and_then(run_of) {
                    self.dirty.push(id);
                }
            }
            REPLICA_SET_EVENTS => {
                let rs = v["involvedObject"]["name"].as_str().unwrap_or_default();
                if let Some(id) =
                    self.cache.get("deployments", super::assess::deployment_of(rs)).as_ref().and_then(run_of)
                {
                    self.dirty.push(id);
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
}
