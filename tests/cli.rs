//! End-to-end tests of the CLI: every task on generated bundles and meshes, reproducibility,
//! segment chaining, super-resolution, bundle variants (kernel lift, linear query, 3D, no
//! parameters), resampling against an analytic field, and `doctor`.

mod common;

use std::path::Path;

use common::*;
use echo_onnx::mesh::{self, Association, Field, Mesh};

fn run_ok(args: &[&str]) -> serde_json::Value {
    let (out, json) = cli_json(args);
    assert!(out.status.success(), "echo-onnx {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    json
}

fn times(json: &serde_json::Value) -> Vec<f64> {
    json["output"]["times"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect()
}

fn assert_times(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{got:?} vs {want:?}");
    }
}

fn forecast(out: &Path, seed: &str, horizon: &str) -> serde_json::Value {
    let (b, e) = (bundle("2d"), example().join("input.pvd"));
    run_ok(&["forecast", "--bundle", s(&b), "--input", s(&e), "--seed", seed, "--horizon", horizon, "--out", s(out)])
}

fn frame_bytes(dir: &Path, i: usize) -> Vec<u8> {
    std::fs::read(dir.join(format!("frame_{i:04}.vtu"))).unwrap()
}

fn vorticity(path: &Path) -> Vec<f64> {
    mesh::read::read_mesh(path).unwrap().field(Association::Point, "vorticity").unwrap().values.clone()
}

#[test]
fn forecast_is_reproducible_and_chains_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c, short) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"), dir.path().join("short"));
    let ja = forecast(&a, "3", "20");
    forecast(&b, "3", "20");
    forecast(&c, "4", "20");
    forecast(&short, "3", "8");

    // 9 frames per segment with 1 context frame: 8 new frames per segment, so 20 frames take 3.
    assert_eq!(ja["sampling"]["segments"], 3);
    assert_eq!(ja["output"]["frames"], 20);
    let want: Vec<f64> = (1..=20).map(|k| 0.2 + k as f64 * 0.1).collect();
    assert_times(&times(&ja), &want);
    for i in 0..20 {
        assert_eq!(frame_bytes(&a, i), frame_bytes(&b, i), "same seed, frame {i} differs");
    }
    assert_ne!(frame_bytes(&a, 5), frame_bytes(&c, 5), "another seed gives the same frame");
    // The first segment of a long forecast is the short forecast: chaining only appends.
    for i in 0..8 {
        assert_eq!(frame_bytes(&a, i), frame_bytes(&short, i), "frame {i} of the first segment");
    }
    // Later segments continue from the previous one rather than restarting from the input.
    assert_ne!(vorticity(&a.join("frame_0008.vtu")), vorticity(&a.join("frame_0000.vtu")));
    // The series and the preview are complete.
    let pvd = std::fs::read_to_string(a.join("prediction.pvd")).unwrap();
    assert_eq!(pvd.matches("<DataSet").count(), 20);
    let png = std::fs::read(a.join("preview.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn every_task_writes_the_frames_it_promises() {
    let dir = tempfile::tempdir().unwrap();
    let (b, e) = (bundle("2d"), example());
    let input = e.join("input.pvd");

    // Inverse: 3 observed frames at the end of a 9-frame segment -> the 6 frames before them.
    let j = run_ok(&["inverse", "--bundle", s(&b), "--input", s(&input), "--out", s(&dir.path().join("inv"))]);
    assert_times(&times(&j), &[-0.6, -0.5, -0.4, -0.3, -0.2, -0.1]);

    // Interpolation: frames at t = 0 and t = 0.3 (a gap of two frames) -> t = 0.1 and 0.2.
    let frames = mesh::read::read_series(&input).unwrap();
    let gap = dir.path().join("gap");
    std::fs::create_dir(&gap).unwrap();
    mesh::write::write_vtu(&gap.join("a.vtu"), &frames[0].mesh).unwrap();
    mesh::write::write_vtu(&gap.join("b.vtu"), &frames[2].mesh).unwrap();
    mesh::write::write_pvd(&gap.join("gap.pvd"), &[(0.0, "a.vtu".into()), (0.3, "b.vtu".into())]).unwrap();
    let j = run_ok(&["interpolate", "--bundle", s(&b), "--input", s(&gap.join("gap.pvd")), "--out", s(&dir.path().join("interp"))]);
    assert_times(&times(&j), &[0.1, 0.2]);

    // Generation on a dense grid, conditioned and not: 9 frames as image data.
    let gen = dir.path().join("gen");
    let j = run_ok(&["generate", "--bundle", s(&b), "--grid", "48x40", "--param", "viscosity=1e-4", "--out", s(&gen)]);
    assert_eq!(j["sampling"]["conditioned"], true);
    assert_eq!(j["output"]["points"], 48 * 40);
    assert_times(&times(&j), &(0..9).map(|k| k as f64 * 0.1).collect::<Vec<_>>());
    let grid_frame = mesh::read::read_mesh(&gen.join("frame_0004.vti")).unwrap();
    assert_eq!(grid_frame.points.len(), 48 * 40);
    let unconditional = dir.path().join("gen-u");
    let j = run_ok(&["generate", "--bundle", s(&b), "--grid", "48x40", "--out", s(&unconditional)]);
    assert_eq!(j["sampling"]["conditioned"], false);
    assert_ne!(
        std::fs::read(gen.join("frame_0004.vti")).unwrap(),
        std::fs::read(unconditional.join("frame_0004.vti")).unwrap(),
        "conditioning on a parameter changed nothing"
    );

    // Super-resolution: the forecast evaluated at the 16384 points of query.vtu.
    let sr = dir.path().join("sr");
    let j = run_ok(&["forecast", "--bundle", s(&b), "--input", s(&input), "--query", s(&e.join("query.vtu")), "--horizon", "3", "--out", s(&sr)]);
    let query_points = mesh::read::read_mesh(&e.join("query.vtu")).unwrap().points.len();
    assert_eq!(j["output"]["points"], query_points);
    assert_eq!(vorticity(&sr.join("frame_0002.vtu")).len(), query_points);
}

#[test]
fn sampler_options_change_the_result_and_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (b, e) = (bundle("2d"), example().join("input.pvd"));
    let mut outs = vec![];
    for (method, steps) in [("euler", "10"), ("midpoint", "10"), ("rk4", "4"), ("euler", "3")] {
        let out = dir.path().join(format!("{method}-{steps}"));
        let j = run_ok(&["forecast", "--bundle", s(&b), "--input", s(&e), "--method", method, "--steps", steps, "--horizon", "2", "--out", s(&out)]);
        assert_eq!(j["sampling"]["method"], method);
        assert_eq!(j["sampling"]["steps"].to_string(), steps);
        // One segment: per step, 1 (euler), 2 (midpoint) or 4 (rk4) velocity calls.
        let per_step = match method {
            "euler" => 1,
            "midpoint" => 2,
            _ => 4,
        };
        let calls = j["timings"]["onnx_calls"].as_u64().unwrap();
        let steps_n: u64 = steps.parse().unwrap();
        // lift (1 context frame) + encoder + velocity calls + decoder + 2 query calls.
        assert_eq!(calls, 1 + 1 + per_step * steps_n + 1 + 2, "{method} x {steps}");
        outs.push(vorticity(&out.join("frame_0001.vtu")));
    }
    for i in 1..outs.len() {
        assert_ne!(outs[0], outs[i]);
    }
}

#[test]
fn bundle_variants_run_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let e = example().join("input.pvd");
    for variant in ["2d-kernel-linear", "2d-noparams"] {
        let out = dir.path().join(variant);
        let j = run_ok(&["forecast", "--bundle", s(&bundle(variant)), "--input", s(&e), "--horizon", "10", "--out", s(&out)]);
        assert_eq!(j["output"]["frames"], 10, "{variant}");
        assert_eq!(j["sampling"]["segments"], 2, "{variant}");
    }
    // No parameters in the bundle: --param is refused.
    let (r, json) =
        cli_json(&["forecast", "--bundle", s(&bundle("2d-noparams")), "--input", s(&e), "--param", "viscosity=1e-4", "--out", s(&dir.path().join("x"))]);
    assert_eq!(r.status.code(), Some(2));
    assert!(json["error"]["message"].as_str().unwrap().contains("takes no parameters"));

    // 3D: a random point cloud in the unit cube with a smooth field.
    let input = cloud_3d(dir.path());
    let out = dir.path().join("3d");
    let j = run_ok(&["forecast", "--bundle", s(&bundle("3d")), "--input", s(&input), "--horizon", "3", "--out", s(&out)]);
    assert_eq!(j["output"]["frames"], 3);
    assert_eq!(vorticity(&out.join("frame_0002.vtu")).len(), 6000);
    assert!(out.join("preview.png").exists(), "a 3D field is previewed at its z mid-plane (tests/preview.rs)");
}

#[test]
fn resample_recovers_an_analytic_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = echo_onnx::noise::SplitMix64::new(1);
    let f = |p: &[f64; 3]| (std::f64::consts::TAU * p[0]).sin() * (std::f64::consts::TAU * p[1]).cos();
    let points: Vec<[f64; 3]> = (0..40_000).map(|_| [rng.uniform(), rng.uniform(), 0.0]).collect();
    let values = points.iter().map(f).collect();
    let m = Mesh { points: points.clone(), point_data: vec![Field { name: "f".into(), components: 1, values }], ..Default::default() };
    let input = dir.path().join("in.vtu");
    mesh::write::write_vtu(&input, &m).unwrap();
    let out = dir.path().join("out");
    let j = run_ok(&["resample", "--input", s(&input), "--grid", "96x96", "--kernel", "gaussian", "--out", s(&out)]);
    assert_eq!(j["output"]["points"], 40_000);

    let back = mesh::read::read_mesh(&out.join("resampled.vtu")).unwrap();
    let got = &back.field(Association::Point, "f").unwrap().values;
    let interior: Vec<f64> =
        points.iter().zip(got).filter(|(p, _)| p[0] > 0.05 && p[0] < 0.95 && p[1] > 0.05 && p[1] < 0.95).map(|(p, g)| (g - f(p)).abs()).collect();
    let max_err = interior.iter().cloned().fold(0.0, f64::max);
    assert!(max_err < 0.05, "max interior error {max_err}");
    let grid = mesh::read::read_mesh(&out.join("grid.vti")).unwrap();
    let coverage = &grid.field(Association::Point, "coverage").unwrap().values;
    assert_eq!(coverage.len(), 96 * 96);
    assert!(coverage.iter().all(|&c| c == 1.0), "a dense cloud covers every node");
}

#[test]
fn doctor_reports_the_runtime_and_validates_bundles() {
    let j = run_ok(&["doctor", "--bundle", s(&bundle("2d"))]);
    assert_eq!(j["runtime"]["version"], "1.31.1");
    assert!(j["providers"].as_array().unwrap().iter().any(|p| p == "CPUExecutionProvider"));
    assert!(j["notes"][0].as_str().unwrap().contains("is valid"));
    // Human output, and --quiet silences it.
    let human = cli(&["doctor"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("ONNX Runtime 1.31.1"));
    let quiet = cli(&["--quiet", "doctor"]);
    assert!(quiet.status.success() && quiet.stdout.is_empty());
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    // `echo-onnx --json ... | head -c 1`: the reader is gone before the summary is written. Like any
    // Unix filter the CLI then ends by SIGPIPE; it used to panic ("failed printing to stdout").
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_echo-onnx"))
        .args(["--json", "doctor", "--bundle", s(&bundle("2d"))])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?} {stderr}", out.status);
}

#[test]
fn help_has_an_example_per_subcommand() {
    for sub in ["forecast", "inverse", "interpolate", "reconstruct", "generate", "resample", "doctor"] {
        let out = cli(&[sub, "--help"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("echo-onnx {sub}")), "{sub} --help has no example:\n{text}");
    }
    let top = String::from_utf8_lossy(&cli(&["--help"]).stdout).to_string();
    assert!(top.contains("Exit codes"));
}
