//! Mesh -> grid by linear interpolation inside the mesh's cells (what `vtkProbeFilter` does with a
//! mesh as its source): a grid node inside a cell gets the cell's interpolant at the node.
//!
//! Cells, by VTK type id (quadratic cells use their corner points):
//! - 2D grids: triangle (5), polygon (7), pixel (8), quad (9); 22, 23, 28, 30 by their corners.
//! - 3D grids: tetra (10), voxel (11), hexahedron (12), wedge (13), pyramid (14), polyhedron (42);
//!   24, 25, 26, 27, 29, 32 by their corners.
//! - Other cells (vertices, lines, 3D cells on a 2D grid and 2D cells on a 3D grid) are skipped.
//! - Except: on a 2D grid, a mesh without 2D cells that is one cell thick in z (an OpenFOAM 2D case
//!   as foamToVTK writes it, [`Cells::slab`]) is taken as its cells' cross-sections ([`grid_cells`]).
//!
//! Interpolants: barycentric on simplices; the isoparametric bi/trilinear map on quads, pixels,
//! hexahedra and voxels (inverted by Newton's method as VTK does, falling back to a split into
//! simplices when it does not converge); wedges and pyramids are split into 3 and 2 tetrahedra.
//! Polygons are fanned into triangles around their centroid. A polyhedron only carries its unique
//! point ids here (`Cells`), so it is taken as the convex hull of its points, fanned into tetrahedra
//! around the centroid; the centroid's value is the mean of the points' values, which keeps linear
//! fields exact. All of these are exact for linear fields, hence second-order accurate.
//!
//! A node on a face shared by several cells takes the cell with the lowest id (deterministic); on
//! periodic axes a cell holding the node itself wins over one holding only its periodic image.
//! Point location rasterises each cell over the grid nodes in its bounding box, in parallel over
//! cells; no search structure over cells is kept.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;

use super::index::PointIndex;
use super::weights::{Outside, RowOut, Weights};
use crate::err;
use crate::error::Result;
use crate::grid::Grid;
use crate::mesh::{Association, Cells};

/// Tolerance on barycentric / parametric coordinates: nodes on a cell's boundary are inside.
const EPS: f64 = 1e-9;

/// Newton iterations for inverting the isoparametric map (VTK uses 10; 20 leaves margin).
const NEWTON_ITERATIONS: usize = 20;

/// Not owned by any cell.
const NONE: u64 = u64::MAX;

/// Parametric corners of VTK's quad (first 4) and hexahedron (all 8) in point order.
const ISO_CORNERS: [[f64; 3]; 8] =
    [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]];

/// How a cell of some VTK type interpolates, after mapping quadratic types to their corners.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// One simplex (triangle, tetrahedron) of `dim + 1` points.
    Simplex,
    /// Isoparametric bi/trilinear; the array reorders VTK's points into [`ISO_CORNERS`] order.
    Iso(&'static [usize]),
    /// Fixed split into simplices (wedge, pyramid).
    Split(&'static [[usize; 4]]),
    /// Fan around the centroid: polygon (2D) or convex hull of the points (3D).
    Fan,
}

/// `(dim, kind, corner count or 0 for all)` of a VTK cell type, `None` when it has no interior.
fn kind_of(cell_type: u8) -> Option<(usize, Kind, usize)> {
    const QUAD: &[usize] = &[0, 1, 2, 3];
    const PIXEL: &[usize] = &[0, 1, 3, 2];
    const HEX: &[usize] = &[0, 1, 2, 3, 4, 5, 6, 7];
    const VOXEL: &[usize] = &[0, 1, 3, 2, 4, 5, 7, 6];
    const WEDGE: &[[usize; 4]] = &[[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]];
    const PYRAMID: &[[usize; 4]] = &[[0, 1, 2, 4], [0, 2, 3, 4]];
    Some(match cell_type {
        5 | 22 => (2, Kind::Simplex, 3),
        7 => (2, Kind::Fan, 0),
        8 => (2, Kind::Iso(PIXEL), 4),
        9 | 23 | 28 | 30 => (2, Kind::Iso(QUAD), 4),
        10 | 24 => (3, Kind::Simplex, 4),
        11 => (3, Kind::Iso(VOXEL), 8),
        12 | 25 | 29 | 32 => (3, Kind::Iso(HEX), 8),
        13 | 26 => (3, Kind::Split(WEDGE), 6),
        14 | 27 => (3, Kind::Split(PYRAMID), 5),
        42 => (3, Kind::Fan, 0),
        _ => return None,
    })
}

/// A cell ready to be tested against points: its (corner) point ids and coordinates.
struct CellGeom<'a> {
    kind: Kind,
    dim: usize,
    ids: &'a [usize],
    x: Vec<[f64; 3]>,
}

impl<'a> CellGeom<'a> {
    /// The cell `c` if it interpolates on a `dim`-dimensional grid.
    fn new(cells: &'a Cells, points: &[[f64; 3]], c: usize, dim: usize) -> Option<CellGeom<'a>> {
        let (d, kind, corners) = kind_of(cells.types[c])?;
        let all = cells.cell(c);
        let ids = if corners == 0 { all } else { all.get(..corners)? };
        if d != dim || ids.len() < dim + 1 {
            return None;
        }
        Some(CellGeom { kind, dim, ids, x: ids.iter().map(|&p| points[p]).collect() })
    }

    fn bbox(&self) -> ([f64; 3], [f64; 3]) {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for p in &self.x {
            for a in 0..self.dim {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        (lo, hi)
    }

    /// Interpolation weights of the cell's points at `q` (pushed as `(local point, weight)`),
    /// or false when `q` is outside.
    fn locate(&self, q: &[f64; 3], w: &mut Vec<(usize, f64)>) -> bool {
        w.clear();
        match self.kind {
            Kind::Simplex => simplex(self.dim, &self.x, &[0, 1, 2, 3], q, w),
            Kind::Split(tets) => tets.iter().any(|t| simplex(3, &self.x, t, q, w)),
            Kind::Iso(order) => self.iso(order, q, w),
            Kind::Fan => self.fan(q, w),
        }
    }

    /// Invert the bi/trilinear map by Newton's method; if it fails to converge (a degenerate or
    /// badly non-convex cell), fall back to simplices.
    fn iso(&self, order: &[usize], q: &[f64; 3], w: &mut Vec<(usize, f64)>) -> bool {
        let corners: Vec<[f64; 3]> = order.iter().map(|&i| self.x[i]).collect();
        match iso_inverse(self.dim, &corners, q) {
            Some(r) => {
                if !(0..self.dim).all(|a| r[a] >= -EPS && r[a] <= 1.0 + EPS) {
                    return false;
                }
                w.extend(order.iter().enumerate().map(|(i, &local)| (local, shape(self.dim, i, &r))));
                true
            }
            None => {
                const QUAD_TRIS: &[[usize; 4]] = &[[0, 1, 2, 0], [0, 2, 3, 0]];
                const HEX_TETS: &[[usize; 4]] = &[[0, 1, 2, 6], [0, 2, 3, 6], [0, 3, 7, 6], [0, 7, 4, 6], [0, 4, 5, 6], [0, 5, 1, 6]];
                let split = if self.dim == 2 { QUAD_TRIS } else { HEX_TETS };
                split.iter().any(|t| {
                    let t = t.map(|i| order[i]);
                    simplex(self.dim, &self.x, &t, q, w)
                })
            }
        }
    }

    /// Centroid fan: polygon edges (2D) or convex-hull faces (3D), each with the centroid.
    fn fan(&self, q: &[f64; 3], w: &mut Vec<(usize, f64)>) -> bool {
        let n = self.x.len();
        let mut c = [0.0; 3];
        self.x.iter().for_each(|p| (0..3).for_each(|a| c[a] += p[a] / n as f64));
        let mut x = self.x.clone();
        x.push(c);
        let faces: Vec<[usize; 3]> = if self.dim == 2 { (0..n).map(|i| [i, (i + 1) % n, 0]).collect() } else { hull_faces(&self.x) };
        for f in faces {
            let s = [n, f[0], f[1], f[2]];
            if simplex(self.dim, &x, &s, q, w) {
                // The centroid's weight goes to every point equally.
                let wc = w.iter().find(|e| e.0 == n).map_or(0.0, |e| e.1);
                w.retain(|e| e.0 != n);
                (0..n).for_each(|i| w.push((i, wc / n as f64)));
                return true;
            }
        }
        false
    }
}

/// Barycentric weights of `q` in the simplex `x[s[0..=dim]]` (pushed as `(local, weight)`), or
/// false when outside or degenerate.
fn simplex(dim: usize, x: &[[f64; 3]], s: &[usize], q: &[f64; 3], w: &mut Vec<(usize, f64)>) -> bool {
    let o = x[s[0]];
    let mut m = [[0.0; 3]; 3];
    for (col, &v) in s[1..=dim].iter().enumerate() {
        for a in 0..dim {
            m[a][col] = x[v][a] - o[a];
        }
    }
    let rhs: [f64; 3] = std::array::from_fn(|a| if a < dim { q[a] - o[a] } else { 0.0 });
    let Some(l) = solve(dim, &m, &rhs) else { return false };
    let l0 = 1.0 - l[..dim].iter().sum::<f64>();
    if l0 < -EPS || l[..dim].iter().any(|&v| v < -EPS) {
        return false;
    }
    w.clear();
    w.push((s[0], l0));
    w.extend(s[1..=dim].iter().zip(l).map(|(&v, l)| (v, l)));
    true
}

/// Solve the `dim x dim` system `m x = b` by Cramer's rule; `None` when (nearly) singular.
fn solve(dim: usize, m: &[[f64; 3]; 3], b: &[f64; 3]) -> Option<[f64; 3]> {
    let det = |m: &[[f64; 3]; 3]| {
        if dim == 2 {
            m[0][0] * m[1][1] - m[0][1] * m[1][0]
        } else {
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        }
    };
    let d = det(m);
    let scale: f64 = (0..dim).map(|a| (0..dim).map(|c| m[a][c].abs()).fold(0.0, f64::max)).product();
    // Also refuses a NaN determinant.
    if d.abs().partial_cmp(&(1e-14 * scale)) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let mut x = [0.0; 3];
    for (col, xc) in x.iter_mut().enumerate().take(dim) {
        let mut mc = *m;
        (0..dim).for_each(|a| mc[a][col] = b[a]);
        *xc = det(&mc) / d;
    }
    Some(x)
}

/// Bi/trilinear shape function of corner `i` at parametric `r`.
fn shape(dim: usize, i: usize, r: &[f64; 3]) -> f64 {
    (0..dim).map(|a| if ISO_CORNERS[i][a] == 1.0 { r[a] } else { 1.0 - r[a] }).product()
}

/// Parametric coordinates of `q` under the bi/trilinear map of `corners` (in [`ISO_CORNERS`]
/// order), by Newton's method from the centre; `None` if it does not converge.
fn iso_inverse(dim: usize, corners: &[[f64; 3]], q: &[f64; 3]) -> Option<[f64; 3]> {
    let mut r = [0.5; 3];
    let size = (0..dim)
        .map(|a| corners.iter().map(|p| p[a]).fold(f64::NEG_INFINITY, f64::max) - corners.iter().map(|p| p[a]).fold(f64::INFINITY, f64::min))
        .fold(0.0, f64::max);
    for _ in 0..NEWTON_ITERATIONS {
        let mut f = [0.0; 3];
        let mut jac = [[0.0; 3]; 3];
        for (i, p) in corners.iter().enumerate() {
            let n = shape(dim, i, &r);
            #[allow(clippy::needless_range_loop)] // b indexes a column of `jac`, not a row
            for b in 0..dim {
                // d shape / d r_b: the factor for axis b replaced by its derivative.
                let db: f64 = (0..dim)
                    .map(|a| {
                        let up = ISO_CORNERS[i][a] == 1.0;
                        if a == b {
                            if up {
                                1.0
                            } else {
                                -1.0
                            }
                        } else if up {
                            r[a]
                        } else {
                            1.0 - r[a]
                        }
                    })
                    .product();
                (0..dim).for_each(|a| jac[a][b] += db * p[a]);
            }
            (0..dim).for_each(|a| f[a] += n * p[a]);
        }
        let res: [f64; 3] = std::array::from_fn(|a| if a < dim { q[a] - f[a] } else { 0.0 });
        let step = solve(dim, &jac, &res)?;
        (0..dim).for_each(|a| r[a] += step[a]);
        if r.iter().any(|v| !v.is_finite() || v.abs() > 1e6) {
            return None;
        }
        if step[..dim].iter().all(|s| s.abs() < 1e-12) || res[..dim].iter().all(|v| v.abs() <= 1e-14 * size) {
            return Some(r);
        }
    }
    None
}

/// Triangles of the convex hull of `x` (brute force: polyhedra have few points). Coplanar points
/// give overlapping triangles, which is harmless: any containing one interpolates linearly.
fn hull_faces(x: &[[f64; 3]]) -> Vec<[usize; 3]> {
    let n = x.len();
    let size = x.iter().flat_map(|p| p.iter()).fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    let mut faces = vec![];
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                let (u, v) = (sub(&x[j], &x[i]), sub(&x[k], &x[i]));
                let nrm = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
                let side = |p: &[f64; 3]| dot(&nrm, &sub(p, &x[i]));
                let tol = 1e-12 * size * size * size;
                if dot(&nrm, &nrm).sqrt() <= 1e-12 * size * size {
                    continue;
                }
                let (above, below) = x.iter().fold((false, false), |(a, b), p| (a || side(p) > tol, b || side(p) < -tol));
                if !(above && below) {
                    faces.push([i, j, k]);
                }
            }
        }
    }
    faces
}

fn sub(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The images of a point a cell may contain, with their rank: the point itself (rank 0), then on
/// periodic axes its shifts by one period that land in the cell's bounding box (a mesh may extend
/// past the box). Ranks encode the shift (digit 1 for -L, 2 for +L per axis), so that a cell
/// holding the point itself wins over one holding only an image.
fn images(grid: &Grid, q: &[f64; 3], lo: &[f64; 3], hi: &[f64; 3]) -> Vec<([f64; 3], u32)> {
    let mut out = vec![(*q, 0)];
    let mut digit = 1;
    for a in (0..grid.dim).filter(|&a| grid.periodic[a]) {
        let len = grid.hi[a] - grid.lo[a];
        for i in 0..out.len() {
            for (d, s) in [(1, -len), (2, len)] {
                let (mut p, rank) = out[i];
                p[a] += s;
                if p[a] >= lo[a] - EPS * len && p[a] <= hi[a] + EPS * len {
                    out.push((p, rank + d * digit));
                }
            }
        }
        digit *= 3;
    }
    out.retain(|(p, _)| (0..grid.dim).all(|a| p[a] >= lo[a] - EPS * (hi[a] - lo[a]) && p[a] <= hi[a] + EPS * (hi[a] - lo[a])));
    out
}

/// Nodes of `grid` (flat indices) whose position, or a periodic image of it, lies in `[lo, hi]`.
fn nodes_in_box(grid: &Grid, lo: &[f64; 3], hi: &[f64; 3], mut f: impl FnMut(usize)) {
    let mut ranges = [[(0usize, 0usize); 3]; 3];
    let mut counts = [1usize; 3];
    for a in 0..grid.dim {
        let (h, n) = (grid.spacing(a), grid.shape[a] as i64);
        let shifts: &[f64] = if grid.periodic[a] { &[0.0, -1.0, 1.0] } else { &[0.0] };
        let len = grid.hi[a] - grid.lo[a];
        counts[a] = 0;
        for &s in shifts {
            let i0 = (((lo[a] + s * len - grid.lo[a]) / h) - EPS).ceil().max(0.0) as i64;
            let i1 = ((((hi[a] + s * len - grid.lo[a]) / h) + EPS).floor() as i64).min(n - 1);
            if i0 <= i1 {
                ranges[a][counts[a]] = (i0 as usize, i1 as usize);
                counts[a] += 1;
            }
        }
    }
    for rz in &ranges[2][..counts[2]] {
        for k in rz.0..=rz.1 {
            for ry in &ranges[1][..counts[1]] {
                for j in ry.0..=ry.1 {
                    for rx in &ranges[0][..counts[0]] {
                        (rx.0..=rx.1).for_each(|i| f(grid.index([i, j, k])));
                    }
                }
            }
        }
    }
}

/// The rank of the first image of `q` (see [`images`]) inside `cell`, with its weights as local
/// point indices; only the image of rank `only` when given.
fn weights_in(grid: &Grid, cell: &CellGeom, q: &[f64; 3], only: Option<u32>, w: &mut Vec<(usize, f64)>) -> Option<u32> {
    let (lo, hi) = cell.bbox();
    images(grid, q, &lo, &hi).into_iter().filter(|&(_, r)| only.map_or(true, |o| o == r)).find(|(p, _)| cell.locate(p, w)).map(|(_, r)| r)
}

/// Linear interpolation weights of every grid node inside the mesh's cells. With
/// `Association::Point` the sources are the points (weights of the containing cell's points);
/// with `Association::Cell` the sources are the cells (weight 1 on the containing cell: cell data
/// is constant per cell). Nodes in no cell get `outside` (closest point, or closest cell centre).
///
/// Errors: no cell that interpolates on this grid's dimension (`MeshFormat`), a cell referring to
/// a missing point (`MeshFormat`), a NaN/Inf coordinate (`NonFinite`).
pub fn linear_grid_weights(grid: &Grid, points: &[[f64; 3]], cells: &Cells, association: Association, outside: Outside) -> Result<Weights> {
    let cells = &*grid_cells(grid, points, cells)?;
    let owner = owners(grid, points, cells);
    let index = match outside {
        Outside::Closest => Some(match association {
            Association::Point => PointIndex::new(points, grid)?,
            Association::Cell => PointIndex::new(&cells.centres(points), grid)?,
        }),
        Outside::Null(_) => None,
    };
    let null = if let Outside::Null(v) = outside { v } else { 0.0 };
    let sources = if association == Association::Point { points.len() } else { cells.len() };
    Weights::build(grid.len(), sources, null, Vec::new, |w, node, out: &mut RowOut| {
        let key = owner[node].load(Ordering::Relaxed);
        let q = grid.node(grid.ijk(node));
        if key == NONE {
            if let Some(index) = &index {
                out.push(index.closest(&q).0, 1.0);
            }
            return false;
        }
        let (rank, c) = ((key >> 32) as u32, key as u32);
        if association == Association::Cell {
            out.push(c, 1.0);
            return true;
        }
        let cell = CellGeom::new(cells, points, c as usize, grid.dim).expect("owner cells interpolate");
        weights_in(grid, &cell, &q, Some(rank), w);
        w.iter().filter(|e| e.1 != 0.0).for_each(|&(local, v)| out.push(cell.ids[local] as u32, v as f32));
        true
    })
}

/// For each grid node, `rank << 32 | cell` of the cell containing it with the lowest image rank,
/// then the lowest id (or [`NONE`]), in parallel over cells.
fn owners(grid: &Grid, points: &[[f64; 3]], cells: &Cells) -> Vec<AtomicU64> {
    let owner: Vec<AtomicU64> = (0..grid.len()).map(|_| AtomicU64::new(NONE)).collect();
    (0..cells.len()).into_par_iter().for_each_init(Vec::new, |w, c| {
        let Some(cell) = CellGeom::new(cells, points, c, grid.dim) else { return };
        let (lo, hi) = cell.bbox();
        nodes_in_box(grid, &lo, &hi, |node| {
            // A better key already owns it: skip the test.
            if owner[node].load(Ordering::Relaxed) > c as u64 {
                if let Some(rank) = weights_in(grid, &cell, &grid.node(grid.ijk(node)), None, w) {
                    owner[node].fetch_min((u64::from(rank) << 32) | c as u64, Ordering::Relaxed);
                }
            }
        });
    });
    owner
}

/// Whether each grid node lies inside the mesh's cells (those that interpolate on this grid, see
/// [`grid_cells`]): the coverage of every method on a mesh with cells. `None` when no cell
/// interpolates on this grid (a point cloud, or a 3D mesh on a 2D grid that is no slab in z).
///
/// Errors: as [`linear_grid_weights`], except that having no cells of the grid's dimension is not one.
pub fn inside_cells(grid: &Grid, points: &[[f64; 3]], cells: &Cells) -> Result<Option<Vec<bool>>> {
    let cells = match grid_cells(grid, points, cells) {
        Ok(cells) => cells,
        Err(e) if e.kind() == crate::ErrorKind::MeshFormat && has_points_and_ids(points, cells) => return Ok(None),
        Err(e) => return Err(e),
    };
    // As `owners`, but any containing cell will do: a node already found inside is not tested
    // again, and a flag per node is an eighth of an owner key.
    let inside: Vec<AtomicBool> = (0..grid.len()).map(|_| AtomicBool::new(false)).collect();
    (0..cells.len()).into_par_iter().for_each_init(Vec::new, |w, c| {
        let Some(cell) = CellGeom::new(&cells, points, c, grid.dim) else { return };
        let (lo, hi) = cell.bbox();
        nodes_in_box(grid, &lo, &hi, |node| {
            if !inside[node].load(Ordering::Relaxed) && weights_in(grid, &cell, &grid.node(grid.ijk(node)), None, w).is_some() {
                inside[node].store(true, Ordering::Relaxed);
            }
        });
    });
    Ok(Some(inside.into_iter().map(AtomicBool::into_inner).collect()))
}

fn has_points_and_ids(points: &[[f64; 3]], cells: &Cells) -> bool {
    cells.len() < u32::MAX as usize && cells.connectivity.iter().all(|&p| p < points.len())
}

/// The cells to interpolate in on `grid`: the mesh's own, or, on a 2D grid over a mesh with no 2D
/// cells that is one cell thick in z ([`Cells::slab`], an OpenFOAM 2D case), the cross-sections of
/// its cells (cell `i`'s section is cell `i`, so cell data keeps its index).
///
/// Errors: those of [`check_cells`]; a slab along x or y on a 2D grid (`MeshFormat`: the grid
/// spans x and y).
pub fn grid_cells<'a>(grid: &Grid, points: &[[f64; 3]], cells: &'a Cells) -> Result<std::borrow::Cow<'a, Cells>> {
    match check_cells(grid, points, cells) {
        Ok(()) => Ok(std::borrow::Cow::Borrowed(cells)),
        Err(e) if e.kind() == crate::ErrorKind::MeshFormat && grid.dim == 2 && has_points_and_ids(points, cells) => match cells.slab(points) {
            Some(slab) if slab.axis == 2 => Ok(std::borrow::Cow::Owned(slab.sections)),
            Some(slab) => Err(err!(MeshFormat, "the mesh is one cell thick along {} (a 2D case), but a 2D grid spans x and y", ["x", "y", "z"][slab.axis])
                .with_hint("rotate the mesh so that its thin (empty) direction is z, or use a 3D grid")),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

fn check_cells(grid: &Grid, points: &[[f64; 3]], cells: &Cells) -> Result<()> {
    if cells.len() >= u32::MAX as usize {
        return Err(err!(MeshFormat, "{} cells are more than this runtime can index", cells.len()));
    }
    if let Some(&p) = cells.connectivity.iter().find(|&&p| p >= points.len()) {
        return Err(err!(MeshFormat, "a cell refers to point {p} but the mesh has {} points", points.len()));
    }
    // Every point, in order: a scan through the connectivity would jump around memory.
    if let Some(p) = points.iter().position(|p| p[..grid.dim].iter().any(|x| !x.is_finite())) {
        return Err(err!(NonFinite, "point {p} has a non-finite coordinate {:?}", &points[p][..grid.dim]).with_hint("fix or remove the point in the mesh"));
    }
    if !(0..cells.len()).any(|c| kind_of(cells.types[c]).is_some_and(|(d, _, _)| d == grid.dim)) {
        return Err(err!(
            MeshFormat,
            "the mesh has no {}D cells to interpolate in (linear interpolation needs {}{})",
            grid.dim,
            if grid.dim == 2 { "triangles, quads, pixels or polygons" } else { "tetrahedra, hexahedra, voxels, wedges, pyramids or polyhedra" },
            if grid.dim == 2 { ", or 3D cells one layer thick in z" } else { "" }
        )
        .with_hint("use a kernel (nearest, idw, gaussian) for point clouds, or a grid of the mesh's dimension"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newton_inverts_a_skewed_quad_and_hex() {
        let quad = [[0.0, 0.0, 0.0], [2.0, 0.2, 0.0], [2.5, 1.8, 0.0], [-0.3, 1.0, 0.0]];
        let r = [0.3, 0.7, 0.0];
        let q = (0..4).fold([0.0; 3], |acc, i| std::array::from_fn(|a| acc[a] + shape(2, i, &r) * quad[i][a]));
        let got = iso_inverse(2, &quad, &q).unwrap();
        assert!((got[0] - 0.3).abs() < 1e-10 && (got[1] - 0.7).abs() < 1e-10, "{got:?}");
        let hex: Vec<[f64; 3]> = ISO_CORNERS.iter().map(|c| [c[0] + 0.1 * c[2], c[1] * 1.5, c[2] + 0.2 * c[0] * c[1]]).collect();
        let r = [0.2, 0.9, 0.4];
        let q = (0..8).fold([0.0; 3], |acc, i| std::array::from_fn(|a| acc[a] + shape(3, i, &r) * hex[i][a]));
        let got = iso_inverse(3, &hex, &q).unwrap();
        assert!((0..3).all(|a| (got[a] - r[a]).abs() < 1e-10), "{got:?}");
    }

    #[test]
    fn hull_of_a_cube_has_two_triangles_per_face_at_least() {
        let faces = hull_faces(&ISO_CORNERS);
        // 6 faces of 4 coplanar points: all 4 triples of each face.
        assert_eq!(faces.len(), 24);
    }
}
