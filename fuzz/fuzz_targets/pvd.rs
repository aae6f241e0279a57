//! ParaView `.pvd` collections: the XML parser and the entry checks (the frames are files, not
//! fuzzed here; the xml and legacy targets cover their contents).
#![no_main]

use echo_onnx::mesh::read::series_from_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = series_from_bytes(data);
});
