//! VTK XML datasets (`.vtu`, `.vtp`, `.vti`) in every encoding: ascii, inline base64, appended raw
//! and base64, each with or without zlib, UInt32/UInt64 headers, either byte order.
#![no_main]

use echo_onnx::mesh::read::{from_bytes, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Any error is fine; a panic, an abort, a hang or a huge allocation is a finding.
    let _ = from_bytes(data, Format::Xml);
});
