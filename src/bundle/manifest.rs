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
    /// How a value is mapped to the [0, 1] the velocity graph was trained on (absent: linear).
    #[serde(default, skip_serializing_if = "ParameterScale::is_linear")]
    pub scale: ParameterScale,
}

/// A parameter's normalisation: linear over [min, max], or linear in its logarithm, for a range of
/// decades (viscosities 1e-5 .. 1e-3: linearly, 1e-5 and 1e-4 would be 0 and 0.09 apart from 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterScale {
    #[default]
    Linear,
    Log,
}

impl ParameterScale {
    pub fn is_linear(&self) -> bool {
        *self == ParameterScale::Linear
    }
}

impl ParameterSpec {
    /// `value` (inside [min, max]) mapped to [0, 1] as in training.
    pub fn normalise(&self, value: f64) -> f64 {
        match self.scale {
            ParameterScale::Linear => (value - self.min) / (self.max - self.min),
            ParameterScale::Log => (value / self.min).ln() / (self.max / self.min).ln(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn viscosity(min: f64, max: f64, scale: ParameterScale) -> ParameterSpec {
        ParameterSpec { name: "viscosity".into(), min, max, default: max, units: String::new(), scale }
    }

    #[test]
    fn parameters_map_their_range_to_the_unit_interval() {
        let linear = viscosity(1e-4, 1e-3, ParameterScale::Linear);
        assert_eq!((linear.normalise(1e-4), linear.normalise(1e-3)), (0.0, 1.0));
        assert!((linear.normalise(5.5e-4) - 0.5).abs() < 1e-12);
        // Three decades: each decade a third of the interval, so 1e-5 and 1e-4 are as far apart as
        // 1e-4 and 1e-3 (linearly they would be 0.09 apart, 1e-4 and 1e-3 0.91).
        let log = viscosity(1e-5, 1e-2, ParameterScale::Log);
        for (v, want) in [(1e-5, 0.0), (1e-4, 1.0 / 3.0), (1e-3, 2.0 / 3.0), (1e-2, 1.0)] {
            assert!((log.normalise(v) - want).abs() < 1e-12, "{v}: {}", log.normalise(v));
        }
    }

    #[test]
    fn the_scale_is_optional_and_written_only_when_logarithmic() {
        let spec: ParameterSpec = serde_json::from_str(r#"{"name": "nu", "min": 1, "max": 2, "default": 1}"#).unwrap();
        assert_eq!(spec.scale, ParameterScale::Linear);
        assert!(!serde_json::to_string(&spec).unwrap().contains("scale"));
        let log: ParameterSpec = serde_json::from_str(r#"{"name": "nu", "min": 1, "max": 2, "default": 1, "scale": "log"}"#).unwrap();
        assert_eq!(log.scale, ParameterScale::Log);
        assert!(serde_json::to_string(&log).unwrap().contains(r#""scale":"log""#));
    }
}
