//! The compare page's table: a column per run with what decided each result (run facts, params, tags; only
//! what differs unless asked) and what each logged (metrics, the best marked), and the same as CSV.

use leptos::prelude::*;

use crate::components::download;
use crate::components::lines_chart::css;
use crate::server::compare::Comparison;
use api_types::{DiffRow, MetricRow};

/// The table as CSV rows: a column per run; the rows shown (`all`: equal ones too), then each metric's last,
/// min, max and delta against the baseline.
fn table_rows(c: &Comparison, all: bool) -> Vec<Vec<String>> {
    let mut rows =
        vec![std::iter::once("key".to_string()).chain(c.runs.iter().map(|r| r.name.clone())).collect()];
    rows.push(std::iter::once("uuid".to_string()).chain(c.runs.iter().map(|r| r.uuid.to_string())).collect());
    for (prefix, list) in [("", &c.facts), ("params.", &c.params), ("tags.", &c.tags)] {
        for r in list.iter().filter(|r| all || r.differs) {
            rows.push(
                std::iter::once(format!("{prefix}{}", r.key))
                    .chain(r.values.iter().map(|v| v.clone().unwrap_or_default()))
                    .collect(),
            );
        }
    }
    let text = |v: &Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for m in &c.metrics {
        for (what, values) in [("last", &m.last), ("min", &m.min), ("max", &m.max), ("delta", &m.delta_last)]
        {
            rows.push(
                std::iter::once(format!("metrics.{}.{what}", m.key)).chain(values.iter().map(text)).collect(),
            );
        }
    }
    rows
}

fn cell(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "–".into())
}

fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6}")).unwrap_or_else(|| "–".into())
}

/// A column per run: what decided each result, then what each logged.
#[component]
pub(super) fn CompareTable(c: Comparison, all: bool) -> impl IntoView {
    let shown = |rows: &[DiffRow]| rows.iter().filter(|r| all || r.differs).cloned().collect::<Vec<_>>();
    let hidden = c.params.iter().chain(&c.tags).chain(&c.facts).filter(|r| !r.differs).count();
    let section = |title: &'static str, prefix: &'static str, rows: Vec<DiffRow>| {
        (!rows.is_empty()).then(|| view! {
            <tr class="section"><th colspan="100">{title}</th></tr>
            {rows.into_iter().map(|r| view! {
                <tr data-key=format!("{prefix}{}", r.key) class=if r.differs { "differs" } else { "same" }>
                    <th>{r.key.clone()}</th>
                    {r.values.iter().map(|v| view! { <td>{cell(v)}</td> }).collect_view()}
                </tr>
            }).collect_view()}
        })
    };
    let metric = |m: MetricRow, baseline: usize| {
        let key = m.key.clone();
        let goal = if m.goal == api_types::Goal::Min { "lower is better" } else { "higher is better" };
        view! {
            <tr data-key=format!("metrics.{key}")>
                <th>{key.clone()} <span class="muted">{format!(" ({goal})")}</span></th>
                {m.last.iter().enumerate().map(|(i, v)| {
                    let best = m.best_last == Some(i);
                    let delta = m.delta_last[i].filter(|_| i != baseline).map(|d| format!(" ({d:+.4})"));
                    let range = format!("min {} · max {}", num(m.min[i]), num(m.max[i]));
                    view! {
                        <td class=if best { "num best" } else { "num" } title=range.clone()>
                            {num(*v)} <span class="muted delta">{delta}</span>
                            <div class="muted small">{range.clone()}</div>
                        </td>
                    }
                }).collect_view()}
            </tr>
        }
    };
    let csv_rows = table_rows(&c, all);
    let durations =
        c.runs.iter().map(|r| r.duration.map(|d| format!("{d:.1} s")).unwrap_or_else(|| "–".into()));
    view! {
        <section class="card">
            <table class="table compare" id="compare-table">
                <thead><tr>
                    <th></th>
                    {c.runs.iter().enumerate().map(|(i, r)| view! {
                        <th data-run=r.uuid.to_string()><span class="swatch" style=format!("background:{}", css(i))></span>{r.name.clone()}</th>
                    }).collect_view()}
                </tr></thead>
                <tbody>
                    <tr data-key="duration"><th>"duration"</th>{durations.map(|d| view! { <td class="num">{d}</td> }).collect_view()}</tr>
                    {section("Run", "", shown(&c.facts))}
                    {section("Params", "params.", shown(&c.params))}
                    {section("Tags", "tags.", shown(&c.tags))}
                    {(!c.metrics.is_empty()).then(|| view! { <tr class="section"><th colspan="100">"Metrics (last; the best is marked, deltas against the baseline)"</th></tr> })}
                    {c.metrics.iter().cloned().map(|m| metric(m, c.baseline)).collect_view()}
                </tbody>
            </table>
            {(!all && hidden > 0).then(|| view! { <p class="muted" id="compare-hidden">{format!("{hidden} equal rows hidden (show equal rows to see them).")}</p> })}
            <button type="button" class="small" id="compare-csv"
                on:click=move |_| download::save("comparison.csv", "text/csv", &download::csv(&csv_rows))>"Download CSV"</button>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::{ComparedRun, Goal};

    #[test]
    fn the_csv_has_a_column_per_run_and_the_rows_shown() {
        let run = |name: &str| ComparedRun {
            uuid: uuid::Uuid::nil(),
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
            runs: vec![run("a"), run("b")],
            baseline: 0,
            params: vec![row("lr", "0.1", "0.2"), row("batch", "32", "32")],
            tags: vec![],
            facts: vec![],
            metrics: vec![MetricRow {
                key: "loss".into(),
                goal: Goal::Min,
                last: vec![Some(0.5), None],
                min: vec![Some(0.4), None],
                max: vec![Some(1.0), None],
                best_last: Some(0),
                best_min: Some(0),
                best_max: Some(0),
                delta_last: vec![Some(0.0), None],
            }],
            series: vec![],
        };
        let rows = table_rows(&c, false);
        assert_eq!(rows[0], vec!["key", "a", "b"]);
        assert!(rows.iter().any(|r| r[0] == "params.lr") && !rows.iter().any(|r| r[0] == "params.batch"));
        assert!(rows
            .iter()
            .any(|r| r == &vec!["metrics.loss.last".to_string(), "0.5".into(), String::new()]));
        assert!(table_rows(&c, true).iter().any(|r| r[0] == "params.batch"));
    }
}
