//! echo-onnx: run ECHO generative neural-operator bundles on unstructured meshes.
//!
//! The core owns geometry and control flow; ONNX graphs own the learned math. Modules, from the
//! inside out: [`error`], [`grid`] (latent grid geometry), [`mesh`] (VTK I/O), [`resample`]
//! (mesh <-> grid).

pub mod error;
pub mod grid;
pub mod mesh;
pub mod resample;

pub use error::{Error, ErrorKind, Result};
