//! Ensembles (`--ensemble N`): reproducible to the bit, each member the single run with its derived
//! seed (the batch changes nothing but round-off), the written mean/std/quantiles those of the
//! written members, the fixed-batch fallback, and the usage errors.

mod common;

use std::path::Path;

use common::*;
use echo_onnx::mesh::{self, Association};

fn run_ok(args: &[&str]) -> serde_json::Value {
    let (out, json) = cli_json(args);
    assert!(out.status.success(), "echo-onnx {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    json
}

fn field(path: &Path, name: &str) -> Vec<f64> {
    let mesh = mesh::read::read_mesh(path).unwrap();
    mesh.field(Association::Point, name).unwrap_or_else(|| panic!("{} has no field '{name}'", path.display())).values.clone()
}

/// Largest |a - b| relative to the largest |b|.
fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale
}

fn forecast(out: &Path, extra: &[&str]) -> serde_json::Value {
    let (b, e) = (bundle("2d"), example().join("input.pvd"));
    let mut args = vec!["forecast", "--bundle", s(&b), "--input", s(&e), "--seed", "7", "--horizon", "12", "--out", s(out)];
    args.extend_from_slice(extra);
    run_ok(&args)
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn ensembles_are_reproducible_and_one_member_is_the_plain_run() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let flags = ["--ensemble", "4", "--quantiles", "0.1,0.9", "--members"];
    let j = forecast(&a, &flags);
    forecast(&b, &flags);
    let (fa, fb) = (files(&a), files(&b));
    // 12 frames + pvd + png + marker at the top, 12 frames + pvd in each of 4 member folders.
    assert!(fa.len() >= 12 + 2 + 4 * 13, "{} files", fa.len());
    assert_eq!(fa.len(), fb.len());
    for ((na, ba), (nb, bb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ba == bb, "same seed, {na} differs");
    }
    assert_eq!(j["sampling"]["ensemble"], 4);
    assert_eq!(j["sampling"]["segments"], 2, "12 frames chain two segments per member");
    // The fields an ensemble writes.
    let m = mesh::read::read_mesh(&a.join("frame_0005.vtu")).unwrap();
    let names: Vec<&str> = m.point_data.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["vorticity", "vorticity_std", "vorticity_q10", "vorticity_q90"]);

    // --ensemble 1 is today's run, to the byte; the JSON says nothing of ensembles.
    let (one, plain) = (dir.path().join("one"), dir.path().join("plain"));
    let j1 = forecast(&one, &["--ensemble", "1"]);
    forecast(&plain, &[]);
    assert!(j1["sampling"].get("ensemble").is_none() && j1["sampling"].get("member_seeds").is_none());
    for ((n1, b1), (n2, b2)) in files(&one).iter().zip(&files(&plain)) {
        assert_eq!(n1, n2);
        assert!(b1 == b2 || n1 == ".echo-onnx-output", "--ensemble 1 changed {n1}");
    }
}

#[test]
fn each_member_is_the_single_run_with_its_seed() {
    let dir = tempfile::tempdir().unwrap();
    let ens = dir.path().join("ens");
    let j = forecast(&ens, &["--ensemble", "3", "--members"]);
    let seeds: Vec<u64> = j["sampling"]["member_seeds"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap()).collect();
    assert_eq!(seeds.len(), 3);
    assert_eq!(seeds[0], 7, "member 0 uses --seed itself");
    assert_eq!(seeds, echo_onnx::tasks::member_seeds(7, 3));
    let mut members = vec![];
    for (k, seed) in seeds.iter().enumerate() {
        let single = dir.path().join(format!("single{k}"));
        let (b, e) = (bundle("2d"), example().join("input.pvd"));
        run_ok(&["forecast", "--bundle", s(&b), "--input", s(&e), "--seed", &seed.to_string(), "--horizon", "12", "--out", s(&single)]);
        // Frames 3 and 11: in the first segment and in the chained second one.
        for i in [3, 11] {
            let name = format!("frame_{i:04}.vtu");
            let got = field(&ens.join(format!("member_{k:02}")).join(&name), "vorticity");
            let want = field(&single.join(&name), "vorticity");
            let d = rel_diff(&got, &want);
            assert!(d < 1e-4, "member {k} (seed {seed}), frame {i}: relative difference {d:e} from the single run");
        }
        members.push(field(&ens.join(format!("member_{k:02}/frame_0011.vtu")), "vorticity"));
    }
    assert!(rel_diff(&members[0], &members[1]) > 1e-3, "members 0 and 1 are the same: the seeds were not used");
}

#[test]
fn written_statistics_are_those_of_the_written_members() {
    let dir = tempfile::tempdir().unwrap();
    let n = 5;
    let (b, e) = (bundle("2d"), example().join("input.pvd"));
    let fcst = dir.path().join("fcst");
    forecast(&fcst, &["--ensemble", "5", "--members", "--quantiles", "0.25,0.9"]);
    let gen = dir.path().join("gen");
    run_ok(&["generate", "--bundle", s(&b), "--grid", "24x20", "--seed", "2", "--ensemble", "5", "--members", "--quantiles", "0.25,0.9", "--out", s(&gen)]);
    let inv = dir.path().join("inv");
    run_ok(&["inverse", "--bundle", s(&b), "--input", s(&e), "--ensemble", "5", "--members", "--quantiles", "0.25,0.9", "--out", s(&inv)]);
    for (dir, frame) in [(&fcst, "frame_0010.vtu"), (&gen, "frame_0004.vti"), (&inv, "frame_0002.vtu")] {
        let members: Vec<Vec<f64>> = (0..n).map(|k| field(&dir.join(format!("member_{k:02}")).join(frame), "vorticity")).collect();
        let points = members[0].len();
        let (mut mean, mut std, mut q25, mut q90) = (vec![0.0; points], vec![0.0; points], vec![0.0; points], vec![0.0; points]);
        for p in 0..points {
            let mut col: Vec<f64> = members.iter().map(|m| m[p]).collect();
            let mu = col.iter().sum::<f64>() / n as f64;
            mean[p] = mu;
            std[p] = (col.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
            col.sort_by(f64::total_cmp);
            // Linear between order statistics: position (n - 1) q = 1 and 3.6 of 0..4.
            q25[p] = col[1];
            q90[p] = col[3] + 0.6 * (col[4] - col[3]);
        }
        let path = dir.join(frame);
        // The members are written in float32, the statistics from the unrounded values: a few ulps.
        for (name, want, tol) in [("vorticity", &mean, 1e-5), ("vorticity_std", &std, 1e-4), ("vorticity_q25", &q25, 1e-5), ("vorticity_q90", &q90, 1e-5)] {
            let d = rel_diff(&field(&path, name), want);
            assert!(d < tol, "{}: {name} differs from the members' by {d:e} (relative)", path.display());
        }
        assert!(std.iter().any(|&s| s > 1e-3), "{}: the members do not differ", path.display());
    }
    // The preview has the std row under the mean: one row taller than a single run's.
    let height = |dir: &Path| {
        let png = std::fs::read(dir.join("preview.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        u32::from_be_bytes(png[20..24].try_into().unwrap()) // IHDR height
    };
    let single = dir.path().join("single");
    run_ok(&["generate", "--bundle", s(&b), "--grid", "24x20", "--seed", "2", "--out", s(&single)]);
    assert!(height(&gen) > height(&single) + 100, "ensemble preview {} px high, single {} px", height(&gen), height(&single));
}

#[test]
fn an_ensemble_is_scored_by_its_mean_and_previews_any_of_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    // A truth at the predicted times: another seed's single forecast.
    let truth = dir.path().join("truth");
    let (b, e) = (bundle("2d"), example().join("input.pvd"));
    run_ok(&["forecast", "--bundle", s(&b), "--input", s(&e), "--seed", "99", "--horizon", "12", "--out", s(&truth)]);
    let t = truth.join("prediction.pvd");
    let j = forecast(&dir.path().join("mean"), &["--ensemble", "3", "--quantiles", "0.9", "--truth", s(&t)]);
    let frames = j["score"]["frames"].as_array().unwrap_or_else(|| panic!("no score: {j}"));
    assert_eq!(frames.len(), 12);
    for f in frames {
        let scored: Vec<&str> = f["fields"].as_array().unwrap().iter().map(|x| x["field"].as_str().unwrap()).collect();
        assert_eq!(scored, ["vorticity"], "the mean is scored, not the std or quantiles");
    }
    // A derived field has no truth: previewed alone rather than refused (or a panic).
    for field in ["vorticity_std", "vorticity_q90"] {
        forecast(&dir.path().join(field), &["--ensemble", "3", "--quantiles", "0.9", "--truth", s(&t), "--png-field", field]);
    }
}

#[test]
fn a_bundle_with_batch_fixed_at_one_runs_members_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("bundle");
    copy_dir(&bundle("2d"), &fixed);
    // The manifest (not the graphs, whose checksums it holds) declares batch 1 for the batched graphs.
    let text = std::fs::read_to_string(fixed.join("manifest.json")).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    for graph in ["encoder", "velocity", "decoder"] {
        for outlet in ["inputs", "outputs"] {
            for t in manifest["graphs"][graph][outlet].as_array_mut().unwrap() {
                assert_eq!(t["shape"][0], "B");
                t["shape"][0] = serde_json::json!(1);
            }
        }
    }
    std::fs::write(fixed.join("manifest.json"), serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let e = example().join("input.pvd");
    let (batched, sequential) = (dir.path().join("batched"), dir.path().join("sequential"));
    let args = |b: &Path, out: &Path| -> Vec<String> {
        ["forecast", "--bundle", s(b), "--input", s(&e), "--horizon", "4", "--ensemble", "3", "--out", s(out)].iter().map(|a| a.to_string()).collect()
    };
    let jb = run_ok(&args(&bundle("2d"), &batched).iter().map(String::as_str).collect::<Vec<_>>());
    let js = run_ok(&args(&fixed, &sequential).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(js["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("ran once per member")), "{js}");
    assert!(jb.get("notes").is_none(), "{jb}");
    // 10 Euler steps: 10 velocity calls as one batch, 30 one by one; the decoder 1 and 3. The
    // encoder runs once either way: the input that every member observes is encoded once.
    let calls = |j: &serde_json::Value| j["timings"]["onnx_calls"].as_u64().unwrap();
    assert_eq!(calls(&js) - calls(&jb), 2 * 10 + 2);
    for name in ["vorticity", "vorticity_std"] {
        let d = rel_diff(&field(&sequential.join("frame_0003.vtu"), name), &field(&batched.join("frame_0003.vtu"), name));
        assert!(d < 1e-4, "{name}: batch and one-by-one differ by {d:e}");
    }
}

#[test]
fn bad_ensemble_options_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (b, e) = (bundle("2d"), example().join("input.pvd"));
    let out = dir.path().join("x");
    for (flags, says) in [
        (&["--ensemble", "0"][..], "--ensemble 0"),
        (&["--ensemble", "100000"][..], "between 1 and"),
        (&["--ensemble", "4", "--quantiles", "1.5"][..], "outside (0, 1)"),
        (&["--ensemble", "4", "--quantiles", "0.1,0"][..], "outside (0, 1)"),
        (&["--ensemble", "4", "--quantiles", "0.1,x"][..], "not a number"),
        (&["--ensemble", "4", "--quantiles", "0.1,0.1"][..], "twice"),
        (&["--quantiles", "0.1"][..], "needs an ensemble"),
        (&["--members"][..], "needs an ensemble"),
    ] {
        let mut args = vec!["forecast", "--bundle", s(&b), "--input", s(&e), "--out", s(&out)];
        args.extend_from_slice(flags);
        let (r, json) = cli_json(&args);
        assert_eq!(r.status.code(), Some(2), "{flags:?}: {}", String::from_utf8_lossy(&r.stderr));
        let msg = json["error"]["message"].as_str().unwrap();
        assert!(msg.contains(says), "{flags:?}: '{msg}' does not say '{says}'");
        assert!(!out.exists(), "{flags:?}: a refused run wrote its output");
    }
}
