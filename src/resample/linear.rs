//! Grid -> points: bi/trilinear interpolation (`query.kind = "linear"`) and the query stencil that
//! the `query` graph sees (`query.kind = "learned"`). Both take a slice of points, so callers can
//! process a large mesh in chunks.

use rayon::prelude::*;

use crate::err;
use crate::error::Result;
use crate::grid::Grid;

/// Grid coordinate of `x` along axis `a` (node `i` at `i`), wrapped into `[0, n)` on periodic axes.
fn grid_coord(grid: &Grid, a: usize, x: f64) -> f64 {
    (grid.wrap(a, x) - grid.lo[a]) / grid.spacing(a)
}

/// The cell of `x` along axis `a`: its two nodes and the fraction `t` of the way to the second.
/// Non-periodic axes clamp `x` to the box, so outside points take the boundary value.
fn cell(grid: &Grid, a: usize, x: f64) -> ([usize; 2], f64) {
    let n = grid.shape[a];
    let u = grid_coord(grid, a, x);
    if grid.periodic[a] {
        // `wrap` may round up to exactly `n`: that is node 0.
        let i = (u.floor() as usize).min(n);
        let t = if i == n { 0.0 } else { u - i as f64 };
        ([i % n, (i + 1) % n], t)
    } else {
        let u = u.clamp(0.0, (n - 1) as f64);
        let i = (u.floor() as usize).min(n - 2);
        ([i, i + 1], u - i as f64)
    }
}

fn check_grid_values(grid_values: &[f32], nodes: usize, channels: usize) -> Result<()> {
    if grid_values.len() != nodes * channels {
        return Err(err!(FieldShape, "expected {channels} channels x {nodes} grid nodes = {} values, got {}", nodes * channels, grid_values.len()));
    }
    Ok(())
}

fn check_points(grid: &Grid, points: &[[f64; 3]]) -> Result<()> {
    match points.iter().position(|p| p[..grid.dim].iter().any(|x| !x.is_finite())) {
        Some(p) => Err(err!(NonFinite, "query point {p} has a non-finite coordinate {:?}", &points[p][..grid.dim])),
        None => Ok(()),
    }
}

/// Bilinear (2D) / trilinear (3D) interpolation of channel-major `grid_values[c * nodes + node]`
/// at `points`, point-major `[N][C]`. Periodic axes wrap; on non-periodic axes points outside the
/// box are clamped to it (constant extrapolation of the boundary values).
///
/// Errors: `grid_values` of the wrong length (`FieldShape`), a non-finite point (`NonFinite`).
pub fn interpolate_linear(grid: &Grid, grid_values: &[f32], channels: usize, points: &[[f64; 3]]) -> Result<Vec<f32>> {
    let nodes = grid.len();
    check_grid_values(grid_values, nodes, channels)?;
    check_points(grid, points)?;
    let mut out = vec![0.0f32; points.len() * channels];
    if channels == 0 {
        return Ok(out);
    }
    out.par_chunks_mut(channels).zip(points.par_iter()).for_each(|(out, p)| {
        let (corners, weights) = corners(grid, p);
        for (c, o) in out.iter_mut().enumerate() {
            let plane = &grid_values[c * nodes..(c + 1) * nodes];
            let sum: f64 = corners.iter().zip(&weights).take(1 << grid.dim).map(|(&n, &w)| w * f64::from(plane[n])).sum();
            *o = sum as f32;
        }
    });
    Ok(out)
}

/// The `2^dim` nodes of the cell holding `p` (x fastest) and their bi/trilinear weights.
fn corners(grid: &Grid, p: &[f64; 3]) -> ([usize; 8], [f64; 8]) {
    let mut cells = [([0usize; 2], 0.0); 3];
    for a in 0..grid.dim {
        cells[a] = cell(grid, a, p[a]);
    }
    let (mut nodes, mut weights) = ([0usize; 8], [0.0f64; 8]);
    for corner in 0..1usize << grid.dim {
        let mut ijk = [0; 3];
        let mut w = 1.0;
        for (a, (ends, t)) in cells.iter().enumerate().take(grid.dim) {
            let upper = (corner >> a) & 1;
            ijk[a] = ends[upper];
            w *= if upper == 1 { *t } else { 1.0 - t };
        }
        (nodes[corner], weights[corner]) = (grid.index(ijk), w);
    }
    (nodes, weights)
}

/// The nodes around each query point that the `query` graph sees (docs/bundle-format.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Stencil {
    /// Nodes per point, `stencil^dim`.
    pub k: usize,
    /// Grid dimension (D), the last axis of `offsets`.
    pub dim: usize,
    /// Number of grid nodes (the expected length of one grid channel).
    pub grid_nodes: usize,
    /// `[M, K]` flat grid node indices, x fastest within a stencil.
    pub nodes: Vec<u32>,
    /// `[M, K, D]` node minus point, per axis in that axis' spacing (grid units), from the node's true
    /// position (unwrapped lattice on periodic axes, the clamped node on others).
    pub offsets: Vec<f32>,
}

impl Stencil {
    /// Number of query points (M).
    pub fn len(&self) -> usize {
        self.nodes.len().checked_div(self.k).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Along each axis, the `stencil` nodes `floor(u) - stencil/2 + 1 ..= floor(u) + stencil/2` around
/// each point (u its grid coordinate), clamped on non-periodic axes, wrapped on periodic ones.
///
/// Errors: `stencil` zero or odd (the formula gives `stencil` nodes only when it is even) (`Usage`),
/// a non-finite point (`NonFinite`).
pub fn gather_stencil(grid: &Grid, points: &[[f64; 3]], stencil: usize) -> Result<Stencil> {
    if stencil == 0 || stencil % 2 == 1 {
        return Err(err!(Usage, "query stencil {stencil} must be even and positive (nodes per axis around the point's cell)"));
    }
    check_points(grid, points)?;
    let dim = grid.dim;
    let k = stencil.pow(dim as u32);
    let mut nodes = vec![0u32; points.len() * k];
    let mut offsets = vec![0.0f32; points.len() * k * dim];
    nodes.par_chunks_mut(k).zip(offsets.par_chunks_mut(k * dim)).zip(points.par_iter()).for_each(|((nodes, offsets), p)| {
        // Per axis, the stencil's node indices and their offsets from the point.
        let axes: Vec<Vec<(usize, f64)>> = (0..dim).map(|a| axis_stencil(grid, a, p[a], stencil)).collect();
        for (slot, node) in nodes.iter_mut().enumerate() {
            let mut ijk = [0; 3];
            for (a, axis) in axes.iter().enumerate() {
                let (i, off) = axis[slot / stencil.pow(a as u32) % stencil];
                ijk[a] = i;
                offsets[slot * dim + a] = (off / grid.spacing(a)) as f32;
            }
            *node = grid.index(ijk) as u32;
        }
    });
    Ok(Stencil { k, dim, grid_nodes: grid.len(), nodes, offsets })
}

/// `(node index, node minus x in world units)` of the stencil along axis `a`.
fn axis_stencil(grid: &Grid, a: usize, x: f64, stencil: usize) -> Vec<(usize, f64)> {
    let (n, h, lo) = (grid.shape[a] as i64, grid.spacing(a), grid.lo[a]);
    let xw = grid.wrap(a, x);
    let first = grid_coord(grid, a, x).floor() as i64 - stencil as i64 / 2 + 1;
    (first..first + stencil as i64)
        .map(|i| {
            let i = if grid.periodic[a] { i } else { i.clamp(0, n - 1) };
            (i.rem_euclid(n) as usize, lo + i as f64 * h - xw)
        })
        .collect()
}

/// The decoder's channel-major `grid_values[g * nodes + node]` at the stencil nodes, `[M, K, G]`.
///
/// Errors: `grid_values` of the wrong length (`FieldShape`).
pub fn gather_node_features(stencil: &Stencil, grid_values: &[f32], channels: usize) -> Result<Vec<f32>> {
    let nodes = stencil.grid_nodes;
    check_grid_values(grid_values, nodes, channels)?;
    let mut out = vec![0.0f32; stencil.nodes.len() * channels];
    if channels == 0 {
        return Ok(out);
    }
    // The grid is channel-major ([C][nodes]): a node-major copy ([nodes][C], small next to the
    // output) makes each stencil node's features one contiguous copy instead of C strided reads
    // (a 4 x 4 stencil gathers 16 nodes per point; this was the largest cost outside ONNX Runtime).
    let mut by_node = vec![0.0f32; nodes * channels];
    for (g, plane) in grid_values.chunks_exact(nodes).enumerate() {
        for (node, &v) in plane.iter().enumerate() {
            by_node[node * channels + g] = v;
        }
    }
    out.par_chunks_mut(channels).zip(stencil.nodes.par_iter()).for_each(|(o, &node)| {
        let node = node as usize;
        o.copy_from_slice(&by_node[node * channels..(node + 1) * channels]);
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_wrap_clamp_and_survive_rounding() {
        let g = Grid::new(&[4, 5], &[0.0, 0.0], &[1.0, 1.0], &[true, false]).unwrap();
        assert_eq!(cell(&g, 0, 0.9), ([3, 0], 0.6000000000000001));
        // Just below lo wraps to just below hi, which may round to hi itself = node 0.
        let (ends, t) = cell(&g, 0, -1e-18);
        assert!(ends == [0, 1] && t == 0.0 || ends == [3, 0]);
        assert_eq!(cell(&g, 1, 2.0), ([3, 4], 1.0));
        assert_eq!(cell(&g, 1, -2.0), ([0, 1], 0.0));
    }
}
