//! Output safety: `--force` replaces only earlier outputs of echo-onnx and never a directory that
//! holds an input; a file in the way of `--out` is named.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use echo_onnx::output::MARKER;

fn forecast(input: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["forecast", "--bundle", s(&bundle("2d")), "--input", s(input), "--out", s(out), "--steps", "1"].iter().map(|x| x.to_string()).collect();
    v.extend(extra.iter().map(|x| x.to_string()));
    v
}

fn run(argv: &[String]) -> (std::process::Output, serde_json::Value) {
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    cli_json(&argv)
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn assert_refused(out: &std::process::Output, json: &serde_json::Value, message: &str) {
    assert_eq!(out.status.code(), Some(7), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json["error"]["kind"], "output");
    let text = json["error"]["message"].as_str().unwrap();
    assert!(text.contains(message), "message {text:?} should contain {message:?}");
}

#[test]
fn force_replaces_an_earlier_output_but_not_a_directory_of_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let input = example().join("input.pvd");

    // A directory of the user: refused with the reason, every file kept.
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("keep.txt"), "mine").unwrap();
    let (out, json) = run(&forecast(&input, &mine, &["--force"]));
    assert_refused(&out, &json, "was not written by echo-onnx");
    assert!(json["error"]["hint"].as_str().unwrap().contains("delete"), "{json}");
    assert_eq!(names(&mine), ["keep.txt"]);
    assert_eq!(names(dir.path()), ["mine"], "no staging directory left");

    // An output of echo-onnx: marked, and replaced as a whole by --force.
    let earlier = dir.path().join("earlier");
    let (out, _) = run(&forecast(&input, &earlier, &[]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(earlier.join(MARKER).is_file(), "the output is not marked");
    std::fs::write(earlier.join("stale.txt"), "old").unwrap();
    let (out, json) = run(&forecast(&input, &earlier, &["--force"]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!earlier.join("stale.txt").exists(), "the old directory was not replaced");
    assert!(earlier.join(MARKER).is_file() && earlier.join("prediction.pvd").is_file());
    for f in json["output"]["files"].as_array().unwrap() {
        assert!(Path::new(f.as_str().unwrap()).is_file(), "{f} is missing");
    }
    assert_eq!(names(dir.path()), ["earlier", "mine"], "no staging directory left");
}

#[test]
fn force_never_replaces_a_directory_holding_an_input_or_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    // The input's folder, marked as if it were an output (the worst case: the marker alone must not do).
    let data = dir.path().join("work/data");
    copy_dir(&example(), &data);
    std::fs::write(data.join(MARKER), "planted").unwrap();
    std::fs::write(dir.path().join("work").join(MARKER), "planted").unwrap();
    let before = names(&data);
    let input = data.join("input.pvd");
    for out_dir in [data.clone(), dir.path().join("work"), dir.path().join("work/../work/data")] {
        let (out, json) = run(&forecast(&input, &out_dir, &["--force"]));
        assert_refused(&out, &json, "an input of this run");
        assert_eq!(names(&data), before, "--out {}: input files were touched", out_dir.display());
    }

    // A .pvd whose frames live elsewhere: the folder of a frame is an input too.
    let frames = dir.path().join("frames");
    copy_dir(&example(), &frames);
    std::fs::write(frames.join(MARKER), "planted").unwrap();
    let series = dir.path().join("series.pvd");
    let pvd = std::fs::read_to_string(frames.join("input.pvd")).unwrap().replace("file=\"", "file=\"frames/");
    std::fs::write(&series, pvd).unwrap();
    let (out, json) = run(&forecast(&series, &frames, &["--force"]));
    assert_refused(&out, &json, "an input of this run");
    assert!(frames.join("input.pvd").is_file());

    // The bundle (copied, marked).
    let b = dir.path().join("bundle");
    copy_dir(&bundle("2d"), &b);
    std::fs::write(b.join(MARKER), "planted").unwrap();
    let mut argv = forecast(&input, &b, &["--force"]);
    argv[2] = s(&b).to_string();
    let (out, json) = run(&argv);
    assert_refused(&out, &json, "an input of this run");
    assert!(b.join("manifest.json").is_file());

    // `.` and `..`: the current directory and its parent, marked.
    let cwd = dir.path().join("cwd/inner");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::write(cwd.join("keep.txt"), "mine").unwrap();
    std::fs::write(cwd.join(MARKER), "planted").unwrap();
    std::fs::write(cwd.join("..").join(MARKER), "planted").unwrap();
    for out_dir in [".", ".."] {
        let argv = forecast(&input, Path::new(out_dir), &["--force", "--json", "--quiet"]);
        let out = Command::new(env!("CARGO_BIN_EXE_echo-onnx")).args(&argv).current_dir(&cwd).output().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_refused(&out, &json, "is the current directory or one of its parents");
        assert!(cwd.join("keep.txt").is_file());
    }
}

#[test]
fn out_that_is_or_lies_under_a_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = example().join("input.pvd");
    let file = dir.path().join("some_file.txt");
    std::fs::write(&file, "data").unwrap();
    for force in [&[][..], &["--force"][..]] {
        let (out, json) = run(&forecast(&input, &file, force));
        assert_refused(&out, &json, "is a file, not a directory");
        let (out, json) = run(&forecast(&input, &file.join("sub/deeper"), force));
        assert_refused(&out, &json, &format!("'{}' is a file, not a directory", file.display()));
        assert!(!json["error"]["message"].as_str().unwrap().contains("File exists"));
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
    assert_eq!(names(dir.path()), ["some_file.txt"]);
}
