//! The host API's serial tasks for visualisation filters (`inverse_from`, `interpolate_from`,
//! `predictions_at`): each equals the CLI's path (`inverse`, `interpolate`, `forecast --query`)
//! for the same bundle, input and seed, bit for bit.

mod common;

use echo_onnx::bundle::Bundle;
use echo_onnx::engine::{Engine, GridFrames};
use echo_onnx::fields::{self, FieldSelection, Series};
use echo_onnx::grid::bounding_box;
use echo_onnx::host::Surrogate;
use echo_onnx::mesh::read::read_series;
use echo_onnx::model::Model;
use echo_onnx::resample::Geometry;
use echo_onnx::runtime::{self, Device};
use echo_onnx::sampler::Sampler;
use echo_onnx::tasks;

const VARIANT: &str = "2d";

/// Locations, times, physical values (point-major, per frame) and the CLI's series of one input.
type Example = (Vec<[f64; 3]>, Vec<f64>, Vec<Vec<f64>>, Series);

/// The example's frames `keep` (by index).
fn example(keep: &[usize]) -> Example {
    let m = Bundle::open(&common::bundle(VARIANT)).unwrap().manifest;
    let frames: Vec<_> =
        read_series(&common::example().join("input.pvd")).unwrap().into_iter().enumerate().filter(|(i, _)| keep.contains(i)).map(|(_, f)| f).collect();
    let points = frames[0].mesh.points.clone();
    let times = frames.iter().map(|f| f.time).collect();
    let values = frames.iter().map(|f| f.mesh.point_data.iter().find(|d| d.name == "vorticity").unwrap().values.clone()).collect();
    let series = fields::extract(&frames, &m, &FieldSelection::default()).unwrap();
    (points, times, values, series)
}

fn open() -> Surrogate {
    let mut s = Surrogate::open(&common::bundle(VARIANT), "cpu", Some(1), None).unwrap();
    s.set_sampler(4, "").unwrap();
    s.set_seed(7);
    s
}

/// The CLI's path for a task: the series' locations as input, `out` as output, seed 7, 4 steps.
fn cli_path(series: &Series, out: &[[f64; 3]], task: impl FnOnce(&mut Engine, &Geometry) -> GridFrames) -> (Vec<f64>, Vec<Vec<f64>>) {
    let bundle = Bundle::open(&common::bundle(VARIANT)).unwrap();
    let m = bundle.manifest.clone();
    runtime::init(None, Device::Cpu).unwrap();
    let model = Model::load(bundle.clone(), Device::Cpu, Some(1)).unwrap();
    let grid = bundle.grid(Some(bounding_box(&series.locations))).unwrap();
    let geometry = Geometry::new(&m, &grid, Some(&series.locations), out).unwrap();
    let mut e = Engine::builder(model).with_sampler(Sampler { method: m.sampler.method, steps: 4 }).with_seed(7).build().unwrap();
    let frames = task(&mut e, &geometry);
    let p = e.evaluate_frames(geometry.output(), &frames).unwrap();
    let values = p.members[0].iter().map(|f| fields::to_fields(&f.0, &m)[0].values.clone()).collect();
    (p.times, values)
}

fn host_frames(s: &mut Surrogate, n: usize) -> Vec<Vec<f64>> {
    (0..n).map(|k| s.prediction(k).unwrap()).collect()
}

#[test]
fn inverse_from_equals_the_cli_path() {
    let (points, times, values, series) = example(&[0, 1, 2, 3]);
    let mut s = open();
    s.set_mesh(&points).unwrap();
    let n = s.inverse_from(&times, &values).unwrap();
    let (want_times, want) = cli_path(&series, &series.locations, |e, g| tasks::inverse(e, &g.input.as_ref().unwrap().to_grid, &series).unwrap());
    assert!(n > 0);
    assert_eq!(s.predicted_times(), want_times.as_slice());
    assert!(want_times[n - 1] < times[0], "inverse frames lie before the input");
    assert_eq!(host_frames(&mut s, n), want, "inverse_from differs from the CLI path");
}

#[test]
fn interpolate_from_equals_the_cli_path() {
    // Frames 0, 2 and 5 of the example: the frames between them on the bundle's lattice are missing.
    let (points, times, values, series) = example(&[0, 2, 5]);
    let mut s = open();
    s.set_mesh(&points).unwrap();
    let n = s.interpolate_from(&times, &values).unwrap();
    let (want_times, want) = cli_path(&series, &series.locations, |e, g| tasks::interpolate(e, &g.input.as_ref().unwrap().to_grid, &series).unwrap());
    assert!(n > 0);
    assert_eq!(s.predicted_times(), want_times.as_slice());
    assert_eq!(host_frames(&mut s, n), want, "interpolate_from differs from the CLI path");
    // Nothing missing between consecutive frames: refused with the core's reason.
    let e = s.interpolate_from(&times[..1], &values[..1]).unwrap_err();
    assert!(e.message().contains("no frame is missing"), "{e}");
    // Times that do not increase are refused before any inference.
    let e = s.inverse_from(&[times[1], times[0]], &values[..2]).unwrap_err();
    assert!(e.message().contains("is not after the previous one"), "{e}");
}

#[test]
fn predictions_at_a_second_mesh_equal_the_cli_query() {
    let (points, times, values, series) = example(&[0, 1, 2, 3]);
    // A denser query: the input's points and the midpoints towards their successors.
    let mut query = points.clone();
    query.extend(points.windows(2).map(|w| [(w[0][0] + w[1][0]) / 2.0, (w[0][1] + w[1][1]) / 2.0, 0.0]));
    let mut s = open();
    s.set_mesh(&points).unwrap();
    for (t, v) in times.iter().zip(&values) {
        s.push_snapshot(*t, v).unwrap();
    }
    let n = s.forecast(6).unwrap();
    let got = s.predictions_at(&query).unwrap();
    let m = Bundle::open(&common::bundle(VARIANT)).unwrap().manifest;
    let context = m.time.context_frames;
    let (want_times, want) = cli_path(&series, &query, |e, g| tasks::forecast(e, g.input.as_ref().unwrap(), &series, 6, context).unwrap());
    assert_eq!(s.predicted_times(), want_times.as_slice());
    assert_eq!(got.len(), n * query.len());
    assert_eq!(got, want.concat(), "predictions_at differs from the CLI's --query");
    // At the registered points themselves: the same numbers as prediction().
    let at_points = s.predictions_at(&points).unwrap();
    assert_eq!(at_points, host_frames(&mut s, n).concat());
    assert!(s.predictions_at(&[]).unwrap_err().message().contains("no points"));
}
