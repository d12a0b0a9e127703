//! Metric points are stored in chunks: each logged batch adds one small chunk per key, and once a key has
//! gathered enough small chunks they are merged into chunks of `CHUNK` points. Reads then touch a handful of
//! rows per run and key instead of one row per point.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
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

pub fn row(run: Uuid, key: &super::MetricKey, points: &[&Point]) -> metric_chunk::ActiveModel {
    metric_chunk::ActiveModel {
        id: Default::default(),
        run_id: Set(run),
        key: Set(key.as_str().to_string()),
        n: Set(points.len() as i32),
        first_step: Set(points.iter().map(|p| p.step).min().unwrap_or_default()),
        last_step: Set(points.iter().map(|p| p.step).max().unwrap_or_default()),
        data: Set(encode(points)),
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
}
