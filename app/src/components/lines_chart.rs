//! Several runs' lines of one metric on one chart (the compare page): a stable colour per run, the same
//! x-axis, log and smoothing options as a run's chart, and a readout of every run's value at the hovered x.

use super::chart::{bounds, x_text, Opts, LEFT, RIGHT, W};

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

/// What one chart draws: a line per run (or per group: its mean or median), the groups' bands as
/// `(group, (x, low, high) points)`, and the name of each line's index (a run's, or a group's `key=value`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plot {
    pub lines: Vec<Drawn>,
    pub bands: Vec<Drawn>,
    pub names: Vec<String>,
}

/// The chart as an SVG document.
pub fn svg(lines: &[Drawn], o: Opts) -> String {
    plot_svg(&Plot { lines: lines.to_vec(), ..Default::default() }, o)
}

pub fn plot_svg(p: &Plot, o: Opts) -> String {
    let coloured: Vec<_> = p.lines.iter().map(|(i, points)| (colour(*i), points.as_slice())).collect();
    let bands: Vec<_> = p.bands.iter().map(|(i, points)| (colour(*i), points.as_slice())).collect();
    super::chart::svg_chart(&coloured, &bands, o)
}

/// Every line's point nearest to the hovered horizontal position `px` (SVG pixels): `(index, x as shown, raw
/// y)`, in the lines' order.
pub fn readout(lines: &[Drawn], px: f64, o: Opts) -> Vec<(usize, String, f64)> {
    let (x0, x1) = bounds(lines.iter().flat_map(|l| l.1.iter().map(|p| p.0)));
    let frac = ((px - LEFT) / (W as f64 - LEFT - RIGHT)).clamp(0.0, 1.0);
    let want = x0 + frac * (x1 - x0);
    lines
        .iter()
        .filter_map(|(run, points)| {
            let p = points.iter().min_by(|a, b| (a.0 - want).abs().total_cmp(&(b.0 - want).abs()))?;
            let x = x_text(p.0, o);
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
    use crate::components::chart::XAxis;

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

    #[test]
    fn a_group_draws_its_band_behind_its_line() {
        let o = Opts { x: XAxis::Step, log: true, smoothing: 0.0 };
        let plot = Plot {
            lines: vec![(1, vec![(0.0, 1.0, 1.0), (10.0, 0.5, 0.5)])],
            bands: vec![(1, vec![(0.0, -1.0, 2.0), (10.0, 0.25, 1.0)])],
            names: vec!["lr=0.1".into(), "lr=0.01".into()],
        };
        let doc = plot_svg(&plot, o);
        let (r, g, b) = colour(1);
        let fill = format!(r##"opacity="0.18" fill="#{r:02X}{g:02X}{b:02X}""##);
        assert!(
            doc.contains(&fill) && doc.contains("<polygon"),
            "the band is shaded in the group's colour: {doc}"
        );
        assert!(doc.find("<polygon") < doc.find(r#"stroke-width="2""#), "the band is under the line");
        assert_eq!(doc.matches(r#"stroke-width="2""#).count(), 1);
    }
}
