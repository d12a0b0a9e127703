//! `latest_metrics`: each run's and key's last value, extremes and count, folded from every batch in one
//! upsert. The statement is shared by the writer's two paths (sea-orm, and SQLite's own connection).

use sea_orm::{ConnectionTrait, Statement, Value};
use uuid::Uuid;

use super::{chunks, ByKey, MetricKey};
use crate::error::Result;

/// What one run's key contributes to the upsert.
pub(crate) struct Row<'a> {
    pub run: Uuid,
    pub key: &'a str,
    pub step: i64,
    pub ts: i64,
    pub value: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub count: i64,
}

pub(crate) fn rows<'a>(by_key: &'a ByKey<'_>) -> Vec<Row<'a>> {
    by_key
        .iter()
        .map(|((run, key), pts)| {
            let last = pts.iter().max_by_key(|p| (p.step, p.timestamp)).expect("non-empty");
            let finite = pts.iter().map(|p| p.value).filter(|v| !v.is_nan());
            Row {
                run: *run,
                key: key.as_str(),
                step: last.step,
                ts: last.timestamp,
                value: Some(last.value).filter(|v| !v.is_nan()),
                min: finite.clone().reduce(f64::min),
                max: finite.reduce(f64::max),
                count: pts.len() as i64,
            }
        })
        .collect()
}

/// The upsert of `n` rows of 8 values each (`$1`…), returning each key's pending chunk count.
pub(crate) fn sql(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let p: Vec<String> = (1..=8).map(|j| format!("${}", i * 8 + j)).collect();
            format!("({}, 1)", p.join(", "))
        })
        .collect();
    upsert_from(&format!("VALUES {}", rows.join(", ")))
}

/// The upsert with its rows from `source` (`VALUES …`, or a `SELECT`): the 8 columns, then `pending` (1).
pub(crate) fn upsert_from(source: &str) -> String {
    let newer = "(excluded.step > l.step OR (excluded.step = l.step AND excluded.ts >= l.ts))";
    format!(
        "INSERT INTO latest_metrics AS l (run_id, key, step, ts, value, min_value, max_value, count, pending) \
         {source} ON CONFLICT (run_id, key) DO UPDATE SET \
         value = CASE WHEN {newer} THEN excluded.value ELSE l.value END, \
         ts = CASE WHEN {newer} THEN excluded.ts ELSE l.ts END, \
         step = CASE WHEN {newer} THEN excluded.step ELSE l.step END, \
         min_value = CASE WHEN l.min_value IS NULL OR excluded.min_value < l.min_value \
                     THEN COALESCE(excluded.min_value, l.min_value) ELSE l.min_value END, \
         max_value = CASE WHEN l.max_value IS NULL OR excluded.max_value > l.max_value \
                     THEN COALESCE(excluded.max_value, l.max_value) ELSE l.max_value END, \
         count = l.count + excluded.count, pending = l.pending + 1 \
         RETURNING run_id, key, pending"
    )
}

/// The keys whose pending count the upsert brought to `COMPACT_AT`.
pub(crate) fn due(run: Uuid, key: &str, pending: i64) -> Result<Option<(Uuid, MetricKey)>> {
    Ok((pending >= chunks::COMPACT_AT as i64).then(|| MetricKey::parse(key)).transpose()?.map(|k| (run, k)))
}

/// Folds the points into `latest_metrics` in one statement; returns the keys due for compaction.
pub(crate) async fn upsert<C: ConnectionTrait>(db: &C, by_key: &ByKey<'_>) -> Result<Vec<(Uuid, MetricKey)>> {
    let rows = rows(by_key);
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 8);
    for r in &rows {
        values.extend([
            r.run.into(),
            r.key.into(),
            r.step.into(),
            r.ts.into(),
            r.value.into(),
            r.min.into(),
            r.max.into(),
            r.count.into(),
        ]);
    }
    // Both backends take `$n` placeholders.
    let statement = Statement::from_sql_and_values(db.get_database_backend(), sql(rows.len()), values);
    let mut out = Vec::new();
    for row in db.query_all(statement).await? {
        let pending: i32 = row.try_get("", "pending")?;
        out.extend(due(row.try_get("", "run_id")?, &row.try_get::<String>("", "key")?, pending.into())?);
    }
    Ok(out)
}
