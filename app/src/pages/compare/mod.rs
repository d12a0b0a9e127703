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
use crate::components::lines_chart::{self, css, Drawn, Plot};
use crate::server::compare::{compare_runs, Comparison};

mod analysis;
mod parallel;
mod scatter;
mod table;
mod why;
use analysis::{band, Centre, Spread};
use table::CompareTable;

/// Every setting the URL may hold, in the order links write them.
const KEYS: [&str; 22] = [
    "runs", "q", "metrics", "baseline", "all", "t", "x", "log", "smooth", "from", "to", "group", "centre",
    "spread", "axes", "alog", "flip", "brush", "sx", "sy", "sc", "why",
];

/// The page's state, as the URL holds it: `runs`, `q` (every run a query matches), `metrics` (charted keys),
/// `baseline`, `all` (equal rows too), `t` (transposed table); the charts' `x`, `log`, `smooth`, `from`/`to` (a
/// zoom), `group` (a column), `centre` (`median`), `spread` (`std`); the parallel coordinates' `axes`, `alog`,
/// `flip`, `brush`; the scatter's `sx`, `sy`, `sc`; the second run of "why different", `why`.
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
            get("metrics"),
            get("baseline"),
            s.step("from"),
            s.step("to"),
        )
    };
    // Nothing chosen, nothing asked.
    let data = Resource::new(fetched, |(o, n, runs, q, metrics, baseline, from, to)| async move {
        if runs.is_empty() && q.is_empty() {
            return Ok(None);
        }
        compare_runs(o, n, runs, q, metrics, baseline, from, to).await.map(Some)
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
                        Ok(Some(c)) => view! { <Compared c settings base=format!("/{}/{}", owner.get_untracked(), name.get_untracked()) /> }.into_any(),
                        Err(e) => view! { <ErrorBox message=e.message.clone() /> }.into_any(),
                    }
                })}
            </Transition>
        </Show>
    }
}

/// What one chart draws under the page's settings: a line per run the brushes keep, or per group its centre
/// line and band.
fn plot(c: &Comparison, lines: &[api_types::Line], s: &Settings, keep: &[bool]) -> Plot {
    let o = s.opts();
    let prepared: Vec<Drawn> = lines
        .iter()
        .filter(|l| keep.get(l.run).copied().unwrap_or(false))
        .map(|l| (l.run, prepare_points(&l.points, c.runs[l.run].started.unwrap_or(0), o)))
        .collect();
    let group = s.get("group");
    if group.is_empty() {
        return Plot {
            lines: prepared,
            bands: vec![],
            names: c.runs.iter().map(|r| r.name.clone()).collect(),
        };
    }
    let centre = if s.get("centre") == "median" { Centre::Median } else { Centre::Mean };
    let spread = if s.get("spread") == "std" { Spread::Std } else { Spread::MinMax };
    let mut out = Plot::default();
    for (g, (label, members)) in analysis::groups(c, group, keep).into_iter().enumerate() {
        let member_lines: Vec<&[(f64, f64, f64)]> =
            prepared.iter().filter(|(r, _)| members.contains(r)).map(|(_, p)| p.as_slice()).collect();
        out.names.push(format!("{label} ({} runs)", members.len()));
        let b = band(&member_lines, centre, spread, 200);
        if b.is_empty() {
            continue;
        }
        out.lines.push((g, b.iter().map(|p| (p.0, p.1, p.1)).collect()));
        out.bands.push((g, b.iter().map(|p| (p.0, p.2, p.3)).collect()));
    }
    out
}

#[component]
fn Compared(c: Comparison, settings: Memo<Settings>, base: String) -> impl IntoView {
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
            {c.with_value(|c| c.series.clone()).into_iter().map(|series| {
                let lines = StoredValue::new(series.lines);
                let drawn = Memo::new(move |_| {
                    let keep = kept.get();
                    settings.with(|s| c.with_value(|c| lines.with_value(|ls| plot(c, ls, s, &keep))))
                });
                view! { <CompareChart key=series.key drawn settings zoom=go /> }
            }).collect_view()}
        </div>
        <parallel::ParallelCoords c settings kept set=go />
        {move || view! { <CompareTable c=c.get_value() all=settings.with(|s| s.flag("all")) transposed=settings.with(|s| s.flag("t")) kept=kept.get() /> }}
        <why::WhyDifferent c settings set=go />
    }
}

/// X-axis, log scale, smoothing, the zoom and grouping, for every chart at once.
#[component]
fn ChartControls(
    settings: Memo<Settings>,
    set: Callback<Settings>,
    group_keys: Vec<String>,
) -> impl IntoView {
    let change = move |k: &'static str, v: String| {
        let mut s = settings.get_untracked();
        s.set(k, v);
        set.run(s);
    };
    let grouped = move || !settings.with(|s| s.get("group").is_empty());
    view! {
        <div class="row" id="compare-controls">
            <select class="chart-x" on:change=move |e| change("x", event_target_value(&e).replace("step", ""))>
                <option value="step" selected=move || settings.with(|s| s.opts().x == XAxis::Step)>"Step"</option>
                <option value="relative" selected=move || settings.with(|s| s.opts().x == XAxis::Relative)>"Relative time"</option>
                <option value="wall" selected=move || settings.with(|s| s.opts().x == XAxis::Wall)>"Wall time"</option>
            </select>
            <label class="inline"><input type="checkbox" class="chart-log" prop:checked=move || settings.with(|s| s.flag("log"))
                on:change=move |e| change("log", if event_target_checked(&e) { "1".into() } else { String::new() }) />" log"</label>
            <label class="inline">"smoothing "<input type="range" class="chart-smooth" min="0" max="0.99" step="0.01"
                prop:value=move || settings.with(|s| s.opts().smoothing.to_string())
                on:change=move |e| {
                    let v = event_target_value(&e);
                    change("smooth", if v.parse::<f64>().unwrap_or(0.0) == 0.0 { String::new() } else { v });
                } /></label>
            <label class="inline">"group by "
                <select id="compare-group" on:change=move |e| change("group", event_target_value(&e))>
                    <option value="">"(none)"</option>
                    {group_keys.into_iter().map(|k| {
                        let (key, value) = (k.clone(), k.clone());
                        view! { <option value=value selected=move || settings.with(|s| s.get("group") == key)>{k}</option> }
                    }).collect_view()}
                </select>
            </label>
            <Show when=grouped>
                <select id="compare-centre" on:change=move |e| change("centre", event_target_value(&e))>
                    <option value="" selected=move || settings.with(|s| s.get("centre") != "median")>"mean"</option>
                    <option value="median" selected=move || settings.with(|s| s.get("centre") == "median")>"median"</option>
                </select>
                <select id="compare-spread" on:change=move |e| change("spread", event_target_value(&e))>
                    <option value="" selected=move || settings.with(|s| s.get("spread") != "std")>"min–max band"</option>
                    <option value="std" selected=move || settings.with(|s| s.get("spread") == "std")>"±std band"</option>
                </select>
            </Show>
            {move || settings.with(|s| s.step("from").zip(s.step("to"))).map(|(f, t)| view! {
                <span class="muted" id="compare-zoom">{format!("steps {f}–{t} ")}</span>
                <button type="button" class="small" id="compare-unzoom" on:click=move |_| {
                    let mut s = settings.get_untracked();
                    s.set("from", "");
                    s.set("to", "");
                    set.run(s);
                }>"Reset zoom"</button>
            })}
        </div>
    }
}

/// One metric: a line per run (or per group, with its band); hovering lists every line's value at that x;
/// dragging across (step axis) zooms in, re-fetched at full resolution.
#[component]
fn CompareChart(
    key: String,
    drawn: Memo<Plot>,
    settings: Memo<Settings>,
    zoom: Callback<Settings>,
) -> impl IntoView {
    let (hover, set_hover) = signal(Vec::<(usize, String, f64)>::new());
    let (drag, set_drag) = signal(None::<f64>);
    let opts = move || settings.with(|s| s.opts());
    let kept_server_drawing =
        StoredValue::new(Owner::current_shared_context().is_some_and(|sc| sc.during_hydration()));
    let id = format!("compare-chart-{}", key.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    let file = key.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    let release = move |e: leptos::ev::MouseEvent| {
        let (Some(a), Some(b)) = (drag.get_untracked(), hover_at(&e)) else { return };
        set_drag.set(None);
        if (a - b).abs() < 8.0 || opts().x != XAxis::Step {
            return;
        }
        let (lo, hi) = drawn.with_untracked(|d| lines_chart::x_between(&d.lines, a, b));
        let mut s = settings.get_untracked();
        s.set("from", (lo.floor() as i64).to_string());
        s.set("to", (hi.ceil() as i64).to_string());
        zoom.run(s);
    };
    let groups = move || {
        drawn.with(|p| {
            (!p.bands.is_empty()).then(|| {
                p.lines
                    .iter()
                    .map(|(g, _)| view! { <li class="group"><span class="swatch" style=format!("background:{}", css(*g))></span>{p.names[*g].clone()}</li> })
                    .collect_view()
            })
        })
    };
    view! {
        <section class="card chart" id=id data-key=key.clone()>
            <div class="row">
                <strong>{key.clone()}</strong>
                <div class="spacer"></div>
                <button type="button" class="small chart-svg-save" on:click={
                    let file = format!("{file}.svg");
                    move |_| download::save(&file, "image/svg+xml", &drawn.with_untracked(|d| lines_chart::plot_svg(d, opts())))
                }>"SVG"</button>
                <button type="button" class="small chart-png-save" on:click={
                    let file = format!("{file}.png");
                    move |_| download::save_png(&file, &drawn.with_untracked(|d| lines_chart::plot_svg(d, opts())))
                }>"PNG"</button>
            </div>
            <ul class="legend chart-groups">{groups}</ul>
            <div class="chart-svg"
                inner_html=move || {
                    // Hydrating, the page already holds the server's drawing of the same lines: the browser keeps
                    // it rather than draw them again (hundreds of lines take it longer than the rest of the page),
                    // and draws only when a setting or the brushing changes them.
                    if kept_server_drawing.get_value() {
                        kept_server_drawing.set_value(false);
                        drawn.track();
                        settings.track();
                        return String::new();
                    }
                    drawn.with(|d| lines_chart::plot_svg(d, opts()))
                }
                on:mousemove=move |e| set_hover.set(hover_at(&e).map(|px| drawn.with(|d| lines_chart::readout(&d.lines, px, opts()))).unwrap_or_default())
                on:mousedown=move |e| set_drag.set(hover_at(&e))
                on:mouseup=release
                on:mouseleave=move |_| set_hover.set(vec![])></div>
            <ul class="chart-hover muted">
                {move || {
                    let list = hover.get();
                    if list.is_empty() {
                        return view! { <li>"Hover for every line's value; drag across to zoom."</li> }.into_any();
                    }
                    list.into_iter().map(|(i, x, y)| view! {
                        <li data-run-index=i.to_string()>
                            <span class="swatch" style=format!("background:{}", css(i))></span>
                            {format!("{} at {x}: {y}", drawn.with(|d| d.names.get(i).cloned().unwrap_or_default()))}
                        </li>
                    }).collect_view().into_any()
                }}
            </ul>
        </section>
    }
}
