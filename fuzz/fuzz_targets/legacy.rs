//! Legacy `.vtk` files (ASCII and binary, versions 4.2 and 5.1) through the crate's own parser.
#![no_main]

use echo_onnx::mesh::read::{from_bytes, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = from_bytes(data, Format::Legacy);
});
