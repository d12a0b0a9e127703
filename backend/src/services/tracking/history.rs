//! Reading metric histories (MLflow's paged get-history is `pages`): sampled at step intervals (MLflow's bulk-interval),
//! and downsampled for charts (min/max buckets, which keep every spike; first and last points always kept).

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::chunks::decode;
use crate::entities::{latest_metric, metric_chunk};
use crate::error::Result;

/// A point of a known series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sample {
    pub step: i64,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// `null` for NaN.
    #[serde(with = "nan_as_null")]
    #[schema(value_type = Option<f64>)]
    pub value: f64,
}

/// One run's series of one metric, ready to draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Series {
    pub run: Uuid,
    pub key: String,
    pub points: Vec<Sample>,
    /// Points stored (before downsampling).
    pub total: i64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub last: Option<f64>,
}

/// Every point of the given runs' metric `key`, by run, sorted by step then time.
async fn load(db: &DatabaseConnection, runs: &[Uuid], key: &str) -> Result<Vec<(Uuid, Vec<Sample>)>> {
    let mut out: Vec<(Uuid, Vec<Sample>)> = runs.iter().map(|r| (*r, Vec::new())).collect();
    let index: std::collections::HashMap<Uuid, usize> =
        runs.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    for ids in runs.chunks(500) {
        let rows: Vec<(Uuid, Vec<u8>)> = metric_chunk::Entity::find()
            .select_only()
            .columns([metric_chunk::Column::RunId, metric_chunk::Column::Data])
            .filter(metric_chunk::Column::Key.eq(key))
            .filter(metric_chunk::Column::RunId.is_in(ids.to_vec()))
            .order_by_asc(metric_chunk::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        for (run, data) in rows {
            let v = &mut out[index[&run]].1;
            v.reserve(data.len() / 24);
            decode(&data, |step, timestamp, value| v.push(Sample { step, timestamp, value }));
        }
    }
    for (_, v) in &mut out {
        v.sort_by_key(|s| (s.step, s.timestamp));
    }
    Ok(out)
}

/// Chart-ready series of `key` for several runs, each at most `max_points` long.
pub async fn series(
    db: &DatabaseConnection,
    runs: &[Uuid],
    key: &str,
    max_points: usize,
) -> Result<Vec<Series>> {
    let summaries = latest_metric::Entity::find()
        .filter(latest_metric::Column::Key.eq(key))
        .filter(latest_metric::Column::RunId.is_in(runs.to_vec()))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for (run, points) in load(db, runs, key).await? {
        let s = summaries.iter().find(|m| m.run_id == run);
        out.push(Series {
            run,
            key: key.to_string(),
            total: points.len() as i64,
            points: downsample(&points, max_points),
            min: s.and_then(|m| m.min_value),
            max: s.and_then(|m| m.max_value),
            last: s.and_then(|m| m.value),
        });
    }
    Ok(out)
}

/// At most `max` points: per bucket its minimum and maximum (in step order), plus the first and last point.
pub fn downsample(points: &[Sample], max: usize) -> Vec<Sample> {
    let n = points.len();
    if n <= max.max(2) {
        return points.to_vec();
    }
    let buckets = (max.saturating_sub(2) / 2).max(1);
    let mut keep = Vec::with_capacity(max);
    keep.push(0);
    for b in 0..buckets {
        let (lo, hi) = (1 + b * (n - 2) / buckets, 1 + (b + 1) * (n - 2) / buckets);
        let slice = &points[lo..hi];
        let finite = slice.iter().enumerate().filter(|(_, p)| !p.value.is_nan());
        let min = finite.clone().min_by(|a, b| a.1.value.total_cmp(&b.1.value)).map(|(i, _)| lo + i);
        let max = finite.max_by(|a, b| a.1.value.total_cmp(&b.1.value)).map(|(i, _)| lo + i);
        match (min, max) {
            (Some(a), Some(b)) => {
                keep.push(a.min(b));
                keep.push(a.max(b));
            }
            _ if lo < hi => keep.push(lo),
            _ => {}
        }
    }
    keep.push(n - 1);
    keep.dedup();
    keep.into_iter().map(|i| points[i]).collect()
}

/// MLflow's `get-history-bulk-interval`: per run, the points at up to `max_results` steps spread evenly over
/// `[start, end]` (always the first and last step).
pub async fn bulk_interval(
    db: &DatabaseConnection,
    runs: &[Uuid],
    key: &str,
    start: Option<i64>,
    end: Option<i64>,
    max_results: usize,
) -> Result<Vec<(Uuid, Sample)>> {
    let mut out = Vec::new();
    for (run, points) in load(db, runs, key).await? {
        // Points are sorted by step: the steps inside the range, then every k-th of them, walked in step.
        let inside =
            points.iter().filter(|p| start.is_none_or(|s| p.step >= s) && end.is_none_or(|e| p.step <= e));
        let mut steps: Vec<i64> = inside.clone().map(|p| p.step).collect();
        steps.dedup();
        if steps.len() > max_results {
            let k = max_results.max(2);
            steps = (0..k).map(|i| steps[i * (steps.len() - 1) / (k - 1)]).collect();
            steps.dedup();
        }
        let mut next = steps.iter().peekable();
        for p in inside {
            while next.peek().is_some_and(|s| **s < p.step) {
                next.next();
            }
            if next.peek() == Some(&&p.step) {
                out.push((run, *p));
            }
        }
    }
    Ok(out)
}

mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample { step: i as i64, timestamp: i as i64, value: *v })
            .collect()
    }

    #[test]
    fn downsampling_keeps_spikes_and_ends() {
        let mut v: Vec<f64> = (0..10_000).map(|i| (i as f64 / 100.0).sin()).collect();
        v[5_000] = 100.0;
        v[7_000] = -100.0;
        let out = downsample(&series(&v), 500);
        assert!(out.len() <= 500, "{}", out.len());
        assert_eq!(out.first().unwrap().step, 0);
        assert_eq!(out.last().unwrap().step, 9_999);
        assert!(out.iter().any(|p| p.value == 100.0) && out.iter().any(|p| p.value == -100.0));
        assert!(out.windows(2).all(|w| w[0].step < w[1].step));
    }

    #[test]
    fn short_series_are_untouched() {
        let s = series(&[1.0, f64::NAN, 3.0]);
        assert_eq!(downsample(&s, 500).len(), 3);
    }
}
