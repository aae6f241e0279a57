//! echo-onnx: run ECHO generative neural-operator bundles on unstructured meshes.
//!
//! The core owns geometry and control flow; ONNX graphs own the learned math. Modules, from the
//! inside out: [`error`], [`grid`] (latent grid geometry), [`mesh`] (VTK I/O), [`resample`]
//! (mesh <-> grid).

pub mod bundle;
pub mod cli;
pub mod engine;
pub mod error;
pub mod fields;
pub mod grid;
pub mod host;
pub mod mesh;
pub mod model;
pub mod noise;
pub mod output;
pub mod preview;
pub mod resample;
pub mod runtime;
pub mod sampler;
pub mod score;
pub mod tasks;

pub use error::{Error, ErrorKind, Result};
