//! The learned parts of a bundle as ONNX Runtime sessions, with typed calls per graph.
//!
//! Every graph is checked against the manifest when it is loaded, and every call checks that the
//! graph's output is finite, so a broken model fails loudly where it breaks.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};
use ort::session::{Session, SessionInputValue};
use ort::value::TensorRef;

use crate::bundle::{check_outlets, Bundle, Dim, LiftKind, Manifest, QueryKind};
use crate::err;
use crate::error::Result;
use crate::runtime::{self, Device};

/// The learned graphs an [`crate::engine::Engine`] runs, by their tensors (docs/bundle-format.md):
/// ONNX Runtime sessions ([`Model`]) or, in tests, a fake that computes something traceable.
pub trait Graphs: Send {
    /// The bundle's manifest: what the graphs take and return.
    fn manifest(&self) -> &Manifest;
    /// `lift(values [M,K,C], offsets [M,K,D], mask [M,K]) -> features [M,F]`.
    fn lift(&mut self, values: ArrayViewD<f32>, offsets: ArrayViewD<f32>, mask: ArrayViewD<f32>) -> Result<ArrayD<f32>>;
    /// `encoder(frames [B,E,T,...]) -> latent [B,Z,S,...]`.
    fn encode(&mut self, frames: ArrayViewD<f32>) -> Result<ArrayD<f32>>;
    /// The velocity field at flow time `r` for the batch of `z` (axis 0: ensemble members, all at
    /// the same `r` and parameters). `params` are normalised to [0, 1]; `None` means unconditional.
    fn velocity(&mut self, z: &ArrayD<f32>, observed: &ArrayD<f32>, slot_mask: &[f32], r: f32, params: Option<&[f32]>) -> Result<ArrayD<f32>>;
    /// `decoder(latent) -> frames [B,G,T,...]`.
    fn decode(&mut self, latent: ArrayViewD<f32>) -> Result<ArrayD<f32>>;
    /// `query(features [M,K,G], offsets [M,K,D]) -> values [M,C]`.
    fn query(&mut self, features: ArrayViewD<f32>, offsets: ArrayViewD<f32>) -> Result<ArrayD<f32>>;
    /// The batched graphs that run once per member (see [`Model::batch_of_one`]).
    fn batch_of_one(&self) -> Vec<&'static str> {
        vec![]
    }
    /// Time spent inside ONNX Runtime so far, and the number of graph calls.
    fn onnx_time(&self) -> (Duration, usize) {
        (Duration::ZERO, 0)
    }
}

impl Graphs for Model {
    fn manifest(&self) -> &Manifest {
        &self.bundle.manifest
    }
    fn lift(&mut self, values: ArrayViewD<f32>, offsets: ArrayViewD<f32>, mask: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        Model::lift(self, values, offsets, mask)
    }
    fn encode(&mut self, frames: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        Model::encode(self, frames)
    }
    fn velocity(&mut self, z: &ArrayD<f32>, observed: &ArrayD<f32>, slot_mask: &[f32], r: f32, params: Option<&[f32]>) -> Result<ArrayD<f32>> {
        Model::velocity(self, z, observed, slot_mask, r, params)
    }
    fn decode(&mut self, latent: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        Model::decode(self, latent)
    }
    fn query(&mut self, features: ArrayViewD<f32>, offsets: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        Model::query(self, features, offsets)
    }
    fn batch_of_one(&self) -> Vec<&'static str> {
        Model::batch_of_one(self)
    }
    fn onnx_time(&self) -> (Duration, usize) {
        Model::onnx_time(self)
    }
}

/// One loaded graph.
struct Graph {
    name: &'static str,
    path: PathBuf,
    session: Session,
    /// The manifest fixes the first (batch) axis at 1: a batch of B runs as B calls of one.
    batch_of_one: bool,
}

/// A bundle's graphs, ready to run.
pub struct Model {
    pub bundle: Bundle,
    lift: Option<Graph>,
    encoder: Graph,
    velocity: Graph,
    decoder: Graph,
    query: Option<Graph>,
    /// Wall time spent inside `Session::run`, for the benchmark's "share outside ONNX Runtime".
    onnx_time: Duration,
    onnx_calls: usize,
}

impl Model {
    /// Create a session per graph on `device` and check each against the manifest.
    /// ONNX Runtime must have been initialised ([`runtime::init`]).
    pub fn load(bundle: Bundle, device: Device, threads: Option<usize>) -> Result<Model> {
        let load = |name: &'static str| -> Result<Graph> {
            let path = bundle.graph_path(name).ok_or_else(|| err!(Manifest, "bundle has no graph '{name}'"))?;
            let session = runtime::session(&path, device, threads)?;
            let spec = &bundle.manifest.graphs[name];
            check_outlets(name, &path, "input", &spec.inputs, session.inputs())?;
            check_outlets(name, &path, "output", &spec.outputs, session.outputs())?;
            let batch_of_one = spec.inputs.first().and_then(|t| t.shape.first()) == Some(&Dim::Fixed(1));
            Ok(Graph { name, path, session, batch_of_one })
        };
        let m = &bundle.manifest;
        let lift = (m.lift.kind == LiftKind::Learned).then(|| load("lift")).transpose()?;
        let query = (m.query.kind == QueryKind::Learned).then(|| load("query")).transpose()?;
        let (encoder, velocity, decoder) = (load("encoder")?, load("velocity")?, load("decoder")?);
        Ok(Model { bundle, lift, encoder, velocity, decoder, query, onnx_time: Duration::ZERO, onnx_calls: 0 })
    }

    /// The batched graphs (encoder, velocity, decoder) whose batch axis the manifest fixes at 1:
    /// an ensemble then runs them once per member (same numbers, no batching speed-up).
    pub fn batch_of_one(&self) -> Vec<&'static str> {
        [&self.encoder, &self.velocity, &self.decoder].iter().filter(|g| g.batch_of_one).map(|g| g.name).collect()
    }

    /// Time spent inside ONNX Runtime so far, and the number of graph calls.
    pub fn onnx_time(&self) -> (Duration, usize) {
        (self.onnx_time, self.onnx_calls)
    }

    /// `lift(values [M,K,C], offsets [M,K,D], mask [M,K]) -> features [M,F]`.
    pub fn lift(&mut self, values: ArrayViewD<f32>, offsets: ArrayViewD<f32>, mask: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        let graph = self.lift.as_mut().ok_or_else(|| err!(Manifest, "this bundle has no learned lift"))?;
        run(graph, &mut self.onnx_time, &mut self.onnx_calls, &[("values", values), ("offsets", offsets), ("mask", mask)])
    }

    /// `encoder(frames [B,E,T,...]) -> latent [B,Z,S,...]`.
    pub fn encode(&mut self, frames: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        run_batched(&mut self.encoder, &mut self.onnx_time, &mut self.onnx_calls, &[("frames", frames)])
    }

    /// The velocity field at flow time `r` for the batch of `z` (axis 0: ensemble members, all
    /// at the same `r` and parameters). `params` are normalised to [0, 1]; `None` means
    /// unconditional (param_mask 0).
    pub fn velocity(&mut self, z: &ArrayD<f32>, observed: &ArrayD<f32>, slot_mask: &[f32], r: f32, params: Option<&[f32]>) -> Result<ArrayD<f32>> {
        let n_params = self.bundle.manifest.parameters.len();
        let b = z.shape()[0];
        let slot_mask = ArrayD::from_shape_vec(IxDyn(&[b, slot_mask.len()]), slot_mask.repeat(b)).expect("shape matches");
        let r = ArrayD::from_elem(IxDyn(&[b]), r);
        let one = params.map_or(vec![0.0; n_params], <[f32]>::to_vec);
        if one.len() != n_params {
            return Err(err!(Usage, "expected {n_params} parameter values"));
        }
        let p = ArrayD::from_shape_vec(IxDyn(&[b, n_params]), one.repeat(b)).expect("shape matches");
        let pm = ArrayD::from_elem(IxDyn(&[b]), if params.is_some() { 1.0f32 } else { 0.0 });
        let mut inputs = vec![("z", z.view()), ("observed", observed.view()), ("slot_mask", slot_mask.view()), ("r", r.view())];
        if n_params > 0 {
            inputs.push(("params", p.view()));
            inputs.push(("param_mask", pm.view()));
        }
        run_batched(&mut self.velocity, &mut self.onnx_time, &mut self.onnx_calls, &inputs)
    }

    /// `decoder(latent) -> frames [B,G,T,...]`.
    pub fn decode(&mut self, latent: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        run_batched(&mut self.decoder, &mut self.onnx_time, &mut self.onnx_calls, &[("latent", latent)])
    }

    /// `query(features [M,K,G], offsets [M,K,D]) -> values [M,C]`.
    pub fn query(&mut self, features: ArrayViewD<f32>, offsets: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        let graph = self.query.as_mut().ok_or_else(|| err!(Manifest, "this bundle has no learned query"))?;
        run(graph, &mut self.onnx_time, &mut self.onnx_calls, &[("features", features), ("offsets", offsets)])
    }
}

/// [`run`] for a graph whose inputs all share the batch axis 0: one call, or one call per member
/// when the bundle fixes the graph's batch at 1 (its results are stacked back along axis 0).
fn run_batched(graph: &mut Graph, clock: &mut Duration, calls: &mut usize, inputs: &[(&str, ArrayViewD<f32>)]) -> Result<ArrayD<f32>> {
    let b = inputs[0].1.shape()[0];
    if !graph.batch_of_one || b == 1 {
        return run(graph, clock, calls, inputs);
    }
    let mut outs = Vec::with_capacity(b);
    for k in 0..b {
        let one: Vec<(&str, ArrayViewD<f32>)> = inputs.iter().map(|(n, v)| (*n, v.slice_axis(Axis(0), (k..k + 1).into()))).collect();
        outs.push(run(graph, clock, calls, &one)?);
    }
    let views: Vec<ArrayViewD<f32>> = outs.iter().map(|a| a.view()).collect();
    ndarray::concatenate(Axis(0), &views).map_err(|e| err!(Inference, "graph '{}': members' outputs differ in shape: {e}", graph.name))
}

/// Run `graph` on named inputs and return its single output, checked to be finite.
fn run(graph: &mut Graph, clock: &mut Duration, calls: &mut usize, inputs: &[(&str, ArrayViewD<f32>)]) -> Result<ArrayD<f32>> {
    let fail = |what: String| err!(Inference, "graph '{}' ('{}'): {what}", graph.name, graph.path.display());
    let mut values: Vec<(Cow<str>, SessionInputValue)> = Vec::with_capacity(inputs.len());
    for (name, view) in inputs {
        let tensor = TensorRef::from_array_view(view.view()).map_err(|e| fail(format!("cannot pass input '{name}': {e}")))?;
        values.push((Cow::Owned(name.to_string()), tensor.into()));
    }
    let start = Instant::now();
    let outputs = graph.session.run(values).map_err(|e| fail(format!("run failed: {e}")))?;
    let array = outputs[0].try_extract_array::<f32>().map_err(|e| fail(format!("output is not a float32 tensor: {e}")))?.to_owned();
    *clock += start.elapsed();
    *calls += 1;
    if let Some(i) = array.iter().position(|v| !v.is_finite()) {
        return Err(fail(format!("produced a non-finite value (at flat index {i} of shape {:?})", array.shape()))
            .with_hint("the inputs may be far outside the training distribution (check units and normalisation), or the bundle is broken"));
    }
    Ok(array)
}
