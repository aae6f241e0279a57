//! Sparse inputs (issue 13): a probes CSV, an OpenFOAM probe file and the probes functions of a
//! controlDict, from text. Every input goes through the three parsers.
#![no_main]

use echo_onnx::mesh::probes::{csv_from_str, dictionary_locations, probe_file_frames};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = csv_from_str(&text, "<memory>");
    let _ = probe_file_frames(&text, "T");
    let _ = dictionary_locations(&text);
});
