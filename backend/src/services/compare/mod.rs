//! Comparing runs of a project: params, tags and what decides a result side by side, metric summaries with the
//! best run of each, and chart-ready series (min/max downsampled) of the chosen keys.

mod diff;
mod why;

use std::collections::{BTreeMap, HashMap};

use api_types::{ChartSeries, CompareRequest, ComparedRun, Comparison, Line};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

pub use diff::{best, flatten, goal_of, metric_rows, rows};
pub use why::{datasets, pods, why};

use crate::entities::run;
use crate::error::{Error, Result};
use crate::services::projects::ProjectAccess;

/// Runs one comparison may hold.
pub const MAX_RUNS: usize = 1000;
/// Metric keys one comparison may chart.
pub const MAX_CHARTS: usize = 20;
/// Points per line at most.
pub const MAX_POINTS: usize = 500;
/// Points per chart at most: past 200 runs a chart's lines get fewer points each (200 a line at 500 runs, 100 at
/// 1,000: still more than a chart is pixels wide), so the page's data stays a few megabytes.
pub const CHART_POINTS: usize = 100_000;

/// The runs a request compares, checked and loaded in the order asked, with where each one's results live.
struct Chosen {
    runs: Vec<run::Model>,
    /// A reused run's results are its original's.
    sources: Vec<Uuid>,
    baseline: usize,
    /// Points per line.
    points: usize,
}

async fn choose(db: &DatabaseConnection, a: &ProjectAccess, req: &CompareRequest) -> Result<Chosen> {
    let mut ids: Vec<Uuid> = Vec::with_capacity(req.runs.len());
    for id in &req.runs {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    if ids.is_empty() || ids.len() > MAX_RUNS {
        return Err(Error::invalid("runs", format!("compare 1 to {MAX_RUNS} runs, not {}", ids.len())));
    }
    if req.metrics.len() > MAX_CHARTS {
        return Err(Error::invalid("metrics", format!("chart at most {MAX_CHARTS} metrics at once")));
    }
    let points = req.points.unwrap_or(MAX_POINTS);
    if !(2..=MAX_POINTS).contains(&points) {
        return Err(Error::invalid("points", format!("points per line: 2 to {MAX_POINTS}")));
    }
    let baseline = match req.baseline {
        None => 0,
        Some(b) => ids.iter().position(|id| *id == b).ok_or_else(|| {
            Error::invalid("baseline", "the baseline must be one of the runs compared".to_string())
        })?,
    };
    let mut found: HashMap<Uuid, run::Model> = HashMap::new();
    for chunk in ids.chunks(500) {
        for r in run::Entity::find()
            .filter(run::Column::ProjectId.eq(a.project.id))
            .filter(run::Column::DeletedAt.is_null())
            .filter(run::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            found.insert(r.id, r);
        }
    }
    let runs: Vec<run::Model> =
        ids.iter().map(|id| found.remove(id).ok_or(Error::NotFound("run"))).collect::<Result<_>>()?;
    let sources = runs.iter().map(super::runs::cache::source_of).collect();
    Ok(Chosen { points: per_line(points, runs.len()), runs, sources, baseline })
}

/// Every charted key's lines: each source read once (runs reusing the same original share its lines), the keys
/// concurrently (SQLite and PostgreSQL read on their own threads).
async fn series_of(db: &DatabaseConnection, ch: &Chosen, req: &CompareRequest) -> Result<Vec<ChartSeries>> {
    let mut by_source: HashMap<Uuid, Vec<usize>> = HashMap::new();
    for (i, s) in ch.sources.iter().enumerate() {
        by_source.entry(*s).or_default().push(i);
    }
    let unique: Vec<Uuid> = by_source.keys().copied().collect();
    let read = req
        .metrics
        .iter()
        .map(|key| super::tracking::lines::lines(db, &unique, key, req.from_step, req.to_step, ch.points));
    let mut series = Vec::with_capacity(req.metrics.len());
    for (key, lines) in req.metrics.iter().zip(futures_util::future::try_join_all(read).await?) {
        let mut out: Vec<Line> = Vec::with_capacity(lines.len());
        for (source, pts, total) in lines {
            for run in by_source.get(&source).into_iter().flatten() {
                // Times from the run's start: a few digits a point instead of thirteen.
                let started = started(&ch.runs[*run]);
                let points = pts
                    .iter()
                    .map(|p| (p.step, p.timestamp - started, Some(p.value).filter(|v| !v.is_nan())))
                    .collect();
                out.push(Line { run: *run, points, total });
            }
        }
        out.sort_by_key(|l| l.run);
        series.push(ChartSeries { key: key.clone(), lines: out });
    }
    Ok(series)
}

/// The runs side by side: the table and the charted keys' lines.
pub async fn compare(db: &DatabaseConnection, a: &ProjectAccess, req: &CompareRequest) -> Result<Comparison> {
    let ch = choose(db, a, req).await?;
    // The table's data is read while the lines are.
    let (mut data, series) =
        futures_util::future::try_join(super::tracking::data_of(db, &ch.sources), series_of(db, &ch, req))
            .await?;
    let data: Vec<super::tracking::RunData> =
        ch.sources.iter().map(|s| data.remove(s).unwrap_or_default()).collect();
    let params = ch.runs.iter().zip(&data).map(|(r, d)| params_of(r, d)).collect::<Result<Vec<_>>>()?;
    let facts: Vec<BTreeMap<String, String>> = ch.runs.iter().map(facts_of).collect();
    let tags: Vec<BTreeMap<String, String>> = data.iter().map(|d| d.tags.clone()).collect();
    let summaries: Vec<Vec<api_types::MetricSummary>> = data.iter().map(|d| d.metrics.clone()).collect();
    Ok(Comparison {
        runs: ch.runs.iter().map(compared).collect::<Result<_>>()?,
        baseline: ch.baseline,
        params: rows(&params),
        tags: rows(&tags),
        facts: rows(&facts),
        metrics: metric_rows(&summaries, ch.baseline),
        series,
    })
}

/// Only the charted keys' lines of a comparison (what a page showing its table already needs), as `compare`
/// answers them.
pub async fn series(
    db: &DatabaseConnection,
    a: &ProjectAccess,
    req: &CompareRequest,
) -> Result<Vec<ChartSeries>> {
    let ch = choose(db, a, req).await?;
    series_of(db, &ch, req).await
}

/// When a run started, in ms since the epoch (its creation if it never did): lines' times are relative to it.
fn started(r: &run::Model) -> i64 {
    r.started_at.unwrap_or(r.created_at).timestamp_millis()
}

/// A run's params as the table shows them: the compiled ones (dicts flattened), then any logged through tracking.
fn params_of(r: &run::Model, d: &super::tracking::RunData) -> Result<BTreeMap<String, String>> {
    let mut cells = BTreeMap::new();
    for (k, v) in r.compiled_params()? {
        flatten(&k, &v, &mut cells);
    }
    // Params logged through the tracking API (external runs have only these).
    for (k, v) in &d.params {
        cells.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Ok(cells)
}

/// What decides a result besides params.
fn facts_of(r: &run::Model) -> BTreeMap<String, String> {
    [
        ("kind", Some(r.kind.clone())),
        ("status", Some(r.status.clone())),
        ("image", r.image.clone()),
        ("image digest", r.image_id.clone()),
        ("git commit", r.git_commit.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
    .collect()
}

fn compared(r: &run::Model) -> Result<ComparedRun> {
    let s = super::runs::summary(r, String::new())?;
    Ok(ComparedRun {
        uuid: r.id,
        name: r.name.clone(),
        status: r.status.clone(),
        duration: s.duration,
        created_at: r.created_at,
        started: Some(started(r)),
    })
}

/// Points per line for `runs` lines when `asked` were asked for: a chart holds `CHART_POINTS` at most.
pub fn per_line(asked: usize, runs: usize) -> usize {
    asked.min(CHART_POINTS / runs.max(1)).max(2)
}

#[cfg(test)]
mod tests {
    #[test]
    fn many_runs_share_a_charts_points() {
        assert_eq!(super::per_line(500, 3), 500);
        assert_eq!(super::per_line(500, 200), 500);
        assert_eq!(super::per_line(500, 500), 200);
        assert_eq!(super::per_line(500, 1000), 100);
        assert_eq!(super::per_line(50, 1000), 50, "fewer asked, fewer given");
    }
}
