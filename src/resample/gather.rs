//! Mesh -> grid gathering: the inputs of the `lift` graph (docs/bundle-format.md).

use std::ops::Range;

use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use super::index::{KthEstimate, PointIndex};
use crate::err;
use crate::error::Result;
use crate::grid::Grid;

/// Marks a padding slot in [`Neighbours::index`].
pub const PAD: u32 = u32::MAX;

/// Which input points a grid node keeps for the `lift` graph (manifest `lift.footprint`,
/// docs/bundle-format.md). Both rules use the input locations only, so training (point clouds of
/// cell centres) and run time see the same neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LiftFootprint {
    /// The `k` nearest within `radius` times the smallest grid spacing; covered when one is found.
    #[default]
    Radius,
    /// Coverage follows the local point spacing: a node is covered when its nearest input point
    /// `p` lies within `max(radius x spacing, SPACING_FACTOR x s(p))`, `s(p)` the distance from `p`
    /// to its `SPACING_RANK_PER_DIM x dim`-th nearest other input point; a covered node keeps its
    /// `k` nearest at any distance, an uncovered one none. Graded far fields (cells larger than the
    /// radius) stay covered, while nodes deeper inside an obstacle than about two wall cells stay
    /// uncovered.
    Adaptive,
}

/// `s(p)` in [`LiftFootprint::Adaptive`] is the distance to the `2 dim`-th nearest other point: on
/// the cell centres of a structured mesh with cells of sides `a <= b` that is `min(b, 2a)` in 2D
/// (the second neighbour across comes before the one along) and `min(b, sqrt 2 a)` in 3D (the
/// diagonals across), and every location in a cell lies within half its diagonal of the centre. With
/// [`SPACING_FACTOR`] = 2 nodes inside the cloud are covered up to aspect ratio ~8 in 2D and ~5 in
/// 3D; the price is about two wall cells (their longer side) of coverage beyond a wall. A rank of
/// a few neighbours keeps the rule local, so a hole larger than a few cells stays a hole.
pub const SPACING_RANK_PER_DIM: usize = 2;

/// The factor on `s(p)` in [`LiftFootprint::Adaptive`] (see [`SPACING_RANK_PER_DIM`]).
pub const SPACING_FACTOR: f64 = 2.0;

/// Relative slack on the adaptive coverage test, so that Rust's squared distances and the numpy
/// reference's (scipy) distances decide the same way on a boundary that they round differently.
pub const ADAPTIVE_SLACK: f64 = 1e-9;

/// The `k` nearest input points of each grid node in a range, padded to exactly `k` per node.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    /// Slots per node (K).
    pub k: usize,
    /// Grid dimension (D), the last axis of `offsets`.
    pub dim: usize,
    /// The grid nodes covered, in flat node order; row `m` is node `nodes.start + m`.
    pub nodes: Range<usize>,
    /// Number of input points indexed (the expected length of a point-valued array).
    pub points: usize,
    /// The search radius in grid spacings.
    pub radius_spacings: f64,
    /// The rule that chose the neighbours.
    pub footprint: LiftFootprint,
    /// `[M, K]` point indices, nearest first (ties by index), [`PAD`] for padding.
    pub index: Vec<u32>,
    /// `[M, K, D]` neighbour minus node, nearest periodic image, per axis in that axis' spacing (grid units);
    /// 0 for padding.
    pub offsets: Vec<f32>,
    /// `[M, K]` 1 for a real neighbour, 0 for padding.
    pub mask: Vec<f32>,
}

impl Neighbours {
    /// Number of nodes (M).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// For each grid node in `nodes`, the `k` nearest indexed points within `radius_spacings` grid
/// spacings (may be infinite), sorted by distance (ties by point index) and padded. Parallel over nodes.
///
/// Errors (`Usage`): `grid` has another box or periodicity than the index, a negative radius, or
/// `nodes` runs past the grid.
pub fn gather_grid_neighbours(index: &PointIndex, grid: &Grid, k: usize, radius_spacings: f64, nodes: Range<usize>) -> Result<Neighbours> {
    check_compatible(index, grid, radius_spacings, &nodes)?;
    let (dim, h) = (grid.dim, grid.min_spacing());
    let r2 = (radius_spacings * h).powi(2);
    let mut out = Neighbours::padding(index, grid, k, radius_spacings, LiftFootprint::Radius, &nodes);
    if k == 0 {
        return Ok(out);
    }
    let rows = out.index.par_chunks_mut(k).zip(out.offsets.par_chunks_mut(k * dim)).zip(out.mask.par_chunks_mut(k));
    // Per task: the search buffer and the running k-th distance (a hint for the next node).
    let init = || (Vec::new(), KthEstimate::new(k), grid.cursor());
    rows.enumerate().for_each_init(init, |(found, kth, cursor), (row, ((idx, off), mask))| {
        let node = cursor.position(nodes.start + row);
        index.nearest_into_hinted(&node, k, r2, kth.hint2(), found);
        kth.update(found);
        fill_row(index, grid, &node, found, idx, off, mask);
    });
    Ok(out)
}

/// [`gather_grid_neighbours`] or [`gather_grid_neighbours_adaptive`] as `footprint` says.
pub fn gather_grid_neighbours_with(
    index: &PointIndex,
    grid: &Grid,
    k: usize,
    radius_spacings: f64,
    footprint: LiftFootprint,
    nodes: Range<usize>,
) -> Result<Neighbours> {
    match footprint {
        LiftFootprint::Radius => gather_grid_neighbours(index, grid, k, radius_spacings, nodes),
        LiftFootprint::Adaptive => gather_grid_neighbours_adaptive(index, grid, k, radius_spacings, nodes),
    }
}

/// The neighbours of [`LiftFootprint::Adaptive`]: for each grid node in `nodes`, its `k` nearest
/// indexed points at any distance (ties by point index) when it is covered, none otherwise.
/// Parallel over nodes.
///
/// Errors: those of [`gather_grid_neighbours`].
pub fn gather_grid_neighbours_adaptive(index: &PointIndex, grid: &Grid, k: usize, radius_spacings: f64, nodes: Range<usize>) -> Result<Neighbours> {
    adaptive(index, grid, k, radius_spacings, nodes, Spacing::Search)
}

/// [`gather_grid_neighbours_adaptive`] with the local spacings given rather than searched in
/// `index`: `spacing[p]` is `s(p)` of indexed point `p` (world units), read only for the points
/// that are some node's nearest ([`spacing_probes`]). A distributed host indexes a subset of the
/// mesh (the candidates), whose spacings would differ from the whole mesh's; it merges the exact
/// ones from every rank ([`nearest_distances2`], [`merge_spacings`]).
///
/// Errors: `spacing` not one per indexed point (`Usage`), and those of [`gather_grid_neighbours`].
pub fn gather_grid_neighbours_adaptive_given(
    index: &PointIndex,
    grid: &Grid,
    k: usize,
    radius_spacings: f64,
    nodes: Range<usize>,
    spacing: &[f64],
) -> Result<Neighbours> {
    if spacing.len() != index.len() {
        return Err(err!(Usage, "{} local spacings for {} indexed points", spacing.len(), index.len()));
    }
    adaptive(index, grid, k, radius_spacings, nodes, Spacing::Given(spacing))
}

/// Where the adaptive rule takes `s(p)`.
#[derive(Clone, Copy)]
enum Spacing<'a> {
    /// Searched in the index itself (the index holds every input point).
    Search,
    /// Given per indexed point.
    Given(&'a [f64]),
}

/// The rank of `s(p)` among `p`'s nearest points, counting `p` itself (so a coincident point
/// counts): the `SPACING_RANK_PER_DIM x dim`-th nearest other point.
pub fn spacing_rank(dim: usize) -> usize {
    SPACING_RANK_PER_DIM * dim + 1
}

fn adaptive(index: &PointIndex, grid: &Grid, k: usize, radius_spacings: f64, nodes: Range<usize>, spacing: Spacing) -> Result<Neighbours> {
    check_compatible(index, grid, radius_spacings, &nodes)?;
    let dim = grid.dim;
    let floor = radius_spacings * grid.min_spacing();
    let rank = spacing_rank(dim);
    let mut out = Neighbours::padding(index, grid, k, radius_spacings, LiftFootprint::Adaptive, &nodes);
    if k == 0 {
        return Ok(out);
    }
    let rows = out.index.par_chunks_mut(k).zip(out.offsets.par_chunks_mut(k * dim)).zip(out.mask.par_chunks_mut(k));
    let init = || (Vec::new(), Vec::new(), KthEstimate::new(k), KthEstimate::new(rank), grid.cursor());
    rows.enumerate().for_each_init(init, |(found, near, kth, kth_s, cursor), (row, ((idx, off), mask))| {
        let node = cursor.position(nodes.start + row);
        index.nearest_into_hinted(&node, k, f64::INFINITY, kth.hint2(), found);
        kth.update(found);
        let Some(&(nearest, d2)) = found.first() else { return };
        let spacing = match spacing {
            // The local spacing at the nearest point: its `rank`-th nearest, itself included, or
            // the farthest point when there are fewer.
            Spacing::Search => {
                index.nearest_into_hinted(&index.point(nearest as usize), rank, f64::INFINITY, kth_s.hint2(), near);
                kth_s.update(near);
                spacing_of(near.iter().map(|&(_, s2)| s2))
            }
            Spacing::Given(s) => s[nearest as usize],
        };
        let reach = floor.max(SPACING_FACTOR * spacing) * (1.0 + ADAPTIVE_SLACK);
        if d2.sqrt() > reach {
            return;
        }
        fill_row(index, grid, &node, found, idx, off, mask);
    });
    Ok(out)
}

/// `s(p)` from the squared distances of `p`'s nearest points, ascending (at most `rank` of them,
/// `p` itself included): the last, i.e. the `rank`-th or the farthest when there are fewer.
fn spacing_of(ascending2: impl Iterator<Item = f64>) -> f64 {
    ascending2.last().map_or(0.0, f64::sqrt)
}

/// A point whose local spacing `s(p)` the ranks of a distributed host measure ([`spacing_probes`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probe {
    /// The point, wrapped as [`PointIndex::point`] gives it.
    pub at: [f64; 3],
    /// An upper bound on the squared distance of its `rank`-th nearest point over the whole mesh
    /// (+inf when unknown): only points within it can matter, so each rank searches no farther.
    pub bound2: f64,
}

impl Probe {
    /// Values per probe in [`Probe::flatten`].
    pub const LEN: usize = 4;

    /// `[x, y, z, bound2]` per probe (to broadcast).
    pub fn flatten(probes: &[Probe]) -> Vec<f64> {
        probes.iter().flat_map(|p| [p.at[0], p.at[1], p.at[2], p.bound2]).collect()
    }

    /// The inverse of [`Probe::flatten`].
    pub fn unflatten(data: &[f64]) -> Vec<Probe> {
        data.chunks_exact(Probe::LEN).map(|p| Probe { at: [p[0], p[1], p[2]], bound2: p[3] }).collect()
    }
}

/// The indexed points that are some node's nearest (ties by point index), ascending: the points
/// whose `s(p)` [`LiftFootprint::Adaptive`] reads, as probes. When `index` holds a subset of the
/// mesh (a distributed host's candidates), the subset's `rank`-th nearest distance bounds the
/// mesh's from above. Parallel over nodes and probes.
///
/// Errors: those of [`gather_grid_neighbours`].
pub fn spacing_probes(index: &PointIndex, grid: &Grid) -> Result<(Vec<u32>, Vec<Probe>)> {
    let nearest = gather_grid_neighbours(index, grid, 1, f64::INFINITY, 0..grid.len())?;
    let mut used = vec![false; index.len()];
    nearest.index.iter().filter(|&&p| p != PAD).for_each(|&p| used[p as usize] = true);
    let points: Vec<u32> = (0..index.len() as u32).filter(|&p| used[p as usize]).collect();
    let rank = spacing_rank(grid.dim);
    let init = || (Vec::new(), KthEstimate::new(rank));
    let probes = points
        .par_iter()
        .map_init(init, |(near, kth), &p| {
            let at = index.point(p as usize);
            index.nearest_into_hinted(&at, rank, f64::INFINITY, kth.hint2(), near);
            kth.update(near);
            let bound2 = if near.len() == rank { near[rank - 1].1 } else { f64::INFINITY };
            Probe { at, bound2 }
        })
        .collect();
    Ok((points, probes))
}

/// Per probe, the squared distances to its `rank` nearest points in `index` within its bound
/// (`None`: no local points), ascending, padded with +inf to exactly `rank` values: one rank's part
/// of the probes' spacings. Parallel over probes.
pub fn nearest_distances2(index: Option<&PointIndex>, probes: &[Probe], rank: usize) -> Vec<f64> {
    let mut out = vec![f64::INFINITY; probes.len() * rank];
    let Some(index) = index else { return out };
    if rank == 0 {
        return out;
    }
    let init = || (Vec::new(), KthEstimate::new(rank));
    out.par_chunks_mut(rank).zip(probes.par_iter()).for_each_init(init, |(near, kth), (row, probe)| {
        index.nearest_into_hinted(&probe.at, rank, probe.bound2, kth.hint2(), near);
        kth.update(near);
        for (slot, &(_, d2)) in row.iter_mut().zip(near.iter()) {
            *slot = d2;
        }
    });
    out
}

/// The probes' `s(p)` over the whole point set from every part's [`nearest_distances2`]
/// (concatenated, `rank` values per probe per part, parts in any order): the `rank`-th smallest of
/// the union, or its largest when it holds fewer, exactly what a search over all the points gives
/// (the points beyond a probe's bound are not among its `rank` nearest, or the bound is +inf).
pub fn merge_spacings(parts: &[f64], probes: usize, rank: usize) -> Vec<f64> {
    let per_part = probes * rank;
    let mut merged = Vec::new();
    (0..probes)
        .map(|i| {
            merged.clear();
            if per_part > 0 {
                for part in parts.chunks(per_part) {
                    merged.extend(part[i * rank..(i + 1) * rank].iter().copied().filter(|d| d.is_finite()));
                }
            }
            merged.sort_by(f64::total_cmp);
            spacing_of(merged.iter().take(rank).copied())
        })
        .collect()
}

impl Neighbours {
    /// Rows for `nodes` holding only padding (no neighbour), which the gathers then fill.
    fn padding(index: &PointIndex, grid: &Grid, k: usize, radius_spacings: f64, footprint: LiftFootprint, nodes: &Range<usize>) -> Neighbours {
        let (dim, m) = (grid.dim, nodes.len());
        Neighbours {
            k,
            dim,
            nodes: nodes.clone(),
            points: index.len(),
            radius_spacings,
            footprint,
            index: vec![PAD; m * k],
            offsets: vec![0.0; m * k * dim],
            mask: vec![0.0; m * k],
        }
    }
}

/// One node's row: the `found` points' indices, their offsets from `node` in grid spacings (nearest
/// periodic image) and a mask of 1 for each.
fn fill_row(index: &PointIndex, grid: &Grid, node: &[f64; 3], found: &[(u32, f64)], idx: &mut [u32], off: &mut [f32], mask: &mut [f32]) {
    let dim = grid.dim;
    for (slot, &(p, _)) in found.iter().enumerate() {
        idx[slot] = p;
        mask[slot] = 1.0;
        let q = index.point(p as usize);
        for a in 0..dim {
            off[slot * dim + a] = (grid.delta(a, q[a], node[a]) / grid.spacing(a)) as f32;
        }
    }
}

/// The index must have been built for `grid`'s box and periodicity (its bins and wrapping depend on
/// them); any radius is exact.
pub(crate) fn check_compatible(index: &PointIndex, grid: &Grid, radius_spacings: f64, nodes: &Range<usize>) -> Result<()> {
    let built = index.grid();
    if (grid.dim, grid.lo, grid.hi, grid.periodic) != (built.dim, built.lo, built.hi, built.periodic) {
        return Err(err!(Usage, "the point index was built for another grid box or periodicity"));
    }
    if radius_spacings.is_nan() || radius_spacings < 0.0 {
        return Err(err!(Usage, "neighbour radius {radius_spacings} grid spacings must be >= 0"));
    }
    if nodes.end > grid.len() || nodes.start > nodes.end {
        return Err(err!(Usage, "node range {nodes:?} is not within the grid's {} nodes", grid.len()));
    }
    Ok(())
}

/// 1 for each node with at least one neighbour, else 0 (the encoder's coverage channel).
pub fn coverage(neigh: &Neighbours) -> Vec<f32> {
    if neigh.k == 0 {
        return vec![0.0; neigh.len()];
    }
    neigh.mask.chunks(neigh.k).map(|m| m[0]).collect()
}

/// The neighbours' values `[M, K, C]` (zeros for padding) from point-major `values[p * C + c]`.
///
/// Errors: wrong length (`FieldShape`), NaN/Inf anywhere in `values` (`NonFinite`).
pub fn gather_values(neigh: &Neighbours, values: &[f32], channels: usize) -> Result<Vec<f32>> {
    check_point_values(values, neigh.points, channels)?;
    let mut out = vec![0.0; neigh.index.len() * channels];
    if channels == 0 {
        return Ok(out);
    }
    out.par_chunks_mut(channels).zip(neigh.index.par_iter()).for_each(|(o, &p)| {
        if p != PAD {
            let p = p as usize;
            o.copy_from_slice(&values[p * channels..(p + 1) * channels]);
        }
    });
    Ok(out)
}

/// Check a point-major value array: `points * channels` long, all finite.
pub fn check_point_values(values: &[f32], points: usize, channels: usize) -> Result<()> {
    if values.len() != points * channels {
        return Err(err!(FieldShape, "expected {points} points x {channels} channels = {} values, got {}", points * channels, values.len()));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let (p, c) = (i / channels, i % channels);
        return Err(
            err!(NonFinite, "value {} at point {p}, channel {c} is not finite", values[i]).with_hint("fix the field in the input or mask the point out")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clustered, graded cloud with exact duplicates, deterministic.
    fn cloud() -> Vec<[f64; 3]> {
        let mut state = 7u64;
        let mut uniform = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut points = vec![];
        for _ in 0..12 {
            let (cx, cy, w) = (uniform(), uniform(), 0.005 + 0.1 * uniform());
            for _ in 0..40 {
                points.push([cx + w * (uniform() - 0.5), cy + w * (uniform() - 0.5), 0.0]);
            }
        }
        points.extend_from_within(..20);
        points
    }

    /// The spacings a distributed host merges from its ranks' parts are those a search over all
    /// the points gives, bit for bit, whatever the split; so are the neighbour lists built from
    /// them. A single part's spacings differ (the merge is needed).
    #[test]
    fn merged_spacings_equal_the_search_over_all_points() {
        let grid = Grid::new(&[24, 20], &[0.0, 0.0], &[1.0, 1.0], &[true, false]).unwrap();
        let points = cloud();
        let index = PointIndex::new(&points, &grid).unwrap();
        let (k, radius, rank) = (8, 0.5, spacing_rank(2));
        let want = gather_grid_neighbours_adaptive(&index, &grid, k, radius, 0..grid.len()).unwrap();
        let (probes, at) = spacing_probes(&index, &grid).unwrap();
        // Bounds from a subset, as the master's candidate cloud gives them (and none at all).
        let subset: Vec<[f64; 3]> = points.iter().step_by(2).copied().collect();
        let sub = PointIndex::new(&subset, &grid).unwrap();
        let bounded: Vec<Probe> = at
            .iter()
            .map(|p| {
                let near = sub.nearest(&p.at, rank, f64::INFINITY);
                Probe { at: p.at, bound2: if near.len() == rank { near[rank - 1].1 } else { f64::INFINITY } }
            })
            .collect();
        let unbounded: Vec<Probe> = at.iter().map(|p| Probe { at: p.at, bound2: f64::INFINITY }).collect();
        assert_eq!(Probe::unflatten(&Probe::flatten(&bounded)), bounded);
        for (parts, at) in [(1, &at), (2, &bounded), (3, &unbounded), (3, &at)] {
            let mut merged = vec![];
            let mut alone = vec![];
            for part in 0..parts {
                let mine: Vec<[f64; 3]> = points.iter().enumerate().filter(|(i, _)| (i * 7919) % parts == part).map(|(_, p)| *p).collect();
                let local = PointIndex::new(&mine, &grid).unwrap();
                let d2 = nearest_distances2(Some(&local), at, rank);
                alone = merge_spacings(&d2, at.len(), rank);
                merged.extend(d2);
            }
            merged.extend(nearest_distances2(None, at, rank)); // a rank without points
            let merged = merge_spacings(&merged, at.len(), rank);
            let mut spacing = vec![f64::NAN; points.len()];
            for (&p, &s) in probes.iter().zip(&merged) {
                spacing[p as usize] = s;
            }
            let got = gather_grid_neighbours_adaptive_given(&index, &grid, k, radius, 0..grid.len(), &spacing).unwrap();
            assert_eq!(got, want, "{parts} parts");
            if parts > 1 {
                assert!(alone.iter().zip(&merged).any(|(a, m)| a != m), "{parts} parts: one part alone has the same spacings");
            }
        }
        let covered = coverage(&want).iter().filter(|&&c| c > 0.0).count();
        assert!(0 < covered && covered < grid.len(), "{covered} of {} nodes covered: the test proves nothing", grid.len());
        let wrong = gather_grid_neighbours_adaptive_given(&index, &grid, k, radius, 0..grid.len(), &[1.0]);
        assert_eq!(wrong.unwrap_err().kind(), crate::error::ErrorKind::Usage);
    }
}
