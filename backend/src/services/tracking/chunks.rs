//! Metric points are stored in chunks: each logged batch adds one small chunk per key, and once a key has
//! gathered enough small chunks they are merged into chunks of `CHUNK` points. Reads then touch a handful of
//! rows per run and key instead of one row per point.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use uuid::Uuid;

use super::Point;
use crate::entities::{latest_metric, metric_chunk};
use crate::error::Result;

/// Points per merged chunk (24 KiB).
pub const CHUNK: usize = 1024;
/// Small chunks a key may gather before they are merged.
pub const COMPACT_AT: i32 = 32;
const POINT: usize = 24;

pub fn encode(points: &[&Point]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * POINT);
    for p in points {
        out.extend_from_slice(&p.step.to_le_bytes());
        out.extend_from_slice(&p.timestamp.to_le_bytes());
        out.extend_from_slice(&p.value.to_le_bytes());
    }
    out
}

/// Calls `f(step, timestamp, value)` for every point of a chunk.
pub fn decode(data: &[u8], mut f: impl FnMut(i64, i64, f64)) {
    for c in data.chunks_exact(POINT) {
        let word = |i: usize| <[u8; 8]>::try_from(&c[i..i + 8]).expect("8 bytes");
        f(i64::from_le_bytes(word(0)), i64::from_le_bytes(word(8)), f64::from_le_bytes(word(16)));
    }
}

/// Chunks of more points than this get a summary.
pub const SUMMARISE_OVER: usize = 128;
/// Slices of a summarised chunk: the summary holds each one's lowest and highest point.
const SLICES: usize = 32;

/// A chunk's points in step order reduced to the first, the last, and each of `SLICES` slices' lowest and highest
/// point (NaN counts as neither), packed like the chunk; `None` for chunks of `SUMMARISE_OVER` points or fewer.
/// Min/max downsampling over summaries keeps what it keeps over the points (every spike), as long as a
/// downsampling bucket spans a slice or more.
pub fn summary(points: &[&Point]) -> Option<Vec<u8>> {
    if points.len() <= SUMMARISE_OVER {
        return None;
    }
    let mut sorted: Vec<&Point> = points.to_vec();
    sorted.sort_by_key(|p| (p.step, p.timestamp));
    let n = sorted.len();
    let mut keep = vec![0, n - 1];
    for s in 0..SLICES {
        let slice = s * n / SLICES..(s + 1) * n / SLICES;
        let values = slice.clone().filter(|i| !sorted[*i].value.is_nan());
        let lo = values.clone().min_by(|a, b| sorted[*a].value.total_cmp(&sorted[*b].value));
        let hi = values.max_by(|a, b| sorted[*a].value.total_cmp(&sorted[*b].value));
        keep.extend(lo.into_iter().chain(hi));
    }
    keep.sort_unstable();
    keep.dedup();
    let kept: Vec<&Point> = keep.into_iter().map(|i| sorted[i]).collect();
    Some(encode(&kept))
}

pub fn row(run: Uuid, key: &super::MetricKey, points: &[&Point]) -> metric_chunk::ActiveModel {
    metric_chunk::ActiveModel {
        id: Default::default(),
        run_id: Set(run),
        key: Set(key.as_str().to_string()),
        n: Set(points.len() as i32),
        first_step: Set(points.iter().map(|p| p.step).min().unwrap_or_default()),
        last_step: Set(points.iter().map(|p| p.step).max().unwrap_or_default()),
        data: Set(encode(points)),
        summary: Set(summary(points)),
    }
}

/// Gives chunks stored before summaries existed theirs, a batch at a time (a server started on an older
/// database runs it in the background). Returns how many it summarised.
pub async fn summarise_stored(db: &DatabaseConnection) -> Result<u64> {
    let mut done = 0;
    loop {
        let batch: Vec<(i64, Vec<u8>)> = metric_chunk::Entity::find()
            .select_only()
            .columns([metric_chunk::Column::Id, metric_chunk::Column::Data])
            .filter(metric_chunk::Column::Summary.is_null())
            .filter(metric_chunk::Column::N.gt(SUMMARISE_OVER as i32))
            .order_by_asc(metric_chunk::Column::Id)
            .limit(500)
            .into_tuple()
            .all(db)
            .await?;
        if batch.is_empty() {
            return Ok(done);
        }
        let txn = db.begin().await?;
        for (id, data) in &batch {
            let mut points = Vec::with_capacity(data.len() / POINT);
            decode(data, |step, timestamp, value| {
                points.push(Point { key: String::new(), value, timestamp, step })
            });
            let refs: Vec<&Point> = points.iter().collect();
            metric_chunk::Entity::update_many()
                .col_expr(metric_chunk::Column::Summary, Expr::value(summary(&refs)))
                .filter(metric_chunk::Column::Id.eq(*id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        done += batch.len() as u64;
    }
}

/// Merges a key's small chunks. The transaction starts by claiming the key's pending count (a write, so SQLite
/// takes its lock first and PostgreSQL serialises concurrent compactions of the same key on that row).
pub async fn compact(db: &DatabaseConnection, run: Uuid, key: &super::MetricKey) -> Result<()> {
    let txn = db.begin().await?;
    let claimed = latest_metric::Entity::update_many()
        .col_expr(latest_metric::Column::Pending, Expr::value(0))
        .filter(latest_metric::Column::RunId.eq(run))
        .filter(latest_metric::Column::Key.eq(key.as_str()))
        .filter(latest_metric::Column::Pending.gte(COMPACT_AT))
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(());
    }
    let small = metric_chunk::Entity::find()
        .filter(metric_chunk::Column::RunId.eq(run))
        .filter(metric_chunk::Column::Key.eq(key.as_str()))
        .filter(metric_chunk::Column::N.lt(CHUNK as i32))
        .order_by_asc(metric_chunk::Column::Id)
        .all(&txn)
        .await?;
    if small.len() < 2 {
        txn.commit().await?;
        return Ok(());
    }
    let mut points = Vec::with_capacity(small.iter().map(|c| c.n as usize).sum());
    for c in &small {
        decode(&c.data, |step, timestamp, value| {
            points.push(Point { key: String::new(), value, timestamp, step })
        });
    }
    metric_chunk::Entity::delete_many()
        .filter(metric_chunk::Column::Id.is_in(small.iter().map(|c| c.id)))
        .exec(&txn)
        .await?;
    let refs: Vec<&Point> = points.iter().collect();
    let rows: Vec<_> = refs.chunks(CHUNK).map(|c| row(run, key, c)).collect();
    insert_rows(&txn, rows).await?;
    txn.commit().await?;
    Ok(())
}

pub async fn insert_rows<C: ConnectionTrait>(db: &C, rows: Vec<metric_chunk::ActiveModel>) -> Result<()> {
    if !rows.is_empty() {
        metric_chunk::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_every_float() {
        let pts: Vec<Point> = [0.5, f64::NAN, f64::INFINITY, -0.0, f64::MIN_POSITIVE]
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                key: "k".into(),
                value: *v,
                timestamp: 1_700_000_000_000 + i as i64,
                step: i as i64 - 2,
            })
            .collect();
        let data = encode(&pts.iter().collect::<Vec<_>>());
        let mut back = Vec::new();
        decode(&data, |s, t, v| back.push((s, t, v)));
        assert_eq!(back.len(), 5);
        for (p, (s, t, v)) in pts.iter().zip(back) {
            assert_eq!((p.step, p.timestamp, p.value.to_bits()), (s, t, v.to_bits()));
        }
    }

    #[test]
    fn a_summary_keeps_each_slices_extremes_in_step_order() {
        let point = |step: i64, value: f64| Point { key: "k".into(), value, timestamp: step, step };
        // Logged out of order, with one spike, one dip and NaNs.
        let mut pts: Vec<Point> = (0..1024).rev().map(|s| point(s, (s % 7) as f64)).collect();
        pts[100].value = 1e6;
        pts[900].value = -1e6;
        pts[500].value = f64::NAN;
        let refs: Vec<&Point> = pts.iter().collect();
        let mut kept = Vec::new();
        decode(&summary(&refs).expect("a large chunk is summarised"), |s, _, v| kept.push((s, v)));
        assert!(kept.len() <= 2 * SLICES + 2 && kept.len() > SLICES, "{} points", kept.len());
        assert!(kept.windows(2).all(|w| w[0].0 < w[1].0), "in step order");
        assert_eq!((kept[0].0, kept[kept.len() - 1].0), (0, 1023), "first and last kept");
        assert!(kept.contains(&(923, 1e6)) && kept.contains(&(123, -1e6)), "the spike and the dip kept");
        for s in 0..SLICES as i64 {
            let slice: Vec<f64> =
                kept.iter().filter(|k| k.0 / 32 == s && !k.1.is_nan()).map(|k| k.1).collect();
            assert!(slice.len() >= 2, "slice {s} has its low and high");
        }
        let small: Vec<Point> = (0..SUMMARISE_OVER as i64).map(|s| point(s, 1.0)).collect();
        assert_eq!(summary(&small.iter().collect::<Vec<_>>()), None, "small chunks are read whole");
    }
}
