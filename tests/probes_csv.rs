//! Sparse inputs as CSV (issue 13, part 4): a few points with values, at one or several times,
//! reconstructed on a mesh or grid of the user's choice, and accepted by the other tasks too.

mod common;

use std::path::Path;

use common::*;
use echo_onnx::mesh::{self, Association};

/// 64 probes of a smooth periodic field at t = 0, 0.1, ... (the 2D test bundle's dt), `frames` times.
fn write_csv(path: &Path, frames: usize) {
    let mut text = String::from("# probes of an analytic field\nx,y,vorticity,time\n");
    for t in (0..frames).map(|k| k as f64 / 10.0) {
        for i in 0..64 {
            let (x, y) = ((i % 8) as f64 / 8.0 + 0.03, (i / 8) as f64 / 8.0 + 0.05);
            let w = (2.0 * std::f64::consts::PI * (x + t)).sin() * (2.0 * std::f64::consts::PI * y).cos();
            text += &format!("{x},{y},{w},{t}\n");
        }
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn csv_probes_reconstruct_each_time_from_itself_on_a_query_mesh() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("probes.csv");
    write_csv(&csv, 2);
    let frames = mesh::read::read_series(&csv).unwrap();
    assert_eq!(frames.iter().map(|f| f.time).collect::<Vec<_>>(), vec![0.0, 0.1]);
    assert_eq!(frames[1].mesh.points.len(), 64);
    let query = example().join("query.vtu");
    let out = dir.path().join("out");
    let (res, json) = cli_json(&[
        "reconstruct",
        "--bundle",
        s(&bundle("2d")),
        "--input",
        s(&csv),
        "--query",
        s(&query),
        "--ensemble",
        "3",
        "--from",
        "same",
        "--out",
        s(&out),
    ]);
    assert_eq!(res.status.code(), Some(0), "{}", String::from_utf8_lossy(&res.stderr));
    assert_eq!(json["output"]["times"], serde_json::json!([0.0, 0.1]));
    let n = mesh::read::read_mesh(&query).unwrap().points.len();
    let written = mesh::read::read_series(&out.join("prediction.pvd")).unwrap();
    assert_eq!(written.len(), 2);
    let w = written[1].mesh.field(Association::Point, "vorticity").unwrap();
    assert_eq!(w.values.len(), n);
    assert!(w.values.iter().all(|v| v.is_finite()) && w.values.iter().any(|&v| v != 0.0));
    // The observed frame is the sampler's fixed slot: every member reconstructs it the same (README).
    let std = written[1].mesh.field(Association::Point, "vorticity_std").unwrap();
    assert!(std.values.iter().all(|&v| v == 0.0));
    // Frames differ: each time is reconstructed from its own values.
    assert_ne!(written[0].mesh.field(Association::Point, "vorticity").unwrap().values, w.values);
}

#[test]
fn reconstruct_from_later_or_earlier_probes_generates_the_frame_with_a_spread() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("probes.csv");
    write_csv(&csv, 7);
    let b = bundle("2d");
    let run = |from: &str, extra: &[&str]| {
        let out = dir.path().join(format!("{from}{}", extra.join("_")));
        let mut args = vec!["reconstruct", "--bundle", s(&b), "--input", s(&csv), "--grid", "16x16", "--ensemble", "3", "--from", from, "--out", s(&out)];
        args.extend_from_slice(extra);
        let (res, json) = cli_json(&args);
        (res, json, out)
    };
    let times = |json: &serde_json::Value| -> Vec<f64> { json["output"]["times"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect() };
    let close = |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9);
    // after: frames at t + 0.1 .. t + 0.4 (the last slot has 4 frames): t = 0, 0.1, 0.2 of 0 .. 0.6.
    let (res, json, out) = run("after", &[]);
    assert_eq!(res.status.code(), Some(0), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(close(&times(&json), &[0.0, 0.1, 0.2]), "{json}");
    let frames = mesh::read::read_series(&out.join("prediction.pvd")).unwrap();
    assert!(frames[0].mesh.field(Association::Point, "vorticity_std").unwrap().values.iter().any(|&v| v > 0.0));
    // before: the frame at t - 0.1: t = 0.1 .. 0.6.
    let (res, json, _) = run("before", &["--times", "0.3,0.6"]);
    assert_eq!(res.status.code(), Some(0), "{}", String::from_utf8_lossy(&res.stderr));
    assert!(close(&times(&json), &[0.3, 0.6]), "{json}");
    // A time whose later frames are missing is refused, naming the frame.
    let (res, json, out) = run("after", &["--times", "0.5"]);
    assert_eq!(res.status.code(), Some(2));
    assert!(json["error"]["message"].as_str().unwrap().contains("reconstructing t = 0.5 (--from after) needs the input frame at t = 0.7"), "{json}");
    assert!(!out.exists());
}

#[test]
fn csv_probes_are_an_input_of_the_other_tasks_too() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("probes.csv");
    write_csv(&csv, 2);
    let out = dir.path().join("out");
    let (res, json) =
        cli_json(&["forecast", "--bundle", s(&bundle("2d")), "--input", s(&csv), "--grid", "16x16", "--horizon", "3", "--ensemble", "2", "--out", s(&out)]);
    assert_eq!(res.status.code(), Some(0), "{}", String::from_utf8_lossy(&res.stderr));
    assert_eq!(json["output"]["points"], 256);
    let times: Vec<f64> = json["output"]["times"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect();
    assert!(times.len() == 3 && (times[0] - 0.2).abs() < 1e-9, "{times:?}");
    // Forecast frames are generated: the members differ.
    let frames = mesh::read::read_series(&out.join("prediction.pvd")).unwrap();
    assert!(frames[2].mesh.field(Association::Point, "vorticity_std").unwrap().values.iter().any(|&v| v > 0.0));
}
