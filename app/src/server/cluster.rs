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
    /// The caller's runs on the node.
    pub runs: Vec<RunLink>,
    pub other_runs: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    pub link: String,
    pub label: String,
    pub status: String,
    pub since: String,
    /// The diagnosis, or the status message (with an empty code).
    pub why: Option<api_types::Reason>,
}

/// A run's page and its `project/name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunLink {
    pub link: String,
    pub label: String,
}

#[server]
pub async fn get_cluster() -> Result<ClusterView, AppError> {
    let st = state()?;
    let me = require_user().await?;
    let page = backend::services::cluster::page(&st.db, &st.executor, &me).await.map_err(err)?;
    let link = |r: &backend::services::cluster::RunRef| RunLink {
        link: format!("/{}/runs/{}", r.project, r.uuid),
        label: format!("{}/{}", r.project, r.name),
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
                let RunLink { link, label } = link(&w.run);
                Waiting {
                    link,
                    label,
                    status: w.run.status.to_string(),
                    since: w.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    why: w
                        .diagnosis
                        .as_ref()
                        .map(|d| api_types::Reason { code: d.code.clone(), message: d.message.clone() })
                        .or_else(|| {
                            w.status_message
                                .clone()
                                .map(|message| api_types::Reason { code: String::new(), message })
                        }),
                }
            })
            .collect(),
    })
}
