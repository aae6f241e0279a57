//! Shared fixtures for the integration tests: test bundles and example series, generated once per
//! checkout by the project's own Python generators (deterministic), and a runner for the CLI.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The project's Python environment, which generates the fixtures and holds ONNX Runtime. On a
/// fresh clone `cargo test` creates it (`scripts/setup.sh --python-env`, about a minute), once:
/// `flock` serialises the test binaries that cargo runs side by side, and the stamp that setup
/// writes last tells a complete environment from one still being installed.
pub fn python() -> PathBuf {
    let py = root().join(".venv/bin/python");
    if !root().join(".venv/.echo-onnx-ready").exists() {
        std::fs::create_dir_all(root().join("target")).unwrap();
        let status = Command::new("flock")
            .arg(root().join("target/.python-env.lock"))
            .arg(root().join("scripts/setup.sh"))
            .arg("--python-env")
            .status()
            .expect("cannot run flock (util-linux) to create the Python environment: run scripts/setup.sh by hand");
        assert!(
            status.success(),
            "creating the project's Python environment failed (see above): run scripts/setup.sh, which also installs the system packages it needs"
        );
    }
    py
}

/// A digest of the generators' source (onnx/echo_onnx/*.py): fixtures made by an older generator
/// live under another key and are never reused after a change.
fn generators_digest() -> String {
    use std::hash::{Hash, Hasher};
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(root().join("onnx/echo_onnx")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "py")).collect();
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        std::fs::read(&f).unwrap().hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

/// Run a generator module into `target/test-fixtures/<digest>/<name>` once; atomic so parallel tests agree.
fn fixture(name: &str, module: &str, args: &[&str]) -> PathBuf {
    let dir = root().join("target/test-fixtures").join(generators_digest());
    let path = dir.join(name);
    if path.exists() {
        return path;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = dir.join(format!(".{name}.{}.{:?}", std::process::id(), std::thread::current().id()));
    let out = Command::new(python()).args(["-m", module, "--out"]).arg(&tmp).args(args).env("PYTHONPATH", root().join("onnx")).output().unwrap();
    assert!(out.status.success(), "{module} failed: {}", String::from_utf8_lossy(&out.stderr));
    if std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_dir_all(&tmp); // another test made it first
    }
    path
}

/// A random-weight bundle with the real ECHO signatures (`onnx/echo_onnx/testbundle.py`).
pub fn bundle(variant: &str) -> PathBuf {
    let args: &[&str] = match variant {
        "2d" => &[],
        "2d-kernel-linear" => &["--lift", "kernel", "--query", "linear"],
        "2d-noparams" => &["--no-params"],
        "3d" => &["--dim", "3"],
        other => panic!("unknown test bundle {other}"),
    };
    fixture(&format!("bundle-{variant}"), "echo_onnx.testbundle", args)
}

/// The example series: 3 frames of analytic vorticity on 4096 scattered points, plus query.vtu.
pub fn example() -> PathBuf {
    fixture("example", "echo_onnx.example", &[])
}

/// Run the release or debug CLI that cargo built for these tests.
pub fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_echo-onnx")).args(args).output().unwrap()
}

/// Run the CLI with `--json` and parse its stdout.
pub fn cli_json(args: &[&str]) -> (Output, serde_json::Value) {
    let mut all = vec!["--json", "--quiet"];
    all.extend_from_slice(args);
    let out = cli(&all);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
    (out, v)
}

/// Copy a directory (flat) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A PNG written by the CLI, decoded: width, height and RGBA bytes (the writer always uses RGBA8).
pub fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Rgba, png::BitDepth::Eight));
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// A 3D input series in `dir/cloud/in.pvd`: 6000 seeded random points in the unit cube, two frames
/// 0.1 apart of a smooth field `vorticity`.
pub fn cloud_3d(dir: &Path) -> PathBuf {
    use echo_onnx::mesh::{self, Field, Mesh};
    let cloud = dir.join("cloud");
    std::fs::create_dir(&cloud).unwrap();
    let mut rng = echo_onnx::noise::SplitMix64::new(9);
    let points: Vec<[f64; 3]> = (0..6000).map(|_| [rng.uniform(), rng.uniform(), rng.uniform()]).collect();
    let mut entries = vec![];
    for k in 0..2 {
        let values = points.iter().map(|p| (std::f64::consts::TAU * (p[0] + 0.1 * k as f64)).sin() * p[2]).collect();
        let m = Mesh { points: points.clone(), point_data: vec![Field { name: "vorticity".into(), components: 1, values }], ..Default::default() };
        mesh::write::write_vtu(&cloud.join(format!("f{k}.vtu")), &m).unwrap();
        entries.push((k as f64 * 0.1, format!("f{k}.vtu")));
    }
    mesh::write::write_pvd(&cloud.join("in.pvd"), &entries).unwrap();
    cloud.join("in.pvd")
}
