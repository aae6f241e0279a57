//! Output safety: `--force` replaces only earlier outputs of echo-onnx and never a directory that
//! holds an input; an interrupted run leaves nothing behind; stale staging directories of dead runs
//! are swept, a live run's never; a file in the way of `--out` is named.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use echo_onnx::output::MARKER;

fn forecast(input: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> =
        ["forecast", "--bundle", s(&bundle("2d")), "--input", s(input), "--out", s(out), "--steps", "1"].iter().map(|x| x.to_string()).collect();
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

/// A pid that is certainly dead: a process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn stale_staging_directories_of_dead_runs_are_swept_and_live_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join(format!(".out.partial-{}", dead_pid()));
    let stale_other = dir.path().join(format!(".other.partial-{}", dead_pid()));
    for d in [&stale, &stale_other] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join("frame_0000.vtu"), vec![0u8; 1 << 20]).unwrap();
    }
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let live = dir.path().join(format!(".out.partial-{}", sleeper.id()));
    std::fs::create_dir(&live).unwrap();
    std::fs::write(live.join("frame_0000.vtu"), "being written").unwrap();
    // Not staging directories: never touched.
    let lookalikes = [dir.path().join("out.partial-1"), dir.path().join(".out.partial-x1")];
    for d in &lookalikes {
        std::fs::create_dir(d).unwrap();
    }

    let out = dir.path().join("out");
    let r = cli(&["--quiet", "resample", "--input", s(&example().join("input.pvd")), "--grid", "16x16", "--out", s(&out)]);
    let kept = names(dir.path());
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(!stale.exists() && !stale_other.exists(), "stale staging directories were not swept: {kept:?}");
    assert!(live.join("frame_0000.vtu").is_file(), "a live run's staging directory was touched: {kept:?}");
    assert!(lookalikes.iter().all(|d| d.is_dir()), "{kept:?}");
    assert!(out.join("grid.vti").is_file());
}

/// When to send the signal: after a delay, or as soon as the run's staging directory holds `n` frames
/// (the writing phase, whatever the machine's speed).
#[derive(Debug, Clone, Copy)]
enum When {
    After(Duration),
    Written(usize),
}

/// The number of frame files in the staging directories in `parent`.
fn staged_frames(parent: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else { return 0 };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
        .filter_map(|e| std::fs::read_dir(e.path()).ok())
        .map(|d| d.flatten().filter(|f| f.file_name().to_string_lossy().starts_with("frame_")).count())
        .sum()
}

/// Start the workload, send `sig` at `when`, and check what is left in `parent`: nothing, or (if the
/// run finished first) exactly the complete output. Returns the exit code and whether it was interrupted.
fn interrupt(argv: &[String], parent: &Path, sig: i32, when: When) -> (i32, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_echo-onnx")).args(argv).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut finished = false;
    match when {
        // Never reaped before the kill: at worst the signal reaches a zombie, never a reused pid.
        When::After(delay) => std::thread::sleep(delay),
        When::Written(n) => {
            let start = Instant::now();
            while staged_frames(parent) < n {
                finished = child.try_wait().unwrap().is_some();
                if finished {
                    break; // reaped: its pid may belong to another process now
                }
                assert!(start.elapsed() < Duration::from_secs(300), "the run never wrote {n} frames");
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
    if !finished {
        unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    }
    let done = child.wait_with_output().unwrap();
    let code = done.status.code().unwrap_or_else(|| panic!("killed by signal {sig} at {when:?} instead of exiting: {:?}", done.status));
    let left = names(parent);
    if code == 128 + sig && left.is_empty() {
        assert!(String::from_utf8_lossy(&done.stderr).contains("interrupted by"), "{}", String::from_utf8_lossy(&done.stderr));
        return (code, true);
    }
    // Too late to interrupt (finished, or committed just before the signal): the output must be complete.
    assert!(code == 0 || code == 128 + sig, "exit {code} after signal {sig} at {when:?}: {}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(left, ["out"], "signal {sig} at {when:?}, exit {code}: a partial output or staging directory is left");
    check_complete(&parent.join("out"));
    (code, false)
}

fn check_complete(out: &Path) {
    assert!(out.join(MARKER).is_file(), "{} is not marked", out.display());
    let pvd = std::fs::read_to_string(out.join("prediction.pvd")).unwrap();
    let frames: Vec<&str> = pvd.split("file=\"").skip(1).map(|s| s.split('"').next().unwrap()).collect();
    assert!(!frames.is_empty());
    for f in frames {
        let path = out.join(f);
        assert!(echo_onnx::mesh::read::read_mesh(&path).is_ok(), "{} is not a complete frame", path.display());
    }
}

#[test]
fn interrupted_runs_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let input = example().join("input.pvd");
    // Several segments on a large grid: long enough to interrupt in start-up, sampling and writing.
    let workload = |parent: &Path| forecast(&input, &parent.join("out"), &["--grid", "512x512", "--horizon", "24", "--quiet", "--json"]);

    let reference = dir.path().join("reference");
    std::fs::create_dir(&reference).unwrap();
    let t = Instant::now();
    let (out, json) = run(&workload(&reference));
    let total = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_complete(&reference.join("out"));
    let ph = &json["phases"];
    let secs = |k: &str| ph[k].as_f64().unwrap();
    let (startup, run_s, write_s) = (secs("read_s") + secs("load_s") + secs("geometry_s"), secs("run_s"), secs("write_s"));
    eprintln!("uninterrupted: {total:?} (start-up {startup:.2} s, sampling {run_s:.2} s, writing {write_s:.2} s)");
    // The process starts a little before the phase clock: the timed signals land in the named phase
    // or close to it; the writing ones wait until frames are staged (24 frames are written in parallel).
    let at = |s: f64| When::After(Duration::from_secs_f64(s.max(0.0)));
    let moments = [
        ("start-up", libc::SIGINT, at(0.05)),
        ("start-up", libc::SIGHUP, at(startup * 0.8)),
        ("sampling", libc::SIGTERM, at(startup + run_s * 0.3)),
        ("sampling", libc::SIGINT, at(startup + run_s * 0.9)),
        ("writing", libc::SIGTERM, When::Written(1)),
        ("writing", libc::SIGINT, When::Written(12)),
    ];
    let mut interrupted = 0;
    for (i, (phase, sig, when)) in moments.into_iter().enumerate() {
        let parent = dir.path().join(format!("run{i}"));
        std::fs::create_dir(&parent).unwrap();
        let (code, stopped) = interrupt(&workload(&parent), &parent, sig, when);
        eprintln!(
            "signal {sig} in {phase} at {when:?}: exit {code}, {}",
            if stopped { "interrupted, nothing left" } else { "finished first, output complete" }
        );
        interrupted += usize::from(stopped);
    }
    // The test means something only if most signals landed before the commit.
    assert!(interrupted >= 4, "only {interrupted} of 6 runs were interrupted: the workload is too short for this machine");
}
