//! Runs: what a client submits, and what the API answers about runs (summaries, details, the timeline, the
//! queue, reproducibility, cache decisions, diagnoses).

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use spec::cache::KeyInputs;
use spec::lifecycle::{RunKind, Status};
use uuid::Uuid;

/// What a client submits.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Submission {
    /// The polyaxonfile (YAML text).
    pub content: String,
    /// Overlay files, applied in order (`-f a.yaml -f b.yaml`).
    #[serde(default)]
    pub overlays: Vec<String>,
    /// Params, `name -> value` (`-P name=value`).
    #[serde(default)]
    pub params: serde_json::Map<String, Value>,
    /// A name for the run (defaults to the component's name).
    #[serde(default)]
    pub name: Option<String>,
    /// Queue the run even when the pre-flight check finds that no node of the cluster could ever take it.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RunSummary {
    pub uuid: Uuid,
    pub name: String,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub kind: RunKind,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub status: Status,
    pub user: String,
    pub created_at: chrono::DateTime<Utc>,
    pub started_at: Option<chrono::DateTime<Utc>>,
    pub finished_at: Option<chrono::DateTime<Utc>>,
    /// Seconds from start to finish (or to now while running).
    pub duration: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RunPage {
    pub items: Vec<RunSummary>,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub status: Status,
    pub at: chrono::DateTime<Utc>,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// Where a queued run stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct QueuePosition {
    /// 1 = next to start.
    pub position: u64,
    pub running: u64,
    pub limit: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RunDetail {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub project: String,
    pub params: serde_json::Map<String, Value>,
    /// Declared outputs, valued from what the run logged under their names (metric, then param, then tag).
    pub outputs: serde_json::Map<String, Value>,
    /// The last value of each metric the run logged (`null` for NaN).
    pub metrics: std::collections::BTreeMap<String, Option<f64>>,
    /// Each metric's last value, true min/max, last step and point count.
    pub metric_stats: Vec<MetricSummary>,
    /// Params as logged through the tracking API (strings; the submitted params are logged too).
    pub logged_params: std::collections::BTreeMap<String, String>,
    pub tags: std::collections::BTreeMap<String, String>,
    pub timeline: Vec<TimelineEntry>,
    pub status_reason: Option<String>,
    pub status_message: Option<String>,
    pub exit_code: Option<i32>,
    pub retries: i32,
    /// Why the run waits or why it died (Kubernetes runs): `{code, message, scheduler_message, findings}`.
    pub diagnosis: Option<Diagnosis>,
    /// Whether results were reused, under which key, and why (`null` when caching is off for the run).
    pub cache: Option<CacheInfo>,
    /// The node the run's pod was bound to (Kubernetes runs).
    pub node: Option<String>,
    pub queue: Option<QueuePosition>,
    /// The run this one restarts or copies.
    pub original: Option<Uuid>,
    /// The pipeline (DAG or matrix run) this run is a child of.
    pub pipeline: Option<Uuid>,
    /// Its step there: `{name, upstream, trigger, conditions, skip_on_upstream_skip, index}`.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<Object>))]
    pub step: Option<Value>,
    /// What makes the run reproducible: the spec as written and compiled, the image, who and which Myelin.
    pub reproducibility: Reproducibility,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Reproducibility {
    pub content: String,
    pub overlays: Vec<String>,
    pub submitted_params: Value,
    pub compiled: Value,
    /// The image as written; the local executor records it but does not pull it.
    pub image: Option<String>,
    /// The digest the node pulled (`imageID` of the main container; Kubernetes runs).
    pub image_id: Option<String>,
    /// The commit checked out by an `init.git` step.
    pub git_commit: Option<String>,
    pub executor: String,
    pub myelin_version: String,
}

/// A refused polyaxonfile: nothing was stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct InvalidSpec {
    pub error: String,
    pub message: String,
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<Object>))]
    pub errors: Vec<Value>,
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<Object>))]
    pub warnings: Vec<Value>,
}

/// The last value of a metric and its true extremes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MetricSummary {
    pub key: String,
    /// `null` when the last value was NaN.
    pub last: Option<f64>,
    pub step: i64,
    pub timestamp: i64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub count: i64,
}

/// What `ops get` and the run page show about a run's cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CacheInfo {
    pub enabled: bool,
    pub key: String,
    pub hit: bool,
    /// The run whose results this one reuses.
    pub original: Option<Uuid>,
    /// The original is still in flight: this run waits for it and takes its results (pipelines only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub waiting: bool,
    /// Why it was reused, or what changed since the last run of the same name.
    pub explanation: Vec<String>,
    /// What went into the key.
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub inputs: KeyInputs,
}

/// Why a run waits or why it died. `code` is stable (`insufficient_gpu`, `untolerated_taint`,
/// `node_selector_mismatch`, `image_pull`, `oom_killed`, `evicted`, `deadline_exceeded`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Diagnosis {
    pub code: String,
    pub message: String,
    /// The scheduler's own words (the pod's `PodScheduled` condition or its `FailedScheduling` event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler_message: Option<String>,
    /// Every reason found, the first being `code`/`message`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Reason {
    pub code: String,
    pub message: String,
}
