//! `echo-onnx score`: hand-computed scores on small meshes written here (the same mesh, and a
//! different mesh with a linear truth, which the cell interpolation reproduces exactly), the files
//! of `--out`, and bad inputs with their error kinds and exit codes.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use echo_onnx::mesh::{self, Cells, Field, Mesh};

/// A structured quad mesh of `n` x `n` points over [0, 1]^2.
fn quads(n: usize) -> Mesh {
    let h = 1.0 / (n - 1) as f64;
    let points = (0..n * n).map(|k| [(k % n) as f64 * h, (k / n) as f64 * h, 0.0]).collect();
    let mut cells = Cells { offsets: vec![0], ..Default::default() };
    for j in 0..n - 1 {
        for i in 0..n - 1 {
            let k = j * n + i;
            cells.connectivity.extend([k, k + 1, k + n + 1, k + n]);
            cells.offsets.push(cells.connectivity.len());
            cells.types.push(9);
        }
    }
    Mesh { points, cells, ..Default::default() }
}

fn scalar(name: &str, values: Vec<f64>) -> Field {
    Field { name: name.into(), components: 1, values }
}

/// Write a series of `mesh` with the given point fields per frame; returns the .pvd path.
fn series(dir: &Path, name: &str, mesh: &Mesh, frames: &[(f64, Vec<Field>)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut entries = vec![];
    for (k, (t, fields)) in frames.iter().enumerate() {
        let file = format!("{name}_{k}.vtu");
        let m = Mesh { point_data: fields.clone(), ..mesh.clone() };
        mesh::write::write_vtu(&dir.join(&file), &m).unwrap();
        entries.push((*t, file));
    }
    let pvd = dir.join(format!("{name}.pvd"));
    mesh::write::write_pvd(&pvd, &entries).unwrap();
    pvd
}

fn close(got: &serde_json::Value, want: f64, tol: f64, what: &str) {
    let g = got.as_f64().unwrap_or_else(|| panic!("{what}: {got} is not a number"));
    assert!((g - want).abs() <= tol, "{what}: got {g}, want {want}");
}

#[test]
fn same_mesh_scores_match_hand_computed_values_and_out_writes_json_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let m = quads(3);
    let t: Vec<f64> = (1..=9).map(f64::from).collect();
    // Frame 1: p = t + (1, 0, ..., 0, -1). Frame 2: p = 2 t. Values are small integers: exact in Float32.
    let mut p1 = t.clone();
    p1[0] += 1.0;
    p1[8] -= 1.0;
    let p2: Vec<f64> = t.iter().map(|v| 2.0 * v).collect();
    let pred = series(&dir.path().join("p"), "p", &m, &[(0.1, vec![scalar("u", p1)]), (0.2, vec![scalar("u", p2)])]);
    // The truth has one frame more (0.3), and its times carry the rounding of decimal text.
    let truth_frames: Vec<(f64, Vec<Field>)> =
        [0.1, 0.2 + 1e-12, 0.3].iter().map(|&time| (time, vec![scalar("u", t.clone()), scalar("extra", vec![0.0; 9])])).collect();
    let truth = series(&dir.path().join("t"), "t", &m, &truth_frames);
    let out = dir.path().join("score");
    let (o, j) = cli_json(&["score", "--prediction", s(&pred), "--truth", s(&truth), "--out", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sc = &j["score"];
    assert!(sc["resampling"].as_str().unwrap().starts_with("none"), "{}", sc["resampling"]);
    assert_eq!(sc["frames"].as_array().unwrap().len(), 2);
    assert_eq!((sc["unmatched_prediction_frames"].as_u64(), sc["unmatched_truth_frames"].as_u64()), (Some(0), Some(1)));
    // ||p - t||^2 = 2, ||t||^2 = 1 + 4 + ... + 81 = 285. Centred t = -4..4 (sum of squares 60),
    // centred p = t_c + d (sum of squares 46), covariance sum 60 - 4 - 4 = 52.
    let f1 = &sc["frames"][0]["fields"][0];
    assert_eq!(f1["field"], "u");
    close(&f1["rel_l2"], (2.0f64 / 285.0).sqrt(), 1e-12, "rel_l2 frame 1");
    close(&f1["max_abs"], 1.0, 1e-12, "max_abs frame 1");
    close(&f1["pearson"], 52.0 / (60.0f64 * 46.0).sqrt(), 1e-12, "pearson frame 1");
    let f2 = &sc["frames"][1]["fields"][0];
    close(&f2["rel_l2"], 1.0, 1e-12, "rel_l2 frame 2");
    close(&f2["max_abs"], 9.0, 1e-12, "max_abs frame 2");
    close(&f2["pearson"], 1.0, 1e-12, "pearson frame 2");
    close(&sc["overall"][0]["rel_l2"], ((2.0f64 / 285.0).sqrt() + 1.0) / 2.0, 1e-12, "mean rel_l2");
    close(&sc["overall"][0]["max_abs"], 9.0, 0.0, "largest max_abs");

    // --out: score.json is the summary's score; score.png is a plot with the field's line.
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("score.json")).unwrap()).unwrap();
    assert_eq!(&written, sc);
    let (w, h, rgba) = decode_png(&out.join("score.png"));
    assert_eq!((w, h), (900, 540));
    let blue = rgba.chunks(4).filter(|c| c[..3] == [31, 119, 180]).count();
    assert!(blue > 200, "the line and legend of 'u' are drawn in the first line colour ({blue} pixels)");

    // For people: a table with a row per frame and field.
    let text = cli(&["score", "--prediction", s(&pred), "--truth", s(&truth)]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("rel_l2") && text.contains("0.0838"), "{text}");
}

#[test]
fn a_linear_truth_on_another_mesh_is_interpolated_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let f = |p: &[f64; 3]| 1.0 + 2.0 * p[0] + 3.0 * p[1];
    // The truth on a 5 x 5 quad mesh; the prediction on scattered points inside it (no cells).
    let tm = quads(5);
    let truth = series(&dir.path().join("t"), "t", &tm, &[(0.5, vec![scalar("u", tm.points.iter().map(f).collect())])]);
    let pts: Vec<[f64; 3]> = vec![[0.13, 0.71, 0.0], [0.5, 0.5, 0.0], [0.9, 0.05, 0.0], [0.33, 0.29, 0.0], [0.0, 1.0, 0.0], [0.61, 0.87, 0.0]];
    let exact: Vec<f64> = pts.iter().map(f).collect();
    // p = exact + (0.5, 0, ..., 0, -0.25).
    let mut p = exact.clone();
    p[0] += 0.5;
    p[5] -= 0.25;
    let pm = Mesh { points: pts, ..Default::default() };
    let pred = series(&dir.path().join("p"), "p", &pm, &[(0.5, vec![scalar("u", p.clone())])]);
    let (o, j) = cli_json(&["score", "--prediction", s(&pred), "--truth", s(&truth)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sc = &j["score"];
    assert!(sc["resampling"].as_str().unwrap().contains("linear inside the truth's cells"), "{}", sc["resampling"]);
    let norm = exact.iter().map(|v| v * v).sum::<f64>().sqrt();
    // Values pass through Float32 files and the Float32 resampler: a few 1e-7 relative.
    let m = &sc["frames"][0]["fields"][0];
    close(&m["rel_l2"], (0.25f64 + 0.0625).sqrt() / norm, 1e-5, "rel_l2");
    close(&m["max_abs"], 0.5, 1e-5, "max_abs");
}

#[test]
fn cell_data_is_scored_per_cell() {
    let dir = tempfile::tempdir().unwrap();
    let m = quads(3); // 4 cells
    let write = |name: &str, values: Vec<f64>| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        let mesh = Mesh { cell_data: vec![scalar("p", values)], ..m.clone() };
        mesh::write::write_vtu(&d.join("f.vtu"), &mesh).unwrap();
        d.join("f.vtu")
    };
    // A single mesh file is one frame at t = 0. p - t = (0, 0, 0, 2), ||t||^2 = 4 + 4 + 16 + 16.
    let pred = write("p", vec![2.0, 2.0, 4.0, 6.0]);
    let truth = write("t", vec![2.0, 2.0, 4.0, 4.0]);
    let (o, j) = cli_json(&["score", "--prediction", s(&pred), "--truth", s(&truth)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(j["score"]["association"], "cell");
    let f = &j["score"]["frames"][0]["fields"][0];
    close(&f["rel_l2"], 2.0 / 40.0f64.sqrt(), 1e-12, "rel_l2");
    close(&f["max_abs"], 2.0, 1e-12, "max_abs");
    // Asking for point data that is not there names the association.
    let (o, j) = cli_json(&["score", "--prediction", s(&pred), "--truth", s(&truth), "--association", "point"]);
    assert_eq!((o.status.code(), j["error"]["kind"].as_str()), (Some(3), Some("missing-field")), "{j}");
}

fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn bad_inputs_get_clear_errors_of_the_right_kind() {
    let dir = tempfile::tempdir().unwrap();
    let m = quads(3);
    let ones = vec![1.0; 9];
    let pred = series(&dir.path().join("p"), "p", &m, &[(1.0, vec![scalar("u", ones.clone())]), (2.0, vec![scalar("u", ones.clone())])]);
    let two = series(&dir.path().join("two"), "two", &m, &[(1.0, vec![scalar("u", ones.clone()), scalar("v", ones.clone())])]);
    let mut nan = ones.clone();
    nan[4] = f64::NAN;
    let vector = Field { name: "u".into(), components: 2, values: vec![1.0; 18] };
    let cases: Vec<(&str, PathBuf, PathBuf, i32, &str, &str)> = vec![
        // (case, prediction, truth, exit code, kind, phrase in the message)
        (
            "another field name",
            pred.clone(),
            series(&dir.path().join("a"), "a", &m, &[(1.0, vec![scalar("w", ones.clone())])]),
            3,
            "missing-field",
            "no point field 'u'",
        ),
        (
            "a field missing",
            two.clone(),
            series(&dir.path().join("b"), "b", &m, &[(1.0, vec![scalar("u", ones.clone())])]),
            3,
            "missing-field",
            "no point field 'v'",
        ),
        ("other components", pred.clone(), series(&dir.path().join("c"), "c", &m, &[(1.0, vec![vector])]), 3, "field-shape", "components"),
        ("no common time", pred.clone(), series(&dir.path().join("d"), "d", &m, &[(1.5, vec![scalar("u", ones.clone())])]), 2, "usage", "no frame"),
        ("NaN in the truth", pred.clone(), series(&dir.path().join("e"), "e", &m, &[(2.0, vec![scalar("u", nan.clone())])]), 3, "non-finite", "NaN at point 4"),
        (
            "NaN in the prediction",
            series(&dir.path().join("f"), "f", &m, &[(1.0, vec![scalar("u", nan.clone())])]),
            pred.clone(),
            3,
            "non-finite",
            "NaN at point 4",
        ),
        ("a missing file", pred.clone(), dir.path().join("nothing.pvd"), 7, "io", "nothing.pvd"),
    ];
    for (case, p, t, code, kind, phrase) in cases {
        let (o, j) = cli_json(&["score", "--prediction", s(&p), "--truth", s(&t)]);
        assert_eq!(o.status.code(), Some(code), "{case}: {j}");
        assert_eq!(j["error"]["kind"], kind, "{case}: {j}");
        let message = j["error"]["message"].as_str().unwrap();
        assert!(message.contains(phrase), "{case}: '{message}' lacks '{phrase}'");
    }
}
