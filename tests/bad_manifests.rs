//! The table test of bad manifests: every out-of-range or mistyped manifest value is refused when
//! the bundle is opened, by `doctor` and by a forecast alike, with exit code 4 and a message that
//! names the manifest key. (Before, a huge `sampler.steps` passed `doctor` and then failed a
//! forecast with a message about a `--steps` flag the user never gave.)

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

/// A copy of the 2D test bundle with its manifest edited as JSON (as in tests/bad_inputs.rs).
fn edited_bundle(dir: &Path, edit: impl Fn(&mut Value)) -> PathBuf {
    let b = dir.join("bundle");
    copy_dir(&bundle("2d"), &b);
    let path = b.join("manifest.json");
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    b
}

/// A bad manifest: the edit, and what the message must contain (the key, and what is wrong).
struct Case {
    edit: fn(&mut Value),
    message: &'static str,
}

const CASES: &[Case] = &[
    Case { edit: |m| m["sampler"]["steps"] = json!(1_000_000), message: "sampler.steps = 1000000 is out of range 1..=10000" },
    Case { edit: |m| m["sampler"]["steps"] = json!(0), message: "sampler.steps = 0 is out of range 1..=10000" },
    Case { edit: |m| m["sampler"]["steps"] = json!(-3), message: "sampler.steps: invalid value: integer `-3`" },
    Case { edit: |m| m["sampler"]["steps"] = json!(2.5), message: "sampler.steps: invalid type: floating point `2.5`" },
    Case { edit: |m| m["sampler"]["method"] = json!("heun"), message: "sampler.method: unknown variant `heun`" },
    Case {
        edit: |m| {
            m["sampler"].as_object_mut().unwrap().remove("steps");
        },
        message: "sampler: missing field `steps`",
    },
    Case { edit: |m| m["time"]["frames"] = json!(100_000), message: "time.frames = 100000 is out of range 2..=1024" },
    Case { edit: |m| m["time"]["dt"] = json!(0.0), message: "time.dt = 0 must be > 0" },
    Case { edit: |m| m["time"]["dt"] = json!(-0.1), message: "time.dt = -0.1 must be > 0" },
    Case { edit: |m| m["time"]["context_frames"] = json!(9), message: "time.context_frames = 9 is out of range 1..=8" },
    Case { edit: |m| m["time"]["context_frames"] = json!(0), message: "time.context_frames = 0 is out of range 1..=8" },
    Case { edit: |m| m["time"]["slots"] = json!([[0], [1, 2, 3, 4], [5, 6, 7]]), message: "time.slots [[0], [1, 2, 3, 4], [5, 6, 7]] must list frames 0..9" },
    Case { edit: |m| m["latent_grid"]["dim"] = json!(4), message: "latent_grid.dim = 4 must be 2 or 3" },
    Case { edit: |m| m["latent_grid"]["shape"] = json!([32]), message: "latent_grid.shape has 1 entries; latent_grid.dim = 2 needs 2" },
    Case { edit: |m| m["latent_grid"]["shape"] = json!([1_000_000, 32]), message: "latent_grid.shape[0] = 1000000 is out of range 2..=65536" },
    Case {
        edit: |m| m["latent_grid"]["shape"] = json!([65_536, 65_536]),
        message: "latent_grid.shape = [65536, 65536] has 4294967296 nodes; at most 67108864",
    },
    Case { edit: |m| m["latent_grid"]["shape"] = json!([1, 32]), message: "latent_grid.shape[0] = 1 is out of range 2..=65536" },
    Case { edit: |m| m["latent_grid"]["bbox"]["min"] = json!([2.0, 0.0]), message: "latent_grid.bbox: min[0] = 2 must be < max[0] = 1" },
    Case { edit: |m| m["latent_grid"]["bbox"]["max"] = json!([1.0]), message: "latent_grid.bbox.max has 1 entries" },
    Case {
        // Each corner is finite, the box's size is not.
        edit: |m| {
            m["latent_grid"]["bbox"]["min"] = json!([-1.7e308, 0.0]);
            m["latent_grid"]["bbox"]["max"] = json!([1.7e308, 1.0]);
        },
        message: "(and their difference finite)",
    },
    Case { edit: |m| m["latent"]["channels"] = json!(0), message: "latent.channels = 0 is out of range 1..=4096" },
    Case { edit: |m| m["latent"]["channels"] = json!(1_000_000), message: "latent.channels = 1000000 is out of range 1..=4096" },
    Case { edit: |m| m["latent"]["shape"] = json!([0, 8]), message: "latent.shape[0] = 0 is out of range 1..=65536" },
    Case {
        edit: |m| m["fields"][0]["components"] = json!(0),
        message: "fields[0].components = 0 (field 'vorticity') must be 1 (scalar) or latent_grid.dim = 2",
    },
    Case { edit: |m| m["fields"][0]["components"] = json!(1000), message: "fields[0].components = 1000 (field 'vorticity')" },
    Case { edit: |m| m["fields"][0]["components"] = json!(-1), message: "fields[0].components: invalid value: integer `-1`" },
    Case { edit: |m| m["fields"][0]["std"] = json!([0.0]), message: "fields[0].std[0] = 0 must be > 0" },
    Case { edit: |m| m["fields"][0]["std"] = json!([-5.0]), message: "fields[0].std[0] = -5 must be > 0" },
    Case { edit: |m| m["fields"][0]["mean"] = json!([0.0, 1.0]), message: "fields[0].mean has 2 entries; fields[0].components = 1 needs one per component" },
    Case { edit: |m| m["fields"][0]["mean"] = json!(["x"]), message: "fields[0].mean[0]: invalid type: string \"x\"" },
    Case { edit: |m| m["parameters"][0]["default"] = json!(1.0), message: "parameters[0].default = 1 (parameter 'viscosity') is outside [min, max]" },
    Case { edit: |m| m["parameters"][0]["min"] = json!(0.01), message: "parameters[0] ('viscosity'): min = 0.01 must be < max = 0.001" },
    Case { edit: |m| m["parameters"][0]["max"] = json!(null), message: "parameters[0].max: invalid type: null" },
    Case { edit: |m| m["parameters"][0]["scale"] = json!("cubic"), message: "parameters[0].scale: unknown variant `cubic`" },
    Case {
        edit: |m| {
            m["parameters"][0]["scale"] = json!("log");
            m["parameters"][0]["min"] = json!(0.0);
        },
        message: "parameters[0] ('viscosity'): scale \"log\" needs min > 0, got 0",
    },
    Case { edit: |m| m["lift"]["neighbours"] = json!(100_000), message: "lift.neighbours = 100000 is out of range 1..=1024" },
    Case { edit: |m| m["lift"]["radius"] = json!(0.0), message: "lift.radius = 0 must be > 0" },
    Case { edit: |m| m["lift"]["radius"] = json!(1e9), message: "lift.radius = 1000000000 is out of range (0, 1000]" },
    Case { edit: |m| m["query"]["stencil"] = json!(3), message: "query.stencil = 3 must be even" },
    Case { edit: |m| m["query"]["stencil"] = json!(64), message: "query.stencil = 64 is out of range 2..=16" },
    Case { edit: |m| m["lift"]["kind"] = json!("spline"), message: "lift.kind: unknown variant `spline`" },
    Case { edit: |m| m["lift"]["footprint"] = json!("elastic"), message: "lift.footprint: unknown variant `elastic`" },
    Case {
        edit: |m| {
            m["lift"]["kind"] = json!("kernel");
            m["lift"]["footprint"] = json!("adaptive");
        },
        message: "lift.footprint = \"adaptive\" needs lift.kind = \"learned\"",
    },
    Case { edit: |m| m["fields"][0]["association"] = json!("face"), message: "fields[0].association: unknown variant `face`" },
    Case { edit: |m| m["sampler"]["order"] = json!(2), message: "sampler.order: unknown field `order`" },
    Case {
        edit: |m| m["graphs"]["lift"]["inputs"][0]["shape"][0] = json!(-5),
        message: "graphs.lift input 'values': shape[0] = -5 must be >= 1, or a name for a dynamic axis",
    },
    Case {
        // A decoder that declares an absurd channel count: refused before anything is allocated.
        edit: |m| {
            m["graphs"]["decoder"]["outputs"][0]["shape"][1] = json!(1_000_000);
            m["graphs"]["query"]["inputs"][0]["shape"][2] = json!(1_000_000);
        },
        message: "graphs.decoder output 'frames' (decoder channels G) = 1000000 is out of range 1..=4096",
    },
];

#[test]
fn every_bad_manifest_value_is_refused_at_load_with_its_key() {
    let input = example().join("input.pvd");
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        let b = edited_bundle(dir.path(), case.edit);
        let out = dir.path().join("out");
        let runs: [(&str, Vec<&str>); 2] =
            [("doctor", vec!["doctor", "--bundle", s(&b)]), ("forecast", vec!["forecast", "--bundle", s(&b), "--input", s(&input), "--out", s(&out)])];
        for (what, argv) in runs {
            let (result, json) = cli_json(&argv);
            let stderr = String::from_utf8_lossy(&result.stderr);
            assert_eq!(result.status.code(), Some(4), "{}: {what} exit code; stderr:\n{stderr}", case.message);
            let message = json["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(case.message), "{what}: message {message:?} lacks {:?}", case.message);
            assert!(message.contains("manifest.json"), "{what}: message {message:?} does not name the file");
        }
        assert!(!out.exists(), "{}: the forecast wrote an output", case.message);
    }
}

#[test]
fn the_unedited_bundle_passes_and_a_large_steps_flag_names_the_flag() {
    // The table's baseline: the copied bundle itself is fine.
    let dir = tempfile::tempdir().unwrap();
    let b = edited_bundle(dir.path(), |_| {});
    let (result, _) = cli_json(&["doctor", "--bundle", s(&b)]);
    assert_eq!(result.status.code(), Some(0), "{}", String::from_utf8_lossy(&result.stderr));
    // A flag out of range is a usage error that names the flag, with the manifest's bound.
    let input = example().join("input.pvd");
    let out = dir.path().join("out");
    for (flag, value, message) in [
        ("--steps", "1000000", "--steps = 1000000 is out of range 1..=10000"),
        ("--threads", "5000", "--threads = 5000 is out of range 1..=1024"),
        ("--horizon", "1000000", "--horizon = 1000000 is out of range 1..=100000"),
    ] {
        let (result, json) = cli_json(&["forecast", "--bundle", s(&b), "--input", s(&input), "--out", s(&out), flag, value]);
        assert_eq!(result.status.code(), Some(2), "{flag}: {}", String::from_utf8_lossy(&result.stderr));
        let got = json["error"]["message"].as_str().unwrap_or_default();
        assert!(got.contains(message), "{flag}: message {got:?} lacks {message:?}");
    }
}

#[test]
fn host_settings_share_the_bounds_and_name_the_setting() {
    use echo_onnx::host::check_settings;
    // 0 and "" are the defaults; the bounds are the CLI's and the manifest's.
    assert!(check_settings("cpu", "", 0, 0, 0).is_ok());
    assert!(check_settings("cuda:1", "rk4", 10_000, 100_000, 1024).is_ok());
    for (result, message) in [
        (check_settings("gpu", "", 0, 0, 0), "device: unknown device 'gpu'"),
        (check_settings("cpu", "heun", 0, 0, 0), "method 'heun' is not a sampler method"),
        (check_settings("cpu", "", 20_000, 0, 0), "steps = 20000 is out of range 1..=10000"),
        (check_settings("cpu", "", 0, 1_000_000, 0), "horizon = 1000000 is out of range 1..=100000"),
        (check_settings("cpu", "", 0, 0, 5000), "threads = 5000 is out of range 1..=1024"),
        // What a negative C++ count used to become on its way to the runtime.
        (check_settings("cpu", "", usize::MAX - 2, 0, 0), "steps = 18446744073709551613 is out of range"),
    ] {
        let e = result.unwrap_err();
        assert_eq!(e.kind(), echo_onnx::ErrorKind::Usage);
        assert!(e.message().starts_with(message), "{:?} does not start with {message:?}", e.message());
    }
}
