//! Gmsh `.msh` files (2.2 and 4.1, ASCII and binary): the mesh of the first time step, with every
//! check `read_mesh` makes.
#![no_main]

use echo_onnx::mesh::read::{from_bytes, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = from_bytes(data, Format::Gmsh);
});
