//! Comparing runs: what they were given (params, tags, image, commit) side by side with what they logged
//! (metric summaries and chart-ready series), against a baseline.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /api/v1/projects/{owner}/{name}/compare`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CompareRequest {
    /// The runs, in the order to show them (1 to 1,000).
    pub runs: Vec<Uuid>,
    /// Metric keys to chart; empty: none (the table still summarises every key).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Deltas are against this run (one of `runs`); default: the first.
    #[serde(default)]
    pub baseline: Option<Uuid>,
    /// Points per line at most (2 to 500; default 500): each bucket keeps its minimum and maximum. Past 200
    /// runs a chart holds 100,000 points at most: 200 a line at 500 runs, 100 at 1,000.
    #[serde(default)]
    pub points: Option<usize>,
    /// Only the steps in `[from_step, to_step]` (a zoomed chart re-fetched at full resolution).
    #[serde(default)]
    pub from_step: Option<i64>,
    #[serde(default)]
    pub to_step: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Comparison {
    /// The runs compared, in the order asked.
    pub runs: Vec<ComparedRun>,
    /// The baseline's index in `runs`.
    pub baseline: usize,
    /// Every param of any run (nested dicts flattened to `a.b`), sorted by key.
    pub params: Vec<DiffRow>,
    pub tags: Vec<DiffRow>,
    /// What decides a result besides params: image, image digest, git commit, kind, status.
    pub facts: Vec<DiffRow>,
    /// Every metric key any of the runs logged, with each run's last / min / max.
    pub metrics: Vec<MetricRow>,
    /// The chosen keys' series, one line per run that logged the key.
    pub series: Vec<ChartSeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ComparedRun {
    pub uuid: Uuid,
    pub name: String,
    pub status: String,
    /// Seconds from start to finish (or to now while running).
    pub duration: Option<f64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the run started (ms since the epoch; its creation when it never did): its lines' times count from it.
    pub started: Option<i64>,
}

/// One key across the runs: each run's value (`null`: the run has none), and whether they differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DiffRow {
    pub key: String,
    pub values: Vec<Option<String>>,
    pub differs: bool,
}

/// Which way a metric improves: guessed from its name (`loss`, `error`, `mae`, `rmse`, … go down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    Min,
    Max,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MetricRow {
    pub key: String,
    pub goal: Goal,
    pub last: Vec<Option<f64>>,
    pub min: Vec<Option<f64>>,
    pub max: Vec<Option<f64>>,
    /// The index of the best run by each aggregate (by `goal`; `null` when no run has a value).
    pub best_last: Option<usize>,
    pub best_min: Option<usize>,
    pub best_max: Option<usize>,
    /// Each run's last value minus the baseline's.
    pub delta_last: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ChartSeries {
    pub key: String,
    pub lines: Vec<Line>,
}

/// One run's line: `(step, ms since the run started (its `ComparedRun::started`), value or null for NaN)`, at
/// most `points` of them. Values are written to a chart's precision (single precision, 7 significant digits,
/// where that holds them; the table's last / min / max are exact): a chart of 1,000 runs holds 100,000 points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Line {
    /// The run's index in `Comparison::runs`.
    pub run: usize,
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<Vec<f64>>))]
    #[serde(serialize_with = "chart_points")]
    pub points: Vec<(i64, i64, Option<f64>)>,
    /// Points stored in the range (before downsampling).
    pub total: usize,
}

/// `POST /api/v1/projects/{owner}/{name}/compare/why`: two runs of the project.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WhyRequest {
    pub a: Uuid,
    pub b: Uuid,
}

/// Everything that decides a result, for two runs side by side: each section's rows hold `[a, b]` values (rows
/// that are equal too, marked so); `cache` says in words what differs in the cache key's inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WhyDifferent {
    pub a: ComparedRun,
    pub b: ComparedRun,
    /// Params, command and environment, image and code, datasets, upstream values, in that order.
    pub sections: Vec<WhySection>,
    /// The cache keys' inputs compared (`spec::cache::explain`): empty when they are the same.
    pub cache: Vec<String>,
    /// Whether the two runs' cache keys are equal.
    pub same_key: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WhySection {
    pub title: String,
    pub rows: Vec<DiffRow>,
}

fn chart_points<S: serde::Serializer>(points: &[(i64, i64, Option<f64>)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(points.iter().map(|(step, ms, v)| (step, ms, v.map(ChartValue))))
}

/// A value as a chart needs it: single precision when that keeps its magnitude (no overflow, no underflow to
/// zero or to a subnormal), else as it is.
struct ChartValue(f64);

impl Serialize for ChartValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let single = self.0 as f32;
        if single.is_normal() || self.0 == 0.0 {
            s.serialize_f32(single)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Line;

    fn wire(v: f64) -> String {
        let l = Line { run: 0, points: vec![(3, -20, Some(v))], total: 1 };
        let text = serde_json::to_string(&l).unwrap();
        text.trim_start_matches(r#"{"run":0,"points":[[3,-20,"#)
            .trim_end_matches(r#"]],"total":1}"#)
            .to_string()
    }

    #[test]
    fn chart_values_are_written_to_a_charts_precision() {
        assert_eq!(wire(0.123_456_789_012_345), "0.12345679");
        assert_eq!(wire(1.0), "1.0");
        assert_eq!(wire(0.0), "0.0");
        assert_eq!(wire(-2.5e10), "-25000000000.0");
        // Out of single precision's range: as they are, never infinite or zero.
        assert_eq!(wire(1e300), "1e+300");
        assert_eq!(wire(1e-300), "1e-300");
        assert_eq!(wire(1e-40), "1e-40");
        let l = Line { run: 1, points: vec![(3, -20, None)], total: 1 };
        assert_eq!(serde_json::to_string(&l).unwrap(), r#"{"run":1,"points":[[3,-20,null]],"total":1}"#);
    }
}
