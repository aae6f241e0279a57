//! Between mesh fields and the model's channels: picking the bundle's fields out of input frames
//! (with every check on user data), normalising, and turning predictions back into fields.

use std::collections::BTreeMap;

use crate::bundle::{FieldSpec, Manifest};
use crate::err;
use crate::error::Result;
use crate::mesh::{Association, Field, Frame};

/// Input frames reduced to what the model needs.
#[derive(Debug, Clone)]
pub struct Series {
    /// Sample locations (points or cell centres), shared by all frames.
    pub locations: Vec<[f64; 3]>,
    pub times: Vec<f64>,
    /// Per frame, point-major `[N][C]` normalised values.
    pub values: Vec<Vec<f32>>,
    pub association: Association,
}

/// The bundle's normalisation, `(v - mean) / std` per channel (the fields' components in order):
/// the one place where physical values become the model's and back, for every host.
#[derive(Debug, Clone)]
pub struct Normaliser {
    mean: Vec<f64>,
    std: Vec<f64>,
    /// `field[c]`: the field and component of channel `c` (for messages).
    field: Vec<(usize, usize)>,
}

impl Normaliser {
    pub fn new(m: &Manifest) -> Normaliser {
        let mut n = Normaliser { mean: vec![], std: vec![], field: vec![] };
        for (i, spec) in m.fields.iter().enumerate() {
            n.mean.extend(&spec.mean[..spec.components]);
            n.std.extend(&spec.std[..spec.components]);
            n.field.extend((0..spec.components).map(|k| (i, k)));
        }
        n
    }

    /// Values per location.
    pub fn channels(&self) -> usize {
        self.mean.len()
    }

    /// The field index and component of channel `c`.
    pub fn field_of(&self, c: usize) -> (usize, usize) {
        self.field[c]
    }

    /// Physical value `v` of channel `c`, normalised (computed in f64, stored in f32).
    #[inline]
    pub fn normalise(&self, c: usize, v: f64) -> f32 {
        ((v - self.mean[c]) / self.std[c]) as f32
    }

    /// Normalised value `v` of channel `c` in physical units.
    #[inline]
    pub fn denormalise(&self, c: usize, v: f32) -> f64 {
        f64::from(v) * self.std[c] + self.mean[c]
    }

    /// Point-major physical `[N][C]` values normalised; `Err((point, channel, value))` at the first
    /// value that is not finite once normalised (NaN, Inf, or beyond single precision).
    pub fn normalise_points(&self, values: &[f64]) -> Result<Vec<f32>, (usize, usize, f64)> {
        let c = self.channels().max(1);
        let mut out = Vec::with_capacity(values.len());
        for (i, &v) in values.iter().enumerate() {
            let n = self.normalise(i % c, v);
            if !n.is_finite() {
                return Err((i / c, i % c, v));
            }
            out.push(n);
        }
        Ok(out)
    }

    /// Point-major normalised `[N][C]` values in physical units.
    pub fn denormalise_points(&self, values: &[f32]) -> Vec<f64> {
        let c = self.channels().max(1);
        values.iter().enumerate().map(|(i, &v)| self.denormalise(i % c, v)).collect()
    }
}

/// How to find the bundle's fields in the input.
#[derive(Debug, Clone, Default)]
pub struct FieldSelection {
    /// Read data of this association instead of each field's own.
    pub association: Option<Association>,
    /// Bundle field name -> name in the input file.
    pub rename: BTreeMap<String, String>,
}

impl FieldSelection {
    fn association(&self, spec: &FieldSpec) -> Association {
        self.association.unwrap_or(spec.association)
    }

    fn file_name<'a>(&'a self, spec: &'a FieldSpec) -> &'a str {
        self.rename.get(&spec.name).map_or(spec.name.as_str(), String::as_str)
    }
}

/// Pick and normalise the manifest's fields from every frame. All fields must share one
/// association, and all frames one mesh (same number of locations).
pub fn extract(frames: &[Frame], manifest: &Manifest, sel: &FieldSelection) -> Result<Series> {
    let first = frames.first().ok_or_else(|| err!(MeshFormat, "the input series has no frames"))?;
    let association = sel.association(&manifest.fields[0]);
    if let Some(f) = manifest.fields.iter().find(|f| sel.association(f) != association) {
        return Err(err!(
            Usage,
            "the bundle's fields live on different associations ('{}' on {} data, '{}' on {})",
            manifest.fields[0].name,
            association,
            f.name,
            sel.association(f)
        )
        .with_hint("pass --association point or --association cell to read all fields from one"));
    }
    let locations = first.mesh.locations(association);
    if locations.is_empty() {
        return Err(err!(OutsideGrid, "the input mesh has no {} (0 sample locations)", if association == Association::Point { "points" } else { "cells" })
            .with_hint("for cell data the mesh needs cells; for point data, points"));
    }
    let mut values = Vec::with_capacity(frames.len());
    for (i, frame) in frames.iter().enumerate() {
        let n = frame.mesh.locations(association).len();
        if n != locations.len() {
            return Err(err!(FieldShape, "frame {i} (t = {}) has {n} sample locations, frame 0 has {}", frame.time, locations.len())
                .with_hint("all frames of a series must be on the same mesh"));
        }
        values.push(frame_values(frame, i, manifest, sel, n)?);
    }
    Ok(Series { locations, times: frames.iter().map(|f| f.time).collect(), values, association })
}

/// Point-major normalised values of one frame.
fn frame_values(frame: &Frame, index: usize, manifest: &Manifest, sel: &FieldSelection, n: usize) -> Result<Vec<f32>> {
    let channels = manifest.channels();
    let normaliser = Normaliser::new(manifest);
    let mut out = vec![0f32; n * channels];
    let mut c0 = 0;
    for spec in &manifest.fields {
        let assoc = sel.association(spec);
        let name = sel.file_name(spec);
        let field = frame.mesh.field(assoc, name).ok_or_else(|| missing_field(frame, index, spec, name, assoc))?;
        let stride = input_stride(field.components, spec, manifest).ok_or_else(|| {
            err!(FieldShape, "field '{name}' in frame {index} has {} components; the bundle's '{}' has {}", field.components, spec.name, spec.components)
                .with_hint("map the right input field with --field BUNDLE_NAME=FILE_NAME")
        })?;
        for p in 0..n {
            for c in 0..spec.components {
                let v = field.values[p * stride + c];
                let normalised = normaliser.normalise(c0 + c, v);
                // A finite value can still overflow single precision, which the model computes in.
                if !normalised.is_finite() {
                    let beyond = if v.is_finite() { ", beyond single precision once normalised" } else { "" };
                    return Err(err!(NonFinite, "field '{name}' in frame {index} (t = {}) is {v:?}{beyond} at {} {p}, component {c}", frame.time, assoc)
                        .with_hint("the input holds NaN or Inf; fix or drop that frame"));
                }
                out[p * channels + c0 + c] = normalised;
            }
        }
        c0 += spec.components;
    }
    Ok(out)
}

/// Components per location of an input field that holds the bundle field `spec`, or `None` when
/// it cannot. Equal counts; or, for a 2D bundle, a 3-component vector for a 2-component field:
/// what VTK writers (foamToVTK among them) make of a 2D case's vectors, whose x and y are the
/// solved directions (the latent grid spans x and y) and whose z is dropped.
fn input_stride(components: usize, spec: &FieldSpec, manifest: &Manifest) -> Option<usize> {
    let planar_vector = components == 3 && spec.components == 2 && manifest.latent_grid.dim == 2;
    (components == spec.components || planar_vector).then_some(components)
}

/// Components a bundle field is written with: its own, except that a 2-component field of a 2D
/// bundle becomes a 3-component VTK vector with z = 0, as ParaView (glyphs, stream tracers) and the
/// foamToVTK files it is compared with expect.
fn output_components(spec: &FieldSpec, manifest: &Manifest) -> usize {
    if spec.components == 2 && manifest.latent_grid.dim == 2 {
        3
    } else {
        spec.components
    }
}

fn missing_field(frame: &Frame, index: usize, spec: &FieldSpec, name: &str, assoc: Association) -> crate::Error {
    let available: Vec<&str> = frame.mesh.fields(assoc).iter().map(|f| f.name.as_str()).collect();
    let other = match assoc {
        Association::Point => Association::Cell,
        Association::Cell => Association::Point,
    };
    let elsewhere = frame.mesh.field(other, name).is_some();
    let hint = if elsewhere {
        format!("'{name}' exists as {other} data; pass --association {other}")
    } else {
        format!("available {assoc} fields: {available:?}; map one with --field {}=NAME", spec.name)
    };
    err!(MissingField, "frame {index} (t = {}) has no {assoc} field '{name}', which the bundle needs", frame.time).with_hint(hint)
}

/// Undo the normalisation of point-major `[N][C]` values and split them into named fields (a 2D
/// bundle's 2-component fields as 3-component vectors, see [`output_components`]).
pub fn to_fields(values: &[f32], manifest: &Manifest) -> Vec<Field> {
    let channels = manifest.channels();
    let normaliser = Normaliser::new(manifest);
    let n = values.len() / channels.max(1);
    let mut c0 = 0;
    let mut out = Vec::with_capacity(manifest.fields.len());
    for spec in &manifest.fields {
        let components = output_components(spec, manifest);
        let mut data = Vec::with_capacity(n * components);
        for p in 0..n {
            for c in 0..spec.components {
                data.push(normaliser.denormalise(c0 + c, values[p * channels + c0 + c]));
            }
            data.resize(data.len() + components - spec.components, 0.0);
        }
        out.push(Field { name: spec.name.clone(), components, values: data });
        c0 += spec.components;
    }
    out
}

/// The per-point statistics of an ensemble, field by field: `<name>` the mean, `<name>_std` the
/// sample standard deviation (divisor N - 1, so that it estimates the spread of the distribution
/// the members are drawn from), and `<name>_qNN` for each of `quantiles` (numpy's default
/// "linear" rule: position (N - 1) q among the sorted members). Vectors: component by component.
/// Computed in f64 from the members' physical values; `members[k]` are member k's fields, all in
/// the same order and shapes.
pub fn ensemble_fields(members: &[&[Field]], quantiles: &[f64]) -> Vec<Field> {
    let n = members.len();
    let mut out = Vec::with_capacity(members[0].len() * (2 + quantiles.len()));
    for (f, first) in members[0].iter().enumerate() {
        let len = first.values.len();
        let mut mean = vec![0.0; len];
        let mut std = vec![0.0; len];
        let mut qs = vec![vec![0.0; len]; quantiles.len()];
        let mut column = vec![0.0; n];
        for i in 0..len {
            for (k, m) in members.iter().enumerate() {
                column[k] = m[f].values[i];
            }
            (mean[i], std[i]) = mean_std(&column);
            if !quantiles.is_empty() {
                column.sort_by(f64::total_cmp);
                for (q, out) in quantiles.iter().zip(&mut qs) {
                    out[i] = quantile_sorted(&column, *q);
                }
            }
        }
        let field = |name: String, values| Field { name, components: first.components, values };
        out.push(field(first.name.clone(), mean));
        out.push(field(format!("{}_std", first.name), std));
        for (q, values) in quantiles.iter().zip(qs) {
            out.push(field(format!("{}_{}", first.name, quantile_suffix(*q)), values));
        }
    }
    out
}

/// The mean and the sample standard deviation (divisor N - 1; 0 for one value) of the members'
/// values at one point: the statistics of [`ensemble_fields`], shared with the host API
/// ([`crate::host::Surrogate::prediction_stats`]) so that both give the same numbers.
pub fn mean_std(column: &[f64]) -> (f64, f64) {
    let n = column.len();
    let mu = column.iter().sum::<f64>() / n as f64;
    let std = if n > 1 { (column.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / (n - 1) as f64).sqrt() } else { 0.0 };
    (mu, std)
}

/// The `q`-quantile of sorted values, interpolating linearly between order statistics.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    if lo + 1 >= sorted.len() {
        sorted[lo]
    } else {
        sorted[lo] + frac * (sorted[lo + 1] - sorted[lo])
    }
}

/// The field-name suffix of quantile `q`: its percentage, two digits at least (0.1 -> "q10",
/// 0.05 -> "q05", 0.975 -> "q97.5").
pub fn quantile_suffix(q: f64) -> String {
    let pct = format!("{:.6}", q * 100.0);
    let pct = pct.trim_end_matches('0').trim_end_matches('.');
    let whole = pct.split('.').next().unwrap_or(pct);
    format!("q{}{pct}", if whole.len() < 2 { "0" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::{Cells, Mesh};

    #[test]
    fn ensemble_statistics_match_their_definitions() {
        let member = |v: &[f64]| vec![Field { name: "w".into(), components: 1, values: v.to_vec() }];
        let members: Vec<Vec<Field>> = [[1.0, 10.0], [2.0, 10.0], [4.0, 10.0], [3.0, 10.0]].iter().map(|v| member(v)).collect();
        let slices: Vec<&[Field]> = members.iter().map(Vec::as_slice).collect();
        let out = ensemble_fields(&slices, &[0.1, 0.5, 0.975]);
        let names: Vec<&str> = out.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["w", "w_std", "w_q10", "w_q50", "w_q97.5"]);
        assert_eq!(out[0].values, [2.5, 10.0]);
        // Sample variance of 1, 2, 3, 4: 5/3.
        assert!((out[1].values[0] - (5.0f64 / 3.0).sqrt()).abs() < 1e-12 && out[1].values[1] == 0.0);
        // numpy.quantile([1, 2, 3, 4], [0.1, 0.5, 0.975]) = 1.3, 2.5, 3.925.
        for (got, want) in [(out[2].values[0], 1.3), (out[3].values[0], 2.5), (out[4].values[0], 3.925)] {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert_eq!(quantile_suffix(0.05), "q05");
        assert_eq!(quantile_suffix(0.9), "q90");
        assert_eq!(quantile_suffix(0.001), "q00.1");
    }

    /// The shipped manifest with its fields replaced by a 2D case's U (2 components) and p.
    fn uv_p_manifest() -> Manifest {
        let mut m: Manifest = serde_json::from_str(include_str!("../onnx/bundles/ns2d-vorticity/manifest.json")).unwrap();
        let spec = |name: &str, components| FieldSpec {
            name: name.into(),
            components,
            units: String::new(),
            association: Association::Cell,
            mean: vec![0.5; components],
            std: vec![2.0; components],
        };
        m.fields = vec![spec("U", 2), spec("p", 1)];
        m
    }

    fn frame(u_components: usize) -> Frame {
        let points = vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]];
        let cells = Cells { connectivity: vec![0, 1, 2, 1, 3, 2], offsets: vec![0, 3, 6], types: vec![5, 5] };
        let u: Vec<f64> = (0..2 * u_components).map(|i| i as f64).collect();
        let cell_data =
            vec![Field { name: "U".into(), components: u_components, values: u }, Field { name: "p".into(), components: 1, values: vec![10.0, 20.0] }];
        Frame { time: 0.0, mesh: Mesh { points, cells, point_data: vec![], cell_data } }
    }

    #[test]
    fn a_3_component_vector_gives_its_x_and_y_to_a_2d_bundle() {
        let m = uv_p_manifest();
        let s = extract(&[frame(3)], &m, &FieldSelection::default()).unwrap();
        // cell 0: U = (0, 1, 2), p = 10; cell 1: U = (3, 4, 5), p = 20; normalised by (v - 0.5) / 2
        let expect: Vec<f32> = [0.0, 1.0, 10.0, 3.0, 4.0, 20.0].iter().map(|v| (v - 0.5) / 2.0).collect();
        assert_eq!(s.values[0], expect);
        // a 2-component U is read as it is: cell 0 U = (0, 1), cell 1 U = (2, 3)
        let plain: Vec<f32> = [0.0, 1.0, 10.0, 2.0, 3.0, 20.0].iter().map(|v| (v - 0.5) / 2.0).collect();
        assert_eq!(extract(&[frame(2)], &m, &FieldSelection::default()).unwrap().values[0], plain);
    }

    #[test]
    fn other_component_counts_are_refused() {
        let mut m = uv_p_manifest();
        for wrong in [1, 4] {
            let e = extract(&[frame(wrong)], &m, &FieldSelection::default()).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::FieldShape, "{wrong} components");
        }
        m.latent_grid.dim = 3; // a 3D bundle's 2-component field is not a planar vector
        assert_eq!(extract(&[frame(3)], &m, &FieldSelection::default()).unwrap_err().kind(), crate::ErrorKind::FieldShape);
    }

    #[test]
    fn the_normaliser_is_the_fields_rule_and_refuses_what_single_precision_cannot_hold() {
        let m = uv_p_manifest();
        let n = Normaliser::new(&m);
        assert_eq!(n.channels(), 3);
        assert_eq!(n.field_of(2), (1, 0));
        let physical = [0.5, 2.5, 4.5, -1.5, 0.5, 10.0];
        let normalised = n.normalise_points(&physical).unwrap();
        assert_eq!(normalised, [0.0, 1.0, 2.0, -1.0, 0.0, 4.75]);
        assert_eq!(n.denormalise_points(&normalised), physical);
        assert_eq!(n.normalise_points(&[0.0, f64::NAN, 0.0]).unwrap_err().1, 1);
        // finite in f64, infinite in f32 once normalised
        assert_eq!(n.normalise_points(&[0.0, 0.0, 0.0, 0.0, 0.0, 1e300]).unwrap_err().0, 1);
    }

    #[test]
    fn a_2d_bundle_writes_its_vectors_with_three_components() {
        let m = uv_p_manifest();
        let fields = to_fields(&[0.0, 1.0, 2.0, -1.0, 0.5, 0.25], &m);
        assert_eq!((fields[0].components, fields[1].components), (3, 1));
        assert_eq!(fields[0].values, vec![0.5, 2.5, 0.0, -1.5, 1.5, 0.0]);
        assert_eq!(fields[1].values, vec![4.5, 1.0]);
    }
}
