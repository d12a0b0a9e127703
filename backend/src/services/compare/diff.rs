//! The comparison table, pure: rows of values across runs with whether they differ (nested dicts compared key by
//! key), each metric's best run by its direction, and deltas against the baseline.

use std::collections::{BTreeMap, BTreeSet};

use api_types::{DiffRow, Goal, MetricRow, MetricSummary};
use serde_json::Value;

/// `value` as table cells: a dict becomes one cell per key (`prefix.key`, recursively); anything else one cell
/// (strings as they are, other values as JSON).
pub fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// One row per key any run has, sorted by key; a run without the key has `None` there.
pub fn rows(per_run: &[BTreeMap<String, String>]) -> Vec<DiffRow> {
    let keys: BTreeSet<&String> = per_run.iter().flat_map(|m| m.keys()).collect();
    keys.into_iter()
        .map(|key| {
            let values: Vec<Option<String>> = per_run.iter().map(|m| m.get(key).cloned()).collect();
            let differs = values.windows(2).any(|w| w[0] != w[1]);
            DiffRow { key: key.clone(), values, differs }
        })
        .collect()
}

/// Which way a metric improves, from its name: losses, errors and distances go down; anything else up.
pub fn goal_of(key: &str) -> Goal {
    const DOWN: &[&str] = &[
        "loss",
        "error",
        "err",
        "mse",
        "mae",
        "rmse",
        "mape",
        "perplexity",
        "ppl",
        "wer",
        "cer",
        "latency",
        "time",
    ];
    let k = key.to_ascii_lowercase();
    let down = k.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| DOWN.contains(&w))
        || DOWN.iter().any(|d| d.len() > 3 && k.contains(d));
    if down {
        Goal::Min
    } else {
        Goal::Max
    }
}

/// The index of the best value by `goal` (the first of equals); `None` when no run has a finite value.
pub fn best(values: &[Option<f64>], goal: Goal) -> Option<usize> {
    let finite = values.iter().enumerate().filter_map(|(i, v)| v.filter(|x| x.is_finite()).map(|x| (i, x)));
    match goal {
        Goal::Min => finite.min_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0))),
        Goal::Max => finite.max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0))),
    }
    .map(|(i, _)| i)
}

/// One row per metric key any run logged, sorted by key.
pub fn metric_rows(per_run: &[Vec<MetricSummary>], baseline: usize) -> Vec<MetricRow> {
    let keys: BTreeSet<&String> = per_run.iter().flatten().map(|m| &m.key).collect();
    keys.into_iter()
        .map(|key| {
            let of = |f: fn(&MetricSummary) -> Option<f64>| -> Vec<Option<f64>> {
                per_run.iter().map(|ms| ms.iter().find(|m| &m.key == key).and_then(f)).collect()
            };
            let (last, min, max) = (of(|m| m.last), of(|m| m.min), of(|m| m.max));
            let goal = goal_of(key);
            let base = last.get(baseline).copied().flatten();
            let delta_last = last.iter().map(|v| v.zip(base).map(|(v, b)| v - b)).collect();
            MetricRow {
                key: key.clone(),
                goal,
                best_last: best(&last, goal),
                best_min: best(&min, goal),
                best_max: best(&max, goal),
                last,
                min,
                max,
                delta_last,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flat(v: Value) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in v.as_object().unwrap() {
            flatten(k, v, &mut out);
        }
        out
    }

    #[test]
    fn nested_dicts_are_compared_key_by_key() {
        let a = flat(json!({"lr": 0.1, "opt": {"name": "adam", "beta": 0.9}, "layers": [1, 2], "tag": "x"}));
        let b = flat(json!({"lr": 0.1, "opt": {"name": "sgd", "beta": 0.9}, "layers": [1, 2]}));
        let rows = rows(&[a, b]);
        let row = |k: &str| rows.iter().find(|r| r.key == k).unwrap();
        assert!(!row("lr").differs);
        assert!(row("opt.name").differs);
        assert!(!row("opt.beta").differs, "equal nested values are not a difference");
        assert!(!row("layers").differs);
        assert_eq!(row("layers").values[0].as_deref(), Some("[1,2]"));
        assert_eq!(row("tag").values, vec![Some("x".into()), None], "a missing key differs");
        assert!(row("tag").differs);
    }

    #[test]
    fn the_direction_comes_from_the_name() {
        for k in ["loss", "val_loss", "train/loss", "test_error", "rmse", "eval.MAE", "latency_ms"] {
            assert_eq!(goal_of(k), Goal::Min, "{k}");
        }
        for k in ["accuracy", "acc", "f1", "auc", "reward", "bleu"] {
            assert_eq!(goal_of(k), Goal::Max, "{k}");
        }
    }

    fn m(key: &str, last: Option<f64>, min: f64, max: f64) -> MetricSummary {
        MetricSummary {
            key: key.into(),
            last,
            step: 0,
            timestamp: 0,
            min: Some(min),
            max: Some(max),
            count: 1,
        }
    }

    #[test]
    fn best_follows_the_goal_and_deltas_are_against_the_baseline() {
        let runs = vec![
            vec![m("loss", Some(0.5), 0.4, 1.0), m("acc", Some(0.7), 0.1, 0.7)],
            vec![m("loss", Some(0.3), 0.3, 0.9), m("acc", Some(0.9), 0.2, 0.95)],
            vec![m("loss", None, 0.35, 2.0)],
        ];
        let rows = metric_rows(&runs, 1);
        let loss = rows.iter().find(|r| r.key == "loss").unwrap();
        assert_eq!((loss.best_last, loss.best_min, loss.best_max), (Some(1), Some(1), Some(1)));
        let acc = rows.iter().find(|r| r.key == "acc").unwrap();
        assert_eq!((acc.best_last, acc.best_max), (Some(1), Some(1)));
        assert_eq!(acc.last[2], None, "a run without the metric has no value");
        let d = &loss.delta_last;
        assert!((d[0].unwrap() - 0.2).abs() < 1e-12 && d[1] == Some(0.0) && d[2].is_none(), "{d:?}");
        assert_eq!(best(&[None, Some(f64::NAN)], Goal::Min), None);
        assert_eq!(best(&[Some(1.0), Some(1.0)], Goal::Max), Some(0), "the first of equals");
    }
}
