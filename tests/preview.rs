//! preview.png through the CLI: panels (frames across the horizon) told apart by the background
//! between them, a colorbar whose colour changes monotonically, the truth and error rows with
//! `--truth` (and the score in the summary), and a 3D prediction cut at its mid-plane.

mod common;

use std::path::Path;

use common::*;

const BACKGROUND: [u8; 4] = [255, 255, 255, 255];
/// Panels are at least 160 pixels wide and high; text and colorbars make much shorter runs.
const PANEL_RUN: usize = 100;

struct Picture {
    w: usize,
    h: usize,
    rgba: Vec<u8>,
}

impl Picture {
    fn open(path: &Path) -> Picture {
        let (w, h, rgba) = decode_png(path);
        Picture { w: w as usize, h: h as usize, rgba }
    }

    fn px(&self, x: usize, y: usize) -> [u8; 4] {
        self.rgba[(y * self.w + x) * 4..][..4].try_into().unwrap()
    }

    /// (start, length) of the runs of non-background pixels of row `y`.
    fn runs(&self, y: usize) -> Vec<(usize, usize)> {
        let mut out = vec![];
        let mut start = None;
        for x in 0..=self.w {
            let ink = x < self.w && self.px(x, y) != BACKGROUND;
            match (ink, start) {
                (true, None) => start = Some(x),
                (false, Some(s)) => {
                    out.push((s, x - s));
                    start = None;
                }
                _ => {}
            }
        }
        out
    }

    /// Panels per row (long runs of a pixel row) and rows of panels (bands of pixel rows that have them).
    fn layout(&self) -> (usize, usize) {
        let counts: Vec<usize> = (0..self.h).map(|y| self.runs(y).iter().filter(|r| r.1 >= PANEL_RUN).count()).collect();
        let columns = counts.iter().copied().max().unwrap_or(0);
        let bands = counts.windows(2).filter(|w| w[0] == 0 && w[1] > 0).count() + usize::from(counts[0] > 0);
        (columns, bands)
    }

    /// Vertical strips right of the panels: (x, top, length) of runs of non-background pixels at
    /// least `PANEL_RUN` long, in the column 4 pixels into the first such strip.
    fn colorbars(&self) -> Vec<(usize, usize, usize)> {
        let right_of_panels = (0..self.h).flat_map(|y| self.runs(y).into_iter().filter(|r| r.1 >= PANEL_RUN).map(|r| r.0 + r.1)).max().unwrap();
        for x in right_of_panels..self.w {
            let mut strips = vec![];
            let mut start = None;
            for y in 0..=self.h {
                let ink = y < self.h && self.px(x, y) != BACKGROUND;
                match (ink, start) {
                    (true, None) => start = Some(y),
                    (false, Some(s)) => {
                        if y - s >= PANEL_RUN {
                            strips.push((x + 4, s, y - s));
                        }
                        start = None;
                    }
                    _ => {}
                }
            }
            if !strips.is_empty() {
                return strips;
            }
        }
        vec![]
    }
}

fn run_ok(args: &[&str]) -> serde_json::Value {
    let (out, json) = cli_json(args);
    assert!(out.status.success(), "echo-onnx {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    json
}

/// Viridis's green grows with the value: down a colorbar (largest value on top) it never grows.
fn assert_viridis_bar(p: &Picture, (x, top, len): (usize, usize, usize)) {
    let green: Vec<u8> = (top..top + len).map(|y| p.px(x, y)[1]).collect();
    assert!(green.windows(2).all(|w| w[1] <= w[0]), "the colorbar's green is not monotonic: {green:?}");
    assert!(green[0] > 200 && green[len - 1] < 20, "the colorbar spans viridis: {} .. {}", green[0], green[len - 1]);
}

#[test]
fn a_forecast_preview_shows_frames_across_the_horizon_with_a_colorbar() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f");
    let e = example().join("input.pvd");
    run_ok(&["forecast", "--bundle", s(&bundle("2d")), "--input", s(&e), "--horizon", "20", "--out", s(&out)]);
    let p = Picture::open(&out.join("preview.png"));
    // 20 frames: 4 panels (first, two between, last) of 384 pixels at most, in one row.
    assert_eq!(p.layout(), (4, 1));
    assert!(p.w >= 4 * 160 && p.w <= 2400 && p.h < p.w, "{} x {}", p.w, p.h);
    let bars = p.colorbars();
    assert_eq!(bars.len(), 1, "{bars:?}");
    assert_viridis_bar(&p, bars[0]);

    // --png-frame shows that frame alone.
    let one = dir.path().join("one");
    run_ok(&["forecast", "--bundle", s(&bundle("2d")), "--input", s(&e), "--horizon", "3", "--png-frame", "1", "--out", s(&one)]);
    assert_eq!(Picture::open(&one.join("preview.png")).layout(), (1, 1));
}

#[test]
fn with_truth_the_preview_adds_truth_and_error_rows_and_the_summary_a_score() {
    let dir = tempfile::tempdir().unwrap();
    let e = example().join("input.pvd");
    let b = bundle("2d");
    // The truth: the same forecast (same seed), so the error is Float32 rounding only, and with
    // its frames cut to the first 4 of 8.
    let first = dir.path().join("first");
    run_ok(&["forecast", "--bundle", s(&b), "--input", s(&e), "--horizon", "8", "--out", s(&first)]);
    let pvd = std::fs::read_to_string(first.join("prediction.pvd")).unwrap();
    let kept: Vec<&str> = pvd.lines().filter(|l| !l.contains("<DataSet") || (0..4).any(|k| l.contains(&format!("frame_{k:04}.vtu")))).collect();
    std::fs::write(first.join("truth.pvd"), kept.join("\n")).unwrap();

    let out = dir.path().join("scored");
    let j = run_ok(&["forecast", "--bundle", s(&b), "--input", s(&e), "--horizon", "8", "--truth", s(&first.join("truth.pvd")), "--out", s(&out)]);
    let sc = &j["score"];
    assert_eq!(sc["frames"].as_array().unwrap().len(), 4);
    assert_eq!(sc["unmatched_prediction_frames"], 4);
    for f in sc["frames"].as_array().unwrap() {
        let m = &f["fields"][0];
        assert!(m["rel_l2"].as_f64().unwrap() < 1e-6 && m["pearson"].as_f64().unwrap() > 0.999999, "{f}");
    }
    let p = Picture::open(&out.join("preview.png"));
    // The scored frames (4): first, middle, last; three rows: prediction, truth, error.
    assert_eq!(p.layout(), (3, 3));
    let bars = p.colorbars();
    assert_eq!(bars.len(), 2, "a shared colorbar for prediction and truth, one for the error: {bars:?}");
    assert_viridis_bar(&p, bars[0]);
    assert!(bars[0].2 > 2 * bars[1].2, "the shared colorbar spans two rows: {bars:?}");

    // Another seed: a real error, and a score that says so.
    let other = dir.path().join("other");
    let j =
        run_ok(&["forecast", "--bundle", s(&b), "--input", s(&e), "--horizon", "8", "--seed", "5", "--truth", s(&first.join("truth.pvd")), "--out", s(&other)]);
    assert!(j["score"]["frames"][0]["fields"][0]["rel_l2"].as_f64().unwrap() > 1e-3, "{}", j["score"]);
}

#[test]
fn a_3d_prediction_is_previewed_at_its_mid_plane() {
    let dir = tempfile::tempdir().unwrap();
    let input = cloud_3d(dir.path());
    let out = dir.path().join("3d");
    run_ok(&["forecast", "--bundle", s(&bundle("3d")), "--input", s(&input), "--horizon", "3", "--out", s(&out)]);
    let p = Picture::open(&out.join("preview.png"));
    assert_eq!(p.layout(), (3, 1));
    assert_eq!(p.colorbars().len(), 1);
}
