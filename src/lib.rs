//! echo-onnx: run ECHO generative neural-operator bundles on unstructured meshes.
//!
//! The core owns geometry and control flow; ONNX graphs own the learned math. Every host (the
//! `echo-onnx` command line in `src/cli.rs`, the C++ bridge in `cxx-bridge/` through [`host`]) is
//! an adapter over one data path:
//!
//! mesh -> [`grid`] -> [`engine`] -> grid frames -> points -> writer
//!
//! - [`bundle`]: open and check a bundle (`manifest.json`, graphs, [`bundle::limits`]).
//! - [`model`]: the graphs as ONNX Runtime sessions behind the [`model::Graphs`] trait;
//!   [`runtime`] finds and loads ONNX Runtime.
//! - [`engine`]: [`engine::Engine`] (graphs, [`sampler`], parameters, noise) runs lift, encode,
//!   sample, decode and query; [`tasks`] (forecast, inverse, interpolate, generate) pose questions
//!   to it and get [`engine::GridFrames`]; [`engine::Engine::evaluate_frames`] puts them at points.
//! - [`resample`]: mesh <-> grid, and the cached [`resample::Geometry`] of a bundle on a mesh.
//! - [`fields`]: the bundle's fields in input frames, and the one [`fields::Normaliser`].
//! - [`host`]: the API of hosts with their own mesh and time loop (serial or MPI);
//!   [`distributed`]: its protocol over ranks behind a [`distributed::Communicator`]; [`monitor`]:
//!   a solver host's error, ensemble spread and `maxSpread` stop; [`schedule`]: its time loop (snapshots,
//!   forecasts, comparisons); [`settings`]: its settings, checked.
//! - [`mesh`] (VTK and Gmsh I/O), [`output`] (atomic output directories), [`preview`], [`score`].
//! - [`error`]: one [`Error`] with an [`ErrorKind`] per failure class (exit codes, C++ kinds).

pub mod bundle;
pub mod distributed;
pub mod engine;
pub mod error;
pub mod fields;
pub mod grid;
pub mod host;
pub mod mesh;
pub mod model;
pub mod monitor;
pub mod noise;
pub mod output;
pub mod preview;
pub mod resample;
pub mod runtime;
pub mod sampler;
pub mod schedule;
pub mod score;
pub mod settings;
pub mod tasks;

pub use error::{Error, ErrorKind, Result};
