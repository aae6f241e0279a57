//! Full fields from probes on real OpenFOAM output (issue 13, part 4). tests/probes/run.sh runs
//! OpenFOAM's `probes` function object on the plugin's example case in three ways (`#includeFunc`
//! with a restart, inline in controlDict, `#include` with a probe outside the mesh) and then this
//! file with ECHO_PROBES_WORK set to its work directory (built only with `--features openfoam-tests`).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use echo_onnx::mesh::{self, Association};

fn work() -> PathBuf {
    PathBuf::from(std::env::var("ECHO_PROBES_WORK").expect("ECHO_PROBES_WORK: run these tests through tests/probes/run.sh"))
}

/// The rows of a probe file, parsed independently of the crate: (time, values).
fn rows(path: &Path) -> Vec<(f64, Vec<f64>)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let v: Vec<f64> = l.replace(['(', ')'], " ").split_whitespace().map(|x| x.parse().unwrap()).collect();
            (v[0], v[1..].to_vec())
        })
        .collect()
}

/// Copy a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn reconstruct(input: &Path, out: &Path, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let bundle = work().join("bundle");
    let mut args = vec!["reconstruct", "--bundle", s(&bundle), "--input", s(input), "--grid", "16x16", "--out", s(out)];
    args.extend_from_slice(extra);
    cli_json(&args)
}

#[test]
fn include_func_case_with_a_restart_reads_every_time_once() {
    let case = work().join("run");
    let frames = mesh::read::read_series(&case).unwrap();
    let dir = case.join("postProcessing/probes");
    let (first, restart) = (rows(&dir.join("0/T")), rows(&dir.join("0.4/T")));
    // The restart from t = 0.4 rewrote t = 0.41 .. 0.6: the first run's rows there are replaced.
    assert!(first.last().unwrap().0 > restart[0].0, "the runs overlap");
    let expected: Vec<&(f64, Vec<f64>)> = first.iter().filter(|r| r.0 < restart[0].0).chain(&restart).collect();
    assert_eq!(frames.len(), expected.len());
    assert_eq!(frames.len(), 100, "t = 0.01 .. 1 every 0.01");
    for (f, (t, values)) in frames.iter().zip(expected) {
        assert_eq!(f.time, *t);
        assert_eq!(f.mesh.field(Association::Point, "T").unwrap().values, *values);
        assert!(f.mesh.cells.is_empty());
    }
    // Locations: the dictionary's, in its order.
    let m = &frames[0].mesh;
    assert_eq!(m.points.len(), 12);
    assert_eq!(m.points[0], [0.1, 0.1, 0.01]);
    assert_eq!(m.points[11], [0.9, 0.9, 0.01]);
    // U is the case's uniform (0.5 0.25 0), as a 3-component vector at every probe and time.
    let last = &frames[99].mesh;
    let u = last.field(Association::Point, "U").unwrap();
    assert_eq!(u.components, 3);
    assert!(u.values.chunks(3).all(|c| c == [0.5, 0.25, 0.0]), "{:?}", &u.values[..6]);
    assert_eq!(last.field(Association::Point, "T").unwrap().values, restart.last().unwrap().1);
    // The blob has reached some probes by t = 1 and T stays in [0, 1] (up to the scheme's undershoot).
    let t = &last.field(Association::Point, "T").unwrap().values;
    assert!(t.iter().all(|&v| (-1e-3..=1.001).contains(&v)) && t.iter().filter(|&&v| v > 0.1).count() >= 2, "{t:?}");
}

#[test]
fn inline_probes_reconstruct_on_a_grid_at_every_or_chosen_times() {
    let case = work().join("inline");
    let dir = tempfile::tempdir().unwrap();
    let (out, json) = reconstruct(&case, &dir.path().join("all"), &["--from", "same"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let times: Vec<f64> = rows(&case.join("postProcessing/blobProbes/0/T")).iter().map(|r| r.0).collect();
    assert_eq!(times.len(), 10, "written every 5 steps of 0.01 to t = 0.5");
    let written: Vec<f64> = json["output"]["times"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect();
    // (serde_json's default parser may be an ulp off: the times themselves are checked in the .pvd below.)
    assert!(written.len() == times.len() && written.iter().zip(&times).all(|(a, b)| (a - b).abs() < 1e-12), "{written:?} vs {times:?}");
    assert_eq!(json["output"]["points"], 256);
    let frames = mesh::read::read_series(&dir.path().join("all/prediction.pvd")).unwrap();
    assert_eq!(frames.iter().map(|f| f.time).collect::<Vec<_>>(), times);
    let t = frames[9].mesh.field(Association::Point, "T").unwrap();
    assert_eq!(t.values.len(), 256);
    assert!(t.values.iter().all(|v| v.is_finite()));

    let (out, json) = reconstruct(&case, &dir.path().join("one"), &["--times", "0.25", "--from", "same"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json["output"]["times"].as_array().unwrap().len(), 1);
    // The default (--from after, the bundle's dt 0.1, a last slot of 4 frames) needs rows at
    // t + 0.1 .. t + 0.4: t = 0.05 and 0.1 of the rows 0.05 .. 0.5.
    let (out, json) = reconstruct(&case, &dir.path().join("after"), &["--ensemble", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let after: Vec<f64> = json["output"]["times"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect();
    assert!(after.len() == 2 && (after[0] - times[0]).abs() < 1e-12 && (after[1] - times[1]).abs() < 1e-12, "{after:?}");
    let (out, json) = reconstruct(&case, &dir.path().join("none"), &["--times", "0.26", "--from", "same"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(json["error"]["message"].as_str().unwrap().contains("no frame at t = 0.26"), "{json}");
}

/// Run the CLI on `case` and check the exit code and the message's key phrases.
fn refused(case: &Path, exit: i32, phrases: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let (out, json) = reconstruct(case, &out_dir, &[]);
    let message = json["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(out.status.code(), Some(exit), "{message}");
    assert!(phrases.iter().all(|p| message.contains(p)), "{message:?} lacks {phrases:?}");
    assert!(json["error"]["hint"].as_str().is_some_and(|h| !h.is_empty()), "no hint: {json}");
    assert!(!out_dir.exists());
}

#[test]
fn a_probe_outside_the_mesh_is_refused() {
    refused(&work().join("outside"), 3, &["probe 1 at (1.5 0.5 0.01) lies outside the OpenFOAM mesh", "Not Found"]);
}

/// A copy of the restarted case with `edit` applied to it.
fn edited(dir: &Path, edit: impl Fn(&Path)) -> PathBuf {
    let case = dir.join("case");
    copy_tree(&work().join("run"), &case);
    edit(&case);
    case
}

fn replace(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn probe_files_that_do_not_match_their_dictionary_or_hold_bad_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The dictionary lost a probe after the run.
    let case = edited(&d.join("count"), |c| replace(&c.join("system/probes"), "(0.9 0.9 0.01)", ""));
    refused(&case, 3, &["has 12 probes", "lists 11"]);
    // The dictionary moved a probe after the run.
    let case = edited(&d.join("moved"), |c| replace(&c.join("system/probes"), "(0.7 0.1 0.01)", "(0.75 0.1 0.01)"));
    refused(&case, 3, &["probe 3 is at (0.7", "puts it at (0.75 0.1 0.01)"]);
    // NaN in the restart's last row.
    let case = edited(&d.join("nan"), |c| {
        let path = c.join("postProcessing/probes/0.4/T");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let last = lines.pop().unwrap();
        let mut cols: Vec<&str> = last.split_whitespace().collect();
        cols[3] = "nan";
        lines.push(cols.join(" "));
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    });
    refused(&case, 3, &["0.4/T", "probe 2 at t = 1", "NaN"]);
    // A row cut short (a crash while writing).
    let case = edited(&d.join("ragged"), |c| {
        let path = c.join("postProcessing/probes/0.4/T");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.trim_end().len() - 30]).unwrap();
    });
    refused(&case, 3, &["0.4/T", "ragged row at t = 1"]);
    // A field the dictionary lists but no file holds.
    let case = edited(&d.join("field"), |c| replace(&c.join("system/probes"), "fields (T U);", "fields (T U p);"));
    refused(&case, 3, &["lists field 'p' but there is no file for it"]);
}
