//! `myelin ops compare UUID…`: runs side by side, as a table of what differs (or everything with `--all`).

use api_types::{CompareRequest, Comparison, DiffRow, MetricRow};
use reqwest::Method;

use super::client::Client;
use super::Output;

pub async fn compare(
    client: &Client,
    project: &str,
    runs: &[String],
    all: bool,
    output: Output,
) -> Result<i32, String> {
    let runs = runs
        .iter()
        .map(|r| r.parse().map_err(|_| format!("{r:?} is not a run uuid")))
        .collect::<Result<Vec<_>, String>>()?;
    let req = CompareRequest {
        runs,
        metrics: vec![],
        baseline: None,
        points: None,
        from_step: None,
        to_step: None,
    };
    let body = serde_json::to_value(&req).map_err(|e| e.to_string())?;
    let c: Comparison =
        client.call(Method::POST, &format!("/projects/{project}/compare"), Some(&body)).await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&c).expect("json")),
        Output::Table => print!("{}", table(&c, all)),
    }
    Ok(0)
}

/// One column per run; rows of facts, params and tags (only those that differ unless `all`), then each metric's
/// last value with `*` on the best and the delta against the first run.
pub fn table(c: &Comparison, all: bool) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let head = std::iter::once(String::new())
        .chain(c.runs.iter().map(|r| format!("{} ({})", r.name, &r.uuid.to_string()[..8])));
    rows.push(head.collect());
    let section = |rows: &mut Vec<Vec<String>>, prefix: &str, list: &[DiffRow]| {
        for r in list.iter().filter(|r| all || r.differs) {
            let cells = r.values.iter().map(|v| v.clone().unwrap_or_else(|| "-".into()));
            rows.push(std::iter::once(format!("{prefix}{}", r.key)).chain(cells).collect());
        }
    };
    section(&mut rows, "", &c.facts);
    section(&mut rows, "params.", &c.params);
    section(&mut rows, "tags.", &c.tags);
    for m in &c.metrics {
        rows.push(
            std::iter::once(format!("metrics.{} ({})", m.key, goal(m)))
                .chain(metric_cells(m, c.baseline))
                .collect(),
        );
    }
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    if !all && c.params.iter().any(|r| !r.differs) {
        out.push_str(&format!(
            "({} equal params hidden; --all shows them)\n",
            c.params.iter().filter(|r| !r.differs).count()
        ));
    }
    out
}

fn goal(m: &MetricRow) -> &'static str {
    match m.goal {
        api_types::Goal::Min => "lower is better",
        api_types::Goal::Max => "higher is better",
    }
}

fn metric_cells(m: &MetricRow, baseline: usize) -> impl Iterator<Item = String> + '_ {
    m.last.iter().zip(&m.delta_last).enumerate().map(move |(i, (v, d))| match v {
        None => "-".into(),
        Some(v) => {
            let best = if m.best_last == Some(i) { "*" } else { "" };
            let delta = match d {
                Some(d) if i != baseline => format!(" ({d:+.4})"),
                _ => String::new(),
            };
            format!("{v:.4}{best}{delta}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::{ComparedRun, Goal};

    #[test]
    fn the_table_shows_what_differs_and_marks_the_best() {
        let run = |name: &str, n: u128| ComparedRun {
            uuid: uuid::Uuid::from_u128(n),
            name: name.into(),
            status: "succeeded".into(),
            duration: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            started: None,
        };
        let row = |key: &str, a: &str, b: &str| DiffRow {
            key: key.into(),
            values: vec![Some(a.into()), Some(b.into())],
            differs: a != b,
        };
        let c = Comparison {
            runs: vec![run("base", 1), run("other", 2)],
            baseline: 0,
            params: vec![row("lr", "0.1", "0.01"), row("batch", "32", "32")],
            tags: vec![],
            facts: vec![row("image", "busybox", "busybox")],
            metrics: vec![MetricRow {
                key: "loss".into(),
                goal: Goal::Min,
                last: vec![Some(0.5), Some(0.25)],
                min: vec![None, None],
                max: vec![None, None],
                best_last: Some(1),
                best_min: None,
                best_max: None,
                delta_last: vec![Some(0.0), Some(-0.25)],
            }],
            series: vec![],
        };
        let t = table(&c, false);
        assert!(t.contains("params.lr") && !t.contains("params.batch") && !t.contains("image"), "{t}");
        assert!(t.contains("0.2500* (-0.2500)"), "{t}");
        assert!(t.contains("1 equal params hidden"), "{t}");
        assert!(table(&c, true).contains("params.batch"));
    }
}
