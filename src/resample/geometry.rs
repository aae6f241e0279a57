//! The cached geometry of a bundle on one mesh, one type per direction: [`ToGrid`] (input
//! locations -> latent grid, as the bundle's `lift` says) and [`ToPoints`] (latent grid -> a point
//! set, as its `query` says). Both are built once from points (or, on a distributed host, from the
//! candidates gathered from every rank, see [`lift_candidates`]) and hold no model: a host rebuilds
//! them when its mesh changes without touching the [`crate::engine::Engine`] that runs the graphs.

use rayon::prelude::*;

use crate::bundle::{LiftFootprint, LiftKind, Manifest, QueryKind};
use crate::err;
use crate::error::Result;
use crate::grid::Grid;
use crate::resample::{gather_grid_neighbours, gather_stencil, Kernel, PointIndex, Resampler, Stencil, DEFAULT_GAUSSIAN_SHARPNESS, PAD};

/// Nodes or points per graph call: bounds the memory of one call at 10^6-point scale.
pub const CHUNK: usize = 1 << 16;

/// Input locations -> latent grid: the neighbour lists (learned lift) or kernel weights of every
/// node, and the coverage channel.
pub struct ToGrid {
    grid: Grid,
    resampler: Resampler,
    kind: LiftKind,
}

impl ToGrid {
    /// The lift geometry of `points` on `grid` per the manifest's `lift`. Points mostly outside
    /// the box are refused ([`Grid::check_covered`]), and so are points that cover no node.
    pub fn new(m: &Manifest, grid: &Grid, points: &[[f64; 3]]) -> Result<ToGrid> {
        ToGrid::with_spacing(m, grid, points, None)
    }

    /// [`ToGrid::new`] with the points' local spacings given (`lift.footprint` adaptive: one per
    /// point, see [`crate::resample::gather_grid_neighbours_adaptive_given`]), for a cloud that is
    /// a subset of the mesh (a distributed host's candidates).
    pub fn with_spacing(m: &Manifest, grid: &Grid, points: &[[f64; 3]], spacing: Option<&[f64]>) -> Result<ToGrid> {
        grid.check_covered(grid.inside_count(points), points.len(), "input points")?;
        let resampler = match (m.lift.kind, spacing) {
            (LiftKind::Kernel, None) => {
                let kernel = Kernel::Gaussian { sharpness: DEFAULT_GAUSSIAN_SHARPNESS };
                Resampler::with_footprint(grid, points, m.lift.neighbours, m.lift.radius, m.lift.footprint, Some(kernel))?
            }
            (LiftKind::Kernel, Some(_)) => return Err(err!(Usage, "local spacings are for the learned lift's adaptive footprint, not a kernel lift")),
            (LiftKind::Learned, spacing) => Resampler::lift_graph(grid, points, m.lift.neighbours, m.lift.radius, m.lift.footprint, spacing)?,
        };
        if resampler.coverage().iter().all(|&c| c == 0.0) {
            return Err(err!(OutsideGrid, "no latent grid node is covered by an input point (lift radius {} spacings)", m.lift.radius)
                .with_hint("the input mesh does not overlap the bundle's grid box; check units and coordinates"));
        }
        Ok(ToGrid { grid: grid.clone(), resampler, kind: m.lift.kind })
    }

    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// The lift's kind (learned graph or kernel weights).
    pub fn kind(&self) -> LiftKind {
        self.kind
    }

    pub fn resampler(&self) -> &Resampler {
        &self.resampler
    }

    /// `[nodes]`: 1 where a node is covered by the input.
    pub fn coverage(&self) -> &[f32] {
        self.resampler.coverage()
    }
}

/// Latent grid -> a point set: the `query` graph's stencils, one per chunk of at most [`CHUNK`]
/// points (the features they gather exist for one chunk at a time), or the points for bi/trilinear
/// interpolation.
pub struct ToPoints {
    grid: Grid,
    at: At,
}

/// How decoded grid frames are evaluated at the points.
pub enum At {
    Learned(Vec<Stencil>),
    Linear(Vec<[f64; 3]>),
}

impl ToPoints {
    pub fn new(m: &Manifest, grid: &Grid, points: &[[f64; 3]]) -> Result<ToPoints> {
        let at = match m.query.kind {
            QueryKind::Learned => At::Learned(points.chunks(CHUNK).map(|chunk| gather_stencil(grid, chunk, m.query.stencil)).collect::<Result<_>>()?),
            QueryKind::Linear => At::Linear(points.to_vec()),
        };
        Ok(ToPoints { grid: grid.clone(), at })
    }

    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    pub fn at(&self) -> &At {
        &self.at
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        match &self.at {
            At::Learned(stencils) => stencils.iter().map(Stencil::len).sum(),
            At::Linear(points) => points.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The lift and evaluation geometry of one input: [`ToGrid`] for its frames, [`ToPoints`] at the
/// same locations (a forecast evaluates its last frames there to lift them again, chaining segments).
pub struct Input {
    pub to_grid: ToGrid,
    pub at_input: ToPoints,
}

impl Input {
    /// See [`ToGrid::new`].
    pub fn new(m: &Manifest, grid: &Grid, points: &[[f64; 3]]) -> Result<Input> {
        Input::with_spacing(m, grid, points, None)
    }

    /// See [`ToGrid::with_spacing`].
    pub fn with_spacing(m: &Manifest, grid: &Grid, points: &[[f64; 3]], spacing: Option<&[f64]>) -> Result<Input> {
        Ok(Input { to_grid: ToGrid::with_spacing(m, grid, points, spacing)?, at_input: ToPoints::new(m, grid, points)? })
    }
}

/// The geometry a task and its final evaluation need: the input (none for generation) and the
/// output points (`None`: the input's locations).
pub struct Geometry {
    pub input: Option<Input>,
    output: Option<ToPoints>,
}

impl Geometry {
    /// Build the cached geometry: neighbour lists of the input locations, stencils of the outputs.
    pub fn new(m: &Manifest, grid: &Grid, input: Option<&[[f64; 3]]>, output: &[[f64; 3]]) -> Result<Geometry> {
        Geometry::with_spacing(m, grid, input, None, output)
    }

    /// [`Geometry::new`] with the input's local spacings given (see [`ToGrid::with_spacing`]).
    pub fn with_spacing(m: &Manifest, grid: &Grid, input: Option<&[[f64; 3]]>, spacing: Option<&[f64]>, output: &[[f64; 3]]) -> Result<Geometry> {
        let same_points = input == Some(output);
        let input = input.map(|points| Input::with_spacing(m, grid, points, spacing)).transpose()?;
        let output = if same_points { None } else { Some(ToPoints::new(m, grid, output)?) };
        Ok(Geometry { input, output })
    }

    /// Evaluation only (a distributed host's other ranks).
    pub fn output_only(m: &Manifest, grid: &Grid, output: &[[f64; 3]]) -> Result<Geometry> {
        Ok(Geometry { input: None, output: Some(ToPoints::new(m, grid, output)?) })
    }

    /// Where predictions are evaluated.
    pub fn output(&self) -> &ToPoints {
        match (&self.output, &self.input) {
            (Some(out), _) | (None, Some(Input { at_input: out, .. })) => out,
            (None, None) => unreachable!("the output is the input's only when there is an input"),
        }
    }
}

/// A distributed host's local part of the rule that picks lift neighbours: the local indices of the
/// *candidates*, ordered by global id: the local points among the `lift.neighbours` nearest (within
/// the lift radius) of some latent grid node. Exact: each node's K nearest points over the whole
/// mesh (ties broken by global id) are among the union of every rank's K nearest.
///
/// `lift.footprint` adaptive keeps the K nearest at any distance (whether a node is covered depends
/// on the whole mesh: the master decides it), in two steps: [`LiftCandidates::new`], then
/// [`LiftCandidates::finish`] with the ranks' bounds on each node's K-th distance.
pub fn lift_candidates(m: &Manifest, grid: &Grid, points: &[[f64; 3]], ids: &[i64]) -> Result<Vec<usize>> {
    let local = LiftCandidates::new(m, grid, points, ids)?;
    match m.lift.footprint {
        LiftFootprint::Radius => Ok(local.finish(grid, None)),
        LiftFootprint::Adaptive => Ok(local.finish(grid, Some(&vec![f64::INFINITY; grid.len()]))),
    }
}

/// A rank's candidates before the ranks agree on bounds (see [`lift_candidates`]).
pub struct LiftCandidates {
    /// Local indices in global-id order (the index's order).
    by_id: Vec<usize>,
    index: Option<PointIndex>,
    k: usize,
    /// Local points (in id order) among some node's K nearest within the radius.
    used: Vec<bool>,
    /// Nodes with fewer than K local points within the radius.
    short: Vec<usize>,
    /// Per node: the squared distance of its K-th nearest local point within the radius (+inf for
    /// a short node). Over the ranks, the least bounds the node's K-th nearest over the mesh.
    pub kth2: Vec<f64>,
}

impl LiftCandidates {
    /// The radius rule's candidates and, per node, the local K-th distance within the radius.
    pub fn new(m: &Manifest, grid: &Grid, points: &[[f64; 3]], ids: &[i64]) -> Result<LiftCandidates> {
        let k = m.lift.neighbours;
        let mut out = LiftCandidates { by_id: vec![], index: None, k, used: vec![], short: vec![], kth2: vec![f64::INFINITY; grid.len()] };
        if points.is_empty() {
            return Ok(out);
        }
        // Index the points in global-id order, so ties fall the way they fall in a serial run.
        out.by_id = (0..points.len()).collect();
        out.by_id.sort_by_key(|&i| ids[i]);
        let sorted: Vec<[f64; 3]> = out.by_id.iter().map(|&i| points[i]).collect();
        let index = PointIndex::new(&sorted, grid)?;
        let neigh = gather_grid_neighbours(&index, grid, k, m.lift.radius, 0..grid.len())?;
        out.used = vec![false; points.len()];
        neigh.index.iter().filter(|&&p| p != PAD).for_each(|&p| out.used[p as usize] = true);
        if k > 0 {
            for (n, row) in neigh.index.chunks(k).enumerate() {
                if row[k - 1] == PAD {
                    out.short.push(n);
                } else {
                    out.kth2[n] = index.dist2(row[k - 1] as usize, &grid.cursor().position(n));
                }
            }
        }
        out.index = Some(index);
        Ok(out)
    }

    /// The candidates: the radius rule's (`bounds` `None`), or every node's K nearest at any
    /// distance, given per node a bound on its K-th nearest squared distance over the mesh (the
    /// least of every rank's [`LiftCandidates::kth2`], +inf when none has K within the radius).
    /// A node with K local points within the radius has them already (the same points, ties
    /// alike); the others search within their bound, which keeps a node far from this rank's part
    /// of the mesh cheap when another rank has its K nearest. Each such search starts from the
    /// average density rather than a running hint: a far node's hint would make the next near node
    /// collect a huge ball.
    pub fn finish(mut self, grid: &Grid, bounds: Option<&[f64]>) -> Vec<usize> {
        let (Some(index), Some(bounds)) = (&self.index, bounds) else {
            return self.by_id.iter().zip(&self.used).filter(|(_, &u)| u).map(|(&i, _)| i).collect();
        };
        let k = self.k;
        let found: Vec<Vec<(u32, f64)>> = self
            .short
            .par_iter()
            .map_init(
                || grid.cursor(),
                |cursor, &n| {
                    let mut out = Vec::with_capacity(k);
                    index.nearest_into(&cursor.position(n), k, bounds[n], &mut out);
                    out
                },
            )
            .collect();
        found.iter().flatten().for_each(|&(p, _)| self.used[p as usize] = true);
        self.by_id.iter().zip(&self.used).filter(|(_, &u)| u).map(|(&i, _)| i).collect()
    }
}
