//! The compare page's charts: one per metric key, a line per run (or per group with its band), and the controls
//! every chart shares (x-axis, log scale, smoothing, zoom, grouping).

use leptos::prelude::*;

use super::analysis::{self, band, Centre, Spread};
use super::Settings;
use crate::components::chart::{hover_at, prepare_points, XAxis};
use crate::components::download;
use crate::components::lines_chart::{self, css, Drawn, Plot};
use crate::server::compare::Comparison;

/// What one chart draws under the page's settings: a line per run the brushes keep, or per group its centre
/// line and band.
pub(super) fn plot(c: &Comparison, lines: &[api_types::Line], s: &Settings, keep: &[bool]) -> Plot {
    let o = s.opts();
    let prepared: Vec<Drawn> = lines
        .iter()
        .filter(|l| keep.get(l.run).copied().unwrap_or(false))
        .map(|l| {
            let started = c.runs[l.run].started.unwrap_or(0);
            (l.run, prepare_points(&l.points, started, started, o))
        })
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
        out.names.push(group_name(&label, members.len()));
        let b = band(&member_lines, centre, spread, 200);
        if b.is_empty() {
            continue;
        }
        out.lines.push((g, b.iter().map(|p| (p.0, p.1, p.1)).collect()));
        out.bands.push((g, b.iter().map(|p| (p.0, p.2, p.3)).collect()));
    }
    out
}

/// A group as legends and readouts name it.
pub(super) fn group_name(label: &str, runs: usize) -> String {
    format!("{label} ({runs} runs)")
}

/// X-axis, log scale, smoothing, the zoom and grouping, for every chart at once.
#[component]
pub(super) fn ChartControls(
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
pub(super) fn CompareChart(
    key: String,
    drawn: Memo<Plot>,
    /// With a group-by, each group's colour index and name.
    groups: Memo<Vec<(usize, String)>>,
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
        groups.with(|gs| {
            gs.iter()
                .map(|(g, name)| view! { <li class="group"><span class="swatch" style=format!("background:{}", css(*g))></span>{name.clone()}</li> })
                .collect_view()
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
