//! A scatter of runs (a param against a metric, coloured by a third column): plotters draws the SVG, the same on
//! the server and in the browser. Categorical axes place their labels at 0, 1, 2, …

use plotters::prelude::*;

use super::chart::{bounds, H, W};

/// One run's dot: `(x, y, colour, drawn faded)`.
pub type Dot = (f64, f64, (u8, u8, u8), bool);

/// An axis: its title, and its labels when categorical.
pub struct Axis<'a> {
    pub title: &'a str,
    pub labels: Option<&'a [String]>,
}

pub fn svg(dots: &[Dot], x: &Axis, y: &Axis) -> String {
    let mut out = String::new();
    if draw(&mut out, dots, x, y).is_err() {
        out.clear();
    }
    out
}

fn padded(v: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
    let (lo, hi) = bounds(v);
    let pad = (hi - lo) * 0.06;
    (lo - pad)..(hi + pad)
}

fn label(v: f64, labels: Option<&[String]>) -> String {
    match labels {
        Some(l) if (v - v.round()).abs() < 1e-9 && v >= 0.0 => {
            l.get(v.round() as usize).cloned().unwrap_or_default()
        }
        Some(_) => String::new(),
        None => format!("{v:.3e}").replace("e0", ""),
    }
}

fn draw(out: &mut String, dots: &[Dot], x: &Axis, y: &Axis) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, (W, H)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(34)
        .y_label_area_size(60)
        .build_cartesian_2d(padded(dots.iter().map(|d| d.0)), padded(dots.iter().map(|d| d.1)))?;
    let count = |labels: Option<&[String]>| labels.map_or(6, |l| l.len().clamp(2, 12));
    chart
        .configure_mesh()
        .x_desc(x.title)
        .y_desc(y.title)
        .x_labels(count(x.labels))
        .y_labels(count(y.labels))
        .x_label_formatter(&|v| label(*v, x.labels))
        .y_label_formatter(&|v| label(*v, y.labels))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    // Faded dots first: the kept ones are drawn on top.
    for faded in [true, false] {
        chart.draw_series(dots.iter().filter(|d| d.3 == faded).map(|&(x, y, (r, g, b), faded)| {
            let colour = if faded { RGBColor(200, 200, 200).mix(0.6) } else { RGBColor(r, g, b).mix(0.9) };
            Circle::new((x, y), 4, colour.filled())
        }))?;
    }
    root.present()?;
    Ok(())
}

/// A value's colour on a continuous scale from `lo` to `hi` (viridis' ends and middle).
pub fn ramp(v: f64, lo: f64, hi: f64) -> (u8, u8, u8) {
    const STOPS: [(f64, f64, f64); 3] = [(68.0, 1.0, 84.0), (33.0, 145.0, 140.0), (253.0, 231.0, 37.0)];
    let t = if hi > lo { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.5 };
    let (a, b, f) = if t < 0.5 { (STOPS[0], STOPS[1], t * 2.0) } else { (STOPS[1], STOPS[2], t * 2.0 - 1.0) };
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_in_their_colours_with_categorical_labels() {
        let labels = vec!["adam".to_string(), "sgd".into()];
        let dots =
            [(0.0, 0.5, (255, 0, 0), false), (1.0, 0.2, (0, 0, 255), false), (1.0, 0.9, (0, 0, 0), true)];
        let doc =
            svg(&dots, &Axis { title: "opt", labels: Some(&labels) }, &Axis { title: "loss", labels: None });
        assert_eq!(doc.matches("<circle").count(), 3, "{doc}");
        assert!(doc.contains("#FF0000") && doc.contains("#0000FF") && doc.contains("#C8C8C8"), "{doc}");
        assert!(doc.contains("adam") && doc.contains("sgd") && doc.contains(">\nloss\n<"), "{doc}");
        assert_eq!(ramp(0.0, 0.0, 1.0), (68, 1, 84));
        assert_eq!(ramp(1.0, 0.0, 1.0), (253, 231, 37));
        assert_eq!(ramp(5.0, 5.0, 5.0), (33, 145, 140), "one value: the middle");
    }
}
