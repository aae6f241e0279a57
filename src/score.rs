//! Scoring a prediction series against a truth series: frames matched by time, fields by name,
//! the truth resampled onto the prediction's points (or cells) when the meshes differ, and per
//! frame and field the relative L2 error, the largest absolute error and the Pearson correlation.
//!
//! Used by `echo-onnx score` and by `--truth` on the model commands (which also show the truth and
//! the error in preview.png).

use serde::Serialize;

use crate::err;
use crate::error::{ErrorKind, Result};
use crate::grid::{bounding_box, Grid};
use crate::mesh::{Association, Cells, Field, Frame};
use crate::resample::{interpolate_linear, Footprint, Kernel, Outside, ResampleMethod, Resampler, Source};

/// Frames match when their times differ by at most this share of the smallest frame spacing: far
/// below any real spacing, far above the rounding of times written as decimal text.
pub const TIME_TOLERANCE: f64 = 1e-3;
/// Grid nodes per truth sample location for resampling (per axis: about 2 per spacing in 2D), so
/// the grid adds little to the error of the interpolation inside the truth's cells.
const NODES_PER_LOCATION_2D: f64 = 4.0;
const NODES_PER_LOCATION_3D: f64 = 8.0;
const MAX_NODES_PER_AXIS_2D: usize = 2048;
const MAX_NODES_PER_AXIS_3D: usize = 256;

/// A series as the scorer sees it: one mesh (points, cells) for all frames, one association, and
/// per frame the fields of that association.
pub struct View<'a> {
    /// The file (or description) named in messages.
    pub name: String,
    pub points: &'a [[f64; 3]],
    pub cells: &'a Cells,
    pub association: Association,
    pub times: Vec<f64>,
    pub frames: Vec<&'a [Field]>,
}

impl<'a> View<'a> {
    /// The frames of a series read from a file. `association`: the one to score (default: point
    /// data when the first frame has any, else cell data).
    ///
    /// Errors: no frames or no fields (`MissingField`), frames on different meshes (`MeshFormat`).
    pub fn of_frames(name: &str, frames: &'a [Frame], association: Option<Association>) -> Result<View<'a>> {
        let first = frames.first().ok_or_else(|| err!(MeshFormat, "'{name}' holds no frames"))?;
        let association = association.unwrap_or(if first.mesh.point_data.is_empty() { Association::Cell } else { Association::Point });
        if first.mesh.fields(association).is_empty() {
            return Err(err!(MissingField, "'{name}' (t = {}) has no {association} fields to score", first.time));
        }
        for f in &frames[1..] {
            if f.mesh.points != first.mesh.points || f.mesh.cells != first.mesh.cells {
                return Err(err!(MeshFormat, "'{name}': the frame at t = {} is on another mesh than the frame at t = {}", f.time, first.time)
                    .with_hint("scoring needs every frame of a series on one mesh"));
            }
        }
        Ok(View {
            name: name.to_string(),
            points: &first.mesh.points,
            cells: &first.mesh.cells,
            association,
            times: frames.iter().map(|f| f.time).collect(),
            frames: frames.iter().map(|f| f.mesh.fields(association)).collect(),
        })
    }

    fn locations(&self) -> Vec<[f64; 3]> {
        match self.association {
            Association::Point => self.points.to_vec(),
            Association::Cell => self.cells.centres(self.points),
        }
    }
}

/// The truth brought onto the prediction: matched frames and the truth's values at the
/// prediction's sample locations.
pub struct Aligned {
    /// `(prediction frame, truth frame)` pairs in the prediction's order.
    pub pairs: Vec<(usize, usize)>,
    /// Per pair, the truth's fields (the scored ones, in order) at the prediction's locations.
    pub truth: Vec<Vec<Field>>,
    /// How the truth got there, for people.
    pub resampling: String,
    /// The time tolerance used to match frames.
    pub tolerance: f64,
}

/// Scores of one field in one frame. Undefined values (a zero truth for the relative error, a
/// constant series for the correlation) are `None` (null in JSON).
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub field: String,
    /// ||p - t|| / ||t|| over all locations and components.
    pub rel_l2: Option<f64>,
    /// max |p - t| over all locations and components, in the field's units.
    pub max_abs: f64,
    /// Pearson correlation of p and t over all locations and components.
    pub pearson: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrameScore {
    /// The prediction's time.
    pub time: f64,
    /// The matched truth frame's time.
    pub truth_time: f64,
    pub fields: Vec<Metrics>,
}

/// A prediction scored against a truth.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    pub prediction: String,
    pub truth: String,
    pub association: Association,
    /// How the truth was brought onto the prediction's locations.
    pub resampling: String,
    pub time_tolerance: f64,
    /// Frames of each series without a partner (outside the common times).
    pub unmatched_prediction_frames: usize,
    pub unmatched_truth_frames: usize,
    pub frames: Vec<FrameScore>,
    /// Per field over the scored frames: the mean relative L2, the largest absolute error, the
    /// mean correlation.
    pub overall: Vec<Metrics>,
}

/// Match `pred`'s frames with `truth`'s by time, check the fields (`names`: the prediction's fields
/// to score) and bring the truth onto the prediction's locations.
///
/// Errors: a field missing from the truth (`MissingField`), another component count or another
/// association (`FieldShape`/`MissingField`), no common time (`Usage`), NaN/Inf in a scored frame
/// of either series (`NonFinite`), and those of resampling.
pub fn align(pred: &View, truth: &View, names: &[String]) -> Result<Aligned> {
    // Views built in memory (a prediction of 0 frames) may be empty; there is nothing to compare.
    if let Some(v) = [pred, truth].into_iter().find(|v| v.frames.is_empty()) {
        return Err(err!(Usage, "'{}' holds no frames to score", v.name));
    }
    if pred.association != truth.association {
        return Err(err!(Usage, "'{}' holds {} data but '{}' {} data", pred.name, pred.association, truth.name, truth.association)
            .with_hint("score data of one association: pass --association point or cell"));
    }
    for name in names {
        let p = find(pred, 0, name)?;
        let t = find(truth, 0, name)?;
        if p.components != t.components {
            return Err(err!(FieldShape, "field '{name}' has {} components in '{}' but {} in '{}'", p.components, pred.name, t.components, truth.name)
                .with_hint("compare fields of the same kind (a scalar with a scalar, a vector with a vector)"));
        }
    }
    let tolerance = TIME_TOLERANCE * min_spacing(&pred.times).min(min_spacing(&truth.times)).min(f64::MAX);
    let tolerance = if tolerance.is_finite() { tolerance } else { 1e-9 * pred.times.iter().chain(&truth.times).fold(1.0f64, |m, t| m.max(t.abs())) };
    let pairs: Vec<(usize, usize)> = pred
        .times
        .iter()
        .enumerate()
        .filter_map(|(i, &t)| {
            let (j, d) = truth.times.iter().enumerate().map(|(j, &u)| (j, (u - t).abs())).min_by(|a, b| a.1.total_cmp(&b.1))?;
            (d <= tolerance).then_some((i, j))
        })
        .collect();
    if pairs.is_empty() {
        return Err(err!(
            Usage,
            "no frame of '{}' (t = {}) is at a time of '{}' (t = {}) within {tolerance:e}",
            pred.name,
            span(&pred.times),
            truth.name,
            span(&truth.times)
        )
        .with_hint("the truth must hold frames at some of the predicted times (the same times as written in the .pvd files)"));
    }
    for &(i, j) in &pairs {
        for name in names {
            check_finite(pred, i, name)?;
            check_finite(truth, j, name)?;
        }
    }
    let on_pred = pred.locations();
    let on_truth = truth.locations();
    if same_locations(&on_pred, &on_truth) {
        let truth_fields = pairs.iter().map(|&(_, j)| names.iter().map(|n| find(truth, j, n).cloned()).collect::<Result<Vec<_>>>()).collect::<Result<_>>()?;
        return Ok(Aligned { pairs, truth: truth_fields, resampling: "no resampling: the truth is on the prediction's mesh".into(), tolerance });
    }
    let (grid, resampler, how) = truth_resampler(truth, &on_truth, &on_pred)?;
    let mut truth_fields = Vec::with_capacity(pairs.len());
    for &(_, j) in &pairs {
        let mut fields = Vec::with_capacity(names.len());
        for name in names {
            let f = find(truth, j, name)?;
            let values: Vec<f32> = f.values.iter().map(|&v| v as f32).collect();
            let on_grid = resampler.to_grid(&values, f.components)?;
            let back = interpolate_linear(&grid, &on_grid, f.components, &on_pred)?;
            fields.push(Field { name: name.clone(), components: f.components, values: back.into_iter().map(f64::from).collect() });
        }
        truth_fields.push(fields);
    }
    let resampling = format!(
        "truth resampled onto the prediction's {} {}s: {how} onto a {} grid, then {} at the prediction's {}s",
        on_pred.len(),
        loc_word(pred.association),
        shape_text(&grid),
        if grid.dim == 2 { "bilinear" } else { "trilinear" },
        loc_word(pred.association)
    );
    Ok(Aligned { pairs, truth: truth_fields, resampling, tolerance })
}

/// Score aligned series.
pub fn score(pred: &View, truth: &View, names: &[String], aligned: &Aligned) -> Result<Score> {
    let mut frames = Vec::with_capacity(aligned.pairs.len());
    for (k, &(i, j)) in aligned.pairs.iter().enumerate() {
        let mut fields = Vec::with_capacity(names.len());
        for (n, name) in names.iter().enumerate() {
            let p = find(pred, i, name)?;
            fields.push(metrics(name, &p.values, &aligned.truth[k][n].values));
        }
        frames.push(FrameScore { time: pred.times[i], truth_time: truth.times[j], fields });
    }
    let overall = names
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let of = |get: &dyn Fn(&Metrics) -> Option<f64>| -> Vec<f64> { frames.iter().filter_map(|f| get(&f.fields[n])).collect() };
            let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
            Metrics {
                field: name.clone(),
                rel_l2: mean(of(&|m| m.rel_l2)),
                max_abs: of(&|m| Some(m.max_abs)).into_iter().fold(0.0, f64::max),
                pearson: mean(of(&|m| m.pearson)),
            }
        })
        .collect();
    Ok(Score {
        prediction: pred.name.clone(),
        truth: truth.name.clone(),
        association: pred.association,
        resampling: aligned.resampling.clone(),
        time_tolerance: aligned.tolerance,
        unmatched_prediction_frames: pred.times.len() - aligned.pairs.len(),
        unmatched_truth_frames: truth.times.len() - aligned.pairs.len(),
        frames,
        overall,
    })
}

/// Relative L2, max abs error and correlation of `p` against `t` (same length, finite).
pub fn metrics(field: &str, p: &[f64], t: &[f64]) -> Metrics {
    let n = p.len().max(1) as f64;
    let (mp, mt) = (p.iter().sum::<f64>() / n, t.iter().sum::<f64>() / n);
    let (mut err2, mut t2, mut max_abs, mut cov, mut vp, mut vt) = (0.0, 0.0, 0.0f64, 0.0, 0.0, 0.0);
    for (&a, &b) in p.iter().zip(t) {
        err2 += (a - b) * (a - b);
        t2 += b * b;
        max_abs = max_abs.max((a - b).abs());
        cov += (a - mp) * (b - mt);
        vp += (a - mp) * (a - mp);
        vt += (b - mt) * (b - mt);
    }
    Metrics {
        field: field.to_string(),
        rel_l2: (t2 > 0.0).then(|| (err2 / t2).sqrt()),
        max_abs,
        pearson: (vp > 0.0 && vt > 0.0).then(|| cov / (vp * vt).sqrt()),
    }
}

impl Score {
    /// The per-frame table for people.
    pub fn table(&self) -> String {
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        let mut s = format!("score of {} against {}\n  {}\n", self.prediction, self.truth, self.resampling);
        s += &format!(
            "  {} common time(s); {} predicted and {} truth frame(s) without a partner\n",
            self.frames.len(),
            self.unmatched_prediction_frames,
            self.unmatched_truth_frames
        );
        s += &format!("  {:>10}  {:<16} {:>10} {:>12} {:>8}\n", "t", "field", "rel_l2", "max_abs", "pearson");
        for f in &self.frames {
            for m in &f.fields {
                s += &format!("  {:>10}  {:<16} {:>10} {:>12.4e} {:>8}\n", f.time, m.field, opt(m.rel_l2), m.max_abs, opt(m.pearson));
            }
        }
        for m in &self.overall {
            s += &format!("  {:>10}  {:<16} {:>10} {:>12.4e} {:>8}\n", "all", m.field, opt(m.rel_l2), m.max_abs, opt(m.pearson));
        }
        s
    }
}

fn find<'a>(v: &View<'a>, frame: usize, name: &str) -> Result<&'a Field> {
    let fields = v.frames[frame];
    fields.iter().find(|f| f.name == name).ok_or_else(|| {
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        err!(MissingField, "'{}' (t = {}) has no {} field '{name}'", v.name, v.times[frame], v.association)
            .with_hint(format!("its {} fields are {names:?}; score fields of the same name (--field)", v.association))
    })
}

fn check_finite(v: &View, frame: usize, name: &str) -> Result<()> {
    let f = find(v, frame, name)?;
    match f.values.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(k) => Err(err!(
            NonFinite,
            "'{}' (t = {}): field '{name}' is {} at {} {}, component {}",
            v.name,
            v.times[frame],
            f.values[k],
            v.association,
            k / f.components,
            k % f.components
        )
        .with_hint("a score needs finite values in every compared frame; fix or drop that frame")),
    }
}

fn min_spacing(times: &[f64]) -> f64 {
    times.windows(2).map(|w| (w[1] - w[0]).abs()).filter(|&d| d > 0.0).fold(f64::INFINITY, f64::min)
}

fn span(times: &[f64]) -> String {
    match times {
        [] => "none".into(),
        [t] => format!("{t}"),
        [a, .., b] => format!("{a} .. {b}, {} frames", times.len()),
    }
}

fn loc_word(a: Association) -> &'static str {
    match a {
        Association::Point => "point",
        Association::Cell => "cell centre",
    }
}

fn shape_text(g: &Grid) -> String {
    g.shape[..g.dim].iter().map(|n| n.to_string()).collect::<Vec<_>>().join("x")
}

/// The same sample locations (to a millionth of the bounding box, which survives Float32 files).
fn same_locations(a: &[[f64; 3]], b: &[[f64; 3]]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (lo, hi) = bounding_box(a);
    let diag = (0..3).map(|k| (hi[k] - lo[k]).powi(2)).sum::<f64>().sqrt();
    let tol = 1e-6 * diag.max(f64::MIN_POSITIVE);
    a.iter().zip(b).all(|(p, q)| (0..3).all(|k| (p[k] - q[k]).abs() <= tol))
}

/// The crate's mesh -> grid -> points path for the truth: linear inside the truth's cells when it
/// has cells of the grid's dimension (exact for fields linear in space), else inverse-distance
/// weights of the 8 closest truth locations; grid nodes outside the truth's cells take the closest
/// truth value. The grid covers both meshes.
fn truth_resampler(truth: &View, on_truth: &[[f64; 3]], on_pred: &[[f64; 3]]) -> Result<(Grid, Resampler, String)> {
    let all: Vec<[f64; 3]> = on_truth.iter().chain(on_pred).chain(truth.points).copied().collect();
    let (mut lo, mut hi) = bounding_box(&all);
    let diag = (0..3).map(|k| (hi[k] - lo[k]).powi(2)).sum::<f64>().sqrt().max(1.0);
    let dim = if hi[2] - lo[2] > 1e-9 * diag { 3 } else { 2 };
    for a in 0..dim {
        if hi[a] - lo[a] <= 1e-9 * diag {
            lo[a] -= 0.5 * diag;
            hi[a] += 0.5 * diag;
        }
    }
    let (per_location, cap) = if dim == 2 { (NODES_PER_LOCATION_2D, MAX_NODES_PER_AXIS_2D) } else { (NODES_PER_LOCATION_3D, MAX_NODES_PER_AXIS_3D) };
    let volume: f64 = (0..dim).map(|a| hi[a] - lo[a]).product();
    let h = (volume / (per_location * on_truth.len() as f64)).powf(1.0 / dim as f64);
    let shape: Vec<usize> = (0..dim).map(|a| (((hi[a] - lo[a]) / h).ceil() as usize + 1).clamp(2, cap)).collect();
    let grid = Grid::new(&shape, &lo[..dim], &hi[..dim], &vec![false; dim])?;
    let source = Source { points: truth.points, cells: truth.cells, association: truth.association };
    if !truth.cells.is_empty() {
        match Resampler::build(&grid, &source, ResampleMethod::Linear, Outside::Closest) {
            Ok(r) => return Ok((grid, r, "linear inside the truth's cells".into())),
            // No cells of the grid's dimension: fall through to the kernel.
            Err(e) if e.kind() == ErrorKind::MeshFormat => {}
            Err(e) => return Err(e),
        }
    }
    let method = ResampleMethod::Kernel { kernel: Kernel::InverseDistance { power: 2.0 }, footprint: Footprint::Closest { n: 8, radius: f64::INFINITY } };
    let r = Resampler::build(&grid, &source, method, Outside::Closest)?;
    Ok((grid, r, format!("inverse-distance weights of the 8 closest truth {}s (the truth has no {}D cells)", loc_word(truth.association), dim)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        // p - t = (0, 1, -1, 0): ||p - t|| = sqrt 2, ||t|| = sqrt 30 (1 + 4 + 9 + 16).
        let m = metrics("u", &[1.0, 3.0, 2.0, 4.0], &[1.0, 2.0, 3.0, 4.0]);
        assert!((m.rel_l2.unwrap() - (2.0f64 / 30.0).sqrt()).abs() < 1e-15);
        assert_eq!(m.max_abs, 1.0);
        // Centred: p (-1.5, 0.5, -0.5, 1.5), t (-1.5, -0.5, 0.5, 1.5): cov 4, var 5 each.
        assert!((m.pearson.unwrap() - 0.8).abs() < 1e-15);
        let zero = metrics("u", &[1.0, 1.0], &[0.0, 0.0]);
        assert_eq!((zero.rel_l2, zero.pearson, zero.max_abs), (None, None, 1.0));
    }
}
