//! Parallel coordinates over params and metrics (an axis per column, log and flipped axes; dragging along an axis
//! brushes it, and the brushes filter the runs in every view of the page) and a scatter of one column against
//! another, coloured by a third. Both read `analysis` columns; their settings live in the URL.

use leptos::prelude::*;

use super::analysis::{self, Brush, Column};
use super::Settings;
use crate::components::download;
use crate::components::lines_chart::css;
use crate::server::compare::Comparison;

const PW: f64 = 900.0;
const PH: f64 = 320.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 290.0;
const SIDE: f64 = 70.0;

/// An axis as drawn: its column and how values map to heights.
#[derive(PartialEq)]
struct Scale {
    col: Column,
    log: bool,
    flip: bool,
    lo: f64,
    hi: f64,
}

impl Scale {
    fn new(col: Column, log: bool, flip: bool) -> Self {
        let (lo, hi) = match &col.labels {
            Some(l) => (0.0, l.len().saturating_sub(1) as f64),
            None => col.range().unwrap_or((0.0, 1.0)),
        };
        let log = log && col.labels.is_none() && lo > 0.0;
        Scale { col, log, flip, lo, hi }
    }

    fn t(&self, v: f64) -> f64 {
        let f = |v: f64| if self.log { v.log10() } else { v };
        let t = if self.hi > self.lo { (f(v) - f(self.lo)) / (f(self.hi) - f(self.lo)) } else { 0.5 };
        if self.flip {
            1.0 - t
        } else {
            t
        }
    }

    /// A value's height in the drawing.
    fn y(&self, v: f64) -> f64 {
        BOTTOM - self.t(v) * (BOTTOM - TOP)
    }

    /// The value at a height: `y`'s inverse (clamped to the axis).
    fn value(&self, y: f64) -> f64 {
        let t = ((BOTTOM - y) / (BOTTOM - TOP)).clamp(0.0, 1.0);
        let t = if self.flip { 1.0 - t } else { t };
        if self.log {
            10f64.powf(self.lo.log10() + t * (self.hi.log10() - self.lo.log10()))
        } else {
            self.lo + t * (self.hi - self.lo)
        }
    }

    fn ticks(&self) -> Vec<(f64, String)> {
        match &self.col.labels {
            Some(l) => l
                .iter()
                .enumerate()
                .take(12)
                .map(|(i, s)| (self.y(i as f64), trim(&super::table::cell(&Some(s.clone())))))
                .collect(),
            None if self.col.range().is_none() => vec![],
            None => [self.lo, self.value((TOP + BOTTOM) / 2.0), self.hi]
                .into_iter()
                .map(|v| {
                    (self.y(v), format!("{:.4}", v).trim_end_matches('0').trim_end_matches('.').to_string())
                })
                .collect(),
        }
    }
}

fn trim(s: &str) -> String {
    if s.chars().count() > 14 {
        format!("{}…", s.chars().take(13).collect::<String>())
    } else {
        s.to_string()
    }
}

fn x_of(i: usize, n: usize) -> f64 {
    if n < 2 {
        PW / 2.0
    } else {
        SIDE + i as f64 * (PW - 2.0 * SIDE) / (n - 1) as f64
    }
}

/// The mouse's position in a drawing's own units (its `viewBox` is `w` × `h`).
#[allow(unused_variables)]
fn point_in(e: &leptos::ev::MouseEvent, w: f64, h: f64) -> Option<(f64, f64)> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let el = e.current_target()?.dyn_into::<web_sys::Element>().ok()?;
        let r = el.get_bounding_client_rect();
        return Some((
            (e.client_x() as f64 - r.left()) * w / r.width().max(1.0),
            (e.client_y() as f64 - r.top()) * h / r.height().max(1.0),
        ));
    }
    #[allow(unreachable_code)]
    None
}

/// The drawing's markup as the browser has it (empty on the server, where nothing is clicked).
#[allow(unused_variables)]
fn markup(drawing: NodeRef<leptos::svg::Svg>) -> String {
    #[cfg(feature = "hydrate")]
    if let Some(svg) = drawing.get_untracked() {
        return svg.outer_html();
    }
    String::new()
}

#[component]
pub(super) fn ParallelCoords(
    c: StoredValue<Comparison>,
    settings: Memo<Settings>,
    kept: Memo<Vec<bool>>,
    set: Callback<Settings>,
) -> impl IntoView {
    let axes = Memo::new(move |_| {
        let chosen = settings.with(|s| s.list("axes"));
        if chosen.is_empty() {
            c.with_value(|c| analysis::default_axes(c, &settings.with(|s| s.list("metrics"))))
        } else {
            chosen
        }
    });
    let scales = Memo::new(move |_| {
        let (logs, flips) = settings.with(|s| (s.list("alog"), s.list("flip")));
        axes.get()
            .into_iter()
            .filter_map(|k| c.with_value(|c| analysis::column(c, &k)).map(|col| (k, col)))
            .map(|(k, col)| std::sync::Arc::new(Scale::new(col, logs.contains(&k), flips.contains(&k))))
            .collect::<Vec<_>>()
    });
    let brushes = Memo::new(move |_| settings.with(|s| analysis::parse_brushes(s.get("brush"))));
    let (drag, set_drag) = signal(None::<(usize, f64, f64)>);
    let drawing = NodeRef::<leptos::svg::Svg>::new();
    let change = move |f: &dyn Fn(&mut Settings)| {
        let mut s = settings.get_untracked();
        f(&mut s);
        set.run(s);
    };
    let down = move |e: leptos::ev::MouseEvent| {
        let Some((x, y)) = point_in(&e, PW, PH) else { return };
        let n = scales.with_untracked(Vec::len);
        if let Some(i) = (0..n).find(|i| (x_of(*i, n) - x).abs() < 22.0) {
            e.prevent_default();
            set_drag.set(Some((i, y, y)));
        }
    };
    let moved = move |e: leptos::ev::MouseEvent| {
        if let (Some((i, a, _)), Some((_, y))) = (drag.get_untracked(), point_in(&e, PW, PH)) {
            set_drag.set(Some((i, a, y)));
        }
    };
    let up = move |e: leptos::ev::MouseEvent| {
        let Some((i, a, _)) = drag.get_untracked() else { return };
        set_drag.set(None);
        let b = point_in(&e, PW, PH).map_or(a, |p| p.1);
        let Some(scale) = scales.with_untracked(|s| s.get(i).cloned()) else { return };
        let key = scale.col.key.clone();
        let mut list: Vec<Brush> = brushes.get_untracked().into_iter().filter(|b| b.key != key).collect();
        // A click (no drag) clears the axis' brush.
        if (a - b).abs() > 4.0 {
            let (p, q) = (scale.value(a), scale.value(b));
            list.push(Brush { key, lo: p.min(q), hi: p.max(q) });
        }
        let text = analysis::format_brushes(&list);
        change(&|s| s.set("brush", text.clone()));
    };
    let lines = move || {
        let sc = scales.get();
        let keep = kept.get();
        let n = sc.len();
        let runs = c.with_value(|c| c.runs.len());
        // Filtered-out runs first, faded: the kept ones on top.
        let mut order: Vec<usize> = (0..runs).collect();
        order.sort_by_key(|r| keep[*r]);
        order
            .into_iter()
            .map(|r| {
                let mut d = String::new();
                let mut pen = false;
                for (i, s) in sc.iter().enumerate() {
                    match s.col.values[r] {
                        Some(v) => {
                            d.push_str(&format!("{}{:.1},{:.1} ", if pen { "L" } else { "M" }, x_of(i, n), s.y(v)));
                            pen = true;
                        }
                        None => pen = false,
                    }
                }
                let (stroke, opacity) = if keep[r] { (css(r), "0.85") } else { ("#c8c8c8".to_string(), "0.5") };
                view! { <path d=d fill="none" stroke=stroke stroke-opacity=opacity stroke-width="1.5" data-run-index=r.to_string() class=if keep[r] { "kept" } else { "faded" } /> }
            })
            .collect_view()
    };
    let axes_drawn = move || {
        let sc = scales.get();
        let n = sc.len();
        let br = brushes.get();
        sc.iter()
            .enumerate()
            .map(|(i, s)| {
                let x = x_of(i, n);
                let name = s.col.key.split_once('.').map_or(s.col.key.clone(), |p| p.1.to_string());
                let brush = br.iter().find(|b| b.key == s.col.key).map(|b| {
                    let (p, q) = (s.y(b.lo), s.y(b.hi));
                    view! { <rect class="pc-brush" x=x - 9.0 width="18" y=p.min(q) height=(p - q).abs().max(2.0) fill="rgba(37,99,235,0.25)" stroke="#2563eb" /> }
                });
                let marks = [s.log.then_some("log"), s.flip.then_some("flipped")].into_iter().flatten().collect::<Vec<_>>().join(", ");
                view! {
                    <g class="pc-axis" data-key=s.col.key.clone()>
                        <line x1=x x2=x y1=TOP y2=BOTTOM stroke="#374151" />
                        <text x=x y=TOP - 18.0 text-anchor="middle" font-size="12" font-weight="600">{trim(&name)}</text>
                        // An empty text node would not survive the server's HTML: hydration would miss it.
                        {(!marks.is_empty()).then(|| view! { <text x=x y=TOP - 6.0 text-anchor="middle" font-size="10" fill="#6b7280">{marks}</text> })}
                        {s.ticks().into_iter().map(|(y, t)| view! { <text x=x + 5.0 y=y + 4.0 font-size="10" fill="#374151">{t}</text> }).collect_view()}
                        {brush}
                    </g>
                }
            })
            .collect_view()
    };
    let dragging = move || {
        drag.get().map(|(i, a, b)| {
            let n = scales.with(Vec::len);
            view! { <rect x=x_of(i, n) - 9.0 width="18" y=a.min(b) height=(a - b).abs() fill="rgba(37,99,235,0.15)" /> }
        })
    };
    let all_keys = c.with_value(analysis::column_keys);
    let adding = all_keys.clone();
    view! {
        <section class="card" id="compare-parallel">
            <div class="row">
                <strong>"Parallel coordinates"</strong>
                <span class="muted">{move || {
                    let k = kept.get();
                    format!(" {} of {} runs kept. Drag along an axis to filter; click it to clear.", k.iter().filter(|k| **k).count(), k.len())
                }}</span>
                <div class="spacer"></div>
                {move || (!brushes.get().is_empty()).then(|| view! {
                    <button type="button" class="small" id="compare-unbrush" on:click=move |_| change(&|s| s.set("brush", ""))>"Clear filters"</button>
                })}
                <button type="button" class="small" id="parallel-svg" on:click=move |_| download::save("parallel-coordinates.svg", "image/svg+xml", &markup(drawing))>"SVG"</button>
                <button type="button" class="small" id="parallel-png" on:click=move |_| download::save_png("parallel-coordinates.png", &markup(drawing))>"PNG"</button>
            </div>
            <svg class="parallel" node_ref=drawing xmlns="http://www.w3.org/2000/svg" width=PW height=PH viewBox=format!("0 0 {PW} {PH}") on:mousedown=down on:mousemove=moved on:mouseup=up
                on:mouseleave=move |_| set_drag.set(None)>
                {lines}
                {axes_drawn}
                {dragging}
            </svg>
            <div class="row pc-controls">
                {move || axes.get().into_iter().map(|k| {
                    let (lk, fk, rk) = (k.clone(), k.clone(), k.clone());
                    let toggle = move |list: &'static str, key: String, on: bool| {
                        let mut s = settings.get_untracked();
                        let mut l = s.list(list);
                        l.retain(|x| *x != key);
                        if on { l.push(key); }
                        s.set(list, l.join(","));
                        set.run(s);
                    };
                    view! {
                        <span class="pc-axis-controls" data-key=k.clone()>
                            <strong>{k.clone()}</strong>
                            <label class="inline"><input type="checkbox" class="pc-log" prop:checked=settings.with(|s| s.list("alog").contains(&k))
                                on:change=move |e| toggle("alog", lk.clone(), event_target_checked(&e)) />" log"</label>
                            <label class="inline"><input type="checkbox" class="pc-flip" prop:checked=settings.with(|s| s.list("flip").contains(&k))
                                on:change=move |e| toggle("flip", fk.clone(), event_target_checked(&e)) />" flip"</label>
                            <button type="button" class="small pc-remove" title="Remove this axis" on:click=move |_| {
                                let mut l = axes.get_untracked();
                                l.retain(|x| *x != rk);
                                change(&|s| s.set("axes", if l.is_empty() { "-".to_string() } else { l.join(",") }));
                            }>"×"</button>
                        </span>
                    }
                }).collect_view()}
                <select id="compare-add-axis" on:change=move |e| {
                    let k = event_target_value(&e);
                    if k.is_empty() { return; }
                    let mut l = axes.get_untracked();
                    l.retain(|x| x != "-" && *x != k);
                    l.push(k);
                    change(&|s| s.set("axes", l.join(",")));
                }>
                    <option value="">"Add an axis…"</option>
                    {adding.into_iter().map(|k| { let label = k.clone(); view! { <option value=k>{label}</option> } }).collect_view()}
                </select>
            </div>
        </section>
        <super::scatter::Scatter c settings kept set keys=all_keys />
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_map_both_ways_with_log_and_flip() {
        let col = Column { key: "params.lr".into(), values: vec![Some(0.001), Some(0.1)], labels: None };
        let lin = Scale::new(col.clone(), false, false);
        assert_eq!((lin.y(0.001), lin.y(0.1)), (BOTTOM, TOP));
        assert!((lin.value(TOP) - 0.1).abs() < 1e-12);
        let log = Scale::new(col.clone(), true, false);
        assert!((log.y(0.01) - (TOP + BOTTOM) / 2.0).abs() < 1e-9, "0.01 halfway on a log axis");
        assert!((log.value((TOP + BOTTOM) / 2.0) - 0.01).abs() < 1e-12);
        let flipped = Scale::new(col, false, true);
        assert_eq!(flipped.y(0.1), BOTTOM);
        assert!((flipped.value(BOTTOM) - 0.1).abs() < 1e-12);
        let negative = Column { key: "k".into(), values: vec![Some(-1.0), Some(1.0)], labels: None };
        assert!(!Scale::new(negative, true, false).log, "no log axis over non-positive values");
        let cat = Column {
            key: "k".into(),
            values: vec![Some(0.0), Some(2.0)],
            labels: Some(vec!["a".into(), "b".into(), "c".into()]),
        };
        let s = Scale::new(cat, true, false);
        assert_eq!(s.ticks().iter().map(|t| t.1.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}
