//! Opening and validating a bundle: a directory with `manifest.json` and ONNX graphs.
//!
//! [`Bundle::open`] checks everything that can be checked without ONNX Runtime: the manifest's
//! syntax, version and internal consistency, the graph files (exist, stay inside the bundle,
//! match their sha256) and the declared signatures against what the manifest implies.
//! [`check_outlets`] then compares the declared signatures with the graph files themselves.

pub mod limits;
pub mod manifest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::err;
use crate::error::{Error, Result};
use crate::grid::Grid;
pub use manifest::*;

/// The graphs a bundle can hold, in pipeline order.
pub const GRAPH_NAMES: [&str; 5] = ["lift", "encoder", "velocity", "decoder", "query"];

/// A validated bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Bundle {
    /// Read and validate `dir/manifest.json` and the graph files it names.
    pub fn open(dir: &Path) -> Result<Bundle> {
        let manifest_path = dir.join("manifest.json");
        if !dir.is_dir() {
            return Err(err!(Manifest, "bundle directory '{}' does not exist", dir.display())
                .with_hint("pass the directory that holds manifest.json (e.g. --bundle onnx/bundles/ns2d-vorticity)"));
        }
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|e| err!(Manifest, "cannot read '{}': {e}", manifest_path.display()).with_hint("a bundle directory must contain manifest.json"))?;
        let manifest = parse_manifest(&text, &manifest_path)?;
        let bundle = Bundle { dir: dir.to_path_buf(), manifest };
        bundle.validate()?;
        Ok(bundle)
    }

    /// Path of graph `name` (validated to exist inside the bundle).
    pub fn graph_path(&self, name: &str) -> Option<PathBuf> {
        self.manifest.graphs.get(name).map(|g| self.dir.join(&g.file))
    }

    fn validate(&self) -> Result<()> {
        let m = &self.manifest;
        let at = |what: String| Error::new(crate::ErrorKind::Manifest, format!("{}: {what}", self.dir.join("manifest.json").display()));
        validate_manifest(m).map_err(at)?;
        for (name, spec) in &m.graphs {
            self.validate_graph_file(name, spec)?;
        }
        Ok(())
    }

    fn validate_graph_file(&self, name: &str, spec: &GraphSpec) -> Result<()> {
        let rel = Path::new(&spec.file);
        let escapes = rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir));
        let path = self.dir.join(rel);
        let inside = !escapes
            && match (path.canonicalize(), self.dir.canonicalize()) {
                (Ok(p), Ok(d)) => p.starts_with(d),
                _ => true, // a missing file is reported below
            };
        if !inside {
            return Err(err!(BundleGraph, "graph '{name}' file '{}' lies outside the bundle directory '{}'", spec.file, self.dir.display())
                .with_hint("graph files must be given relative to the bundle directory, without '..'"));
        }
        let bytes = std::fs::read(&path).map_err(|e| {
            err!(BundleGraph, "graph '{name}': cannot read '{}': {e}", path.display()).with_hint("the bundle is incomplete; copy it again or re-export it")
        })?;
        let digest = hex(&Sha256::digest(&bytes));
        if !digest.eq_ignore_ascii_case(&spec.sha256) {
            return Err(err!(BundleGraph, "graph '{name}' ('{}') has sha256 {digest}, but the manifest records {}", path.display(), spec.sha256)
                .with_hint("the graph file was modified or corrupted; re-export the bundle"));
        }
        Ok(())
    }

    /// The latent grid; see [`Manifest::grid`].
    pub fn grid(&self, fit: Option<([f64; 3], [f64; 3])>) -> Result<Grid> {
        self.manifest.grid(fit)
    }
}

impl Manifest {
    /// The latent grid; `fit` is the input's bounding box, used when the manifest's bbox is null.
    pub fn grid(&self, fit: Option<([f64; 3], [f64; 3])>) -> Result<Grid> {
        let g = &self.latent_grid;
        let (lo, hi) = match (&g.bbox, fit) {
            (Some(b), _) => (b.min.clone(), b.max.clone()),
            (None, Some((lo, hi))) => (lo[..g.dim].to_vec(), hi[..g.dim].to_vec()),
            (None, None) => return Err(err!(Usage, "the bundle's latent grid is fitted to the input, but no input points were given")),
        };
        Grid::new(&g.shape, &lo, &hi, &g.periodic).map_err(|e| {
            err!(OutsideGrid, "cannot fit the latent grid to the input: {}", e.message()).with_hint("the input's bounding box is degenerate along an axis")
        })
    }

    /// Parse `manifest.json` text and make every check [`Bundle::open`] makes that needs no graph
    /// file (syntax, version, consistency, declared signatures); errors name the source
    /// `<memory>`. The entry point for the manifest fuzz target (`fuzz/`).
    pub fn from_json(text: &str) -> Result<Manifest> {
        let source = Path::new("<memory>");
        let m = parse_manifest(text, source)?;
        validate_manifest(&m).map_err(|what| Error::new(crate::ErrorKind::Manifest, format!("{}: {what}", source.display())))?;
        Ok(m)
    }
}

/// The manifest's own consistency. Ranges first, so a bad value is named as such and not reported as
/// an inconsistency.
fn validate_manifest(m: &Manifest) -> Check {
    validate_header(m)?;
    validate_grid(m)?;
    validate_fields(m)?;
    validate_time(m)?;
    validate_parameters(m)?;
    validate_signatures(m)?;
    validate_sizes(m)
}

fn parse_manifest(text: &str, path: &Path) -> Result<Manifest> {
    // Read the version first so that a newer format gets a version error, not a field error.
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| err!(Manifest, "'{}' is not valid JSON: {e}", path.display()).with_hint("fix the syntax or re-export the bundle"))?;
    match (value.get("format").and_then(|v| v.as_str()), value.get("format_version").and_then(|v| v.as_u64())) {
        (Some(FORMAT), Some(v)) if v == u64::from(FORMAT_VERSION) => {}
        (Some(FORMAT), Some(v)) => {
            return Err(err!(Manifest, "'{}' has format_version {v}; this echo-onnx reads version {FORMAT_VERSION}", path.display())
                .with_hint("use an echo-onnx release that reads this version, or re-export the bundle"))
        }
        _ => return Err(err!(Manifest, "'{}' is not an ECHO bundle manifest (needs \"format\": \"{FORMAT}\" and \"format_version\")", path.display())),
    }
    // From the text, not the value: the error then has a position, which names the key.
    serde_json::from_str(text).map_err(|e| {
        let key = json_path_at(text, e.line(), e.column());
        let key = if key.is_empty() { String::new() } else { format!("{key}: ") };
        err!(Manifest, "{}: {key}{e}", path.display()).with_hint("see docs/bundle-format.md for the manifest keys")
    })
}

/// The path (`sampler.method`, `fields[0].mean[1]`) of the JSON value that ends at `line`:`column`
/// (1-based, as serde_json reports errors; serde_json itself does not say which key failed). A
/// position just after an object's `}` (a missing field) gives that object's path.
fn json_path_at(text: &str, line: usize, column: usize) -> String {
    enum Frame {
        Object(Option<String>),
        Array(usize),
    }
    let start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let end = (start + column).min(text.len());
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = vec![];
    let mut expect_key = false;
    let mut i = 0;
    while i < end {
        match bytes[i] {
            b'{' => {
                stack.push(Frame::Object(None));
                expect_key = true;
            }
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object(_)) => expect_key = true,
                None => {}
            },
            b'"' => {
                let from = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if std::mem::take(&mut expect_key) {
                    if let Some(Frame::Object(key)) = stack.last_mut() {
                        *key = Some(String::from_utf8_lossy(&bytes[from..i.min(bytes.len())]).into_owned());
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object(Some(key)) if path.is_empty() => path.push_str(key),
            Frame::Object(Some(key)) => path.push_str(&format!(".{key}")),
            Frame::Object(None) => {}
            Frame::Array(n) => path.push_str(&format!("[{n}]")),
        }
    }
    path
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

type Check = std::result::Result<(), String>;

fn validate_header(m: &Manifest) -> Check {
    if m.name.trim().is_empty() {
        return Err("\"name\" is empty".into());
    }
    if !m.provenance.is_object() {
        return Err("\"provenance\" must be an object (dataset, training stages, metrics)".into());
    }
    limits::check("sampler.steps", m.sampler.steps, &limits::STEPS)
}

/// `"{key} has {n} entries; latent_grid.dim = {dim} needs {dim}"` unless `n == dim`.
fn check_len(key: &str, n: usize, dim: usize) -> Check {
    if n != dim {
        return Err(format!("{key} has {n} entries; latent_grid.dim = {dim} needs {dim}"));
    }
    Ok(())
}

fn validate_fields(m: &Manifest) -> Check {
    if m.fields.is_empty() {
        return Err("\"fields\" is empty; a bundle predicts at least one field".into());
    }
    if m.fields.len() > limits::LIST_ENTRIES {
        return Err(format!("fields has {} entries; at most {} are accepted", m.fields.len(), limits::LIST_ENTRIES));
    }
    let dim = m.latent_grid.dim;
    for (i, f) in m.fields.iter().enumerate() {
        let key = format!("fields[{i}]");
        if m.fields[..i].iter().any(|g| g.name == f.name) {
            return Err(format!("{key}.name: field '{}' is listed twice", f.name));
        }
        if f.components != 1 && f.components != dim {
            return Err(format!("{key}.components = {} (field '{}') must be 1 (scalar) or latent_grid.dim = {dim} (vector)", f.components, f.name));
        }
        for (what, list) in [("mean", &f.mean), ("std", &f.std)] {
            if list.len() != f.components {
                return Err(format!("{key}.{what} has {} entries; {key}.components = {} needs one per component", list.len(), f.components));
            }
            for (c, &v) in list.iter().enumerate() {
                limits::check_finite(&format!("{key}.{what}[{c}]"), v, what == "std")?;
            }
        }
    }
    Ok(())
}

fn validate_grid(m: &Manifest) -> Check {
    let g = &m.latent_grid;
    if !(g.dim == 2 || g.dim == 3) {
        return Err(format!("latent_grid.dim = {} must be 2 or 3", g.dim));
    }
    check_len("latent_grid.shape", g.shape.len(), g.dim)?;
    check_len("latent_grid.periodic", g.periodic.len(), g.dim)?;
    check_len("latent.shape", m.latent.shape.len(), g.dim)?;
    for (a, &n) in g.shape.iter().enumerate() {
        limits::check(&format!("latent_grid.shape[{a}]"), n, &limits::GRID_AXIS)?;
    }
    // Bounded axes cannot overflow a u128 product; the bound on the total is what protects memory.
    let nodes: u128 = g.shape.iter().map(|&n| n as u128).product();
    if nodes > limits::GRID_NODES as u128 {
        return Err(format!("latent_grid.shape = {:?} has {nodes} nodes; at most {} are accepted", g.shape, limits::GRID_NODES));
    }
    limits::check("latent.channels", m.latent.channels, &limits::CHANNELS)?;
    for (a, &n) in m.latent.shape.iter().enumerate() {
        limits::check(&format!("latent.shape[{a}]"), n, &(1..=*limits::GRID_AXIS.end()))?;
    }
    match &g.bbox {
        Some(b) => {
            check_len("latent_grid.bbox.min", b.min.len(), g.dim)?;
            check_len("latent_grid.bbox.max", b.max.len(), g.dim)?;
            for a in 0..g.dim {
                limits::check_finite(&format!("latent_grid.bbox.min[{a}]"), b.min[a], false)?;
                limits::check_finite(&format!("latent_grid.bbox.max[{a}]"), b.max[a], false)?;
                // (max - min) must be finite too: grid spacings and coordinates are computed from it.
                if !(b.min[a] < b.max[a] && (b.max[a] - b.min[a]).is_finite()) {
                    return Err(format!("latent_grid.bbox: min[{a}] = {} must be < max[{a}] = {} (and their difference finite)", b.min[a], b.max[a]));
                }
            }
        }
        None if g.periodic.iter().any(|&p| p) => {
            return Err("latent_grid.bbox is null (fit to input) but an axis is periodic; a periodic axis needs a fixed box".into())
        }
        None => {}
    }
    limits::check("lift.neighbours", m.lift.neighbours, &limits::NEIGHBOURS)?;
    limits::check_finite("lift.radius", m.lift.radius, true)?;
    if m.lift.radius > limits::MAX_RADIUS {
        return Err(format!("lift.radius = {} is out of range (0, {}] (grid spacings)", m.lift.radius, limits::MAX_RADIUS));
    }
    if m.lift.footprint == LiftFootprint::Adaptive && m.lift.kind != LiftKind::Learned {
        return Err("lift.footprint = \"adaptive\" needs lift.kind = \"learned\" (the kernel lift has no adaptive rule)".into());
    }
    limits::check("query.stencil", m.query.stencil, &limits::STENCIL)?;
    if m.query.stencil % 2 != 0 {
        return Err(format!("query.stencil = {} must be even", m.query.stencil));
    }
    Ok(())
}

fn validate_time(m: &Manifest) -> Check {
    let t = &m.time;
    limits::check("time.frames", t.frames, &limits::FRAMES)?;
    limits::check_finite("time.dt", t.dt, true)?;
    limits::check("time.context_frames", t.context_frames, &(1..=t.frames - 1))?;
    // Compared without building 0..frames: frames comes from the file and may be huge.
    let flat: Vec<usize> = t.slots.iter().flatten().copied().collect();
    let in_order = flat.len() == t.frames && flat.iter().enumerate().all(|(i, &f)| i == f);
    if t.slots.iter().any(|s| s.is_empty()) || !in_order {
        return Err(format!("time.slots {:?} must list frames 0..{} in order, each once, no slot empty", t.slots, t.frames));
    }
    Ok(())
}

fn validate_parameters(m: &Manifest) -> Check {
    if m.parameters.len() > limits::LIST_ENTRIES {
        return Err(format!("parameters has {} entries; at most {} are accepted", m.parameters.len(), limits::LIST_ENTRIES));
    }
    for (i, p) in m.parameters.iter().enumerate() {
        let key = format!("parameters[{i}]");
        if m.parameters[..i].iter().any(|q| q.name == p.name) {
            return Err(format!("{key}.name: parameter '{}' is listed twice", p.name));
        }
        for (what, v) in [("min", p.min), ("max", p.max), ("default", p.default)] {
            limits::check_finite(&format!("{key}.{what}"), v, false)?;
        }
        // min < max strictly: parameters are normalised by (max - min).
        if !(p.min < p.max && (p.max - p.min).is_finite()) {
            return Err(format!("{key} ('{}'): min = {} must be < max = {}", p.name, p.min, p.max));
        }
        if p.scale == ParameterScale::Log && p.min <= 0.0 {
            return Err(format!("{key} ('{}'): scale \"log\" needs min > 0, got {}", p.name, p.min));
        }
        if !(p.min <= p.default && p.default <= p.max) {
            return Err(format!("{key}.default = {} (parameter '{}') is outside [min, max] = [{}, {}]", p.default, p.name, p.min, p.max));
        }
    }
    Ok(())
}

/// Bounds on what the declared graphs imply: channel counts and the size of one sample's grid
/// tensors, so an absurd declaration is refused before anything is allocated.
fn validate_sizes(m: &Manifest) -> Check {
    limits::check("the sum of fields[].components", m.channels(), &limits::CHANNELS)?;
    if m.lift.kind == LiftKind::Learned {
        limits::check("graphs.lift output 'features' (lift features F)", m.lift_features(), &limits::CHANNELS)?;
    }
    limits::check("graphs.decoder output 'frames' (decoder channels G)", m.decoder_channels(), &limits::CHANNELS)?;
    let grid: u128 = m.latent_grid.shape.iter().map(|&n| n as u128).product();
    let latent: u128 = m.latent.shape.iter().map(|&n| n as u128).product();
    let t = m.time.frames as u128;
    for (what, elements) in [
        ("graphs.encoder input 'frames'", m.encoder_channels() as u128 * t * grid),
        ("graphs.decoder output 'frames'", m.decoder_channels() as u128 * t * grid),
        ("the latent (latent.channels x slots x latent.shape)", m.latent.channels as u128 * m.time.slots.len() as u128 * latent),
    ] {
        if elements > limits::TENSOR_ELEMENTS as u128 {
            return Err(format!("{what} has {elements} elements per sample; at most {} are accepted", limits::TENSOR_ELEMENTS));
        }
    }
    Ok(())
}

/// Sizes the pipeline derives from the manifest.
impl Manifest {
    /// Sum of the fields' components (C).
    pub fn channels(&self) -> usize {
        self.fields.iter().map(|f| f.components).sum()
    }

    /// Lift features per grid node (F): the lift graph's output width, or C for a kernel lift.
    pub fn lift_features(&self) -> usize {
        match self.lift.kind {
            LiftKind::Kernel => self.channels(),
            LiftKind::Learned => self.fixed_dim("lift", false, "features", 1).unwrap_or(0),
        }
    }

    /// Encoder input channels (E = F, plus one with the coverage channel).
    pub fn encoder_channels(&self) -> usize {
        self.lift_features() + usize::from(self.latent_grid.coverage_channel)
    }

    /// Decoder output channels (G).
    pub fn decoder_channels(&self) -> usize {
        self.fixed_dim("decoder", false, "frames", 1).unwrap_or(0)
    }

    fn fixed_dim(&self, graph: &str, input: bool, tensor: &str, axis: usize) -> Option<usize> {
        let g = self.graphs.get(graph)?;
        let list = if input { &g.inputs } else { &g.outputs };
        match list.iter().find(|t| t.name == tensor)?.shape.get(axis)? {
            Dim::Fixed(n) if *n > 0 => Some(*n as usize),
            _ => None,
        }
    }
}

/// Expected axis: `Some(n)` a fixed size, `None` any (dynamic).
type Expect = Vec<Option<i64>>;

/// A graph's expected (inputs, outputs), each a list of (tensor name, axes).
pub type Signature = (Vec<(&'static str, Expect)>, Vec<(&'static str, Expect)>);

/// The signature every graph must have, derived from the manifest (docs/bundle-format.md).
pub fn expected_signatures(m: &Manifest) -> BTreeMap<&'static str, Signature> {
    let dim = m.latent_grid.dim;
    let c = m.channels() as i64;
    let rev = |shape: &[usize]| shape.iter().rev().map(|&n| Some(n as i64)).collect::<Vec<_>>();
    let grid = rev(&m.latent_grid.shape);
    let latent_sp = rev(&m.latent.shape);
    let (t, s, z) = (m.time.frames as i64, m.time.slots.len() as i64, m.latent.channels as i64);
    let cat = |head: Vec<Option<i64>>, tail: &[Option<i64>]| [head, tail.to_vec()].concat();
    let latent = cat(vec![None, Some(z), Some(s)], &latent_sp);
    let f = m.lift_features() as i64;
    let g = m.decoder_channels() as i64;
    let e = m.encoder_channels() as i64;
    let d = dim as i64;
    let mut sig = BTreeMap::new();
    if m.lift.kind == LiftKind::Learned {
        sig.insert(
            "lift",
            (
                vec![("values", vec![None, None, Some(c)]), ("offsets", vec![None, None, Some(d)]), ("mask", vec![None, None])],
                vec![("features", vec![None, Some(f)])],
            ),
        );
    }
    sig.insert("encoder", (vec![("frames", cat(vec![None, Some(e), Some(t)], &grid))], vec![("latent", latent.clone())]));
    let mut vin = vec![("z", latent.clone()), ("observed", latent.clone()), ("slot_mask", vec![None, Some(s)]), ("r", vec![None])];
    if !m.parameters.is_empty() {
        vin.push(("params", vec![None, Some(m.parameters.len() as i64)]));
        vin.push(("param_mask", vec![None]));
    }
    sig.insert("velocity", (vin, vec![("velocity", latent.clone())]));
    sig.insert("decoder", (vec![("latent", latent)], vec![("frames", cat(vec![None, Some(g), Some(t)], &grid))]));
    if m.query.kind == QueryKind::Learned {
        sig.insert("query", (vec![("features", vec![None, None, Some(g)]), ("offsets", vec![None, None, Some(d)])], vec![("values", vec![None, Some(c)])]));
    }
    sig
}

fn validate_signatures(m: &Manifest) -> Check {
    if m.lift.kind == LiftKind::Learned && m.lift_features() == 0 {
        return Err("graphs.lift must declare a fixed feature count: outputs 'features' shape [M, F]".into());
    }
    if m.decoder_channels() == 0 {
        return Err("graphs.decoder must declare a fixed channel count: outputs 'frames' shape [B, G, T, ...]".into());
    }
    if m.query.kind == QueryKind::Linear && m.decoder_channels() != m.channels() {
        return Err(format!("query.kind is linear, so the decoder must output the {} field channels, not {}", m.channels(), m.decoder_channels()));
    }
    let expected = expected_signatures(m);
    for name in m.graphs.keys() {
        if !expected.contains_key(name.as_str()) {
            return Err(format!("graphs.{name} is not used by this bundle's configuration (expected graphs: {:?})", expected.keys().collect::<Vec<_>>()));
        }
    }
    for (graph, (inputs, outputs)) in &expected {
        let spec = m.graphs.get(*graph).ok_or_else(|| format!("graphs.{graph} is missing; this configuration needs it"))?;
        match_tensors(graph, "input", &spec.inputs, inputs)?;
        match_tensors(graph, "output", &spec.outputs, outputs)?;
    }
    Ok(())
}

fn match_tensors(graph: &str, what: &str, declared: &[TensorSpec], expected: &[(&str, Expect)]) -> Check {
    let names: Vec<&str> = declared.iter().map(|t| t.name.as_str()).collect();
    let want: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    if names != want {
        return Err(format!("graphs.{graph} declares {what}s {names:?}; this configuration needs {want:?}"));
    }
    for (t, (_, exp)) in declared.iter().zip(expected) {
        if t.dtype != "float32" {
            return Err(format!("graphs.{graph} {what} '{}' has dtype {}; must be float32", t.name, t.dtype));
        }
        // A fixed axis below 1 means nothing (a dynamic axis is a name); where the manifest implies
        // no size it would otherwise pass unnoticed.
        if let Some((a, n)) = t.shape.iter().enumerate().find_map(|(a, d)| match d {
            Dim::Fixed(n) if *n < 1 => Some((a, *n)),
            _ => None,
        }) {
            return Err(format!("graphs.{graph} {what} '{}': shape[{a}] = {n} must be >= 1, or a name for a dynamic axis", t.name));
        }
        let fits = t.shape.len() == exp.len()
            && t.shape.iter().zip(exp).all(|(d, e)| match (d, e) {
                (Dim::Fixed(n), Some(m)) => n == m,
                (Dim::Symbolic(_), Some(_)) => true, // dynamic in the graph is fine
                (_, None) => true,
            });
        if !fits {
            let shown: Vec<String> = exp.iter().map(|e| e.map_or("?".to_string(), |n| n.to_string())).collect();
            let got: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
            return Err(format!("graphs.{graph} {what} '{}' has shape [{}]; the manifest implies [{}]", t.name, got.join(", "), shown.join(", ")));
        }
    }
    Ok(())
}

/// Compare a graph's actual inputs or outputs (from ONNX Runtime) with the manifest's declaration.
pub fn check_outlets(graph: &str, path: &Path, what: &str, declared: &[TensorSpec], actual: &[ort::value::Outlet]) -> Result<()> {
    let fail = |msg: String| {
        err!(BundleGraph, "graph '{graph}' ('{}'): {msg}", path.display()).with_hint("the graph does not match manifest.json; re-export the bundle")
    };
    let names: Vec<&str> = actual.iter().map(|o| o.name()).collect();
    let want: Vec<&str> = declared.iter().map(|t| t.name.as_str()).collect();
    if names != want {
        return Err(fail(format!("{what}s are {names:?}; the manifest declares {want:?}")));
    }
    for (o, t) in actual.iter().zip(declared) {
        let ty = o.dtype();
        let (Some(elem), Some(shape)) = (ty.tensor_type(), ty.tensor_shape()) else {
            return Err(fail(format!("{what} '{}' is not a tensor", t.name)));
        };
        if elem != ort::value::TensorElementType::Float32 {
            return Err(fail(format!("{what} '{}' has element type {elem:?}; the manifest declares float32", t.name)));
        }
        let dims: Vec<i64> = shape.iter().copied().collect();
        let fits = dims.len() == t.shape.len()
            && dims.iter().zip(&t.shape).all(|(&a, d)| match d {
                Dim::Fixed(n) => a == *n || a < 0,
                Dim::Symbolic(_) => true,
            });
        if !fits {
            let got: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
            return Err(fail(format!("{what} '{}' has shape {dims:?} (-1 = dynamic); the manifest declares [{}]", t.name, got.join(", "))));
        }
    }
    Ok(())
}
