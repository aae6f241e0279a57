//! [`PointIndex`]: a k-d tree over the input sample locations, built once per mesh and reused for
//! every frame (the "cached geometry").
//!
//! Periodic axes are handled with ghost images: every point within `halo` of a periodic boundary
//! is inserted again, shifted by the period, so a plain Euclidean search around a node near the
//! boundary sees the points on the other side. Ghosts map back to their original index, and
//! distances are recomputed from the original (wrapped) coordinates with [`Grid::delta`], so the
//! result never depends on which image the tree happened to return.

use std::num::NonZeroUsize;

use kiddo::{ImmutableKdTree, SquaredEuclidean};

use crate::err;
use crate::error::Result;
use crate::grid::Grid;

/// Relative slack on tree radii: tree distances (computed on ghost coordinates) may differ from the
/// exact nearest-image distances by a few ulps, so the tree is asked for slightly more and the exact
/// distances decide.
const SLACK: f64 = 1e-9;

enum Tree {
    D2(ImmutableKdTree<f64, 2>),
    D3(ImmutableKdTree<f64, 3>),
}

/// Nearest-neighbour index over input points, aware of the grid's periodic axes.
pub struct PointIndex {
    grid: Grid,
    /// Input points, wrapped into the box on periodic axes.
    points: Vec<[f64; 3]>,
    /// Tree item -> original point index (originals first, then ghosts).
    owner: Vec<u32>,
    /// Ghost halo in world units: searches up to this radius are exact across periodic boundaries.
    halo: f64,
    tree: Tree,
}

impl PointIndex {
    /// Index `points` (only the first `grid.dim` coordinates are used) for neighbour searches of up
    /// to `radius_spacings` grid spacings ([`Grid::min_spacing`]) around points of `grid`'s box.
    ///
    /// Errors: no points (`OutsideGrid`), a NaN/Inf coordinate (`NonFinite`), a negative or
    /// non-finite radius (`Usage`), more points than a `u32` can index (`MeshFormat`).
    pub fn new(points: &[[f64; 3]], grid: &Grid, radius_spacings: f64) -> Result<PointIndex> {
        if points.is_empty() {
            return Err(err!(OutsideGrid, "the mesh has no points to resample onto the latent grid")
                .with_hint("check that the input file holds a non-empty mesh"));
        }
        if !(radius_spacings.is_finite() && radius_spacings >= 0.0) {
            return Err(err!(Usage, "neighbour radius {radius_spacings} grid spacings must be finite and >= 0"));
        }
        if let Some(p) = points.iter().position(|p| p[..grid.dim].iter().any(|x| !x.is_finite())) {
            return Err(err!(NonFinite, "point {p} has a non-finite coordinate {:?}", &points[p][..grid.dim])
                .with_hint("fix or remove the point in the mesh"));
        }
        let halo = radius_spacings * grid.min_spacing();
        let points: Vec<[f64; 3]> = points.iter().map(|p| wrap_point(grid, p)).collect();
        let (images, owner) = with_ghosts(grid, &points, halo);
        if owner.len() > u32::MAX as usize {
            return Err(err!(MeshFormat, "{} points (with periodic images) are more than this runtime can index", owner.len()));
        }
        let tree = build_tree(grid.dim, &images)?;
        Ok(PointIndex { grid: grid.clone(), points, owner, halo, tree })
    }

    /// Number of input points (ghosts not counted).
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Never true: construction refuses empty inputs.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The input points as indexed (wrapped into the box on periodic axes).
    pub fn points(&self) -> &[[f64; 3]] {
        &self.points
    }

    /// The grid whose box and periodicity the index was built for.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// The largest search radius, in world units, that is exact across periodic boundaries.
    pub fn halo(&self) -> f64 {
        self.halo
    }

    /// Squared nearest-image distance from point `p` to `q`.
    pub fn dist2(&self, p: usize, q: &[f64; 3]) -> f64 {
        (0..self.grid.dim).map(|a| self.grid.delta(a, self.points[p][a], q[a]).powi(2)).sum()
    }

    /// The `k` nearest points to `q` with squared distance `<= r2` (world units), as
    /// `(point, squared distance)` sorted by distance, ties by point index.
    ///
    /// Exact for `r2 <= halo²`.
    pub fn nearest(&self, q: &[f64; 3], k: usize, r2: f64) -> Vec<(u32, f64)> {
        if k == 0 {
            return Vec::new();
        }
        // Ghosts only reach `halo` beyond the box, so search from inside it.
        let q = &wrap_point(&self.grid, q);
        let k1 = NonZeroUsize::new(k + 1).expect("k + 1 > 0");
        let r2q = r2 * (1.0 + SLACK) + f64::MIN_POSITIVE;
        // k + 1 results tell whether the k-th is tied with something the tree left out.
        let raw = self.query(q, Some(k1), r2q);
        let mut found = self.exact(q, &raw);
        if raw.len() > k {
            let distinct = found.len() == raw.len();
            let gap = distinct && found[k].1 > found[k - 1].1 * (1.0 + 2.0 * SLACK);
            if !gap {
                // A tie at the cut (or several images of one point): take everything up to it.
                let cut = if distinct { (found[k - 1].1 * (1.0 + 2.0 * SLACK)).min(r2q) } else { r2q };
                found = self.exact(q, &self.query(q, None, cut + f64::MIN_POSITIVE));
            }
        }
        found.retain(|&(_, d2)| d2 <= r2);
        found.truncate(k);
        found
    }

    /// Tree items within `r2` of `q` (at most `n` of the nearest ones when given).
    fn query(&self, q: &[f64; 3], n: Option<NonZeroUsize>, r2: f64) -> Vec<u32> {
        macro_rules! run {
            ($tree:expr, $q:expr) => {{
                let q = $q;
                let b = $tree.query(&q);
                match n {
                    Some(n) => b.nearest_n::<SquaredEuclidean<f64>>(n).within(r2).execute().into_iter().map(|r| r.item).collect(),
                    None => b.within::<SquaredEuclidean<f64>>(r2).unsorted().execute().into_iter().map(|r| r.item).collect(),
                }
            }};
        }
        match &self.tree {
            Tree::D2(t) => run!(t, [q[0], q[1]]),
            Tree::D3(t) => run!(t, [q[0], q[1], q[2]]),
        }
    }

    /// Map tree items to distinct original points with exact distances, sorted by (distance, index).
    fn exact(&self, q: &[f64; 3], items: &[u32]) -> Vec<(u32, f64)> {
        let mut owners: Vec<u32> = items.iter().map(|&i| self.owner[i as usize]).collect();
        owners.sort_unstable();
        owners.dedup();
        let mut found: Vec<(u32, f64)> = owners.into_iter().map(|p| (p, self.dist2(p as usize, q))).collect();
        found.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found
    }
}

fn wrap_point(grid: &Grid, p: &[f64; 3]) -> [f64; 3] {
    let mut w = [0.0; 3];
    for a in 0..grid.dim {
        w[a] = grid.wrap(a, p[a]);
    }
    w
}

/// All points plus, on periodic axes, every shifted image that lands within `halo` of the box.
fn with_ghosts(grid: &Grid, points: &[[f64; 3]], halo: f64) -> (Vec<[f64; 3]>, Vec<u32>) {
    let mut images = points.to_vec();
    let mut owner: Vec<u32> = (0..points.len() as u32).collect();
    for a in (0..grid.dim).filter(|&a| grid.periodic[a]) {
        let len = grid.hi[a] - grid.lo[a];
        let reach = (halo / len).ceil() as i64;
        // Shift the images made so far too, so corners get their diagonal ghosts.
        for i in 0..images.len() {
            for s in (-reach..=reach).filter(|&s| s != 0) {
                let x = images[i][a] + s as f64 * len;
                if x >= grid.lo[a] - halo && x <= grid.hi[a] + halo {
                    let mut g = images[i];
                    g[a] = x;
                    images.push(g);
                    owner.push(owner[i]);
                }
            }
        }
    }
    (images, owner)
}

fn build_tree(dim: usize, images: &[[f64; 3]]) -> Result<Tree> {
    let fail = |e: kiddo::kd_tree::ConstructionError| err!(MeshFormat, "cannot build the point index: {e:?}");
    Ok(if dim == 2 {
        let pts: Vec<[f64; 2]> = images.iter().map(|p| [p[0], p[1]]).collect();
        Tree::D2(ImmutableKdTree::new_from_slice(&pts).map_err(fail)?)
    } else {
        Tree::D3(ImmutableKdTree::new_from_slice(images).map_err(fail)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corner_points_get_diagonal_ghosts() {
        let g = Grid::new(&[10, 10], &[0.0, 0.0], &[1.0, 1.0], &[true, true]).unwrap();
        // Near the (0, 0) corner: images at +x, +y and +x+y; in the middle: none.
        let (images, owner) = with_ghosts(&g, &[[0.01, 0.02, 0.0], [0.5, 0.5, 0.0]], 0.1);
        assert_eq!(owner, vec![0, 1, 0, 0, 0]);
        assert!(images.contains(&[1.01, 1.02, 0.0]));
    }

    #[test]
    fn ties_at_the_cut_are_broken_by_index() {
        let g = Grid::new(&[4, 4], &[0.0, 0.0], &[1.0, 1.0], &[false, false]).unwrap();
        // Eight points at exactly the same (dyadic) distance from the query, each twice.
        let ring = [[0.625, 0.5, 0.0], [0.5, 0.375, 0.0], [0.375, 0.5, 0.0], [0.5, 0.625, 0.0]];
        let pts: Vec<[f64; 3]> = ring.iter().chain(&ring).copied().collect();
        let index = PointIndex::new(&pts, &g, 1.0).unwrap();
        for k in 1..=9 {
            let found = index.nearest(&[0.5, 0.5, 0.0], k, 1.0);
            let ids: Vec<u32> = found.iter().map(|f| f.0).collect();
            assert_eq!(ids, (0..k.min(8) as u32).collect::<Vec<_>>());
            assert!(found.iter().all(|f| f.1 == 0.015625));
        }
        assert!(index.nearest(&[0.5, 0.5, 0.0], 0, 1.0).is_empty());
    }
}
