//! Resampling between meshes and the latent grid (docs/bundle-format.md, `lift` and `query`).
//!
//! Layouts: grid-valued arrays are channel-major `values[c * grid.len() + node]` (tensors
//! `[C, (nz,) ny, nx]`); point-valued arrays are point-major `values[p * C + c]`. Coordinates are
//! `[f64; 3]` of which the first `grid.dim` are used.
//!
//! - [`index`]: [`PointIndex`], the k-d tree over the input points (periodic ghosts), built once.
//! - [`gather`]: the `lift` graph's inputs for grid nodes ([`gather_grid_neighbours`],
//!   [`gather_values`]) and the coverage channel.
//! - [`kernel`]: mesh -> grid without a model ([`Kernel`]).
//! - [`linear`]: grid -> points, bi/trilinear or the `query` graph's stencil.
//! - [`Resampler`]: the per-mesh cache tying these together for the per-frame path.

pub mod gather;
pub mod index;
pub mod kernel;
pub mod linear;

pub use gather::{coverage, gather_grid_neighbours, gather_values, Neighbours, PAD};
pub use index::PointIndex;
pub use kernel::{apply_weights, kernel_to_grid, kernel_weights, Kernel, DEFAULT_GAUSSIAN_SHARPNESS};
pub use linear::{gather_node_features, gather_stencil, interpolate_linear, Stencil};

use crate::err;
use crate::error::Result;
use crate::grid::Grid;

/// Everything about mesh -> grid that depends on geometry only: built once per mesh, then used
/// for every frame the model sees.
pub struct Resampler {
    index: PointIndex,
    neighbours: Neighbours,
    coverage: Vec<f32>,
    weights: Option<Vec<f32>>,
}

impl Resampler {
    /// Index `points` and gather the `k` nearest within `radius_spacings` for every node of `grid`.
    /// With a `kernel`, its weights are precomputed too (for [`Resampler::to_grid`]).
    pub fn new(grid: &Grid, points: &[[f64; 3]], k: usize, radius_spacings: f64, kernel: Option<Kernel>) -> Result<Resampler> {
        let index = PointIndex::new(points, grid, radius_spacings)?;
        let neighbours = gather_grid_neighbours(&index, grid, k, radius_spacings, 0..grid.len())?;
        let weights = kernel.map(|kn| kernel_weights(&neighbours, kn)).transpose()?;
        let coverage = coverage(&neighbours);
        Ok(Resampler { index, neighbours, coverage, weights })
    }

    pub fn index(&self) -> &PointIndex {
        &self.index
    }

    /// The neighbours of every grid node (the `lift` graph's `offsets` and `mask`).
    pub fn neighbours(&self) -> &Neighbours {
        &self.neighbours
    }

    /// `[nodes]` 1 where a node has an input point within the radius.
    pub fn coverage(&self) -> &[f32] {
        &self.coverage
    }

    /// The `lift` graph's `values [nodes, K, C]` for one frame of point-major values.
    pub fn lift_values(&self, values: &[f32], channels: usize) -> Result<Vec<f32>> {
        gather_values(&self.neighbours, values, channels)
    }

    /// Kernel interpolation of one frame onto the grid, `[C][nodes]` (0 where uncovered).
    ///
    /// Errors: no kernel given at construction (`Usage`), and those of [`apply_weights`].
    pub fn to_grid(&self, values: &[f32], channels: usize) -> Result<Vec<f32>> {
        let weights = self.weights.as_ref().ok_or_else(|| err!(Usage, "this resampler was built without a kernel"))?;
        apply_weights(&self.neighbours, weights, values, channels)
    }
}
