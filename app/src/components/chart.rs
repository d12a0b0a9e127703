//! Metric charts: plotters draws an SVG (the same code on the server and in the browser); controls pick the
//! x-axis (step, relative time, wall time), a log scale and smoothing; hovering shows the nearest point.

use leptos::prelude::*;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use crate::server::tracking::{metric_series, SeriesView};

pub const W: u32 = 560;
pub const H: u32 = 260;
/// The plotting area's left edge and right margin in SVG pixels (margin + y labels; margin).
pub(crate) const LEFT: f64 = 70.0;
pub(crate) const RIGHT: f64 = 10.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    Step,
    Relative,
    Wall,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Opts {
    pub x: XAxis,
    pub log: bool,
    /// Exponential moving average weight, 0 (off) to 0.99, debiased as TensorBoard does.
    pub smoothing: f64,
}

/// The points to draw as `(x, y, raw y)`: NaN dropped, smoothed, and (for a log scale) only positive values.
pub fn prepare(s: &SeriesView, o: Opts) -> Vec<(f64, f64, f64)> {
    prepare_points(&s.points, 0, s.started, o)
}

/// `prepare` for `(step, time ms, value)` points whose times count from `origin` (ms since the epoch: 0 when they
/// are timestamps); relative time counts from `started` (ms since the epoch).
pub fn prepare_points(
    points: &[(i64, i64, Option<f64>)],
    origin: i64,
    started: i64,
    o: Opts,
) -> Vec<(f64, f64, f64)> {
    let mut ema = 0.0;
    let mut out = Vec::with_capacity(points.len());
    for (i, (step, ts, v)) in points.iter().filter(|p| p.2.is_some_and(f64::is_finite)).enumerate() {
        let v = v.unwrap_or_default();
        ema = ema * o.smoothing + (1.0 - o.smoothing) * v;
        let y = if o.smoothing > 0.0 { ema / (1.0 - o.smoothing.powi(i as i32 + 1)) } else { v };
        let x = match o.x {
            XAxis::Step => *step as f64,
            XAxis::Relative => (origin + *ts - started) as f64 / 1000.0,
            XAxis::Wall => (origin + *ts) as f64 / 1000.0,
        };
        if !o.log || y > 0.0 {
            out.push((x, y, v));
        }
    }
    out
}

fn clock(secs: f64) -> String {
    let s = secs.rem_euclid(86_400.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A hovered point's x as the readouts show it.
pub(crate) fn x_text(x: f64, o: Opts) -> String {
    if o.x == XAxis::Wall {
        clock(x)
    } else {
        format!("{}", (x * 1000.0).round() / 1000.0)
    }
}

fn x_label(x: XAxis) -> &'static str {
    match x {
        XAxis::Step => "step",
        XAxis::Relative => "seconds since the first point",
        XAxis::Wall => "wall time (UTC)",
    }
}

pub(crate) fn bounds(v: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let lo = v.clone().fold(f64::INFINITY, f64::min);
    let hi = v.fold(f64::NEG_INFINITY, f64::max);
    match (lo.is_finite(), hi.is_finite()) {
        (true, true) if hi > lo => (lo, hi),
        (true, true) => (lo - 0.5 * lo.abs().max(1.0), hi + 0.5 * hi.abs().max(1.0)),
        _ => (0.0, 1.0),
    }
}

/// The chart as an SVG document.
pub fn svg(points: &[(f64, f64, f64)], o: Opts) -> String {
    svg_lines(&[((37, 99, 235), points)], o)
}

/// One line of a chart: its colour (r, g, b) and its prepared points.
pub type Coloured<'a> = ((u8, u8, u8), &'a [(f64, f64, f64)]);

/// A group's band behind its line: its colour and `(x, low, high)` points.
pub type Band<'a> = ((u8, u8, u8), &'a [(f64, f64, f64)]);

/// Several lines on one chart, on shared axes (the compare page's charts).
pub fn svg_lines(lines: &[Coloured], o: Opts) -> String {
    svg_chart(lines, &[], o)
}

/// Lines and shaded bands (a group's min–max or ±std) on shared axes.
pub fn svg_chart(lines: &[Coloured], bands: &[Band], o: Opts) -> String {
    let xs = lines
        .iter()
        .flat_map(|l| l.1.iter().map(|p| p.0))
        .chain(bands.iter().flat_map(|b| b.1.iter().map(|p| p.0)));
    let (x0, x1) = bounds(xs);
    let ys = lines.iter().flat_map(|l| l.1.iter().map(|p| p.1));
    let band_ys =
        bands.iter().flat_map(|b| b.1.iter().flat_map(|p| [p.1, p.2])).filter(|y| !o.log || *y > 0.0);
    let (y0, y1) = bounds(ys.chain(band_ys));
    let mut out = String::new();
    let drawn = if o.log {
        draw(
            &mut out,
            lines,
            bands,
            o,
            x0..x1,
            (y0.max(f64::MIN_POSITIVE)..y1).log_scale(),
            y0.max(f64::MIN_POSITIVE),
        )
    } else {
        let pad = (y1 - y0) * 0.05;
        draw(&mut out, lines, bands, o, x0..x1, (y0 - pad)..(y1 + pad), f64::NEG_INFINITY)
    };
    if drawn.is_err() {
        out.clear();
    }
    out
}

/// `floor`: the lowest y the scale can show (a band's low edge is clipped to it on a log scale).
fn draw<Y>(
    out: &mut String,
    lines: &[Coloured],
    bands: &[Band],
    o: Opts,
    x: std::ops::Range<f64>,
    y: Y,
    floor: f64,
) -> Result<(), Box<dyn std::error::Error>>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let root = SVGBackend::with_string(out, (W, H)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(RIGHT as u32)
        .x_label_area_size(30)
        .y_label_area_size((LEFT - RIGHT) as u32)
        .build_cartesian_2d(x, y)?;
    let wall = o.x == XAxis::Wall;
    chart
        .configure_mesh()
        .x_desc(x_label(o.x))
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|v| if wall { clock(*v) } else { format!("{}", (v * 100.0).round() / 100.0) })
        .y_label_formatter(&|v| format!("{v:.3e}").replace("e0", ""))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    for ((r, g, b), points) in bands {
        let upper = points.iter().map(|p| (p.0, p.2.max(floor)));
        let outline: Vec<(f64, f64)> =
            upper.chain(points.iter().rev().map(|p| (p.0, p.1.max(floor)))).collect();
        chart.draw_series(std::iter::once(Polygon::new(outline, RGBColor(*r, *g, *b).mix(0.18).filled())))?;
    }
    for ((r, g, b), points) in lines {
        let colour = RGBColor(*r, *g, *b);
        chart.draw_series(LineSeries::new(points.iter().map(|p| (p.0, p.1)), colour.stroke_width(2)))?;
    }
    root.present()?;
    Ok(())
}

/// The point nearest to `px` (a horizontal position in SVG pixels) and its description.
pub fn nearest(points: &[(f64, f64, f64)], px: f64, o: Opts) -> Option<String> {
    if points.is_empty() {
        return None;
    }
    let (x0, x1) = bounds(points.iter().map(|p| p.0));
    let frac = ((px - LEFT) / (W as f64 - LEFT - RIGHT)).clamp(0.0, 1.0);
    let want = x0 + frac * (x1 - x0);
    let p = points.iter().min_by(|a, b| (a.0 - want).abs().total_cmp(&(b.0 - want).abs()))?;
    let x = x_text(p.0, o);
    let smoothed = if o.smoothing > 0.0 { format!(" (smoothed {:.6})", p.1) } else { String::new() };
    Some(format!("{} {x}: {}{smoothed}", x_label(o.x), p.2))
}

fn fmt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6}")).unwrap_or_else(|| "NaN".into())
}

/// A chart of one metric with its controls; refreshes every few seconds while the run is live.
#[component]
pub fn MetricChart(owner: String, name: String, uuid: String, key: String, live: bool) -> impl IntoView {
    // Loaded in the browser (`components::browser_data`: a chart is drawn inside the run page's `Suspend`).
    let series = super::browser_data::BrowserData::new({
        let (o, n, u, k) = (owner, name, uuid, key.clone());
        move || metric_series(o.clone(), n.clone(), u.clone(), k.clone(), 500)
    });
    series.poll(3000, move || live);
    let (x, set_x) = signal(XAxis::Step);
    let (log, set_log) = signal(false);
    let (smoothing, set_smoothing) = signal(0.0f64);
    let (hover, set_hover) = signal(None::<String>);
    let opts = move || Opts { x: x.get(), log: log.get(), smoothing: smoothing.get() };
    let id = format!("chart-{}", key.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    view! {
        <section class="card chart" id=id>
            <div class="row">
                <strong>{key.clone()}</strong>
                <div class="spacer"></div>
                <select class="chart-x" on:change=move |e| set_x.set(match event_target_value(&e).as_str() {
                    "relative" => XAxis::Relative, "wall" => XAxis::Wall, _ => XAxis::Step })>
                    <option value="step">"Step"</option>
                    <option value="relative">"Relative time"</option>
                    <option value="wall">"Wall time"</option>
                </select>
                <label class="inline"><input type="checkbox" class="chart-log" on:change=move |e| set_log.set(event_target_checked(&e)) />" log"</label>
                <label class="inline">"smoothing "<input type="range" class="chart-smooth" min="0" max="0.99" step="0.01" value="0"
                    on:input=move |e| set_smoothing.set(event_target_value(&e).parse().unwrap_or(0.0)) /></label>
            </div>
            {move || {
                    match series.get() {
                        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error">{e.message.clone()}</p> }.into_any(),
                        Some(Ok(s)) => {
                            let s = StoredValue::new(s);
                            let pts = Memo::new(move |_| prepare(&s.read_value(), opts()));
                            view! {
                                <div class="chart-svg"
                                    inner_html=move || svg(&pts.get(), opts())
                                    on:mousemove=move |e| set_hover.set(hover_at(&e).and_then(|px| nearest(&pts.get(), px, opts())))
                                    on:mouseleave=move |_| set_hover.set(None)></div>
                                <p class="muted chart-hover">{move || hover.get().unwrap_or_else(|| "Hover the chart for values.".into())}</p>
                                <p class="muted chart-stats">{move || s.with_value(|s| format!(
                                    "last {} · min {} · max {} · {} points stored{}", fmt(s.last), fmt(s.min), fmt(s.max), s.total,
                                    if (s.total as usize) > s.points.len() { format!(", {} drawn (downsampled on the server)", s.points.len()) } else { String::new() }))}</p>
                            }.into_any()
                        }
                    }
            }}
        </section>
    }
}

/// The mouse's horizontal position in the chart's SVG pixels.
#[allow(unused_variables)]
pub(crate) fn hover_at(e: &leptos::ev::MouseEvent) -> Option<f64> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let el = e.current_target()?.dyn_into::<web_sys::Element>().ok()?;
        let rect = el.get_bounding_client_rect();
        return Some((e.client_x() as f64 - rect.left()) * W as f64 / rect.width().max(1.0));
    }
    #[allow(unreachable_code)]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> SeriesView {
        SeriesView {
            key: "loss".into(),
            points: values.iter().enumerate().map(|(i, v)| (i as i64, 1000 * i as i64, Some(*v))).collect(),
            total: values.len() as i64,
            min: None,
            max: None,
            last: None,
            started: 0,
        }
    }

    #[test]
    fn log_scale_drops_non_positive_values_and_smoothing_is_debiased() {
        let s = series(&[0.0, 1.0, 2.0, -1.0, f64::NAN]);
        let plain = Opts { x: XAxis::Step, log: false, smoothing: 0.0 };
        assert_eq!(prepare(&s, plain).len(), 4);
        assert_eq!(prepare(&s, Opts { log: true, ..plain }).len(), 2);
        let smooth = prepare(&series(&[5.0, 5.0]), Opts { smoothing: 0.9, ..plain });
        assert!((smooth[0].1 - 5.0).abs() < 1e-9 && (smooth[1].1 - 5.0).abs() < 1e-9);
        let rel = prepare(&s, Opts { x: XAxis::Relative, ..plain });
        assert_eq!(rel[1].0, 1.0);
    }

    #[test]
    fn times_from_an_origin_give_the_same_axes_as_timestamps() {
        let started = 1_700_000_000_000;
        let stamped = [(0, started + 500, Some(1.0)), (1, started + 2500, Some(2.0))];
        let from_start = [(0, 500, Some(1.0)), (1, 2500, Some(2.0))];
        for x in [XAxis::Step, XAxis::Relative, XAxis::Wall] {
            let o = Opts { x, log: false, smoothing: 0.0 };
            assert_eq!(
                prepare_points(&stamped, 0, started, o),
                prepare_points(&from_start, started, started, o)
            );
        }
        let o = Opts { x: XAxis::Relative, log: false, smoothing: 0.0 };
        assert_eq!(prepare_points(&from_start, started, started, o)[1].0, 2.5);
    }

    #[test]
    fn draws_an_svg_and_finds_the_hovered_point() {
        let pts = prepare(&series(&[3.0, 2.0, 1.0]), Opts { x: XAxis::Step, log: true, smoothing: 0.0 });
        let o = Opts { x: XAxis::Step, log: true, smoothing: 0.0 };
        let doc = svg(&pts, o);
        assert!(doc.starts_with("<svg") && doc.contains("polyline"), "{doc}");
        assert_eq!(nearest(&pts, W as f64, o).unwrap(), "step 2: 1");
        assert_eq!(nearest(&pts, 0.0, o).unwrap(), "step 0: 3");
    }
}
