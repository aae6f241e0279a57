//! The regular latent grid a bundle's encoder works on.
//!
//! Conventions (shared with the training code in `onnx/`):
//! - `shape` is given per axis in coordinate order `[nx, ny(, nz)]`; tensors are laid out
//!   `[..., nz, ny, nx]` (x fastest), so the flat node index is `(k * ny + j) * nx + i`.
//! - A periodic axis of length L with n nodes has spacing L / n and nodes at `lo + i h`, i < n
//!   (the node at `hi` is the node at `lo`). A non-periodic axis has spacing L / (n - 1) and
//!   nodes at both ends.

use crate::err;
use crate::error::Result;

/// A mesh is refused when fewer than this share of its locations lie in the grid's box.
pub const MIN_INSIDE_SHARE: f64 = 0.5;

/// Smallest and largest coordinate per axis of `points` (infinite bounds for no points).
pub fn bounding_box(points: &[[f64; 3]]) -> ([f64; 3], [f64; 3]) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for p in points {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    (lo, hi)
}

/// Geometry of a regular grid in 2 or 3 dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// 2 or 3.
    pub dim: usize,
    /// Nodes per axis, coordinate order; unused axes are 1.
    pub shape: [usize; 3],
    pub lo: [f64; 3],
    pub hi: [f64; 3],
    pub periodic: [bool; 3],
}

impl Grid {
    /// Build and check a grid. `shape`, `lo`, `hi`, `periodic` have `dim` entries.
    pub fn new(shape: &[usize], lo: &[f64], hi: &[f64], periodic: &[bool]) -> Result<Grid> {
        let dim = shape.len();
        if !(dim == 2 || dim == 3) || lo.len() != dim || hi.len() != dim || periodic.len() != dim {
            return Err(err!(
                Usage,
                "a grid needs 2 or 3 axes with a shape, bounds and periodicity each (got shape {shape:?}, lo {lo:?}, hi {hi:?}, periodic {periodic:?})"
            ));
        }
        let mut g = Grid { dim, shape: [1; 3], lo: [0.0; 3], hi: [0.0; 3], periodic: [false; 3] };
        for a in 0..dim {
            if shape[a] < 2 {
                return Err(err!(Usage, "grid axis {a} has {} nodes; at least 2 are needed", shape[a]));
            }
            if !(lo[a].is_finite() && hi[a].is_finite() && hi[a] > lo[a]) {
                return Err(err!(Usage, "grid axis {a} has bounds [{}, {}]; they must be finite with min < max", lo[a], hi[a]));
            }
            g.shape[a] = shape[a];
            g.lo[a] = lo[a];
            g.hi[a] = hi[a];
            g.periodic[a] = periodic[a];
        }
        Ok(g)
    }

    /// Total number of nodes.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Node spacing along axis `a`.
    pub fn spacing(&self, a: usize) -> f64 {
        let n = self.shape[a] as f64;
        let len = self.hi[a] - self.lo[a];
        if self.periodic[a] {
            len / n
        } else {
            len / (n - 1.0)
        }
    }

    /// Smallest spacing over the used axes (the unit for radii given "in grid spacings").
    pub fn min_spacing(&self) -> f64 {
        (0..self.dim).map(|a| self.spacing(a)).fold(f64::INFINITY, f64::min)
    }

    /// Flat index of node `(i, j, k)`.
    pub fn index(&self, ijk: [usize; 3]) -> usize {
        (ijk[2] * self.shape[1] + ijk[1]) * self.shape[0] + ijk[0]
    }

    /// `(i, j, k)` of flat index `n`.
    pub fn ijk(&self, n: usize) -> [usize; 3] {
        let i = n % self.shape[0];
        let j = (n / self.shape[0]) % self.shape[1];
        let k = n / (self.shape[0] * self.shape[1]);
        [i, j, k]
    }

    /// Position of node `(i, j, k)` (z = 0 in 2D).
    pub fn node(&self, ijk: [usize; 3]) -> [f64; 3] {
        let mut p = [0.0; 3];
        for a in 0..self.dim {
            p[a] = self.lo[a] + ijk[a] as f64 * self.spacing(a);
        }
        p
    }

    /// A [`NodeCursor`] over this grid's nodes.
    pub fn cursor(&self) -> NodeCursor<'_> {
        NodeCursor { grid: self, next: 0, ijk: [0; 3], spacing: std::array::from_fn(|a| if a < self.dim { self.spacing(a) } else { 0.0 }) }
    }

    /// Positions of all nodes in flat-index order.
    pub fn nodes(&self) -> Vec<[f64; 3]> {
        (0..self.len()).map(|n| self.node(self.ijk(n))).collect()
    }

    /// Difference `p - q` along axis `a`, wrapped to the nearest image on periodic axes.
    #[inline]
    pub fn delta(&self, a: usize, p: f64, q: f64) -> f64 {
        let d = p - q;
        if self.periodic[a] {
            let len = self.hi[a] - self.lo[a];
            d - len * (d / len).round()
        } else {
            d
        }
    }

    /// Map a coordinate into the box on periodic axes (others unchanged).
    pub fn wrap(&self, a: usize, x: f64) -> f64 {
        if self.periodic[a] {
            let len = self.hi[a] - self.lo[a];
            self.lo[a] + (x - self.lo[a]).rem_euclid(len)
        } else {
            x
        }
    }

    /// Whether `p` lies in the box (periodic axes always do), with a tolerance in spacings.
    pub fn contains(&self, p: &[f64; 3], tol_spacings: f64) -> bool {
        (0..self.dim).all(|a| {
            self.periodic[a] || {
                let t = tol_spacings * self.spacing(a);
                p[a] >= self.lo[a] - t && p[a] <= self.hi[a] + t
            }
        })
    }

    /// How many of `points` lie in the box, within half a spacing (see [`Grid::check_covered`]).
    pub fn inside_count(&self, points: &[[f64; 3]]) -> usize {
        points.iter().filter(|p| self.contains(p, 0.5)).count()
    }

    /// Refuse a mesh that mostly lies outside the box (wrong units, wrong case): `inside` of
    /// `total` locations (over every rank of a distributed host) are inside ([`Grid::inside_count`]);
    /// `what` names them in the message ("input points", "mesh locations").
    pub fn check_covered(&self, inside: usize, total: usize, what: &str) -> Result<()> {
        if (inside as f64) < MIN_INSIDE_SHARE * total as f64 {
            let d = self.dim;
            return Err(err!(OutsideGrid, "{} of {total} {what} lie outside the latent grid's box {:?} .. {:?}", total - inside, &self.lo[..d], &self.hi[..d])
                .with_hint("the mesh must cover the domain the bundle was trained on; check units and coordinates"));
        }
        Ok(())
    }

    /// The same box with another number of nodes per axis (for super-resolution output grids).
    pub fn with_shape(&self, shape: &[usize]) -> Result<Grid> {
        Grid::new(shape, &self.lo[..self.dim], &self.hi[..self.dim], &self.periodic[..self.dim])
    }
}

/// Node positions by flat index, [`Grid::node`]`(`[`Grid::ijk`]`(n))` exactly, without the
/// divisions when nodes come in order (a row of nodes per task): the last node's `ijk` is carried.
pub struct NodeCursor<'a> {
    grid: &'a Grid,
    next: usize,
    ijk: [usize; 3],
    spacing: [f64; 3],
}

impl NodeCursor<'_> {
    /// Position of flat node `n`.
    #[inline]
    pub fn position(&mut self, n: usize) -> [f64; 3] {
        let g = self.grid;
        if n != self.next {
            self.ijk = g.ijk(n);
        }
        let mut p = [0.0; 3];
        for (a, x) in p.iter_mut().enumerate().take(g.dim) {
            *x = g.lo[a] + self.ijk[a] as f64 * self.spacing[a];
        }
        self.next = n + 1;
        self.ijk[0] += 1;
        if self.ijk[0] == g.shape[0] {
            self.ijk[0] = 0;
            self.ijk[1] += 1;
            if self.ijk[1] == g.shape[1] {
                self.ijk[1] = 0;
                self.ijk[2] += 1;
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_roundtrip_and_positions() {
        let g = Grid::new(&[4, 3, 2], &[0.0, 0.0, 0.0], &[3.0, 2.0, 1.0], &[false, false, false]).unwrap();
        for n in 0..g.len() {
            assert_eq!(g.index(g.ijk(n)), n);
        }
        assert_eq!(g.node([3, 2, 1]), [3.0, 2.0, 1.0]);
        let p = Grid::new(&[4, 4], &[0.0, 0.0], &[1.0, 1.0], &[true, false]).unwrap();
        assert_eq!(p.spacing(0), 0.25);
        assert!((p.spacing(1) - 1.0 / 3.0).abs() < 1e-15);
        assert!((p.delta(0, 0.95, 0.05) + 0.1).abs() < 1e-12);
        assert!((p.wrap(0, -0.25) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn rejects_degenerate_grids() {
        assert!(Grid::new(&[1, 4], &[0.0, 0.0], &[1.0, 1.0], &[false, false]).is_err());
        assert!(Grid::new(&[4, 4], &[0.0, 1.0], &[1.0, 1.0], &[false, false]).is_err());
        assert!(Grid::new(&[4], &[0.0], &[1.0], &[false]).is_err());
        assert!(Grid::new(&[4, 4], &[0.0, f64::NAN], &[1.0, 1.0], &[false, false]).is_err());
    }

    #[test]
    fn cursor_matches_node_of_ijk_in_order_and_after_jumps() {
        for g in [
            Grid::new(&[5, 3], &[-1.0, 0.5], &[2.0, 1.75], &[false, true]).unwrap(),
            Grid::new(&[4, 3, 2], &[0.0; 3], &[1.0, 2.0, 3.0], &[true, false, false]).unwrap(),
        ] {
            let mut cursor = g.cursor();
            let order: Vec<usize> = (0..g.len()).chain([7, 2, 3, 4, 0, g.len() - 1]).collect();
            for n in order {
                assert_eq!(cursor.position(n), g.node(g.ijk(n)), "node {n}");
            }
        }
    }
}
