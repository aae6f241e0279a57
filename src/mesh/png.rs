//! A quick PNG picture of a scalar field on scattered 2D points (nearest-point colouring, viridis).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use rayon::prelude::*;

use crate::err;
use crate::error::{Error, Result};

/// Viridis at 0, 0.1, ..., 1 (matplotlib's values), interpolated linearly in between.
const VIRIDIS: [[u8; 3]; 11] = [
    [68, 1, 84],
    [72, 36, 117],
    [65, 68, 135],
    [53, 95, 141],
    [42, 120, 142],
    [33, 145, 140],
    [34, 168, 132],
    [68, 191, 112],
    [122, 209, 81],
    [189, 223, 38],
    [253, 231, 37],
];
const NAN_GREY: [u8; 4] = [128, 128, 128, 255];
const EMPTY: [u8; 4] = [255, 255, 255, 0];
/// Pixels farther than this many typical point spacings from every point stay empty, so that holes
/// and non-convex domains show.
const REACH_SPACINGS: f64 = 5.0;
const MAX_HEIGHT: usize = 16384;

/// Write a `width`-pixel-wide RGBA picture of `values` at `points` (x, y; z ignored) covering the
/// points' bounding box with its aspect ratio kept. Colour range: min/max of the finite values.
pub fn write_preview(path: &Path, points: &[[f64; 3]], values: &[f64], width: usize) -> Result<()> {
    if points.is_empty() {
        return Err(err!(Usage, "cannot draw '{}': no points", path.display()));
    }
    if points.len() != values.len() {
        return Err(err!(FieldShape, "cannot draw '{}': {} points but {} values", path.display(), points.len(), values.len()));
    }
    if width == 0 {
        return Err(err!(Usage, "cannot draw '{}': the picture width is 0", path.display()));
    }
    let xy: Vec<[f64; 2]> = points.iter().map(|p| [p[0], p[1]]).collect();
    if xy.iter().flatten().any(|c| !c.is_finite()) {
        return Err(err!(NonFinite, "cannot draw '{}': a point has a non-finite coordinate", path.display()));
    }
    let tree = ImmutableKdTree::<f64, 2>::new_from_slice(&xy)
        .map_err(|e| err!(Output, "cannot draw '{}': building the point search tree failed ({e:?})", path.display()))?;
    let frame = Frame::new(&xy, width);
    let reach = (REACH_SPACINGS * typical_spacing(&tree, &xy)).max(frame.pixel * std::f64::consts::SQRT_2);
    let range = value_range(values);
    let mut rgba = vec![0u8; frame.width * frame.height * 4];
    rgba.par_chunks_mut(frame.width * 4).enumerate().for_each(|(row, line)| {
        for (col, px) in line.chunks_exact_mut(4).enumerate() {
            let q = frame.centre(col, row);
            let nearest = tree.query(&q).nearest_one::<SquaredEuclidean<f64>>().execute();
            let colour = if nearest.distance > reach * reach { EMPTY } else { colour(values[nearest.item as usize], range) };
            px.copy_from_slice(&colour);
        }
    });
    encode(path, frame.width, frame.height, &rgba)
}

/// The picture's placement: bounding box origin (top-left), pixel size, size in pixels.
struct Frame {
    left: f64,
    top: f64,
    pixel: f64,
    width: usize,
    height: usize,
}

impl Frame {
    fn new(xy: &[[f64; 2]], width: usize) -> Frame {
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in xy {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        // A degenerate box (one point, or points on a line) still gets a visible picture.
        let span = [hi[0] - lo[0], hi[1] - lo[1]];
        let dx = if span[0] > 0.0 { span[0] } else if span[1] > 0.0 { span[1] } else { 1.0 };
        let pixel = dx / width as f64;
        let height = ((span[1] / pixel).round() as usize).clamp(1, MAX_HEIGHT);
        let left = if span[0] > 0.0 { lo[0] } else { lo[0] - dx / 2.0 };
        let top = if span[1] > 0.0 { hi[1] } else { hi[1] + pixel * height as f64 / 2.0 };
        Frame { left, top, pixel, width, height }
    }

    fn centre(&self, col: usize, row: usize) -> [f64; 2] {
        [self.left + (col as f64 + 0.5) * self.pixel, self.top - (row as f64 + 0.5) * self.pixel]
    }
}

/// Median distance from a point to its nearest other point, over a sample of up to ~1000 points.
fn typical_spacing(tree: &ImmutableKdTree<f64, 2>, xy: &[[f64; 2]]) -> f64 {
    let step = (xy.len() / 1000).max(1);
    let two = std::num::NonZero::new(2).expect("2 is not zero");
    let mut d: Vec<f64> = xy
        .iter()
        .step_by(step)
        .filter_map(|p| tree.query(p).nearest_n::<SquaredEuclidean<f64>>(two).execute().get(1).map(|r| r.distance))
        .filter(|&d| d > 0.0)
        .collect();
    if d.is_empty() {
        return f64::INFINITY;
    }
    d.sort_by(f64::total_cmp);
    d[d.len() / 2].sqrt()
}

fn value_range(values: &[f64]) -> Option<(f64, f64)> {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    finite.fold(None, |r, v| Some(r.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v)))))
}

fn colour(v: f64, range: Option<(f64, f64)>) -> [u8; 4] {
    let Some((lo, hi)) = range.filter(|_| v.is_finite()) else { return NAN_GREY };
    let t = if hi > lo { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.5 };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let c = |k: usize| (VIRIDIS[i][k] as f64 * (1.0 - f) + VIRIDIS[i + 1][k] as f64 * f).round() as u8;
    [c(0), c(1), c(2), 255]
}

fn encode(path: &Path, width: usize, height: usize, rgba: &[u8]) -> Result<()> {
    let failed = |e: &dyn std::fmt::Display| Error::new(crate::ErrorKind::Io, format!("cannot write '{}': {e}", path.display()));
    let file = File::create(path).map_err(|e| Error::io("create", path, e))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| failed(&e))?;
    writer.write_image_data(rgba).map_err(|e| failed(&e))?;
    writer.finish().map_err(|e| failed(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_span_viridis_and_grey_for_nan() {
        let r = Some((0.0, 1.0));
        assert_eq!(colour(0.0, r), [68, 1, 84, 255]);
        assert_eq!(colour(1.0, r), [253, 231, 37, 255]);
        assert_eq!(colour(f64::NAN, r), NAN_GREY);
        assert_eq!(value_range(&[f64::NAN, 2.0, -1.0]), Some((-1.0, 2.0)));
    }
}
