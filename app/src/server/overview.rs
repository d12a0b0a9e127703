//! A project's overview for the browser (`backend::services::overview`), rows ready to show.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::runs::RunRow;
use super::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverviewView {
    pub by_status: Vec<(String, u64)>,
    pub total: u64,
    pub running: Vec<RunRow>,
    pub queued: Vec<RunRow>,
    pub queued_total: u64,
    pub latest: Vec<RunRow>,
    pub pipelines: Vec<RunRow>,
    pub metric_keys: Vec<String>,
    pub best: Option<BestView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestView {
    pub key: String,
    pub goal: String,
    /// The run, its value of `key` (as shown) and the step it was logged at.
    pub rows: Vec<(RunRow, String, i64)>,
}

#[server]
pub async fn project_overview(
    owner: String,
    name: String,
    metric: String,
    goal: String,
) -> Result<OverviewView, AppError> {
    use super::ctx::{err, state};
    use super::runs::row;
    let st = state()?;
    let a = super::projects::access(&owner, &name).await?;
    let q = backend::services::overview::OverviewQuery {
        metric: Some(metric).filter(|m| !m.is_empty()),
        goal: Some(goal).filter(|g| !g.is_empty()),
    };
    let o = backend::services::overview::overview(&st.db, &a, &q).await.map_err(err)?;
    let rows = |list: &[api_types::RunSummary]| list.iter().map(row).collect::<Vec<_>>();
    Ok(OverviewView {
        by_status: o.by_status.iter().map(|c| (c.status.clone(), c.count)).collect(),
        total: o.total,
        running: rows(&o.running),
        queued: rows(&o.queued),
        queued_total: o.queued_total,
        latest: rows(&o.latest),
        pipelines: rows(&o.pipelines),
        metric_keys: o.metric_keys,
        best: o.best.map(|b| BestView {
            key: b.key,
            goal: b.goal,
            rows: b.runs.iter().map(|r| (row(&r.run), r.value.to_string(), r.step)).collect(),
        }),
    })
}
