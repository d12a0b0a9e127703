//! Chart lines of many runs: each run's points of a key within a step range, downsampled (min/max buckets).
//!
//! A run with many points in the range is read from its chunks' summaries (`chunks::summary`: each block of
//! `BLOCK` points' minimum and maximum), a sixteenth of the bytes; a bucket of the line then spans at least a
//! block, so it keeps the same extremes. Chunks without a summary, and those the range cuts, are read whole.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::chunks::{decode, summarised, BLOCK};
use super::history::{downsample, Sample};
use crate::entities::{latest_metric, metric_chunk, metric_summary};
use crate::error::Result;

/// Runs read together from summaries: what they hold in memory before downsampling is bounded by this many
/// runs' points.
const GROUP: usize = 100;

/// Each run's points of `key` within steps `[from, to]`, downsampled to `max`, with how many there were (runs
/// without points there are left out), in no particular order.
pub async fn lines(
    db: &DatabaseConnection,
    runs: &[Uuid],
    key: &str,
    from: Option<i64>,
    to: Option<i64>,
    max: usize,
) -> Result<Vec<(Uuid, Vec<Sample>, usize)>> {
    // Summaries serve a run when each of its line's buckets spans a block or more.
    let counts = counts(db, runs, key, from, to).await?;
    let enough = (BLOCK * max / 2) as i64;
    let (long, short): (Vec<Uuid>, Vec<Uuid>) =
        runs.iter().filter(|r| counts.contains_key(r)).partition(|r| counts[r] >= enough);
    let mut out = whole(db, &short, key, from, to, max).await?;
    for group in long.chunks(GROUP) {
        out.extend(thinned(db, group, key, from, to, max).await?);
    }
    out.retain(|l| l.2 > 0);
    Ok(out)
}

/// Points per run within the range: the whole series' count kept with its latest value, or in a range, every
/// chunk the range touches (no blob is read).
async fn counts(
    db: &DatabaseConnection,
    runs: &[Uuid],
    key: &str,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<HashMap<Uuid, i64>> {
    let mut out = HashMap::with_capacity(runs.len());
    if from.is_none() && to.is_none() {
        for ids in runs.chunks(500) {
            let rows: Vec<(Uuid, i64)> = latest_metric::Entity::find()
                .select_only()
                .columns([latest_metric::Column::RunId, latest_metric::Column::Count])
                .filter(latest_metric::Column::Key.eq(key))
                .filter(latest_metric::Column::RunId.is_in(ids.to_vec()))
                .into_tuple()
                .all(db)
                .await?;
            out.extend(rows);
        }
        return Ok(out);
    }
    for ids in runs.chunks(500) {
        let rows: Vec<(Uuid, i64)> = in_range(
            metric_chunk::Entity::find()
                .select_only()
                .column(metric_chunk::Column::RunId)
                .column_as(Expr::col(metric_chunk::Column::N).sum().cast_as("bigint"), "n")
                .filter(metric_chunk::Column::Key.eq(key))
                .filter(metric_chunk::Column::RunId.is_in(ids.to_vec())),
            from,
            to,
        )
        .group_by(metric_chunk::Column::RunId)
        .into_tuple()
        .all(db)
        .await?;
        out.extend(rows);
    }
    Ok(out)
}

fn in_range(
    q: sea_orm::Select<metric_chunk::Entity>,
    from: Option<i64>,
    to: Option<i64>,
) -> sea_orm::Select<metric_chunk::Entity> {
    let q = match from {
        Some(f) => q.filter(metric_chunk::Column::LastStep.gte(f)),
        None => q,
    };
    match to {
        Some(t) => q.filter(metric_chunk::Column::FirstStep.lte(t)),
        None => q,
    }
}

/// The range's points of a run, sorted and downsampled, with how many there were.
fn finish(
    run: Uuid,
    mut points: Vec<Sample>,
    from: Option<i64>,
    to: Option<i64>,
    max: usize,
) -> (Uuid, Vec<Sample>, usize) {
    points.retain(|p| from.is_none_or(|f| p.step >= f) && to.is_none_or(|t| p.step <= t));
    points.sort_by_key(|s| (s.step, s.timestamp));
    let total = points.len();
    (run, downsample(&points, max), total)
}

/// Every point of the runs' chunks, streamed a run at a time: at most one run's points are in memory, whatever
/// the number of runs.
async fn whole(
    db: &DatabaseConnection,
    runs: &[Uuid],
    key: &str,
    from: Option<i64>,
    to: Option<i64>,
    max: usize,
) -> Result<Vec<(Uuid, Vec<Sample>, usize)>> {
    let mut out = Vec::with_capacity(runs.len());
    for ids in runs.chunks(500) {
        let q = metric_chunk::Entity::find()
            .select_only()
            .columns([metric_chunk::Column::RunId, metric_chunk::Column::Data])
            .filter(metric_chunk::Column::Key.eq(key))
            .filter(metric_chunk::Column::RunId.is_in(ids.to_vec()));
        let mut rows = in_range(q, from, to)
            .order_by_asc(metric_chunk::Column::RunId)
            .order_by_asc(metric_chunk::Column::Id)
            .into_tuple::<(Uuid, Vec<u8>)>()
            .stream(db)
            .await?;
        let mut current: Option<(Uuid, Vec<Sample>)> = None;
        while let Some((run, data)) = rows.try_next().await? {
            if current.as_ref().is_none_or(|c| c.0 != run) {
                out.extend(current.take().map(|(r, p)| finish(r, p, from, to, max)));
                current = Some((run, Vec::new()));
            }
            if let Some((_, v)) = current.as_mut() {
                v.reserve(data.len() / 24);
                decode(&data, |step, timestamp, value| v.push(Sample { step, timestamp, value }));
            }
        }
        out.extend(current.take().map(|(r, p)| finish(r, p, from, to, max)));
    }
    Ok(out)
}

/// The runs' lines from the summaries of the chunks inside the range, and the points of every other chunk
/// (no summary yet, or cut by the range).
async fn thinned(
    db: &DatabaseConnection,
    runs: &[Uuid],
    key: &str,
    from: Option<i64>,
    to: Option<i64>,
    max: usize,
) -> Result<Vec<(Uuid, Vec<Sample>, usize)>> {
    let mut q = metric_summary::Entity::find()
        .select_only()
        .columns([metric_summary::Column::RunId, metric_summary::Column::N, metric_summary::Column::Data])
        .filter(metric_summary::Column::Key.eq(key))
        .filter(metric_summary::Column::RunId.is_in(runs.to_vec()));
    if let Some(f) = from {
        q = q.filter(metric_summary::Column::FirstStep.gte(f));
    }
    if let Some(t) = to {
        q = q.filter(metric_summary::Column::LastStep.lte(t));
    }
    let mut by_run: HashMap<Uuid, (Vec<Sample>, usize)> = HashMap::with_capacity(runs.len());
    let summaries: Vec<(Uuid, i32, Vec<u8>)> = q.into_tuple().all(db).await?;
    for (run, n, data) in summaries {
        let (v, count) = by_run.entry(run).or_default();
        *count += n as usize;
        decode(&data, |step, timestamp, value| v.push(Sample { step, timestamp, value }));
    }
    // Chunks read whole: those without a summary, and those reaching outside the range.
    let mut whole = Condition::any().add(summarised().not());
    if let Some(f) = from {
        whole = whole.add(metric_chunk::Column::FirstStep.lt(f));
    }
    if let Some(t) = to {
        whole = whole.add(metric_chunk::Column::LastStep.gt(t));
    }
    let q = metric_chunk::Entity::find()
        .select_only()
        .columns([metric_chunk::Column::RunId, metric_chunk::Column::Data])
        .filter(metric_chunk::Column::Key.eq(key))
        .filter(metric_chunk::Column::RunId.is_in(runs.to_vec()))
        .filter(whole);
    let chunks: Vec<(Uuid, Vec<u8>)> = in_range(q, from, to).into_tuple().all(db).await?;
    for (run, data) in chunks {
        let (v, count) = by_run.entry(run).or_default();
        decode(&data, |step, timestamp, value| {
            if from.is_none_or(|f| step >= f) && to.is_none_or(|t| step <= t) {
                *count += 1;
                v.push(Sample { step, timestamp, value });
            }
        });
    }
    Ok(by_run
        .into_iter()
        .map(|(run, (points, total))| {
            let (run, points, _) = finish(run, points, from, to, max);
            (run, points, total)
        })
        .collect())
}
