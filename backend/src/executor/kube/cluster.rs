//! The cluster as the cluster page shows it: each Node with its GPU, CPU and memory capacity, what is
//! allocated, its taints, and the Myelin runs bound to it — from the watchers' mirror, no extra API calls.

use std::collections::BTreeMap;

use serde_json::Value;
use uuid::Uuid;

use super::objects::RUN;
use super::watch::BOUND;
use super::KubeExecutor;

pub use api_types::NodeSummary;

#[derive(Debug, Clone)]
pub struct ClusterView {
    pub namespace: String,
    /// False until the Node watcher has listed once (or while the API server is unreachable at start).
    pub synced: bool,
    /// Each node, with the Myelin runs that have a pod on it.
    pub nodes: Vec<(NodeSummary, Vec<Uuid>)>,
}

fn gpus(m: &BTreeMap<String, f64>) -> f64 {
    m.iter().filter(|(k, _)| k.ends_with("/gpu")).map(|(_, v)| v).sum()
}

impl KubeExecutor {
    pub fn cluster(&self) -> ClusterView {
        let views = self.node_views();
        let nodes = self.cache.all("nodes", |_| true);
        let bound = self.cache.all(BOUND, |p| !p["metadata"]["labels"][RUN].is_null());
        let mut out: Vec<(NodeSummary, Vec<Uuid>)> = views
            .into_iter()
            .map(|v| {
                let node = nodes.iter().find(|n| n["metadata"]["name"] == v.name.as_str());
                let ready = node
                    .and_then(|n| n["status"]["conditions"].as_array())
                    .into_iter()
                    .flatten()
                    .any(|c: &Value| c["type"] == "Ready" && c["status"] == "True");
                let mut runs: Vec<Uuid> = bound
                    .iter()
                    .filter(|p| p["spec"]["nodeName"] == v.name.as_str())
                    .filter_map(|p| p["metadata"]["labels"][RUN].as_str()?.parse().ok())
                    .collect();
                runs.sort();
                runs.dedup();
                let get = |m: &BTreeMap<String, f64>, k: &str| m.get(k).copied().unwrap_or(0.0);
                let summary = NodeSummary {
                    ready,
                    unschedulable: v.unschedulable,
                    taints: v.taints.iter().map(spec::placement::taint_text).collect(),
                    gpus: gpus(&v.allocatable),
                    gpus_used: gpus(&v.used),
                    cpus: get(&v.allocatable, "cpu"),
                    cpus_used: get(&v.used, "cpu"),
                    memory: get(&v.allocatable, "memory"),
                    memory_used: get(&v.used, "memory"),
                    pods: v.pods,
                    labels: v.labels,
                    name: v.name,
                };
                (summary, runs)
            })
            .collect();
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        ClusterView { namespace: self.namespace.clone(), synced: self.cache.synced("nodes"), nodes: out }
    }

    /// The pre-flight check of a compiled run: the first reason no node could ever take one of its pods, or
    /// one of a pipeline's ops' or matrix children's (named in the message).
    pub fn preflight(&self, compiled: &spec::compile::Run) -> Option<spec::placement::Finding> {
        use spec::placement::{never_fits, pod_specs, Needs};
        if !self.cache.synced("nodes") {
            return None;
        }
        let nodes = self.node_views();
        // A matrix's children mostly ask for the same: each distinct pod is checked once.
        let mut checked: Vec<Needs> = Vec::new();
        for (at, run) in compiled.each_run() {
            for pod in pod_specs(&run.manifests) {
                let needs = Needs::of_pod_spec(pod);
                if checked.contains(&needs) {
                    continue;
                }
                if let Some(mut f) = never_fits(&needs, &nodes) {
                    if !at.is_empty() {
                        f.message = format!("{at}: {}", f.message);
                    }
                    return Some(f);
                }
                checked.push(needs);
            }
        }
        None
    }
}
