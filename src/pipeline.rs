//! The ECHO pipeline on one geometry: lift frames onto the latent grid, encode, sample the
//! flow-matching ODE, decode, and evaluate the decoded grid at points.
//!
//! Layouts: grid-valued arrays are channel-major `[C][nodes]`; point-valued arrays are point-major
//! `[N][C]`; model tensors are `[B, C, T, (nz,) ny, nx]` with B = 1, or B = the ensemble's members.

use indicatif::ProgressBar;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::bundle::{LiftKind, QueryKind};
use crate::err;
use crate::error::Result;
use crate::grid::Grid;
use crate::model::Model;
use crate::noise::SplitMix64;
use crate::resample::{gather_node_features, gather_stencil, interpolate_linear, Kernel, Resampler, Stencil};
use crate::sampler::Sampler;

/// Nodes or points per graph call: bounds the memory of one call at 10^6-point scale.
const CHUNK: usize = 1 << 16;

/// How decoded grid frames are evaluated at a set of points.
enum Evaluator {
    /// The stencils of the points, one per chunk of at most `CHUNK` points: built once with the
    /// geometry; the features they gather exist for one chunk at a time, so memory stays bounded.
    Learned(Vec<Stencil>),
    Linear(Vec<[f64; 3]>),
}

/// A model bound to one input geometry (optional) and one output point set.
pub struct Pipeline {
    pub model: Model,
    pub grid: Grid,
    input: Option<(Resampler, Evaluator)>,
    /// `None` when the output points are the input points: the input's evaluator serves both.
    output: Option<Evaluator>,
    pub sampler: Sampler,
    /// Normalised parameters, or `None` for unconditional generation.
    pub params: Option<Vec<f32>>,
    pub progress: ProgressBar,
}

impl Pipeline {
    /// Build the cached geometry: neighbour lists of the input locations, stencils of the outputs.
    pub fn new(model: Model, grid: Grid, input: Option<&[[f64; 3]]>, output: &[[f64; 3]], sampler: Sampler) -> Result<Pipeline> {
        let same_points = input == Some(output);
        let m = &model.bundle.manifest;
        let kernel = (m.lift.kind == LiftKind::Kernel).then_some(Kernel::Gaussian { sharpness: crate::resample::DEFAULT_GAUSSIAN_SHARPNESS });
        let input = match input {
            Some(points) => {
                grid.check_covered(grid.inside_count(points), points.len(), "input points")?;
                let resampler = Resampler::with_footprint(&grid, points, m.lift.neighbours, m.lift.radius, m.lift.footprint, kernel)?;
                if resampler.coverage().iter().all(|&c| c == 0.0) {
                    return Err(err!(OutsideGrid, "no latent grid node is covered by an input point (lift radius {} spacings)", m.lift.radius)
                        .with_hint("the input mesh does not overlap the bundle's grid box; check units and coordinates"));
                }
                let eval = evaluator(&model, &grid, points)?;
                Some((resampler, eval))
            }
            None => None,
        };
        let output = if same_points { None } else { Some(evaluator(&model, &grid, output)?) };
        Ok(Pipeline { model, grid, input, output, sampler, params: None, progress: ProgressBar::hidden() })
    }

    fn manifest(&self) -> &crate::bundle::Manifest {
        &self.model.bundle.manifest
    }

    /// Lift one frame of point-major normalised input values onto the grid: `[F][nodes]`.
    pub fn lift(&mut self, values: &[f32]) -> Result<Vec<f32>> {
        let (resampler, _) = self.input.as_ref().ok_or_else(|| err!(Usage, "this pipeline has no input geometry"))?;
        let channels = self.model.bundle.manifest.channels();
        if self.model.bundle.manifest.lift.kind == LiftKind::Kernel {
            return resampler.to_grid(values, channels);
        }
        let gathered = resampler.lift_values(values, channels)?;
        let neigh = resampler.neighbours().ok_or_else(|| err!(Usage, "the lift graph needs neighbour lists"))?;
        let (nodes, k, d) = (neigh.len(), neigh.k, neigh.dim);
        let features = self.manifest().lift_features();
        let mut out = vec![0f32; features * nodes];
        for start in (0..nodes).step_by(CHUNK) {
            let m = CHUNK.min(nodes - start);
            let values = rows(&gathered, start, &[m, k, channels]);
            let offsets = rows(&neigh.offsets, start, &[m, k, d]);
            let mask = rows(&neigh.mask, start, &[m, k]);
            let f = self.model.lift(values, offsets, mask)?;
            for (i, row) in f.as_slice().expect("contiguous").chunks(features).enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    out[c * nodes + start + i] = v;
                }
            }
        }
        Ok(out)
    }

    /// [`Pipeline::lift`] of several frames (an ensemble's members), several per lift-graph call
    /// while the rows fit in one chunk: on small grids one call per frame leaves the runtime
    /// mostly idle. The rows are independent, so each frame's features are those of [`Pipeline::lift`]
    /// up to the round-off of a larger matrix product.
    pub fn lift_many(&mut self, frames: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        let nodes = self.grid.len();
        if frames.len() < 2 || nodes >= CHUNK || self.manifest().lift.kind == LiftKind::Kernel {
            return frames.iter().map(|v| self.lift(v)).collect();
        }
        let (resampler, _) = self.input.as_ref().ok_or_else(|| err!(Usage, "this pipeline has no input geometry"))?;
        let channels = self.model.bundle.manifest.channels();
        let neigh = resampler.neighbours().ok_or_else(|| err!(Usage, "the lift graph needs neighbour lists"))?;
        let (k, d, features) = (neigh.k, neigh.dim, self.manifest().lift_features());
        let mut out = Vec::with_capacity(frames.len());
        for group in frames.chunks(CHUNK / nodes) {
            let mut gathered = Vec::with_capacity(group.len() * nodes * k * channels);
            for v in group {
                gathered.extend(resampler.lift_values(v, channels)?);
            }
            let (offsets, mask) = (neigh.offsets.repeat(group.len()), neigh.mask.repeat(group.len()));
            let m = group.len() * nodes;
            let f = self.model.lift(rows(&gathered, 0, &[m, k, channels]), rows(&offsets, 0, &[m, k, d]), rows(&mask, 0, &[m, k]))?;
            for frame in f.as_slice().expect("contiguous").chunks(nodes * features) {
                let mut grid = vec![0f32; features * nodes];
                for (i, row) in frame.chunks(features).enumerate() {
                    for (c, &v) in row.iter().enumerate() {
                        grid[c * nodes + i] = v;
                    }
                }
                out.push(grid);
            }
        }
        Ok(out)
    }

    /// Run one segment. `observed[t]` holds frame t lifted onto the grid, or `None` to generate it.
    /// Returns the decoded frames `[1, G, T, ...]`.
    pub fn segment(&mut self, observed: &[Option<Vec<f32>>], rng: &mut SplitMix64) -> Result<ArrayD<f32>> {
        self.segment_batch(std::slice::from_ref(&observed.to_vec()), std::slice::from_mut(rng))
    }

    /// Run one segment for an ensemble of `rngs.len()` members as one batch through the graphs.
    /// `observed` holds each member's frames (as in [`Pipeline::segment`]; every member observes
    /// the same frames, with its own values), or one entry that all members share (then it is
    /// encoded once). Member k's noise comes from `rngs[k]`. Returns `[N, G, T, ...]`.
    pub fn segment_batch(&mut self, observed: &[Vec<Option<Vec<f32>>>], rngs: &mut [SplitMix64]) -> Result<ArrayD<f32>> {
        let n = rngs.len();
        assert!(observed.len() == 1 || observed.len() == n, "one observation per member, or one shared");
        let slots: Vec<bool> = self.manifest().time.slots.iter().map(|frames| frames.iter().all(|&t| observed[0][t].is_some())).collect();
        let one_shape = self.latent_shape();
        let mut latent = if slots.iter().any(|&s| s) {
            let inputs: Vec<ArrayD<f32>> = observed.iter().map(|o| self.encoder_input(o)).collect::<Result<_>>()?;
            let views: Vec<_> = inputs.iter().map(|a| a.view()).collect();
            let frames = ndarray::concatenate(ndarray::Axis(0), &views).expect("members' encoder inputs share a shape");
            self.model.encode(frames.view())?
        } else {
            ArrayD::zeros(IxDyn(&one_shape))
        };
        let mut want = one_shape.clone();
        want[0] = latent.shape()[0].max(1);
        if latent.shape() != want.as_slice() || (latent.shape()[0] != 1 && latent.shape()[0] != n) {
            return Err(err!(Inference, "the encoder returned shape {:?}; the manifest implies {want:?}", latent.shape()));
        }
        if latent.shape()[0] != n {
            // One shared observation, encoded once: every member is conditioned on the same latent.
            let mut shape = one_shape.clone();
            shape[0] = n;
            latent = latent.broadcast(IxDyn(&shape)).expect("a batch of one broadcasts").to_owned();
        }
        // Unobserved slots of the conditioning are zero (docs/bundle-format.md).
        for (s, _) in slots.iter().enumerate().filter(|(_, &o)| !o) {
            latent.index_axis_mut(ndarray::Axis(2), s).fill(0.0);
        }
        let slot_mask: Vec<f32> = slots.iter().map(|&o| f32::from(u8::from(o))).collect();
        let params = self.params.clone();
        let (model, progress) = (&mut self.model, &self.progress);
        let mut velocity = |z: &ArrayD<f32>, r: f32| model.velocity(z, &latent, &slot_mask, r, params.as_deref());
        let z = self.sampler.sample_batch(&mut velocity, &latent, &slots, rngs, |_| progress.inc(1))?;
        self.model.decode(z.view())
    }

    /// `[1, Z, S, (lz,) ly, lx]`.
    fn latent_shape(&self) -> Vec<usize> {
        let m = self.manifest();
        let mut shape = vec![1, m.latent.channels, m.time.slots.len()];
        shape.extend(m.latent.shape.iter().rev());
        shape
    }

    /// `[1, E, T, ...]`: lifted features, then the coverage channel (0 for unobserved frames).
    fn encoder_input(&self, observed: &[Option<Vec<f32>>]) -> Result<ArrayD<f32>> {
        let m = self.manifest();
        let (nodes, frames, features) = (self.grid.len(), m.time.frames, m.lift_features());
        let coverage = self.input.as_ref().map(|(r, _)| r.coverage());
        let mut shape = vec![1, m.encoder_channels(), frames];
        shape.extend(self.grid.shape[..self.grid.dim].iter().rev());
        let mut data = vec![0f32; m.encoder_channels() * frames * nodes];
        for (t, frame) in observed.iter().enumerate() {
            let Some(frame) = frame else { continue };
            for c in 0..features {
                data[(c * frames + t) * nodes..][..nodes].copy_from_slice(&frame[c * nodes..(c + 1) * nodes]);
            }
            if let (true, Some(cov)) = (m.latent_grid.coverage_channel, coverage) {
                data[(features * frames + t) * nodes..][..nodes].copy_from_slice(cov);
            }
        }
        Ok(ArrayD::from_shape_vec(IxDyn(&shape), data).expect("encoder input shape"))
    }

    /// Frame `t` of decoded output evaluated at the output points: point-major `[N][C]`.
    pub fn evaluate_output(&mut self, decoded: &ArrayD<f32>, t: usize) -> Result<Vec<f32>> {
        self.evaluate_output_grid(&frame_slice(decoded, t))
    }

    /// [`Pipeline::evaluate_output`] of ensemble member `member` of a batched `decoded`.
    pub fn evaluate_member_output(&mut self, decoded: &ArrayD<f32>, member: usize, t: usize) -> Result<Vec<f32>> {
        self.evaluate_output_grid(&member_frame_slice(decoded, member, t))
    }

    /// One decoded grid frame `[G][nodes]` (see [`frame_slice`]) evaluated at the output points:
    /// point-major `[N][C]`.
    pub fn evaluate_output_grid(&mut self, grid_values: &[f32]) -> Result<Vec<f32>> {
        let eval = match (&self.output, &self.input) {
            (Some(eval), _) | (None, Some((_, eval))) => eval,
            (None, None) => unreachable!("the output shares the input's evaluator only when there is an input"),
        };
        evaluate(&mut self.model, &self.grid, eval, grid_values)
    }

    /// [`Pipeline::evaluate_output_grid`] of several grid frames (an ensemble's members and
    /// frames), several per query-graph call while the rows fit in one chunk (as in
    /// [`Pipeline::lift_many`]).
    pub fn evaluate_output_grids(&mut self, grids: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        let eval = match (&self.output, &self.input) {
            (Some(eval), _) | (None, Some((_, eval))) => eval,
            (None, None) => unreachable!("the output shares the input's evaluator only when there is an input"),
        };
        let Evaluator::Learned(stencils) = eval else {
            return grids.iter().map(|g| evaluate(&mut self.model, &self.grid, eval, g)).collect();
        };
        let m = &self.model.bundle.manifest;
        let (channels, g) = (m.channels(), m.decoder_channels());
        let mut out: Vec<Vec<f32>> = grids.iter().map(|_| Vec::with_capacity(stencils.iter().map(Stencil::len).sum::<usize>() * channels)).collect();
        for stencil in stencils {
            let (n, k, d) = (stencil.len(), stencil.k, stencil.dim);
            let per_call = (CHUNK / n.max(1)).max(1);
            for (c, group) in grids.chunks(per_call).enumerate() {
                let mut features = Vec::with_capacity(group.len() * n * k * g);
                for grid_values in group {
                    features.extend(gather_node_features(stencil, grid_values, g)?);
                }
                let offsets = stencil.offsets.repeat(group.len());
                let rows_n = group.len() * n;
                let values = self.model.query(rows(&features, 0, &[rows_n, k, g]), rows(&offsets, 0, &[rows_n, k, d]))?;
                for (j, chunk) in values.as_slice().expect("contiguous").chunks(n * channels).enumerate() {
                    out[c * per_call + j].extend_from_slice(chunk);
                }
            }
        }
        Ok(out)
    }

    /// Frame `t` of decoded output evaluated at the input locations (to chain segments).
    pub fn evaluate_input(&mut self, decoded: &ArrayD<f32>, t: usize) -> Result<Vec<f32>> {
        self.evaluate_member_input(decoded, 0, t)
    }

    /// [`Pipeline::evaluate_input`] of ensemble member `member` of a batched `decoded`.
    pub fn evaluate_member_input(&mut self, decoded: &ArrayD<f32>, member: usize, t: usize) -> Result<Vec<f32>> {
        let grid_values = member_frame_slice(decoded, member, t);
        let (_, eval) = self.input.as_ref().ok_or_else(|| err!(Usage, "this pipeline has no input geometry"))?;
        evaluate(&mut self.model, &self.grid, eval, &grid_values)
    }
}

/// Rows `start..start + shape[0]` of a row-major array whose rows have `shape[1..]`, as a view.
fn rows<'a>(data: &'a [f32], start: usize, shape: &[usize]) -> ArrayViewD<'a, f32> {
    let width: usize = shape[1..].iter().product();
    ArrayViewD::from_shape(IxDyn(shape), &data[start * width..(start + shape[0]) * width]).expect("chunk within array")
}

/// `[G][nodes]` of frame `t` from `[1, G, T, ...]` (of the first member of a batch).
pub fn frame_slice(decoded: &ArrayD<f32>, t: usize) -> Vec<f32> {
    member_frame_slice(decoded, 0, t)
}

/// `[G][nodes]` of frame `t` of batch member `member` from `[B, G, T, ...]`: one block copy per channel.
pub fn member_frame_slice(decoded: &ArrayD<f32>, member: usize, t: usize) -> Vec<f32> {
    let (g, frames) = (decoded.shape()[1], decoded.shape()[2]);
    let nodes: usize = decoded.shape()[3..].iter().product();
    let data = decoded.as_slice().expect("graph outputs are contiguous");
    let data = &data[member * g * frames * nodes..];
    (0..g).flat_map(|c| &data[(c * frames + t) * nodes..][..nodes]).copied().collect()
}

fn evaluator(model: &Model, grid: &Grid, points: &[[f64; 3]]) -> Result<Evaluator> {
    let m = &model.bundle.manifest;
    Ok(match m.query.kind {
        QueryKind::Learned => {
            let stencils = points.chunks(CHUNK).map(|chunk| gather_stencil(grid, chunk, m.query.stencil)).collect::<Result<_>>()?;
            Evaluator::Learned(stencils)
        }
        QueryKind::Linear => Evaluator::Linear(points.to_vec()),
    })
}

fn evaluate(model: &mut Model, grid: &Grid, eval: &Evaluator, grid_values: &[f32]) -> Result<Vec<f32>> {
    let m = &model.bundle.manifest;
    let (channels, g) = (m.channels(), m.decoder_channels());
    match eval {
        Evaluator::Linear(points) => interpolate_linear(grid, grid_values, channels, points),
        Evaluator::Learned(stencils) => {
            let mut out = Vec::with_capacity(stencils.iter().map(Stencil::len).sum::<usize>() * channels);
            for stencil in stencils {
                let features = gather_node_features(stencil, grid_values, g)?;
                let (n, k, d) = (stencil.len(), stencil.k, stencil.dim);
                out.extend(model.query(rows(&features, 0, &[n, k, g]), rows(&stencil.offsets, 0, &[n, k, d]))?.iter());
            }
            Ok(out)
        }
    }
}
