//! What a run recorded, for the run page: the end of its log, chart series (downsampled on the server) and its
//! stored files.

use leptos::prelude::*;

use super::AppError;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ctx::{err, state};
#[cfg(feature = "ssr")]
use super::runs::run_of;

/// The end of a run's log as the page first shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogView {
    pub text: String,
    /// Bytes before `text` (only in the download).
    pub skipped: u64,
}

#[server]
pub async fn run_logs(owner: String, name: String, uuid: String) -> Result<LogView, AppError> {
    use backend::executor::logs::TAIL_BYTES;
    let st = state()?;
    let r = run_of(&owner, &name, &uuid).await?;
    let source = backend::services::runs::cache::source_of(&r);
    let tail = st.executor.logs().tail(r.project_id, source, TAIL_BYTES).await;
    Ok(LogView { text: tail.text, skipped: tail.skipped })
}

/// A chart-ready series: `(step, wall time ms, value)`, NaN as `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesView {
    pub key: String,
    pub points: Vec<(i64, i64, Option<f64>)>,
    pub total: i64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub last: Option<f64>,
    /// The first point's time (ms): relative time counts from it, as TensorBoard's does.
    pub started: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileView {
    pub path: String,
    pub is_dir: bool,
    pub size: String,
}

/// The metric `key` of a run, at most `points` long (min/max buckets keep every spike).
#[server]
pub async fn metric_series(
    owner: String,
    name: String,
    uuid: String,
    key: String,
    points: usize,
) -> Result<SeriesView, AppError> {
    let st = state()?;
    let r = run_of(&owner, &name, &uuid).await?;
    let s = backend::services::tracking::history::series(&st.db, &[r.id], &key, points.clamp(2, 5000))
        .await
        .map_err(err)?
        .pop()
        .ok_or_else(|| err(backend::Error::NotFound("metric")))?;
    Ok(SeriesView {
        key,
        points: s
            .points
            .iter()
            .map(|p| (p.step, p.timestamp, Some(p.value).filter(|v| !v.is_nan())))
            .collect(),
        total: s.total,
        min: s.min,
        max: s.max,
        last: s.last,
        started: s.points.first().map_or(0, |p| p.timestamp),
    })
}

/// One directory level of a run's stored files (`""`: the run's root: `artifacts/`, `logs/`).
#[server]
pub async fn run_files(
    owner: String,
    name: String,
    uuid: String,
    dir: String,
) -> Result<Vec<FileView>, AppError> {
    let st = state()?;
    let r = run_of(&owner, &name, &uuid).await?;
    let entries = st.artifacts.list(r.project_id, r.id, &dir).await.map_err(err)?;
    Ok(entries
        .into_iter()
        .map(|e| FileView {
            path: e.path,
            is_dir: e.is_dir,
            size: e.size.map(human_size).unwrap_or_default(),
        })
        .collect())
}

/// `1.5 MiB`: a size as people read it (server and browser).
pub fn human_size(n: u64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n if n < 1024 * 1024 * 1024 => format!("{:.1} MiB", n as f64 / 1048576.0),
        n => format!("{:.2} GiB", n as f64 / 1073741824.0),
    }
}
