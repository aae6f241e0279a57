//! preview.png of a prediction: one field at several frames across the horizon (first, middle,
//! last; more for long horizons), a shared colorbar with the field's name and units, the time of
//! each frame above it, and with a truth a truth row and an error row (prediction - truth, on its
//! own symmetric colorbar). A 3D point set is shown cut at its z mid-plane.

use std::path::Path;

use crate::err;
use crate::error::Result;
use crate::mesh::png::{self, Colormap, Painter, PreviewRow};
use crate::mesh::Field;
use crate::score::Aligned;

/// The picture's width budget for the panels, and the panel width bounds.
const PANELS_WIDTH: usize = 1536;
const MIN_PANEL: usize = 160;
const MAX_PANEL: usize = 384;
/// At most this many frames in a row: more would make each too small to read.
const MAX_COLUMNS: usize = 6;

/// What to draw.
pub struct Spec<'a> {
    /// Shown before the field in the title ("forecast").
    pub command: &'a str,
    pub field: &'a str,
    pub units: &'a str,
    /// Only this predicted frame (else several across the horizon).
    pub frame: Option<usize>,
    /// An ensemble: the field holds the members' mean, this field (and member count) their
    /// standard deviation, shown in its own row under the mean.
    pub spread: Option<(&'a str, usize)>,
}

/// How many frames a preview shows of `n`: all up to 3, then one more per 8 beyond 8, at most 6.
pub fn column_count(n: usize) -> usize {
    n.min(3.max(3 + n.saturating_sub(8) / 8)).min(MAX_COLUMNS)
}

/// `count` indices spread evenly over `0..n`, first and last included.
pub fn spread(n: usize, count: usize) -> Vec<usize> {
    match count {
        0 => vec![],
        1 => vec![n - 1],
        _ => (0..count).map(|k| ((k * (n - 1)) as f64 / (count - 1) as f64).round() as usize).collect(),
    }
}

/// Write the preview of `spec.field` at `locations` (where the prediction's values live) for the
/// predicted `frames` at `times`; with `truth`, add the truth and error rows (the frames shown
/// are then the scored ones).
///
/// Errors: an unknown field or frame (`Usage`), and those of drawing and writing.
pub fn write(path: &Path, locations: &[[f64; 3]], times: &[f64], frames: &[Vec<Field>], truth: Option<(&Aligned, &[String])>, spec: &Spec) -> Result<()> {
    let field_index = frames.first().and_then(|f| f.iter().position(|f| f.name == spec.field));
    let field_index = field_index.ok_or_else(|| err!(Usage, "--png-field '{}' is not a field of the bundle", spec.field))?;
    // An ensemble's derived fields (`_std`, `_qNN`) have no truth to compare with: shown alone.
    let truth = truth.filter(|(_, names)| names.iter().any(|n| n == spec.field));
    // (prediction frame, truth values on the prediction's locations when scored) per column.
    let candidates: Vec<(usize, Option<Vec<f64>>)> = match truth {
        Some((aligned, names)) => {
            let n = names.iter().position(|n| n == spec.field).expect("the scored fields are the bundle's");
            aligned.pairs.iter().zip(&aligned.truth).map(|(&(i, _), t)| (i, Some(shown(&t[n])))).collect()
        }
        None => (0..frames.len()).map(|i| (i, None)).collect(),
    };
    let columns: Vec<(usize, Option<Vec<f64>>)> = match spec.frame {
        Some(k) => {
            if k >= frames.len() {
                return Err(err!(Usage, "--png-frame {k}: only {} frames were predicted", frames.len()));
            }
            vec![(k, candidates.iter().find(|c| c.0 == k).and_then(|c| c.1.clone()))]
        }
        None => spread(candidates.len(), column_count(candidates.len())).into_iter().map(|k| candidates[k].clone()).collect(),
    };
    let pred: Vec<Vec<f64>> = columns.iter().map(|(i, _)| shown(&frames[*i][field_index])).collect();
    let vector = frames[0][field_index].components > 1;
    let name = if vector { format!("|{}|", spec.field) } else { spec.field.to_string() };
    let units = if spec.units.is_empty() { String::new() } else { format!(" ({})", spec.units) };

    let panel = (PANELS_WIDTH / columns.len().max(1)).clamp(MIN_PANEL, MAX_PANEL);
    let painter = Painter::new(locations, panel)?;
    let titles: Vec<String> = columns.iter().map(|(i, _)| format!("t = {}", short(times[*i]))).collect();
    let truths: Vec<Option<Vec<f64>>> = columns.iter().map(|c| c.1.clone()).collect();
    let both = pred.iter().chain(truths.iter().flatten()).flatten().copied().collect::<Vec<f64>>();
    let range = png::value_range(&both);
    let mut rows = vec![PreviewRow {
        label: match spec.spread {
            Some((_, n)) => format!("ensemble mean ({n} members)"),
            None => "prediction".into(),
        },
        panels: pred.iter().cloned().map(Some).collect(),
        cmap: Colormap::Viridis,
        range,
        colorbar: Some(format!("{name}{units}")),
    }];
    if let Some((std_field, _)) = spec.spread {
        let s = frames[0].iter().position(|f| f.name == std_field).ok_or_else(|| err!(Usage, "the ensemble has no field '{std_field}'"))?;
        let spread: Vec<Option<Vec<f64>>> = columns.iter().map(|(i, _)| Some(shown(&frames[*i][s]))).collect();
        let largest = spread.iter().flatten().flatten().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(*v));
        rows.push(PreviewRow {
            label: format!("ensemble standard deviation{}", if vector { " (magnitude of the per-component std)" } else { "" }),
            panels: spread,
            cmap: Colormap::Viridis,
            // From 0: a spread's scale starts at "the members agree".
            range: Some((0.0, if largest > 0.0 { largest } else { 1.0 })),
            colorbar: Some(format!("std of {name}{units}")),
        });
    }
    if truth.is_some() {
        let errors: Vec<Option<Vec<f64>>> = pred.iter().zip(&truths).map(|(p, t)| t.as_ref().map(|t| p.iter().zip(t).map(|(a, b)| a - b).collect())).collect();
        let largest = errors.iter().flatten().flatten().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs()));
        // Under a spread row the truth cannot share the colorbar above it: it repeats the mean's.
        let colorbar = spec.spread.map(|_| format!("{name}{units}"));
        rows.push(PreviewRow { label: "truth".into(), panels: truths, cmap: Colormap::Viridis, range, colorbar });
        rows.push(PreviewRow {
            label: format!("error = {} - truth{}", if spec.spread.is_some() { "mean" } else { "prediction" }, if vector { " (of the magnitudes)" } else { "" }),
            panels: errors,
            cmap: Colormap::Diverging,
            range: Some((-largest, largest)),
            colorbar: Some(format!("error{units}")),
        });
    }
    let slice = painter.slice_z.map_or(String::new(), |z| format!(", cut at z = {}", short(z)));
    let title = format!("{}: {name}{units}{slice}", spec.command);
    png::write_preview_panels(path, &painter, &title, &titles, &rows)
}

/// What a picture of a field shows: a scalar's values, a vector's magnitude.
pub fn shown(field: &Field) -> Vec<f64> {
    if field.components == 1 {
        return field.values.clone();
    }
    field.values.chunks(field.components).map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt()).collect()
}

/// A time or coordinate for a label: at most 6 decimals, no trailing zeros.
fn short(t: f64) -> String {
    let s = format!("{t:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_cover_first_middle_and_last() {
        assert_eq!(column_count(1), 1);
        assert_eq!(column_count(8), 3);
        assert_eq!(column_count(16), 4);
        assert_eq!(column_count(32), 6);
        assert_eq!(spread(8, 3), vec![0, 4, 7]);
        assert_eq!(spread(32, 6), vec![0, 6, 12, 19, 25, 31]);
        assert_eq!(spread(5, 1), vec![4]);
        assert_eq!(short(0.25), "0.25");
        assert_eq!(short(8.0), "8");
        assert_eq!(short(0.30000000000000004), "0.3");
    }
}
