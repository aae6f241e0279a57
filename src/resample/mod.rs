//! Resampling between meshes and the latent grid (docs/bundle-format.md, `lift` and `query`).
//!
//! Layouts: grid-valued arrays are channel-major `values[c * grid.len() + node]` (tensors
//! `[C, (nz,) ny, nx]`); point-valued arrays are point-major `values[p * C + c]`. Coordinates are
//! `[f64; 3]` of which the first `grid.dim` are used.
//!
//! - [`index`]: [`PointIndex`], the static point locator (uniform bins, periodic-aware), built once.
//! - [`gather`]: the `lift` graph's inputs for grid nodes ([`gather_grid_neighbours`],
//!   [`gather_values`]) and the coverage channel.
//! - [`kernel`]: mesh -> grid by kernels over scattered points ([`Kernel`], [`Footprint`]).
//! - [`cells`]: mesh -> grid by linear interpolation inside the mesh's cells.
//! - [`weights`]: [`Weights`], the sparse mesh -> grid map both produce, and [`Outside`], what
//!   uncovered nodes get.
//! - [`linear`]: grid -> points, bi/trilinear or the `query` graph's stencil, on any slice of
//!   points (chunks bound the memory for 10^6 query points).
//! - [`geometry`]: a bundle's cached geometry on one mesh, [`ToGrid`] and [`ToPoints`] (what the
//!   engine's lift and query need), and the distributed host's [`lift_candidates`].
//! - [`Resampler`]: the per-mesh cache tying these together for the per-frame path: build once
//!   (the expensive, geometry-only part), then [`Resampler::to_grid`] per frame.

pub mod cells;
pub mod gather;
pub mod geometry;
pub mod index;
pub mod kernel;
pub mod linear;
pub mod weights;

pub use cells::{grid_cells, inside_cells, linear_grid_weights};
pub use gather::{
    coverage, gather_grid_neighbours, gather_grid_neighbours_adaptive, gather_grid_neighbours_adaptive_given, gather_grid_neighbours_with, gather_values,
    merge_spacings, nearest_distances2, spacing_probes, spacing_rank, LiftFootprint, Neighbours, Probe, ADAPTIVE_SLACK, PAD, SPACING_FACTOR,
    SPACING_RANK_PER_DIM,
};
pub use geometry::{lift_candidates, Geometry, Input, LiftCandidates, ToGrid, ToPoints, CHUNK};
pub use index::PointIndex;
pub use kernel::{kernel_grid_weights, kernel_grid_weights_inside, kernel_to_grid, Footprint, Kernel, DEFAULT_GAUSSIAN_SHARPNESS};
pub use linear::{gather_node_features, gather_stencil, interpolate_linear, Stencil};
pub use weights::{Outside, Weights};

use crate::err;
use crate::error::Result;
use crate::grid::Grid;
use crate::mesh::{Association, Cells};

/// How mesh values become grid values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResampleMethod {
    /// Linear interpolation inside the mesh's cells (needs cells; see [`cells`]).
    Linear,
    /// A kernel over the points (or cell centres) in each node's footprint.
    Kernel { kernel: Kernel, footprint: Footprint },
}

/// A mesh's geometry as the resampler sees it: points, cells (may be empty for point clouds), and
/// whether the values live on points or cells.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub points: &'a [[f64; 3]],
    pub cells: &'a Cells,
    pub association: Association,
}

enum Lift {
    /// Neighbour lists for the `lift` graph, with their coverage.
    Neighbours(Neighbours, Vec<f32>),
    /// Interpolation weights.
    Weights(Weights),
}

/// Everything about mesh -> grid that depends on geometry only: built once per mesh, then used
/// for every frame (a solver calling the model every step pays the search once).
pub struct Resampler {
    lift: Lift,
    /// Bytes of the search structure used while building (dropped since).
    search_bytes: usize,
}

impl Resampler {
    /// The model path: with a `kernel`, the weights of the `k` closest points within
    /// `radius_spacings` (for [`Resampler::to_grid`]); without, the `k` nearest neighbours of
    /// every node for the `lift` graph ([`Resampler::neighbours`], [`Resampler::lift_values`]).
    pub fn new(grid: &Grid, points: &[[f64; 3]], k: usize, radius_spacings: f64, kernel: Option<Kernel>) -> Result<Resampler> {
        Resampler::with_footprint(grid, points, k, radius_spacings, LiftFootprint::Radius, kernel)
    }

    /// [`Resampler::new`] with the neighbour rule of the bundle's `lift.footprint`.
    ///
    /// Errors (`Usage`): an adaptive footprint with a kernel (the manifest check refuses that
    /// pair: the kernel path has no adaptive rule), and those of [`Resampler::new`].
    pub fn with_footprint(
        grid: &Grid,
        points: &[[f64; 3]],
        k: usize,
        radius_spacings: f64,
        lift_footprint: LiftFootprint,
        kernel: Option<Kernel>,
    ) -> Result<Resampler> {
        let footprint = Footprint::Closest { n: k, radius: radius_spacings };
        if let Some(kernel) = kernel {
            if lift_footprint != LiftFootprint::Radius {
                return Err(err!(Usage, "the adaptive lift footprint needs a learned lift, not a kernel"));
            }
            let source = Source { points, cells: &Cells::default(), association: Association::Point };
            return Resampler::build(grid, &source, ResampleMethod::Kernel { kernel, footprint }, Outside::default());
        }
        Resampler::lift_graph(grid, points, k, radius_spacings, lift_footprint, None)
    }

    /// The `lift` graph's neighbour lists of `points` per `footprint`; an adaptive footprint takes
    /// the points' local spacings from `spacing` when given (one per point, see
    /// [`gather_grid_neighbours_adaptive_given`]), else from the points themselves.
    ///
    /// Errors: `spacing` with the radius footprint or of the wrong length (`Usage`), and those of
    /// [`PointIndex::new`] and the gathers.
    pub fn lift_graph(
        grid: &Grid,
        points: &[[f64; 3]],
        k: usize,
        radius_spacings: f64,
        footprint: LiftFootprint,
        spacing: Option<&[f64]>,
    ) -> Result<Resampler> {
        let index = PointIndex::new(points, grid)?;
        let neighbours = match (footprint, spacing) {
            (LiftFootprint::Adaptive, Some(spacing)) => gather_grid_neighbours_adaptive_given(&index, grid, k, radius_spacings, 0..grid.len(), spacing)?,
            (_, None) => gather_grid_neighbours_with(&index, grid, k, radius_spacings, footprint, 0..grid.len())?,
            (LiftFootprint::Radius, Some(_)) => return Err(err!(Usage, "local spacings are for the adaptive lift footprint, not the radius one")),
        };
        let coverage = coverage(&neighbours);
        Ok(Resampler { lift: Lift::Neighbours(neighbours, coverage), search_bytes: index.bytes() })
    }

    /// Any method, any association, any outside strategy: the weights of every grid node.
    ///
    /// Errors: cell association or linear interpolation on a mesh without cells (`MeshFormat`),
    /// and those of [`PointIndex::new`], [`kernel_grid_weights`], [`linear_grid_weights`].
    pub fn build(grid: &Grid, source: &Source, method: ResampleMethod, outside: Outside) -> Result<Resampler> {
        if source.association == Association::Cell && source.cells.is_empty() {
            return Err(err!(MeshFormat, "cell data needs cells, and the mesh has none").with_hint("resample point data instead"));
        }
        let (weights, search_bytes) = match method {
            // The cell owner of every node (8 bytes each), plus a point index for `Closest`.
            ResampleMethod::Linear => (linear_grid_weights(grid, source.points, source.cells, source.association, outside)?, 8 * grid.len()),
            ResampleMethod::Kernel { kernel, footprint } => {
                let index = match source.association {
                    Association::Point => PointIndex::new(source.points, grid)?,
                    Association::Cell => PointIndex::new(&source.cells.centres(source.points), grid)?,
                };
                // With cells, coverage is the cells' geometry (an obstacle's mask is the obstacle,
                // a coarse far field has no holes); point clouds keep the footprint rule.
                let inside = if source.cells.is_empty() { None } else { inside_cells(grid, source.points, source.cells)? };
                let search = index.bytes() + inside.as_ref().map_or(0, Vec::len);
                (kernel_grid_weights_inside(&index, grid, footprint, kernel, outside, inside.as_deref())?, search)
            }
        };
        Ok(Resampler { lift: Lift::Weights(weights), search_bytes })
    }

    /// The neighbours of every grid node (the `lift` graph's `offsets` and `mask`), when built for
    /// the `lift` graph.
    pub fn neighbours(&self) -> Option<&Neighbours> {
        match &self.lift {
            Lift::Neighbours(n, _) => Some(n),
            Lift::Weights(_) => None,
        }
    }

    /// The interpolation weights, when built with a kernel or method.
    pub fn weights(&self) -> Option<&Weights> {
        match &self.lift {
            Lift::Weights(w) => Some(w),
            Lift::Neighbours(..) => None,
        }
    }

    /// `[nodes]` 1 where a node is covered: inside the mesh's cells when it has cells (any
    /// method), else per the lift footprint (an input point within the radius, or adaptive).
    pub fn coverage(&self) -> &[f32] {
        match &self.lift {
            Lift::Neighbours(_, c) => c,
            Lift::Weights(w) => w.coverage(),
        }
    }

    /// Bytes of cached geometry held (for memory accounting).
    pub fn bytes(&self) -> usize {
        match &self.lift {
            Lift::Neighbours(n, c) => 4 * (n.index.len() + n.offsets.len() + n.mask.len() + c.len()),
            Lift::Weights(w) => w.bytes(),
        }
    }

    /// Bytes of the search structure used while building (point index or cell owners).
    pub fn search_bytes(&self) -> usize {
        self.search_bytes
    }

    /// The `lift` graph's `values [nodes, K, C]` for one frame of point-major values.
    ///
    /// Errors: built with a kernel (`Usage`), and those of [`gather_values`].
    pub fn lift_values(&self, values: &[f32], channels: usize) -> Result<Vec<f32>> {
        let neighbours = self.neighbours().ok_or_else(|| err!(Usage, "this resampler was built with a kernel, not for the lift graph"))?;
        gather_values(neighbours, values, channels)
    }

    /// Interpolation of one frame onto the grid, `[C][nodes]` (uncovered nodes per [`Outside`]).
    ///
    /// Errors: built without a kernel (`Usage`), and those of [`Weights::apply`].
    pub fn to_grid(&self, values: &[f32], channels: usize) -> Result<Vec<f32>> {
        let weights = self.weights().ok_or_else(|| err!(Usage, "this resampler was built without a kernel"))?;
        weights.apply(values, channels)
    }
}
