//! The API for hosts that own a mesh and a time loop (the OpenFOAM function object through the C++
//! bridge in `cxx-bridge/`): open a bundle once, register the mesh once, push snapshots as the host
//! computes them, forecast or generate, and read results at the host's own locations.
//!
//! Values cross this API in physical units, point-major (`[N][C]`, the bundle's fields in channel
//! order, each field's components consecutive); normalisation is done here.
//!
//! # Serial and distributed hosts
//! A serial host calls [`Surrogate::set_mesh`] and [`Surrogate::push_snapshot`]. A host whose mesh
//! is split over several processes (MPI ranks) implements a [`crate::distributed::Communicator`]
//! (gather to the master, broadcast from it) and calls on every rank [`Surrogate::set_mesh_on`],
//! [`Surrogate::push_snapshot_on`], [`Surrogate::forecast_on`] or [`Surrogate::generate_on`], and
//! [`Surrogate::prediction`] at its own locations ([`crate::distributed`] runs the protocol; the
//! OpenFOAM function object does so over MPI). A serial [`Surrogate::set_mesh`] takes the same path
//! with one rank ([`crate::distributed::SingleRank`]), so serial and distributed runs compute the
//! same numbers: the protocol's per-rank steps and why they are exact are in `host/mesh.rs`. After a
//! forecast or a generation on the master, its decoded frames go to the others (`set_decoded`).
//!
//! # A host next to a solver
//! [`Surrogate::set_schedule`] gives it the solver's time loop ([`crate::schedule`]): which solver
//! times are snapshots, when a forecast is due, which predicted frames a time is compared with
//! ([`crate::monitor`] scores them).
//!
//! # Ensembles
//! [`Surrogate::set_ensemble`] (on every rank) makes forecasts and generations sample N members as
//! one batch, with the CLI's member seeds ([`crate::engine::member_seeds`]: member 0 uses the
//! seed). The master's decoded frames of *every member* go to the other ranks, and each rank
//! evaluates every member at its own points and takes the statistics there, as the CLI's
//! `--ensemble N` does ([`crate::fields::mean_std`]). Broadcasting mean and std grids instead would
//! be smaller, but the query is not linear (a learned query, and a std is never linear), so the
//! numbers would differ from the CLI's; with the members, a rank's values at a point are those of
//! a serial run and of the CLI on the same locations.

use std::collections::VecDeque;
use std::path::Path;

mod mesh;

use crate::bundle::{Bundle, Manifest, SamplerMethod};
use crate::distributed::SingleRank;
use crate::engine::{Engine, GridFrame, GridFrames};
use crate::err;
use crate::error::Result;
use crate::fields::{Normaliser, Series};
use crate::mesh::Association;
use crate::model::Model;
use crate::resample::Geometry;
use crate::runtime::{self, Device};
use crate::sampler::Sampler;
use crate::schedule::{self, Schedule};
// The checks of single settings live with the check of them all; `host::check_settings` stays.
pub use crate::settings::{check_ensemble, check_settings};
use crate::tasks;
pub(crate) use mesh::needs_spacings;
use mesh::{check_len, Cloud, HostMesh};

/// One bundle bound to one host mesh.
pub struct Surrogate {
    pub(crate) bundle: Bundle,
    device: Device,
    threads: Option<usize>,
    engine: Engine,
    normaliser: Normaliser,
    /// The registered mesh and its cached geometry, rebuilt with the mesh; the engine stays.
    pub(crate) mesh: HostMesh,
    /// Recent snapshots on the cloud (normalised, in id order), oldest first.
    history: VecDeque<(f64, Vec<f32>)>,
    /// The last forecast or generated segment: times and decoded grid frames, `frames[k][i]`
    /// member k's frame at `times[i]` (one member without an ensemble).
    times: Vec<f64>,
    frames: Vec<Vec<GridFrame>>,
    /// A host next to a solver: its time loop (the protocol's steps record what succeeded).
    pub(crate) schedule: Option<Schedule>,
}

impl Surrogate {
    /// Open and validate a bundle, load ONNX Runtime (`ort_lib`, else the usual search, see
    /// [`runtime`]) and create its sessions on `device` (`cpu`, `cuda`, `cuda:N`).
    pub fn open(bundle_dir: &Path, device: &str, threads: Option<usize>, ort_lib: Option<&Path>) -> Result<Surrogate> {
        check_settings(device, "", 0, 0, threads.unwrap_or(0))?;
        let device = Device::parse(device)?;
        let bundle = Bundle::open(bundle_dir)?;
        runtime::init(ort_lib, device)?;
        let model = Model::load(bundle.clone(), device, threads)?;
        let normaliser = Normaliser::new(&bundle.manifest);
        Ok(Surrogate {
            device,
            threads,
            engine: Engine::builder(model).build()?,
            normaliser,
            mesh: HostMesh::default(),
            history: VecDeque::new(),
            times: vec![],
            frames: vec![],
            schedule: None,
            bundle,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.bundle.manifest
    }

    /// Sum of the fields' components (values per point).
    pub fn channels(&self) -> usize {
        self.manifest().channels()
    }

    /// The device the sessions run on, as given to [`Surrogate::open`].
    pub fn device(&self) -> Device {
        self.device
    }

    /// Threads per ONNX Runtime session (`None`: ONNX Runtime's default).
    pub fn threads(&self) -> Option<usize> {
        self.threads
    }

    /// ODE steps (0: the bundle's default) and method (`euler`, `midpoint`, `rk4`; empty: the
    /// bundle's default).
    pub fn set_sampler(&mut self, steps: usize, method: &str) -> Result<()> {
        check_settings("cpu", method, steps, 0, 0)?;
        self.engine.set_sampler(Sampler::with_overrides(&self.bundle.manifest, (steps > 0).then_some(steps), SamplerMethod::from_name(method), "steps")?);
        Ok(())
    }

    /// Restart the noise generator: the same seed and calls give the same results.
    pub fn set_seed(&mut self, seed: u64) {
        self.engine.set_seed(seed);
    }

    /// Sample `members` ensemble members (1 ..= 1024; 1: a plain prediction) as one batch in the
    /// following forecasts and generations, with the CLI's member seeds (member 0 uses the seed);
    /// their noise restarts from the seed. Every rank of a distributed host sets the same size.
    pub fn set_ensemble(&mut self, members: usize) -> Result<()> {
        check_ensemble(members, None)?;
        self.engine.set_members(members)?;
        self.times.clear();
        self.frames.clear();
        Ok(())
    }

    /// Ensemble members (1 without an ensemble).
    pub fn ensemble(&self) -> usize {
        self.engine.members()
    }

    /// Condition on PDE parameters (`NAME=VALUE`, checked against the bundle's ranges; parameters
    /// not given take their default). An empty list means unconditional sampling.
    pub fn set_parameters(&mut self, given: &[String]) -> Result<()> {
        self.engine.set_parameters(tasks::resolve_params(&self.bundle.manifest, given)?)
    }

    /// Check that a host's fields (names and components, in order) are the bundle's fields and
    /// its mesh dimension is the bundle's. `dim` is the number of solved directions of the mesh.
    pub fn check_case(&self, names: &[String], components: &[usize], dim: usize) -> Result<()> {
        let m = self.manifest();
        let bundle: Vec<String> = m.fields.iter().map(|f| format!("{} ({} comp.)", f.name, f.components)).collect();
        let host: Vec<String> = names.iter().zip(components).map(|(n, c)| format!("{n} ({c} comp.)")).collect();
        if bundle != host {
            return Err(err!(
                MissingField,
                "bundle '{}' ('{}') has fields [{}], but the case gives [{}]",
                m.name,
                self.bundle.dir.display(),
                bundle.join(", "),
                host.join(", ")
            )
            .with_hint("list the bundle's fields, in the bundle's order, with the same names and components (vectors: one per grid dimension)"));
        }
        if dim != m.latent_grid.dim {
            return Err(err!(MissingField, "bundle '{}' ('{}') is {}D, but the case's mesh is {dim}D", m.name, self.bundle.dir.display(), m.latent_grid.dim)
                .with_hint("use a bundle trained for the case's dimension (2D cases: one cell thick, empty in z)"));
        }
        Ok(())
    }

    /// Serial hosts: register the mesh's sample locations (cell centres or points), once. The
    /// distributed protocol with one rank ([`Surrogate::set_mesh_on`] with [`SingleRank`]).
    pub fn set_mesh(&mut self, points: &[[f64; 3]]) -> Result<()> {
        let ids: Vec<i64> = (0..points.len() as i64).collect();
        self.set_mesh_on(&mut SingleRank, points, &ids)
    }

    /// Number of this rank's candidates (the locations some latent grid node may need).
    pub fn candidate_count(&self) -> Result<usize> {
        self.mesh.candidate_count()
    }

    /// Master: `[nodes]` 1 where a latent grid node is covered by the mesh (the encoder's coverage
    /// channel), in the grid's flat node order; `None` on other ranks or before the mesh is set.
    pub fn coverage(&self) -> Option<&[f32]> {
        self.mesh.coverage()
    }

    /// Master, learned lift: the global ids of every node's lift neighbours (`[nodes][K]`, nearest
    /// first, -1 for padding), to compare a distributed run's lift with a serial one.
    #[doc(hidden)]
    pub fn lift_neighbour_ids(&self) -> Option<Vec<i64>> {
        self.mesh.lift_neighbour_ids()
    }

    /// A host that runs next to a solver from `start` to `end_time`: its time loop, with forecasts
    /// of `horizon` frames (0: one segment) every `interval` (`None`: every `horizon` frames).
    /// From now on [`Surrogate::push_snapshot_on`] and [`Surrogate::forecast_on`] record in it
    /// what succeeded. Every rank sets the same schedule.
    pub fn set_schedule(&mut self, start: f64, end_time: f64, interval: Option<f64>, horizon: usize) -> &Schedule {
        self.schedule.insert(Schedule::new(&self.bundle.manifest.time, start, end_time, interval, horizon))
    }

    /// The time loop set by [`Surrogate::set_schedule`], if any.
    pub fn schedule(&self) -> Option<&Schedule> {
        self.schedule.as_ref()
    }

    /// Stop the time loop: no more snapshots or forecasts (`maxSpread`).
    pub fn stop_schedule(&mut self) {
        if let Some(s) = self.schedule.as_mut() {
            s.stop();
        }
    }

    /// The frames of the last prediction that the solver time `t` is compared with (within half
    /// its time step).
    pub fn frames_at(&self, t: f64, time_step: f64) -> Vec<usize> {
        schedule::frames_at(&self.times, t, time_step)
    }

    /// Serial hosts: a snapshot at `time`, values `[N][C]` at the registered locations
    /// ([`Surrogate::push_snapshot_on`] with [`SingleRank`]).
    pub fn push_snapshot(&mut self, time: f64, values: &[f64]) -> Result<()> {
        self.push_snapshot_on(&mut SingleRank, time, values)
    }

    /// Master: a snapshot at `time`, values `[cloud][C]` in the order given to `set_cloud`.
    /// Keeps the bundle's `context_frames` most recent snapshots.
    pub(crate) fn push_cloud_snapshot(&mut self, time: f64, values: &[f64]) -> Result<()> {
        let cloud = self.mesh.cloud.as_ref().ok_or_else(|| err!(Usage, "this rank holds no cloud: push snapshots on the master (set_cloud)"))?;
        check_len("cloud snapshot values", values.len(), cloud.order.len() * self.channels())?;
        let out = self.normalise_by_id(cloud, time, values)?;
        if let Some((last, _)) = self.history.back() {
            if time <= *last {
                return Err(err!(Usage, "snapshot at time {time} is not after the previous one ({last})"));
            }
        }
        self.history.push_back((time, out));
        while self.history.len() > self.bundle.manifest.time.context_frames {
            self.history.pop_front();
        }
        Ok(())
    }

    /// One snapshot's values on the cloud (`[cloud][C]` in the cloud's order, physical units) in id
    /// order, normalised: what the tasks take. NaN or Inf is an error that names field and time.
    fn normalise_by_id(&self, cloud: &Cloud, time: f64, values: &[f64]) -> Result<Vec<f32>> {
        let c = self.channels();
        let by_id: Vec<f64> = cloud.order.iter().flat_map(|&i| &values[i * c..(i + 1) * c]).copied().collect();
        self.normaliser.normalise_points(&by_id).map_err(|(_, channel, v)| {
            let (f, k) = self.normaliser.field_of(channel);
            err!(NonFinite, "field '{}' is {v} at time {time} (component {k})", self.manifest().fields[f].name)
                .with_hint("the solution holds NaN or Inf; the surrogate cannot use it")
        })
    }

    /// Snapshots held (at most the bundle's context frames).
    pub fn snapshots(&self) -> usize {
        self.history.len()
    }

    /// Forget the snapshots (the mesh and its neighbour structures stay): a host that forecasts
    /// again from the same or an earlier context (a visualisation filter whose settings changed)
    /// pushes it anew.
    pub fn clear_snapshots(&mut self) {
        self.history.clear();
    }

    /// Master: forecast `horizon` frames (0: one segment) after the last snapshot, from the last
    /// `context_frames` snapshots. Returns the number of predicted frames.
    pub fn forecast(&mut self, horizon: usize) -> Result<usize> {
        let t = &self.bundle.manifest.time;
        let (context, frames) = (t.context_frames, t.frames);
        check_settings("cpu", "", 0, horizon, 0)?;
        let horizon = if horizon == 0 { frames - context } else { horizon };
        if self.history.len() < context {
            return Err(err!(Usage, "forecasting needs {context} snapshots (the bundle's context frames); {} were pushed", self.history.len()));
        }
        let cloud = self.mesh.cloud.as_ref().ok_or_else(|| err!(Usage, "this rank holds no cloud: forecast on the master (set_cloud)"))?;
        let series = Series {
            locations: cloud.points.clone(),
            times: self.history.iter().map(|(t, _)| *t).collect(),
            values: self.history.iter().map(|(_, v)| v.clone()).collect(),
            association: Association::Point,
        };
        let out = tasks::forecast(&mut self.engine, self.mesh.input()?, &series, horizon, context)?;
        Ok(self.keep(out))
    }

    /// Master: generate one segment from nothing but the parameters, frames at `t0 + k dt`.
    /// Returns the number of frames.
    pub fn generate(&mut self, t0: f64) -> Result<usize> {
        if self.mesh.cloud.is_none() {
            return Err(err!(Usage, "this rank holds no cloud: generate on the master (set_cloud)"));
        }
        let out = tasks::generate(&mut self.engine, t0)?;
        Ok(self.keep(out))
    }

    /// Keep a task's result as the last prediction (what [`Surrogate::prediction`] and the
    /// broadcast to other ranks read); returns its number of frames.
    fn keep(&mut self, out: GridFrames) -> usize {
        self.times = out.times;
        self.frames = out.members;
        self.times.len()
    }

    /// Times of the frames of the last forecast or generated segment.
    pub fn predicted_times(&self) -> &[f64] {
        &self.times
    }

    /// The decoded frames of the last forecast or generation, every member's, concatenated
    /// member by member, each member's frames in time order (to broadcast).
    pub(crate) fn decoded(&self) -> Vec<f32> {
        self.frames.iter().flatten().flat_map(|f| f.0.iter().copied()).collect()
    }

    /// Ranks other than the master: the master's [`Surrogate::predicted_times`] and
    /// [`Surrogate::decoded`] (of as many members as [`Surrogate::set_ensemble`] set here).
    pub(crate) fn set_decoded(&mut self, times: &[f64], data: &[f32]) -> Result<()> {
        let nodes = self.mesh.grid()?.len();
        let per = nodes * self.bundle.manifest.decoder_channels();
        let members = self.ensemble();
        check_len(&format!("decoded frames ({members} member(s))"), data.len(), members * times.len() * per)?;
        self.times = times.to_vec();
        self.frames = if times.is_empty() || per == 0 {
            vec![vec![GridFrame(vec![]); times.len()]; members]
        } else {
            data.chunks(times.len() * per).map(|m| m.chunks(per).map(|f| GridFrame(f.to_vec())).collect()).collect()
        };
        Ok(())
    }

    fn check_frame(&self, frame: usize) -> Result<()> {
        if frame >= self.times.len() {
            return Err(err!(Usage, "frame {frame} was not predicted ({} frames)", self.times.len()));
        }
        Ok(())
    }

    /// Predicted frame `frame` at this rank's locations: `[N][C]` in physical units. With an
    /// ensemble: member 0, the member whose seed is the seed (a one-member run's prediction, up
    /// to the round-off of the batch).
    pub fn prediction(&mut self, frame: usize) -> Result<Vec<f64>> {
        self.check_frame(frame)?;
        let at = self.mesh.output()?;
        let values = self.engine.evaluate(at, &self.frames[0][frame].0)?;
        Ok(self.normaliser.denormalise_points(&values))
    }

    /// The ensemble's mean and standard deviation (divisor N - 1) of frame `frame` at this rank's
    /// locations, each `[N][C]` in physical units, component by component: every member evaluated
    /// here (as [`crate::engine::Engine::evaluate_frames`] does for the CLI), then
    /// [`crate::fields::mean_std`] per value, so the numbers are the CLI's `--ensemble N` mean and
    /// `_std` at the same locations. One member: its values and zeros.
    pub fn prediction_stats(&mut self, frame: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        self.check_frame(frame)?;
        let at = self.mesh.output()?;
        let grids: Vec<&[f32]> = self.frames.iter().map(|m| m[frame].0.as_slice()).collect();
        let members: Vec<Vec<f64>> = self.engine.evaluate_many(at, &grids)?.iter().map(|v| self.normaliser.denormalise_points(v)).collect();
        let len = members[0].len();
        let (mut mean, mut std) = (vec![0.0; len], vec![0.0; len]);
        let mut column = vec![0.0; members.len()];
        for i in 0..len {
            for (c, m) in column.iter_mut().zip(&members) {
                *c = m[i];
            }
            (mean[i], std[i]) = crate::fields::mean_std(&column);
        }
        Ok((mean, std))
    }
}

/// Serial hosts (a visualisation filter): the tasks that observe more than the context frames, and
/// evaluation at other locations than the registered mesh's (super-resolution). The snapshots are
/// given at once, not pushed ([`Surrogate::push_snapshot`] keeps only the context frames); the
/// results replace the last forecast's ([`Surrogate::predicted_times`], [`Surrogate::prediction`]).
/// A distributed host would gather every rank's candidate values of each snapshot to the master (as
/// [`Surrogate::push_snapshot_on`] does), run the task there and broadcast the decoded frames (as
/// the protocol's `set_decoded` takes them); [`Surrogate::predictions_at`] needs nothing but the
/// decoded frames.
impl Surrogate {
    /// The snapshots (times and values `[N][C]` at the registered locations, physical units) on
    /// the cloud, normalised, in id order: the series the tasks take.
    fn cloud_series(&self, times: &[f64], values: &[Vec<f64>]) -> Result<Series> {
        check_len("snapshot times", times.len(), values.len())?;
        if times.is_empty() {
            return Err(err!(Usage, "no snapshots given"));
        }
        if let Some(w) = times.windows(2).find(|w| w[1] <= w[0]) {
            return Err(err!(Usage, "snapshot at time {} is not after the previous one ({})", w[1], w[0]));
        }
        let cloud = self.mesh.cloud.as_ref().ok_or_else(|| err!(Usage, "no mesh registered: call set_mesh first (a serial host)"))?;
        if !self.mesh.is_serial()? {
            return Err(err!(Usage, "inverse_from and interpolate_from serve serial hosts (set_mesh); this cloud holds other ranks' candidates too"));
        }
        let mut out = Vec::with_capacity(values.len());
        for (time, v) in times.iter().zip(values) {
            // A serial host's cloud is its own candidates: the order indexes them.
            out.push(self.normalise_by_id(cloud, *time, &self.mesh.candidate_values(v, self.channels())?)?);
        }
        Ok(Series { locations: cloud.points.clone(), times: times.to_vec(), values: out, association: Association::Point })
    }

    /// Serial hosts: recover the frames before the snapshots (the CLI's `inverse`): the last
    /// `frames - 1` snapshots are observed at the end of one segment, the frames before them are
    /// generated. Returns the number of frames; [`Surrogate::predicted_times`] are before the first
    /// observed snapshot.
    pub fn inverse_from(&mut self, times: &[f64], values: &[Vec<f64>]) -> Result<usize> {
        let series = self.cloud_series(times, values)?;
        let out = tasks::inverse(&mut self.engine, &self.mesh.input()?.to_grid, &series)?;
        Ok(self.keep(out))
    }

    /// Serial hosts: fill the frames missing between the snapshots (the CLI's `interpolate`): the
    /// snapshots lie in one segment, `(t - t0) / dt` a whole number below the bundle's frames.
    /// Returns the number of frames (the missing ones, in time order).
    pub fn interpolate_from(&mut self, times: &[f64], values: &[Vec<f64>]) -> Result<usize> {
        let series = self.cloud_series(times, values)?;
        let out = tasks::interpolate(&mut self.engine, &self.mesh.input()?.to_grid, &series)?;
        Ok(self.keep(out))
    }

    /// Every predicted frame of the last task at other locations than the registered ones (a
    /// denser mesh: super-resolution), as the CLI's `--query MESH`: `[frames][N][C]`, physical
    /// units. The decoded grid frames are evaluated there; the registered mesh only fixed the grid.
    pub fn predictions_at(&mut self, points: &[[f64; 3]]) -> Result<Vec<f64>> {
        let grid = self.mesh.grid()?;
        if points.is_empty() {
            return Err(err!(MeshFormat, "the query mesh has no points"));
        }
        let at = Geometry::output_only(&self.bundle.manifest, grid, points)?;
        // Member 0: the prediction itself (a one-member run), as the host's other single-valued outputs.
        let mut out = Vec::with_capacity(self.times.len() * points.len() * self.channels());
        for frame in &self.frames[0] {
            let values = self.engine.evaluate(at.output(), &frame.0)?;
            out.extend(self.normaliser.denormalise_points(&values));
        }
        Ok(out)
    }
}
