//! The cluster page's data: Nodes with GPU capacity and allocation, the runs on each, and the queue.

use leptos::prelude::*;

use super::AppError;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ctx::{err, require_user, state};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterView {
    pub executor: String,
    pub namespace: Option<String>,
    pub synced: bool,
    pub nodes: Vec<NodeView>,
    pub queue: Vec<Waiting>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    pub name: String,
    pub ready: bool,
    pub unschedulable: bool,
    pub taints: Vec<String>,
    pub gpus: f64,
    pub gpus_used: f64,
    pub cpus: f64,
    pub cpus_used: f64,
    /// GiB.
    pub memory: f64,
    pub memory_used: f64,
    /// `(link, project/name)` of the caller's runs on the node.
    pub runs: Vec<(String, String)>,
    pub other_runs: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    pub link: String,
    pub label: String,
    pub status: String,
    pub since: String,
    /// The diagnosis (`code`, message) or the status message.
    pub why: Option<(String, String)>,
}

#[server]
pub async fn get_cluster() -> Result<ClusterView, AppError> {
    let st = state()?;
    let me = require_user().await?;
    let page = backend::services::cluster::page(&st.db, &st.executor, &me).await.map_err(err)?;
    let link = |r: &backend::services::cluster::RunRef| {
        (format!("/{}/runs/{}", r.project, r.uuid), format!("{}/{}", r.project, r.name))
    };
    let gib = |b: f64| (b / 1024f64.powi(3) * 10.0).round() / 10.0;
    Ok(ClusterView {
        executor: page.executor,
        namespace: page.namespace,
        synced: page.synced,
        nodes: page
            .nodes
            .iter()
            .map(|c| (&c.node, c))
            .map(|(n, c)| NodeView {
                name: n.name.clone(),
                ready: n.ready,
                unschedulable: n.unschedulable,
                taints: n.taints.clone(),
                gpus: n.gpus,
                gpus_used: n.gpus_used,
                cpus: n.cpus,
                cpus_used: (n.cpus_used * 100.0).round() / 100.0,
                memory: gib(n.memory),
                memory_used: gib(n.memory_used),
                runs: c.runs.iter().map(link).collect(),
                other_runs: c.other_runs,
            })
            .collect(),
        queue: page
            .queue
            .iter()
            .map(|w| {
                let (href, label) = link(&w.run);
                Waiting {
                    link: href,
                    label,
                    status: w.run.status.clone(),
                    since: w.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    why: w
                        .diagnosis
                        .as_ref()
                        .map(|d| (d.code.clone(), d.message.clone()))
                        .or_else(|| w.status_message.clone().map(|m| (String::new(), m))),
                }
            })
            .collect(),
    })
}
