//! The compare page's scatter: one column against another, a dot per run, coloured by a third. Its columns are
//! the URL's `sx`, `sy` and `sc` (by default the first differing params and the first metric).

use leptos::prelude::*;

use super::analysis::{self, Column};
use super::Settings;
use crate::components::lines_chart::colour;
use crate::components::{download, scatter};
use crate::server::compare::Comparison;

/// One column against another, a dot per run, coloured by a third (a continuous scale for numbers, the palette
/// for categories); runs the brushes filter out are faded.
#[component]
pub(super) fn Scatter(
    c: StoredValue<Comparison>,
    settings: Memo<Settings>,
    kept: Memo<Vec<bool>>,
    set: Callback<Settings>,
    keys: Vec<String>,
) -> impl IntoView {
    let pick = move |which: &'static str, fallback: usize| {
        let chosen = settings.with(|s| s.get(which).to_string());
        if !chosen.is_empty() {
            return chosen;
        }
        let defaults = c.with_value(|c| analysis::default_axes(c, &settings.with(|s| s.list("metrics"))));
        let params: Vec<&String> = defaults.iter().filter(|k| k.starts_with("params.")).collect();
        let metric = defaults.iter().find(|k| k.starts_with("metrics."));
        match fallback {
            0 => params.first().map(|k| k.to_string()).unwrap_or_default(),
            1 => metric.cloned().unwrap_or_default(),
            _ => params.get(1).map(|k| k.to_string()).unwrap_or_default(),
        }
    };
    let chosen = Memo::new(move |_| (pick("sx", 0), pick("sy", 1), pick("sc", 2)));
    let drawing = move || {
        let (x, y, by) = chosen.get();
        let keep = kept.get();
        c.with_value(|c| {
            let (Some(xc), Some(yc)) = (analysis::column(c, &x), analysis::column(c, &y)) else {
                return String::new();
            };
            let colour_col = analysis::column(c, &by);
            let range = colour_col.as_ref().and_then(Column::range);
            let dots: Vec<scatter::Dot> = (0..c.runs.len())
                .filter_map(|r| {
                    let (vx, vy) = (xc.values[r]?, yc.values[r]?);
                    let shade = match (&colour_col, range) {
                        (Some(cc), Some((lo, hi))) => match (cc.values[r], &cc.labels) {
                            (Some(v), Some(_)) => colour(v as usize),
                            (Some(v), None) => scatter::ramp(v, lo, hi),
                            (None, _) => (120, 120, 120),
                        },
                        _ => colour(r),
                    };
                    Some((vx, vy, shade, !keep[r]))
                })
                .collect();
            scatter::svg(
                &dots,
                &scatter::Axis { title: &x, labels: xc.labels.as_deref() },
                &scatter::Axis { title: &y, labels: yc.labels.as_deref() },
            )
        })
    };
    let drawing = Memo::new(move |_| drawing());
    let select = move |which: &'static str, id: &'static str, slot: usize, none: bool| {
        let options = keys.clone();
        view! {
            <select id=id on:change=move |e| {
                let v = event_target_value(&e);
                let mut s = settings.get_untracked();
                s.set(which, v);
                set.run(s);
            }>
                {none.then(|| view! { <option value="">"(run)"</option> })}
                {options.into_iter().map(|k| {
                    let (value, label) = (k.clone(), k.clone());
                    let selected = move || { let (x, y, b) = chosen.get(); [x, y, b][slot] == k };
                    view! { <option value=value selected=selected>{label}</option> }
                }).collect_view()}
            </select>
        }
    };
    view! {
        <section class="card chart" id="compare-scatter">
            <div class="row">
                <strong>"Scatter"</strong>
                <div class="spacer"></div>
                <label class="inline">"x "{select("sx", "scatter-x", 0, false)}</label>
                <label class="inline">"y "{select("sy", "scatter-y", 1, false)}</label>
                <label class="inline">"colour "{select("sc", "scatter-colour", 2, true)}</label>
                <button type="button" class="small" id="scatter-svg" on:click=move |_| download::save("scatter.svg", "image/svg+xml", &drawing.get_untracked())>"SVG"</button>
                <button type="button" class="small" id="scatter-png" on:click=move |_| download::save_png("scatter.png", &drawing.get_untracked())>"PNG"</button>
            </div>
            <div class="chart-svg" inner_html=move || drawing.get()></div>
        </section>
    }
}
