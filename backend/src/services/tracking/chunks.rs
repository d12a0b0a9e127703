//! Metric points are stored in chunks: each logged batch adds one small chunk per key, and once a key has
//! gathered enough small chunks they are merged into chunks of `CHUNK` points. Reads then touch a handful of
//! rows per run and key instead of one row per point. Chunks of `SUMMARISE_AT` points or more also get a
//! summary row (`metric_summaries`) that charts of long series read instead.

use sea_orm::sea_query::{Expr, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use uuid::Uuid;

use super::history::Sample;
use super::Point;
use crate::entities::{latest_metric, metric_chunk, metric_summary};
use crate::error::Result;

/// Points per merged chunk (24 KiB).
pub const CHUNK: usize = 1024;
/// Small chunks a key may gather before they are merged.
pub const COMPACT_AT: i32 = 32;
pub(crate) const POINT: usize = 24;
/// Chunks of at least this many points get a summary.
pub const SUMMARISE_AT: i32 = 256;
/// Points a summary's block stands for: it keeps each block's minimum and maximum (a sixteenth of the points).
pub const BLOCK: usize = 32;

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

/// Merges the small chunks of each `(run, key)` that is due, all in one transaction (a run's keys fall due
/// together: one merge of ten keys is two commits instead of twenty).
///
/// The keys' pending counts are claimed by a statement of their own, before the merge: a merge that claimed
/// them in its transaction held the keys' `latest_metrics` rows until it committed, and every batch logging
/// them waited behind it (on PostgreSQL a merge is milliseconds; that was one client's p99). A merge that fails
/// after the claim leaves its chunks as they are; the keys' next merge takes them.
///
/// The merge's first statement takes the small chunks (a delete that returns them): a write, so SQLite takes
/// its lock first, and two merges of one key never both take a chunk. A key with a single small chunk has it
/// written back as it was.
pub async fn compact(db: &DatabaseConnection, due: &[(Uuid, super::MetricKey)]) -> Result<()> {
    if due.is_empty() {
        return Ok(());
    }
    let claimed = claim(db, due).await?;
    if claimed.is_empty() {
        return Ok(());
    }
    let txn = db.begin().await?;
    let take = Query::delete()
        .from_table(metric_chunk::Entity)
        .and_where(metric_chunk::Column::N.lt(CHUNK as i32))
        .cond_where(any_of(metric_chunk::Column::RunId, metric_chunk::Column::Key, &claimed))
        .returning_all()
        .to_owned();
    let take = db.get_database_backend().build(&take);
    let mut small = metric_chunk::Entity::find().from_raw_sql(take).all(&txn).await?;
    small.sort_by(|a, b| (a.run_id, &a.key, a.id).cmp(&(b.run_id, &b.key, b.id)));
    let live = live_runs(&txn, &small).await?;
    let mut rows = Vec::new();
    for chunks in small.chunk_by(|a, b| (a.run_id, &a.key) == (b.run_id, &b.key)) {
        if !live.contains(&chunks[0].run_id) {
            continue;
        }
        let mut points = Vec::with_capacity(chunks.iter().map(|c| c.n as usize).sum());
        for c in chunks {
            decode(&c.data, |step, timestamp, value| {
                points.push(Point { key: String::new(), value, timestamp, step })
            });
        }
        let key = super::MetricKey::parse(&chunks[0].key)?;
        let refs: Vec<&Point> = points.iter().collect();
        rows.extend(refs.chunks(CHUNK).map(|c| row(chunks[0].run_id, &key, c)));
    }
    insert_rows(&txn, rows).await?;
    txn.commit().await?;
    Ok(())
}

/// The runs of `chunks` that still exist, held until the merge commits (PostgreSQL; SQLite has one writer): a
/// run deleted meanwhile loses the chunks taken, and a delete waits for the merge, whose chunks its trigger then
/// sees (PostgreSQL's `metric_chunks` has no foreign key to check them: migration m0021).
async fn live_runs(
    txn: &sea_orm::DatabaseTransaction,
    chunks: &[metric_chunk::Model],
) -> Result<std::collections::HashSet<Uuid>> {
    let mut ids: Vec<Uuid> = chunks.iter().map(|c| c.run_id).collect();
    ids.dedup();
    // SQLite's foreign key took a deleted run's chunks with it, and no delete runs during the merge.
    if ids.is_empty() || txn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        return Ok(ids.into_iter().collect());
    }
    let held = Query::select()
        .column(crate::entities::run::Column::Id)
        .from(crate::entities::run::Entity)
        .and_where(crate::entities::run::Column::Id.is_in(ids))
        .lock(LockType::KeyShare)
        .to_owned();
    txn.query_all(txn.get_database_backend().build(&held))
        .await?
        .iter()
        .map(|row| Ok(row.try_get::<Uuid>("", "id")?))
        .collect()
}

/// Claims the keys of `due` still due: their pending counts set to 0, in a statement of its own. Returns the keys
/// claimed.
async fn claim(
    db: &DatabaseConnection,
    due: &[(Uuid, super::MetricKey)],
) -> Result<Vec<(Uuid, super::MetricKey)>> {
    // Rows a batch is writing are skipped, not waited for (PostgreSQL; SQLite has one writer): waiting, a claim
    // of several keys and a batch of several keys could each hold a row the other wants. A skipped key stays
    // due, and its batch offers it again.
    let (run, key) = (latest_metric::Column::RunId, latest_metric::Column::Key);
    let free = Query::select()
        .columns([run, key])
        .from(latest_metric::Entity)
        .cond_where(any_of(run, key, due))
        .and_where(latest_metric::Column::Pending.gte(COMPACT_AT))
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    // RETURNING is built by sea-query (sea-orm's own needs a feature for SQLite that changes every insert).
    let claim = Query::update()
        .table(latest_metric::Entity)
        .value(latest_metric::Column::Pending, 0)
        .and_where(Expr::tuple([Expr::col(run).into(), Expr::col(key).into()]).in_subquery(free))
        .returning(Query::returning().columns([run, key]))
        .to_owned();
    let backend = db.get_database_backend();
    db.query_all(backend.build(&claim))
        .await?
        .iter()
        .map(|row| {
            Ok((row.try_get("", "run_id")?, super::MetricKey::parse(&row.try_get::<String>("", "key")?)?))
        })
        .collect()
}

/// Rows whose `run` and `key` columns are one of the pairs.
fn any_of<C: ColumnTrait>(run: C, key: C, pairs: &[(Uuid, super::MetricKey)]) -> Condition {
    pairs.iter().fold(Condition::any(), |any, (r, k)| any.add(run.eq(*r).and(key.eq(k.as_str()))))
}

/// Inserts chunks, and the summaries of those long enough to have one.
pub async fn insert_rows<C: ConnectionTrait>(db: &C, rows: Vec<metric_chunk::ActiveModel>) -> Result<()> {
    let (long, short): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| *r.n.as_ref() >= SUMMARISE_AT);
    if !short.is_empty() {
        metric_chunk::Entity::insert_many(short).exec_without_returning(db).await?;
    }
    for row in long {
        let (run, key) = (*row.run_id.as_ref(), row.key.as_ref().clone());
        let (n, data) = (*row.n.as_ref(), row.data.as_ref().clone());
        let id = metric_chunk::Entity::insert(row).exec(db).await?.last_insert_id;
        metric_summary::Entity::insert(summary(id, run, key, n, &data)).exec_without_returning(db).await?;
    }
    Ok(())
}

fn summary(chunk: i64, run: Uuid, key: String, n: i32, data: &[u8]) -> metric_summary::ActiveModel {
    let (first_step, last_step, data) = summary_of(data);
    metric_summary::ActiveModel {
        chunk_id: Set(chunk),
        run_id: Set(run),
        key: Set(key),
        n: Set(n),
        first_step: Set(first_step),
        last_step: Set(last_step),
        data: Set(data),
    }
}

/// A chunk's summary: its points in step order thinned to each `BLOCK`'s minimum and maximum, first and last
/// kept; with its first and last step.
pub(crate) fn summary_of(data: &[u8]) -> (i64, i64, Vec<u8>) {
    let mut points = Vec::with_capacity(data.len() / POINT);
    decode(data, |step, timestamp, value| points.push(Sample { step, timestamp, value }));
    points.sort_by_key(|p| (p.step, p.timestamp));
    let mut kept: Vec<&Sample> = Vec::with_capacity(2 + 2 * points.len().div_ceil(BLOCK));
    kept.extend(points.first());
    for block in points.chunks(BLOCK) {
        let finite = block.iter().filter(|p| !p.value.is_nan());
        let lo = finite.clone().min_by(|a, b| a.value.total_cmp(&b.value));
        let hi = finite.max_by(|a, b| a.value.total_cmp(&b.value));
        match (lo, hi) {
            (Some(a), Some(b)) if (a.step, a.timestamp) <= (b.step, b.timestamp) => kept.extend([a, b]),
            (Some(a), Some(b)) => kept.extend([b, a]),
            _ => kept.extend(block.first()),
        }
    }
    kept.extend(points.last());
    kept.dedup_by(|a, b| std::ptr::eq(*a, *b));
    let mut out = Vec::with_capacity(kept.len() * POINT);
    for p in kept {
        out.extend_from_slice(&p.step.to_le_bytes());
        out.extend_from_slice(&p.timestamp.to_le_bytes());
        out.extend_from_slice(&p.value.to_le_bytes());
    }
    (points.first().map_or(0, |p| p.step), points.last().map_or(0, |p| p.step), out)
}

/// The condition "this chunk has a summary", for queries on `metric_chunks`.
pub fn summarised() -> sea_orm::sea_query::SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(metric_summary::Entity)
            .and_where(
                Expr::col((metric_summary::Entity, metric_summary::Column::ChunkId))
                    .equals((metric_chunk::Entity, metric_chunk::Column::Id)),
            )
            .to_owned(),
    )
}

/// `summarise_missing` in the background at start-up, a batch at a time with a pause as long as the batch took
/// (writers waiting for SQLite's lock get their turn), tried again after a failure.
pub async fn backfill(db: DatabaseConnection) {
    let (mut written, mut failures, mut after) = (0, 0u64, 0);
    while failures < 5 {
        let t = std::time::Instant::now();
        match summarise_some(&db, after).await {
            Ok(None) => break,
            Ok(Some((n, last))) => (written, after) = (written + n, last),
            Err(e) => {
                failures += 1;
                tracing::warn!(failures, "summarising metric chunks: {e}");
                tokio::time::sleep(std::time::Duration::from_secs(failures * 5)).await;
            }
        }
        tokio::time::sleep(t.elapsed().max(std::time::Duration::from_millis(20))).await;
    }
    if written > 0 {
        tracing::info!("summarised {written} metric chunks stored before summaries existed");
    }
}

/// Summarises the chunks stored before summaries existed; returns how many it wrote. Reads of a chunk without a
/// summary use its points, so this only makes charts faster.
pub async fn summarise_missing(db: &DatabaseConnection) -> Result<u64> {
    let (mut written, mut after) = (0, 0);
    while let Some((n, last)) = summarise_some(db, after).await? {
        (written, after) = (written + n, last);
    }
    Ok(written)
}

/// One transaction of `summarise_missing`: up to 64 chunks after chunk `after`; how many, and the last one's id
/// (`None`: no more).
async fn summarise_some(db: &DatabaseConnection, after: i64) -> Result<Option<(u64, i64)>> {
    let txn = db.begin().await?;
    // A write first, as `compact` does: SQLite then takes its write lock now (waiting its turn) rather than fail
    // to upgrade a read made before another writer's commit.
    metric_summary::Entity::delete_many().filter(metric_summary::Column::ChunkId.eq(-1)).exec(&txn).await?;
    let batch: Vec<metric_chunk::Model> = metric_chunk::Entity::find()
        .filter(metric_chunk::Column::Id.gt(after))
        .filter(metric_chunk::Column::N.gte(SUMMARISE_AT))
        .filter(summarised().not())
        .order_by_asc(metric_chunk::Column::Id)
        .limit(64)
        .all(&txn)
        .await?;
    let Some(last) = batch.last().map(|c| c.id) else {
        txn.commit().await?;
        return Ok(None);
    };
    let n = batch.len() as u64;
    let rows = batch.into_iter().map(|c| summary(c.id, c.run_id, c.key, c.n, &c.data));
    metric_summary::Entity::insert_many(rows).exec_without_returning(&txn).await?;
    txn.commit().await?;
    Ok(Some((n, last)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_keeps_each_blocks_extremes_and_the_ends() {
        // Out of step order on purpose: a summary is of the points sorted by step.
        let pts: Vec<Point> = (0..1024)
            .rev()
            .map(|i| Point {
                key: "k".into(),
                value: if i == 700 {
                    50.0
                } else if i == 300 {
                    -50.0
                } else {
                    (i % 13) as f64
                },
                timestamp: i,
                step: i,
            })
            .collect();
        let data = encode(&pts.iter().collect::<Vec<_>>());
        let s = summary(7, Uuid::nil(), "k".into(), 1024, &data);
        let mut back = Vec::new();
        decode(s.data.as_ref(), |step, _, value| back.push((step, value)));
        assert!(back.len() <= 2 + 2 * 1024 / BLOCK, "{}", back.len());
        assert_eq!((back[0].0, back[back.len() - 1].0), (0, 1023));
        assert!(back.windows(2).all(|w| w[0].0 < w[1].0), "in step order");
        assert!(back.contains(&(700, 50.0)) && back.contains(&(300, -50.0)));
        for block in 0..1024 / BLOCK as i64 {
            let inside: Vec<f64> = back.iter().filter(|p| p.0 / BLOCK as i64 == block).map(|p| p.1).collect();
            let all: Vec<f64> = (block * BLOCK as i64..(block + 1) * BLOCK as i64)
                .map(|i| {
                    if i == 700 {
                        50.0
                    } else if i == 300 {
                        -50.0
                    } else {
                        (i % 13) as f64
                    }
                })
                .collect();
            let (lo, hi) =
                (all.iter().cloned().fold(f64::MAX, f64::min), all.iter().cloned().fold(f64::MIN, f64::max));
            assert!(
                inside.contains(&lo) && inside.contains(&hi),
                "block {block}: {inside:?} lacks {lo} or {hi}"
            );
        }
        assert_eq!((*s.first_step.as_ref(), *s.last_step.as_ref(), *s.n.as_ref()), (0, 1023, 1024));
    }

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
