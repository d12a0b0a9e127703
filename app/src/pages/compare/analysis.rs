//! What the compare page computes from a comparison, pure: columns of values across runs (a param, a tag or a
//! metric's last value) for the parallel coordinates, the scatter and group-by; brushes that keep runs within a
//! range of a column; groups of runs sharing a value and their aggregate band.

use crate::server::compare::Comparison;

/// A column across the runs. Numeric when every value the runs have reads as a finite number; otherwise
/// categorical: `labels` holds the distinct values sorted, and each run's value is its label's index.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub key: String,
    pub values: Vec<Option<f64>>,
    pub labels: Option<Vec<String>>,
}

impl Column {
    /// The run's value as the table shows it.
    pub fn text(&self, run: usize) -> Option<String> {
        let v = self.values.get(run).copied().flatten()?;
        Some(match &self.labels {
            Some(l) => l.get(v as usize).cloned().unwrap_or_default(),
            None => format!("{v}"),
        })
    }

    /// The smallest and largest value any run has (`None`: no run has one).
    pub fn range(&self) -> Option<(f64, f64)> {
        let present = self.values.iter().flatten().copied();
        let lo = present.clone().reduce(f64::min)?;
        Some((lo, present.reduce(f64::max)?))
    }
}

/// The keys a column can be read from: `params.…` and `tags.…` for each row, `metrics.…` (last value) per key.
pub fn column_keys(c: &Comparison) -> Vec<String> {
    let rows = c.params.iter().map(|r| format!("params.{}", r.key));
    let tags = c.tags.iter().map(|r| format!("tags.{}", r.key));
    rows.chain(tags).chain(c.metrics.iter().map(|m| format!("metrics.{}", m.key))).collect()
}

/// The columns worth drawing when none are chosen: params that differ (at most 8), then up to 3 metrics (the
/// charted ones first).
pub fn default_axes(c: &Comparison, charted: &[String]) -> Vec<String> {
    let mut out: Vec<String> =
        c.params.iter().filter(|r| r.differs).take(8).map(|r| format!("params.{}", r.key)).collect();
    let mut metrics: Vec<&String> = charted.iter().collect();
    metrics.extend(c.metrics.iter().map(|m| &m.key).filter(|k| !charted.contains(k)));
    out.extend(metrics.into_iter().take(3).map(|k| format!("metrics.{k}")));
    out
}

pub fn column(c: &Comparison, key: &str) -> Option<Column> {
    let (kind, name) = key.split_once('.')?;
    let texts: Vec<Option<String>> = match kind {
        "params" | "tags" => {
            let rows = if kind == "params" { &c.params } else { &c.tags };
            rows.iter().find(|r| r.key == name)?.values.clone()
        }
        "metrics" => {
            let m = c.metrics.iter().find(|m| m.key == name)?;
            return Some(Column { key: key.into(), values: m.last.clone(), labels: None });
        }
        _ => return None,
    };
    let numbers: Vec<Option<Option<f64>>> = texts
        .iter()
        .map(|t| t.as_ref().map(|t| t.trim().parse::<f64>().ok().filter(|v| v.is_finite())))
        .collect();
    if numbers.iter().flatten().all(Option::is_some) {
        return Some(Column {
            key: key.into(),
            values: numbers.into_iter().map(Option::flatten).collect(),
            labels: None,
        });
    }
    let mut labels: Vec<String> = texts.iter().flatten().cloned().collect();
    labels.sort();
    labels.dedup();
    let values = texts
        .iter()
        .map(|t| t.as_ref().and_then(|t| labels.binary_search(t).ok()).map(|i| i as f64))
        .collect();
    Some(Column { key: key.into(), values, labels: Some(labels) })
}

/// Runs kept when `key`'s value is within `[lo, hi]` (a categorical column's values are its labels' indices).
#[derive(Debug, Clone, PartialEq)]
pub struct Brush {
    pub key: String,
    pub lo: f64,
    pub hi: f64,
}

/// Brushes as the URL holds them: `key:lo:hi`, separated by `;` (a key may itself hold `:`).
pub fn parse_brushes(s: &str) -> Vec<Brush> {
    s.split(';')
        .filter_map(|b| {
            let mut parts = b.rsplitn(3, ':');
            let hi: f64 = parts.next()?.parse().ok()?;
            let lo: f64 = parts.next()?.parse().ok()?;
            let key = parts.next().filter(|k| !k.is_empty())?;
            Some(Brush { key: key.into(), lo: lo.min(hi), hi: lo.max(hi) })
        })
        .collect()
}

pub fn format_brushes(brushes: &[Brush]) -> String {
    brushes.iter().map(|b| format!("{}:{}:{}", b.key, short(b.lo), short(b.hi))).collect::<Vec<_>>().join(";")
}

/// A number with at most 6 significant digits, for the URL.
fn short(v: f64) -> String {
    format!("{}", format!("{v:.5e}").parse::<f64>().unwrap_or(v))
}

/// Which runs every brush keeps (a run without a brushed column's value is not kept).
pub fn kept(c: &Comparison, brushes: &[Brush]) -> Vec<bool> {
    let mut keep = vec![true; c.runs.len()];
    for b in brushes {
        let Some(col) = column(c, &b.key) else { continue };
        for (k, v) in keep.iter_mut().zip(&col.values) {
            *k &= v.is_some_and(|v| v >= b.lo && v <= b.hi);
        }
    }
    keep
}

/// Runs grouped by a column's value: `(label, run indices)`, in the column's order (a run without the value
/// in a last `(none)` group).
pub fn groups(c: &Comparison, key: &str, kept: &[bool]) -> Vec<(String, Vec<usize>)> {
    let Some(col) = column(c, key) else { return vec![] };
    let mut out: Vec<(Option<f64>, String, Vec<usize>)> = Vec::new();
    for run in (0..c.runs.len()).filter(|i| kept.get(*i).copied().unwrap_or(true)) {
        let v = col.values[run];
        let label = col.text(run).unwrap_or_else(|| "(none)".into());
        match out.iter_mut().find(|g| g.1 == label) {
            Some(g) => g.2.push(run),
            None => out.push((v, label, vec![run])),
        }
    }
    out.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let name = key.split_once('.').map_or(key, |(_, n)| n);
    out.into_iter().map(|(_, label, runs)| (format!("{name}={label}"), runs)).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Centre {
    Mean,
    Median,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    MinMax,
    Std,
}

/// One group's aggregate over `bins` evenly spaced x values across the lines' range: `(x, centre, low, high)`.
/// Each line's value at an x is interpolated between its neighbouring points, and only lines whose x range
/// holds that x count there (a short run does not drag the mean down after it ends).
pub fn band(
    lines: &[&[(f64, f64, f64)]],
    centre: Centre,
    spread: Spread,
    bins: usize,
) -> Vec<(f64, f64, f64, f64)> {
    let xs = lines.iter().flat_map(|l| l.iter().map(|p| p.0));
    let (Some(x0), Some(x1)) = (xs.clone().reduce(f64::min), xs.reduce(f64::max)) else { return vec![] };
    let bins = bins.max(2);
    let mut out = Vec::with_capacity(bins);
    let mut values = Vec::with_capacity(lines.len());
    for b in 0..bins {
        let x = if x1 > x0 { x0 + (x1 - x0) * b as f64 / (bins - 1) as f64 } else { x0 };
        values.clear();
        values.extend(lines.iter().filter_map(|l| at(l, x)));
        if values.is_empty() {
            continue;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let mid = match centre {
            Centre::Mean => mean,
            Centre::Median => {
                values.sort_by(f64::total_cmp);
                let m = values.len() / 2;
                if values.len() % 2 == 0 {
                    (values[m - 1] + values[m]) / 2.0
                } else {
                    values[m]
                }
            }
        };
        let (lo, hi) = match spread {
            Spread::MinMax => (
                values.iter().copied().fold(f64::INFINITY, f64::min),
                values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
            Spread::Std => {
                let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
                (mid - sd, mid + sd)
            }
        };
        out.push((x, mid, lo, hi));
    }
    out
}

/// A line's value at `x`, interpolated; `None` outside its x range. Points are in x order.
fn at(line: &[(f64, f64, f64)], x: f64) -> Option<f64> {
    let (first, last) = (line.first()?, line.last()?);
    if x < first.0 || x > last.0 {
        return None;
    }
    let i = line.partition_point(|p| p.0 < x);
    let right = line.get(i)?;
    if right.0 == x || i == 0 {
        return Some(right.1);
    }
    let left = line[i - 1];
    Some(left.1 + (right.1 - left.1) * (x - left.0) / (right.0 - left.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::{ComparedRun, DiffRow, Goal, MetricRow};

    fn comparison() -> Comparison {
        let run = |name: &str| ComparedRun {
            uuid: uuid::Uuid::new_v4(),
            name: name.into(),
            status: "succeeded".into(),
            duration: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            started: None,
        };
        let row = |key: &str, v: [Option<&str>; 4]| DiffRow {
            key: key.into(),
            values: v.iter().map(|v| v.map(String::from)).collect(),
            differs: true,
        };
        Comparison {
            runs: vec![run("a"), run("b"), run("c"), run("d")],
            baseline: 0,
            params: vec![
                row("lr", [Some("0.1"), Some("0.01"), Some("0.1"), None]),
                row("opt", [Some("sgd"), Some("adam"), Some("adam"), Some("sgd")]),
            ],
            tags: vec![],
            facts: vec![],
            metrics: vec![MetricRow {
                key: "loss".into(),
                goal: Goal::Min,
                last: vec![Some(0.5), Some(0.2), Some(0.4), None],
                min: vec![None; 4],
                max: vec![None; 4],
                best_last: Some(1),
                best_min: None,
                best_max: None,
                delta_last: vec![None; 4],
            }],
            series: vec![],
        }
    }

    #[test]
    fn numeric_and_categorical_columns() {
        let c = comparison();
        let lr = column(&c, "params.lr").unwrap();
        assert_eq!(lr.values, vec![Some(0.1), Some(0.01), Some(0.1), None]);
        assert_eq!(lr.labels, None);
        assert_eq!(lr.range(), Some((0.01, 0.1)));
        let opt = column(&c, "params.opt").unwrap();
        assert_eq!(opt.labels.as_deref(), Some(&["adam".to_string(), "sgd".into()][..]));
        assert_eq!(opt.values, vec![Some(1.0), Some(0.0), Some(0.0), Some(1.0)]);
        assert_eq!(opt.text(0).as_deref(), Some("sgd"));
        assert_eq!(column(&c, "metrics.loss").unwrap().values[1], Some(0.2));
        assert_eq!(column(&c, "params.nope"), None);
        assert_eq!(default_axes(&c, &[]), vec!["params.lr", "params.opt", "metrics.loss"]);
    }

    #[test]
    fn brushes_round_trip_through_the_url_and_filter_every_run_without_the_value() {
        let c = comparison();
        let brushes = parse_brushes("params.lr:0.05:0.2;metrics.loss:0.45:0");
        assert_eq!(brushes.len(), 2);
        assert_eq!((brushes[1].lo, brushes[1].hi), (0.0, 0.45), "reversed ends are ordered");
        assert_eq!(parse_brushes(&format_brushes(&brushes)), brushes);
        assert_eq!(kept(&c, &brushes[..1]), vec![true, false, true, false], "d has no lr");
        assert_eq!(kept(&c, &brushes), vec![false, false, true, false]);
        // A categorical brush keeps the labels' indices in range: adam only.
        assert_eq!(kept(&c, &parse_brushes("params.opt:0:0.4")), vec![false, true, true, false]);
        assert!(parse_brushes("garbage;:1:2;k:x:1").is_empty());
    }

    #[test]
    fn groups_follow_the_columns_order_with_runs_lacking_the_value_last() {
        let c = comparison();
        let all = vec![true; 4];
        let g = groups(&c, "params.lr", &all);
        assert_eq!(
            g,
            vec![("lr=0.01".into(), vec![1]), ("lr=0.1".into(), vec![0, 2]), ("lr=(none)".into(), vec![3])]
        );
        let brushed = groups(&c, "params.opt", &[true, true, false, true]);
        assert_eq!(brushed, vec![("opt=adam".into(), vec![1]), ("opt=sgd".into(), vec![0, 3])]);
    }

    #[test]
    fn bands_aggregate_interpolated_values_where_each_line_exists() {
        let a = [(0.0, 1.0, 1.0), (10.0, 3.0, 3.0)];
        let b = [(0.0, 3.0, 3.0), (5.0, 1.0, 1.0)];
        let c = [(0.0, 8.0, 8.0), (10.0, 8.0, 8.0)];
        let mean = band(&[&a, &b, &c], Centre::Mean, Spread::MinMax, 3);
        assert_eq!(mean[0], (0.0, 4.0, 1.0, 8.0));
        // At x = 5: a is 2 (interpolated), b 1, c 8.
        assert_eq!(mean[1], (5.0, 11.0 / 3.0, 1.0, 8.0));
        // At x = 10, b has ended: only a and c count.
        assert_eq!(mean[2], (10.0, 5.5, 3.0, 8.0));
        let median = band(&[&a, &b, &c], Centre::Median, Spread::Std, 3);
        assert_eq!(median[1].1, 2.0);
        let sd =
            ((2.0f64 - 11.0 / 3.0).powi(2) + (1.0f64 - 11.0 / 3.0).powi(2) + (8.0f64 - 11.0 / 3.0).powi(2))
                / 3.0;
        assert!((median[1].3 - median[1].1 - sd.sqrt()).abs() < 1e-9, "±std around the centre");
        assert!(band(&[], Centre::Mean, Spread::Std, 10).is_empty());
    }
}
