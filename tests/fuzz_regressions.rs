//! Every committed fuzz corpus and regression input (`fuzz/corpus/<target>`, `fuzz/regressions/<target>`)
//! through the fuzz targets' entry points on the stable toolchain: each must end in `Ok` or `Err`, never
//! a panic, so that `cargo test` guards the crashes the fuzzers found without nightly or cargo-fuzz.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use echo_onnx::bundle::{expected_signatures, Manifest};
use echo_onnx::mesh::read::{file_series_from_bytes, from_bytes, multiblock_from_bytes, series_from_bytes, Format};

/// The same calls as `fuzz/fuzz_targets/<target>.rs`; whether the input was accepted.
fn run_target(target: &str, data: &[u8]) -> bool {
    match target {
        "xml" => from_bytes(data, Format::Xml).is_ok(),
        "legacy" => from_bytes(data, Format::Legacy).is_ok(),
        "gmsh" => from_bytes(data, Format::Gmsh).is_ok(),
        "pvd" => series_from_bytes(data).is_ok(),
        "series" => {
            let series = file_series_from_bytes(data).is_ok();
            multiblock_from_bytes(data).is_ok() || series
        }
        "manifest" => {
            let Ok(text) = std::str::from_utf8(data) else { return false };
            let Ok(m) = Manifest::from_json(text) else { return false };
            let _ = (m.channels(), m.encoder_channels(), m.decoder_channels());
            let _ = expected_signatures(&m);
            true
        }
        "probes" => {
            let text = String::from_utf8_lossy(data);
            let csv = echo_onnx::mesh::probes::csv_from_str(&text, "<memory>").is_ok();
            let file = echo_onnx::mesh::probes::probe_file_frames(&text, "T").is_ok();
            echo_onnx::mesh::probes::dictionary_locations(&text).is_ok_and(|d| !d.is_empty()) || csv || file
        }
        other => panic!("fuzz/{other}: no such target; add it to run_target"),
    }
}

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

fn check(target: &str) {
    let corpus = inputs("corpus", target);
    assert!(!corpus.is_empty(), "fuzz/corpus/{target} is empty or missing");
    let regressions = inputs("regressions", target);
    let (mut panicked, mut accepted) = (Vec::new(), Vec::new());
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).unwrap();
        match catch_unwind(AssertUnwindSafe(|| run_target(target, &data))) {
            Err(_) => panicked.push(path.display().to_string()),
            // Each regression input is corrupt: accepting one (an out-of-memory input that now fits
            // in a test's memory, say) means its fix is gone.
            Ok(true) if regressions.contains(path) => accepted.push(path.display().to_string()),
            Ok(_) => {}
        }
    }
    assert!(panicked.is_empty(), "fuzz target '{target}' panics on: {panicked:#?}");
    assert!(accepted.is_empty(), "fuzz target '{target}' accepts these regression inputs, which must fail: {accepted:#?}");
}

#[test]
fn xml_inputs_do_not_panic() {
    check("xml");
}

#[test]
fn legacy_inputs_do_not_panic() {
    check("legacy");
}

#[test]
fn gmsh_inputs_do_not_panic() {
    check("gmsh");
}

#[test]
fn series_inputs_do_not_panic() {
    check("series");
}

#[test]
fn pvd_inputs_do_not_panic() {
    check("pvd");
}

#[test]
fn manifest_inputs_do_not_panic() {
    check("manifest");
}

/// The seeds must be read as what they are, or the corpus fuzzes only the error paths: the VTK-written
/// files of every encoding read back as meshes.
#[test]
fn corpus_holds_readable_meshes() {
    for (target, format) in [("xml", Format::Xml), ("legacy", Format::Legacy), ("gmsh", Format::Gmsh)] {
        let ok = inputs("corpus", target).iter().filter(|p| from_bytes(&std::fs::read(p).unwrap(), format).is_ok()).count();
        assert!(ok > 0, "no file of fuzz/corpus/{target} reads as a mesh");
    }
}

/// Nesting deeper than the fuzzers' 4 KB inputs reach: the tree of elements is dropped recursively,
/// so a few hundred thousand nested tags (a 2 MB file) overflowed the main thread's stack (an abort).
#[test]
fn deeply_nested_xml_is_an_error() {
    let depth = 300_000;
    let doc = format!("<VTKFile type=\"UnstructuredGrid\">{}{}</VTKFile>", "<a>".repeat(depth), "</a>".repeat(depth));
    // The main thread's stack size (8 MB), not the test harness's 2 MB.
    let reader = std::thread::Builder::new().stack_size(8 << 20);
    let result = reader.spawn(move || from_bytes(doc.as_bytes(), Format::Xml).map(|_| ())).unwrap().join().unwrap();
    assert!(result.is_err());
    let pvd = format!("<VTKFile><Collection>{}{}</Collection></VTKFile>", "<a>".repeat(depth), "</a>".repeat(depth));
    let reader = std::thread::Builder::new().stack_size(8 << 20);
    assert!(reader.spawn(move || series_from_bytes(pvd.as_bytes()).map(|_| ())).unwrap().join().unwrap().is_err());
}

/// The crashes fuzzing found since the readers moved to main's code, each with the error it must now
/// give (the directory sweep above only checks they fail without a panic).
#[test]
fn found_by_fuzzing_are_errors_that_say_why() {
    let cases = [
        // A header line of only vertical tabs: str::trim emptied it, and the first word was indexed.
        ("legacy", "blank-line-of-vertical-tab.vtk", Format::Legacy, "unknown section"),
        // SCALARS with ~1.4e19 components and no tuples: Mesh::validate's count x components overflowed.
        ("legacy", "field-components-overflow.vtk", Format::Legacy, "expected 6 x 14347467612885206811 components"),
    ];
    for (target, name, format, phrase) in cases {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions").join(target).join(name);
        let e = from_bytes(&std::fs::read(&path).unwrap(), format).unwrap_err();
        assert!(e.to_string().contains(phrase), "{name}: {e}");
    }
}

#[test]
fn probes_inputs_do_not_panic() {
    check("probes");
}
