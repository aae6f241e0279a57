//! `manifest.json`, as serde types. The format is documented in `docs/bundle-format.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::mesh::Association;
pub use crate::resample::LiftFootprint;

pub const FORMAT: &str = "echo-bundle";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub fields: Vec<FieldSpec>,
    pub latent_grid: LatentGridSpec,
    pub lift: LiftSpec,
    pub query: QuerySpec,
    pub time: TimeSpec,
    pub latent: LatentSpec,
    #[serde(default)]
    pub parameters: Vec<ParameterSpec>,
    pub sampler: SamplerSpec,
    pub graphs: BTreeMap<String, GraphSpec>,
    pub provenance: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub name: String,
    pub components: usize,
    #[serde(default)]
    pub units: String,
    pub association: Association,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatentGridSpec {
    pub dim: usize,
    pub shape: Vec<usize>,
    /// `None`: fit to the input's bounding box.
    pub bbox: Option<BoxSpec>,
    pub periodic: Vec<bool>,
    pub coverage_channel: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxSpec {
    pub min: Vec<f64>,
    pub max: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LiftKind {
    Learned,
    Kernel,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftSpec {
    pub kind: LiftKind,
    pub neighbours: usize,
    /// In grid spacings.
    pub radius: f64,
    /// Absent in older bundles: `radius`, the rule they were trained with.
    #[serde(default)]
    pub footprint: LiftFootprint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueryKind {
    Learned,
    Linear,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    pub kind: QueryKind,
    #[serde(default = "default_stencil")]
    pub stencil: usize,
}

fn default_stencil() -> usize {
    2
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSpec {
    pub frames: usize,
    pub dt: f64,
    pub context_frames: usize,
    pub slots: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatentSpec {
    pub channels: usize,
    pub shape: Vec<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    pub name: String,
    pub min: f64,
    pub max: f64,
    pub default: f64,
    #[serde(default)]
    pub units: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SamplerMethod {
    Euler,
    Midpoint,
    Rk4,
}

impl SamplerMethod {
    /// The names the manifest, the CLI and the host API accept.
    pub const NAMES: [&'static str; 3] = ["euler", "midpoint", "rk4"];

    /// The method called `name` (one of [`SamplerMethod::NAMES`]).
    pub fn from_name(name: &str) -> Option<SamplerMethod> {
        match name {
            "euler" => Some(SamplerMethod::Euler),
            "midpoint" => Some(SamplerMethod::Midpoint),
            "rk4" => Some(SamplerMethod::Rk4),
            _ => None,
        }
    }

    /// Velocity evaluations per step.
    pub fn evaluations(self) -> usize {
        match self {
            SamplerMethod::Euler => 1,
            SamplerMethod::Midpoint => 2,
            SamplerMethod::Rk4 => 4,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplerSpec {
    pub method: SamplerMethod,
    pub steps: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSpec {
    pub file: String,
    pub sha256: String,
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<Dim>,
}

/// A tensor axis: a fixed size or a symbolic (dynamic) name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Dim {
    Fixed(i64),
    Symbolic(String),
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbolic(s) => write!(f, "{s}"),
        }
    }
}
