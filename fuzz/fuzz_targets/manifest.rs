//! `manifest.json`: JSON syntax, version, serde types and every bundle check that needs neither
//! the graph files nor ONNX Runtime; then the sizes the pipeline derives from a valid manifest.
#![no_main]

use echo_onnx::bundle::{expected_signatures, Manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The bundle reads the manifest as UTF-8 text; other bytes fail before the parser.
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(m) = Manifest::from_json(text) {
        let _ = (m.channels(), m.encoder_channels(), m.decoder_channels());
        let _ = expected_signatures(&m);
    }
});
