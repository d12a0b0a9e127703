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

/// A value as a cell shows it: `–` for none, `""` for an empty string (never an empty text node, which the
/// server's HTML cannot carry to hydration).
pub(super) fn cell(v: &Option<String>) -> String {
    match v.as_deref() {
        None => "–".into(),
        Some("") => "\"\"".into(),
        Some(s) => s.into(),
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6}")).unwrap_or_else(|| "–".into())
}

/// One row of the table as a column per run shows it (a column of the transposed table).
struct Row {
    key: String,
    title: AnyView,
    class: &'static str,
    cells: Vec<Cell>,
}

#[derive(Default)]
struct Cell {
    text: String,
    best: bool,
    numeric: bool,
    note: Option<String>,
    detail: Option<String>,
}

/// The rows shown, by section: what decided each result (equal ones only when `all`), then what each logged.
fn grid(c: &Comparison, all: bool) -> Vec<(&'static str, Vec<Row>)> {
    let diff_rows = |prefix: &'static str, rows: &[DiffRow]| -> Vec<Row> {
        rows.iter()
            .filter(|r| all || r.differs)
            .map(|r| Row {
                key: format!("{prefix}{}", r.key),
                title: r.key.clone().into_any(),
                class: if r.differs { "differs" } else { "same" },
                cells: r.values.iter().map(|v| Cell { text: cell(v), ..Default::default() }).collect(),
            })
            .collect()
    };
    let duration = Row {
        key: "duration".into(),
        title: "duration".into_any(),
        class: "",
        cells: c
            .runs
            .iter()
            .map(|r| Cell {
                text: r.duration.map(|d| format!("{d:.1} s")).unwrap_or_else(|| "–".into()),
                numeric: true,
                ..Default::default()
            })
            .collect(),
    };
    let metric = |m: &MetricRow| {
        let goal = if m.goal == api_types::Goal::Min { "lower is better" } else { "higher is better" };
        Row {
            key: format!("metrics.{}", m.key),
            title: view! { {m.key.clone()} <span class="muted">{format!(" ({goal})")}</span> }.into_any(),
            class: "",
            cells: m
                .last
                .iter()
                .enumerate()
                .map(|(i, v)| Cell {
                    text: num(*v),
                    best: m.best_last == Some(i),
                    numeric: true,
                    note: m.delta_last[i].filter(|_| i != c.baseline).map(|d| format!(" ({d:+.4})")),
                    detail: Some(format!("min {} · max {}", num(m.min[i]), num(m.max[i]))),
                })
                .collect(),
        }
    };
    let mut run = vec![duration];
    run.extend(diff_rows("", &c.facts));
    vec![
        ("Run", run),
        ("Params", diff_rows("params.", &c.params)),
        ("Tags", diff_rows("tags.", &c.tags)),
        (
            "Metrics (last; the best is marked, deltas against the baseline)",
            c.metrics.iter().map(metric).collect(),
        ),
    ]
}

fn td(c: Cell) -> impl IntoView {
    let title = c.detail.clone().unwrap_or_default();
    let class = match (c.numeric, c.best) {
        (true, true) => "num best",
        (true, false) => "num",
        _ => "",
    };
    view! {
        <td class=class title=title>
            {c.text} <span class="muted delta">{c.note}</span>
            {c.detail.map(|d| view! { <div class="muted small">{d}</div> })}
        </td>
    }
}

/// Runs the table shows unless asked for every one: a column each is a lot of page (500 runs are 11,000 cells,
/// most of what the browser builds and hydrates) and more than anyone reads; the CSV holds them all.
pub(super) const TABLE_RUNS: usize = 100;

/// A column per run (or, `transposed`, a row per run): what decided each result, then what each logged. Runs the
/// brushes filter out (`kept` false) are left out, here and in the CSV. Past `TABLE_RUNS` runs only the first
/// `TABLE_RUNS` are drawn unless `wide`; `show_all` asks for the rest.
#[component]
pub(super) fn CompareTable(
    c: Comparison,
    all: bool,
    transposed: bool,
    kept: Vec<bool>,
    wide: bool,
    show_all: Callback<()>,
) -> impl IntoView {
    let hidden = c.params.iter().chain(&c.tags).chain(&c.facts).filter(|r| !r.differs).count();
    let kept_runs: Vec<usize> = (0..c.runs.len()).filter(|i| kept.get(*i).copied().unwrap_or(true)).collect();
    let mut csv_rows = table_rows(&c, all);
    for row in &mut csv_rows {
        let first = row[0].clone();
        *row = std::iter::once(first).chain(kept_runs.iter().map(|i| row[i + 1].clone())).collect();
    }
    let shown: Vec<usize> =
        if wide { kept_runs.clone() } else { kept_runs.iter().copied().take(TABLE_RUNS).collect() };
    if transposed {
        csv_rows = (0..csv_rows[0].len()).map(|j| csv_rows.iter().map(|r| r[j].clone()).collect()).collect();
    }
    let run_head = |i: usize| {
        let r = &c.runs[i];
        view! { <th data-run=r.uuid.to_string()><span class="swatch" style=format!("background:{}", css(i))></span>{r.name.clone()}</th> }
    };
    let sections = grid(&c, all);
    let table = if transposed {
        // A row per run; a column per key, the section's name above its keys.
        let mut cells: Vec<Vec<Cell>> = shown.iter().map(|_| Vec::new()).collect();
        let mut heads = Vec::new();
        let mut groups = Vec::new();
        for (title, rows) in sections {
            if rows.is_empty() {
                continue;
            }
            groups.push(view! { <th colspan=rows.len().to_string()>{title}</th> });
            for mut row in rows {
                heads.push(view! { <th data-key=row.key.clone() class=row.class>{row.title}</th> });
                let mut taken: Vec<Option<Cell>> = row.cells.drain(..).map(Some).collect();
                for (k, i) in shown.iter().enumerate() {
                    cells[k].push(taken[*i].take().unwrap_or_default());
                }
            }
        }
        let body = shown
            .iter()
            .zip(cells)
            .map(|(i, row)| view! { <tr data-run-row=c.runs[*i].uuid.to_string()>{run_head(*i)}{row.into_iter().map(td).collect_view()}</tr> })
            .collect_view();
        view! {
            <table class="table compare transposed" id="compare-table">
                <thead><tr class="section"><th></th>{groups}</tr><tr><th>"run"</th>{heads}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        }
        .into_any()
    } else {
        let body = sections
            .into_iter()
            .filter(|(_, rows)| !rows.is_empty())
            .map(|(title, rows)| {
                let rows = rows
                    .into_iter()
                    .map(|mut row| {
                        let mut taken: Vec<Option<Cell>> = row.cells.drain(..).map(Some).collect();
                        let cells =
                            shown.iter().map(|i| td(taken[*i].take().unwrap_or_default())).collect_view();
                        view! { <tr data-key=row.key class=row.class><th>{row.title}</th>{cells}</tr> }
                    })
                    .collect_view();
                view! { <tr class="section"><th colspan="100">{title}</th></tr>{rows} }
            })
            .collect_view();
        view! {
            <table class="table compare" id="compare-table">
                <thead><tr><th></th>{shown.iter().map(|i| run_head(*i)).collect_view()}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <section class="card table-wrap">
            {table}
            {(!all && hidden > 0).then(|| view! { <p class="muted" id="compare-hidden">{format!("{hidden} equal rows hidden (show equal rows to see them).")}</p> })}
            {(kept_runs.len() < c.runs.len()).then(|| view! { <p class="muted" id="compare-filtered">{format!("{} runs filtered out by the parallel coordinates' brushes.", c.runs.len() - kept_runs.len())}</p> })}
            {(shown.len() < kept_runs.len()).then(|| view! {
                <p class="muted" id="compare-first">
                    {format!("The table shows the first {} of {} runs (the CSV holds every one). ", shown.len(), kept_runs.len())}
                    <button type="button" class="small" id="compare-wide" on:click=move |_| show_all.run(())>
                        {format!("Show all {}", kept_runs.len())}
                    </button>
                </p>
            })}
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
