//! Meshes with fields, as read from and written to VTK files.
//!
//! A [`Mesh`] is a point set (always stored in 3D; 2D data has z = 0), optional cells and named fields
//! attached to points or cells. Readers live in [`read`], writers in [`write`], the PNG pictures in [`png`] (text in the bitmap [`font`]).

pub mod font;
pub mod png;
pub mod probes;
pub mod read;
pub mod write;

use crate::error::Result;

/// Where a field's values live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Association {
    Point,
    Cell,
}

impl std::fmt::Display for Association {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Association::Point => "point",
            Association::Cell => "cell",
        })
    }
}

/// A named field: `values.len() == n * components`, tuple-interleaved (x0 y0 z0 x1 y1 z1 ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub components: usize,
    pub values: Vec<f64>,
}

/// Cells in VTK's flat layout: `offsets[i]..offsets[i+1]` indexes `connectivity` for cell i
/// (`offsets.len() == types.len() + 1`, `offsets[0] == 0`). `types` are VTK cell type ids.
/// For polyhedra (type 42) the connectivity holds the cell's unique point ids only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cells {
    pub connectivity: Vec<usize>,
    pub offsets: Vec<usize>,
    pub types: Vec<u8>,
}

impl Cells {
    pub fn len(&self) -> usize {
        self.types.len()
    }
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }
    /// Point ids of cell `i`.
    pub fn cell(&self, i: usize) -> &[usize] {
        &self.connectivity[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Centre of each cell: the mean of its (unique) points.
    pub fn centres(&self, points: &[[f64; 3]]) -> Vec<[f64; 3]> {
        (0..self.len())
            .map(|i| {
                let ids = self.cell(i);
                let mut c = [0.0; 3];
                for &p in ids {
                    for (sum, x) in c.iter_mut().zip(points[p]) {
                        *sum += x;
                    }
                }
                let n = ids.len().max(1) as f64;
                c.map(|v| v / n)
            })
            .collect()
    }

    /// The mesh as a slab one cell thick along some axis, or `None`. The rule: every cell is 3D,
    /// every point a cell uses lies on one of two planes normal to the axis (within
    /// [`SLAB_TOLERANCE`] of the distance between them, plus 2 float32 ulps of the coordinate),
    /// and every cell has at least 3 points on each plane, as many on one as on the other. Axes are
    /// tried z first, then y, then x (a single cell is a slab along every axis).
    ///
    /// Why: a 2D OpenFOAM case is such a slab, and foamToVTK exports it as hexahedra and prisms;
    /// their cross-sections are the 2D cells the case solves on.
    pub fn slab(&self, points: &[[f64; 3]]) -> Option<Slab> {
        let in_range = self.connectivity.iter().all(|&p| p < points.len());
        if self.is_empty() || !in_range || !self.types.iter().all(|&t| cell_dimension(t) == Some(3)) {
            return None;
        }
        (0..3).rev().find_map(|axis| {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for &p in &self.connectivity {
                lo = lo.min(points[p][axis]);
                hi = hi.max(points[p][axis]);
            }
            // Also refuses NaN coordinates (every comparison fails).
            if !(hi > lo && lo.is_finite() && hi.is_finite()) {
                return None;
            }
            let tol = SLAB_TOLERANCE * (hi - lo) + 2.0 * f64::from(f32::EPSILON) * lo.abs().max(hi.abs());
            let side = |x: f64| {
                if (x - lo).abs() <= tol {
                    Some(false)
                } else if (x - hi).abs() <= tol {
                    Some(true)
                } else {
                    None
                }
            };
            let (u, v) = match axis {
                0 => (1, 2),
                1 => (0, 2),
                _ => (0, 1),
            };
            let mut sections = Cells { offsets: Vec::with_capacity(self.len() + 1), ..Default::default() };
            sections.offsets.push(0);
            let mut low = vec![];
            for c in 0..self.len() {
                low.clear();
                let mut high = 0;
                for &p in self.cell(c) {
                    match side(points[p][axis])? {
                        false => low.push(p),
                        true => high += 1,
                    }
                }
                if low.len() < 3 || high != low.len() {
                    return None;
                }
                // Counter-clockwise around the centroid: cross-sections of CFD cells are convex
                // (star-shaped from the centroid suffices), whatever the 3D cell's point order.
                let n = low.len() as f64;
                let (cu, cv) = low.iter().fold((0.0, 0.0), |(a, b), &p| (a + points[p][u] / n, b + points[p][v] / n));
                let angle = |p: usize| (points[p][v] - cv).atan2(points[p][u] - cu);
                low.sort_by(|&a, &b| angle(a).total_cmp(&angle(b)));
                sections.connectivity.extend_from_slice(&low);
                sections.offsets.push(sections.connectivity.len());
                sections.types.push(match low.len() {
                    3 => 5,
                    4 => 9,
                    _ => 7,
                });
            }
            Some(Slab { axis, planes: [lo, hi], sections })
        })
    }
}

/// Relative tolerance of [`Cells::slab`]: a point is on a face plane of the slab when it is within
/// this share of the slab's thickness of it (plus float32 rounding of the coordinate itself:
/// foamToVTK writes Float32).
pub const SLAB_TOLERANCE: f64 = 1e-3;

/// A mesh one cell thick along one axis, as an OpenFOAM 2D case is (a single layer of hexahedra
/// and prisms between two `empty` patches): see [`Cells::slab`].
#[derive(Debug, Clone, PartialEq)]
pub struct Slab {
    /// The thin axis (0, 1 or 2).
    pub axis: usize,
    /// The slab's two face planes along `axis`.
    pub planes: [f64; 2],
    /// Cell `i`'s cross-section: the polygon of its points on the lower plane (a triangle, quad or
    /// polygon, VTK types 5, 9, 7), counter-clockwise in the other two axes; same cell order as the
    /// mesh, so cell data keeps its index.
    pub sections: Cells,
}

/// Dimension of a VTK cell type (`None` for types without a fixed dimension or unknown ones).
pub fn cell_dimension(cell_type: u8) -> Option<usize> {
    match cell_type {
        1 | 2 => Some(0),
        3 | 4 | 21 | 35 => Some(1),
        5..=9 | 22 | 23 | 28 | 30 | 34 | 36 | 37 => Some(2),
        10..=14 | 24..=27 | 29 | 32 | 33 | 38 | 42 => Some(3),
        _ => None,
    }
}

/// A mesh: points, optional cells, point data and cell data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    pub points: Vec<[f64; 3]>,
    pub cells: Cells,
    pub point_data: Vec<Field>,
    pub cell_data: Vec<Field>,
}

/// One frame of a time series.
#[derive(Debug, Clone)]
pub struct Frame {
    pub time: f64,
    pub mesh: Mesh,
}

impl Mesh {
    /// Centre of each cell: the mean of its (unique) points.
    pub fn cell_centres(&self) -> Vec<[f64; 3]> {
        self.cells.centres(&self.points)
    }

    /// The fields attached to `association`.
    pub fn fields(&self, association: Association) -> &[Field] {
        match association {
            Association::Point => &self.point_data,
            Association::Cell => &self.cell_data,
        }
    }

    /// Find a field by name (exact match).
    pub fn field(&self, association: Association, name: &str) -> Option<&Field> {
        self.fields(association).iter().find(|f| f.name == name)
    }

    /// Sample locations for `association`: points or cell centres.
    pub fn locations(&self, association: Association) -> Vec<[f64; 3]> {
        match association {
            Association::Point => self.points.clone(),
            Association::Cell => self.cell_centres(),
        }
    }

    /// Check internal consistency (cell ids in range, field lengths); readers call this before returning.
    pub fn validate(&self, source: &std::path::Path) -> Result<()> {
        let n = self.points.len();
        if self.cells.offsets.len() != self.cells.types.len() + 1 && !(self.cells.offsets.is_empty() && self.cells.types.is_empty()) {
            return Err(crate::err!(MeshFormat, "'{}': {} cell offsets for {} cells", source.display(), self.cells.offsets.len(), self.cells.types.len())
                .with_hint("the file is corrupt or truncated; re-export it"));
        }
        // `Cells::cell` slices `connectivity` by `offsets`: bad offsets would panic later, not error.
        let offsets = &self.cells.offsets;
        let ordered = offsets.first().map_or(true, |&o| o == 0) && offsets.windows(2).all(|w| w[0] <= w[1]);
        if !ordered || offsets.last().is_some_and(|&o| o != self.cells.connectivity.len()) {
            return Err(crate::err!(
                MeshFormat,
                "'{}': cell offsets do not start at 0, decrease, or do not end at the connectivity length {}",
                source.display(),
                self.cells.connectivity.len()
            )
            .with_hint("the file is corrupt or truncated; re-export it"));
        }
        if let Some(&bad) = self.cells.connectivity.iter().find(|&&p| p >= n) {
            return Err(crate::err!(MeshFormat, "'{}': cell connectivity refers to point {bad} but the mesh has {n} points", source.display())
                .with_hint("the file is corrupt or truncated; re-export it"));
        }
        for (assoc, count) in [(Association::Point, n), (Association::Cell, self.cells.len())] {
            for f in self.fields(assoc) {
                // Checked: a reader may hand over a huge component count from the file with no values.
                if f.components == 0 || count.checked_mul(f.components) != Some(f.values.len()) {
                    return Err(crate::err!(
                        FieldShape,
                        "'{}': {} field '{}' has {} values, expected {} x {} components",
                        source.display(),
                        assoc,
                        f.name,
                        f.values.len(),
                        count,
                        f.components
                    )
                    .with_hint("the file is corrupt or truncated; re-export it"));
                }
            }
        }
        Ok(())
    }
}
