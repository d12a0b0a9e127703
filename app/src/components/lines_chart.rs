//! Several runs' lines of one metric on one chart (the compare page): a stable colour per run, the same
//! x-axis, log and smoothing options as a run's chart, and a readout of every run's value at the hovered x.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::chart::{bounds, clock, x_label, Opts, XAxis, H, LEFT, RIGHT, W};

/// Tableau's ten: distinct for the first ten runs; later runs reuse them lighter or darker.
const PALETTE: [(u8, u8, u8); 10] = [
    (78, 121, 167),
    (242, 142, 43),
    (225, 87, 89),
    (118, 183, 178),
    (89, 161, 79),
    (237, 201, 72),
    (176, 122, 161),
    (255, 157, 167),
    (156, 117, 95),
    (186, 176, 172),
];

/// Run `i`'s colour, the same in every chart and in the legend.
pub fn colour(i: usize) -> (u8, u8, u8) {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    let shade = |c: u8| -> u8 {
        match (i / PALETTE.len()) % 3 {
            0 => c,
            1 => (c as u16 * 3 / 5) as u8,
            _ => (c as u16 + (255 - c as u16) / 2) as u8,
        }
    };
    (shade(r), shade(g), shade(b))
}

pub fn css(i: usize) -> String {
    let (r, g, b) = colour(i);
    format!("rgb({r},{g},{b})")
}

/// One run's prepared line: its index among the runs compared, and `(x, y, raw y)` points.
pub type Drawn = (usize, Vec<(f64, f64, f64)>);

/// The chart as an SVG document.
pub fn svg(lines: &[Drawn], o: Opts) -> String {
    let xs = lines.iter().flat_map(|l| l.1.iter().map(|p| p.0));
    let ys = lines.iter().flat_map(|l| l.1.iter().map(|p| p.1));
    let ((x0, x1), (y0, y1)) = (bounds(xs), bounds(ys));
    let mut out = String::new();
    let drawn = if o.log {
        draw(&mut out, lines, o, x0..x1, (y0.max(f64::MIN_POSITIVE)..y1).log_scale())
    } else {
        let pad = (y1 - y0) * 0.05;
        draw(&mut out, lines, o, x0..x1, (y0 - pad)..(y1 + pad))
    };
    if drawn.is_err() {
        out.clear();
    }
    out
}

fn draw<Y>(
    out: &mut String,
    lines: &[Drawn],
    o: Opts,
    x: std::ops::Range<f64>,
    y: Y,
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
    for (run, points) in lines {
        let (r, g, b) = colour(*run);
        chart.draw_series(LineSeries::new(
            points.iter().map(|p| (p.0, p.1)),
            RGBColor(r, g, b).stroke_width(2),
        ))?;
    }
    root.present()?;
    Ok(())
}

/// Every run's point nearest to the hovered horizontal position `px` (SVG pixels): `(run, x as shown, raw y)`,
/// in the lines' order.
pub fn readout(lines: &[Drawn], px: f64, o: Opts) -> Vec<(usize, String, f64)> {
    let (x0, x1) = bounds(lines.iter().flat_map(|l| l.1.iter().map(|p| p.0)));
    let frac = ((px - LEFT) / (W as f64 - LEFT - RIGHT)).clamp(0.0, 1.0);
    let want = x0 + frac * (x1 - x0);
    lines
        .iter()
        .filter_map(|(run, points)| {
            let p = points.iter().min_by(|a, b| (a.0 - want).abs().total_cmp(&(b.0 - want).abs()))?;
            let x =
                if o.x == XAxis::Wall { clock(p.0) } else { format!("{}", (p.0 * 1000.0).round() / 1000.0) };
            Some((*run, x, p.2))
        })
        .collect()
}

/// The x range (in the chart's units) between two horizontal positions in SVG pixels: a dragged zoom.
pub fn x_between(lines: &[Drawn], a: f64, b: f64) -> (f64, f64) {
    let (x0, x1) = bounds(lines.iter().flat_map(|l| l.1.iter().map(|p| p.0)));
    let at = |px: f64| x0 + ((px - LEFT) / (W as f64 - LEFT - RIGHT)).clamp(0.0, 1.0) * (x1 - x0);
    let (p, q) = (at(a), at(b));
    (p.min(q), p.max(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_keeps_its_colour_and_the_readout_lists_every_line() {
        assert_ne!(colour(0), colour(1));
        assert_ne!(colour(0), colour(10), "the eleventh run is a shade of the first, not the same");
        let o = Opts { x: XAxis::Step, log: false, smoothing: 0.0 };
        let lines: Vec<Drawn> = vec![
            (0, vec![(0.0, 1.0, 1.0), (10.0, 0.5, 0.5)]),
            (3, vec![(0.0, 2.0, 2.0), (5.0, 1.5, 1.5), (10.0, 1.0, 1.0)]),
        ];
        let doc = svg(&lines, o);
        // Runs' lines are 2 px wide; the grid's are 1.
        assert_eq!(doc.matches(r#"stroke-width="2""#).count(), 2, "{doc}");
        let (r, g, b) = colour(3);
        assert!(doc.contains(&format!("#{r:02X}{g:02X}{b:02X}")), "run 3 is drawn in its colour: {doc}");
        let right = readout(&lines, W as f64, o);
        assert_eq!(right, vec![(0, "10".into(), 0.5), (3, "10".into(), 1.0)]);
        let (a, b) = x_between(&lines, W as f64, LEFT);
        assert_eq!((a, b), (0.0, 10.0));
    }
}
