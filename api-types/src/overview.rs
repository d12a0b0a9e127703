//! A project's overview: where its runs stand, what runs and waits now, the latest and the best runs.

use serde::{Deserialize, Serialize};

use crate::RunSummary;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ProjectOverview {
    /// Every run of the project (pipeline ops and matrix children included) by status, most frequent first.
    pub by_status: Vec<StatusCount>,
    pub total: u64,
    /// Runs holding resources now (oldest first, at most 20).
    pub running: Vec<RunSummary>,
    /// Runs waiting for a slot, in queue order (at most 20): the first is next.
    pub queued: Vec<RunSummary>,
    /// Queued runs in all (the list shows the first 20).
    pub queued_total: u64,
    /// The newest runs that are not part of a pipeline (at most 10).
    pub latest: Vec<RunSummary>,
    /// The newest DAG and matrix runs (at most 5).
    pub pipelines: Vec<RunSummary>,
    /// Metric keys the project's runs logged (at most 100, sorted), for choosing `best`.
    pub metric_keys: Vec<String>,
    /// The best runs by the chosen metric's latest value; `None` when no metric was logged.
    pub best: Option<BestRuns>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct StatusCount {
    pub status: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BestRuns {
    pub key: String,
    /// `min` or `max`: which end is best.
    pub goal: String,
    /// At most 10, best first.
    pub runs: Vec<RankedRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RankedRun {
    pub run: RunSummary,
    pub value: f64,
    pub step: i64,
}
