//! The indexes foamToVTK writes around its datasets, up to the point where their files would be
//! read: a `.series` JSON index and a `.vtm` multiblock file (the dataset it selects). Every input
//! goes through both parsers.
#![no_main]

use echo_onnx::mesh::read::{file_series_from_bytes, multiblock_from_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = file_series_from_bytes(data);
    let _ = multiblock_from_bytes(data);
});
