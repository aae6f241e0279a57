//! PNG pictures: fields on scattered points (nearest-point colouring; 3D point sets are cut at the
//! z mid-plane), the multi-panel preview of a prediction (frames across the horizon, shared
//! colorbar, truth and error rows), and line plots (a score against time). Text uses the built-in
//! bitmap font of [`super::font`], so nothing beyond the `png` encoder is needed.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use rayon::prelude::*;

use super::font;
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
/// matplotlib's RdBu_r at 0, 0.1, ..., 1: blue below zero, white at zero, red above (errors).
const DIVERGING: [[u8; 3]; 11] = [
    [5, 48, 97],
    [33, 102, 172],
    [67, 147, 195],
    [146, 197, 222],
    [209, 229, 240],
    [247, 247, 247],
    [253, 219, 199],
    [244, 165, 130],
    [214, 96, 77],
    [178, 24, 43],
    [103, 0, 31],
];
/// Line colours of the plots (matplotlib's tab10).
const LINES: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];
const NAN_GREY: [u8; 4] = [128, 128, 128, 255];
const EMPTY: [u8; 4] = [255, 255, 255, 0];
/// Background of the composite pictures; holes in a panel are drawn in `HOLE` so that the panel's
/// extent stays visible against it.
pub const BACKGROUND: [u8; 4] = [255, 255, 255, 255];
const HOLE: [u8; 4] = [232, 232, 232, 255];
const INK: [u8; 4] = [0, 0, 0, 255];
/// Pixels farther than this many typical point spacings from every point stay empty, so that holes
/// and non-convex domains show.
const REACH_SPACINGS: f64 = 5.0;
const MAX_HEIGHT: usize = 16384;
/// Text is drawn at twice the font's size: 7-pixel glyphs are too small to read on a screen.
const TEXT_SCALE: usize = 2;
const LINE_HEIGHT: usize = (font::HEIGHT + 3) * TEXT_SCALE;

/// A colour scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Colormap {
    /// Sequential, for fields.
    Viridis,
    /// Diverging around the middle of the range, for signed errors.
    Diverging,
}

impl Colormap {
    fn table(self) -> &'static [[u8; 3]; 11] {
        match self {
            Colormap::Viridis => &VIRIDIS,
            Colormap::Diverging => &DIVERGING,
        }
    }
}

/// Write a `width`-pixel-wide RGBA picture of `values` at `points` (x, y; a 3D set is cut at its z
/// mid-plane) covering the points' bounding box with its aspect ratio kept. Colour range: min/max
/// of the finite values. No text: see [`write_preview_panels`] for the annotated preview.
pub fn write_preview(path: &Path, points: &[[f64; 3]], values: &[f64], width: usize) -> Result<()> {
    let painter = Painter::new(points, width).map_err(|e| in_picture(e, path))?;
    if points.len() != values.len() {
        return Err(err!(FieldShape, "cannot draw '{}': {} points but {} values", path.display(), points.len(), values.len()));
    }
    let rgba = painter.paint(values, value_range(values), Colormap::Viridis, EMPTY);
    encode(path, painter.width, painter.height, &rgba)
}

fn in_picture(e: Error, path: &Path) -> Error {
    let message = format!("cannot draw '{}': {}", path.display(), e.message());
    let out = Error::new(e.kind(), message);
    match e.hint() {
        Some(h) => out.with_hint(h),
        None => out,
    }
}

/// The nearest point of every pixel of a picture of a point set, found once and reused for every
/// frame and row of a preview (they all live on the same points).
pub struct Painter {
    pub width: usize,
    pub height: usize,
    /// The z of the cut when the points span a volume (`None` for planar sets).
    pub slice_z: Option<f64>,
    /// Per pixel, row-major: the nearest point, or `u32::MAX` beyond the reach (a hole).
    nearest: Vec<u32>,
    points: usize,
}

impl Painter {
    /// Errors: no points or a zero width (`Usage`), a non-finite coordinate (`NonFinite`).
    pub fn new(points: &[[f64; 3]], width: usize) -> Result<Painter> {
        if points.is_empty() {
            return Err(err!(Usage, "no points"));
        }
        if width == 0 {
            return Err(err!(Usage, "the picture width is 0"));
        }
        if points.len() >= u32::MAX as usize {
            return Err(err!(Usage, "{} points are more than a picture can index", points.len()));
        }
        if points.iter().flatten().any(|c| !c.is_finite()) {
            return Err(err!(NonFinite, "a point has a non-finite coordinate"));
        }
        let tree = ImmutableKdTree::<f64, 3>::new_from_slice(points).map_err(|e| err!(Output, "building the point search tree failed ({e:?})"))?;
        let frame = Frame::new(points, width);
        let (zlo, zhi) = points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p[2]), hi.max(p[2])));
        let z = 0.5 * (zlo + zhi);
        let reach = (REACH_SPACINGS * typical_spacing(&tree, points)).max(frame.pixel * std::f64::consts::SQRT_2);
        let mut nearest = vec![u32::MAX; frame.width * frame.height];
        nearest.par_chunks_mut(frame.width).enumerate().for_each(|(row, line)| {
            for (col, px) in line.iter_mut().enumerate() {
                let [x, y] = frame.centre(col, row);
                let found = tree.query(&[x, y, z]).nearest_one::<SquaredEuclidean<f64>>().execute();
                if found.distance <= reach * reach {
                    *px = found.item;
                }
            }
        });
        Ok(Painter { width: frame.width, height: frame.height, slice_z: (zhi > zlo).then_some(z), nearest, points: points.len() })
    }

    /// RGBA pixels of `values` (one per point), holes in `hole`.
    pub fn paint(&self, values: &[f64], range: Option<(f64, f64)>, cmap: Colormap, hole: [u8; 4]) -> Vec<u8> {
        debug_assert_eq!(values.len(), self.points);
        self.nearest.iter().flat_map(|&i| if i == u32::MAX { hole } else { colour(values[i as usize], range, cmap) }).collect()
    }
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
    fn new(points: &[[f64; 3]], width: usize) -> Frame {
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in points {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        // A degenerate box (one point, or points on a line) still gets a visible picture.
        let span = [hi[0] - lo[0], hi[1] - lo[1]];
        let dx = if span[0] > 0.0 {
            span[0]
        } else if span[1] > 0.0 {
            span[1]
        } else {
            1.0
        };
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
fn typical_spacing(tree: &ImmutableKdTree<f64, 3>, points: &[[f64; 3]]) -> f64 {
    let step = (points.len() / 1000).max(1);
    let two = std::num::NonZero::new(2).expect("2 is not zero");
    let mut d: Vec<f64> = points
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

/// Smallest and largest finite value (`None` when there is none).
pub fn value_range(values: &[f64]) -> Option<(f64, f64)> {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    finite.fold(None, |r, v| Some(r.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v)))))
}

fn colour(v: f64, range: Option<(f64, f64)>, cmap: Colormap) -> [u8; 4] {
    let Some((lo, hi)) = range.filter(|_| v.is_finite()) else { return NAN_GREY };
    let t = if hi > lo { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.5 };
    let table = cmap.table();
    let x = t * (table.len() - 1) as f64;
    let i = (x.floor() as usize).min(table.len() - 2);
    let f = x - i as f64;
    let c = |k: usize| (table[i][k] as f64 * (1.0 - f) + table[i + 1][k] as f64 * f).round() as u8;
    [c(0), c(1), c(2), 255]
}

/// An RGBA picture to draw into.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub rgba: Vec<u8>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, background: [u8; 4]) -> Canvas {
        Canvas { width, height, rgba: background.iter().copied().cycle().take(width * height * 4).collect() }
    }

    /// Set a pixel; outside the canvas is ignored (text and lines may run off the edge).
    fn set(&mut self, x: i64, y: i64, c: [u8; 4]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 4;
            self.rgba[i..i + 4].copy_from_slice(&c);
        }
    }

    fn fill(&mut self, x: i64, y: i64, w: usize, h: usize, c: [u8; 4]) {
        for dy in 0..h as i64 {
            for dx in 0..w as i64 {
                self.set(x + dx, y + dy, c);
            }
        }
    }

    /// Copy a `w` x `h` RGBA block with its top-left corner at (x, y).
    fn blit(&mut self, x: usize, y: usize, w: usize, h: usize, block: &[u8]) {
        for row in 0..h {
            for col in 0..w {
                let i = (row * w + col) * 4;
                self.set((x + col) as i64, (y + row) as i64, block[i..i + 4].try_into().expect("4 bytes"));
            }
        }
    }

    /// `text` with its top-left corner at (x, y), at [`TEXT_SCALE`].
    fn text(&mut self, x: i64, y: i64, text: &str, c: [u8; 4]) {
        for (k, ch) in text.chars().enumerate() {
            for row in 0..font::HEIGHT {
                for col in 0..font::WIDTH {
                    if font::ink(ch, col, row) {
                        let (px, py) = (x + ((k * font::ADVANCE + col) * TEXT_SCALE) as i64, y + (row * TEXT_SCALE) as i64);
                        self.fill(px, py, TEXT_SCALE, TEXT_SCALE, c);
                    }
                }
            }
        }
    }

    /// A 2-pixel-wide straight line (Bresenham).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: [u8; 4]) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut e) = (x0, y0, dx + dy);
        loop {
            self.fill(x, y, 2, 2, c);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * e;
            if e2 >= dy {
                e += dy;
                x += sx;
            }
            if e2 <= dx {
                e += dx;
                y += sy;
            }
        }
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        encode(path, self.width, self.height, &self.rgba)
    }
}

/// Pixel width of `text` at [`TEXT_SCALE`].
fn text_px(text: &str) -> usize {
    font::text_width(text) * TEXT_SCALE
}

/// A tick label: short, with the precision the tick step needs.
pub fn format_tick(v: f64, step: f64) -> String {
    // A tick computed as lo + k step can miss zero by a rounding error: that is zero, not "-0.000".
    if v == 0.0 || v.abs() < 1e-9 * step.abs() {
        return "0".into();
    }
    let mag = v.abs();
    if !(1e-3..1e5).contains(&mag) {
        return format!("{v:.1e}");
    }
    // Enough decimals to tell ticks apart (one more than the step's leading digit), and no more
    // than a round step needs (0.02 steps print 0.04, not 0.040).
    let cap = if step > 0.0 { (-(step.log10().floor()) as i64 + 1).clamp(0, 6) as usize } else { 3 };
    let decimals = (0..cap)
        .find(|&d| {
            let s = step * 10f64.powi(d as i32);
            (s - s.round()).abs() < 1e-6 * s.max(1.0)
        })
        .unwrap_or(cap);
    format!("{v:.decimals$}")
}

/// One row of the preview: panels on the painter's points, with one colour range.
pub struct PreviewRow {
    /// Written above the row ("prediction", "truth", ...).
    pub label: String,
    /// Values per column (one per point), or `None` for a column this row has nothing for.
    pub panels: Vec<Option<Vec<f64>>>,
    pub cmap: Colormap,
    pub range: Option<(f64, f64)>,
    /// The label of this row's colorbar; a row without one shares the colorbar of the row above.
    pub colorbar: Option<String>,
}

/// The annotated preview: a title, one column per frame (titled `column_titles`), one row per
/// [`PreviewRow`] and a colorbar with tick labels per colour range.
pub fn write_preview_panels(path: &Path, painter: &Painter, title: &str, column_titles: &[String], rows: &[PreviewRow]) -> Result<()> {
    const MARGIN: usize = 16;
    const GAP: usize = 16;
    const BAR: usize = 20;
    const TICKS: usize = 5;
    const TICK_GAP: usize = 14;
    let (pw, ph) = (painter.width, painter.height);
    let columns = column_titles.len();
    // Colorbar groups: a row with a label starts one, the rows without join the one above.
    let mut groups: Vec<(usize, usize)> = vec![];
    for (r, row) in rows.iter().enumerate() {
        match groups.last_mut() {
            Some(g) if row.colorbar.is_none() => g.1 = r,
            _ => groups.push((r, r)),
        }
    }
    let ticks = |row: &PreviewRow| -> Vec<(f64, String)> {
        let Some((lo, hi)) = row.range else { return vec![] };
        let step = (hi - lo) / (TICKS - 1) as f64;
        (0..TICKS).map(|k| lo + k as f64 * step).map(|v| (v, format_tick(v, step))).collect()
    };
    let label_w = groups.iter().map(|g| {
        let row = &rows[g.0];
        let tick_w = ticks(row).iter().map(|t| text_px(&t.1)).max().unwrap_or(0);
        (BAR + TICK_GAP + tick_w).max(text_px(row.colorbar.as_deref().unwrap_or("")))
    });
    let bar_column = label_w.max().unwrap_or(0);
    let row_h = 2 * LINE_HEIGHT + ph;
    let width = MARGIN + columns * pw + columns.saturating_sub(1) * GAP + 2 * GAP + bar_column + MARGIN;
    let width = width.max(2 * MARGIN + text_px(title));
    let top = MARGIN + LINE_HEIGHT + GAP / 2;
    let height = top + rows.len() * row_h + rows.len().saturating_sub(1) * GAP + MARGIN;
    let mut canvas = Canvas::new(width, height, BACKGROUND);
    canvas.text(MARGIN as i64, MARGIN as i64, title, INK);
    let row_top = |r: usize| top + r * (row_h + GAP);
    for (r, row) in rows.iter().enumerate() {
        let y = row_top(r);
        canvas.text(MARGIN as i64, y as i64, &row.label, INK);
        for (c, panel) in row.panels.iter().enumerate().take(columns) {
            let x = MARGIN + c * (pw + GAP);
            let t = &column_titles[c];
            canvas.text((x + pw.saturating_sub(text_px(t)) / 2) as i64, (y + LINE_HEIGHT) as i64, t, INK);
            let py = y + 2 * LINE_HEIGHT;
            match panel {
                Some(values) => canvas.blit(x, py, pw, ph, &painter.paint(values, row.range, row.cmap, HOLE)),
                None => {
                    canvas.fill(x as i64, py as i64, pw, ph, HOLE);
                    canvas.text((x + 8) as i64, (py + 8) as i64, "no data", INK);
                }
            }
        }
    }
    // Colorbars: from the top of the group's first panels to the bottom of its last ones, the
    // largest value at the top, ticks and labels to the right, the label above.
    let bar_x = MARGIN + columns * pw + columns.saturating_sub(1) * GAP + 2 * GAP;
    for &(first, last) in &groups {
        let row = &rows[first];
        let (y0, y1) = (row_top(first) + 2 * LINE_HEIGHT, row_top(last) + 2 * LINE_HEIGHT + ph);
        let h = y1 - y0;
        // Half a line higher than a title: the top tick label is centred on the bar's top edge.
        canvas.text(bar_x as i64, (y0 - LINE_HEIGHT - LINE_HEIGHT / 2) as i64, row.colorbar.as_deref().unwrap_or(""), INK);
        for dy in 0..h {
            let v = match row.range {
                Some((lo, hi)) => hi - (hi - lo) * (dy as f64 + 0.5) / h as f64,
                None => f64::NAN,
            };
            canvas.fill(bar_x as i64, (y0 + dy) as i64, BAR, 1, colour(v, row.range, row.cmap));
        }
        let Some((lo, hi)) = row.range else { continue };
        for (v, text) in ticks(row) {
            let f = if hi > lo { (hi - v) / (hi - lo) } else { 0.5 };
            let ty = y0 as i64 + (f * (h - 1) as f64).round() as i64;
            // A short tick and a wide gap: a tick right against a label reads as a minus sign.
            canvas.fill((bar_x + BAR) as i64, ty, 4, 1, INK);
            canvas.text((bar_x + BAR + TICK_GAP) as i64, ty - (font::HEIGHT * TEXT_SCALE / 2) as i64, &text, INK);
        }
    }
    canvas.write(path)
}

/// One line of a plot: a name for the legend and its (x, y) points.
pub struct Curve {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line plot of `curves` with labelled axes, ticks and a legend. The y axis starts at 0 (the
/// plots are of errors).
pub fn write_line_plot(path: &Path, title: &str, x_label: &str, y_label: &str, curves: &[Curve]) -> Result<()> {
    const W: usize = 900;
    const H: usize = 540;
    let (left, right, top, bottom) = (110i64, W as i64 - 30, 70i64, H as i64 - 70);
    let all = curves.iter().flat_map(|c| c.points.iter().copied()).filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for (x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    // No finite point at all: an empty plot over [0, 1].
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if x1 == x0 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    let y1 = if y1 > 0.0 { y1 * 1.1 } else { 1.0 };
    let (x_ticks, y_ticks) = (nice_ticks(x0, x1), nice_ticks(0.0, y1));
    let px = |x: f64| left + ((x - x0) / (x1 - x0) * (right - left) as f64).round() as i64;
    let py = |y: f64| bottom - (y / y1 * (bottom - top) as f64).round() as i64;
    let mut canvas = Canvas::new(W, H, BACKGROUND);
    canvas.text((W.saturating_sub(text_px(title)) / 2) as i64, 10, title, INK);
    let grid = [225, 225, 225, 255];
    for (x, step) in x_ticks {
        canvas.line((px(x), top), (px(x), bottom), grid);
        let tx = format_tick(x, step);
        canvas.text(px(x) - (text_px(&tx) / 2) as i64, bottom + 8, &tx, INK);
    }
    for (y, step) in y_ticks {
        canvas.line((left, py(y)), (right, py(y)), grid);
        let ty = format_tick(y, step);
        canvas.text(left - 8 - text_px(&ty) as i64, py(y) - 7, &ty, INK);
    }
    canvas.line((left, bottom), (right, bottom), INK);
    canvas.line((left, top), (left, bottom), INK);
    canvas.text((left + right) / 2 - (text_px(x_label) / 2) as i64, bottom + 36, x_label, INK);
    canvas.text(10, top - 28, y_label, INK);
    for (i, curve) in curves.iter().enumerate() {
        let [r, g, b] = LINES[i % LINES.len()];
        let c = [r, g, b, 255];
        let pts: Vec<(i64, i64)> = curve.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()).map(|&(x, y)| (px(x), py(y))).collect();
        for w in pts.windows(2) {
            canvas.line(w[0], w[1], c);
        }
        for &(x, y) in &pts {
            canvas.fill(x - 3, y - 3, 7, 7, c);
        }
        // Legend, top right, one line per curve.
        let ly = top + 10 + (i * LINE_HEIGHT) as i64;
        let lx = right - 40 - text_px(&curve.name) as i64;
        canvas.fill(lx, ly + 3, 24, 6, c);
        canvas.text(lx + 32, ly, &curve.name, INK);
    }
    canvas.write(path)
}

/// Round tick values (1, 2 or 5 times a power of ten apart, 4 to 10 of them) within [lo, hi],
/// each with the step.
fn nice_ticks(lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let raw = (hi - lo) / 5.0;
    if !(raw > 0.0 && raw.is_finite()) {
        return vec![(lo, 0.0)];
    }
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|&s| s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|k| (k as f64 * step, step)).collect()
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
        assert_eq!(colour(0.0, r, Colormap::Viridis), [68, 1, 84, 255]);
        assert_eq!(colour(1.0, r, Colormap::Viridis), [253, 231, 37, 255]);
        assert_eq!(colour(f64::NAN, r, Colormap::Viridis), NAN_GREY);
        assert_eq!(colour(0.0, Some((-1.0, 1.0)), Colormap::Diverging), [247, 247, 247, 255], "zero error is white");
        assert_eq!(value_range(&[f64::NAN, 2.0, -1.0]), Some((-1.0, 2.0)));
    }

    #[test]
    fn ticks_carry_the_precision_of_their_step() {
        assert_eq!(format_tick(0.25, 0.25), "0.25");
        assert_eq!(format_tick(-3.0, 1.5), "-3.0");
        assert_eq!(format_tick(120.0, 30.0), "120");
        assert_eq!(format_tick(2.5e-5, 1e-5), "2.5e-5");
        assert_eq!(format_tick(0.0, 1.0), "0");
        assert_eq!(format_tick(0.08, 0.02), "0.08");
        assert_eq!(format_tick(0.9125, 0.5475), "0.91");
        assert_eq!(format_tick(-1e-17, 0.079), "0");
    }

    #[test]
    fn plot_ticks_are_round() {
        let x: Vec<f64> = nice_ticks(0.25, 2.0).iter().map(|t| t.0).collect();
        assert_eq!(x, vec![0.5, 1.0, 1.5, 2.0]);
        let y: Vec<f64> = nice_ticks(0.0, 0.097).iter().map(|t| (t.0 * 1e6).round() / 1e6).collect();
        assert_eq!(y, vec![0.0, 0.02, 0.04, 0.06, 0.08]);
    }

    #[test]
    fn a_volume_is_cut_at_its_mid_plane() {
        // Two layers of points, z = 0 (value 0) and z = 1 (value 1), and a middle layer z = 0.5
        // (value 2): the cut at z = 0.5 shows only the middle layer.
        let mut pts = vec![];
        let mut values = vec![];
        for (z, v) in [(0.0, 0.0), (0.5, 2.0), (1.0, 1.0)] {
            for j in 0..5 {
                for i in 0..5 {
                    pts.push([i as f64, j as f64, z]);
                    values.push(v);
                }
            }
        }
        let p = Painter::new(&pts, 8).unwrap();
        assert_eq!(p.slice_z, Some(0.5));
        let rgba = p.paint(&values, Some((0.0, 2.0)), Colormap::Viridis, EMPTY);
        assert!(rgba.chunks(4).all(|c| c == colour(2.0, Some((0.0, 2.0)), Colormap::Viridis)));
    }
}
