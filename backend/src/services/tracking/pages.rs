//! One page of a metric's exact history (MLflow's get-history), read by range: only the chunks that can hold
//! the page's points are decoded, so a page of a 10-million-point history costs about a page, not the history.
//!
//! Points are ordered by (step, timestamp, value bits), a total order, so pages never overlap or skip. Chunks
//! are read in `first_step` order; once `skip + limit + 1` points are kept and the next chunk starts after the
//! largest kept step, no later chunk can hold an earlier point.

use futures_util::StreamExt;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::chunks::decode;
use super::history::Sample;
use crate::entities::metric_chunk;
use crate::error::{Error, Result};

/// Where the next page starts: after every point before `(step, timestamp)` and the first `seen` points at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub step: i64,
    pub timestamp: i64,
    pub seen: usize,
}

impl Cursor {
    /// The page token clients pass back.
    pub fn token(&self) -> String {
        format!("{}:{}:{}", self.step, self.timestamp, self.seen)
    }

    pub fn parse(token: &str) -> Result<Cursor> {
        let bad = || Error::invalid("page_token", "not a page token this server gave");
        let mut parts = token.split(':');
        let mut next = || parts.next().ok_or_else(bad);
        let (step, timestamp, seen) = (next()?, next()?, next()?);
        Ok(Cursor {
            step: step.parse().map_err(|_| bad())?,
            timestamp: timestamp.parse().map_err(|_| bad())?,
            seen: seen.parse().map_err(|_| bad())?,
        })
    }
}

fn order(a: &Sample, b: &Sample) -> std::cmp::Ordering {
    (a.step, a.timestamp, a.value.to_bits()).cmp(&(b.step, b.timestamp, b.value.to_bits()))
}

/// Keeps the `n` first points of `kept` in order, and drops the rest.
fn keep_first(kept: &mut Vec<Sample>, n: usize) {
    if kept.len() > n {
        kept.select_nth_unstable_by(n, order);
        kept.truncate(n);
    }
}

/// Up to `limit` points of `run`'s metric `key` from `after`, and the cursor of the next page when there is one.
pub async fn history_page(
    db: &DatabaseConnection,
    run: Uuid,
    key: &str,
    after: Option<Cursor>,
    limit: usize,
) -> Result<(Vec<Sample>, Option<Cursor>)> {
    let at = after.map(|c| (c.step, c.timestamp));
    let skip = after.map_or(0, |c| c.seen);
    let need = skip.saturating_add(limit).saturating_add(1);
    let mut rows = metric_chunk::Entity::find()
        .select_only()
        .columns([metric_chunk::Column::FirstStep, metric_chunk::Column::Data])
        .filter(metric_chunk::Column::RunId.eq(run))
        .filter(metric_chunk::Column::Key.eq(key))
        .filter(metric_chunk::Column::LastStep.gte(at.map_or(i64::MIN, |a| a.0)))
        .order_by_asc(metric_chunk::Column::FirstStep)
        .order_by_asc(metric_chunk::Column::Id)
        .into_tuple::<(i64, Vec<u8>)>()
        .stream(db)
        .await?;
    let mut kept: Vec<Sample> = Vec::new();
    while let Some(row) = rows.next().await {
        let (first_step, data) = row?;
        if kept.len() >= need {
            keep_first(&mut kept, need);
            if kept.iter().all(|s| s.step < first_step) {
                break;
            }
        }
        decode(&data, |step, timestamp, value| {
            if at.is_none_or(|a| (step, timestamp) >= a) {
                kept.push(Sample { step, timestamp, value });
            }
        });
        if kept.len() > 2 * need {
            keep_first(&mut kept, need);
        }
    }
    drop(rows);
    keep_first(&mut kept, need);
    kept.sort_unstable_by(order);
    let start = kept.iter().take_while(|s| Some((s.step, s.timestamp)) == at).count().min(skip);
    let page: Vec<Sample> = kept[start..].iter().take(limit).copied().collect();
    let next = (kept.len() > start + page.len()).then(|| {
        let last = page.last().copied().unwrap_or(kept[start]);
        let same =
            page.iter().rev().take_while(|s| (s.step, s.timestamp) == (last.step, last.timestamp)).count();
        let before = if Some((last.step, last.timestamp)) == at { start } else { 0 };
        Cursor { step: last.step, timestamp: last.timestamp, seen: before + same }
    });
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn tokens_round_trip_and_foreign_ones_are_refused() {
        let c = Cursor { step: -3, timestamp: 1_700_000_000_000, seen: 2 };
        assert_eq!(Cursor::parse(&c.token()).unwrap(), c);
        for bad in ["", "25000", "1:2", "a:b:c", "1:2:-1"] {
            assert_eq!(Cursor::parse(bad).unwrap_err().code(), "invalid_input", "{bad}");
        }
    }
}
