//! The compare tab: runs chosen on the runs tab (or every run a query matches) side by side. Every setting is in
//! the URL (`?runs=a,b&metrics=loss&baseline=a&all=1&x=step&log=1&smooth=0.6&from=10&to=90`), so a link shows
//! the same page to whoever opens it.

use leptos::prelude::*;

use crate::components::page_data::page_resource;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use super::runs::{project_key, StatusBadge};
use crate::components::browser_data::BrowserData;
use crate::components::chart::{Opts, XAxis};
use crate::components::forms::ErrorBox;
use crate::components::lines_chart::css;
use crate::server::compare::{compare_lines, compare_runs, ComparePage, Comparison};

mod analysis;
mod charts;
mod files;
mod parallel;
mod scatter;
mod table;
mod why;
use charts::{plot, ChartControls, CompareChart};
use table::CompareTable;

/// Every setting the URL may hold, in the order links write them.
const KEYS: [&str; 25] = [
    "runs", "q", "children", "metrics", "baseline", "all", "t", "wide", "x", "log", "smooth", "from", "to",
    "group", "centre", "spread", "axes", "alog", "flip", "brush", "sx", "sy", "sc", "why", "file",
];

/// The page's state, as the URL holds it: `runs`, `q` (every run a query matches; with `children=1` pipelines'
/// ops and matrix children too, as the runs tab lists them), `metrics` (charted keys),
/// `baseline`, `all` (equal rows too), `t` (transposed table), `wide` (every run in the table); the charts' `x`, `log`, `smooth`, `from`/`to` (a
/// zoom), `group` (a column), `centre` (`median`), `spread` (`std`); the parallel coordinates' `axes`, `alog`,
/// `flip`, `brush`; the scatter's `sx`, `sy`, `sc`; the second run of "why different", `why`, and the artifact path
/// shown side by side in both, `file`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Settings(std::collections::BTreeMap<&'static str, String>);

impl Settings {
    pub fn get(&self, k: &str) -> &str {
        self.0.get(k).map_or("", String::as_str)
    }

    /// An empty value removes the setting.
    pub fn set(&mut self, k: &str, v: impl Into<String>) {
        let v = v.into();
        let Some(k) = KEYS.iter().find(|x| **x == k) else { return };
        if v.is_empty() {
            self.0.remove(k);
        } else {
            self.0.insert(k, v);
        }
    }

    pub fn flag(&self, k: &str) -> bool {
        self.get(k) == "1"
    }

    /// A comma-separated setting's items.
    pub fn list(&self, k: &str) -> Vec<String> {
        self.get(k).split(',').filter(|x| !x.is_empty()).map(String::from).collect()
    }

    fn href(&self, base: &str) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for k in KEYS {
            if let Some(v) = self.0.get(k) {
                q.append_pair(k, v);
            }
        }
        format!("{base}/compare?{}", q.finish())
    }

    fn opts(&self) -> Opts {
        let x = match self.get("x") {
            "relative" => XAxis::Relative,
            "wall" => XAxis::Wall,
            _ => XAxis::Step,
        };
        Opts {
            x,
            log: self.flag("log"),
            smoothing: self.get("smooth").parse().unwrap_or(0.0f64).clamp(0.0, 0.99),
        }
    }

    fn step(&self, k: &str) -> Option<i64> {
        self.get(k).parse().ok()
    }
}

#[component]
pub fn CompareTab() -> impl IntoView {
    let (owner, name) = project_key();
    let query = use_query_map();
    let settings = Memo::new(move |_| {
        let q = query.read();
        let mut s = Settings::default();
        for k in KEYS {
            s.set(k, q.get(k).unwrap_or_default());
        }
        s
    });
    // Only what the server answers from: everything else is drawn in the page.
    let fetched = move || {
        let s = settings.get();
        let get = |k: &str| s.get(k).to_string();
        (
            owner.get(),
            name.get(),
            get("runs"),
            get("q"),
            s.get("children") == "1",
            get("metrics"),
            get("baseline"),
            s.step("from"),
            s.step("to"),
        )
    };
    // Nothing chosen, nothing asked.
    let data = page_resource(fetched, |(o, n, runs, q, children, metrics, baseline, from, to)| async move {
        if runs.is_empty() && q.is_empty() {
            return Ok(None);
        }
        compare_runs(o, n, runs, q, children, metrics, baseline, from, to)
            .await
            .map(|c| Some(ComparePage::fetched(c)))
    });
    let nothing = move || settings.with(|s| s.get("runs").is_empty() && s.get("q").is_empty());
    view! {
        <Show when=move || !nothing() fallback=|| view! {
            <section class="card" id="compare-empty">
                <h3>"Nothing to compare yet"</h3>
                <p class="muted">"Tick runs in the Runs tab and press Compare, or compare every run a query matches."</p>
            </section>
        }>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(None) => ().into_any(),
                        Ok(Some(p)) => {
                            let base = format!("/{}/{}", owner.get_untracked(), name.get_untracked());
                            // The lines' points left out of the page: fetched again, with them, once hydrated.
                            let points = p.elided.then(|| untrack(fetched));
                            view! { <Compared c=p.c points settings base /> }.into_any()
                        }
                        Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                    }
                })}
            </Transition>
        </Show>
    }
}

/// What `compare_runs` is asked.
type Asked = (String, String, String, String, bool, String, String, Option<i64>, Option<i64>);

/// `points`: the lines came without their points (as the page carries them); ask `compare_lines` this for them.
#[component]
fn Compared(
    mut c: Comparison,
    points: Option<Asked>,
    settings: Memo<Settings>,
    base: String,
) -> impl IntoView {
    let navigate = use_navigate();
    let base = StoredValue::new(base);
    let go = Callback::new(move |s: Settings| {
        navigate(&base.with_value(|b| s.href(b)), NavigateOptions { replace: true, ..Default::default() })
    });
    let set = move |k: &'static str, v: String| {
        let mut s = settings.get_untracked();
        s.set(k, v);
        go.run(s);
    };
    let series = RwSignal::new(std::mem::take(&mut c.series));
    if let Some((o, n, runs, q, children, metrics, baseline, from, to)) = points {
        let full = BrowserData::new(move || {
            compare_lines(
                o.clone(),
                n.clone(),
                runs.clone(),
                q.clone(),
                children,
                metrics.clone(),
                baseline.clone(),
                from,
                to,
            )
        });
        Effect::new(move |_| {
            if let Some(Ok(lines)) = full.get() {
                series.set(lines);
            }
        });
    }
    let c = StoredValue::new(c);
    let kept = Memo::new(move |_| {
        settings.with(|s| c.with_value(|c| analysis::kept(c, &analysis::parse_brushes(s.get("brush")))))
    });
    let chosen = move || settings.with(|s| s.list("metrics"));
    let toggle_metric = move |key: String, on: bool| {
        let mut keys = settings.with_untracked(|s| s.list("metrics"));
        keys.retain(|k| *k != key);
        if on {
            keys.push(key);
        }
        set("metrics", keys.join(","));
    };
    let legend = c.with_value(|c| {
        c.runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let href = base.with_value(|b| format!("{b}/runs/{}", r.uuid));
                let base_mark = (i == c.baseline).then_some(" (baseline)");
                // What tells this run apart: its values of the first params that differ.
                let distinct: Vec<String> = c
                    .params
                    .iter()
                    .filter(|p| p.differs)
                    .take(3)
                    .map(|p| format!("{}={}", p.key, table::cell(&p.values[i])))
                    .collect();
                let distinct = (!distinct.is_empty()).then(|| view! { " " <span class="muted params">{distinct.join(" · ")}</span> });
                view! {
                    <li data-run=r.uuid.to_string() class:faded=move || !kept.with(|k| k[i])>
                        <span class="swatch" style=format!("background:{}", css(i))></span>
                        <a href=href>{r.name.clone()}</a> " " <span class="muted uuid">{r.uuid.to_string()[..8].to_string()}</span>
                        {distinct} " " <StatusBadge status=r.status.clone() /> <span class="muted">{base_mark}</span>
                    </li>
                }
            })
            .collect_view()
    });
    let baseline_options = c.with_value(|c| {
        c.runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let selected = i == c.baseline;
                view! { <option value=r.uuid.to_string() selected=selected>{r.name.clone()}</option> }
            })
            .collect_view()
    });
    // Grouped, each group's name in every chart: from the runs, not from the points (the page may not have them yet).
    let groups = Memo::new(move |_| {
        let keep = kept.get();
        settings.with(|s| {
            let key = s.get("group");
            if key.is_empty() {
                return vec![];
            }
            c.with_value(|c| analysis::groups(c, key, &keep))
                .into_iter()
                .enumerate()
                .map(|(g, (label, members))| (g, charts::group_name(&label, members.len())))
                .collect::<Vec<_>>()
        })
    });
    let metric_keys = c.with_value(|c| c.metrics.iter().map(|m| m.key.clone()).collect::<Vec<_>>());
    let group_keys: Vec<String> = c.with_value(|c| {
        analysis::column_keys(c).into_iter().filter(|k| !k.starts_with("metrics.")).collect()
    });
    view! {
        <section class="card" id="compare-head">
            <div class="row">
                <h3>{c.with_value(|c| format!("Comparing {} runs", c.runs.len()))}</h3>
                <div class="spacer"></div>
                <label class="inline">"Baseline "
                    <select id="compare-baseline" on:change=move |e| set("baseline", event_target_value(&e))>{baseline_options}</select>
                </label>
                <label class="inline"><input type="checkbox" id="compare-all" prop:checked=move || settings.with(|s| s.flag("all"))
                    on:change=move |e| set("all", if event_target_checked(&e) { "1".into() } else { String::new() }) />" show equal rows"</label>
                <label class="inline"><input type="checkbox" id="compare-transpose" prop:checked=move || settings.with(|s| s.flag("t"))
                    on:change=move |e| set("t", if event_target_checked(&e) { "1".into() } else { String::new() }) />" a row per run"</label>
            </div>
            <ul class="legend" id="compare-legend">{legend}</ul>
            <div class="row" id="compare-metrics">
                <span class="muted">"Chart: "</span>
                {metric_keys.into_iter().map(|k| {
                    let (key, label, picked) = (k.clone(), format!(" {k}"), k.clone());
                    view! {
                        <label class="inline"><input type="checkbox" data-key=k.clone() prop:checked=move || chosen().contains(&key)
                            on:change=move |e| toggle_metric(picked.clone(), event_target_checked(&e)) />{label}</label>
                    }
                }).collect_view()}
            </div>
            <ChartControls settings set=go group_keys />
        </section>
        <div class="charts" id="compare-charts">
            {series.with_untracked(|all| all.iter().map(|x| x.key.clone()).collect::<Vec<_>>()).into_iter().enumerate().map(|(i, key)| {
                let drawn = Memo::new(move |_| {
                    let keep = kept.get();
                    series.with(|all| settings.with(|s| c.with_value(|c| plot(c, &all[i].lines, s, &keep))))
                });
                view! { <CompareChart key drawn groups settings zoom=go /> }
            }).collect_view()}
        </div>
        <parallel::ParallelCoords c settings kept set=go />
        {move || view! { <CompareTable c=c.get_value() all=settings.with(|s| s.flag("all")) transposed=settings.with(|s| s.flag("t")) kept=kept.get()
            wide=settings.with(|s| s.flag("wide")) show_all=Callback::new(move |()| set("wide", "1".into())) /> }}
        <why::WhyDifferent c settings set=go />
    }
}
