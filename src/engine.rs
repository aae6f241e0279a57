//! The engine every host runs: a bundle's graphs ([`Graphs`]) with the sampler, the parameters
//! and the noise streams, doing lift, encode, sample, decode and query on a cached geometry
//! ([`crate::resample::geometry`]) that it does not own. Tasks ([`crate::tasks`]) pose their
//! question as observed frames and get [`GridFrames`]; evaluating them at a point set
//! ([`Engine::evaluate_frames`]) is the last step, shared by every host.
//!
//! Built in the style of `ort`'s session builder:
//! `Engine::builder(model).with_sampler(s).with_seed(7).with_members(4).build()?`.
//!
//! Layouts: grid-valued arrays are channel-major `[C][nodes]`; point-valued arrays are point-major
//! `[N][C]`; model tensors are `[B, C, T, (nz,) ny, nx]` with B = 1, or B = the ensemble's members.

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::bundle::{LiftKind, Manifest};
use crate::err;
use crate::error::Result;
use crate::model::Graphs;
use crate::noise::SplitMix64;
use crate::resample::geometry::{At, ToGrid, ToPoints, CHUNK};
use crate::resample::{gather_node_features, interpolate_linear};
use crate::sampler::Sampler;

/// One frame on the latent grid as the decoder returns it: channel-major `[G][nodes]` (G decoder
/// channels, which are the fields' channels when the query is linear).
#[derive(Debug, Clone, PartialEq)]
pub struct GridFrame(pub Vec<f32>);

/// Predicted frames on the latent grid, before evaluation at any point set (hosts may evaluate
/// them elsewhere, e.g. on other MPI ranks): `members[k][i]` is member k's frame at `times[i]`.
#[derive(Debug, Clone)]
pub struct GridFrames {
    pub times: Vec<f64>,
    pub members: Vec<Vec<GridFrame>>,
    /// Segments the model generated (per member; the members run as one batch).
    pub segments: usize,
}

/// One frame at a point set: point-major `[N][C]` (the bundle's fields in channel order, a field's
/// components consecutive), still normalised (see [`crate::fields::Normaliser`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PointFrame(pub Vec<f32>);

/// Predicted frames at a point set: `members[k][i]` is member k's frame at `times[i]`. One member
/// is a plain prediction.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub times: Vec<f64>,
    pub members: Vec<Vec<PointFrame>>,
    pub segments: usize,
}

/// Frames of a segment as a task observes them: frame t lifted onto the grid (`[F][nodes]`, F lift
/// features, as [`Engine::lift`] gives it), or nothing, to generate it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed(Vec<Option<Vec<f32>>>);

impl Observed {
    /// A segment of `frames` frames, none observed.
    pub fn none(frames: usize) -> Observed {
        Observed(vec![None; frames])
    }

    /// Observe frame `t` with its lifted values `[F][nodes]`.
    pub fn set(&mut self, t: usize, lifted: Vec<f32>) {
        self.0[t] = Some(lifted);
    }

    /// Frame `t`'s lifted values, if observed.
    pub fn get(&self, t: usize) -> Option<&[f32]> {
        self.0[t].as_deref()
    }

    pub fn is_observed(&self, t: usize) -> bool {
        self.0[t].is_some()
    }

    /// Frames in the segment.
    pub fn frames(&self) -> usize {
        self.0.len()
    }
}

/// The seeds of an ensemble's members: member 0 uses `seed` itself (so a one-member ensemble is
/// a plain run), member k >= 1 the k-th output of SplitMix64(`seed`). Mixed outputs rather than
/// `seed + k`: neighbouring seeds then share no members, and no member's noise stream is a shifted
/// copy of another's (SplitMix64 seeded with `seed + k * gamma` would be exactly that).
pub fn member_seeds(seed: u64, members: usize) -> Vec<u64> {
    let mut mix = SplitMix64::new(seed);
    (0..members).map(|k| if k == 0 { seed } else { mix.next_u64() }).collect()
}

/// Builds an [`Engine`]; every setting has the bundle's default.
pub struct EngineBuilder {
    graphs: Box<dyn Graphs>,
    sampler: Option<Sampler>,
    params: Option<Vec<f32>>,
    seed: u64,
    members: usize,
    on_step: Option<Box<dyn FnMut() + Send>>,
}

impl EngineBuilder {
    /// ODE method and steps (default: the bundle's, see [`Sampler::with_overrides`]).
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Normalised parameters (see [`crate::tasks::resolve_params`]); `None`: unconditional.
    pub fn with_parameters(mut self, params: Option<Vec<f32>>) -> Self {
        self.params = params;
        self
    }

    /// The seed of the noise (default 0): member k draws from [`member_seeds`]`(seed, n)[k]`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Ensemble members sampled as one batch (default 1).
    pub fn with_members(mut self, members: usize) -> Self {
        self.members = members;
        self
    }

    /// Called after every sampler step of every segment (a progress bar).
    pub fn with_progress(mut self, on_step: impl FnMut() + Send + 'static) -> Self {
        self.on_step = Some(Box::new(on_step));
        self
    }

    pub fn build(self) -> Result<Engine> {
        if self.members == 0 {
            return Err(err!(Usage, "an ensemble needs at least one member"));
        }
        let manifest = self.graphs.manifest().clone();
        let sampler = match self.sampler {
            Some(s) => s,
            None => Sampler::with_overrides(&manifest, None, None, "steps")?,
        };
        let mut engine = Engine { graphs: self.graphs, manifest, sampler, params: None, seed: self.seed, rngs: vec![], on_step: self.on_step };
        engine.set_parameters(self.params)?;
        engine.rngs = member_seeds(self.seed, self.members).into_iter().map(SplitMix64::new).collect();
        Ok(engine)
    }
}

/// A bundle's graphs, sampler, parameters and noise: everything of a run but the geometry.
pub struct Engine {
    graphs: Box<dyn Graphs>,
    manifest: Manifest,
    sampler: Sampler,
    /// Normalised parameters, or `None` for unconditional generation.
    params: Option<Vec<f32>>,
    seed: u64,
    /// One noise stream per ensemble member; they advance with every segment.
    rngs: Vec<SplitMix64>,
    on_step: Option<Box<dyn FnMut() + Send>>,
}

impl Engine {
    pub fn builder(graphs: impl Graphs + 'static) -> EngineBuilder {
        EngineBuilder { graphs: Box::new(graphs), sampler: None, params: None, seed: 0, members: 1, on_step: None }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn graphs(&self) -> &dyn Graphs {
        self.graphs.as_ref()
    }

    pub fn sampler(&self) -> Sampler {
        self.sampler
    }

    pub fn set_sampler(&mut self, sampler: Sampler) {
        self.sampler = sampler;
    }

    pub fn parameters(&self) -> Option<&[f32]> {
        self.params.as_deref()
    }

    /// Normalised parameters, one per the bundle's parameter; `None`: unconditional.
    pub fn set_parameters(&mut self, params: Option<Vec<f32>>) -> Result<()> {
        if let Some(p) = &params {
            if p.len() != self.manifest.parameters.len() {
                return Err(err!(Usage, "expected {} parameter values, got {}", self.manifest.parameters.len(), p.len()));
            }
        }
        self.params = params;
        Ok(())
    }

    /// Restart the noise streams of every member: the same seed and calls give the same results.
    pub fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
        self.rngs = member_seeds(seed, self.rngs.len()).into_iter().map(SplitMix64::new).collect();
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Ensemble members.
    pub fn members(&self) -> usize {
        self.rngs.len()
    }

    /// Sample `members` members from now on (at least one), their noise streams restarted from
    /// the seed as [`Engine::set_seed`] does: a host that changes the ensemble size gets what an
    /// engine built [`EngineBuilder::with_members`] would.
    pub fn set_members(&mut self, members: usize) -> Result<()> {
        if members == 0 {
            return Err(err!(Usage, "an ensemble needs at least one member"));
        }
        self.rngs = member_seeds(self.seed, members).into_iter().map(SplitMix64::new).collect();
        Ok(())
    }

    /// Run `task` so that it either succeeds or leaves the noise streams as they were: a failed
    /// call does not change what the next one draws.
    pub fn atomically<T>(&mut self, task: impl FnOnce(&mut Engine) -> Result<T>) -> Result<T> {
        let saved = self.rngs.clone();
        let out = task(self);
        if out.is_err() {
            self.rngs = saved;
        }
        out
    }

    /// Lift one frame of point-major normalised input values onto the grid: `[F][nodes]`.
    pub fn lift(&mut self, to: &ToGrid, values: &[f32]) -> Result<Vec<f32>> {
        let resampler = to.resampler();
        let channels = self.manifest.channels();
        if to.kind() == LiftKind::Kernel {
            return resampler.to_grid(values, channels);
        }
        let gathered = resampler.lift_values(values, channels)?;
        let neigh = resampler.neighbours().ok_or_else(|| err!(Usage, "the lift graph needs neighbour lists"))?;
        let (nodes, k, d) = (neigh.len(), neigh.k, neigh.dim);
        let features = self.manifest.lift_features();
        let mut out = vec![0f32; features * nodes];
        for start in (0..nodes).step_by(CHUNK) {
            let m = CHUNK.min(nodes - start);
            let values = rows(&gathered, start, &[m, k, channels]);
            let offsets = rows(&neigh.offsets, start, &[m, k, d]);
            let mask = rows(&neigh.mask, start, &[m, k]);
            let f = self.graphs.lift(values, offsets, mask)?;
            check_rows("lift", &f, m * features)?;
            for (i, row) in f.as_slice().expect("contiguous").chunks(features).enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    out[c * nodes + start + i] = v;
                }
            }
        }
        Ok(out)
    }

    /// [`Engine::lift`] of several frames (an ensemble's members), several per lift-graph call
    /// while the rows fit in one chunk: on small grids one call per frame leaves the runtime
    /// mostly idle. The rows are independent, so each frame's features are those of
    /// [`Engine::lift`] up to the round-off of a larger matrix product.
    pub fn lift_many(&mut self, to: &ToGrid, frames: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        let nodes = to.grid().len();
        if frames.len() < 2 || nodes >= CHUNK || to.kind() == LiftKind::Kernel {
            return frames.iter().map(|v| self.lift(to, v)).collect();
        }
        let resampler = to.resampler();
        let channels = self.manifest.channels();
        let neigh = resampler.neighbours().ok_or_else(|| err!(Usage, "the lift graph needs neighbour lists"))?;
        let (k, d, features) = (neigh.k, neigh.dim, self.manifest.lift_features());
        let mut out = Vec::with_capacity(frames.len());
        for group in frames.chunks(CHUNK / nodes) {
            let mut gathered = Vec::with_capacity(group.len() * nodes * k * channels);
            for v in group {
                gathered.extend(resampler.lift_values(v, channels)?);
            }
            let (offsets, mask) = (neigh.offsets.repeat(group.len()), neigh.mask.repeat(group.len()));
            let m = group.len() * nodes;
            let f = self.graphs.lift(rows(&gathered, 0, &[m, k, channels]), rows(&offsets, 0, &[m, k, d]), rows(&mask, 0, &[m, k]))?;
            check_rows("lift", &f, m * features)?;
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

    /// Run one segment for every member as one batch through the graphs, drawing member k's noise
    /// from its own stream. `observed` holds each member's frames (every member observes the same
    /// frames, with its own values), or one entry that all members share (then it is encoded once);
    /// `input` is the geometry they were lifted with (its grid and coverage), needed when any frame
    /// is observed. Returns the decoded frames `[N, G, T, ...]`.
    pub fn segment(&mut self, input: Option<&ToGrid>, observed: &[Observed]) -> Result<ArrayD<f32>> {
        let n = self.rngs.len();
        assert!(observed.len() == 1 || observed.len() == n, "one observation per member, or one shared");
        let m = &self.manifest;
        let slots: Vec<bool> = m.time.slots.iter().map(|frames| frames.iter().all(|&t| observed[0].is_observed(t))).collect();
        let one_shape = self.latent_shape();
        let mut latent = if slots.iter().any(|&s| s) {
            let input = input.ok_or_else(|| err!(Usage, "observed frames need the input geometry they were lifted with"))?;
            let inputs: Vec<ArrayD<f32>> = observed.iter().map(|o| self.encoder_input(input, o)).collect::<Result<_>>()?;
            let views: Vec<_> = inputs.iter().map(|a| a.view()).collect();
            let frames = ndarray::concatenate(ndarray::Axis(0), &views).expect("members' encoder inputs share a shape");
            self.graphs.encode(frames.view())?
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
        let Engine { graphs, sampler, params, rngs, on_step, .. } = self;
        let mut velocity = |z: &ArrayD<f32>, r: f32| graphs.velocity(z, &latent, &slot_mask, r, params.as_deref());
        let z = sampler.sample_batch(&mut velocity, &latent, &slots, rngs, |_| {
            if let Some(f) = on_step.as_mut() {
                f();
            }
        })?;
        self.graphs.decode(z.view())
    }

    /// `[1, Z, S, (lz,) ly, lx]`.
    fn latent_shape(&self) -> Vec<usize> {
        let m = &self.manifest;
        let mut shape = vec![1, m.latent.channels, m.time.slots.len()];
        shape.extend(m.latent.shape.iter().rev());
        shape
    }

    /// `[1, E, T, ...]`: lifted features, then the coverage channel (0 for unobserved frames).
    fn encoder_input(&self, input: &ToGrid, observed: &Observed) -> Result<ArrayD<f32>> {
        let m = &self.manifest;
        let grid = input.grid();
        let (nodes, frames, features) = (grid.len(), m.time.frames, m.lift_features());
        let coverage = input.coverage();
        let mut shape = vec![1, m.encoder_channels(), frames];
        shape.extend(grid.shape[..grid.dim].iter().rev());
        let mut data = vec![0f32; m.encoder_channels() * frames * nodes];
        for t in 0..observed.frames() {
            let Some(frame) = observed.get(t) else { continue };
            for c in 0..features {
                data[(c * frames + t) * nodes..][..nodes].copy_from_slice(&frame[c * nodes..(c + 1) * nodes]);
            }
            if m.latent_grid.coverage_channel {
                data[(features * frames + t) * nodes..][..nodes].copy_from_slice(coverage);
            }
        }
        Ok(ArrayD::from_shape_vec(IxDyn(&shape), data).expect("encoder input shape"))
    }

    /// One grid frame `[G][nodes]` evaluated at the points of `at`: point-major `[N][C]`.
    pub fn evaluate(&mut self, at: &ToPoints, grid_values: &[f32]) -> Result<Vec<f32>> {
        let (channels, g) = (self.manifest.channels(), self.manifest.decoder_channels());
        match at.at() {
            At::Linear(points) => interpolate_linear(at.grid(), grid_values, channels, points),
            At::Learned(stencils) => {
                let mut out = Vec::with_capacity(at.len() * channels);
                for stencil in stencils {
                    let features = gather_node_features(stencil, grid_values, g)?;
                    let (n, k, d) = (stencil.len(), stencil.k, stencil.dim);
                    let values = self.graphs.query(rows(&features, 0, &[n, k, g]), rows(&stencil.offsets, 0, &[n, k, d]))?;
                    check_rows("query", &values, n * channels)?;
                    out.extend(values.iter());
                }
                Ok(out)
            }
        }
    }

    /// [`Engine::evaluate`] of several grid frames (an ensemble's members), several per
    /// query-graph call while the rows fit in one chunk (as in [`Engine::lift_many`]).
    pub fn evaluate_many(&mut self, at: &ToPoints, grids: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        let At::Learned(stencils) = at.at() else {
            return grids.iter().map(|g| self.evaluate(at, g)).collect();
        };
        let (channels, g) = (self.manifest.channels(), self.manifest.decoder_channels());
        let mut out: Vec<Vec<f32>> = grids.iter().map(|_| Vec::with_capacity(at.len() * channels)).collect();
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
                let values = self.graphs.query(rows(&features, 0, &[rows_n, k, g]), rows(&offsets, 0, &[rows_n, k, d]))?;
                check_rows("query", &values, rows_n * channels)?;
                for (j, chunk) in values.as_slice().expect("contiguous").chunks(n * channels).enumerate() {
                    out[c * per_call + j].extend_from_slice(chunk);
                }
            }
        }
        Ok(out)
    }

    /// The last step of every task on every host: the predicted grid frames evaluated at the
    /// points of `at`. Each frame's members are evaluated together (one query call for all members
    /// where they fit); frames are never mixed in one call, so a single member's calls, and so its
    /// numbers, stay those of a plain run.
    pub fn evaluate_frames(&mut self, at: &ToPoints, frames: &GridFrames) -> Result<Prediction> {
        let mut members: Vec<Vec<PointFrame>> = vec![vec![]; frames.members.len()];
        for i in 0..frames.times.len() {
            let grids: Vec<&[f32]> = frames.members.iter().map(|m| m[i].0.as_slice()).collect();
            for (member, values) in members.iter_mut().zip(self.evaluate_many(at, &grids)?) {
                member.push(PointFrame(values));
            }
        }
        Ok(Prediction { times: frames.times.clone(), members, segments: frames.segments })
    }
}

/// `[G][nodes]` of frame `t` of batch member `member` from `[B, G, T, ...]`: one block copy per channel.
pub fn member_frame(decoded: &ArrayD<f32>, member: usize, t: usize) -> GridFrame {
    let (g, frames) = (decoded.shape()[1], decoded.shape()[2]);
    let nodes: usize = decoded.shape()[3..].iter().product();
    let data = decoded.as_slice().expect("graph outputs are contiguous");
    let data = &data[member * g * frames * nodes..];
    GridFrame((0..g).flat_map(|c| &data[(c * frames + t) * nodes..][..nodes]).copied().collect())
}

/// Rows `start..start + shape[0]` of a row-major array whose rows have `shape[1..]`, as a view.
fn rows<'a>(data: &'a [f32], start: usize, shape: &[usize]) -> ArrayViewD<'a, f32> {
    let width: usize = shape[1..].iter().product();
    ArrayViewD::from_shape(IxDyn(shape), &data[start * width..(start + shape[0]) * width]).expect("chunk within array")
}

/// A graph that returns per-row values must return `len` of them.
fn check_rows(graph: &str, out: &ArrayD<f32>, len: usize) -> Result<()> {
    if out.len() != len || out.as_slice().is_none() {
        return Err(err!(Inference, "graph '{graph}' returned shape {:?} ({} values); {len} were expected", out.shape(), out.len()));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;
