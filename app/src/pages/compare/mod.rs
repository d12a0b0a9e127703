//! The compare tab: runs chosen on the runs tab (or every run a query matches) side by side. Every setting is in
//! the URL (`?runs=a,b&metrics=loss&baseline=a&all=1&x=step&log=1&smooth=0.6&from=10&to=90`), so a link shows
//! the same page to whoever opens it.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use super::runs::{project_key, StatusBadge};
use crate::components::chart::{hover_at, prepare_points, Opts, XAxis};
use crate::components::download;
use crate::components::forms::ErrorBox;
use crate::components::lines_chart::{self, css, Drawn};
use crate::server::compare::{compare_runs, Comparison};

mod table;
use table::CompareTable;

/// The page's state, as the URL holds it.
#[derive(Debug, Clone, Default, PartialEq)]
struct Settings {
    runs: String,
    q: String,
    metrics: String,
    baseline: String,
    all: bool,
    x: String,
    log: bool,
    smooth: String,
    from: Option<i64>,
    to: Option<i64>,
}

impl Settings {
    fn href(&self, base: &str) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in
            [("runs", &self.runs), ("q", &self.q), ("metrics", &self.metrics), ("baseline", &self.baseline)]
        {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if self.all {
            q.append_pair("all", "1");
        }
        if !self.x.is_empty() && self.x != "step" {
            q.append_pair("x", &self.x);
        }
        if self.log {
            q.append_pair("log", "1");
        }
        if !self.smooth.is_empty() && self.smooth != "0" {
            q.append_pair("smooth", &self.smooth);
        }
        if let (Some(f), Some(t)) = (self.from, self.to) {
            q.append_pair("from", &f.to_string());
            q.append_pair("to", &t.to_string());
        }
        format!("{base}/compare?{}", q.finish())
    }

    fn opts(&self) -> Opts {
        let x = match self.x.as_str() {
            "relative" => XAxis::Relative,
            "wall" => XAxis::Wall,
            _ => XAxis::Step,
        };
        Opts { x, log: self.log, smoothing: self.smooth.parse().unwrap_or(0.0f64).clamp(0.0, 0.99) }
    }

    fn keys(&self) -> Vec<String> {
        self.metrics.split(',').filter(|k| !k.is_empty()).map(String::from).collect()
    }
}

#[component]
pub fn CompareTab() -> impl IntoView {
    let (owner, name) = project_key();
    let query = use_query_map();
    let settings = Memo::new(move |_| {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        Settings {
            runs: get("runs"),
            q: get("q"),
            metrics: get("metrics"),
            baseline: get("baseline"),
            all: get("all") == "1",
            x: get("x"),
            log: get("log") == "1",
            smooth: get("smooth"),
            from: get("from").parse().ok(),
            to: get("to").parse().ok(),
        }
    });
    // Only what the server answers from: the chart options are drawn in the page.
    let fetched = move || {
        let s = settings.get();
        (owner.get(), name.get(), s.runs, s.q, s.metrics, s.baseline, s.from, s.to)
    };
    // Nothing chosen, nothing asked.
    let data = Resource::new(fetched, |(o, n, runs, q, metrics, baseline, from, to)| async move {
        if runs.is_empty() && q.is_empty() {
            return Ok(None);
        }
        compare_runs(o, n, runs, q, metrics, baseline, from, to).await.map(Some)
    });
    let nothing = move || {
        let s = settings.get();
        s.runs.is_empty() && s.q.is_empty()
    };
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
                        Ok(Some(c)) => view! { <Compared c settings base=format!("/{}/{}", owner.get_untracked(), name.get_untracked()) /> }.into_any(),
                        Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                    }
                })}
            </Transition>
        </Show>
    }
}

#[component]
fn Compared(c: Comparison, settings: Memo<Settings>, base: String) -> impl IntoView {
    let navigate = use_navigate();
    let base = StoredValue::new(base);
    let go = move |s: Settings| {
        navigate(&base.with_value(|b| s.href(b)), NavigateOptions { replace: true, ..Default::default() })
    };
    let go = StoredValue::new(go);
    let set = move |f: fn(&mut Settings, String), v: String| {
        let mut s = settings.get_untracked();
        f(&mut s, v);
        go.with_value(|g| g(s));
    };
    let c = StoredValue::new(c);
    let names: Vec<String> = c.with_value(|c| c.runs.iter().map(|r| r.name.clone()).collect());
    let names = StoredValue::new(names);
    let chosen = move || settings.with(|s| s.keys());
    let toggle_metric = move |key: String, on: bool| {
        let mut keys = settings.with_untracked(|s| s.keys());
        keys.retain(|k| *k != key);
        if on {
            keys.push(key);
        }
        set(|s, v| s.metrics = v, keys.join(","));
    };
    let legend = c.with_value(|c| {
        c.runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let href = base.with_value(|b| format!("{b}/runs/{}", r.uuid));
                let base_mark = (i == c.baseline).then_some(" (baseline)");
                view! {
                    <li data-run=r.uuid.to_string()>
                        <span class="swatch" style=format!("background:{}", css(i))></span>
                        <a href=href>{r.name.clone()}</a> " " <span class="muted uuid">{r.uuid.to_string()[..8].to_string()}</span>
                        " " <StatusBadge status=r.status.clone() /> <span class="muted">{base_mark}</span>
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
    let metric_keys = c.with_value(|c| c.metrics.iter().map(|m| m.key.clone()).collect::<Vec<_>>());
    view! {
        <section class="card" id="compare-head">
            <div class="row">
                <h3>{c.with_value(|c| format!("Comparing {} runs", c.runs.len()))}</h3>
                <div class="spacer"></div>
                <label class="inline">"Baseline "
                    <select id="compare-baseline" on:change=move |e| set(|s, v| s.baseline = v, event_target_value(&e))>{baseline_options}</select>
                </label>
                <label class="inline"><input type="checkbox" id="compare-all" prop:checked=move || settings.with(|s| s.all)
                    on:change=move |e| set(|s, v| s.all = v == "1", if event_target_checked(&e) { "1".into() } else { String::new() }) />" show equal rows"</label>
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
            <ChartControls settings set=Callback::new(move |s: Settings| go.with_value(|g| g(s))) />
        </section>
        <div class="charts" id="compare-charts">
            {c.with_value(|c| c.series.clone()).into_iter().map(|series| {
                let started: Vec<i64> = c.with_value(|c| c.runs.iter().map(|r| r.started.unwrap_or(0)).collect());
                let lines = StoredValue::new(series.lines);
                let drawn = Memo::new(move |_| {
                    let o = settings.with(|s| s.opts());
                    lines.with_value(|ls| ls.iter().map(|l| (l.run, prepare_points(&l.points, started[l.run], o))).collect::<Vec<Drawn>>())
                });
                view! { <CompareChart key=series.key drawn settings names zoom=Callback::new(move |s: Settings| go.with_value(|g| g(s))) /> }
            }).collect_view()}
        </div>
        {move || view! { <CompareTable c=c.get_value() all=settings.with(|s| s.all) /> }}
    }
}

/// X-axis, log scale, smoothing and the zoom, for every chart at once.
#[component]
fn ChartControls(settings: Memo<Settings>, set: Callback<Settings>) -> impl IntoView {
    let change = move |f: fn(&mut Settings, String), v: String| {
        let mut s = settings.get_untracked();
        f(&mut s, v);
        set.run(s);
    };
    view! {
        <div class="row" id="compare-controls">
            <select class="chart-x" on:change=move |e| change(|s, v| s.x = v, event_target_value(&e))>
                <option value="step" selected=move || settings.with(|s| s.opts().x == XAxis::Step)>"Step"</option>
                <option value="relative" selected=move || settings.with(|s| s.opts().x == XAxis::Relative)>"Relative time"</option>
                <option value="wall" selected=move || settings.with(|s| s.opts().x == XAxis::Wall)>"Wall time"</option>
            </select>
            <label class="inline"><input type="checkbox" class="chart-log" prop:checked=move || settings.with(|s| s.log)
                on:change=move |e| change(|s, v| s.log = v == "1", if event_target_checked(&e) { "1".into() } else { String::new() }) />" log"</label>
            <label class="inline">"smoothing "<input type="range" class="chart-smooth" min="0" max="0.99" step="0.01"
                prop:value=move || settings.with(|s| s.opts().smoothing.to_string())
                on:change=move |e| change(|s, v| s.smooth = v, event_target_value(&e)) /></label>
            {move || settings.with(|s| s.from.zip(s.to)).map(|(f, t)| view! {
                <span class="muted" id="compare-zoom">{format!("steps {f}–{t} ")}</span>
                <button type="button" class="small" id="compare-unzoom" on:click=move |_| change(|s, _| { s.from = None; s.to = None; }, String::new())>"Reset zoom"</button>
            })}
        </div>
    }
}

/// One metric: a line per run; hovering lists every run's value at that x; dragging across (step axis) zooms in,
/// re-fetched at full resolution.
#[component]
fn CompareChart(
    key: String,
    drawn: Memo<Vec<Drawn>>,
    settings: Memo<Settings>,
    names: StoredValue<Vec<String>>,
    zoom: Callback<Settings>,
) -> impl IntoView {
    let (hover, set_hover) = signal(Vec::<(usize, String, f64)>::new());
    let (drag, set_drag) = signal(None::<f64>);
    let opts = move || settings.with(|s| s.opts());
    let id = format!("compare-chart-{}", key.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    let release = move |e: leptos::ev::MouseEvent| {
        let (Some(a), Some(b)) = (drag.get_untracked(), hover_at(&e)) else { return };
        set_drag.set(None);
        if (a - b).abs() < 8.0 || opts().x != XAxis::Step {
            return;
        }
        let (lo, hi) = drawn.with_untracked(|d| lines_chart::x_between(d, a, b));
        let mut s = settings.get_untracked();
        s.from = Some(lo.floor() as i64);
        s.to = Some(hi.ceil() as i64);
        zoom.run(s);
    };
    view! {
        <section class="card chart" id=id data-key=key.clone()>
            <div class="row">
                <strong>{key.clone()}</strong>
                <div class="spacer"></div>
                <button type="button" class="small chart-svg-save" on:click={
                    let file = format!("{}.svg", key.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
                    move |_| download::save(&file, "image/svg+xml", &drawn.with_untracked(|d| lines_chart::svg(d, opts())))
                }>"SVG"</button>
            </div>
            <div class="chart-svg"
                inner_html=move || drawn.with(|d| lines_chart::svg(d, opts()))
                on:mousemove=move |e| set_hover.set(hover_at(&e).map(|px| drawn.with(|d| lines_chart::readout(d, px, opts()))).unwrap_or_default())
                on:mousedown=move |e| set_drag.set(hover_at(&e))
                on:mouseup=release
                on:mouseleave=move |_| set_hover.set(vec![])></div>
            <ul class="chart-hover muted">
                {move || {
                    let list = hover.get();
                    if list.is_empty() {
                        return view! { <li>"Hover for every run's value; drag across to zoom."</li> }.into_any();
                    }
                    list.into_iter().map(|(run, x, y)| view! {
                        <li data-run-index=run.to_string()>
                            <span class="swatch" style=format!("background:{}", css(run))></span>
                            {format!("{} at {x}: {y}", names.with_value(|n| n[run].clone()))}
                        </li>
                    }).collect_view().into_any()
                }}
            </ul>
        </section>
    }
}
