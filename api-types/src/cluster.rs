//! The cluster page: the executor, each Node with its capacity and allocation, the runs on it, and the queue.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use spec::lifecycle::Status;
use uuid::Uuid;

use crate::Diagnosis;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NodeSummary {
    pub name: String,
    pub ready: bool,
    pub unschedulable: bool,
    /// `key=value:Effect` for each taint.
    pub taints: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// GPUs (every `*/gpu` resource summed), CPUs and memory (bytes): allocatable and requested.
    pub gpus: f64,
    pub gpus_used: f64,
    pub cpus: f64,
    pub cpus_used: f64,
    pub memory: f64,
    pub memory_used: f64,
    pub pods: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ClusterPage {
    /// `local` or `kubernetes`.
    pub executor: String,
    pub namespace: Option<String>,
    /// Whether the Nodes have been listed (false while the API server is unreachable at start).
    pub synced: bool,
    pub nodes: Vec<ClusterNode>,
    /// Runs waiting to start or to be placed, oldest first.
    pub queue: Vec<WaitingRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ClusterNode {
    #[serde(flatten)]
    pub node: NodeSummary,
    /// The caller's runs on this node.
    pub runs: Vec<RunRef>,
    /// Myelin runs of projects the caller cannot see.
    pub other_runs: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RunRef {
    pub uuid: Uuid,
    pub project: String,
    pub name: String,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub status: Status,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WaitingRun {
    #[serde(flatten)]
    pub run: RunRef,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub status_message: Option<String>,
    pub diagnosis: Option<Diagnosis>,
}
