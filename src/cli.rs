//! The `echo-onnx` command line: argument definitions and the wiring from files to tasks. A host
//! adapter like the C++ bridge: it lives in the binary, so the library (and the C++ static library
//! built on it) links neither clap nor indicatif.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use echo_onnx::bundle::{Bundle, Manifest, SamplerMethod};
use echo_onnx::engine::{Engine, GridFrames, Prediction};
use echo_onnx::err;
use echo_onnx::error::{Error, Result};
use echo_onnx::fields::{self, FieldSelection, Series};
use echo_onnx::grid::{bounding_box, Grid};
use echo_onnx::mesh::write::VtuGeometry;
use echo_onnx::mesh::{self, Association, Field, Mesh};
use echo_onnx::model::Model;
use echo_onnx::output::Staging;
use echo_onnx::resample::{Footprint, Geometry, Input, Kernel, Outside, ResampleMethod, Resampler, Source, DEFAULT_GAUSSIAN_SHARPNESS};
use echo_onnx::runtime::{self, Device};
use echo_onnx::sampler::Sampler;
use echo_onnx::tasks;

#[derive(Debug, Parser)]
#[command(
    name = "echo-onnx",
    version,
    about = "Run ECHO generative neural-operator bundles on unstructured meshes",
    after_help = "Exit codes: 0 ok, 2 usage, 3 bad input data, 4 bad bundle, 5 runtime/device, 6 inference, 7 output/io.\n\
                  Docs: README.md, docs/bundle-format.md"
)]
pub struct Cli {
    /// No progress bars and no summary (errors are still printed).
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Print a machine-readable JSON summary (or error) on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Predict the frames after an input series (the last frames are the observed context).
    #[command(
        after_help = "Example:\n  echo-onnx forecast --bundle onnx/bundles/ns2d-vorticity --input onnx/bundles/ns2d-vorticity/example/input.pvd \\\n      --horizon 32 --out out/forecast"
    )]
    Forecast {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        output: OutputArgs,
        /// Frames to predict (default: one segment). Longer horizons chain segments.
        #[arg(long)]
        horizon: Option<usize>,
        /// Observed frames at the start of each segment (default: the bundle's context_frames).
        #[arg(long)]
        context: Option<usize>,
    },
    /// Recover the frames before an input series (the input is observed at the end of a segment).
    #[command(after_help = "Example:\n  echo-onnx inverse --bundle onnx/bundles/ns2d-vorticity --input late.pvd --out out/inverse")]
    Inverse {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Fill the frames missing between input frames (times on the bundle's dt lattice).
    #[command(after_help = "Example:\n  echo-onnx interpolate --bundle onnx/bundles/ns2d-vorticity --input sparse-in-time.pvd --out out/interp")]
    Interpolate {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Reconstruct the full field at input times from sparse values, e.g. a few probes (an OpenFOAM case
    /// with probes output, or a CSV of points and values; see README): --from says which frames it uses.
    #[command(
        after_help = "Example:\n  echo-onnx reconstruct --bundle onnx/bundles/cylinder-wake --input mycase --param Re=118 \\\n      --query onnx/bundles/cylinder-wake/example/input_0120.vtu --out out/reconstruct"
    )]
    Reconstruct {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        output: OutputArgs,
        /// Reconstruct at these input times (default: every input time that has the frames --from needs).
        #[arg(long, value_name = "T,T,...", allow_hyphen_values = true)]
        times: Option<String>,
        /// Which probe frames rebuild the field at t: `after` (t + dt .. t + k dt, k the frames of the
        /// bundle's last latent slot; t is generated before them, as by inverse: the most accurate in the
        /// README's measurements, and --ensemble gives a spread), `before` (t - dt; t forecast from it),
        /// `same` (t alone, kept fixed by the sampler: no spread).
        #[arg(long, value_enum, default_value = "after")]
        from: FromArg,
    },
    /// Generate a whole segment, unconditionally or conditioned on --param NAME=VALUE.
    #[command(after_help = "Example:\n  echo-onnx generate --bundle onnx/bundles/ns2d-vorticity --param viscosity=1e-4 --grid 128x128 --out out/gen")]
    Generate {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        output: OutputArgs,
        /// Time of the first generated frame.
        #[arg(long, default_value_t = 0.0)]
        t0: f64,
    },
    /// Compare a prediction series with a truth series: relative L2, max abs error, correlation.
    #[command(after_help = "Example:\n  echo-onnx score --prediction out/forecast/prediction.pvd --truth onnx/bundles/ns2d-vorticity/example/truth.pvd")]
    Score(ScoreArgs),
    /// Resample a mesh's fields onto a regular grid and back, without a model.
    #[command(after_help = "Example:\n  echo-onnx resample --input mesh.vtu --grid 128x128 --kernel gaussian --out out/resampled")]
    Resample(ResampleArgs),
    /// Show the ONNX Runtime in use, its execution providers, and validate a bundle.
    #[command(after_help = "Example:\n  echo-onnx doctor --bundle onnx/bundles/ns2d-vorticity")]
    Doctor {
        /// Bundle to validate (manifest, checksums, graph signatures).
        #[arg(long)]
        bundle: Option<PathBuf>,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
}

#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// Execution device: cpu, cuda or cuda:N. CUDA never falls back to CPU silently.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Path of libonnxruntime.so (else ECHO_ORT_LIB, ORT_DYLIB_PATH, the project's .venv, next to the executable).
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
    /// Threads per ONNX Runtime session (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Bundle directory (holds manifest.json).
    #[arg(long, env = "ECHO_BUNDLE")]
    pub bundle: PathBuf,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// ODE steps (default: the bundle's).
    #[arg(long)]
    pub steps: Option<usize>,
    /// ODE method (default: the bundle's).
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Seed of the sampler's noise: the same seed gives the same output on one machine.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Condition on a PDE parameter, NAME=VALUE (repeatable; checked against the bundle's ranges).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    #[command(flatten)]
    pub ensemble: EnsembleArgs,
}

/// Most members one ensemble may have (src/bundle/limits.rs, shared with the host API).
const MAX_ENSEMBLE: usize = *echo_onnx::bundle::limits::ENSEMBLE.end();

#[derive(Debug, Args)]
pub struct EnsembleArgs {
    /// Sample N members as one batch and write, per field and frame, their mean as <field> and
    /// their standard deviation (divisor N - 1) as <field>_std. Member 0 uses --seed, member
    /// k >= 1 the k-th output of SplitMix64(--seed) (--json lists them as sampling.member_seeds).
    /// 1: a single prediction, no statistics.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub ensemble: usize,
    /// Also write these quantiles of the ensemble, each in (0, 1): 0.1,0.9 -> <field>_q10, <field>_q90
    /// (linear between the sorted members, as numpy.quantile). Needs --ensemble 2 or more.
    #[arg(long, value_name = "Q,Q,...")]
    pub quantiles: Option<String>,
    /// Also write every member as its own series, member_NN/prediction.pvd. Needs --ensemble 2 or more.
    #[arg(long)]
    pub members: bool,
}

/// The checked ensemble options.
#[derive(Debug, Clone, Default)]
struct Ensemble {
    size: usize,
    quantiles: Vec<f64>,
    members: bool,
}

fn ensemble_settings(args: &EnsembleArgs) -> Result<Ensemble> {
    if !(1..=MAX_ENSEMBLE).contains(&args.ensemble) {
        return Err(
            err!(Usage, "--ensemble {} must be between 1 and {MAX_ENSEMBLE}", args.ensemble).with_hint("1 is a single prediction; 16 is a usual ensemble")
        );
    }
    let mut quantiles = vec![];
    if let Some(list) = &args.quantiles {
        for item in list.split(',') {
            let q: f64 = item.trim().parse().map_err(|_| err!(Usage, "--quantiles: '{item}' is not a number"))?;
            if !(q > 0.0 && q < 1.0) {
                return Err(err!(Usage, "--quantiles: {q} is outside (0, 1)").with_hint("give quantiles as fractions, e.g. --quantiles 0.1,0.9"));
            }
            let suffix = fields::quantile_suffix(q);
            if quantiles.iter().any(|&o| fields::quantile_suffix(o) == suffix) {
                return Err(err!(Usage, "--quantiles: {q} is given twice (or names the same field, _{suffix}, as another)"));
            }
            quantiles.push(q);
        }
    }
    if args.ensemble == 1 && (!quantiles.is_empty() || args.members) {
        let what = if args.members { "--members" } else { "--quantiles" };
        return Err(err!(Usage, "{what} needs an ensemble").with_hint("add --ensemble N with N >= 2 (e.g. 16)"));
    }
    Ok(Ensemble { size: args.ensemble, quantiles, members: args.members })
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FromArg {
    Same,
    Before,
    After,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MethodArg {
    Euler,
    Midpoint,
    Rk4,
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Input series (.pvd, .series) or single mesh (.vtu, .vtp, .vti, .vtm, .vtk, .msh); or sparse
    /// values (probes): an OpenFOAM case directory with probes output, or a .csv of x,y[,z],fields[,time].
    #[arg(long)]
    pub input: PathBuf,
    /// Read the bundle field BUNDLE_NAME from the input field FILE_NAME (repeatable).
    #[arg(long = "field", value_name = "BUNDLE_NAME=FILE_NAME")]
    pub fields: Vec<String>,
    /// Read point or cell data (default: each field's association in the manifest).
    #[arg(long, value_enum)]
    pub association: Option<AssociationArg>,
    /// Accept input frames whose spacing differs from the bundle's dt.
    #[arg(long)]
    pub ignore_dt: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AssociationArg {
    Point,
    Cell,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output directory (written atomically: complete, or not at all).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace --out if it exists and is an earlier output of echo-onnx (never a directory holding an input).
    #[arg(long)]
    pub force: bool,
    /// Evaluate the prediction at this mesh's points instead of the input's (super-resolution).
    #[arg(long, conflicts_with = "grid")]
    pub query: Option<PathBuf>,
    /// Evaluate the prediction on a regular grid NXxNY[xNZ] over the latent grid's box.
    #[arg(long)]
    pub grid: Option<String>,
    /// Field shown in preview.png (default: the bundle's first field; vectors show their magnitude).
    #[arg(long)]
    pub png_field: Option<String>,
    /// Show only this predicted frame in preview.png (default: several across the horizon).
    #[arg(long)]
    pub png_frame: Option<usize>,
    /// Truth series (.pvd) at some of the predicted times: score the prediction against it (in the
    /// summary and --json) and add truth and error rows to preview.png.
    #[arg(long, value_name = "SERIES")]
    pub truth: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Predicted series (.pvd) or single mesh.
    #[arg(long)]
    pub prediction: PathBuf,
    /// Truth series (.pvd) or single mesh; frames are matched by time, the mesh may differ.
    #[arg(long)]
    pub truth: PathBuf,
    /// Fields to score (default: all of the prediction's fields of the association).
    #[arg(long = "field")]
    pub fields: Vec<String>,
    /// Score point or cell data (default: point data when the prediction has any).
    #[arg(long, value_enum)]
    pub association: Option<AssociationArg>,
    /// Also write score.json and score.png (error against time) into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ResampleArgs {
    /// Input mesh (.vtu, .vtp, .vti, .vtm, .vtk, .msh) or series (.pvd, .series: its first frame).
    #[arg(long)]
    pub input: PathBuf,
    /// Output directory: grid.vti (fields + coverage on the grid) and resampled.vtu (back on points).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace --out if it exists and is an earlier output of echo-onnx (never a directory holding an input).
    #[arg(long)]
    pub force: bool,
    /// Grid nodes per axis, NXxNY[xNZ].
    #[arg(long)]
    pub grid: String,
    /// Grid box XMIN,YMIN[,ZMIN],XMAX,YMAX[,ZMAX] (default: the input's bounding box).
    #[arg(long, allow_hyphen_values = true)]
    pub bbox: Option<String>,
    /// Periodic axes, e.g. "x,y" (the box is then one period).
    #[arg(long, default_value = "")]
    pub periodic: String,
    /// Mesh -> grid method: linear inside the mesh's cells, or a kernel over the points in each
    /// node's footprint: nearest (Voronoi), idw (Shepard), gaussian.
    #[arg(long, value_enum, default_value = "gaussian")]
    pub kernel: KernelArg,
    /// Kernel footprint: the N closest points within --radius, or "all" points within --radius.
    #[arg(long, default_value = "8")]
    pub neighbours: String,
    /// Kernel search radius in grid spacings; "inf" for the N closest at any distance (not gaussian).
    #[arg(long, default_value_t = 2.0)]
    pub radius: f64,
    /// Gaussian sharpness: sigma = radius / sharpness (VTK's Sharpness S is sqrt(2) S here).
    #[arg(long, default_value_t = DEFAULT_GAUSSIAN_SHARPNESS)]
    pub sharpness: f64,
    /// Inverse-distance power.
    #[arg(long, default_value_t = 2.0)]
    pub power: f64,
    /// Grid nodes nothing covers (outside the cells on a mesh with cells, whatever the kernel; no point in
    /// the footprint on a point cloud): mask (0, and coverage 0), null (--null-value), closest (the closest point's value).
    #[arg(long, value_enum, default_value = "mask")]
    pub outside: OutsideArg,
    /// The value of uncovered nodes with --outside null.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub null_value: f32,
    /// Resample point data, or cell data (at cell centres; linear: constant per cell).
    #[arg(long, value_enum, default_value = "point")]
    pub association: AssociationArg,
    /// Fields to resample (default: all fields of the association).
    #[arg(long = "field")]
    pub fields: Vec<String>,
    /// Evaluate the grid back at this mesh's points (cell centres) instead of the input's.
    #[arg(long)]
    pub query: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
pub enum KernelArg {
    Linear,
    Gaussian,
    Idw,
    Nearest,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutsideArg {
    Mask,
    Null,
    Closest,
}

/// What a run did, for people (stderr/stdout) and machines (`--json`).
#[derive(Debug, Serialize, Default)]
pub struct Summary {
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<runtime::RuntimeInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling: Option<SamplingSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phases: Option<Phases>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<echo_onnx::score::Score>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct OutputSummary {
    pub dir: String,
    pub files: Vec<String>,
    pub frames: usize,
    pub points: usize,
    pub times: Vec<f64>,
}

#[derive(Debug, Serialize)]
pub struct SamplingSummary {
    pub method: SamplerMethod,
    pub steps: usize,
    pub seed: u64,
    pub segments: usize,
    pub conditioned: bool,
    /// Members sampled (1: a single prediction).
    #[serde(skip_serializing_if = "is_one")]
    pub ensemble: usize,
    /// Each member's seed (absent for a single prediction, whose seed is `seed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub member_seeds: Vec<u64>,
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

#[derive(Debug, Serialize)]
pub struct Timings {
    pub total_s: f64,
    pub onnx_s: f64,
    pub onnx_calls: usize,
    /// Share of wall time spent outside ONNX Runtime sessions.
    pub outside_onnx_share: f64,
}

/// Wall time of each phase of a model run, in seconds.
#[derive(Debug, Serialize, Default)]
pub struct Phases {
    /// Reading and checking the bundle and the input.
    pub read_s: f64,
    /// Loading ONNX Runtime and creating the sessions.
    pub load_s: f64,
    /// Neighbour search and stencils (the cached geometry).
    pub geometry_s: f64,
    /// The task: lifting, encoding, sampling, decoding, evaluating.
    pub run_s: f64,
    /// Writing the outputs.
    pub write_s: f64,
}

/// Successive lap times.
struct Laps(Instant);

impl Laps {
    fn lap(&mut self) -> f64 {
        let now = Instant::now();
        let dt = (now - self.0).as_secs_f64();
        self.0 = now;
        dt
    }
}

/// Run the parsed command line.
pub fn run(cli: &Cli) -> Result<Summary> {
    let start = Instant::now();
    match &cli.command {
        Command::Doctor { bundle, runtime } => doctor(bundle.as_deref(), runtime),
        Command::Resample(args) => resample(args),
        Command::Score(args) => score(args),
        Command::Forecast { model, input, output, horizon, context } => predict(cli, "forecast", model, Some(input), output, start, |e, g, series, bar| {
            let m = e.manifest().clone();
            let context = context.unwrap_or(m.time.context_frames);
            if let Some(h) = horizon {
                echo_onnx::bundle::limits::check("--horizon", *h, &echo_onnx::bundle::limits::HORIZON).map_err(|e| err!(Usage, "{e}"))?;
            }
            let horizon = horizon.unwrap_or(m.time.frames.saturating_sub(context));
            bar.set_length(tasks::progress_total(e, tasks::forecast_segments(&m, horizon, context.min(m.time.frames - 1))));
            tasks::forecast(e, input_geometry(g)?, series.expect("forecast has input"), horizon, context)
        }),
        Command::Inverse { model, input, output } => {
            predict(cli, "inverse", model, Some(input), output, start, |e, g, s, _| tasks::inverse(e, &input_geometry(g)?.to_grid, s.expect("input")))
        }
        Command::Interpolate { model, input, output } => {
            predict(cli, "interpolate", model, Some(input), output, start, |e, g, s, _| tasks::interpolate(e, &input_geometry(g)?.to_grid, s.expect("input")))
        }
        Command::Reconstruct { model, input, output, times, from } => predict(cli, "reconstruct", model, Some(input), output, start, |e, g, s, bar| {
            let series = s.expect("input");
            let pose = match from {
                FromArg::Same => tasks::Pose::Same,
                FromArg::Before => tasks::Pose::Before,
                FromArg::After => tasks::Pose::After,
            };
            let targets = reconstruct_targets(e.manifest(), series, times.as_deref(), pose, &input.input)?;
            bar.set_length(tasks::progress_total(e, targets.len()));
            tasks::reconstruct(e, &input_geometry(g)?.to_grid, series, &targets, pose)
        }),
        Command::Generate { model, output, t0 } => predict(cli, "generate", model, None, output, start, |e, _, _, _| tasks::generate(e, *t0)),
    }
}

/// The times `reconstruct` rebuilds: `--times` (each an input frame's time, within 1e-6 of its
/// magnitude), or every input time whose frames `pose` needs are all in the input.
fn reconstruct_targets(m: &Manifest, series: &Series, times: Option<&str>, pose: tasks::Pose, path: &Path) -> Result<Vec<f64>> {
    let has_all = |t: f64| pose.needs(m, t).iter().all(|&s| tasks::frame_at(series, s, m.time.dt).is_some());
    let Some(list) = times else {
        let targets: Vec<f64> = series.times.iter().copied().filter(|&t| has_all(t)).collect();
        if targets.is_empty() {
            let (lo, hi) = (series.times[0], series.times[series.times.len() - 1]);
            return Err(err!(
                Usage,
                "'{}': no input time (from t = {lo} to {hi}) has the frames --from {} needs (the bundle's dt is {})",
                path.display(),
                pose.name(),
                m.time.dt
            )
            .with_hint("--from after needs frames at t + dt .. t + k dt, --from before at t - dt: write probes at least every bundle dt, or use --from same"));
        }
        return Ok(targets);
    };
    let mut out = vec![];
    for item in list.split(',') {
        let t: f64 = item.trim().parse().map_err(|_| err!(Usage, "--times: '{item}' is not a number"))?;
        let i = series.times.iter().position(|&s| (s - t).abs() <= 1e-6 * t.abs().max(s.abs()).max(1e-3)).ok_or_else(|| {
            let (lo, hi) = (series.times[0], series.times[series.times.len() - 1]);
            err!(Usage, "--times: '{}' has no frame at t = {t} ({} frames from t = {lo} to {hi})", path.display(), series.times.len())
                .with_hint("give times the input has (an OpenFOAM probes file: its rows' times)")
        })?;
        out.push(series.times[i]);
    }
    Ok(out)
}

fn input_geometry(g: &Geometry) -> Result<&Input> {
    g.input.as_ref().ok_or_else(|| err!(Usage, "this task needs an input"))
}

/// Where predictions are evaluated and how they are written.
enum Target {
    /// The input mesh itself (same points or cells).
    Input(Mesh, Association),
    /// Another mesh's points.
    Query(Mesh),
    /// A regular grid over the latent box.
    Grid(Grid),
}

impl Target {
    fn points(&self, series: Option<&Series>) -> Vec<[f64; 3]> {
        match self {
            Target::Input(_, _) => series.map(|s| s.locations.clone()).unwrap_or_default(),
            Target::Query(mesh) => mesh.points.clone(),
            Target::Grid(grid) => grid.nodes(),
        }
    }
}

/// The shared path of every model task: validate everything, build the pipeline, run `task`,
/// write the outputs atomically.
fn predict(
    cli: &Cli,
    command: &str,
    args: &ModelArgs,
    input: Option<&InputArgs>,
    out: &OutputArgs,
    start: Instant,
    task: impl FnOnce(&mut Engine, &Geometry, Option<&Series>, &ProgressBar) -> Result<GridFrames>,
) -> Result<Summary> {
    let mut laps = Laps(start);
    let mut phases = Phases::default();
    let device = runtime_settings(&args.runtime)?;
    let ensemble = ensemble_settings(&args.ensemble)?;
    let mut reads = input.map(|i| mesh::read::series_files(&i.input)).unwrap_or_default();
    reads.extend([Some(args.bundle.clone()), out.query.clone()].into_iter().flatten());
    reads.extend(out.truth.as_deref().map(mesh::read::series_files).unwrap_or_default());
    let staging = Staging::new(&out.out, out.force, &reads)?;
    let bundle = Bundle::open(&args.bundle)?;
    let m = bundle.manifest.clone();
    let params = tasks::resolve_params(&m, &args.params)?;
    let sampler = sampler_settings(&m, args)?;
    let (series, input_mesh) = match input {
        Some(input) => {
            let (s, mesh) = read_input(input, &m, command != "reconstruct")?;
            (Some(s), Some(mesh))
        }
        None => (None, None),
    };
    // The truth is read before the model runs: a bad file fails in seconds, not after sampling.
    let truth = out.truth.as_deref().map(mesh::read::read_series).transpose()?;
    let grid = bundle.grid(series.as_ref().map(|s| bounding_box(&s.locations)))?;
    let target = output_target(out, &grid, input_mesh, series.as_ref())?;
    if let (Some(input), Some(series)) = (input, series.as_ref()) {
        if mesh::probes::is_sparse(&input.input) {
            check_probes_inside(&input.input, &series.locations, &grid, &target, out.query.as_deref())?;
        }
    }
    let out_points = target.points(series.as_ref());
    phases.read_s = laps.lap();
    let info = runtime::init(args.runtime.ort_lib.as_deref(), device)?;
    let model = Model::load(bundle, device, args.runtime.threads)?;
    phases.load_s = laps.lap();
    let geometry = Geometry::new(&m, &grid, series.as_ref().map(|s| s.locations.as_slice()), &out_points)?;
    phases.geometry_s = laps.lap();
    let bar = progress_bar(cli.quiet || cli.json);
    let step = bar.clone();
    let mut engine = Engine::builder(model)
        .with_sampler(sampler)
        .with_parameters(params.clone())
        .with_seed(args.seed)
        .with_members(ensemble.size)
        .with_progress(move || step.inc(1))
        .build()?;
    let seeds = tasks::member_seeds(args.seed, ensemble.size);
    let mut notes = vec![];
    let unbatched = engine.graphs().batch_of_one();
    if ensemble.size > 1 && !unbatched.is_empty() {
        // Refusing would make ensembles impossible with such a bundle; the members are the same
        // numbers either way, only slower.
        notes.push(format!(
            "the bundle fixes the batch axis of {unbatched:?} at 1: those graphs ran once per member ({} members), not as one batch",
            ensemble.size
        ));
    }
    let frames = task(&mut engine, &geometry, series.as_ref(), &bar)?;
    let prediction = engine.evaluate_frames(geometry.output(), &frames)?;
    bar.finish_and_clear();
    phases.run_s = laps.lap();
    let (files, score) = write_prediction(&staging, &prediction, &target, &m, out, &ensemble, truth.as_deref(), command)?;
    let dir = staging.commit()?;
    phases.write_s = laps.lap();
    let (onnx, calls) = engine.graphs().onnx_time();
    let total = start.elapsed().as_secs_f64();
    Ok(Summary {
        command: command.to_string(),
        bundle: Some(args.bundle.display().to_string()),
        runtime: Some(info.clone()),
        device: Some(args.runtime.device.clone()),
        output: Some(OutputSummary {
            dir: dir.display().to_string(),
            files,
            frames: prediction.times.len(),
            points: out_points.len(),
            times: prediction.times.clone(),
        }),
        sampling: Some(SamplingSummary {
            method: sampler.method,
            steps: sampler.steps,
            seed: args.seed,
            segments: prediction.segments,
            conditioned: params.is_some(),
            ensemble: ensemble.size,
            member_seeds: if ensemble.size > 1 { seeds } else { vec![] },
        }),
        timings: Some(Timings { total_s: total, onnx_s: onnx.as_secs_f64(), onnx_calls: calls, outside_onnx_share: 1.0 - onnx.as_secs_f64() / total }),
        phases: Some(phases),
        score,
        notes,
        ..Default::default()
    })
}

fn sampler_settings(m: &Manifest, args: &ModelArgs) -> Result<Sampler> {
    let method = args.method.map(|m| match m {
        MethodArg::Euler => SamplerMethod::Euler,
        MethodArg::Midpoint => SamplerMethod::Midpoint,
        MethodArg::Rk4 => SamplerMethod::Rk4,
    });
    Sampler::with_overrides(m, args.steps, method, "--steps")
}

/// Read the input series, pick the bundle's fields and check the frame spacing.
/// Reconstruction takes frames at any times (`spacing` false): probes are written every solver step.
fn read_input(input: &InputArgs, m: &Manifest, spacing: bool) -> Result<(Series, Mesh)> {
    let frames = mesh::read::read_series(&input.input)?;
    // Probes are values at points: point data, whatever the bundle's fields' association.
    let sparse = mesh::probes::is_sparse(&input.input);
    let assoc = input.association.map(association).or(sparse.then_some(Association::Point));
    let mut sel = FieldSelection { association: assoc, ..Default::default() };
    for item in &input.fields {
        let (bundle_name, file_name) = item.split_once('=').ok_or_else(|| err!(Usage, "--field '{item}' is not BUNDLE_NAME=FILE_NAME"))?;
        if !m.fields.iter().any(|f| f.name == bundle_name) {
            let names: Vec<&str> = m.fields.iter().map(|f| f.name.as_str()).collect();
            return Err(err!(Usage, "--field {item}: the bundle has no field '{bundle_name}'").with_hint(format!("the bundle's fields are {names:?}")));
        }
        sel.rename.insert(bundle_name.to_string(), file_name.to_string());
    }
    let series = fields::extract(&frames, m, &sel).map_err(|e| e.context(format!("'{}'", input.input.display())))?;
    if spacing && !input.ignore_dt {
        check_spacing(&series.times, m.time.dt, &input.input)?;
    }
    let mesh = frames.into_iter().next().expect("extract checked frames").mesh;
    Ok((series, mesh))
}

/// Probes (sparse inputs) must lie in the latent grid's box and, with `--query`, in the query mesh's
/// bounding box: a probe outside says nothing about the field there, and is most likely a typo or a
/// unit mismatch (mm against m).
fn check_probes_inside(path: &Path, locations: &[[f64; 3]], grid: &Grid, target: &Target, query: Option<&Path>) -> Result<()> {
    let dim = grid.dim;
    // Float32 files (a query .vtu) round coordinates: allow that, and a millionth of the box.
    let slack = |lo: f64, hi: f64| 1e-6 * (hi - lo).abs() + 2.0 * f64::from(f32::EPSILON) * lo.abs().max(hi.abs());
    let outside = |p: &[f64; 3], lo: &[f64; 3], hi: &[f64; 3]| (0..dim).any(|a| p[a] < lo[a] - slack(lo[a], hi[a]) || p[a] > hi[a] + slack(lo[a], hi[a]));
    let show = |v: &[f64]| v[..dim].iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(", ");
    if let Some(i) = locations.iter().position(|p| outside(p, &grid.lo, &grid.hi)) {
        return Err(err!(
            OutsideGrid,
            "'{}': probe {i} at ({}) lies outside the bundle's latent grid box ({}) to ({})",
            path.display(),
            show(&locations[i]),
            show(&grid.lo),
            show(&grid.hi)
        )
        .with_hint("the model knows nothing outside its box: remove the probe, or check the units of the locations"));
    }
    if let (Target::Query(mesh), Some(q)) = (target, query) {
        let (lo, hi) = bounding_box(&mesh.points);
        if let Some(i) = locations.iter().position(|p| outside(p, &lo, &hi)) {
            return Err(err!(
                OutsideGrid,
                "'{}': probe {i} at ({}) lies outside the query mesh '{}' (its bounding box is ({}) to ({}))",
                path.display(),
                show(&locations[i]),
                q.display(),
                show(&lo),
                show(&hi)
            )
            .with_hint("probes and the mesh must be in the same coordinates (and units)"));
        }
    }
    Ok(())
}

/// Consecutive input frames must be a multiple of the bundle's dt apart (1 for a plain series).
fn check_spacing(times: &[f64], dt: f64, path: &Path) -> Result<()> {
    for w in times.windows(2) {
        let k = (w[1] - w[0]) / dt;
        if k < 0.5 || (k - k.round()).abs() > 1e-3 {
            return Err(err!(
                Usage,
                "'{}': frames at t = {} and t = {} are {} apart; the bundle was trained with dt = {dt}",
                path.display(),
                w[0],
                w[1],
                w[1] - w[0]
            )
            .with_hint("give frames spaced by the bundle's dt (or a multiple, for interpolation), or pass --ignore-dt"));
        }
    }
    Ok(())
}

fn association(a: AssociationArg) -> Association {
    match a {
        AssociationArg::Point => Association::Point,
        AssociationArg::Cell => Association::Cell,
    }
}

fn output_target(out: &OutputArgs, grid: &Grid, input_mesh: Option<Mesh>, series: Option<&Series>) -> Result<Target> {
    if let Some(path) = &out.query {
        let mesh = mesh::read::read_mesh(path)?;
        if mesh.points.is_empty() {
            return Err(err!(MeshFormat, "query mesh '{}' has no points", path.display()));
        }
        return Ok(Target::Query(mesh));
    }
    if let Some(spec) = &out.grid {
        return Ok(Target::Grid(grid.with_shape(&parse_shape(spec, grid.dim)?)?));
    }
    match (input_mesh, series) {
        (Some(mesh), Some(s)) => Ok(Target::Input(mesh, s.association)),
        _ => Err(err!(Usage, "there are no input points to predict on").with_hint("pass --query MESH or --grid NXxNY to say where to evaluate the fields")),
    }
}

/// `"128x64"` -> `[128, 64]`, with exactly `dim` entries.
fn parse_shape(spec: &str, dim: usize) -> Result<Vec<usize>> {
    let shape: Option<Vec<usize>> = spec.split('x').map(|s| s.trim().parse().ok()).collect();
    match shape {
        Some(s) if s.len() == dim && s.iter().all(|&n| n >= 2) => Ok(s),
        _ => Err(err!(Usage, "--grid '{spec}' must be {} whole numbers >= 2 joined by 'x' (e.g. {})", dim, if dim == 2 { "256x256" } else { "64x64x64" })),
    }
}

fn progress_bar(hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{prefix}sampling [{bar:30}] {pos}/{len} steps {elapsed}").expect("valid template").progress_chars("=> "));
    bar
}

/// Write one file per frame (in parallel), the .pvd series, and the PNG preview into the staging
/// directory; with a truth, score the prediction against it (the preview then shows it too).
// Every argument is a separate input of the one write step; grouping them belongs to the engine
// redesign (issue 11), which gives tasks typed outputs.
#[allow(clippy::too_many_arguments)]
fn write_prediction(
    staging: &Staging,
    p: &Prediction,
    target: &Target,
    m: &Manifest,
    out: &OutputArgs,
    ensemble: &Ensemble,
    truth: Option<&[mesh::Frame]>,
    command: &str,
) -> Result<(Vec<String>, Option<echo_onnx::score::Score>)> {
    let writer = FrameWriter::new(target);
    let names: Vec<String> = (0..p.times.len()).map(|i| format!("frame_{i:04}.{}", writer.extension())).collect();
    let entries: Vec<(f64, String)> = p.times.iter().copied().zip(names.iter().cloned()).collect();
    let member_dirs: Vec<String> = if ensemble.members { (0..p.members.len()).map(|k| format!("member_{k:02}")).collect() } else { vec![] };
    for dir in &member_dirs {
        std::fs::create_dir(staging.path(dir)).map_err(|e| Error::io("create", &staging.path(dir), e))?;
        mesh::write::write_pvd(&staging.path(&format!("{dir}/prediction.pvd")), &entries)?;
    }
    // Frame by frame: the members' physical fields (f64) exist for one frame at a time, not for the
    // whole ensemble and horizon at once.
    let frame_fields: Vec<Vec<Field>> = (0..p.times.len())
        .into_par_iter()
        .map(|i| {
            let mut members: Vec<Vec<Field>> = p.members.iter().map(|frames| fields::to_fields(&frames[i].0, m)).collect();
            for (dir, fields) in member_dirs.iter().zip(&members) {
                writer.write(&staging.path(&format!("{dir}/{}", names[i])), fields)?;
            }
            Ok(if members.len() == 1 {
                members.swap_remove(0)
            } else {
                fields::ensemble_fields(&members.iter().map(Vec::as_slice).collect::<Vec<_>>(), &ensemble.quantiles)
            })
        })
        .collect::<Result<_>>()?;
    let member_files: Vec<String> = member_dirs.iter().map(|dir| staging.final_path(&format!("{dir}/prediction.pvd")).display().to_string()).collect();
    names.par_iter().zip(&frame_fields).try_for_each(|(name, fields)| writer.write(&staging.path(name), fields))?;
    mesh::write::write_pvd(&staging.path("prediction.pvd"), &entries)?;
    let mut files: Vec<String> = vec![staging.final_path("prediction.pvd").display().to_string()];

    // The prediction as the scorer sees it: the target's geometry, the association written.
    let grid_nodes;
    let no_cells = mesh::Cells::default();
    let (points, cells, assoc) = match target {
        Target::Input(mesh, assoc) => (mesh.points.as_slice(), &mesh.cells, *assoc),
        Target::Query(mesh) => (mesh.points.as_slice(), &mesh.cells, Association::Point),
        Target::Grid(grid) => {
            grid_nodes = grid.nodes();
            (grid_nodes.as_slice(), &no_cells, Association::Point)
        }
    };
    let field_names: Vec<String> = m.fields.iter().map(|f| f.name.clone()).collect();
    let scored = match (truth, &out.truth) {
        (Some(frames), Some(path)) => {
            let pred = echo_onnx::score::View {
                name: staging.final_path("prediction.pvd").display().to_string(),
                points,
                cells,
                association: assoc,
                times: p.times.clone(),
                frames: frame_fields.iter().map(Vec::as_slice).collect(),
            };
            let truth = echo_onnx::score::View::of_frames(&path.display().to_string(), frames, Some(assoc))?;
            let aligned = echo_onnx::score::align(&pred, &truth, &field_names)?;
            let score = echo_onnx::score::score(&pred, &truth, &field_names, &aligned)?;
            Some((aligned, score))
        }
        _ => None,
    };
    let locations = match assoc {
        Association::Point => points.to_vec(),
        Association::Cell => cells.centres(points),
    };
    if !frame_fields.is_empty() {
        let field = out.png_field.clone().unwrap_or_else(|| m.fields[0].name.clone());
        // A derived ensemble field (`vorticity_std`, `vorticity_q90`) has its bundle field's units.
        let units = m.fields.iter().find(|f| field.strip_prefix(f.name.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('_')));
        let units = units.map_or("", |f| f.units.as_str());
        let spread = format!("{field}_std");
        let spec = echo_onnx::preview::Spec {
            command,
            field: &field,
            units,
            frame: out.png_frame,
            // Under a bundle field's mean, its std; a derived field (--png-field vorticity_q90) alone.
            spread: (ensemble.size > 1 && m.fields.iter().any(|f| f.name == field)).then_some((spread.as_str(), ensemble.size)),
        };
        let truth = scored.as_ref().map(|(aligned, _)| (aligned, field_names.as_slice()));
        echo_onnx::preview::write(&staging.path("preview.png"), &locations, &p.times, &frame_fields, truth, &spec)?;
        files.push(staging.final_path("preview.png").display().to_string());
    }
    files.extend(entries.iter().map(|(_, n)| staging.final_path(n).display().to_string()));
    files.extend(member_files);
    Ok((files, scored.map(|(_, s)| s)))
}

/// Writes predicted frames for a target; the mesh geometry is encoded once for the whole series.
enum FrameWriter<'a> {
    Grid(&'a Grid),
    Mesh(VtuGeometry, Association),
}

impl<'a> FrameWriter<'a> {
    fn new(target: &'a Target) -> FrameWriter<'a> {
        match target {
            Target::Grid(grid) => FrameWriter::Grid(grid),
            Target::Input(mesh, assoc) => FrameWriter::Mesh(VtuGeometry::new(mesh), *assoc),
            Target::Query(mesh) => FrameWriter::Mesh(VtuGeometry::new(mesh), Association::Point),
        }
    }

    fn extension(&self) -> &'static str {
        match self {
            FrameWriter::Grid(_) => "vti",
            FrameWriter::Mesh(..) => "vtu",
        }
    }

    fn write(&self, path: &Path, fields: &[Field]) -> Result<()> {
        match self {
            FrameWriter::Grid(grid) => mesh::write::write_vti(path, grid, fields),
            FrameWriter::Mesh(geometry, Association::Point) => geometry.write(path, fields, &[]),
            FrameWriter::Mesh(geometry, Association::Cell) => geometry.write(path, &[], fields),
        }
    }
}

/// The device, once `--device` and `--threads` are checked.
fn runtime_settings(args: &RuntimeArgs) -> Result<Device> {
    let device = Device::parse(&args.device)?;
    if let Some(n) = args.threads {
        echo_onnx::bundle::limits::check("--threads", n, &echo_onnx::bundle::limits::THREADS).map_err(|e| err!(Usage, "{e}"))?;
    }
    Ok(device)
}

fn doctor(bundle: Option<&Path>, args: &RuntimeArgs) -> Result<Summary> {
    let device = runtime_settings(args)?;
    let info = runtime::init(args.ort_lib.as_deref(), device)?;
    let mut summary = Summary {
        command: "doctor".into(),
        runtime: Some(info.clone()),
        device: Some(args.device.clone()),
        providers: runtime::available_providers().iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    if let Some(dir) = bundle {
        let b = Bundle::open(dir)?;
        let m = b.manifest.clone();
        Model::load(b, device, args.threads)?; // creates every session and checks its signature
        summary.bundle = Some(dir.display().to_string());
        summary.notes.push(describe_bundle(&m));
    }
    Ok(summary)
}

fn describe_bundle(m: &Manifest) -> String {
    let fields: Vec<String> = m.fields.iter().map(|f| format!("{} ({} comp.)", f.name, f.components)).collect();
    let params: Vec<String> =
        m.parameters.iter().map(|p| format!("{} in [{}, {}]{}", p.name, p.min, p.max, if p.scale.is_linear() { "" } else { " (log scale)" })).collect();
    format!(
        "bundle '{}' is valid: fields {}; {}D latent grid {:?}, latent {}x{:?} over {} slots; {} frames per segment, dt {}; lift {:?}, query {:?}; parameters [{}]; sampler {:?} x {}",
        m.name, fields.join(", "), m.latent_grid.dim, m.latent_grid.shape, m.latent.channels, m.latent.shape, m.time.slots.len(),
        m.time.frames, m.time.dt, m.lift.kind, m.query.kind, params.join(", "), m.sampler.method, m.sampler.steps
    )
}

/// `resample`: mesh -> grid -> points (or cell centres), no model. Phase timings (geometry,
/// to grid, back) exclude file I/O and go to the notes.
fn resample(args: &ResampleArgs) -> Result<Summary> {
    let start = Instant::now();
    let mut reads = mesh::read::series_files(&args.input);
    reads.extend(args.query.clone());
    let staging = Staging::new(&args.out, args.force, &reads)?;
    let mesh = mesh::read::read_series(&args.input)?.into_iter().next().ok_or_else(|| err!(MeshFormat, "'{}' holds no frames", args.input.display()))?.mesh;
    let assoc = association(args.association);
    let selected: Vec<&Field> = if args.fields.is_empty() {
        mesh.fields(assoc).iter().collect()
    } else {
        args.fields
            .iter()
            .map(|n| mesh.field(assoc, n).ok_or_else(|| err!(MissingField, "'{}' has no {assoc} field '{n}'", args.input.display())))
            .collect::<Result<_>>()?
    };
    if selected.is_empty() {
        return Err(err!(MissingField, "'{}' has no {assoc} data to resample", args.input.display()).with_hint("try --association cell or point"));
    }
    let grid = resample_grid(args, &mesh)?;
    let query = args.query.as_deref().map(mesh::read::read_mesh).transpose()?;
    let back_mesh = query.as_ref().unwrap_or(&mesh);
    if assoc == Association::Cell && back_mesh.cells.is_empty() {
        return Err(err!(MeshFormat, "cell data goes back to cell centres, and the query mesh has no cells").with_hint("use --association point"));
    }
    let back_at = back_mesh.locations(assoc);
    // The resampler refuses NaN/Inf too (in f32, which it computes in), but knows neither the
    // file nor the field; check first, before the geometry is built.
    for field in &selected {
        if let Some(i) = field.values.iter().position(|&v| !(v as f32).is_finite()) {
            let (p, c, v) = (i / field.components.max(1), i % field.components.max(1), field.values[i]);
            let beyond = if v.is_finite() { ", beyond single precision" } else { "" };
            return Err(err!(NonFinite, "'{}': field '{}' is {v:?}{beyond} at {assoc} {p}, component {c}", args.input.display(), field.name)
                .with_hint("resampling needs finite values: fix the field, or name the other fields with --field"));
        }
    }

    let t = Instant::now();
    let source = Source { points: &mesh.points, cells: &mesh.cells, association: assoc };
    let resampler = Resampler::build(&grid, &source, resample_method(args)?, resample_outside(args))?;
    let (build_s, mut to_grid_s, mut back_s) = (t.elapsed().as_secs_f64(), 0.0, 0.0);
    let mut grid_fields = vec![];
    let mut back_fields = vec![];
    for field in selected {
        let values: Vec<f32> = field.values.iter().map(|&v| v as f32).collect();
        let t = Instant::now();
        let on_grid = resampler.to_grid(&values, field.components)?;
        to_grid_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let back = echo_onnx::resample::interpolate_linear(&grid, &on_grid, field.components, &back_at)?;
        back_s += t.elapsed().as_secs_f64();
        grid_fields.push(grid_field(&field.name, field.components, &on_grid, grid.len()));
        back_fields.push(Field { name: field.name.clone(), components: field.components, values: back.iter().map(|&v| f64::from(v)).collect() });
    }
    grid_fields.push(Field { name: "coverage".into(), components: 1, values: resampler.coverage().iter().map(|&v| f64::from(v)).collect() });
    mesh::write::write_vti(&staging.path("grid.vti"), &grid, &grid_fields)?;
    let mut back = Mesh { points: back_mesh.points.clone(), cells: back_mesh.cells.clone(), ..Default::default() };
    match assoc {
        Association::Point => back.point_data = back_fields,
        Association::Cell => back.cell_data = back_fields,
    }
    mesh::write::write_vtu(&staging.path("resampled.vtu"), &back)?;
    let files = vec![staging.final_path("grid.vti").display().to_string(), staging.final_path("resampled.vtu").display().to_string()];
    let dir = staging.commit()?;
    let covered = resampler.coverage().iter().filter(|&&c| c > 0.0).count();
    Ok(Summary {
        command: "resample".into(),
        output: Some(OutputSummary { dir: dir.display().to_string(), files, frames: 1, points: back_at.len(), times: vec![0.0] }),
        timings: Some(Timings { total_s: start.elapsed().as_secs_f64(), onnx_s: 0.0, onnx_calls: 0, outside_onnx_share: 1.0 }),
        notes: vec![
            format!("phases (s, no file I/O): build {build_s:.6}, to_grid {to_grid_s:.6}, back {back_s:.6}"),
            format!("coverage: {covered} of {} grid nodes; cached weights: {} bytes", grid.len(), resampler.bytes()),
        ],
        ..Default::default()
    })
}

/// `score`: a prediction series against a truth series, no model. With `--out`, score.json (what
/// `--json` prints under "score") and score.png (relative L2 error against time, one line per field).
fn score(args: &ScoreArgs) -> Result<Summary> {
    let start = Instant::now();
    let mut reads = mesh::read::series_files(&args.prediction);
    reads.extend(mesh::read::series_files(&args.truth));
    let staging = args.out.as_deref().map(|o| Staging::new(o, args.force, &reads)).transpose()?;
    let pred_frames = mesh::read::read_series(&args.prediction)?;
    let truth_frames = mesh::read::read_series(&args.truth)?;
    let pred = echo_onnx::score::View::of_frames(&args.prediction.display().to_string(), &pred_frames, args.association.map(association))?;
    let truth = echo_onnx::score::View::of_frames(&args.truth.display().to_string(), &truth_frames, Some(pred.association))?;
    let names: Vec<String> = if args.fields.is_empty() { pred.frames[0].iter().map(|f| f.name.clone()).collect() } else { args.fields.clone() };
    let aligned = echo_onnx::score::align(&pred, &truth, &names)?;
    let score = echo_onnx::score::score(&pred, &truth, &names, &aligned)?;
    let times: Vec<f64> = score.frames.iter().map(|f| f.time).collect();
    let output = match staging {
        None => None,
        Some(staging) => {
            let json = serde_json::to_string_pretty(&score).expect("a score serialises");
            let path = staging.path("score.json");
            std::fs::write(&path, json + "\n").map_err(|e| Error::io("write", &path, e))?;
            let curves: Vec<mesh::png::Curve> = names
                .iter()
                .enumerate()
                .map(|(n, name)| mesh::png::Curve {
                    name: name.clone(),
                    points: score.frames.iter().filter_map(|f| f.fields[n].rel_l2.map(|e| (f.time, e))).collect(),
                })
                .collect();
            mesh::png::write_line_plot(
                &staging.path("score.png"),
                "prediction against truth",
                "time t (as in the .pvd timesteps)",
                "relative L2 error ||p - t|| / ||t|| (dimensionless)",
                &curves,
            )?;
            let files = vec![staging.final_path("score.json").display().to_string(), staging.final_path("score.png").display().to_string()];
            let dir = staging.commit()?;
            Some(OutputSummary {
                dir: dir.display().to_string(),
                files,
                frames: times.len(),
                points: pred.frames[0].first().map_or(0, |f| f.values.len() / f.components),
                times,
            })
        }
    };
    let total = start.elapsed().as_secs_f64();
    Ok(Summary {
        command: "score".into(),
        output,
        timings: Some(Timings { total_s: total, onnx_s: 0.0, onnx_calls: 0, outside_onnx_share: 1.0 }),
        score: Some(score),
        ..Default::default()
    })
}

/// The `resample` grid: `--grid` shape, `--bbox` or the input's bounding box, `--periodic` axes.
fn resample_grid(args: &ResampleArgs, mesh: &Mesh) -> Result<Grid> {
    let dim = args.grid.split('x').count();
    let (lo, hi) = match &args.bbox {
        None => bounding_box(&mesh.points),
        Some(spec) => {
            let v: Option<Vec<f64>> = spec.split(',').map(|s| s.trim().parse().ok()).collect();
            match v {
                Some(v) if v.len() == 2 * dim => {
                    (std::array::from_fn(|a| if a < dim { v[a] } else { 0.0 }), std::array::from_fn(|a| if a < dim { v[dim + a] } else { 0.0 }))
                }
                _ => return Err(err!(Usage, "--bbox '{spec}' must be {} numbers: the minimum then the maximum corner", 2 * dim)),
            }
        }
    };
    let periodic: Vec<bool> = (0..dim).map(|a| args.periodic.split(',').any(|s| s.trim() == ["x", "y", "z"][a.min(2)])).collect();
    Grid::new(&parse_shape(&args.grid, dim)?, &lo[..dim], &hi[..dim], &periodic)
}

fn resample_method(args: &ResampleArgs) -> Result<ResampleMethod> {
    let kernel = match args.kernel {
        KernelArg::Linear => return Ok(ResampleMethod::Linear),
        KernelArg::Gaussian => Kernel::Gaussian { sharpness: args.sharpness },
        KernelArg::Idw => Kernel::InverseDistance { power: args.power },
        KernelArg::Nearest => Kernel::Nearest,
    };
    let footprint = match args.neighbours.trim() {
        "all" => Footprint::Radius(args.radius),
        n => Footprint::Closest { n: n.parse().map_err(|_| err!(Usage, "--neighbours '{n}' must be a whole number or 'all'"))?, radius: args.radius },
    };
    Ok(ResampleMethod::Kernel { kernel, footprint })
}

fn resample_outside(args: &ResampleArgs) -> Outside {
    match args.outside {
        OutsideArg::Mask => Outside::Null(0.0),
        OutsideArg::Null => Outside::Null(args.null_value),
        OutsideArg::Closest => Outside::Closest,
    }
}

/// A channel-major `[C][nodes]` grid array as a tuple-interleaved field.
fn grid_field(name: &str, components: usize, values: &[f32], nodes: usize) -> Field {
    let mut data = Vec::with_capacity(values.len());
    for n in 0..nodes {
        for c in 0..components {
            data.push(f64::from(values[c * nodes + n]));
        }
    }
    Field { name: name.to_string(), components, values: data }
}

/// Print the summary for people.
pub fn print_summary(s: &Summary) {
    if let Some(rt) = &s.runtime {
        println!("ONNX Runtime {} ({}, found via {})", rt.version, rt.path.display(), rt.source);
    }
    if !s.providers.is_empty() {
        println!("execution providers: {}", s.providers.join(", "));
    }
    for note in &s.notes {
        println!("{note}");
    }
    if let Some(o) = &s.output {
        println!("{}: wrote {} frame(s) at {} point(s) to {}", s.command, o.frames, o.points, o.dir);
        for f in o.files.iter().take(2) {
            println!("  {f}");
        }
    }
    if let (Some(sm), Some(t)) = (&s.sampling, &s.timings) {
        let members = if sm.ensemble > 1 { format!(", ensemble of {}", sm.ensemble) } else { String::new() };
        println!(
            "  {} segment(s), {:?} x {} steps, seed {}{}{members}; {:.2} s ({:.0}% inside ONNX Runtime)",
            sm.segments,
            sm.method,
            sm.steps,
            sm.seed,
            if sm.conditioned { ", conditioned" } else { "" },
            t.total_s,
            100.0 * (1.0 - t.outside_onnx_share)
        );
    }
    if let Some(score) = &s.score {
        print!("{}", score.table());
    }
}

/// Print an error for people (stderr) and, with `--json`, for machines (stdout).
pub fn print_error(e: &Error, json: bool) {
    eprintln!("error: {e}");
    if json {
        let v = serde_json::json!({"error": {"kind": e.kind().name(), "message": e.message(), "hint": e.hint(), "exit_code": e.kind().exit_code()}});
        println!("{v}");
    }
}
