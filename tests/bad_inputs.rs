//! The table test of bad inputs: every case gets its own specific error, the exit code of its
//! kind, and leaves no output behind (not even the staging directory).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use echo_onnx::mesh::{self, Association, Mesh};

/// A bad-input case: builds its inputs in `dir`, returns the CLI arguments (without --out).
struct Case {
    name: &'static str,
    exit: i32,
    message: &'static str,
    setup: fn(&Path) -> Vec<String>,
}

fn args(bundle: &Path, input: &Path, extra: &[&str]) -> Vec<String> {
    let mut v = vec!["forecast".to_string(), "--bundle".into(), s(bundle).into(), "--input".into(), s(input).into()];
    v.extend(extra.iter().map(|x| x.to_string()));
    v
}

fn example_input() -> PathBuf {
    example().join("input.pvd")
}

/// The example series with `edit(frame index, mesh)` applied, written to `dir/series.pvd`.
fn edited_series(dir: &Path, times: Option<&[f64]>, edit: impl Fn(usize, &mut Mesh)) -> PathBuf {
    let frames = mesh::read::read_series(&example_input()).unwrap();
    let mut entries = vec![];
    for (i, mut f) in frames.into_iter().enumerate() {
        edit(i, &mut f.mesh);
        let name = format!("f{i}.vtu");
        mesh::write::write_vtu(&dir.join(&name), &f.mesh).unwrap();
        entries.push((times.map_or(f.time, |t| t[i]), name));
    }
    mesh::write::write_pvd(&dir.join("series.pvd"), &entries).unwrap();
    dir.join("series.pvd")
}

/// A copy of the 2D test bundle with its manifest edited as JSON.
fn edited_bundle(dir: &Path, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let b = dir.join("bundle");
    copy_dir(&bundle("2d"), &b);
    let path = b.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    b
}

fn copied_bundle(dir: &Path) -> PathBuf {
    let b = dir.join("bundle");
    copy_dir(&bundle("2d"), &b);
    b
}

/// A shared library that claims to be ONNX Runtime 1.16.3 (too old for the api-31 bindings).
fn fake_old_runtime(dir: &Path) -> PathBuf {
    let src = dir.join("fake.c");
    std::fs::write(
        &src,
        r#"
        #include <stdint.h>
        typedef struct { const void* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); } OrtApiBase;
        static const void* get_api(uint32_t v) { (void)v; return 0; }
        static const char* version(void) { return "1.16.3"; }
        static OrtApiBase base = { get_api, version };
        const OrtApiBase* OrtGetApiBase(void) { return &base; }
    "#,
    )
    .unwrap();
    let lib = dir.join("libonnxruntime.so.1.16.3");
    let ok = std::process::Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(&src).status().unwrap();
    assert!(ok.success(), "cc failed to build the fake runtime");
    lib
}

fn set_scalar(mesh: &mut Mesh, point: usize, value: f64) {
    mesh.point_data.iter_mut().find(|f| f.name == "vorticity").unwrap().values[point] = value;
}

/// The example's first frame as a legacy ASCII `.vtk` (points and vorticity, written as VTK
/// writes them: NaN is `nan`), with `edit` applied to the value texts.
fn legacy_example(path: &Path, edit: impl Fn(&mut Vec<String>)) -> String {
    let m = mesh::read::read_mesh(&example().join("input_0000.vtu")).unwrap();
    let mut values: Vec<String> = m.field(Association::Point, "vorticity").unwrap().values.iter().map(|v| v.to_string()).collect();
    edit(&mut values);
    let points: Vec<String> = m.points.iter().map(|p| format!("{} {} {}", p[0], p[1], p[2])).collect();
    let n = m.points.len();
    let text = format!("# vtk DataFile Version 4.2\nexample\nASCII\nDATASET POLYDATA\nPOINTS {n} double\n{}\nPOINT_DATA {n}\nSCALARS vorticity double 1\nLOOKUP_TABLE default\n{}\n",
        points.join("\n"), values.join("\n"));
    std::fs::write(path, &text).unwrap();
    text
}

/// `resample` arguments (without --out).
fn resample_args(input: &Path) -> Vec<String> {
    ["resample", "--input", s(input), "--grid", "8x8"].map(String::from).to_vec()
}

fn reconstruct_args(input: &Path, extra: &[&str]) -> Vec<String> {
    let mut v = vec!["reconstruct".to_string(), "--bundle".into(), s(&bundle("2d")).into(), "--input".into(), s(input).into(), "--grid".into(), "8x8".into()];
    v.extend(extra.iter().map(|x| x.to_string()));
    v
}

/// A CSV of probe values in `dir`.
fn probes_csv(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("probes.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// A case directory as OpenFOAM's probes function object leaves it: `dictionary` is the probeLocations
/// list of system/controlDict, `file` the text of postProcessing/probes/0/vorticity.
fn probes_case(dir: &Path, dictionary: &str, file: &str) -> PathBuf {
    let case = dir.join("case");
    std::fs::create_dir_all(case.join("system")).unwrap();
    std::fs::create_dir_all(case.join("postProcessing/probes/0")).unwrap();
    std::fs::write(
        case.join("system/controlDict"),
        format!("application icoFoam;\nfunctions\n{{\n    probes {{ type probes; libs (\"libsampling.so\"); fields (vorticity); probeLocations ({dictionary}); }}\n}}\n"),
    )
    .unwrap();
    std::fs::write(case.join("postProcessing/probes/0/vorticity"), file).unwrap();
    case
}

const PROBE_FILE: &str = "# Probe 0 (0.25 0.25 0)\n# Probe 1 (0.75 0.5 0)\n#    Probe  0  1\n#     Time\n0.1  1.5  -2\n0.2  1.25  -1.5\n";

const CASES: &[Case] = &[
    Case {
        name: "corrupt input file",
        exit: 3,
        message: "input.vtu",
        setup: |d| {
            std::fs::write(d.join("input.vtu"), "<VTKFile type=\"UnstructuredGrid\"><garbage").unwrap();
            args(&bundle("2d"), &d.join("input.vtu"), &[])
        },
    },
    Case {
        name: "truncated input file",
        exit: 3,
        message: "trunc.vtu",
        setup: |d| {
            let bytes = std::fs::read(example().join("input_0000.vtu")).unwrap();
            std::fs::write(d.join("trunc.vtu"), &bytes[..bytes.len() * 3 / 5]).unwrap();
            args(&bundle("2d"), &d.join("trunc.vtu"), &[])
        },
    },
    Case {
        name: "missing field",
        exit: 3,
        message: "no point field 'pressure'",
        setup: |_| args(&bundle("2d"), &example_input(), &["--field", "vorticity=pressure"]),
    },
    Case {
        name: "wrong channel count",
        exit: 3,
        message: "has 2 components",
        setup: |d| {
            let series = edited_series(d, None, |_, m| {
                let f = m.point_data.iter_mut().find(|f| f.name == "vorticity").unwrap();
                f.values = f.values.iter().flat_map(|&v| [v, -v]).collect();
                f.components = 2;
            });
            args(&bundle("2d"), &series, &[])
        },
    },
    Case {
        name: "NaN in a field",
        exit: 3,
        message: "series.pvd': field 'vorticity' in frame 2 | is NaN at point 17",
        setup: |d| {
            let series = edited_series(d, None, |i, m| {
                if i == 2 {
                    set_scalar(m, 17, f64::NAN)
                }
            });
            args(&bundle("2d"), &series, &[])
        },
    },
    Case {
        name: "Inf in a field",
        exit: 3,
        message: "series.pvd': field 'vorticity' in frame 2 | is inf at point 5",
        setup: |d| {
            let series = edited_series(d, None, |i, m| {
                if i == 2 {
                    set_scalar(m, 5, f64::INFINITY)
                }
            });
            args(&bundle("2d"), &series, &[])
        },
    },
    Case {
        name: "NaN while resampling",
        exit: 3,
        message: "nan.vtu': field 'vorticity' is NaN at point 17, component 0",
        setup: |d| {
            let mut m = mesh::read::read_mesh(&example().join("input_0000.vtu")).unwrap();
            set_scalar(&mut m, 17, f64::NAN);
            mesh::write::write_vtu(&d.join("nan.vtu"), &m).unwrap();
            resample_args(&d.join("nan.vtu"))
        },
    },
    Case {
        name: "value beyond single precision while resampling",
        exit: 3,
        message: "big.vtk': field 'vorticity' is 1e300, beyond single precision at point 4",
        setup: |d| {
            let mut m = mesh::read::read_mesh(&example().join("input_0000.vtu")).unwrap();
            set_scalar(&mut m, 4, 1e300);
            // The crate's writer stores Float32: write the Float64 value by hand, as a legacy file
            // (whose SCALARS may omit the LOOKUP_TABLE line).
            let n = m.points.len();
            let pts: Vec<String> = m.points.iter().map(|p| format!("{} {} {}", p[0], p[1], p[2])).collect();
            let vals: Vec<String> = m.point_data[0].values.iter().map(|v| v.to_string()).collect();
            std::fs::write(
                d.join("big.vtk"),
                format!(
                    "# vtk DataFile Version 4.2\nx\nASCII\nDATASET POLYDATA\nPOINTS {n} double\n{}\nPOINT_DATA {n}\nSCALARS vorticity double\n{}\n",
                    pts.join(" "),
                    vals.join(" ")
                ),
            )
            .unwrap();
            resample_args(&d.join("big.vtk"))
        },
    },
    Case {
        name: "NaN in a legacy file (as VTK writes it)",
        exit: 3,
        message: "nan.vtk': field 'vorticity' in frame 0 (t = 0) is NaN at point 3",
        setup: |d| {
            legacy_example(&d.join("nan.vtk"), |v| v[3] = "nan".into());
            args(&bundle("2d"), &d.join("nan.vtk"), &[])
        },
    },
    Case {
        name: "truncated legacy file",
        exit: 3,
        message: "trunc.vtk': in 'SCALARS vorticity double 1' (line | truncated: 4096 values declared, the file ends after",
        setup: |d| {
            let text = legacy_example(&d.join("trunc.vtk"), |_| {});
            std::fs::write(d.join("trunc.vtk"), &text[..text.len() * 19 / 20]).unwrap();
            args(&bundle("2d"), &d.join("trunc.vtk"), &[])
        },
    },
    Case {
        name: "series naming a file outside its folder",
        exit: 3,
        message: "lists '../outside.vtu', which is outside the folder of",
        setup: |d| {
            std::fs::copy(example().join("input_0000.vtu"), d.join("outside.vtu")).unwrap();
            std::fs::create_dir(d.join("series")).unwrap();
            mesh::write::write_pvd(&d.join("series/s.pvd"), &[(0.0, "../outside.vtu".into())]).unwrap();
            args(&bundle("2d"), &d.join("series/s.pvd"), &[])
        },
    },
    Case {
        name: "mesh outside the grid box",
        exit: 3,
        message: "outside the latent grid's box",
        setup: |d| {
            let b = edited_bundle(d, |m| m["latent_grid"]["periodic"] = serde_json::json!([false, false]));
            let series = edited_series(d, None, |_, m| m.points.iter_mut().for_each(|p| p[0] += 10.0));
            args(&b, &series, &[])
        },
    },
    Case {
        name: "malformed manifest",
        exit: 4,
        message: "is not valid JSON",
        setup: |d| {
            let b = copied_bundle(d);
            std::fs::write(b.join("manifest.json"), "{ \"format\": ").unwrap();
            args(&b, &example_input(), &[])
        },
    },
    Case {
        name: "newer manifest version",
        exit: 4,
        message: "format_version 2",
        setup: |d| args(&edited_bundle(d, |m| m["format_version"] = 2.into()), &example_input(), &[]),
    },
    Case {
        name: "manifest missing a key",
        exit: 4,
        message: "missing field `time`",
        setup: |d| {
            args(
                &edited_bundle(d, |m| {
                    m.as_object_mut().unwrap().remove("time");
                }),
                &example_input(),
                &[],
            )
        },
    },
    Case {
        name: "inconsistent manifest",
        exit: 4,
        message: "time.context_frames = 9 is out of range 1..=8",
        setup: |d| args(&edited_bundle(d, |m| m["time"]["context_frames"] = 9.into()), &example_input(), &[]),
    },
    Case {
        name: "graph checksum mismatch",
        exit: 4,
        message: "has sha256",
        setup: |d| {
            let b = copied_bundle(d);
            let mut bytes = std::fs::read(b.join("velocity.onnx")).unwrap();
            bytes.push(0);
            std::fs::write(b.join("velocity.onnx"), bytes).unwrap();
            args(&b, &example_input(), &[])
        },
    },
    Case {
        name: "graph outside the bundle",
        exit: 4,
        message: "lies outside the bundle directory",
        setup: |d| args(&edited_bundle(d, |m| m["graphs"]["encoder"]["file"] = "../encoder.onnx".into()), &example_input(), &[]),
    },
    Case {
        name: "graph file missing",
        exit: 4,
        message: "graph 'decoder': cannot read",
        setup: |d| {
            let b = copied_bundle(d);
            std::fs::remove_file(b.join("decoder.onnx")).unwrap();
            args(&b, &example_input(), &[])
        },
    },
    Case {
        name: "graph inputs differ from the manifest",
        exit: 4,
        message: "graph 'query'",
        setup: |d| {
            let b = copied_bundle(d);
            std::fs::copy(b.join("lift.onnx"), b.join("query.onnx")).unwrap();
            let sha = echo_onnx::bundle::sha256_file(&b.join("query.onnx")).unwrap();
            let path = b.join("manifest.json");
            let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            m["graphs"]["query"]["sha256"] = sha.into();
            std::fs::write(&path, m.to_string()).unwrap();
            args(&b, &example_input(), &[])
        },
    },
    Case {
        name: "runtime missing",
        exit: 5,
        message: "does not exist",
        setup: |d| args(&bundle("2d"), &example_input(), &["--ort-lib", s(&d.join("libonnxruntime.so.1.31.1"))]),
    },
    Case {
        name: "runtime too old",
        exit: 5,
        message: "is version 1.16.3; echo-onnx needs 1.31",
        setup: |d| {
            let lib = fake_old_runtime(d);
            args(&bundle("2d"), &example_input(), &["--ort-lib", s(&lib)])
        },
    },
    Case {
        name: "not a runtime library",
        exit: 5,
        message: "is not an ONNX Runtime library",
        setup: |d| {
            let src = d.join("empty.c");
            std::fs::write(&src, "int nothing(void) { return 0; }\n").unwrap();
            let lib = d.join("libother.so");
            assert!(std::process::Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(&src).status().unwrap().success());
            args(&bundle("2d"), &example_input(), &["--ort-lib", s(&lib)])
        },
    },
    Case {
        name: "CUDA with a CPU-only runtime",
        exit: 5,
        message: "no CUDA execution provider",
        setup: |_| args(&bundle("2d"), &example_input(), &["--device", "cuda"]),
    },
    Case {
        name: "parameter out of range",
        exit: 2,
        message: "outside the bundle's range",
        setup: |_| args(&bundle("2d"), &example_input(), &["--param", "viscosity=1.0"]),
    },
    Case {
        name: "unknown parameter",
        exit: 2,
        message: "unknown parameter 'reynolds'",
        setup: |_| args(&bundle("2d"), &example_input(), &["--param", "reynolds=100"]),
    },
    Case {
        name: "frame spacing differs from dt",
        exit: 2,
        message: "trained with dt",
        setup: |d| args(&bundle("2d"), &edited_series(d, Some(&[0.0, 0.25, 0.5]), |_, _| {}), &[]),
    },
    Case {
        name: "too few frames for the context",
        exit: 2,
        message: "needs 5 input frames",
        setup: |_| args(&bundle("2d"), &example_input(), &["--context", "5"]),
    },
    Case {
        name: "probe outside the latent grid box",
        exit: 3,
        message: "probe 1 at (1.5, 0.5) lies outside the bundle's latent grid box",
        setup: |d| reconstruct_args(&probes_csv(d, "x,y,vorticity\n0.5,0.5,1\n1.5,0.5,2\n"), &[]),
    },
    Case {
        name: "probe outside the query mesh",
        exit: 3,
        message: "probe 0 at (0.9, 0.9) lies outside the query mesh",
        setup: |d| {
            let small = Mesh { points: vec![[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.5, 0.0]], ..Default::default() };
            mesh::write::write_vtu(&d.join("small.vtu"), &small).unwrap();
            let csv = probes_csv(d, "x,y,vorticity\n0.9,0.9,1\n0.1,0.1,2\n");
            let mut a = reconstruct_args(&csv, &["--query", s(&d.join("small.vtu"))]);
            a.retain(|x| x != "--grid" && x != "8x8");
            a
        },
    },
    Case {
        name: "NaN in a probes CSV",
        exit: 3,
        message: "probes.csv', line 3, column 'vorticity': NaN",
        setup: |d| reconstruct_args(&probes_csv(d, "x,y,vorticity\n0.5,0.5,1\n0.25,0.5,nan\n"), &[]),
    },
    Case {
        name: "ragged probes CSV",
        exit: 3,
        message: "line 3: ragged row: 2 values, the header has 3 columns",
        setup: |d| reconstruct_args(&probes_csv(d, "x,y,vorticity\n0.5,0.5,1\n0.25,0.5\n"), &[]),
    },
    Case {
        name: "probes CSV without the bundle's field",
        exit: 3,
        message: "no point field 'vorticity'",
        setup: |d| reconstruct_args(&probes_csv(d, "x,y,pressure,time\n0.5,0.5,1,0\n0.25,0.5,2,0\n"), &[]),
    },
    Case {
        name: "probe file with fewer probes than its dictionary",
        exit: 3,
        message: "has 2 probes, the dictionary of function 'probes' lists 3",
        setup: |d| reconstruct_args(&probes_case(d, "(0.25 0.25 0) (0.75 0.5 0) (0.5 0.9 0)", PROBE_FILE), &[]),
    },
    Case {
        name: "probe file at other locations than its dictionary",
        exit: 3,
        message: "probe 1 is at (0.75 0.5 0), the dictionary of function 'probes' puts it at (0.7 0.5 0)",
        setup: |d| reconstruct_args(&probes_case(d, "(0.25 0.25 0) (0.7 0.5 0)", PROBE_FILE), &[]),
    },
    Case {
        name: "ragged row in a probe file",
        exit: 3,
        message: "ragged row at t = 0.2: 1 values, expected 2 probes x 1 components",
        setup: |d| reconstruct_args(&probes_case(d, "(0.25 0.25 0) (0.75 0.5 0)", &PROBE_FILE.replace("1.25  -1.5", "1.25")), &[]),
    },
    Case {
        name: "NaN in a probe file",
        exit: 3,
        message: "probe 1 at t = 0.2 (row 2) is NaN",
        setup: |d| reconstruct_args(&probes_case(d, "(0.25 0.25 0) (0.75 0.5 0)", &PROBE_FILE.replace("-1.5", "nan")), &[]),
    },
    Case {
        name: "probes case that has not run",
        exit: 3,
        message: "no output of probes function 'probes'",
        setup: |d| {
            let case = probes_case(d, "(0.25 0.25 0) (0.75 0.5 0)", PROBE_FILE);
            std::fs::remove_dir_all(case.join("postProcessing")).unwrap();
            reconstruct_args(&case, &[])
        },
    },
    Case {
        name: "directory that is not an OpenFOAM case",
        exit: 3,
        message: "is a directory but has no system/controlDict",
        setup: |d| reconstruct_args(d, &[]),
    },
    Case { name: "bad output grid", exit: 2, message: "--grid '64'", setup: |_| args(&bundle("2d"), &example_input(), &["--grid", "64"]) },
];

#[test]
fn every_bad_input_has_its_own_error_and_leaves_no_output() {
    let mut messages = vec![];
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut argv = (case.setup)(dir.path());
        argv.extend(["--out".to_string(), s(&out).to_string()]);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (result, json) = cli_json(&argv);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(case.exit), "{}: exit code; stderr:\n{stderr}", case.name);
        let message = json["error"]["message"].as_str().unwrap_or_default();
        // (" | " separates key phrases that must all appear.)
        assert!(case.message.split(" | ").all(|m| message.contains(m)), "{}: message {message:?} lacks {:?}", case.name, case.message);
        assert!(stderr.starts_with("error: "), "{}: stderr {stderr:?}", case.name);
        assert!(!out.exists(), "{}: output directory was created", case.name);
        let leftovers: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains("partial")).collect();
        assert!(leftovers.is_empty(), "{}: staging directory left behind", case.name);
        messages.push(message.to_string());
    }
    let mut unique = messages.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), messages.len(), "two cases share one message: {messages:#?}");
}

#[test]
fn existing_output_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let argv = args(&bundle("2d"), &example_input(), &["--out", s(&out)]);
    let (result, json) = cli_json(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(result.status.code(), Some(7));
    assert!(json["error"]["hint"].as_str().unwrap().contains("--force"));
    assert_eq!(std::fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
}

#[test]
fn cell_data_is_read_with_association_cell() {
    // A quad mesh whose field lives on cells: the default association (point) misses it with a
    // hint naming the fix, and --association cell reads it.
    let dir = tempfile::tempdir().unwrap();
    let n = 24;
    let mut m = Mesh::default();
    for j in 0..=n {
        for i in 0..=n {
            m.points.push([i as f64 / n as f64, j as f64 / n as f64, 0.0]);
        }
    }
    let mut values = vec![];
    for j in 0..n {
        for i in 0..n {
            let p = j * (n + 1) + i;
            m.cells.connectivity.extend([p, p + 1, p + n + 2, p + n + 1]);
            m.cells.offsets.push(m.cells.connectivity.len() - 4);
            m.cells.types.push(9);
            values.push(((i as f64 + 0.5) / n as f64 * std::f64::consts::TAU).sin());
        }
    }
    m.cells.offsets.push(m.cells.connectivity.len());
    m.cell_data.push(mesh::Field { name: "vorticity".into(), components: 1, values });
    let input = dir.path().join("cells.vtu");
    mesh::write::write_vtu(&input, &m).unwrap();

    let out = dir.path().join("out");
    let argv = args(&bundle("2d"), &input, &["--out", s(&out)]);
    let (r, json) = cli_json(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.status.code(), Some(3));
    assert!(json["error"]["hint"].as_str().unwrap().contains("--association cell"));

    let argv = args(&bundle("2d"), &input, &["--out", s(&out), "--association", "cell", "--horizon", "2"]);
    let (r, _) = cli_json(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let frame = mesh::read::read_mesh(&out.join("frame_0001.vtu")).unwrap();
    let f = frame.field(Association::Cell, "vorticity").expect("prediction is cell data");
    assert_eq!(f.values.len(), n * n);
    assert_eq!(frame.cells.len(), n * n);
}

/// Small files that declare gigabytes to terabytes (a zlib block, a raw block header, a point
/// count, an image extent, a legacy section count): under an address-space limit that a normal
/// `resample` fits in, each must exit 3 quickly with a message that says what is wrong. Before the
/// size checks some of these inflated gigabytes or aborted on the failed allocation.
#[test]
fn hostile_sizes_fail_fast_under_a_memory_limit() {
    use std::io::Write;
    // 2 GiB of address space: a normal resample of the example needs under 128 MiB (measured on 2
    // cores), the honest 3 GiB zlib file below needs more.
    const LIMIT_KB: u64 = 2 << 20;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let zlib = |data: &[u8]| {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let words = |w: &[u32]| w.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let vtu = |name: &str, n: u64, attrs: &str, data_array: &str, appended: &[u8]| {
        let mut b = format!("<?xml version=\"1.0\"?>\n<VTKFile type=\"UnstructuredGrid\" version=\"1.0\" byte_order=\"LittleEndian\" {attrs}>\n\
            <UnstructuredGrid><Piece NumberOfPoints=\"{n}\" NumberOfCells=\"0\"><PointData><DataArray type=\"Float32\" Name=\"p\" format=\"ascii\">0</DataArray></PointData>\
            <Points>{data_array}</Points></Piece></UnstructuredGrid>\n").into_bytes();
        if !appended.is_empty() {
            b.extend(b"<AppendedData encoding=\"raw\">_");
            b.extend(appended);
            b.extend(b"</AppendedData>\n");
        }
        b.extend(b"</VTKFile>\n");
        std::fs::write(d.join(name), b).unwrap();
        d.join(name)
    };
    let zlib_attrs = "header_type=\"UInt32\" compressor=\"vtkZLibDataCompressor\"";
    let appended = "<DataArray type=\"Float32\" NumberOfComponents=\"3\" format=\"appended\" offset=\"0\"/>";
    // ~1 KB of deflate that inflates to 1 MiB of zeros.
    let mib = zlib(&vec![0u8; 1 << 20]);
    // 1. One ~1 KB block declaring 4 GiB - 16 bytes (= 357913940 points x 12 bytes).
    let bomb = [words(&[1, 0xFFFF_FFF0, 0xFFFF_FFF0, mib.len() as u32]), mib.clone()].concat();
    // 2. 3072 honest blocks of 1 MiB: 3 GiB that really inflate (2^28 points), from a 3 MB file.
    let blocks = 3072u32;
    let mut honest = words(&[blocks, 1 << 20, 1 << 20]);
    honest.extend((0..blocks).flat_map(|_| (mib.len() as u32).to_le_bytes()));
    honest.extend((0..blocks).flat_map(|_| mib.iter().copied()));
    let mut raw_2p40 = (1u64 << 40).to_le_bytes().to_vec();
    raw_2p40.extend([0u8; 12]);
    let mut raw_1e12 = 12_000_000_000_000u64.to_le_bytes().to_vec();
    raw_1e12.extend([0u8; 12]);
    let legacy = |name: &str, text: &str| {
        std::fs::write(d.join(name), text).unwrap();
        d.join(name)
    };
    let image = d.join("image.vti");
    std::fs::write(&image, "<VTKFile type=\"ImageData\" version=\"1.0\"><ImageData WholeExtent=\"0 49999 0 49999 0 0\"><Piece Extent=\"0 49999 0 49999 0 0\"></Piece></ImageData></VTKFile>").unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            vtu(
                "zlib_bomb.vtu",
                357_913_940,
                zlib_attrs,
                &format!("<DataArray type=\"Float32\" NumberOfComponents=\"3\" format=\"binary\">{}</DataArray>", b64(&bomb)),
                &[],
            ),
            "zlib block 0 of 1 declares 4294967280 bytes, more than its",
        ),
        (vtu("zlib_honest.vtu", 1 << 28, zlib_attrs, appended, &honest), "cannot allocate memory for 3221225473 values (3072 MiB)"),
        (
            vtu("raw_2p40.vtu", 1, "header_type=\"UInt64\"", appended, &raw_2p40),
            "the data header declares 1099511627776 bytes, too many for 1 tuples x 3 components of Float32 (12 bytes)",
        ),
        (vtu("raw_1e12.vtu", 1_000_000_000_000, "header_type=\"UInt64\"", appended, &raw_1e12), "truncated: needed 12000000000000 more bytes"),
        // An image without arrays is capped before anything is allocated (fuzz/regressions/xml).
        (image, "has 2500000000 points but no point or cell arrays"),
        (
            legacy("points.vtk", "# vtk DataFile Version 4.2\nx\nASCII\nDATASET UNSTRUCTURED_GRID\nPOINTS 1000000000000 float\n0 0 0 1 0 0\n"),
            "'POINTS 1000000000000 float' (line 5): truncated: 3000000000000 values declared",
        ),
        (
            legacy(
                "field.vtk",
                "# vtk DataFile Version 4.2\nx\nASCII\nDATASET POLYDATA\nPOINTS 1 float\n0 0 0\nPOINT_DATA 1\nFIELD f 1\np 1 4000000000 float\n0\n",
            ),
            "array 'p': in 'FIELD f 1' (line 8): truncated: 4000000000 values declared",
        ),
    ];
    let limited = |input: &Path, out: &Path| {
        let start = std::time::Instant::now();
        let result = std::process::Command::new("sh")
            .args(["-c", "ulimit -v \"$1\" && shift && exec \"$@\"", "sh", &LIMIT_KB.to_string(), env!("CARGO_BIN_EXE_echo-onnx"), "--json", "--quiet"])
            .args(resample_args(input))
            .args(["--out", s(out)])
            .output()
            .unwrap();
        (result, start.elapsed())
    };
    // The limit is not what fails them: a normal resample runs under it.
    let (ok, _) = limited(&example().join("input_0000.vtu"), &d.join("ok"));
    assert!(ok.status.success(), "a normal resample fails under the limit: {}", String::from_utf8_lossy(&ok.stderr));
    for (input, phrase) in cases {
        let out = d.join("out");
        let (result, took) = limited(&input, &out);
        let name = input.file_name().unwrap().to_string_lossy().to_string();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(3), "{name}: exit status {:?}; stderr:\n{stderr}", result.status);
        assert!(!stderr.contains("panicked") && !stderr.contains("memory allocation"), "{name}: {stderr}");
        let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap_or_else(|e| panic!("{name}: stdout is not JSON ({e}); stderr:\n{stderr}"));
        let message = json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&name) && message.contains(phrase), "{name}: message {message:?} lacks {phrase:?}");
        assert!(took.as_secs_f64() < 20.0, "{name}: took {took:?}");
        assert!(!out.exists(), "{name}: output directory was created");
    }
}
