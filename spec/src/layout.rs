//! Layered (Sugiyama) layout of a DAG for drawing: `rust-sugiyama` ranks the ops, orders each layer to cut
//! crossings and assigns coordinates (Brandes–Köpf). Disjoint parts are placed side by side.

/// Where each node's centre goes, and the drawing's size, in the units of `spacing`.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub positions: Vec<(f64, f64)>,
    pub width: f64,
    pub height: f64,
}

/// Lays out `n` nodes with `edges` (upstream index, downstream index); layers grow downwards.
pub fn layout(n: usize, edges: &[(usize, usize)], spacing: f64) -> Placed {
    let vertices: Vec<(u32, (f64, f64))> = (0..n as u32).map(|i| (i, (spacing, spacing))).collect();
    let edges: Vec<(u32, u32)> = edges.iter().map(|(a, b)| (*a as u32, *b as u32)).collect();
    let config = rust_sugiyama::configure::Config { vertex_spacing: spacing, ..Default::default() };
    let parts = rust_sugiyama::from_vertices_and_edges(&vertices, &edges, &config);
    let mut positions = vec![(0.0, 0.0); n];
    let (mut offset, mut height) = (0.0_f64, 0.0_f64);
    for (nodes, _, _) in parts {
        let min_x = nodes.iter().map(|(_, (x, _))| *x).fold(f64::INFINITY, f64::min);
        let min_y = nodes.iter().map(|(_, (_, y))| *y).fold(f64::INFINITY, f64::min);
        let mut right = 0.0_f64;
        for (id, (x, y)) in nodes {
            // rust-sugiyama's y grows upwards with the rank: flip it so sources are on top.
            let p = (offset + x - min_x, (y - min_y).abs());
            right = right.max(p.0);
            height = height.max(p.1);
            positions[id] = p;
        }
        offset += right + spacing;
    }
    Placed { positions, width: (offset - spacing).max(0.0), height }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_ops_sit_above_their_dependants() {
        // a -> b, a -> c, b -> d, c -> d; e alone
        let p = layout(5, &[(0, 1), (0, 2), (1, 3), (2, 3)], 10.0);
        let y = |i: usize| p.positions[i].1;
        assert!(y(0) < y(1) && y(1) == y(2) && y(2) < y(3), "{p:?}");
        assert_ne!(p.positions[1].0, p.positions[2].0, "siblings side by side");
        assert!(p.positions.iter().all(|(x, y)| *x >= 0.0 && *y >= 0.0 && *x <= p.width && *y <= p.height));
        assert_ne!(p.positions[4], p.positions[0], "a disjoint op gets its own place");
    }
}
