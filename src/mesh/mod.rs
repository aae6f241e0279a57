//! Meshes with fields, as read from and written to VTK files.
//!
//! A [`Mesh`] is a point set (always stored in 3D; 2D data has z = 0), optional cells and named fields
//! attached to points or cells. Readers live in [`read`], writers in [`write`], the PNG pictures in [`png`] (text in the bitmap [`font`]).

pub mod font;
pub mod png;
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
            return Err(crate::err!(MeshFormat, "'{}': cell offsets do not start at 0, decrease, or do not end at the connectivity length {}",
                source.display(), self.cells.connectivity.len())
                .with_hint("the file is corrupt or truncated; re-export it"));
        }
        if let Some(&bad) = self.cells.connectivity.iter().find(|&&p| p >= n) {
            return Err(crate::err!(MeshFormat, "'{}': cell connectivity refers to point {bad} but the mesh has {n} points", source.display())
                .with_hint("the file is corrupt or truncated; re-export it"));
        }
        for (assoc, count) in [(Association::Point, n), (Association::Cell, self.cells.len())] {
            for f in self.fields(assoc) {
                if f.components == 0 || f.values.len() != count * f.components {
                    return Err(crate::err!(FieldShape,
                        "'{}': {} field '{}' has {} values, expected {} x {} components",
                        source.display(), assoc, f.name, f.values.len(), count, f.components)
                        .with_hint("the file is corrupt or truncated; re-export it"));
                }
            }
        }
        Ok(())
    }
}
